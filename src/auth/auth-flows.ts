import type { Kysely } from 'kysely'
import type { KeyRing } from '../crypto/key-ring.js'
import { generateToken, hashToken } from '../crypto/tokens.js'
import type { DatabaseSchema } from '../db/schema.js'

type Db = Kysely<DatabaseSchema>

/**
 * The state carried between the steps of a sign-in (a password accepted and a second factor
 * pending, a WebAuthn challenge, an OIDC state with its nonce and PKCE verifier, a SAML request
 * id). The browser holds a random token; the database holds its hash and the state, encrypted,
 * and each flow is used once.
 */
export interface AuthFlow<P> {
  kind: string
  userId: string | null
  accountId: string | null
  payload: P
  attempts: number
  createdAt: Date
  expiresAt: Date
}

export const AUTH_FLOW_CONTEXT = 'auth_flows.payload'

export async function startAuthFlow(
  db: Db,
  keyRing: KeyRing,
  flow: {
    kind: string
    userId?: string | null
    accountId?: string | null
    payload: unknown
    now: Date
    ttlMs: number
  },
  /** A caller-chosen token (an OIDC state, a SAML request id); a random one otherwise. */
  token: string = generateToken(),
): Promise<string> {
  await db
    .insertInto('auth_flows')
    .values({
      token_hash: hashToken(`${flow.kind}:${token}`),
      kind: flow.kind,
      user_id: flow.userId ?? null,
      account_id: flow.accountId ?? null,
      payload_ciphertext: keyRing.encrypt(JSON.stringify(flow.payload), AUTH_FLOW_CONTEXT),
      created_at: flow.now,
      expires_at: new Date(flow.now.getTime() + flow.ttlMs),
    })
    .execute()
  return token
}

/** The live flow behind a token, without using it up (to show the second step's form). */
export async function findAuthFlow<P>(
  db: Db,
  keyRing: KeyRing,
  kind: string,
  token: string,
  now: Date,
): Promise<AuthFlow<P> | undefined> {
  if (token.length === 0 || token.length > 256) return undefined
  const row = await db
    .selectFrom('auth_flows')
    .selectAll()
    .where('token_hash', '=', hashToken(`${kind}:${token}`))
    .where('consumed_at', 'is', null)
    .where('expires_at', '>', now.toISOString())
    .executeTakeFirst()
  return row === undefined ? undefined : toFlow<P>(keyRing, row)
}

/**
 * Uses a flow up, atomically: of two concurrent requests with one token, one gets the flow and the
 * other undefined. Expired and used flows are undefined.
 */
export async function consumeAuthFlow<P>(
  db: Db,
  keyRing: KeyRing,
  kind: string,
  token: string,
  now: Date,
): Promise<AuthFlow<P> | undefined> {
  if (token.length === 0 || token.length > 256) return undefined
  const tokenHash = hashToken(`${kind}:${token}`)
  const result = await db
    .updateTable('auth_flows')
    .set({ consumed_at: now })
    .where('token_hash', '=', tokenHash)
    .where('consumed_at', 'is', null)
    .where('expires_at', '>', now.toISOString())
    .executeTakeFirst()
  if (Number(result.numUpdatedRows) !== 1) return undefined
  const row = await db
    .selectFrom('auth_flows')
    .selectAll()
    .where('token_hash', '=', tokenHash)
    .executeTakeFirstOrThrow()
  return toFlow<P>(keyRing, row)
}

/**
 * Counts a wrong answer to a flow (a wrong TOTP code) and returns the count; a flow that reached
 * `maxAttempts` is used up, so its token cannot be guessed against forever.
 */
export async function recordAuthFlowFailure(
  db: Db,
  kind: string,
  token: string,
  maxAttempts: number,
  now: Date,
): Promise<number> {
  const tokenHash = hashToken(`${kind}:${token}`)
  await db
    .updateTable('auth_flows')
    .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
    .where('token_hash', '=', tokenHash)
    .execute()
  await db
    .updateTable('auth_flows')
    .set({ consumed_at: now })
    .where('token_hash', '=', tokenHash)
    .where('attempts', '>=', maxAttempts)
    .where('consumed_at', 'is', null)
    .execute()
  const row = await db
    .selectFrom('auth_flows')
    .select('attempts')
    .where('token_hash', '=', tokenHash)
    .executeTakeFirst()
  return row?.attempts ?? maxAttempts
}

export async function pruneAuthFlows(db: Db, now: Date): Promise<number> {
  const result = await db
    .deleteFrom('auth_flows')
    .where('expires_at', '<=', now.toISOString())
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}

function toFlow<P>(
  keyRing: KeyRing,
  row: {
    kind: string
    user_id: string | null
    account_id: string | null
    payload_ciphertext: string | null
    attempts: number
    created_at: string
    expires_at: string
  },
): AuthFlow<P> {
  return {
    kind: row.kind,
    userId: row.user_id,
    accountId: row.account_id,
    // The payload was written by startAuthFlow from a value of the kind's own shape.
    payload: JSON.parse(
      row.payload_ciphertext === null
        ? 'null'
        : keyRing.decrypt(row.payload_ciphertext, AUTH_FLOW_CONTEXT),
    ) as P,
    attempts: row.attempts,
    createdAt: new Date(row.created_at),
    expiresAt: new Date(row.expires_at),
  }
}
