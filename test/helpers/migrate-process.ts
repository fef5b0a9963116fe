import { createDatabase } from '../../src/db/database.js'
import { migrateToLatest } from '../../src/db/migrator.js'

/**
 * A separate process that opens an installation and migrates it, as `candor start` does, and
 * prints what it applied as JSON. Arguments: DATA_DIR, MASTER_KEY (hex), DATABASE_URL (optional).
 */
const [dataDir, masterKeyHex, databaseUrl] = process.argv.slice(2)
if (dataDir === undefined || masterKeyHex === undefined)
  throw new Error('usage: DATA_DIR KEY [URL]')
const database = createDatabase({
  databaseUrl: databaseUrl === '' ? undefined : databaseUrl,
  dataDir,
  masterKey: Buffer.from(masterKeyHex, 'hex'),
})
try {
  process.stdout.write(JSON.stringify(await migrateToLatest(database)))
} finally {
  await database.close()
}
