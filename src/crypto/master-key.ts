import { randomBytes } from 'node:crypto'
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseMasterKey } from '../config.js'

export interface MasterKeySource {
  key: Buffer
  origin: 'config' | 'file' | 'generated'
  path?: string
}

/**
 * The master key comes from MASTER_KEY, or from DATA_DIR/master.key, which is created with
 * owner-only permissions on first start so that the embedded default needs no set-up.
 */
export function loadMasterKey(configured: Buffer | undefined, dataDir: string): MasterKeySource {
  if (configured !== undefined) return { key: configured, origin: 'config' }
  const path = join(dataDir, 'master.key')
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  try {
    const key = randomBytes(32)
    writeFileSync(path, `${key.toString('hex')}\n`, { flag: 'wx', mode: 0o600 })
    chmodSync(path, 0o600)
    return { key, origin: 'generated', path }
  } catch (error) {
    if (!(error instanceof Error && 'code' in error && error.code === 'EEXIST')) throw error
  }
  const mode = statSync(path).mode & 0o777
  if ((mode & 0o077) !== 0) {
    throw new Error(
      `${path} is readable by other users (mode ${mode.toString(8)}): run chmod 600 ${path}.`,
    )
  }
  const key = parseMasterKey(readFileSync(path, 'utf8'))
  if (key === undefined)
    throw new Error(`${path} does not hold a valid master key (64 hex characters).`)
  return { key, origin: 'file', path }
}
