import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createDatabase, type Database } from '../../src/db/database.js'
import { createPostgresDatabase, type TestDialect } from './test-db.js'

/**
 * A data folder, a database and a master key that outlive any one test app, so that a test can
 * stop an installation and start it again (buildTestApp's `reuse`). The caller removes it.
 */
export interface Installation {
  dialect: TestDialect
  dataDir: string
  databaseUrl: string | undefined
  masterKeyHex: string
  masterKey: Buffer
  /** For buildTestApp(dialect, { reuse }). */
  reuse: { dataDir: string; databaseUrl?: string; masterKey: string }
  /** The environment the CLI reads for this installation. */
  env: Record<string, string>
  /** A direct connection to the installation's database (close it when done). */
  openDatabase(masterKey?: Buffer): Database
  remove(): Promise<void>
}

export async function createInstallation(dialect: TestDialect): Promise<Installation> {
  const dataDir = mkdtempSync(join(tmpdir(), 'candor-install-'))
  const throwaway = dialect === 'postgres' ? await createPostgresDatabase() : undefined
  const masterKey = randomBytes(32)
  const masterKeyHex = masterKey.toString('hex')
  const databaseUrl = throwaway?.url
  return {
    dialect,
    dataDir,
    databaseUrl,
    masterKeyHex,
    masterKey,
    reuse: {
      dataDir,
      masterKey: masterKeyHex,
      ...(databaseUrl === undefined ? {} : { databaseUrl }),
    },
    env: {
      DATA_DIR: dataDir,
      MASTER_KEY: masterKeyHex,
      LOG_LEVEL: 'silent',
      BASE_URL: 'http://candor.test',
      ...(databaseUrl === undefined ? {} : { DATABASE_URL: databaseUrl }),
    },
    openDatabase(key = masterKey) {
      return createDatabase({ databaseUrl, dataDir, masterKey: key })
    },
    async remove() {
      await throwaway?.drop()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}
