// Child process of the status page bench: the Candor server with the demo page, and the editor
// that posts an incident update on the demo's open incident every second. On SQLite both run in
// one process (a change reaches the page cache in-process, as a dashboard POST does); on
// PostgreSQL the editor runs in its own process and the change travels over LISTEN/NOTIFY.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { clearInterval, setInterval } from 'node:timers'
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { loadConfig } from '../dist/config.js'
import { DEMO_SLUG, seedDemo } from '../dist/domain/pages/demo.js'
import { buildServer } from '../dist/http/server.js'
import { createLogger } from '../dist/logger.js'
import { openRuntime } from '../dist/runtime.js'
import { LOOPBACK, MiB, serveWorker } from './lib.js'

const EDIT_EVERY_MS = 1000
/** The statuses the editor cycles through; none of them closes the incident. */
const EDIT_STATUSES = ['identified', 'monitoring', 'investigating']

let runtime
let app
let dataDir
let ownDataDir = false
let editor
/** How late timers fire on the server's event loop: long renders and compressions show here. */
const loopDelay = monitorEventLoopDelay({ resolution: 10 })
/** Resident memory after each startup step, to say what the baseline is made of. */
const stages = []

/** VmHWM (peak) and VmRSS (now) from /proc/self/status, in MiB (off Linux: maxRSS and rss). */
function procMemory() {
  try {
    const status = readFileSync('/proc/self/status', 'utf8')
    const kib = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1])
    return { peakMiB: kib('VmHWM') / 1024, rssMiB: kib('VmRSS') / 1024 }
  } catch {
    return {
      peakMiB: process.resourceUsage().maxRSS / 1024,
      rssMiB: process.memoryUsage().rss / MiB,
    }
  }
}

function stage(label) {
  const { heapUsed, external, arrayBuffers } = process.memoryUsage()
  stages.push({
    label,
    rssMiB: procMemory().rssMiB,
    heapUsedMiB: heapUsed / MiB,
    externalMiB: external / MiB,
    arrayBuffersMiB: arrayBuffers / MiB,
  })
}

stage('node + imports (Fastify, Kysely, SQLite, pg, Preact, ...)')

async function open({ databaseUrl, masterKey, migrate }) {
  if (runtime !== undefined) return runtime
  dataDir ??= mkdtempSync(join(tmpdir(), 'candor-status-bench-'))
  ownDataDir = true
  const config = loadConfig({
    DATA_DIR: dataDir,
    MASTER_KEY: masterKey,
    LOG_LEVEL: 'silent',
    BASE_URL: 'http://127.0.0.1',
    ...(databaseUrl === undefined ? {} : { DATABASE_URL: databaseUrl }),
  })
  runtime = await openRuntime(config, createLogger('silent'), { migrate })
  return runtime
}

/** The demo page, its open incident and its owner (the editor acts as the owner). */
async function demoIncident(db) {
  const page = await db
    .selectFrom('pages')
    .select(['id', 'account_id'])
    .where('slug', '=', DEMO_SLUG)
    .executeTakeFirstOrThrow()
  const incident = await db
    .selectFrom('incidents')
    .select('id')
    .where('page_id', '=', page.id)
    .where('kind', '=', 'incident')
    .where('resolved_at', 'is', null)
    .executeTakeFirstOrThrow()
  const owner = await db
    .selectFrom('memberships')
    .select('user_id')
    .where('account_id', '=', page.account_id)
    .where('role', '=', 'owner')
    .executeTakeFirstOrThrow()
  return { pageId: page.id, incidentId: incident.id, userId: owner.user_id }
}

function editorStats() {
  if (editor === undefined) throw new Error('no editor running')
  const { updates, failures, lastError, ms, committed } = editor.state
  return { updates, failures, lastError, ms: [...ms], committed: [...committed] }
}

serveWorker({
  /**
   * The real application, as `candor start --web` builds it (with the page change feed), on
   * encrypted SQLite in a temporary folder or on the PostgreSQL database given; then the demo.
   */
  async startServer({ databaseUrl, masterKey }) {
    const { config, services, keyRing, database, clock, pageFeed, logger } = await open({
      databaseUrl,
      masterKey,
      migrate: true,
    })
    stage('+ openRuntime (database open, migrated, key ring)')
    app = await buildServer({
      config,
      services,
      logger,
      cookieSecret: keyRing.cookieSecret,
      pageEvents: pageFeed,
    })
    await app.listen({ port: 0, host: LOOPBACK })
    loopDelay.enable()
    stage('+ buildServer and listen')
    const { pageId } = await seedDemo({
      db: database.db,
      keyRing,
      clock,
      pages: services.pages,
      components: services.components,
      incidents: services.incidents,
    })
    stage('+ seedDemo (one Argon2id hash, 90 days of history)')
    return { port: app.server.address().port, pid: process.pid, pageId, dataDir }
  },

  /**
   * The editor: while resumed, posts an update on the demo's open incident every second as the
   * demo's owner (through the incident service, as the dashboard's POST handler does), and
   * records when each new page version committed.
   */
  async startEditor({ databaseUrl, masterKey }) {
    const { services, database } = await open({ databaseUrl, masterKey, migrate: false })
    const { pageId, incidentId, userId } = await demoIncident(database.db)
    const actor = {
      type: 'user',
      userId,
      sessionIdHash: 'status-bench',
      ip: LOOPBACK,
      userAgent: 'candor-bench editor',
    }
    const state = { updates: 0, failures: 0, lastError: undefined, ms: [], committed: [] }
    let timer
    let running = Promise.resolve()
    const post = async () => {
      const n = state.updates + state.failures
      const started = performance.now()
      try {
        await services.incidents.addUpdate(actor, incidentId, {
          status: EDIT_STATUSES[n % EDIT_STATUSES.length],
          body: `Update ${String(n + 1)} at ${new Date().toISOString()}: traffic is moving off the failing replica.`,
          deliverNotifications: false,
        })
        const at = Date.now()
        state.ms.push(performance.now() - started)
        state.updates++
        const { version } = await database.db
          .selectFrom('pages')
          .select('version')
          .where('id', '=', pageId)
          .executeTakeFirstOrThrow()
        state.committed.push({ version: Number(version), at })
      } catch (error) {
        state.failures++
        state.lastError = error instanceof Error ? error.message : String(error)
      }
    }
    editor = {
      state,
      resume() {
        // Never two at once: a slow update delays the next instead of piling up.
        timer ??= setInterval(() => {
          running = running.then(post)
        }, EDIT_EVERY_MS)
      },
      async pause() {
        clearInterval(timer)
        timer = undefined
        await running
      },
    }
    return { incidentId, pid: process.pid }
  },

  resumeEditor() {
    editor.resume()
    return editorStats()
  },

  async pauseEditor() {
    await editor.pause()
    return editorStats()
  },

  /** The event loop's delay since the last call (p99 and max, ms), then starts afresh. */
  loopDelay() {
    const result = { p99Ms: loopDelay.percentile(99) / 1e6, maxMs: loopDelay.max / 1e6 }
    loopDelay.reset()
    return result
  },

  /** CPU time used by this process so far, in seconds. */
  cpu() {
    const { user, system } = process.cpuUsage()
    return (user + system) / 1e6
  },

  /**
   * Peak and current resident memory, the startup stages, the V8 heap's spaces as they are after
   * the load, and the heap still live after a full garbage collection (done here, at the end).
   */
  memory() {
    stage('after the load')
    const spaces = Object.fromEntries(
      getHeapSpaceStatistics().map((space) => [space.space_name, space.physical_space_size / MiB]),
    )
    const result = {
      ...procMemory(),
      stages: [...stages],
      newSpaceMiB: spaces.new_space,
      oldSpaceMiB: spaces.old_space,
    }
    stages.pop()
    setFlagsFromString('--expose-gc')
    runInNewContext('gc')()
    result.liveHeapMiB = process.memoryUsage().heapUsed / MiB
    return result
  },

  async stop() {
    const memory = procMemory()
    await editor?.pause()
    editor = undefined
    await app?.close()
    await runtime?.close()
    if (ownDataDir) rmSync(dataDir, { recursive: true, force: true })
    runtime = undefined
    app = undefined
    return memory
  },
})
