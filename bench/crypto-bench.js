// Bench 3: field encryption (AES-256-GCM) and blind indexes (HMAC-SHA-256) of the key ring,
// against plain SHA-256 of the same strings.
import { createHash, randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { createKeyRing } from '../dist/crypto/key-ring.js'
import { fmt, fmtRatio, note, printTable, ratio, summarize, verdict } from './lib.js'

const WARMUP_SECONDS = 0.25
const SECONDS = 1
const BATCH = 200
const CONTEXT = 'users.email'

/**
 * Regression tripwires as a share of SHA-256's ops/s in the same run, about half of the lowest
 * the foundation measured; see bench/README.md.
 */
const TARGETS = { roundTrip: 0.01, blindIndex: 0.04 }

/** Values shaped like what Candor encrypts today: emails and names, 10 to 70 characters. */
function sampleValues(count) {
  return Array.from({ length: count }, (_, i) =>
    i % 2 === 0
      ? `person.${String(i)}@${randomBytes(1 + (i % 12)).toString('hex')}.example.com`
      : `Given${String(i)} ${'Family-Name'.repeat(1 + (i % 5))}`,
  )
}

/**
 * Runs the operations in turn, one batch each, for `SECONDS` per operation in all, so that
 * background load on the machine hits all of them alike. Per-operation microseconds come from
 * each batch's time; ops/s from the time spent in that operation only.
 */
function measureInterleaved(values, operations) {
  let sink = 0
  const state = operations.map(() => ({ cursor: 0, micros: [], ms: 0, ops: 0 }))
  const runBatch = (index) => {
    const operation = operations[index]
    const own = state[index]
    const started = performance.now()
    for (let i = 0; i < BATCH; i++) {
      sink += operation(values[own.cursor]).length
      own.cursor = (own.cursor + 1) % values.length
    }
    return performance.now() - started
  }
  const warmEnd = performance.now() + WARMUP_SECONDS * 1000
  while (performance.now() < warmEnd) operations.forEach((_, index) => runBatch(index))
  const end = performance.now() + SECONDS * operations.length * 1000
  while (performance.now() < end) {
    operations.forEach((_, index) => {
      const ms = runBatch(index)
      const own = state[index]
      own.ms += ms
      own.ops += BATCH
      own.micros.push((ms * 1000) / BATCH)
    })
  }
  if (sink === 0) throw new Error('nothing was computed')
  return state.map((own) => ({ opsPerSecond: own.ops / (own.ms / 1000), ...summarize(own.micros) }))
}

export function runCryptoBench() {
  const keyRing = createKeyRing(randomBytes(32), [{ id: 1, key: randomBytes(32) }])
  const values = sampleValues(1000)
  note(
    `${String(values.length)} distinct emails and names; the three operations take turns in batches of ${String(BATCH)} for ${String(SECONDS * 3)} s in all, after ${String(WARMUP_SECONDS)} s of warm-up`,
  )

  const [roundTrip, blindIndex, sha256] = measureInterleaved(values, [
    (value) => {
      const plain = keyRing.decrypt(keyRing.encrypt(value, CONTEXT), CONTEXT)
      if (plain !== value) throw new Error('decrypt(encrypt(x)) !== x')
      return plain
    },
    (value) => keyRing.blindIndex(value, CONTEXT),
    (value) => createHash('sha256').update(value).digest('base64url'),
  ])

  const row = (label, result, reference) => [
    label,
    fmt(result.opsPerSecond),
    fmt(result.mean),
    fmt(result.p50),
    fmt(result.p99),
    reference === undefined ? '-' : fmtRatio(ratio(result.opsPerSecond, reference.opsPerSecond)),
  ]
  printTable(
    'Field encryption: key ring vs SHA-256 of the same strings (ratio = ops/s / SHA-256 ops/s)',
    ['operation', 'ops/s', 'mean us', 'p50 us', 'p99 us', 'ratio'],
    [
      row('encrypt + decrypt (AES-256-GCM)', roundTrip, sha256),
      row('blindIndex (HMAC-SHA-256)', blindIndex, sha256),
      row('createHash sha256 [ref]', sha256),
    ],
  )
  const fieldsPerMs = roundTrip.opsPerSecond / 1000
  note(`a page that decrypts 50 fields spends ~${fmt(50 / fieldsPerMs, 2)} ms on it`)

  const roundTripShare = ratio(roundTrip.opsPerSecond, sha256.opsPerSecond)
  const blindShare = ratio(blindIndex.opsPerSecond, sha256.opsPerSecond)
  const misses = []
  if (roundTripShare < TARGETS.roundTrip)
    misses.push(`encrypt+decrypt ${fmtRatio(roundTripShare)} < ${fmtRatio(TARGETS.roundTrip)}`)
  if (blindShare < TARGETS.blindIndex)
    misses.push(`blindIndex ${fmtRatio(blindShare)} < ${fmtRatio(TARGETS.blindIndex)}`)
  if (misses.length > 0) verdict('Field encryption', 'MISS', misses.join('; '))
  else
    verdict(
      'Field encryption',
      'ok',
      `encrypt+decrypt at ${fmtRatio(roundTripShare)} and blindIndex at ${fmtRatio(blindShare)} of SHA-256's rate, above target`,
    )
}
