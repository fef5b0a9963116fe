import type { Logger } from 'pino'

export interface PeriodicJob {
  name: string
  intervalMs: number
  run(): Promise<unknown>
}

export interface Worker {
  stop(): Promise<void>
}

/**
 * Runs housekeeping jobs on a fixed interval. Each job is idempotent and safe to run in several
 * processes at once, so a deployment can run as many workers as it likes.
 */
export function startWorker(jobs: readonly PeriodicJob[], logger: Logger): Worker {
  const timers: NodeJS.Timeout[] = []
  const running = new Set<Promise<void>>()
  let stopped = false

  const tick = (job: PeriodicJob) => {
    if (stopped) return
    const run = job
      .run()
      .then((result) => {
        logger.debug({ job: job.name, result }, 'job finished')
      })
      .catch((error: unknown) => {
        logger.error({ err: error, job: job.name }, 'job failed')
      })
      .finally(() => running.delete(run))
    running.add(run)
  }

  for (const job of jobs) {
    tick(job)
    const timer = setInterval(() => {
      tick(job)
    }, job.intervalMs)
    timer.unref()
    timers.push(timer)
  }

  return {
    async stop() {
      stopped = true
      for (const timer of timers) clearInterval(timer)
      await Promise.allSettled([...running])
    },
  }
}
