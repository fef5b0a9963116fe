import type { Kysely } from 'kysely'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Database } from '../../src/db/database.js'
import { migrateToLatest, migrationStatus } from '../../src/db/migrator.js'
import { createInstallation, type Installation } from '../helpers/installation.js'
import { testDialects } from '../helpers/test-db.js'

const { BROKEN } = vi.hoisted(() => ({ BROKEN: '29991231T0000-broken' }))

// The real migrations followed by one that creates a table and then fails half-way.
vi.mock('../../src/db/migrations/index.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/db/migrations/index.js')>()
  return {
    migrations: {
      ...original.migrations,
      [BROKEN]: {
        async up(db: Kysely<unknown>) {
          await db.schema.createTable('half_done').addColumn('id', 'integer').execute()
          throw new Error('the second statement failed')
        },
        async down(db: Kysely<unknown>) {
          await db.schema.dropTable('half_done').execute()
        },
      },
    },
  }
})

async function tableNames(database: Database): Promise<string[]> {
  return (await database.db.introspection.getTables()).map((table) => table.name)
}

describe.each(testDialects)('a failing migration (%s)', (dialect) => {
  let install: Installation
  let database: Database
  beforeEach(async () => {
    install = await createInstallation(dialect)
    database = install.openDatabase()
  })
  afterEach(async () => {
    await database.close()
    await install.remove()
  })

  it('names the migration, leaves nothing half-applied, and fails the same way again', async () => {
    await expect(migrateToLatest(database)).rejects.toThrow(
      `Migration ${BROKEN} failed: the second statement failed`,
    )
    // The whole run is one transaction: neither the broken migration nor the ones before it
    // left anything behind, so fixing the migration and running again just works.
    const tables = await tableNames(database)
    expect(tables).not.toContain('half_done')
    expect(tables).not.toContain('users')
    const status = await migrationStatus(database)
    expect(status.every((migration) => migration.executedAt === undefined)).toBe(true)

    await expect(migrateToLatest(database)).rejects.toThrow(
      `Migration ${BROKEN} failed: the second statement failed`,
    )
  })
})
