import type { Kysely } from 'kysely'
import { generateId } from '../../crypto/tokens.js'
import type { DatabaseSchema } from '../../db/schema.js'
import type { Actor } from '../actor.js'
import type { Clock } from '../clock.js'
import {
  canonicalJson,
  chainOf,
  entryHash,
  GENESIS_HASH,
  type HashedFields,
} from './audit-chain.js'
import { verifyAuditChains } from './audit-verify.js'

type Db = Kysely<DatabaseSchema>

/**
 * Who did it: a person in the dashboard, a person's API key, Candor itself (a command, the
 * worker), or someone not signed in (a failed sign-in).
 */
export type AuditActor =
  | { type: 'user'; userId: string }
  | { type: 'api_key'; keyId: string; userId: string }
  | { type: 'system' }
  | { type: 'anonymous' }

export type AuditDetails = Readonly<Record<string, unknown>>

export interface AuditEntryInput {
  /** Null for installation-level events (a failed sign-in for an unknown address). */
  accountId: string | null
  actor: AuditActor
  /** Dotted, lowercase: `incident.created`, `auth.sign_in_failed`. */
  action: string
  target?: { type: string; id: string } | null | undefined
  ip?: string | null | undefined
  userAgent?: string | null | undefined
  /** Small JSON: ids rather than personal data, never secrets or passwords. */
  details?: AuditDetails | undefined
}

export interface RecordedEntry {
  id: string
  chain: string
  seq: number
  hash: string
}

export type AuditLog = ReturnType<typeof createAuditLog>

const ACTION_PATTERN = /^[a-z][a-z_]*(\.[a-z][a-z_]*)+$/
const ACTION_MAX = 64
const DETAILS_MAX_BYTES = 4096
const USER_AGENT_MAX = 512
const IP_MAX = 64
/** Text under a key that looks like a secret is a programming error: refuse it loudly. */
const SECRET_KEY = /password|secret|token|ciphertext|private/i

/**
 * Who acted, where from, in the shape an entry wants. An actor using an API key (the API-key
 * feature adds `apiKey: { id }` or `apiKeyId` to the actor) is recorded as that key.
 */
export function auditOrigin(actor: Actor): Pick<AuditEntryInput, 'actor' | 'ip' | 'userAgent'> {
  const keyId = actor.apiKey?.id
  return {
    actor:
      keyId === undefined
        ? { type: 'user', userId: actor.userId }
        : { type: 'api_key', keyId, userId: actor.userId },
    ip: actor.ip,
    userAgent: actor.userAgent,
  }
}

/**
 * The audit log's only writer. `record(trx, entry)` appends inside the caller's transaction, so
 * the entry commits or rolls back with the change it describes; `record(db, entry)` opens a
 * transaction of its own. Nothing here (or anywhere in Candor) updates or deletes an entry.
 *
 * Appending first moves the chain's head row forward (UPDATE … RETURNING): on PostgreSQL that
 * locks the row until the transaction ends, so concurrent appends to one chain from any number
 * of processes queue up behind each other; on SQLite writers are serialised anyway. The unique
 * (chain, seq) index is the backstop. Callers record last in their transaction, after the rows
 * they change, so the head lock is the last one taken and two writers cannot deadlock on it.
 */
export function createAuditLog({ db, clock }: { db: Db; clock: Clock }) {
  async function record(executor: Db, entry: AuditEntryInput): Promise<RecordedEntry> {
    const fields = prepare(entry)
    if (executor.isTransaction) return append(executor, fields)
    return executor.transaction().execute((trx) => append(trx, fields))
  }

  /**
   * An event about a person rather than an account (sign-in, password change): one entry in the
   * chain of every account they belong to, so each account's owners see it; the installation
   * chain when they belong to none.
   */
  async function recordForUser(
    executor: Db,
    userId: string,
    entry: Omit<AuditEntryInput, 'accountId'>,
  ): Promise<RecordedEntry[]> {
    const run = async (trx: Db) => {
      const memberships = await trx
        .selectFrom('memberships')
        .select('account_id')
        .where('user_id', '=', userId)
        .execute()
      // Always the same order, so two transactions never take two chain locks in opposite order.
      const accountIds = memberships.map((m) => m.account_id).sort()
      const recorded: RecordedEntry[] = []
      for (const accountId of accountIds.length === 0 ? [null] : accountIds)
        recorded.push(await append(trx, prepare({ ...entry, accountId })))
      return recorded
    }
    return executor.isTransaction ? run(executor) : executor.transaction().execute(run)
  }

  function prepare(entry: AuditEntryInput): Omit<HashedFields, 'id' | 'seq' | 'createdAt'> {
    if (entry.action.length > ACTION_MAX || !ACTION_PATTERN.test(entry.action))
      throw new Error(`audit: "${entry.action}" is not a dotted lowercase action name`)
    const details = entry.details ?? {}
    const secret = Object.entries(details).find(
      ([key, value]) => SECRET_KEY.test(key) && typeof value === 'string',
    )?.[0]
    if (secret !== undefined) throw new Error(`audit: details must not carry "${secret}"`)
    const detailsJson = canonicalJson(details)
    if (Buffer.byteLength(detailsJson) > DETAILS_MAX_BYTES)
      throw new Error(`audit: details of ${entry.action} exceed ${String(DETAILS_MAX_BYTES)} bytes`)
    const { actor } = entry
    return {
      chain: chainOf(entry.accountId),
      accountId: entry.accountId,
      actorType: actor.type,
      actorUserId: actor.type === 'user' || actor.type === 'api_key' ? actor.userId : null,
      actorApiKeyId: actor.type === 'api_key' ? actor.keyId : null,
      action: entry.action,
      targetType: entry.target?.type ?? null,
      targetId: entry.target?.id ?? null,
      ip: entry.ip == null || entry.ip === '' ? null : entry.ip.slice(0, IP_MAX),
      userAgent:
        entry.userAgent == null || entry.userAgent === ''
          ? null
          : entry.userAgent.slice(0, USER_AGENT_MAX),
      details: detailsJson,
    }
  }

  async function append(
    trx: Db,
    fields: Omit<HashedFields, 'id' | 'seq' | 'createdAt'>,
  ): Promise<RecordedEntry> {
    const now = clock.now()
    const advance = () =>
      trx
        .updateTable('audit_chain_heads')
        .set((eb) => ({ seq: eb('seq', '+', 1), updated_at: now }))
        .where('chain', '=', fields.chain)
        .returning(['seq', 'hash'])
        .executeTakeFirst()
    let head = await advance()
    if (head === undefined) {
      await trx
        .insertInto('audit_chain_heads')
        .values({ chain: fields.chain, seq: 0, hash: GENESIS_HASH, updated_at: now })
        .onConflict((oc) => oc.column('chain').doNothing())
        .execute()
      head = await advance()
      if (head === undefined) throw new Error(`audit: chain ${fields.chain} has no head`)
    }
    const entry: HashedFields = {
      ...fields,
      id: generateId(),
      seq: head.seq,
      createdAt: now.toISOString(),
    }
    const hash = entryHash(head.hash, entry)
    await trx
      .insertInto('audit_entries')
      .values({
        id: entry.id,
        chain: entry.chain,
        seq: entry.seq,
        account_id: entry.accountId,
        created_at: now,
        actor_type: entry.actorType,
        actor_user_id: entry.actorUserId,
        actor_api_key_id: entry.actorApiKeyId,
        action: entry.action,
        target_type: entry.targetType,
        target_id: entry.targetId,
        ip: entry.ip,
        user_agent: entry.userAgent,
        details: entry.details,
        prev_hash: head.hash,
        hash,
      })
      .execute()
    await trx
      .updateTable('audit_chain_heads')
      .set({ hash })
      .where('chain', '=', fields.chain)
      .execute()
    return { id: entry.id, chain: entry.chain, seq: entry.seq, hash }
  }

  return {
    record,
    recordForUser,
    /** Walks the chains (all, or one account's and the installation's) and reports the first break. */
    verify: (options: { accountId?: string } = {}) => verifyAuditChains(db, options),
  }
}
