// Child process for the password bench: `memory` measures one algorithm's peak RSS growth in a
// fresh process (so nothing measured before it counts); `timing` interleaves both algorithms so
// that background load on the machine hits them alike.
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto'
import { availableParallelism } from 'node:os'
import { performance } from 'node:perf_hooks'
import { hashPassword, verifyPassword } from '../dist/auth/passwords.js'
import { peakRssMiB, serveWorker, summarize } from './lib.js'

const PASSWORD = 'Tr0ub4dor&3 is not correct horse battery staple'
/** The classic interactive-login parameters of scrypt (Node's defaults): 16 MiB, close to Argon2's 19 MiB. */
const SCRYPT = { N: 2 ** 14, r: 8, p: 1 }
const KINDS = ['argon2id', 'scrypt']

function scryptKey(password, salt) {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, 32, SCRYPT, (error, key) => {
      if (error) reject(error)
      else resolve(key)
    })
  })
}

/** hash() makes a new hash (new salt); verify() checks the password against a stored one. */
async function algorithm(kind) {
  if (kind === 'argon2id') {
    const stored = await hashPassword(PASSWORD)
    return {
      hash: () => hashPassword(PASSWORD),
      verify: async () => {
        if (!(await verifyPassword(stored, PASSWORD))) throw new Error('Argon2id verify failed')
      },
    }
  }
  const salt = randomBytes(16)
  const stored = await scryptKey(PASSWORD, salt)
  return {
    hash: () => scryptKey(PASSWORD, randomBytes(16)),
    verify: async () => {
      if (!timingSafeEqual(await scryptKey(PASSWORD, salt), stored))
        throw new Error('scrypt verify failed')
    },
  }
}

/** Runs `operation` `concurrency` at a time for `seconds`; returns the count done and the time taken. */
async function concurrent(operation, concurrency, seconds) {
  let done = 0
  const started = performance.now()
  const end = started + seconds * 1000
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        await operation()
        done++
      }
    }),
  )
  return { done, seconds: (performance.now() - started) / 1000 }
}

serveWorker({
  /** Peak RSS growth for one hash and one verify at a time, then for verifies on every core. */
  async memory({ kind }) {
    const baseline = peakRssMiB()
    const { hash, verify } = await algorithm(kind)
    await hash()
    await verify()
    const oneAtATimeMiB = peakRssMiB() - baseline
    const concurrency = availableParallelism()
    for (let i = 0; i < 3; i++) await Promise.all(Array.from({ length: concurrency }, verify))
    return { oneAtATimeMiB, parallelMiB: peakRssMiB() - baseline, concurrency }
  },

  /**
   * Hash and verify with each algorithm in turn, one at a time, for `seconds` (and at least
   * `minRounds` rounds); then verifies on every core, the algorithms alternating in `slices`.
   */
  async timing({ seconds, minRounds, parallelSeconds, slices }) {
    const algorithms = {}
    const samples = {}
    for (const kind of KINDS) {
      algorithms[kind] = await algorithm(kind)
      samples[kind] = { hash: [], verify: [] }
    }
    const end = performance.now() + seconds * 1000
    for (let round = 0; round < minRounds || performance.now() < end; round++) {
      for (const kind of KINDS) {
        for (const operation of ['hash', 'verify']) {
          const started = performance.now()
          await algorithms[kind][operation]()
          samples[kind][operation].push(performance.now() - started)
        }
      }
    }
    const concurrency = availableParallelism()
    const parallel = Object.fromEntries(KINDS.map((kind) => [kind, { done: 0, seconds: 0 }]))
    for (let slice = 0; slice < slices; slice++) {
      for (const kind of KINDS) {
        const { done, seconds: taken } = await concurrent(
          algorithms[kind].verify,
          concurrency,
          parallelSeconds / slices,
        )
        parallel[kind].done += done
        parallel[kind].seconds += taken
      }
    }
    return {
      concurrency,
      ...Object.fromEntries(
        KINDS.map((kind) => [
          kind,
          {
            hashMs: summarize(samples[kind].hash),
            verifyMs: summarize(samples[kind].verify),
            parallelOps: parallel[kind].done / parallel[kind].seconds,
          },
        ]),
      ),
    }
  },
})
