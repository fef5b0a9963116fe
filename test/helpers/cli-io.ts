import type { CliIo } from '../../src/cli/index.js'

export interface FakeIo extends CliIo {
  /** Everything written to stdout so far. */
  out(): string
  /** Everything written to stderr so far. */
  err(): string
  /** How many times the command read standard input. */
  stdinReads(): number
}

/** Drives runCli() in-process: output is collected, standard input is a fixed string. */
export function createFakeIo(env: Record<string, string | undefined>, stdin = ''): FakeIo {
  const stdout: string[] = []
  const stderr: string[] = []
  let reads = 0
  return {
    env,
    stdout: (text) => stdout.push(text),
    stderr: (text) => stderr.push(text),
    readStdin: () => {
      reads++
      return Promise.resolve(stdin)
    },
    out: () => stdout.join(''),
    err: () => stderr.join(''),
    stdinReads: () => reads,
  }
}
