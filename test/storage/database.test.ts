import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'kysely'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createDatabase } from '../../src/db/database.js'
import { migrateToLatest } from '../../src/db/migrator.js'
import { countUsers } from '../../src/domain/accounts/user-repository.js'
import { createInstallation, type Installation } from '../helpers/installation.js'
import { testDialects } from '../helpers/test-db.js'

describe('database descriptions for logs', () => {
  it('name the PostgreSQL server and database without the credentials', async () => {
    const database = createDatabase({
      databaseUrl: 'postgres://candor:s3cret-password@db.internal:6543/candor_prod?sslmode=require',
      dataDir: '/nonexistent',
      masterKey: Buffer.alloc(32),
    })
    try {
      expect(database.dialect).toBe('postgres')
      expect(database.description).toBe('PostgreSQL at db.internal:6543/candor_prod')
    } finally {
      await database.close()
    }
  })

  it('name the default port when the URL has none', async () => {
    const database = createDatabase({
      databaseUrl: 'postgresql://candor@db.internal/candor',
      dataDir: '/nonexistent',
      masterKey: Buffer.alloc(32),
    })
    try {
      expect(database.description).toBe('PostgreSQL at db.internal:5432/candor')
    } finally {
      await database.close()
    }
  })
  it('name the embedded file', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'candor-db-'))
    const database = createDatabase({
      databaseUrl: undefined,
      dataDir,
      masterKey: Buffer.alloc(32),
    })
    try {
      expect(database.dialect).toBe('sqlite')
      expect(database.description).toBe(`SQLite (encrypted) at ${join(dataDir, 'candor.db')}`)
    } finally {
      await database.close()
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})

describe.each(testDialects)('database (%s)', (dialect) => {
  let install: Installation
  beforeEach(async () => {
    install = await createInstallation(dialect)
  })
  afterEach(async () => {
    await install.remove()
  })

  it('answers a ping', async () => {
    const database = install.openDatabase()
    try {
      expect(database.dialect).toBe(dialect)
      await expect(database.ping()).resolves.toBeUndefined()
    } finally {
      await database.close()
    }
  })

  it('returns counts as numbers, the same shape on both dialects', async () => {
    const database = install.openDatabase()
    try {
      await migrateToLatest(database)
      const count = await countUsers(database.db)
      expect(count).toBe(0)
      expect(typeof count).toBe('number')
      const big = await sql<{
        n: number
      }>`SELECT count(*) + 9007199254740000 AS n FROM users`.execute(database.db)
      expect(big.rows[0]?.n).toBe(9007199254740000)
    } finally {
      await database.close()
    }
  })
})
