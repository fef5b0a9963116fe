import type { Logger } from 'pino'
import type { Config } from './config.js'
import type { KeyRing } from './crypto/key-ring.js'
import { loadMasterKey, type MasterKeySource } from './crypto/master-key.js'
import { createDatabase, type Database } from './db/database.js'
import { openKeyRing } from './db/key-ring-store.js'
import { createPageChangeFeed, type PageChangeFeed } from './db/page-change-feed.js'
import { hasPendingMigrations, migrateToLatest } from './db/migrator.js'
import { systemClock, type Clock } from './domain/clock.js'
import { createBackgroundTasks, type BackgroundTasks } from './jobs/background-tasks.js'
import { createJobQueue, type JobQueue } from './jobs/queue.js'
import { createOutboundHttp } from './notify/outbound-http.js'
import { createEmailSender, type EmailSender } from './notify/email-sender.js'
import type { OidcOverrides } from './auth/oidc/oidc-service.js'
import { createServices, type Services } from './services.js'

export interface Runtime {
  config: Config
  logger: Logger
  masterKey: MasterKeySource
  database: Database
  keyRing: KeyRing
  clock: Clock
  emailSender: EmailSender
  background: BackgroundTasks
  pageFeed: PageChangeFeed
  queue: JobQueue
  services: Services
  close(): Promise<void>
}

export interface RuntimeOptions {
  migrate: boolean
  clock?: Clock
  /** Tests point at a throwaway SQLite file. */
  sqliteFile?: string
  /** Tests run a local OpenID provider in Google's place. */
  oidc?: OidcOverrides
}

/**
 * The composition root's first half: key, database, migrations, key ring and services, shared by
 * the web server, the worker and the CLI commands.
 */
export async function openRuntime(
  config: Config,
  logger: Logger,
  options: RuntimeOptions,
): Promise<Runtime> {
  const masterKey = loadMasterKey(config.masterKey, config.dataDir)
  if (masterKey.origin === 'generated') {
    logger.warn(
      { path: masterKey.path },
      'generated a new master key; back it up: without it the data cannot be read',
    )
  }
  const database = createDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    masterKey: masterKey.key,
    poolSize: config.databasePoolSize,
    ...(options.sqliteFile === undefined ? {} : { sqliteFile: options.sqliteFile }),
  })
  try {
    if (options.migrate) {
      const applied = await migrateToLatest(database)
      if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated')
    } else if (await hasPendingMigrations(database)) {
      throw new Error(
        'The database schema is behind this version of Candor: run `candor migrate up` first.',
      )
    }
    const keyRing = await openKeyRing(database, masterKey.key)
    const clock = options.clock ?? systemClock
    const emailSender = createEmailSender({
      db: database.db,
      keyRing,
      logger,
      from: config.mailFrom,
      smtp: config.smtp,
      dataDir: config.dataDir,
    })
    const background = createBackgroundTasks(logger)
    const pageFeed = createPageChangeFeed({ databaseUrl: config.databaseUrl, logger })
    const queue = createJobQueue(database, logger)
    const outbound = createOutboundHttp({ allowedRanges: config.notify.webhookAllowedRanges })
    const services = createServices({
      config,
      database,
      keyRing,
      clock,
      logger,
      emailSender,
      background,
      pageEvents: pageFeed,
      queue,
      outbound,
      oidc: options.oidc,
    })
    return {
      config,
      logger,
      masterKey,
      database,
      keyRing,
      clock,
      emailSender,
      background,
      pageFeed,
      queue,
      services,
      async close() {
        await background.drain()
        await pageFeed.close()
        await outbound.close()
        await services.oidc.close()
        emailSender.close()
        await database.close()
      },
    }
  } catch (error) {
    await database.close()
    throw error
  }
}
