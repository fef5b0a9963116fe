// Candor's benchmark suite: `npm run bench` (builds first). Prints a table and a verdict per bench.
// BENCH_DATABASE_URL=postgres://... also measures the dashboard on PostgreSQL (a throwaway
// database is created on that server and dropped). BENCH_STRICT=1 makes a missed target fail.
// `node bench/run.js status` (or any of http, password, crypto, signin, status) runs only those.
import { availableParallelism, cpus } from 'node:os'
import { performance } from 'node:perf_hooks'
import { runCryptoBench } from './crypto-bench.js'
import { runHttpBench } from './http-bench.js'
import { fmt, note, peakRssMiB, printTable, section, verdicts } from './lib.js'
import { runPasswordBench } from './password-bench.js'
import { runSignInBench } from './signin-bench.js'
import { runStatusPageBench } from './status-page-bench.js'

const started = performance.now()
const postgresUrl = process.env.BENCH_DATABASE_URL || undefined
const strict = process.env.BENCH_STRICT === '1'
const peaks = []
let argonVerifyMs
const BENCHES = ['http', 'password', 'crypto', 'signin', 'status']
const only = process.argv.slice(2)
for (const name of only)
  if (!BENCHES.includes(name))
    throw new Error(`unknown bench ${name}: one of ${BENCHES.join(', ')}`)
const wanted = (name) => only.length === 0 || only.includes(name)

console.log(
  `Candor benchmarks - node ${process.version}, ${String(availableParallelism())} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), ${new Date().toISOString()}`,
)
console.log(
  'Every ratio is Candor / a reference measured on this machine in this run; compare ratios, not raw numbers, across machines.',
)

if (wanted('http')) await section('1. HTTP server', () => runHttpBench({ postgresUrl, peaks }))
if (wanted('password'))
  await section('2. Password hashing', async () => {
    ;({ argonVerifyMs } = await runPasswordBench())
  })
if (wanted('crypto')) await section('3. Field encryption', () => runCryptoBench())
if (wanted('signin'))
  await section('4. Sign-in end to end', () => runSignInBench({ peaks, argonVerifyMs }))
if (wanted('status'))
  await section('5. Status page under load', () => runStatusPageBench({ postgresUrl, peaks }))

console.log('\n=== Summary ===')
printTable(
  'Peak RSS (resident memory high-water mark) per process',
  ['process', 'peak RSS MiB'],
  [
    ...peaks.map((peak) => [peak.label, fmt(peak.peakRssMiB, 1)]),
    ['bench runner (this process, incl. load generator)', fmt(peakRssMiB(), 1)],
  ],
)
console.log('')
for (const { bench, status, text } of verdicts)
  console.log(`${status.padEnd(4)}  ${bench}: ${text.split('\n')[0]}`)
const failed = verdicts.some((v) => v.status === 'FAIL')
const missed = verdicts.some((v) => v.status === 'MISS')
note(`finished in ${((performance.now() - started) / 1000).toFixed(1)} s`)
if (failed || (strict && missed)) process.exitCode = 1
