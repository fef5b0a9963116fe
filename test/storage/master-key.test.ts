import { randomBytes } from 'node:crypto'
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { loadMasterKey } from '../../src/crypto/master-key.js'

let root: string
let dataDir: string
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'candor-master-key-'))
  dataDir = join(root, 'data')
})
afterEach(() => {
  rmSync(root, { recursive: true, force: true })
})

describe('loadMasterKey', () => {
  it('prefers MASTER_KEY and then writes no file', () => {
    const configured = randomBytes(32)
    const source = loadMasterKey(configured, dataDir)
    expect(source).toEqual({ key: configured, origin: 'config' })
    expect(() => statSync(join(dataDir, 'master.key'))).toThrow(/ENOENT/)
  })

  it('generates DATA_DIR/master.key, owner-only, on first use', () => {
    const source = loadMasterKey(undefined, dataDir)
    const path = join(dataDir, 'master.key')
    expect(source.origin).toBe('generated')
    expect(source.path).toBe(path)
    expect(source.key).toHaveLength(32)
    expect(statSync(path).mode & 0o777).toBe(0o600)
    expect(statSync(dataDir).mode & 0o077).toBe(0)
    expect(readFileSync(path, 'utf8')).toBe(`${source.key.toString('hex')}\n`)
  })

  it('returns the same key from the file afterwards', () => {
    const generated = loadMasterKey(undefined, dataDir)
    const again = loadMasterKey(undefined, dataDir)
    expect(again.origin).toBe('file')
    expect(again.key.equals(generated.key)).toBe(true)
    expect(loadMasterKey(undefined, dataDir).key.equals(generated.key)).toBe(true)
  })

  it('accepts a key file written by an operator in base64', () => {
    const key = randomBytes(32)
    loadMasterKey(undefined, dataDir)
    const path = join(dataDir, 'master.key')
    writeFileSync(path, `${key.toString('base64')}\n`)
    expect(loadMasterKey(undefined, dataDir).key.equals(key)).toBe(true)
  })

  it.each([0o640, 0o644, 0o604, 0o660])(
    'refuses a key file with mode %o and says how to fix it',
    (mode) => {
      const generated = loadMasterKey(undefined, dataDir)
      const path = generated.path!
      chmodSync(path, mode)
      expect(() => loadMasterKey(undefined, dataDir)).toThrow(
        `${path} is readable by other users (mode ${mode.toString(8)}): run chmod 600 ${path}.`,
      )
      chmodSync(path, 0o600)
      expect(loadMasterKey(undefined, dataDir).key.equals(generated.key)).toBe(true)
    },
  )

  it.each([
    ['garbage', 'not a key\n'],
    ['an empty file', ''],
    ['a short key', `${randomBytes(16).toString('hex')}\n`],
  ])('refuses %s and keeps the file as it is', (_kind, content) => {
    loadMasterKey(undefined, dataDir)
    const path = join(dataDir, 'master.key')
    writeFileSync(path, content, { mode: 0o600 })
    expect(() => loadMasterKey(undefined, dataDir)).toThrow(
      `${path} does not hold a valid master key (64 hex characters).`,
    )
    expect(readFileSync(path, 'utf8')).toBe(content)
  })
})
