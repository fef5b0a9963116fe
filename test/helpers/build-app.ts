import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig, type Config } from '../../src/config.js'
import { buildServer, type App } from '../../src/http/server.js'
import { createLogger } from '../../src/logger.js'
import { openRuntime, type Runtime, type RuntimeOptions } from '../../src/runtime.js'
import { createTestClock, type TestClock } from './clock.js'
import { createPostgresDatabase, type TestDialect, type ThrowawayDatabase } from './test-db.js'

export interface TestApp {
  app: App
  runtime: Runtime
  config: Config
  clock: TestClock
  dataDir: string
  dialect: TestDialect
  close(): Promise<void>
}

export interface TestAppOptions {
  env?: Record<string, string>
  /** Port of an SMTP sink; without it mail goes to .eml files in the data folder. */
  smtpPort?: number
  /** Reuse a data folder and database (to restart the same installation). */
  reuse?: { dataDir: string; databaseUrl?: string; masterKey: string }
  /** Runs after the application is built and before app.ready(), e.g. to add a test-only route. */
  beforeReady?: (app: App) => void | Promise<void>
  /** A local OpenID provider in Google's place, over plain HTTP. */
  oidc?: RuntimeOptions['oidc']
}

/** The whole application on a throwaway database, driven with app.inject(); nothing listens. */
export async function buildTestApp(
  dialect: TestDialect,
  options: TestAppOptions = {},
): Promise<TestApp & { masterKeyHex: string; databaseUrl: string | undefined }> {
  const dataDir = options.reuse?.dataDir ?? mkdtempSync(join(tmpdir(), 'candor-test-'))
  let throwaway: ThrowawayDatabase | undefined
  let databaseUrl = options.reuse?.databaseUrl
  if (dialect === 'postgres' && databaseUrl === undefined) {
    throwaway = await createPostgresDatabase()
    databaseUrl = throwaway.url
  }
  const masterKeyHex = options.reuse?.masterKey ?? randomBytes(32).toString('hex')
  const config = loadConfig({
    DATA_DIR: dataDir,
    MASTER_KEY: masterKeyHex,
    LOG_LEVEL: 'silent',
    BASE_URL: 'http://candor.test',
    ...(databaseUrl === undefined ? {} : { DATABASE_URL: databaseUrl }),
    ...(options.smtpPort === undefined
      ? {}
      : { SMTP_HOST: '127.0.0.1', SMTP_PORT: String(options.smtpPort), SMTP_SECURE: 'none' }),
    ...options.env,
  })
  const clock = createTestClock()
  const logger = createLogger(config.logLevel)
  const runtime = await openRuntime(config, logger, {
    migrate: true,
    clock,
    ...(options.oidc === undefined ? {} : { oidc: options.oidc }),
  })
  const app = await buildServer({
    config,
    services: runtime.services,
    logger,
    cookieSecret: runtime.keyRing.cookieSecret,
    pageEvents: runtime.pageFeed,
  })
  await options.beforeReady?.(app)
  await app.ready()
  return {
    app,
    runtime,
    config,
    clock,
    dataDir,
    dialect,
    masterKeyHex,
    databaseUrl,
    async close() {
      await app.close()
      await runtime.close()
      if (options.reuse === undefined) {
        await throwaway?.drop()
        rmSync(dataDir, { recursive: true, force: true })
      }
    },
  }
}
