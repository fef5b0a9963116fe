import type { Kysely } from 'kysely'
import type { KeyRing } from '../../crypto/key-ring.js'
import type { DatabaseSchema, UsersTable } from '../../db/schema.js'
import type { Selectable } from 'kysely'

export interface User {
  id: string
  email: string
  name: string
  createdAt: Date
}

export interface UserWithPassword extends User {
  passwordHash: string | null
}

type Db = Kysely<DatabaseSchema>

const EMAIL_CONTEXT = 'users.email'
const NAME_CONTEXT = 'users.name'

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase()
}

export function emailIndex(keyRing: KeyRing, email: string): string {
  return keyRing.blindIndex(normalizeEmail(email), EMAIL_CONTEXT)
}

export async function insertUser(
  db: Db,
  keyRing: KeyRing,
  user: { id: string; email: string; name: string; passwordHash: string | null; createdAt: Date },
): Promise<void> {
  const email = normalizeEmail(user.email)
  await db
    .insertInto('users')
    .values({
      id: user.id,
      email_ciphertext: keyRing.encrypt(email, EMAIL_CONTEXT),
      email_index: emailIndex(keyRing, email),
      name_ciphertext: keyRing.encrypt(user.name, NAME_CONTEXT),
      password_hash: user.passwordHash,
      password_changed_at: user.passwordHash === null ? null : user.createdAt,
      created_at: user.createdAt,
      updated_at: user.createdAt,
    })
    .execute()
}

export async function findUserByEmail(
  db: Db,
  keyRing: KeyRing,
  email: string,
): Promise<UserWithPassword | undefined> {
  const row = await db
    .selectFrom('users')
    .selectAll()
    .where('email_index', '=', emailIndex(keyRing, email))
    .executeTakeFirst()
  return row === undefined ? undefined : toUser(keyRing, row)
}

export async function findUserById(
  db: Db,
  keyRing: KeyRing,
  id: string,
): Promise<UserWithPassword | undefined> {
  const row = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst()
  return row === undefined ? undefined : toUser(keyRing, row)
}

/** Several users at once (for lists that show who did what); unknown ids are left out. */
export async function findUsersByIds(
  db: Db,
  keyRing: KeyRing,
  ids: readonly string[],
): Promise<Map<string, User>> {
  const unique = [...new Set(ids)]
  if (unique.length === 0) return new Map()
  const rows = await db.selectFrom('users').selectAll().where('id', 'in', unique).execute()
  return new Map(
    rows.map((row) => {
      const user = toUser(keyRing, row)
      return [
        row.id,
        { id: user.id, email: user.email, name: user.name, createdAt: user.createdAt },
      ]
    }),
  )
}

export async function updateUserPassword(
  db: Db,
  userId: string,
  passwordHash: string,
  now: Date,
): Promise<void> {
  await db
    .updateTable('users')
    .set({ password_hash: passwordHash, password_changed_at: now, updated_at: now })
    .where('id', '=', userId)
    .execute()
}

export async function updateUserName(
  db: Db,
  keyRing: KeyRing,
  userId: string,
  name: string,
  now: Date,
): Promise<void> {
  await db
    .updateTable('users')
    .set({ name_ciphertext: keyRing.encrypt(name, NAME_CONTEXT), updated_at: now })
    .where('id', '=', userId)
    .execute()
}

export async function countUsers(db: Db): Promise<number> {
  const row = await db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .executeTakeFirstOrThrow()
  return row.count
}

function toUser(keyRing: KeyRing, row: Selectable<UsersTable>): UserWithPassword {
  return {
    id: row.id,
    email: keyRing.decrypt(row.email_ciphertext, EMAIL_CONTEXT),
    name: keyRing.decrypt(row.name_ciphertext, NAME_CONTEXT),
    createdAt: new Date(row.created_at),
    passwordHash: row.password_hash,
  }
}
