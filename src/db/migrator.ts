import { Migrator, type MigrationResultSet } from 'kysely/migration'
import type { Database } from './database.js'
import { migrations } from './migrations/index.js'

export interface MigrationStatus {
  name: string
  executedAt: string | undefined
}

function createMigrator(database: Database): Migrator {
  return new Migrator({
    db: database.db,
    provider: { getMigrations: () => Promise.resolve(migrations) },
    migrationTableName: 'schema_migrations',
    migrationLockTableName: 'schema_migrations_lock',
  })
}

function unwrap(result: MigrationResultSet): string[] {
  if (result.error !== undefined) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName
    const cause =
      result.error instanceof Error ? result.error.message : JSON.stringify(result.error)
    throw new Error(`Migration ${failed ?? ''} failed: ${cause}`, { cause: result.error })
  }
  return (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
}

export async function migrateToLatest(database: Database): Promise<string[]> {
  return unwrap(await createMigrator(database).migrateToLatest())
}

export async function migrateDown(database: Database, steps: number): Promise<string[]> {
  const migrator = createMigrator(database)
  const reverted: string[] = []
  for (let i = 0; i < steps; i++) {
    const done = unwrap(await migrator.migrateDown())
    if (done.length === 0) break
    reverted.push(...done)
  }
  return reverted
}

export async function migrationStatus(database: Database): Promise<MigrationStatus[]> {
  const all = await createMigrator(database).getMigrations()
  return all.map((m) => ({ name: m.name, executedAt: m.executedAt?.toISOString() }))
}

export async function hasPendingMigrations(database: Database): Promise<boolean> {
  return (await migrationStatus(database)).some((m) => m.executedAt === undefined)
}
