import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import SqliteDatabase from 'better-sqlite3-multiple-ciphers'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { WrongMasterKeyError } from '../../src/crypto/key-ring.js'
import { openSqliteFile } from '../../src/db/database.js'
import { findUserByEmail } from '../../src/domain/accounts/user-repository.js'
import { buildTestApp } from '../helpers/build-app.js'
import { DEFAULT_PASSWORD } from '../helpers/factories.js'
import { createInstallation, type Installation } from '../helpers/installation.js'
import { testDialects } from '../helpers/test-db.js'

const ORIGIN = { ip: '192.0.2.10', userAgent: 'vitest' }

function distinctive() {
  const tag = randomBytes(4).toString('hex')
  return {
    email: `zelda.quartermaine.${tag}@plaintext-canary.example`,
    name: `Zelda Quartermaine ${tag}`,
    accountName: `Canary Account ${tag}`,
  }
}

function fileContains(path: string, needle: string): boolean {
  const bytes = readFileSync(path)
  return (
    bytes.includes(Buffer.from(needle, 'utf8')) || bytes.includes(Buffer.from(needle, 'utf16le'))
  )
}

describe('SQLite file encryption', () => {
  let install: Installation
  beforeEach(async () => {
    install = await createInstallation('sqlite')
  })
  afterEach(async () => {
    await install.remove()
  })

  it('keeps neither the data nor the SQLite header readable, in the file or in the WAL', async () => {
    const who = distinctive()
    const t = await buildTestApp('sqlite', { reuse: install.reuse })
    const file = join(install.dataDir, 'candor.db')
    const wal = `${file}-wal`
    try {
      await t.runtime.services.auth.createOwnerAccount({ ...who, password: DEFAULT_PASSWORD })
      // While the database is open, recent writes live in the write-ahead log.
      expect(statSync(wal).size).toBeGreaterThan(0)
      for (const path of [file, wal]) {
        expect(fileContains(path, who.email)).toBe(false)
        expect(fileContains(path, who.name)).toBe(false)
        expect(fileContains(path, who.accountName)).toBe(false)
        expect(fileContains(path, 'SQLite format 3')).toBe(false)
        // Table names are in sqlite_master: encrypted pages hide them too.
        expect(fileContains(path, 'email_ciphertext')).toBe(false)
      }
    } finally {
      await t.close()
    }
    // Closing checkpoints the log into the main file.
    expect(existsSync(wal)).toBe(false)
    expect(fileContains(file, who.email)).toBe(false)
    expect(fileContains(file, who.accountName)).toBe(false)
    expect(fileContains(file, 'SQLite format 3')).toBe(false)
    expect(statSync(file).size).toBeGreaterThan(4096)
  })

  it('cannot be read without the key, nor with another master key', async () => {
    const who = distinctive()
    const first = await buildTestApp('sqlite', { reuse: install.reuse })
    await first.runtime.services.auth.createOwnerAccount({ ...who, password: DEFAULT_PASSWORD })
    await first.close()
    const file = join(install.dataDir, 'candor.db')

    const plain = new SqliteDatabase(file)
    try {
      expect(() => plain.prepare('SELECT name FROM sqlite_master').all()).toThrow(/not a database/)
    } finally {
      plain.close()
    }

    expect(() => openSqliteFile(file, randomBytes(32))).toThrow(WrongMasterKeyError)
    await expect(
      buildTestApp('sqlite', {
        reuse: { ...install.reuse, masterKey: randomBytes(32).toString('hex') },
      }),
    ).rejects.toThrow(WrongMasterKeyError)

    // The failed attempts changed nothing: the right key opens the same installation.
    const again = await buildTestApp('sqlite', { reuse: install.reuse })
    try {
      const { db } = again.runtime.database
      const user = await findUserByEmail(db, again.runtime.keyRing, `  ${who.email.toUpperCase()} `)
      expect(user?.name).toBe(who.name)
      const signedIn = await again.runtime.services.auth.login(
        { email: who.email, password: DEFAULT_PASSWORD },
        ORIGIN,
      )
      expect(signedIn.user.id).toBe(user?.id)
    } finally {
      await again.close()
    }
  })

  it('creates a new file encrypted from its first page, leaving no draft behind', () => {
    const file = join(install.dataDir, 'fresh.db')
    const handle = openSqliteFile(file, install.masterKey)
    handle.exec('CREATE TABLE canary (secret TEXT)')
    handle.prepare('INSERT INTO canary VALUES (?)').run('plaintext-canary')
    handle.close()
    expect(readdirSync(install.dataDir)).toEqual(['fresh.db'])
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(fileContains(file, 'SQLite format 3')).toBe(false)
    expect(fileContains(file, 'plaintext-canary')).toBe(false)
    expect(() => openSqliteFile(file, randomBytes(32))).toThrow(WrongMasterKeyError)
    const again = openSqliteFile(file, install.masterKey)
    try {
      expect(again.prepare('SELECT secret FROM canary').pluck().get()).toBe('plaintext-canary')
    } finally {
      again.close()
    }
  })

  it('opens with the right key through openSqliteFile', async () => {
    const first = await buildTestApp('sqlite', { reuse: install.reuse })
    await first.close()
    const handle = openSqliteFile(join(install.dataDir, 'candor.db'), install.masterKey)
    try {
      const tables = handle
        .prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
        .all() as { name: string }[]
      expect(tables.map((t) => t.name)).toContain('users')
      expect(handle.pragma('journal_mode', { simple: true })).toBe('wal')
      expect(handle.pragma('foreign_keys', { simple: true })).toBe(1)
    } finally {
      handle.close()
    }
  })
})

describe.each(testDialects)('field encryption at rest (%s)', (dialect) => {
  let install: Installation
  beforeEach(async () => {
    install = await createInstallation(dialect)
  })
  afterEach(async () => {
    await install.remove()
  })

  it('stores email and name only as ciphertext, and finds the user by blind index', async () => {
    const who = distinctive()
    const t = await buildTestApp(dialect, { reuse: install.reuse })
    try {
      const { user } = await t.runtime.services.auth.createOwnerAccount({
        ...who,
        email: `  ${who.email.toUpperCase()}  `,
        password: DEFAULT_PASSWORD,
      })
      const row = await t.runtime.database.db
        .selectFrom('users')
        .selectAll()
        .where('id', '=', user.id)
        .executeTakeFirstOrThrow()
      expect(row.email_ciphertext.startsWith(`v1.${String(t.runtime.keyRing.activeKeyId)}.`)).toBe(
        true,
      )
      expect(row.name_ciphertext.startsWith('v1.')).toBe(true)
      for (const value of [row.email_ciphertext, row.name_ciphertext, row.email_index]) {
        expect(value.toLowerCase()).not.toContain(who.email)
        expect(value.toLowerCase()).not.toContain('zelda')
        expect(value.toLowerCase()).not.toContain('plaintext-canary')
      }
      expect(row.email_index).not.toBe(who.email)
      expect(row.email_index).toMatch(/^[A-Za-z0-9_-]{43}$/)
      expect(row.password_hash).toMatch(/^\$argon2id\$/)
      // The stored email is the normalised one.
      expect(t.runtime.keyRing.decrypt(row.email_ciphertext, 'users.email')).toBe(who.email)
      expect(t.runtime.keyRing.decrypt(row.name_ciphertext, 'users.name')).toBe(who.name)
      const found = await findUserByEmail(t.runtime.database.db, t.runtime.keyRing, who.email)
      expect(found?.id).toBe(user.id)
      const wrapped = await t.runtime.database.db.selectFrom('data_keys').selectAll().execute()
      expect(wrapped).toHaveLength(1)
      expect(wrapped[0]!.wrapped_key).not.toContain(install.masterKeyHex)
    } finally {
      await t.close()
    }
  })

  it('refuses to start again with a different master key, and starts with the right one', async () => {
    const who = distinctive()
    const first = await buildTestApp(dialect, { reuse: install.reuse })
    await first.runtime.services.auth.createOwnerAccount({ ...who, password: DEFAULT_PASSWORD })
    await first.close()

    const wrongKey = randomBytes(32).toString('hex')
    await expect(
      buildTestApp(dialect, { reuse: { ...install.reuse, masterKey: wrongKey } }),
    ).rejects.toThrow(WrongMasterKeyError)

    const again = await buildTestApp(dialect, { reuse: install.reuse })
    try {
      const signedIn = await again.runtime.services.auth.login(
        { email: who.email, password: DEFAULT_PASSWORD },
        ORIGIN,
      )
      expect(signedIn.user.name).toBe(who.name)
    } finally {
      await again.close()
    }
  })
})
