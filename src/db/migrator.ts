import { Logger as QueueLogger, runMigrations as runQueueMigrations } from 'graphile-worker'
import { sql } from 'kysely'
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

/**
 * Kysely locks and wraps migrations in a transaction on PostgreSQL only. On SQLite one IMMEDIATE
 * transaction around the run does both: another process (web and worker starting together) waits
 * for the write lock and then finds nothing to do, and a failed migration leaves no half-applied
 * schema behind. (A migration that rebuilds a table therefore uses PRAGMA defer_foreign_keys:
 * foreign_keys = OFF does nothing inside a transaction.)
 */
async function exclusively<T>(database: Database, run: () => Promise<T>): Promise<T> {
  if (database.dialect !== 'sqlite') return run()
  await sql`BEGIN IMMEDIATE`.execute(database.db)
  try {
    const result = await run()
    await sql`COMMIT`.execute(database.db)
    return result
  } catch (error) {
    // SQLite may already have rolled back on its own; the migration's error is the one to report.
    await sql`ROLLBACK`.execute(database.db).catch(() => undefined)
    throw error
  }
}

const silentQueueLogger = new QueueLogger(() => () => undefined)

export async function migrateToLatest(database: Database): Promise<string[]> {
  const applied = await exclusively(database, async () =>
    unwrap(await createMigrator(database).migrateToLatest()),
  )
  // The job queue on PostgreSQL is graphile-worker, which keeps its own schema up to date.
  if (database.postgres !== undefined)
    await runQueueMigrations({ pgPool: database.postgres.pool, logger: silentQueueLogger })

  return applied
}

export async function migrateDown(database: Database, steps: number): Promise<string[]> {
  const migrator = createMigrator(database)
  return exclusively(database, async () => {
    const reverted: string[] = []
    for (let i = 0; i < steps; i++) {
      const done = unwrap(await migrator.migrateDown())
      if (done.length === 0) break
      reverted.push(...done)
    }
    return reverted
  })
}

export async function migrationStatus(database: Database): Promise<MigrationStatus[]> {
  const all = await createMigrator(database).getMigrations()
  return all.map((m) => ({ name: m.name, executedAt: m.executedAt?.toISOString() }))
}

export async function hasPendingMigrations(database: Database): Promise<boolean> {
  return (await migrationStatus(database)).some((m) => m.executedAt === undefined)
}
