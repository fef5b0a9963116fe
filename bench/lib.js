import { readFileSync } from 'node:fs'
// Shared helpers of the benchmark suite: statistics, tables, verdicts, child processes, HTTP.
import { Buffer } from 'node:buffer'
import { fork } from 'node:child_process'
import { request as httpRequest } from 'node:http'
import { performance } from 'node:perf_hooks'
import { fileURLToPath, URL } from 'node:url'
import { setTimeout as delay } from 'node:timers/promises'

/** Load only ever goes to this address. */
export const LOOPBACK = '127.0.0.1'

export const MiB = 1024 * 1024

/** The process's peak resident set size so far, in MiB (maxRSS is in KiB on Linux). */
export function peakRssMiB() {
  return process.resourceUsage().maxRSS / 1024
}

/** Mean, p50 and p99 of samples (milliseconds or anything else), nearest-rank percentiles. */
export function summarize(samples) {
  const sorted = Float64Array.from(samples).sort()
  const n = sorted.length
  if (n === 0) return { n: 0, mean: NaN, p50: NaN, p99: NaN, max: NaN }
  let sum = 0
  for (const value of sorted) sum += value
  const rank = (p) => sorted[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))]
  return { n, mean: sum / n, p50: rank(50), p99: rank(99), max: sorted[n - 1] }
}

/** A number with a sensible count of digits for a table cell. */
export function fmt(value, digits) {
  if (value === undefined || value === null || Number.isNaN(value)) return '-'
  if (digits !== undefined) return value.toFixed(digits)
  const abs = Math.abs(value)
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US')
  if (abs >= 100) return value.toFixed(0)
  if (abs >= 10) return value.toFixed(1)
  if (abs >= 1) return value.toFixed(2)
  return value.toFixed(3)
}

export function ratio(value, reference) {
  return reference > 0 ? value / reference : NaN
}

export function fmtRatio(value) {
  if (Number.isNaN(value)) return '-'
  return `${value >= 10 ? value.toFixed(1) : value.toPrecision(3)}x`
}

/** Prints rows as an aligned text table: the first column left-aligned, the others right-aligned. */
export function printTable(title, header, rows) {
  const cells = [header, ...rows].map((row) => row.map((cell) => String(cell)))
  const widths = header.map((_, column) => Math.max(...cells.map((row) => row[column].length)))
  const line = (row) =>
    row
      .map((cell, column) =>
        column === 0 ? cell.padEnd(widths[0]) : cell.padStart(widths[column]),
      )
      .join('  ')
  console.log(`\n${title}`)
  console.log(line(cells[0]))
  console.log(widths.map((width) => '-'.repeat(width)).join('  '))
  for (const row of cells.slice(1)) console.log(line(row))
}

export function note(text) {
  console.log(`  ${text}`)
}

/**
 * Verdicts: 'ok', 'MISS' (a target was not met: a speed or memory regression to look at) or
 * 'FAIL' (the bench could not measure what it claims, e.g. a non-2xx answer or a crash).
 */
export const verdicts = []

export function verdict(bench, status, text) {
  verdicts.push({ bench, status, text })
  console.log(`\n  VERDICT ${bench}: ${status} - ${text}`)
}

/** Runs a section; a crash becomes a FAIL verdict and the next section still runs. */
export async function section(name, run) {
  const started = performance.now()
  console.log(`\n=== ${name} ===`)
  try {
    await run()
  } catch (error) {
    verdict(name, 'FAIL', error instanceof Error ? (error.stack ?? error.message) : String(error))
  }
  note(`(${((performance.now() - started) / 1000).toFixed(1)} s)`)
}

/**
 * Starts bench/<file> as a child process with an IPC channel; `call(command, argument)` runs a
 * handler registered there with serveWorker() and resolves with its result.
 */
/** The V8 flags Candor runs with, read from bin/candor.js's shebang (also used by npm start). */
export const CANDOR_NODE_FLAGS = readFileSync(new URL('../bin/candor.js', import.meta.url), 'utf8')
  .split('\n')[0]
  .split(/\s+/)
  .filter((part) => part.startsWith('--'))

export function startWorker(file, env = {}, execArgv = []) {
  const child = fork(fileURLToPath(new URL(file, import.meta.url)), [], {
    env: { ...process.env, ...env },
    execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const pending = new Map()
  let nextId = 1
  let exited = false
  const exit = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true
      for (const { reject } of pending.values())
        reject(new Error(`${file} exited (${String(code ?? signal)}) before answering`))
      pending.clear()
      resolve()
    })
  })
  child.on('message', (message) => {
    const waiting = pending.get(message.id)
    if (waiting === undefined) return
    pending.delete(message.id)
    if (message.ok) waiting.resolve(message.result)
    else waiting.reject(new Error(`${file}: ${message.error}`))
  })
  return {
    call(command, argument = {}) {
      if (exited) return Promise.reject(new Error(`${file} is not running`))
      const id = nextId++
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject })
        child.send({ id, command, argument })
      })
    },
    /** Asks the child to leave; kills it (this child only) if it has not within 10 s. */
    async stop() {
      if (exited) return
      if (child.connected) child.disconnect()
      // Unref'd: a pending timer must not keep the runner alive after the child has gone.
      const timer = delay(10_000, undefined, { ref: false }).then(() => {
        if (!exited) child.kill('SIGKILL')
      })
      await Promise.race([exit, timer])
      await exit
    },
  }
}

/** The child's side of startWorker(): handlers are async functions of one argument. */
export function serveWorker(handlers) {
  const stats = () => ({ peakRssMiB: peakRssMiB() })
  process.on('message', (message) => {
    const handler = message.command === 'stats' ? stats : handlers[message.command]
    void (async () => {
      try {
        if (handler === undefined) throw new Error(`unknown command ${message.command}`)
        const result = await handler(message.argument)
        process.send({ id: message.id, ok: true, result })
      } catch (error) {
        process.send({
          id: message.id,
          ok: false,
          error: error instanceof Error ? (error.stack ?? error.message) : String(error),
        })
      }
    })()
  })
}

/**
 * One HTTP/1.1 request on a fresh connection, to 127.0.0.1 only. `localAddress` picks the source
 * address inside 127.0.0.0/8, which the server sees as the client IP.
 */
export function httpCall({ port, method = 'GET', path, headers = {}, body, localAddress }) {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: LOOPBACK,
        port,
        method,
        path,
        headers: {
          'user-agent': 'candor-bench',
          ...headers,
          ...(body === undefined ? {} : { 'content-length': Buffer.byteLength(body) }),
        },
        agent: false,
        timeout: 30_000,
        ...(localAddress === undefined ? {} : { localAddress }),
      },
      (res) => {
        const chunks = []
        res.on('data', (chunk) => chunks.push(chunk))
        res.on('end', () => {
          const text = Buffer.concat(chunks)
          resolve({
            status: res.statusCode,
            headers: res.headers,
            body: text.toString('utf8'),
            bytes: text.length,
          })
        })
        res.on('error', reject)
      },
    )
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)))
    req.on('error', reject)
    req.end(body)
  })
}

/** name=value pairs from Set-Cookie headers, ready for a Cookie header. */
export function cookiesFrom(response) {
  const setCookie = response.headers['set-cookie'] ?? []
  return setCookie.map((header) => header.split(';')[0]).filter((pair) => !pair.endsWith('='))
}
