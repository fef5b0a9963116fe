import type { Kysely } from 'kysely'
import type { DatabaseSchema } from '../db/schema.js'

type Db = Kysely<DatabaseSchema>

export interface TotpState {
  secretCiphertext: string | null
  enabledAt: Date | null
}

export interface Passkey {
  id: string
  userId: string
  name: string
  publicKey: string
  counter: number
  transports: string[]
  deviceType: string
  backedUp: boolean
  createdAt: Date
  lastUsedAt: Date | null
}

export async function findTotpState(db: Db, userId: string): Promise<TotpState | undefined> {
  const row = await db
    .selectFrom('users')
    .select(['totp_secret_ciphertext', 'totp_enabled_at'])
    .where('id', '=', userId)
    .executeTakeFirst()
  if (row === undefined) return undefined
  return {
    secretCiphertext: row.totp_enabled_at === null ? null : row.totp_secret_ciphertext,
    enabledAt: row.totp_enabled_at === null ? null : new Date(row.totp_enabled_at),
  }
}

/**
 * Records a TOTP step as used, atomically: only a step later than the last one accepted is taken,
 * so a code (or an older one) works once, even when two requests carry it at the same moment.
 */
export async function claimTotpStep(db: Db, userId: string, step: number): Promise<boolean> {
  const result = await db
    .updateTable('users')
    .set({ totp_last_step: step })
    .where('id', '=', userId)
    .where('totp_enabled_at', 'is not', null)
    .where((eb) => eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', step)]))
    .executeTakeFirst()
  return Number(result.numUpdatedRows) === 1
}

export async function enableTotp(
  db: Db,
  userId: string,
  secretCiphertext: string,
  step: number,
  now: Date,
): Promise<boolean> {
  const result = await db
    .updateTable('users')
    .set({
      totp_secret_ciphertext: secretCiphertext,
      totp_enabled_at: now,
      totp_last_step: step,
      updated_at: now,
    })
    .where('id', '=', userId)
    .where('totp_enabled_at', 'is', null)
    .executeTakeFirst()
  return Number(result.numUpdatedRows) === 1
}

export async function disableTotp(db: Db, userId: string, now: Date): Promise<boolean> {
  const result = await db
    .updateTable('users')
    .set({
      totp_secret_ciphertext: null,
      totp_enabled_at: null,
      totp_last_step: null,
      updated_at: now,
    })
    .where('id', '=', userId)
    .where('totp_enabled_at', 'is not', null)
    .executeTakeFirst()
  return Number(result.numUpdatedRows) === 1
}

export async function replaceRecoveryCodes(
  db: Db,
  userId: string,
  codeHashes: readonly string[],
  now: Date,
): Promise<void> {
  await db.deleteFrom('recovery_codes').where('user_id', '=', userId).execute()
  await db
    .insertInto('recovery_codes')
    .values(codeHashes.map((hash) => ({ user_id: userId, code_hash: hash, created_at: now })))
    .execute()
}

export async function deleteRecoveryCodes(db: Db, userId: string): Promise<void> {
  await db.deleteFrom('recovery_codes').where('user_id', '=', userId).execute()
}

/** Marks an unused code used, atomically: of two requests with one code, one succeeds. */
export async function useRecoveryCode(
  db: Db,
  userId: string,
  codeHash: string,
  now: Date,
): Promise<boolean> {
  const result = await db
    .updateTable('recovery_codes')
    .set({ used_at: now })
    .where('user_id', '=', userId)
    .where('code_hash', '=', codeHash)
    .where('used_at', 'is', null)
    .executeTakeFirst()
  return Number(result.numUpdatedRows) === 1
}

export async function countUnusedRecoveryCodes(db: Db, userId: string): Promise<number> {
  const row = await db
    .selectFrom('recovery_codes')
    .select((eb) => eb.fn.countAll<string | number>().as('count'))
    .where('user_id', '=', userId)
    .where('used_at', 'is', null)
    .executeTakeFirstOrThrow()
  return Number(row.count)
}

export async function countPasskeys(db: Db, userId: string): Promise<number> {
  const row = await db
    .selectFrom('webauthn_credentials')
    .select((eb) => eb.fn.countAll<string | number>().as('count'))
    .where('user_id', '=', userId)
    .executeTakeFirstOrThrow()
  return Number(row.count)
}

/** A TOTP app or at least one passkey. */
export async function hasSecondFactor(db: Db, userId: string): Promise<boolean> {
  const totp = await findTotpState(db, userId)
  if (totp?.enabledAt != null) return true
  return (await countPasskeys(db, userId)) > 0
}

/** The names of the accounts the user belongs to that require a second factor. */
export async function accountsRequiringTwoFactor(db: Db, userId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('memberships')
    .innerJoin('accounts', 'accounts.id', 'memberships.account_id')
    .select('accounts.name')
    .where('memberships.user_id', '=', userId)
    .where('accounts.require_two_factor', '=', true)
    .orderBy('accounts.name')
    .execute()
  return rows.map((row) => row.name)
}

export async function setAccountRequiresTwoFactor(
  db: Db,
  accountId: string,
  required: boolean,
  now: Date,
): Promise<void> {
  await db
    .updateTable('accounts')
    .set({ require_two_factor: required, updated_at: now })
    .where('id', '=', accountId)
    .execute()
}

export async function listPasskeys(db: Db, userId: string): Promise<Passkey[]> {
  const rows = await db
    .selectFrom('webauthn_credentials')
    .selectAll()
    .where('user_id', '=', userId)
    .orderBy('created_at')
    .orderBy('id')
    .execute()
  return rows.map(toPasskey)
}

export async function findPasskey(db: Db, id: string): Promise<Passkey | undefined> {
  const row = await db
    .selectFrom('webauthn_credentials')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirst()
  return row === undefined ? undefined : toPasskey(row)
}

export async function insertPasskey(db: Db, passkey: Passkey): Promise<void> {
  await db
    .insertInto('webauthn_credentials')
    .values({
      id: passkey.id,
      user_id: passkey.userId,
      name: passkey.name,
      public_key: passkey.publicKey,
      counter: passkey.counter,
      transports: JSON.stringify(passkey.transports),
      device_type: passkey.deviceType,
      backed_up: passkey.backedUp,
      created_at: passkey.createdAt,
      last_used_at: null,
    })
    .execute()
}

/**
 * Stores a signature counter, atomically: it must have grown since the value the assertion was
 * checked against (authenticators that always report 0 stay at 0), so a cloned authenticator's
 * replayed or parallel use is refused.
 */
export async function advancePasskeyCounter(
  db: Db,
  id: string,
  previous: number,
  next: number,
  now: Date,
): Promise<boolean> {
  let query = db
    .updateTable('webauthn_credentials')
    .set({ counter: next, last_used_at: now })
    .where('id', '=', id)
  query =
    next === 0 && previous === 0
      ? query.where('counter', '=', 0)
      : query.where('counter', '<', next).where('counter', '=', previous)
  const result = await query.executeTakeFirst()
  return Number(result.numUpdatedRows) === 1
}

export async function renamePasskey(
  db: Db,
  userId: string,
  id: string,
  name: string,
): Promise<boolean> {
  const result = await db
    .updateTable('webauthn_credentials')
    .set({ name })
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .executeTakeFirst()
  return Number(result.numUpdatedRows) === 1
}

export async function deletePasskey(db: Db, userId: string, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom('webauthn_credentials')
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .executeTakeFirst()
  return Number(result.numDeletedRows) === 1
}

function toPasskey(row: {
  id: string
  user_id: string
  name: string
  public_key: string
  counter: number
  transports: string
  device_type: string
  backed_up: boolean | 0 | 1
  created_at: string
  last_used_at: string | null
}): Passkey {
  const transports: unknown = JSON.parse(row.transports)
  return {
    id: row.id,
    userId: row.user_id,
    name: row.name,
    publicKey: row.public_key,
    counter: row.counter,
    transports: Array.isArray(transports)
      ? transports.filter((t): t is string => typeof t === 'string')
      : [],
    deviceType: row.device_type,
    backedUp: Boolean(row.backed_up),
    createdAt: new Date(row.created_at),
    lastUsedAt: row.last_used_at === null ? null : new Date(row.last_used_at),
  }
}
