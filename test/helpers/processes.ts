import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const HOOKS = fileURLToPath(new URL('./ts-source-hooks.ts', import.meta.url))

export interface ProcessResult {
  code: number
  stdout: string
  stderr: string
}

/** Runs a TypeScript script from test/helpers in a new Node process, on the sources (no build). */
export function runTsProcess(script: string, args: string[]): Promise<ProcessResult> {
  const path = fileURLToPath(new URL(script, import.meta.url))
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--disable-warning=ExperimentalWarning', '--import', HOOKS, path, ...args],
      { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '' } },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1
        resolve({ code, stdout, stderr })
      },
    )
  })
}
