import type { Kysely } from 'kysely'
import type { DatabaseSchema } from '../../db/schema.js'

export interface Account {
  id: string
  name: string
  createdAt: Date
}

type Db = Kysely<DatabaseSchema>

export async function insertAccount(db: Db, account: Account): Promise<void> {
  await db
    .insertInto('accounts')
    .values({
      id: account.id,
      name: account.name,
      created_at: account.createdAt,
      updated_at: account.createdAt,
    })
    .execute()
}

export async function findAccount(db: Db, id: string): Promise<Account | undefined> {
  const row = await db
    .selectFrom('accounts')
    .select(['id', 'name', 'created_at'])
    .where('id', '=', id)
    .executeTakeFirst()
  return row === undefined
    ? undefined
    : { id: row.id, name: row.name, createdAt: new Date(row.created_at) }
}

export async function findAccountByName(db: Db, name: string): Promise<Account | undefined> {
  const row = await db
    .selectFrom('accounts')
    .select(['id', 'name', 'created_at'])
    .where('name', '=', name)
    .orderBy('created_at')
    .executeTakeFirst()
  return row === undefined
    ? undefined
    : { id: row.id, name: row.name, createdAt: new Date(row.created_at) }
}

export async function renameAccount(db: Db, id: string, name: string, now: Date): Promise<void> {
  await db.updateTable('accounts').set({ name, updated_at: now }).where('id', '=', id).execute()
}
