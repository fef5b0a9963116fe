// Bench 2: Argon2id with the production parameters, against scrypt in the same run.
import { fmt, fmtRatio, note, printTable, ratio, startWorker, verdict } from './lib.js'

const SECONDS = 5
const MIN_ROUNDS = 20
const PARALLEL_SECONDS = 2
const SLICES = 2
/** src/auth/passwords.ts: memoryCost 19456 KiB. */
const ARGON2_MEMORY_MIB = 19_456 / 1024
/** OWASP's ceiling for an interactive sign-in's hashing cost. */
const MAX_SIGN_IN_COST_MS = 1000

/** Runs one command in a fresh worker process. */
async function inWorker(command, argument) {
  const worker = startWorker('./password-worker.js')
  try {
    return await worker.call(command, argument)
  } finally {
    await worker.stop()
  }
}

export async function runPasswordBench() {
  note(
    `timing: both algorithms in turn, one hash and one verify each per round, ${String(SECONDS)} s (at least ${String(MIN_ROUNDS)} rounds), then ${String(PARALLEL_SECONDS)} s each of verifying on every core; memory: each algorithm alone in a fresh process`,
  )
  const timing = await inWorker('timing', {
    seconds: SECONDS,
    minRounds: MIN_ROUNDS,
    parallelSeconds: PARALLEL_SECONDS,
    slices: SLICES,
  })
  const argon = { ...timing.argon2id, ...(await inWorker('memory', { kind: 'argon2id' })) }
  const ref = { ...timing.scrypt, ...(await inWorker('memory', { kind: 'scrypt' })) }

  const perSecond = (ms) => 1000 / ms.mean
  const row = (label, ms, memory) => [
    label,
    fmt(perSecond(ms)),
    fmt(ms.mean),
    fmt(ms.p50),
    fmt(ms.p99),
    memory,
  ]
  const parallelRow = (label, result) => [
    `${label}, ${String(result.concurrency)} at a time`,
    fmt(result.parallelOps),
    '-',
    '-',
    '-',
    fmt(result.parallelMiB, 1),
  ]
  printTable(
    'Password hashing: Argon2id (m=19456 KiB, t=2, p=1) vs reference scrypt (N=2^14, r=8, p=1)',
    ['operation', 'ops/s', 'mean ms', 'p50 ms', 'p99 ms', 'peak RSS delta MiB'],
    [
      row('Argon2id hash', argon.hashMs, '-'),
      row('Argon2id verify', argon.verifyMs, fmt(argon.oneAtATimeMiB, 1)),
      parallelRow('Argon2id verify', argon),
      row('scrypt hash [ref]', ref.hashMs, '-'),
      row('scrypt verify [ref]', ref.verifyMs, fmt(ref.oneAtATimeMiB, 1)),
      parallelRow('scrypt verify [ref]', ref),
    ],
  )
  const hashRatio = ratio(perSecond(argon.hashMs), perSecond(ref.hashMs))
  const verifyRatio = ratio(perSecond(argon.verifyMs), perSecond(ref.verifyMs))
  note(
    `ratio Argon2id / scrypt: hash/s ${fmtRatio(hashRatio)}, verify/s ${fmtRatio(verifyRatio)}, memory ${fmtRatio(ratio(argon.oneAtATimeMiB, ref.oneAtATimeMiB))}`,
  )
  note(
    `sign-in cost per attempt: ${fmt(argon.verifyMs.mean)} ms of one core (p99 ${fmt(argon.verifyMs.p99)} ms) and ~${fmt(ARGON2_MEMORY_MIB, 0)} MiB; deliberately slow`,
  )
  note(
    `so this machine checks at most ~${fmt(argon.parallelOps, 0)} passwords/s with every core busy; an offline guesser pays the same per guess`,
  )

  const problems = []
  if (argon.oneAtATimeMiB < ARGON2_MEMORY_MIB * 0.9)
    problems.push(
      `peak RSS grew ${fmt(argon.oneAtATimeMiB, 1)} MiB, less than the ${fmt(ARGON2_MEMORY_MIB, 1)} MiB Argon2id is configured to use: are the parameters still applied?`,
    )
  if (argon.verifyMs.mean > MAX_SIGN_IN_COST_MS)
    problems.push(
      `verify takes ${fmt(argon.verifyMs.mean)} ms, above the ${String(MAX_SIGN_IN_COST_MS)} ms a sign-in may cost`,
    )
  if (problems.length > 0) verdict('Password hashing', 'MISS', problems.join('; '))
  else
    verdict(
      'Password hashing',
      'ok',
      `${fmt(argon.verifyMs.mean)} ms and ${fmt(argon.oneAtATimeMiB, 1)} MiB per sign-in attempt: the configured ${fmt(ARGON2_MEMORY_MIB, 1)} MiB is really used, and under the ${String(MAX_SIGN_IN_COST_MS)} ms ceiling`,
    )
  return { argonVerifyMs: argon.verifyMs.mean }
}
