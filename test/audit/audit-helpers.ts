import { createHash } from 'node:crypto'
import { sql, type Kysely } from 'kysely'
import type { DatabaseSchema } from '../../src/db/schema.js'
import type { TestApp } from '../helpers/build-app.js'

type Db = Kysely<DatabaseSchema>

export async function entriesOf(t: TestApp, accountId: string | null) {
  const db = t.runtime.database.db
  const query = db.selectFrom('audit_entries').selectAll().orderBy('seq')
  return accountId === null
    ? query.where('account_id', 'is', null).execute()
    : query.where('account_id', '=', accountId).execute()
}

export async function actionsOf(t: TestApp, accountId: string | null): Promise<string[]> {
  return (await entriesOf(t, accountId)).map((e) => e.action)
}

export async function verifyAccount(t: TestApp, accountId: string) {
  const [report] = await t.runtime.services.audit.verify({ accountId })
  if (report === undefined) throw new Error(`no chain for account ${accountId}`)
  return report
}

/**
 * Runs raw SQL the way someone with the database's keys could: the append-only triggers are
 * switched off (PostgreSQL, as a superuser or the owning role would) or dropped and put back
 * (SQLite, which cannot switch a trigger off), so that only the hash chain stands in the way.
 */
export async function tamper(t: TestApp, change: (db: Db) => Promise<void>): Promise<void> {
  const db = t.runtime.database.db
  if (t.dialect === 'postgres') {
    await sql`ALTER TABLE audit_entries DISABLE TRIGGER USER`.execute(db)
    await sql`ALTER TABLE audit_chain_heads DISABLE TRIGGER USER`.execute(db)
    try {
      await change(db)
    } finally {
      await sql`ALTER TABLE audit_entries ENABLE TRIGGER USER`.execute(db)
      await sql`ALTER TABLE audit_chain_heads ENABLE TRIGGER USER`.execute(db)
    }
    return
  }
  const triggers = await sql<{ name: string; sql: string }>`
    SELECT name, sql FROM sqlite_master
    WHERE type = 'trigger' AND tbl_name IN ('audit_entries', 'audit_chain_heads')`.execute(db)
  for (const trigger of triggers.rows) await sql.raw(`DROP TRIGGER ${trigger.name}`).execute(db)
  try {
    await change(db)
  } finally {
    for (const trigger of triggers.rows) await sql.raw(trigger.sql).execute(db)
  }
}

/**
 * The hash of an entry computed here independently of Candor's code, from what the JSON export
 * gives: SHA-256 of prevHash followed by the entry's fields as JSON with sorted keys (the
 * fields are flat: details is already canonical JSON text).
 */
export function independentHash(entry: Record<string, unknown>): string {
  const fields = Object.entries(entry).filter(
    ([key]) => key !== 'prevHash' && key !== 'hash' && key !== 'shown',
  )
  const sorted = Object.fromEntries(fields.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
  return createHash('sha256')
    .update(String(entry['prevHash']))
    .update(JSON.stringify(sorted))
    .digest('hex')
}
