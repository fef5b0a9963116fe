import { randomBytes } from 'node:crypto'
import { Logger as GraphileLogger, run as runGraphileWorker, type Task } from 'graphile-worker'
import { sql, type Kysely } from 'kysely'
import type { Logger } from 'pino'
import type { Database } from '../db/database.js'
import type { DatabaseSchema } from '../db/schema.js'

type Db = Kysely<DatabaseSchema>

export interface EnqueueOptions {
  /** A job whose key is already in the queue (waiting, running or given up) is not added again. */
  key?: string
  runAt?: Date
  /** Attempts before the queue gives up on a job that keeps throwing (default 10). */
  maxAttempts?: number
}

export interface JobInfo {
  /** 1 on the first run. */
  attempt: number
  maxAttempts: number
}

export type TaskHandler = (payload: unknown, info: JobInfo) => Promise<void>

export interface QueueRunner {
  stop(): Promise<void>
}

/**
 * Durable jobs, added inside the transaction of the change that causes them: a job exists if and
 * only if its change committed. PostgreSQL runs graphile-worker (several worker processes share
 * the work through SKIP LOCKED and hear about new jobs through LISTEN/NOTIFY); SQLite runs the
 * same interface over the `jobs` table, in the process of the worker.
 */
export interface JobQueue {
  enqueue(trx: Db, task: string, payload: object, options?: EnqueueOptions): Promise<void>
  start(
    handlers: Readonly<Record<string, TaskHandler>>,
    options: { concurrency: number },
  ): Promise<QueueRunner>
}

const DEFAULT_MAX_ATTEMPTS = 10

export function createJobQueue(database: Database, logger: Logger): JobQueue {
  return database.postgres === undefined
    ? createTableQueue(database.db, logger)
    : createGraphileQueue(database.postgres.url, logger)
}

function createGraphileQueue(url: string, logger: Logger): JobQueue {
  return {
    async enqueue(trx, task, payload, options = {}) {
      await sql`SELECT graphile_worker.add_job(
        ${task},
        ${JSON.stringify(payload)}::json,
        run_at => ${options.runAt?.toISOString() ?? null}::timestamptz,
        max_attempts => ${options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS}::int,
        job_key => ${options.key ?? null}::text,
        job_key_mode => 'unsafe_dedupe'
      )`.execute(trx)
    },
    async start(handlers, { concurrency }) {
      const taskList: Record<string, Task> = {}
      for (const [name, handler] of Object.entries(handlers))
        taskList[name] = (payload, helpers) =>
          handler(payload, {
            attempt: helpers.job.attempts,
            maxAttempts: helpers.job.max_attempts,
          })
      const runner = await runGraphileWorker({
        connectionString: url,
        maxPoolSize: concurrency + 2,
        concurrency,
        taskList,
        noHandleSignals: true,
        pollInterval: 2000,
        logger: graphileLogger(logger),
      })
      return {
        async stop() {
          await runner.stop()
        },
      }
    },
  }
}

function graphileLogger(logger: Logger): GraphileLogger {
  return new GraphileLogger((scope) => (level, message, meta) => {
    const fields = { queue: scope, ...meta }
    if (level === 'error') logger.error(fields, message)
    else if (level === 'warning') logger.warn(fields, message)
    else logger.debug(fields, message)
  })
}

/** Seconds to wait before running a failed job again: e^attempt, as graphile-worker does. */
function retryDelayMs(attempt: number): number {
  return Math.round(Math.exp(Math.min(attempt, 10)) * 1000)
}

/** A lock older than this belongs to a worker that died; its job is taken again. */
const STALE_LOCK_MS = 5 * 60_000
const IDLE_POLL_MS = 1000

function createTableQueue(db: Db, logger: Logger): JobQueue {
  const wakeups = new Set<() => void>()
  const wake = () => {
    for (const w of wakeups) w()
  }
  return {
    async enqueue(trx, task, payload, options = {}) {
      const now = new Date()
      const values = {
        task,
        payload: JSON.stringify(payload),
        job_key: options.key ?? null,
        run_at: options.runAt ?? now,
        attempts: 0,
        max_attempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
        locked_at: null,
        locked_by: null,
        last_error: null,
        created_at: now,
      }
      await trx
        .insertInto('jobs')
        .values(values)
        .onConflict((oc) => oc.column('job_key').doNothing())
        .execute()
      // The embedded database has one connection: this runs after the transaction has ended.
      setImmediate(wake)
    },
    start(handlers, { concurrency }) {
      const workerId = randomBytes(6).toString('hex')
      let stopped = false
      const loops: Promise<void>[] = []
      const tasks = Object.keys(handlers)

      async function claim() {
        const now = new Date()
        const due = db
          .selectFrom('jobs')
          .select('id')
          .where('task', 'in', tasks)
          .where('run_at', '<=', now.toISOString())
          .whereRef('attempts', '<', 'max_attempts')
          .where((eb) =>
            eb.or([
              eb('locked_at', 'is', null),
              eb('locked_at', '<', new Date(now.getTime() - STALE_LOCK_MS).toISOString()),
            ]),
          )
          .orderBy('run_at')
          .orderBy('id')
          .limit(1)
        return db
          .updateTable('jobs')
          .set((eb) => ({
            locked_at: now,
            locked_by: workerId,
            attempts: eb('attempts', '+', 1),
          }))
          .where('id', '=', (eb) => eb.selectFrom(due.as('due')).select('due.id'))
          .returningAll()
          .executeTakeFirst()
      }

      async function runOne(): Promise<boolean> {
        const job = await claim()
        if (job === undefined) return false
        const handler = handlers[job.task]
        try {
          if (handler === undefined) throw new Error(`no handler for task ${job.task}`)
          await handler(JSON.parse(job.payload), {
            attempt: job.attempts,
            maxAttempts: job.max_attempts,
          })
          await db
            .deleteFrom('jobs')
            .where('id', '=', job.id)
            .where('locked_by', '=', workerId)
            .execute()
        } catch (error) {
          logger.error({ err: error, task: job.task, attempt: job.attempts }, 'job failed')
          await db
            .updateTable('jobs')
            .set({
              locked_at: null,
              locked_by: null,
              last_error: error instanceof Error ? error.message.slice(0, 1000) : String(error),
              run_at: new Date(Date.now() + retryDelayMs(job.attempts)),
            })
            .where('id', '=', job.id)
            .execute()
        }
        return true
      }

      async function loop() {
        while (!stopped) {
          let worked = false
          try {
            worked = await runOne()
          } catch (error) {
            logger.error({ err: error }, 'job queue poll failed')
          }
          if (worked) continue
          await new Promise<void>((resolve) => {
            const done = () => {
              clearTimeout(timer)
              wakeups.delete(done)
              resolve()
            }
            const timer = setTimeout(done, IDLE_POLL_MS)
            wakeups.add(done)
          })
        }
      }

      for (let i = 0; i < concurrency; i++) loops.push(loop())
      return Promise.resolve({
        async stop() {
          stopped = true
          wake()
          await Promise.all(loops)
        },
      })
    },
  }
}
