// Bench 4: POST /login end to end, correct password vs unknown email vs wrong password.
import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { URLSearchParams } from 'node:url'
import {
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

const ROUNDS = 50
const WARMUP_ROUNDS = 3
/** How far apart the mean times of the three kinds of attempt may be. */
const MAX_SKEW = 0.2

/**
 * One browser's sign-in: GET /login for the CSRF cookie and token (not timed), then the timed
 * POST. Each round comes from its own source address in 127.0.0.0/8, so the per-IP throttle
 * (30 failures per 15 minutes) never answers 429 in place of the real work.
 */
async function attempt(port, localAddress, email, password) {
  const page = await httpCall({
    port,
    path: '/login',
    headers: { accept: 'text/html' },
    localAddress,
  })
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1]
  if (page.status !== 200 || csrf === undefined)
    throw new Error(`GET /login answered ${String(page.status)} without a CSRF token`)
  const body = new URLSearchParams({ _csrf: csrf, email, password }).toString()
  const started = performance.now()
  const response = await httpCall({
    port,
    method: 'POST',
    path: '/login',
    headers: {
      accept: 'text/html',
      'content-type': 'application/x-www-form-urlencoded',
      cookie: cookiesFrom(page).join('; '),
    },
    body,
    localAddress,
  })
  return {
    ms: performance.now() - started,
    status: response.status,
    location: response.headers.location,
  }
}

export async function runSignInBench({ peaks, argonVerifyMs }) {
  note(
    `${String(ROUNDS)} sequential POST /login of each kind (after ${String(WARMUP_ROUNDS)} warm-up rounds), interleaved in rotating order, each round from its own 127.0.0.x source address`,
  )
  const server = startWorker('./http-servers.js')
  const samples = { correct: [], unknown: [], wrong: [] }
  try {
    const info = await server.call('startCandor', {})
    const kinds = {
      correct: { expect: 303, credentials: () => [info.email, info.password] },
      unknown: {
        expect: 401,
        credentials: (round) => [
          `nobody.${String(round)}.${randomBytes(4).toString('hex')}@bench.example`,
          info.password,
        ],
      },
      wrong: {
        expect: 401,
        credentials: (round) => [info.email, `${info.password}-wrong-${String(round)}`],
      },
    }
    const names = Object.keys(kinds)
    for (let round = 0; round < WARMUP_ROUNDS + ROUNDS; round++) {
      const localAddress = `127.0.0.${String(10 + round)}`
      for (let k = 0; k < names.length; k++) {
        const name = names[(round + k) % names.length]
        const kind = kinds[name]
        const [email, password] = kind.credentials(round)
        const result = await attempt(info.port, localAddress, email, password)
        if (result.status !== kind.expect)
          throw new Error(
            `${name} sign-in answered ${String(result.status)}, expected ${String(kind.expect)}`,
          )
        if (name === 'correct' && result.location !== '/dashboard')
          throw new Error(`correct sign-in redirected to ${String(result.location)}`)
        if (round >= WARMUP_ROUNDS) samples[name].push(result.ms)
      }
    }
    peaks.push({ label: 'Candor server, SQLite (sign-in bench)', ...(await server.call('stop')) })
  } finally {
    await server.stop()
  }

  const stats = {
    correct: summarize(samples.correct),
    unknown: summarize(samples.unknown),
    wrong: summarize(samples.wrong),
  }
  const labels = {
    correct: 'correct password (303)',
    unknown: 'unknown email (401)',
    wrong: 'wrong password (401)',
  }
  printTable(
    'Sign-in end to end: POST /login on SQLite (ratio = mean / mean of the correct password)',
    ['attempt', 'n', 'mean ms', 'p50 ms', 'p99 ms', 'ratio'],
    Object.entries(stats).map(([name, s]) => [
      labels[name],
      s.n,
      fmt(s.mean),
      fmt(s.p50),
      fmt(s.p99),
      fmtRatio(ratio(s.mean, stats.correct.mean)),
    ]),
  )
  const unknownVsCorrect = ratio(stats.unknown.mean, stats.correct.mean)
  const unknownVsWrong = ratio(stats.unknown.mean, stats.wrong.mean)
  note(
    `unknown email / correct password: mean ${fmtRatio(unknownVsCorrect)} (${fmt(stats.unknown.mean - stats.correct.mean, 2)} ms), p99 ${fmtRatio(ratio(stats.unknown.p99, stats.correct.p99))}`,
  )
  note(
    `unknown email / wrong password: mean ${fmtRatio(unknownVsWrong)} (${fmt(stats.unknown.mean - stats.wrong.mean, 2)} ms), p99 ${fmtRatio(ratio(stats.unknown.p99, stats.wrong.p99))}`,
  )
  if (argonVerifyMs !== undefined)
    note(`one Argon2id verify alone (bench 2): ${fmt(argonVerifyMs)} ms`)

  const problems = []
  for (const [name, value] of [
    ['unknown/correct', unknownVsCorrect],
    ['unknown/wrong', unknownVsWrong],
  ]) {
    if (Math.abs(value - 1) > MAX_SKEW)
      problems.push(`${name} mean ratio ${fmtRatio(value)} is outside 1 +/- ${String(MAX_SKEW)}`)
  }
  if (argonVerifyMs !== undefined && stats.unknown.mean < argonVerifyMs * 0.8)
    problems.push(
      `an unknown email takes ${fmt(stats.unknown.mean)} ms, less than one Argon2id verify (${fmt(argonVerifyMs)} ms): the dummy verification is not running`,
    )
  if (problems.length > 0) verdict('Sign-in timing', 'MISS', problems.join('; '))
  else
    verdict(
      'Sign-in timing',
      'ok',
      `unknown email, wrong and correct password cost the same within ${String(MAX_SKEW * 100)}% (unknown/correct ${fmtRatio(unknownVsCorrect)}), each paying the Argon2id verify`,
    )
}
