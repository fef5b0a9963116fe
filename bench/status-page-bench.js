// Bench 5: the public status page under load while an editor posts an incident update every
// second, against nginx serving a static copy of the same bytes, in alternating slices.
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { clearInterval, setInterval } from 'node:timers'
import { setTimeout as delay } from 'node:timers/promises'
import { URL } from 'node:url'
import autocannon from 'autocannon'
import pg from 'pg'
import {
  LOOPBACK,
  fmt,
  fmtRatio,
  note,
  printTable,
  ratio,
  startWorker,
  CANDOR_NODE_FLAGS,
  summarize,
  verdict,
} from './lib.js'
import { NGINX_INSTALL_HINT, findNginx, nginxVersion, startNginx } from './status-nginx.js'

const CONNECTIONS = 64
const WRK_THREADS = 2
const WARMUP_SECONDS = 2
const SLICES = 4
const SLICE_SECONDS = 3
/** How often the bench itself asks Candor for each route's ETag during Candor's slices. */
const POLL_EVERY_MS = 100
const PROPAGATION_GRACE_MS = 500

/** From the issue: per route, against nginx in the same run, at 64 connections. */
const TARGETS = { minRatio: 0.6, maxP99Ms: 50, maxPeakRssMiB: 200 }

const ROUTES = [
  {
    key: 'page',
    label: 'GET /p/demo',
    path: '/p/demo',
    acceptEncoding: 'br, gzip',
    encoding: 'br',
    file: 'demo.html',
  },
  {
    key: 'summary',
    label: 'GET /p/demo/api/v2/summary.json',
    path: '/p/demo/api/v2/summary.json',
    acceptEncoding: 'gzip',
    encoding: 'gzip',
    file: 'summary.json',
  },
]

/** A fresh database on the server of BENCH_DATABASE_URL, dropped afterwards (as http-bench.js does). */
async function createThrowawayDatabase(adminUrl) {
  const name = `candor_bench_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  try {
    await admin.query(`CREATE DATABASE ${name}`)
  } finally {
    await admin.end()
  }
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl })
      await client.connect()
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      } finally {
        await client.end()
      }
    },
  }
}

/** wrk's Lua hook: prints totals and the whole latency histogram (microseconds) as one JSON line. */
const WRK_SCRIPT = `
done = function(summary, latency, requests)
  local buckets = {}
  for i = 1, #latency do
    local value, count = latency(i)
    if count > 0 then buckets[#buckets + 1] = string.format("[%d,%d]", value, count) end
  end
  local e = summary.errors
  io.write(string.format('CANDOR_WRK {"requests":%d,"durationUs":%d,"bytes":%d,"non2xx":%d,"errors":%d,"latencyUs":[%s]}\\n',
    summary.requests, summary.duration, summary.bytes, e.status, e.connect + e.read + e.write + e.timeout,
    table.concat(buckets, ",")))
end
`

/** Latencies as value → count, so that wrk's histograms and autocannon's samples merge alike. */
class Latencies {
  counts = new Map()
  add(valueMs, count = 1) {
    this.counts.set(valueMs, (this.counts.get(valueMs) ?? 0) + count)
  }
  percentile(p) {
    const sorted = [...this.counts].sort((a, b) => a[0] - b[0])
    const n = sorted.reduce((sum, [, count]) => sum + count, 0)
    const rank = Math.max(1, Math.ceil((p / 100) * n))
    let seen = 0
    for (const [value, count] of sorted) {
      seen += count
      if (seen >= rank) return value
    }
    return NaN
  }
}

/** wrk's version line, or undefined when it is missing or BENCH_LOADGEN=autocannon asks for autocannon. */
function findWrk() {
  if (process.env.BENCH_LOADGEN === 'autocannon') return undefined
  const found = spawnSync('wrk', ['-v'], { encoding: 'utf8' })
  return found.error === undefined
    ? (found.stdout || found.stderr).split('\n')[0].trim()
    : undefined
}

/** One slice of load on `url`; figures are added to `into` (requests, seconds, bytes, errors). */
async function driveWrk(scriptPath, url, acceptEncoding, seconds, into) {
  const args = [
    ...['-t', String(WRK_THREADS), '-c', String(CONNECTIONS), '-d', `${String(seconds)}s`],
    ...['--timeout', '10s', '-s', scriptPath, '-H', `Accept-Encoding: ${acceptEncoding}`, url],
  ]
  const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (chunk) => (out += String(chunk)))
  child.stderr.on('data', (chunk) => (out += String(chunk)))
  const code = await new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', resolve)
  })
  const line = /^CANDOR_WRK (.*)$/m.exec(out)?.[1]
  if (code !== 0 || line === undefined)
    throw new Error(`wrk exited ${String(code)} without figures: ${out.trim()}`)
  const result = JSON.parse(line)
  into.requests += result.requests
  into.seconds += result.durationUs / 1e6
  into.bytes += result.bytes
  into.non2xx += result.non2xx
  into.errors += result.errors
  for (const [valueUs, count] of result.latencyUs) into.latencies.add(valueUs / 1000, count)
}

async function driveAutocannon(url, acceptEncoding, seconds, into) {
  const instance = autocannon({
    url,
    headers: { 'accept-encoding': acceptEncoding },
    connections: CONNECTIONS,
    duration: seconds,
    timeout: 10,
  })
  instance.on('response', (_client, status, bytes, responseTimeMs) => {
    if (status >= 200 && status < 300) {
      into.requests++
      into.latencies.add(Math.round(responseTimeMs * 1000) / 1000)
    } else into.non2xx++
    into.bytes += bytes
  })
  const result = await instance
  into.seconds += result.duration
  into.errors += result.errors + result.timeouts
}

function emptyTally() {
  return { requests: 0, seconds: 0, bytes: 0, non2xx: 0, errors: 0, latencies: new Latencies() }
}

/** GET on a fresh connection, returning the raw (still compressed) body. */
function fetchRaw(port, path, acceptEncoding) {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: LOOPBACK,
        port,
        path,
        agent: false,
        timeout: 10_000,
        headers: { 'user-agent': 'candor-bench', 'accept-encoding': acceptEncoding },
      },
      (res) => {
        const chunks = []
        res.on('data', (chunk) => chunks.push(chunk))
        res.on('end', () =>
          resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }),
        )
        res.on('error', reject)
      },
    )
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)))
    req.on('error', reject)
    req.end()
  })
}

async function fetchOk(port, path, acceptEncoding, encoding) {
  const response = await fetchRaw(port, path, acceptEncoding)
  if (response.status !== 200) throw new Error(`GET ${path} answered ${String(response.status)}`)
  if ((response.headers['content-encoding'] ?? '') !== encoding)
    throw new Error(
      `GET ${path} (Accept-Encoding: ${acceptEncoding || 'none'}) came ${String(response.headers['content-encoding'] ?? 'uncompressed')}, expected ${encoding || 'uncompressed'}`,
    )
  return response
}

/** Candor's current bodies of a route, in each encoding, and the headers of the measured one. */
async function candorBodies(port, route) {
  const [br, gzip, identity, measured] = await Promise.all([
    fetchOk(port, route.path, 'br', 'br'),
    fetchOk(port, route.path, 'gzip', 'gzip'),
    fetchOk(port, route.path, '', ''),
    fetchOk(port, route.path, route.acceptEncoding, route.encoding),
  ])
  return { br: br.body, gzip: gzip.body, identity: identity.body, measured }
}

/** Puts Candor's bytes of now in nginx's files and checks that nginx answers exactly them. */
async function refreshNginx(nginx, port, route) {
  const bodies = await candorBodies(port, route)
  nginx.write(route.file, bodies)
  const served = await fetchOk(nginx.port, `/${route.file}`, route.acceptEncoding, route.encoding)
  if (!served.body.equals(bodies.measured.body))
    throw new Error(`nginx /${route.file} does not serve the bytes Candor serves`)
  return bodies.measured.body.length
}

/** Polls every route's ETag on Candor, noting when each page version was first served. */
function etagPoller(port) {
  const seen = new Map(ROUTES.map((route) => [route.key, new Map()]))
  let timer
  let inFlight = false
  const poll = async () => {
    if (inFlight) return
    inFlight = true
    try {
      await Promise.all(
        ROUTES.map(async (route) => {
          const response = await fetchRaw(port, route.path, route.acceptEncoding)
          const etag = response.headers.etag
          const versions = seen.get(route.key)
          if (etag !== undefined && !versions.has(etag)) versions.set(etag, Date.now())
        }),
      )
    } catch {
      // A poll lost under load is not a measurement; the next one counts.
    } finally {
      inFlight = false
    }
  }
  return {
    seen,
    start() {
      timer ??= setInterval(() => void poll(), POLL_EVERY_MS)
    },
    stop() {
      clearInterval(timer)
      timer = undefined
    },
  }
}

/** Delay between an update's commit and the first poll that saw its page version (or a later one). */
function propagationMs(committed, seenEtags) {
  const seen = [...seenEtags].map(([etag, at]) => ({
    version: Number(/^"(\d+)-/.exec(etag)?.[1]),
    at,
  }))
  const delays = []
  for (const update of committed) {
    const first = seen
      .filter((s) => s.version >= update.version)
      .reduce((min, s) => Math.min(min, s.at), Infinity)
    if (Number.isFinite(first)) delays.push(Math.max(0, first - update.at))
  }
  return { ...summarize(delays), unseen: committed.length - delays.length }
}

/**
 * One Candor installation (SQLite, or PostgreSQL with the editor in another process) against
 * nginx: warm-up, then per route SLICES alternating slices (nginx with fresh copies of Candor's
 * bytes and the editor paused, then Candor with the editor posting).
 */
async function measureDatabase({ database, server, editor, info, nginx, load }) {
  const candorUrl = (route) => `http://${LOOPBACK}:${String(info.port)}${route.path}`
  const nginxUrl = (route) => `http://${LOOPBACK}:${String(nginx.port)}/${route.file}`
  const poller = etagPoller(info.port)
  const rows = []
  const bodyBytes = new Map()
  for (const route of ROUTES)
    bodyBytes.set(route.key, [await refreshNginx(nginx, info.port, route)])
  await editor.call('resumeEditor')
  for (const route of ROUTES) {
    await load(nginxUrl(route), route.acceptEncoding, WARMUP_SECONDS, emptyTally())
    await load(candorUrl(route), route.acceptEncoding, WARMUP_SECONDS, emptyTally())
  }
  let stats = await editor.call('pauseEditor')
  const firstUpdate = stats.updates
  let updatesInSlices = 0
  let loopMaxMs = 0
  for (const route of ROUTES) {
    const got = { ...emptyTally(), cpu: 0, updates: 0 }
    const ref = { ...emptyTally(), cpu: 0 }
    for (let slice = 0; slice < SLICES; slice++) {
      bodyBytes.get(route.key).push(await refreshNginx(nginx, info.port, route))
      const nginxCpu = nginx.cpuSeconds()
      await load(nginxUrl(route), route.acceptEncoding, SLICE_SECONDS, ref)
      ref.cpu += nginx.cpuSeconds() - nginxCpu

      const before = await editor.call('resumeEditor')
      poller.start()
      const candorCpu = await server.call('cpu')
      await server.call('loopDelay')
      await load(candorUrl(route), route.acceptEncoding, SLICE_SECONDS, got)
      got.cpu += (await server.call('cpu')) - candorCpu
      const { maxMs } = await server.call('loopDelay')
      loopMaxMs = Math.max(loopMaxMs, maxMs)
      stats = await editor.call('pauseEditor')
      // The last update of the slice gets its chance to be seen before the poller stops.
      await delay(PROPAGATION_GRACE_MS)
      poller.stop()
      got.updates += stats.updates - before.updates
    }
    updatesInSlices += got.updates
    rows.push({ database, route, got, ref, bytes: bodyBytes.get(route.key) })
  }
  return {
    rows,
    editor: {
      database,
      updatesInSlices,
      updatesTotal: stats.updates,
      failures: stats.failures,
      lastError: stats.lastError,
      addUpdate: summarize(stats.ms),
      etags: new Map(ROUTES.map((route) => [route.key, poller.seen.get(route.key).size])),
      loopMaxMs,
      propagation: propagationMs(stats.committed.slice(firstUpdate), poller.seen.get('page')),
    },
  }
}

function finish(tally) {
  return {
    rps: tally.requests / tally.seconds,
    p50: tally.latencies.percentile(50),
    p99: tally.latencies.percentile(99),
    bytesPerResponse: tally.bytes / Math.max(1, tally.requests + tally.non2xx),
    cores: tally.cpu / tally.seconds,
    cpuUs: (tally.cpu / Math.max(1, tally.requests)) * 1e6,
  }
}

export async function runStatusPageBench({ postgresUrl, peaks }) {
  const nginxBinary = findNginx()
  if (nginxBinary === undefined) {
    note(`nginx was not found: ${NGINX_INSTALL_HINT}.`)
    verdict('Status page', 'SKIP', `nginx is not installed (${NGINX_INSTALL_HINT})`)
    return
  }
  const wrkVersion = findWrk()
  const scratch = mkdtempSync(join(tmpdir(), 'candor-status-bench-'))
  const scriptPath = join(scratch, 'figures.lua')
  writeFileSync(scriptPath, WRK_SCRIPT)
  const load =
    wrkVersion === undefined
      ? (url, acceptEncoding, seconds, into) => driveAutocannon(url, acceptEncoding, seconds, into)
      : (url, acceptEncoding, seconds, into) =>
          driveWrk(scriptPath, url, acceptEncoding, seconds, into)
  note(
    `${wrkVersion === undefined ? `autocannon (${process.env.BENCH_LOADGEN === 'autocannon' ? 'BENCH_LOADGEN=autocannon' : 'wrk not found: `apt-get install wrk` for a load generator that costs less CPU'})` : `${wrkVersion.split(' [')[0]}, ${String(WRK_THREADS)} threads`}, ${String(CONNECTIONS)} connections; Candor (demo page, editor posting an incident update every second) vs ${nginxVersion(nginxBinary)} (2 workers, static files of the same bytes, refreshed before each of its slices); every route of both warmed up for ${String(WARMUP_SECONDS)} s, then per route ${String(SLICES)} alternating slices of ${String(SLICE_SECONDS)} s; all on ${LOOPBACK}`,
  )

  const measured = []
  const editors = []
  const memories = []
  let nginx
  let sqlite
  let onPg
  let pgEditor
  let throwaway
  let postgresError
  try {
    const masterKey = randomBytes(32).toString('hex')
    sqlite = startWorker('./status-server.js', {}, CANDOR_NODE_FLAGS)
    const info = await sqlite.call('startServer', { masterKey })
    await sqlite.call('startEditor', { masterKey })
    nginx = await startNginx(
      nginxBinary,
      await Promise.all(
        ROUTES.map(async (route) => {
          const { measured: probe } = await candorBodies(info.port, route)
          return {
            name: route.file,
            contentType: probe.headers['content-type'],
            headers: probe.headers,
          }
        }),
      ),
    )
    await nginx.ready((port) => fetchRaw(port, '/', ''))
    const result = await measureDatabase({
      database: 'SQLite',
      server: sqlite,
      editor: sqlite,
      info,
      nginx,
      load,
    })
    measured.push(...result.rows)
    editors.push(result.editor)
    const memory = await sqlite.call('memory')
    memories.push({ label: 'Candor server + editor, SQLite (status page bench)', ...memory })
    await sqlite.call('stop')

    if (postgresUrl !== undefined) {
      try {
        throwaway = await createThrowawayDatabase(postgresUrl)
        onPg = startWorker('./status-server.js', {}, CANDOR_NODE_FLAGS)
        const pgInfo = await onPg.call('startServer', { masterKey, databaseUrl: throwaway.url })
        pgEditor = startWorker('./status-server.js')
        await pgEditor.call('startEditor', { masterKey, databaseUrl: throwaway.url })
        const pgResult = await measureDatabase({
          database: 'PostgreSQL',
          server: onPg,
          editor: pgEditor,
          info: pgInfo,
          nginx,
          load,
        })
        measured.push(...pgResult.rows)
        editors.push(pgResult.editor)
        memories.push({
          label: 'Candor server, PostgreSQL (status page bench)',
          ...(await onPg.call('memory')),
        })
        await pgEditor.call('stop')
        await onPg.call('stop')
      } catch (error) {
        postgresError = error instanceof Error ? error.message : String(error)
      }
    }
  } finally {
    await nginx?.stop()
    await sqlite?.stop()
    await pgEditor?.stop()
    await onPg?.stop()
    await throwaway?.drop()
    rmSync(scratch, { recursive: true, force: true })
  }
  for (const memory of memories) peaks.push({ label: memory.label, peakRssMiB: memory.peakMiB })

  printTable(
    `Status page: Candor vs nginx serving the same bytes, ${String(CONNECTIONS)} connections (ratio = Candor req/s / nginx req/s)`,
    [
      'route',
      'body B',
      'req/s',
      'p50 ms',
      'p99 ms',
      'CPU us/req',
      'nginx req/s',
      'p50 ms',
      'p99 ms',
      'CPU us/req',
      'ratio',
      'non-2xx/err',
    ],
    measured.map(({ database, route, got, ref, bytes }) => {
      const g = finish(got)
      const r = finish(ref)
      return [
        `${route.label} [${database}]`,
        `${String(bytes[0])}-${String(Math.max(...bytes))}`,
        fmt(g.rps),
        fmt(g.p50),
        fmt(g.p99),
        fmt(g.cpuUs, 0),
        fmt(r.rps),
        fmt(r.p50),
        fmt(r.p99),
        fmt(r.cpuUs, 0),
        fmtRatio(ratio(g.rps, r.rps)),
        `${String(got.non2xx + ref.non2xx)}/${String(got.errors + ref.errors)}`,
      ]
    }),
  )
  note(
    `body B: the ${ROUTES.map((r) => `${r.encoding} body of ${r.path}`).join(' and the ')}, first and largest size (every update adds to the page). Response bytes incl. headers, Candor vs nginx: ${measured
      .map(
        ({ database, route, got, ref }) =>
          `${route.key} [${database}] ${fmt(finish(got).bytesPerResponse, 0)} vs ${fmt(finish(ref).bytesPerResponse, 0)}`,
      )
      .join(', ')}`,
  )
  note(
    `CPU us/req: CPU time of the server process (nginx: master + workers; user + system) per answer. Cores busy, Candor vs nginx: ${measured
      .map(
        ({ database, route, got, ref }) =>
          `${route.key} [${database}] ${fmt(finish(got).cores, 2)} vs ${fmt(finish(ref).cores, 2)}`,
      )
      .join(', ')}; Candor serves from one thread, nginx from 2 worker processes`,
  )
  printTable(
    'Editor: incident updates posted during Candor slices, and what visitors saw',
    [
      'database',
      'updates',
      'failed',
      'addUpdate p50 ms',
      'ETags /p/demo',
      'ETags summary',
      'visible after p50 ms',
      'max ms',
      'event loop max delay ms',
    ],
    editors.map((e) => [
      e.database,
      e.updatesInSlices,
      e.failures,
      fmt(e.addUpdate.p50),
      e.etags.get('page'),
      e.etags.get('summary'),
      fmt(e.propagation.p50),
      fmt(e.propagation.max),
      fmt(e.loopMaxMs),
    ]),
  )
  note(
    `visible after: from an update's commit to the first ${String(POLL_EVERY_MS)} ms poll of /p/demo serving its page version; the editor runs in the server's process on SQLite and in its own process on PostgreSQL (LISTEN/NOTIFY). Event loop max delay: the longest the server's event loop was blocked during Candor's slices (re-renders and compression on change run on it)`,
  )
  for (const memory of memories) {
    note(
      `${memory.label}: peak RSS (VmHWM) ${fmt(memory.peakMiB, 1)} MiB, RSS now ${fmt(memory.rssMiB, 1)} MiB; V8 new space ${fmt(memory.newSpaceMiB, 1)} MiB and old space ${fmt(memory.oldSpaceMiB, 1)} MiB resident after the load, of which ${fmt(memory.liveHeapMiB, 1)} MiB still live after a full GC`,
    )
    for (const s of memory.stages)
      note(`  RSS ${fmt(s.rssMiB, 1)} MiB (V8 heap used ${fmt(s.heapUsedMiB, 1)} MiB): ${s.label}`)
  }
  if (postgresUrl === undefined)
    note(
      'PostgreSQL: skipped (set BENCH_DATABASE_URL to measure it with the editor in another process)',
    )

  const failures = []
  const misses = []
  for (const { database, route, got, ref } of measured) {
    const name = `${route.key} [${database}]`
    if (got.non2xx + got.errors + ref.non2xx + ref.errors > 0)
      failures.push(
        `${name}: ${String(got.non2xx)} non-2xx and ${String(got.errors)} errors from Candor, ${String(ref.non2xx)} and ${String(ref.errors)} from nginx`,
      )
    const g = finish(got)
    const share = ratio(g.rps, finish(ref).rps)
    if (!(share >= TARGETS.minRatio))
      misses.push(`${name} ratio ${fmtRatio(share)} < ${fmtRatio(TARGETS.minRatio)}`)
    if (!(g.p99 < TARGETS.maxP99Ms))
      misses.push(`${name} p99 ${fmt(g.p99)} ms >= ${String(TARGETS.maxP99Ms)} ms`)
  }
  for (const e of editors) {
    if (e.updatesInSlices === 0)
      failures.push(
        `[${e.database}] the editor posted no update during Candor's slices (${String(e.lastError)})`,
      )
    for (const route of ROUTES)
      if (e.etags.get(route.key) < 2)
        failures.push(
          `[${e.database}] ${route.path} never changed its ETag while the editor posted`,
        )
  }
  for (const memory of memories)
    if (!(memory.peakMiB < TARGETS.maxPeakRssMiB))
      misses.push(
        `${memory.label} peak RSS ${fmt(memory.peakMiB, 1)} MiB >= ${String(TARGETS.maxPeakRssMiB)} MiB`,
      )
  if (postgresError !== undefined) failures.unshift(`the PostgreSQL run failed: ${postgresError}`)
  const summary = measured
    .map(({ database, route, got, ref }) => {
      const g = finish(got)
      return `${route.key} [${database}] ${fmtRatio(ratio(g.rps, finish(ref).rps))} p99 ${fmt(g.p99)} ms`
    })
    .join(', ')
  const memorySummary = memories.map((m) => `${fmt(m.peakMiB, 1)} MiB`).join(', ')
  if (failures.length > 0) verdict('Status page', 'FAIL', [...failures, ...misses].join('; '))
  else if (misses.length > 0)
    verdict(
      'Status page',
      'MISS',
      `${misses.join('; ')} (targets: ratio >= ${fmtRatio(TARGETS.minRatio)}, p99 < ${String(TARGETS.maxP99Ms)} ms, peak RSS < ${String(TARGETS.maxPeakRssMiB)} MiB; measured ${summary}; peak RSS ${memorySummary})`,
    )
  else
    verdict(
      'Status page',
      'ok',
      `every answer 2xx, the page changed under load; ${summary}; peak RSS ${memorySummary}; all within targets`,
    )
}
