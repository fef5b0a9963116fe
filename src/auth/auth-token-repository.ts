import type { Kysely } from 'kysely'
import { generateToken, hashToken } from '../crypto/tokens.js'
import type { AuthTokenPurpose, DatabaseSchema } from '../db/schema.js'

type Db = Kysely<DatabaseSchema>

export interface IssuedToken {
  token: string
  expiresAt: Date
}

/** Single-use links (setup, sign-up, password reset): only the hash is stored. */
export async function issueToken(
  db: Db,
  input: {
    purpose: AuthTokenPurpose
    userId: string | null
    payloadCiphertext?: string
    now: Date
    ttlMs: number
  },
): Promise<IssuedToken> {
  const token = generateToken()
  const expiresAt = new Date(input.now.getTime() + input.ttlMs)
  await db
    .insertInto('auth_tokens')
    .values({
      token_hash: hashToken(token),
      purpose: input.purpose,
      user_id: input.userId,
      payload_ciphertext: input.payloadCiphertext ?? null,
      created_at: input.now,
      expires_at: expiresAt,
      used_at: null,
    })
    .execute()
  return { token, expiresAt }
}

export interface ValidToken {
  userId: string | null
  payloadCiphertext: string | null
}

export async function findValidToken(
  db: Db,
  purpose: AuthTokenPurpose,
  token: string,
  now: Date,
): Promise<ValidToken | undefined> {
  if (token.length === 0 || token.length > 128) return undefined
  const row = await db
    .selectFrom('auth_tokens')
    .select(['user_id', 'payload_ciphertext'])
    .where('token_hash', '=', hashToken(token))
    .where('purpose', '=', purpose)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now.toISOString())
    .executeTakeFirst()
  return row === undefined
    ? undefined
    : { userId: row.user_id, payloadCiphertext: row.payload_ciphertext }
}

/**
 * Marks a token used and returns it, in one statement: of two concurrent uses (a replay racing the
 * original), exactly one gets the row.
 */
export async function consumeToken(
  db: Db,
  purpose: AuthTokenPurpose,
  token: string,
  now: Date,
): Promise<ValidToken | undefined> {
  if (token.length === 0 || token.length > 128) return undefined
  const row = await db
    .updateTable('auth_tokens')
    .set({ used_at: now })
    .where('token_hash', '=', hashToken(token))
    .where('purpose', '=', purpose)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now.toISOString())
    .returning(['user_id', 'payload_ciphertext'])
    .executeTakeFirst()
  return row === undefined
    ? undefined
    : { userId: row.user_id, payloadCiphertext: row.payload_ciphertext }
}

export async function revokeTokens(
  db: Db,
  purpose: AuthTokenPurpose,
  userId: string | null,
  now: Date,
): Promise<void> {
  let query = db
    .updateTable('auth_tokens')
    .set({ used_at: now })
    .where('purpose', '=', purpose)
    .where('used_at', 'is', null)
  query = userId === null ? query.where('user_id', 'is', null) : query.where('user_id', '=', userId)
  await query.execute()
}

export async function pruneTokens(db: Db, now: Date): Promise<number> {
  const result = await db
    .deleteFrom('auth_tokens')
    .where((eb) => eb.or([eb('expires_at', '<', now.toISOString()), eb('used_at', 'is not', null)]))
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}
