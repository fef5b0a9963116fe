import {
  createKeyRing,
  generateDataKey,
  unwrapDataKey,
  wrapDataKey,
  type KeyRing,
} from '../crypto/key-ring.js'
import type { Database } from './database.js'

/**
 * Loads the data keys, creating the first one on a new database. Concurrent first starts on
 * PostgreSQL race on the primary key; the loser simply reads the winner's key.
 */
export async function openKeyRing(database: Database, masterKey: Buffer): Promise<KeyRing> {
  const { db } = database
  let rows = await db.selectFrom('data_keys').select(['id', 'wrapped_key']).orderBy('id').execute()
  if (rows.length === 0) {
    await db
      .insertInto('data_keys')
      .values({
        id: 1,
        wrapped_key: wrapDataKey(masterKey, 1, generateDataKey()),
        created_at: new Date(),
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute()
    rows = await db.selectFrom('data_keys').select(['id', 'wrapped_key']).orderBy('id').execute()
  }
  return createKeyRing(
    masterKey,
    rows.map((row) => ({ id: row.id, key: unwrapDataKey(masterKey, row.id, row.wrapped_key) })),
  )
}
