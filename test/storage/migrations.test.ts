import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Database } from '../../src/db/database.js'
import {
  hasPendingMigrations,
  migrateDown,
  migrateToLatest,
  migrationStatus,
} from '../../src/db/migrator.js'
import { migrations } from '../../src/db/migrations/index.js'
import { createLogger } from '../../src/logger.js'
import { openRuntime } from '../../src/runtime.js'
import { loadConfig } from '../../src/config.js'
import { buildTestApp } from '../helpers/build-app.js'
import { DEFAULT_PASSWORD } from '../helpers/factories.js'
import { createInstallation, type Installation } from '../helpers/installation.js'
import { runTsProcess } from '../helpers/processes.js'
import { testDialects } from '../helpers/test-db.js'

const ALL_MIGRATIONS = Object.keys(migrations)
const MIGRATION_TABLES = ['schema_migrations', 'schema_migrations_lock']
const APPLICATION_TABLES = [
  'accounts',
  'alert_endpoints',
  'alert_states',
  'api_keys',
  'audit_chain_heads',
  'audit_entries',
  'auth_flows',
  'auth_throttles',
  'auth_tokens',
  'component_status_changes',
  'components',
  'consent_texts',
  'data_keys',
  'deliveries',
  'http_checks',
  'idempotency_keys',
  'incident_components',
  'incident_drafts',
  'incident_templates',
  'incident_update_revisions',
  'incident_updates',
  'incidents',
  'invitations',
  'mail_messages',
  'member_notification_optouts',
  'membership_pages',
  'memberships',
  'meta',
  'notification_events',
  'page_logos',
  'pages',
  'recovery_codes',
  'sessions',
  'sso_connections',
  'sso_identities',
  'sso_replay_cache',
  'subscriber_components',
  'subscribers',
  'users',
  'webauthn_credentials',
]
/** The embedded job queue's table; PostgreSQL's queue (graphile-worker) keeps its own schema. */
const SQLITE_ONLY_TABLES = ['jobs']

function expectedTables(dialect: string): string[] {
  return [...APPLICATION_TABLES, ...(dialect === 'sqlite' ? SQLITE_ONLY_TABLES : [])].sort()
}

async function applicationTables(database: Database): Promise<string[]> {
  const tables = await database.db.introspection.getTables()
  return tables
    .filter((table) => table.schema === undefined || table.schema === 'public')
    .map((table) => table.name)
    .filter((name) => !MIGRATION_TABLES.includes(name))
    .sort()
}

describe.each(testDialects)('migrations (%s)', (dialect) => {
  let install: Installation
  const open: Database[] = []
  beforeEach(async () => {
    install = await createInstallation(dialect)
  })
  afterEach(async () => {
    for (const database of open.splice(0)) await database.close()
    await install.remove()
  })

  function connect(): Database {
    const database = install.openDatabase()
    open.push(database)
    return database
  }

  it('lists every migration as pending on a fresh database', async () => {
    const database = connect()
    expect(ALL_MIGRATIONS.length).toBeGreaterThan(0)
    const status = await migrationStatus(database)
    expect(status).toEqual(ALL_MIGRATIONS.map((name) => ({ name, executedAt: undefined })))
    expect(await hasPendingMigrations(database)).toBe(true)
    expect(await applicationTables(database)).toEqual([])
  })

  it('applies every migration once, and reports them as applied', async () => {
    const database = connect()
    expect(await migrateToLatest(database)).toEqual(ALL_MIGRATIONS)
    expect(await migrateToLatest(database)).toEqual([])
    const status = await migrationStatus(database)
    expect(status.map((m) => m.name)).toEqual(ALL_MIGRATIONS)
    for (const migration of status) {
      expect(migration.executedAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
    }
    expect(await hasPendingMigrations(database)).toBe(false)
    expect(await applicationTables(database)).toEqual(expectedTables(dialect))
  })

  it('reverts everything, then applies again to a working application', async () => {
    const database = connect()
    await migrateToLatest(database)
    const reverted = await migrateDown(database, 1000)
    expect(reverted).toEqual([...ALL_MIGRATIONS].reverse())
    expect(await applicationTables(database)).toEqual([])
    expect(await hasPendingMigrations(database)).toBe(true)
    expect(await migrateDown(database, 1)).toEqual([])

    expect(await migrateToLatest(database)).toEqual(ALL_MIGRATIONS)
    expect(await applicationTables(database)).toEqual(expectedTables(dialect))
    await database.close()
    open.splice(open.indexOf(database), 1)

    const t = await buildTestApp(dialect, { reuse: install.reuse })
    try {
      const { user } = await t.runtime.services.auth.createOwnerAccount({
        accountName: 'After Migrations',
        name: 'Owner',
        email: 'owner@example.com',
        password: DEFAULT_PASSWORD,
      })
      const signedIn = await t.runtime.services.auth.login(
        { email: 'owner@example.com', password: DEFAULT_PASSWORD },
        { ip: '192.0.2.1', userAgent: 'vitest' },
      )
      expect(signedIn.user.id).toBe(user.id)
    } finally {
      await t.close()
    }
  })

  it('reverts only as many migrations as asked', async () => {
    const database = connect()
    await migrateToLatest(database)
    expect(await migrateDown(database, 1)).toEqual([ALL_MIGRATIONS.at(-1)])
    const status = await migrationStatus(database)
    expect(status.at(-1)?.executedAt).toBeUndefined()
    expect(status.slice(0, -1).every((m) => m.executedAt !== undefined)).toBe(true)
  })

  it('refuses to start on a schema that is behind when migrating on start is off', async () => {
    const config = loadConfig({ ...install.env, MIGRATE_ON_START: 'false' })
    await expect(openRuntime(config, createLogger('silent'), { migrate: false })).rejects.toThrow(
      'The database schema is behind this version of Candor: run `candor migrate up` first.',
    )
    expect(await applicationTables(connect())).toEqual([])
  })
})

describe.each(testDialects.filter((dialect) => dialect === 'postgres'))(
  'concurrent migrations (%s)',
  (dialect) => {
    let install: Installation
    beforeEach(async () => {
      install = await createInstallation(dialect)
    })
    afterEach(async () => {
      await install.remove()
    })

    it('applies each migration once when several instances start together', async () => {
      const databases = [install.openDatabase(), install.openDatabase(), install.openDatabase()]
      try {
        const results = await Promise.allSettled(databases.map((d) => migrateToLatest(d)))
        expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled'])
        const applied = results.flatMap((r) => (r.status === 'fulfilled' ? r.value : []))
        expect(applied).toEqual(ALL_MIGRATIONS)
        const rows = await databases[0]!.db
          .selectFrom('schema_migrations' as 'meta')
          .selectAll()
          .execute()
        expect(rows).toHaveLength(ALL_MIGRATIONS.length)
        expect(await applicationTables(databases[0]!)).toEqual(expectedTables(dialect))
      } finally {
        for (const database of databases) await database.close()
      }
    })
  },
)

describe.each(testDialects)('first start of several processes at once (%s)', (dialect) => {
  let install: Installation
  beforeEach(async () => {
    install = await createInstallation(dialect)
  })
  afterEach(async () => {
    await install.remove()
  })

  it('creates the database once and applies each migration once', async () => {
    // Web and worker processes started together on a new installation.
    const args = [install.dataDir, install.masterKeyHex, install.databaseUrl ?? '']
    const results = await Promise.all(
      [1, 2, 3, 4].map(() => runTsProcess('./migrate-process.ts', args)),
    )
    for (const result of results) expect(result).toMatchObject({ code: 0, stderr: '' })
    const applied = results.flatMap((result) => JSON.parse(result.stdout) as string[])
    expect(applied).toEqual(ALL_MIGRATIONS)

    const database = install.openDatabase()
    try {
      expect(await hasPendingMigrations(database)).toBe(false)
      expect(await applicationTables(database)).toEqual(expectedTables(dialect))
    } finally {
      await database.close()
    }
  })
})
