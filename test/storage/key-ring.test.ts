import { randomBytes } from 'node:crypto'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  CiphertextError,
  createKeyRing,
  generateDataKey,
  unwrapDataKey,
  wrapDataKey,
  WrongMasterKeyError,
  type KeyRing,
} from '../../src/crypto/key-ring.js'
import { migrateToLatest } from '../../src/db/migrator.js'
import { openKeyRing } from '../../src/db/key-ring-store.js'
import type { Database } from '../../src/db/database.js'
import { createInstallation, type Installation } from '../helpers/installation.js'
import { testDialects } from '../helpers/test-db.js'

const CONTEXT = 'users.email'

function ringWith(...ids: number[]): { ring: KeyRing; masterKey: Buffer } {
  const masterKey = randomBytes(32)
  return {
    masterKey,
    ring: createKeyRing(
      masterKey,
      ids.map((id) => ({ id, key: generateDataKey() })),
    ),
  }
}

/** Flips one bit in the middle of sealed bytes (never in base64 padding bits). */
function flipBit(body: string): string {
  const raw = Buffer.from(body, 'base64url')
  raw[Math.floor(raw.length / 2)]! ^= 0x01
  return raw.toString('base64url')
}

function tamper(ciphertext: string): string {
  const [version, keyId, body] = ciphertext.split('.')
  return `${version!}.${keyId!}.${flipBit(body!)}`
}

describe('field encryption', () => {
  const { ring } = ringWith(1)

  it('writes v1.<keyId>.<base64url> naming the data key', () => {
    const ciphertext = ring.encrypt('ada@example.com', CONTEXT)
    expect(ciphertext).toMatch(/^v1\.1\.[A-Za-z0-9_-]+$/)
    expect(ciphertext).not.toContain('ada@example.com')
    // 12-byte IV + plaintext + 16-byte tag.
    const body = Buffer.from(ciphertext.split('.')[2]!, 'base64url')
    expect(body.length).toBe(12 + 'ada@example.com'.length + 16)
  })

  it.each([
    ['ascii', 'ada@example.com'],
    ['unicode', 'Zoë Ørsted-Łukasiewicz 日本語 🚀'],
    ['empty', ''],
    ['dots and separators', 'v1.2.abc.def'],
  ])('round-trips %s text', (_kind, text) => {
    expect(ring.decrypt(ring.encrypt(text, CONTEXT), CONTEXT)).toBe(text)
  })

  it('gives a different ciphertext for the same plaintext each time', () => {
    const first = ring.encrypt('same', CONTEXT)
    const second = ring.encrypt('same', CONTEXT)
    expect(first).not.toBe(second)
    expect(ring.decrypt(first, CONTEXT)).toBe('same')
    expect(ring.decrypt(second, CONTEXT)).toBe('same')
  })

  it('refuses a ciphertext read in another context (bound as associated data)', () => {
    const ciphertext = ring.encrypt('Ada', 'users.name')
    expect(() => ring.decrypt(ciphertext, 'users.email')).toThrow(CiphertextError)
    expect(() => ring.decrypt(ciphertext, 'users.email')).toThrow(/authentication failed/)
  })

  it('refuses a tampered ciphertext', () => {
    const ciphertext = ring.encrypt('ada@example.com', CONTEXT)
    expect(() => ring.decrypt(tamper(ciphertext), CONTEXT)).toThrow(/authentication failed/)
  })

  it('refuses a ciphertext made with another data key under the same id', () => {
    const other = ringWith(1).ring
    expect(() => ring.decrypt(other.encrypt('x', CONTEXT), CONTEXT)).toThrow(CiphertextError)
  })

  it('names an unknown data key', () => {
    const [, , body] = ring.encrypt('ada@example.com', CONTEXT).split('.')
    expect(() => ring.decrypt(`v1.7.${body!}`, CONTEXT)).toThrow(CiphertextError)
    expect(() => ring.decrypt(`v1.7.${body!}`, CONTEXT)).toThrow(
      'Encrypted field cannot be decrypted: data key 7 is not in the key ring',
    )
  })

  it.each([
    ['plaintext', 'ada@example.com'],
    ['an unknown version', 'v2.1.AAAA'],
    ['a missing body', 'v1.1'],
    ['extra parts', 'v1.1.AAAA.BBBB'],
  ])('refuses %s as an unknown format', (_kind, text) => {
    expect(() => ring.decrypt(text, CONTEXT)).toThrow(/unknown format/)
  })

  it('refuses a body too short to hold an IV and a tag', () => {
    expect(() => ring.decrypt('v1.1.AAAA', CONTEXT)).toThrow(CiphertextError)
  })

  it('needs at least one data key', () => {
    expect(() => createKeyRing(randomBytes(32), [])).toThrow(/at least one data key/)
  })
})

describe('data key rotation', () => {
  it('encrypts with the newest data key and still decrypts the older ones', () => {
    const masterKey = randomBytes(32)
    const first = { id: 1, key: generateDataKey() }
    const second = { id: 2, key: generateDataKey() }
    const before = createKeyRing(masterKey, [first])
    const old = before.encrypt('written before rotation', CONTEXT)

    const after = createKeyRing(masterKey, [second, first])
    expect(after.activeKeyId).toBe(2)
    const fresh = after.encrypt('written after rotation', CONTEXT)
    expect(fresh.startsWith('v1.2.')).toBe(true)
    expect(after.decrypt(old, CONTEXT)).toBe('written before rotation')
    expect(after.decrypt(fresh, CONTEXT)).toBe('written after rotation')
    // The old ring has never seen key 2.
    expect(() => before.decrypt(fresh, CONTEXT)).toThrow(/data key 2 is not in the key ring/)
  })

  it('keeps blind indexes and the cookie secret stable across data keys', () => {
    const masterKey = randomBytes(32)
    const one = createKeyRing(masterKey, [{ id: 1, key: generateDataKey() }])
    const two = createKeyRing(masterKey, [
      { id: 1, key: generateDataKey() },
      { id: 2, key: generateDataKey() },
    ])
    expect(two.blindIndex('ada@example.com', CONTEXT)).toBe(
      one.blindIndex('ada@example.com', CONTEXT),
    )
    expect(two.cookieSecret.equals(one.cookieSecret)).toBe(true)
  })
})

describe('blind index', () => {
  const masterKey = randomBytes(32)
  const ring = createKeyRing(masterKey, [{ id: 1, key: generateDataKey() }])

  it('is deterministic for a value and context, and hides the value', () => {
    const index = ring.blindIndex('ada@example.com', CONTEXT)
    expect(ring.blindIndex('ada@example.com', CONTEXT)).toBe(index)
    expect(index).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(index).not.toContain('ada')
    expect(ring.blindIndex('bob@example.com', CONTEXT)).not.toBe(index)
  })

  it('differs across contexts', () => {
    expect(ring.blindIndex('ada@example.com', 'users.email')).not.toBe(
      ring.blindIndex('ada@example.com', 'mail.recipient'),
    )
  })

  it('differs across master keys, even with the same data keys', () => {
    const dataKeys = [{ id: 1, key: generateDataKey() }]
    const a = createKeyRing(randomBytes(32), dataKeys)
    const b = createKeyRing(randomBytes(32), dataKeys)
    expect(a.blindIndex('ada@example.com', CONTEXT)).not.toBe(
      b.blindIndex('ada@example.com', CONTEXT),
    )
    expect(a.cookieSecret.equals(b.cookieSecret)).toBe(false)
  })
})

describe('data key wrapping', () => {
  const masterKey = randomBytes(32)
  const dataKey = generateDataKey()

  it('unwraps with the master key it was wrapped with', () => {
    const wrapped = wrapDataKey(masterKey, 1, dataKey)
    expect(wrapped).not.toContain(dataKey.toString('hex'))
    expect(wrapped).not.toContain(dataKey.toString('base64url'))
    expect(unwrapDataKey(masterKey, 1, wrapped).equals(dataKey)).toBe(true)
  })

  it('throws WrongMasterKeyError for another master key', () => {
    const wrapped = wrapDataKey(masterKey, 1, dataKey)
    expect(() => unwrapDataKey(randomBytes(32), 1, wrapped)).toThrow(WrongMasterKeyError)
    expect(() => unwrapDataKey(randomBytes(32), 1, wrapped)).toThrow(/original MASTER_KEY/)
  })

  it('binds the wrapped key to its id', () => {
    const wrapped = wrapDataKey(masterKey, 1, dataKey)
    expect(() => unwrapDataKey(masterKey, 2, wrapped)).toThrow(WrongMasterKeyError)
  })

  it('throws WrongMasterKeyError for a damaged wrapped key', () => {
    expect(() => unwrapDataKey(masterKey, 1, 'AAAA')).toThrow(WrongMasterKeyError)
    const damaged = flipBit(wrapDataKey(masterKey, 1, dataKey))
    expect(() => unwrapDataKey(masterKey, 1, damaged)).toThrow(WrongMasterKeyError)
  })
})

describe.each(testDialects)('stored key ring (%s)', (dialect) => {
  let install: Installation
  const open: Database[] = []
  beforeEach(async () => {
    install = await createInstallation(dialect)
    const database = install.openDatabase()
    open.push(database)
    await migrateToLatest(database)
  })
  afterEach(async () => {
    for (const database of open.splice(0)) await database.close()
    await install.remove()
  })

  function connect(masterKey?: Buffer): Database {
    const database = install.openDatabase(masterKey)
    open.push(database)
    return database
  }

  it('creates one wrapped data key on first open and reuses it afterwards', async () => {
    const database = open[0]!
    const first = await openKeyRing(database, install.masterKey)
    const ciphertext = first.encrypt('ada@example.com', CONTEXT)
    const second = await openKeyRing(database, install.masterKey)
    expect(second.activeKeyId).toBe(1)
    expect(second.decrypt(ciphertext, CONTEXT)).toBe('ada@example.com')
    const rows = await database.db.selectFrom('data_keys').selectAll().execute()
    expect(rows).toHaveLength(1)
    expect(rows[0]!.wrapped_key).not.toBe('')
  })

  it('agrees on one data key when several processes open it for the first time', async () => {
    const rings = await Promise.all([
      openKeyRing(connect(), install.masterKey),
      openKeyRing(connect(), install.masterKey),
      openKeyRing(connect(), install.masterKey),
    ])
    const ciphertext = rings[0].encrypt('ada@example.com', CONTEXT)
    for (const ring of rings) expect(ring.decrypt(ciphertext, CONTEXT)).toBe('ada@example.com')
    const keys = await open[0]!.db.selectFrom('data_keys').select('id').execute()
    expect(keys).toEqual([{ id: 1 }])
  })

  it('refuses another master key with WrongMasterKeyError', async () => {
    await openKeyRing(open[0]!, install.masterKey)
    await expect(openKeyRing(connect(), randomBytes(32))).rejects.toThrow(WrongMasterKeyError)
    // Nothing was added or replaced: the right key still opens it.
    const ring = await openKeyRing(connect(), install.masterKey)
    expect(ring.activeKeyId).toBe(1)
  })
})
