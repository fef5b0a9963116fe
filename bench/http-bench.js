// Bench 1: the real HTTP server under load, against a bare Fastify app serving the same bytes.
import { randomBytes } from 'node:crypto'
import { URL } from 'node:url'
import autocannon from 'autocannon'
import pg from 'pg'
import {
  LOOPBACK,
  cookiesFrom,
  fmt,
  fmtRatio,
  httpCall,
  note,
  printTable,
  ratio,
  startWorker,
  summarize,
  verdict,
} from './lib.js'

const CONNECTIONS = 10
const WARMUP_SECONDS = 1
const SLICES = 4
const SLICE_SECONDS = 1

/**
 * Regression tripwires: throughput as a share of the bare reference's requests/s measured in the
 * same run, a p99 ceiling for the dashboard at 10 concurrent connections (a gross-regression
 * ceiling: p99 is what background load on the machine inflates first), and a memory ceiling for a
 * Candor process under this load. The ratios sit at about half of the lowest the foundation
 * measured on a busy 2-core machine; see bench/README.md.
 */
const TARGETS = {
  healthz: { minRatio: 0.09 },
  login: { minRatio: 0.07 },
  dashboard: { minRatio: 0.006, maxP99Ms: 1000 },
  dashboardPostgres: { minRatio: 0.007, maxP99Ms: 1000 },
}
const MAX_SERVER_RSS_MIB = 512

/** One autocannon run of `seconds` against `target`, added to `into`; every answer must be 2xx. */
async function drive(target, seconds, into) {
  const instance = autocannon({
    url: target.url,
    headers: target.headers,
    connections: CONNECTIONS,
    duration: seconds,
    timeout: 10,
  })
  const statuses = new Map()
  instance.on('response', (_client, status, _bytes, responseTimeMs) => {
    if (status >= 200 && status < 300) into?.latencies.push(responseTimeMs)
    else statuses.set(status, (statuses.get(status) ?? 0) + 1)
  })
  const result = await instance
  if (statuses.size > 0 || result.errors > 0 || result.timeouts > 0) {
    const codes = [...statuses].map(([status, count]) => `${String(count)}x${String(status)}`)
    throw new Error(
      `${target.url}: non-2xx ${codes.join(', ') || 'none'}, errors ${String(result.errors)}, timeouts ${String(result.timeouts)}`,
    )
  }
  if (into !== undefined) into.seconds += result.duration
}

/**
 * Warms a server up (JIT tiers, caches, connections): a fresh process is measurably slower on
 * whatever route it serves first, so every route of both servers is warmed before any slice.
 */
async function warmUp(targets) {
  for (const target of targets) await drive(target, WARMUP_SECONDS)
}

/** Candor and the reference alternate in short slices, so that background load hits both alike. */
async function compare(candor, reference) {
  const got = { latencies: [], seconds: 0 }
  const ref = { latencies: [], seconds: 0 }
  for (let slice = 0; slice < SLICES; slice++) {
    await drive(reference, SLICE_SECONDS, ref)
    await drive(candor, SLICE_SECONDS, got)
  }
  const finish = (into) => ({
    rps: into.latencies.length / into.seconds,
    ...summarize(into.latencies),
  })
  return { got: finish(got), ref: finish(ref) }
}

async function probe(port, path, headers, mustContain) {
  const response = await httpCall({ port, path, headers })
  if (response.status !== 200) throw new Error(`GET ${path} answered ${String(response.status)}`)
  if (!response.body.includes(mustContain))
    throw new Error(`GET ${path} did not contain ${JSON.stringify(mustContain)}`)
  return response
}

/** The three routes of the foundation, probed once (status, content, size) before any load. */
async function candorRoutes(info) {
  const login = await probe(info.port, '/login', { accept: 'text/html' }, 'name="_csrf"')
  const cookie = [`candor_session=${info.sessionToken}`, ...cookiesFrom(login)].join('; ')
  const dashboardHeaders = { accept: 'text/html', cookie }
  const dashboardPath = `/a/${encodeURIComponent(info.accountId)}`
  const healthz = await probe(info.port, '/healthz', {}, '"ok"')
  const dashboard = await probe(info.port, dashboardPath, dashboardHeaders, 'Bench Status Co')
  return [
    { key: 'healthz', label: 'GET /healthz', path: '/healthz', headers: {}, bytes: healthz.bytes },
    {
      key: 'login',
      label: 'GET /login (CSRF cookie)',
      path: '/login',
      headers: { accept: 'text/html' },
      bytes: login.bytes,
    },
    {
      key: 'dashboard',
      label: 'GET /a/:id (signed in)',
      path: dashboardPath,
      headers: dashboardHeaders,
      bytes: dashboard.bytes,
    },
  ]
}

/** A fresh database on the server of BENCH_DATABASE_URL, dropped afterwards (as test/helpers/test-db.ts does). */
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

export async function runHttpBench({ postgresUrl, peaks }) {
  note(
    `autocannon, ${String(CONNECTIONS)} connections; every route of every server warmed up for ${String(WARMUP_SECONDS)} s first, then per route ${String(SLICES)} alternating slices of ${String(SLICE_SECONDS)} s for the reference and for Candor; each server in its own process on ${LOOPBACK}`,
  )
  const measured = []
  const serverPeaks = []
  const candor = startWorker('./http-servers.js')
  const bare = startWorker('./http-servers.js')
  let onPg
  let throwaway
  let postgresError
  try {
    const info = await candor.call('startCandor', {})
    const routes = await candorRoutes(info)
    const reference = await bare.call('startBare', { sizes: routes.map((route) => route.bytes) })
    const referenceOf = (index) => ({
      url: `http://${LOOPBACK}:${String(reference.port)}/r${String(index)}`,
      headers: {},
    })
    const targets = routes.map((route) => ({
      url: `http://${LOOPBACK}:${String(info.port)}${route.path}`,
      headers: route.headers,
    }))
    await warmUp([...routes.map((_, index) => referenceOf(index)), ...targets])
    for (const [index, route] of routes.entries()) {
      measured.push({
        route,
        database: 'SQLite',
        ...(await compare(targets[index], referenceOf(index))),
      })
    }
    serverPeaks.push({
      label: 'Candor server, SQLite (under load)',
      ...(await candor.call('stop')),
    })

    if (postgresUrl !== undefined) {
      try {
        throwaway = await createThrowawayDatabase(postgresUrl)
        onPg = startWorker('./http-servers.js')
        const pgInfo = await onPg.call('startCandor', { databaseUrl: throwaway.url })
        const index = routes.findIndex((candidate) => candidate.key === 'dashboard')
        const route = (await candorRoutes(pgInfo))[index]
        const target = {
          url: `http://${LOOPBACK}:${String(pgInfo.port)}${route.path}`,
          headers: route.headers,
        }
        await warmUp([target, target])
        measured.push({
          route: { ...route, key: 'dashboardPostgres' },
          database: 'PostgreSQL',
          ...(await compare(target, referenceOf(index))),
        })
        serverPeaks.push({
          label: 'Candor server, PostgreSQL (under load)',
          ...(await onPg.call('stop')),
        })
      } catch (error) {
        // The SQLite figures above still get printed.
        postgresError = error instanceof Error ? error.message : String(error)
      }
    }
    serverPeaks.push({ label: 'bare Fastify reference (under load)', ...(await bare.call('stop')) })
  } finally {
    await candor.stop()
    await bare.stop()
    await onPg?.stop()
    await throwaway?.drop()
  }
  peaks.push(...serverPeaks)

  printTable(
    'HTTP: Candor vs bare Fastify serving a static string of the same size (ratio = Candor req/s / bare req/s)',
    ['route', 'body B', 'req/s', 'p50 ms', 'p99 ms', 'ref req/s', 'ref p99 ms', 'ratio'],
    measured.map(({ route, got, ref, database }) => [
      `${route.label} [${database}]`,
      route.bytes,
      fmt(got.rps),
      fmt(got.p50),
      fmt(got.p99),
      fmt(ref.rps),
      fmt(ref.p99),
      fmtRatio(ratio(got.rps, ref.rps)),
    ]),
  )
  for (const peak of serverPeaks) note(`peak RSS ${peak.label}: ${fmt(peak.peakRssMiB, 1)} MiB`)
  if (postgresUrl === undefined)
    note('PostgreSQL: skipped (set BENCH_DATABASE_URL to measure the dashboard on PostgreSQL too)')

  const misses = []
  for (const { route, got, ref, database } of measured) {
    const target = TARGETS[route.key]
    const share = ratio(got.rps, ref.rps)
    const name = `${route.label} [${database}]`
    if (share < target.minRatio)
      misses.push(`${name} ratio ${fmtRatio(share)} < ${fmtRatio(target.minRatio)}`)
    if (target.maxP99Ms !== undefined && got.p99 > target.maxP99Ms)
      misses.push(`${name} p99 ${fmt(got.p99)} ms > ${String(target.maxP99Ms)} ms`)
  }
  for (const peak of serverPeaks) {
    if (peak.label.startsWith('Candor') && peak.peakRssMiB > MAX_SERVER_RSS_MIB)
      misses.push(
        `${peak.label} peak RSS ${fmt(peak.peakRssMiB, 1)} MiB > ${String(MAX_SERVER_RSS_MIB)} MiB`,
      )
  }
  const summary = measured
    .map(
      ({ route, got, ref }) =>
        `${route.key} ${fmtRatio(ratio(got.rps, ref.rps))} (p99 ${fmt(got.p99)} ms)`,
    )
    .join(', ')
  if (postgresError !== undefined)
    verdict('HTTP', 'FAIL', [`the PostgreSQL run failed: ${postgresError}`, ...misses].join('; '))
  else if (misses.length > 0) verdict('HTTP', 'MISS', misses.join('; '))
  else
    verdict('HTTP', 'ok', `every answer 2xx; share of bare Fastify: ${summary}; all within targets`)
}
