import { randomBytes } from 'node:crypto'
import type { Kysely, Selectable } from 'kysely'
import type { KeyRing } from '../../crypto/key-ring.js'
import { generateId, hashToken } from '../../crypto/tokens.js'
import type { ApiKeyScope, ApiKeysTable, DatabaseSchema } from '../../db/schema.js'
import { authorize } from '../accounts/authorization.js'
import { auditOrigin, type AuditLog } from '../audit/audit-log.js'
import type { Actor, UserActor } from '../actor.js'
import type { Clock } from '../clock.js'
import { ForbiddenError, NotFoundError, ValidationError } from '../errors.js'
import { InputChecker } from '../validation.js'

type Db = Kysely<DatabaseSchema>

export const API_KEY_PREFIX = 'cnd_'
const IP_CONTEXT = 'api_keys.last_used_ip'
/** Last-used time and address are written at most this often per key, not on every request. */
const TOUCH_INTERVAL_MS = 60_000

export interface ApiKey {
  id: string
  accountId: string
  name: string
  /** The key's first characters, to recognise it in a list. */
  prefix: string
  scope: ApiKeyScope
  pageIds: string[] | null
  createdBy: string
  createdAt: Date
  expiresAt: Date | null
  revokedAt: Date | null
  lastUsedAt: Date | null
  lastUsedIp: string | null
}

export type ApiKeyService = ReturnType<typeof createApiKeyService>

/**
 * Per-account API keys. The secret is shown once and stored as a SHA-256 hash (it has 256 bits of
 * entropy, so a slow hash would add nothing). A key acts as its creator with the creator's role
 * of the moment, capped by its scope (read: viewer, write: admin) and its pages: a creator who
 * leaves the account or is demoted takes the key's rights down with them.
 */
export function createApiKeyService(deps: {
  db: Db
  keyRing: KeyRing
  clock: Clock
  audit: AuditLog
}) {
  const { db, keyRing, clock, audit } = deps

  function toApiKey(row: Selectable<ApiKeysTable>): ApiKey {
    const date = (value: string | null) => (value === null ? null : new Date(value))
    return {
      id: row.id,
      accountId: row.account_id,
      name: row.name,
      prefix: row.prefix,
      scope: row.scope,
      pageIds: row.page_ids === null ? null : (JSON.parse(row.page_ids) as string[]),
      createdBy: row.created_by,
      createdAt: new Date(row.created_at),
      expiresAt: date(row.expires_at),
      revokedAt: date(row.revoked_at),
      lastUsedAt: date(row.last_used_at),
      lastUsedIp:
        row.last_used_ip_ciphertext === null
          ? null
          : keyRing.decrypt(row.last_used_ip_ciphertext, IP_CONTEXT),
    }
  }

  function refuseKeys(actor: Actor): void {
    if (actor.apiKey !== undefined)
      throw new ForbiddenError('API keys are managed by people, not by other keys.', 'forbidden')
  }

  async function checkInput(
    accountId: string,
    input: { name?: unknown; scope?: unknown; pageIds?: unknown; expiresAt?: unknown },
  ) {
    const checker = new InputChecker()
    const name = checker.text('name', input.name, { label: 'Name', max: 100 })
    const scope: ApiKeyScope | undefined =
      input.scope === 'read' || input.scope === 'write' ? input.scope : undefined
    if (scope === undefined) checker.add('scope', 'Choose read or write.')
    let pageIds: string[] | null = null
    if (input.pageIds !== undefined && input.pageIds !== null && input.pageIds !== '') {
      const list = Array.isArray(input.pageIds) ? (input.pageIds as unknown[]) : [input.pageIds]
      if (list.some((id) => typeof id !== 'string') || list.length > 100)
        checker.add('pageIds', 'Pick pages of this account.')
      else {
        const ids = [...new Set(list as string[])]
        const known = await db
          .selectFrom('pages')
          .select('id')
          .where('account_id', '=', accountId)
          .where('id', 'in', ids.length === 0 ? [''] : ids)
          .execute()
        if (known.length !== ids.length) checker.add('pageIds', 'Pick pages of this account.')
        pageIds = ids.length === 0 ? null : ids
      }
    }
    let expiresAt: Date | null = null
    if (input.expiresAt !== undefined && input.expiresAt !== null && input.expiresAt !== '') {
      const parsed =
        input.expiresAt instanceof Date
          ? input.expiresAt
          : typeof input.expiresAt === 'string'
            ? new Date(input.expiresAt)
            : new Date(Number.NaN)
      if (Number.isNaN(parsed.getTime()) || parsed.getTime() <= clock.now().getTime())
        checker.add('expiresAt', 'Give a date in the future, like 2027-01-31.')
      else expiresAt = parsed
    }
    checker.assertValid()
    if (scope === undefined) throw new ValidationError({})
    return { name, scope, pageIds, expiresAt }
  }

  async function insert(
    accountId: string,
    createdBy: string,
    values: { name: string; scope: ApiKeyScope; pageIds: string[] | null; expiresAt: Date | null },
  ): Promise<{ key: ApiKey; secret: string }> {
    const secret = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`
    const id = generateId()
    const now = clock.now()
    await db
      .insertInto('api_keys')
      .values({
        id,
        account_id: accountId,
        name: values.name,
        prefix: secret.slice(0, API_KEY_PREFIX.length + 8),
        key_hash: hashToken(secret),
        scope: values.scope,
        page_ids: values.pageIds === null ? null : JSON.stringify(values.pageIds),
        created_by: createdBy,
        created_at: now,
        expires_at: values.expiresAt,
        revoked_at: null,
        last_used_at: null,
        last_used_ip_ciphertext: null,
      })
      .execute()
    const row = await db
      .selectFrom('api_keys')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow()
    return { key: toApiKey(row), secret }
  }

  /** Admins and owners create keys; the secret is returned here, once. */
  async function create(
    actor: Actor,
    accountId: string,
    input: { name?: unknown; scope?: unknown; pageIds?: unknown; expiresAt?: unknown },
  ): Promise<{ key: ApiKey; secret: string }> {
    refuseKeys(actor)
    await authorize(db, actor, accountId, 'api-key.manage')
    const created = await insert(accountId, actor.userId, await checkInput(accountId, input))
    await audit.record(db, {
      accountId,
      ...auditOrigin(actor),
      action: 'api_key.created',
      target: { type: 'api_key', id: created.key.id },
      details: { name: created.key.name, scope: created.key.scope, pageIds: created.key.pageIds },
    })
    return created
  }

  /** For automated set-ups (`candor api-key create`): the key is the account owner's. */
  async function createForAccountName(input: {
    accountName: string
    name: string
    scope: string
  }): Promise<{ key: ApiKey; secret: string }> {
    const accounts = await db
      .selectFrom('accounts')
      .innerJoin('memberships', 'memberships.account_id', 'accounts.id')
      .select(['accounts.id', 'memberships.user_id'])
      .where('accounts.name', '=', input.accountName)
      .where('memberships.role', '=', 'owner')
      .execute()
    if (accounts.length === 0) throw new NotFoundError(`The account "${input.accountName}"`)
    if (accounts.length > 1)
      throw new ValidationError({
        account: `Several accounts are named "${input.accountName}"; rename one first.`,
      })
    const [owner] = accounts
    if (owner === undefined) throw new NotFoundError('The account')
    const values = await checkInput(owner.id, { name: input.name, scope: input.scope })
    const created = await insert(owner.id, owner.user_id, values)
    await audit.record(db, {
      accountId: owner.id,
      actor: { type: 'system' },
      action: 'api_key.created',
      target: { type: 'api_key', id: created.key.id },
      details: { name: created.key.name, scope: created.key.scope, via: 'cli' },
    })
    return created
  }

  async function list(actor: Actor, accountId: string): Promise<ApiKey[]> {
    refuseKeys(actor)
    await authorize(db, actor, accountId, 'api-key.manage')
    const rows = await db
      .selectFrom('api_keys')
      .selectAll()
      .where('account_id', '=', accountId)
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .execute()
    return rows.map(toApiKey)
  }

  async function revoke(actor: Actor, keyId: string): Promise<void> {
    refuseKeys(actor)
    const row = await db
      .selectFrom('api_keys')
      .select(['account_id'])
      .where('id', '=', keyId)
      .executeTakeFirst()
    if (row === undefined) throw new NotFoundError('The API key')
    await authorize(db, actor, row.account_id, 'api-key.manage')
    await db.transaction().execute(async (trx) => {
      const result = await trx
        .updateTable('api_keys')
        .set({ revoked_at: clock.now() })
        .where('id', '=', keyId)
        .where('revoked_at', 'is', null)
        .executeTakeFirst()
      if (Number(result.numUpdatedRows) === 1)
        await audit.record(trx, {
          accountId: row.account_id,
          ...auditOrigin(actor),
          action: 'api_key.revoked',
          target: { type: 'api_key', id: keyId },
        })
    })
  }

  /**
   * The actor a presented key stands for, or undefined for an unknown, revoked or expired key,
   * or one whose creator is no longer a member of its account.
   */
  async function authenticate(
    secret: string,
    origin: { ip: string; userAgent: string },
  ): Promise<UserActor | undefined> {
    if (!secret.startsWith(API_KEY_PREFIX) || secret.length > 100) return undefined
    const row = await db
      .selectFrom('api_keys')
      .innerJoin('memberships', (join) =>
        join
          .onRef('memberships.account_id', '=', 'api_keys.account_id')
          .onRef('memberships.user_id', '=', 'api_keys.created_by'),
      )
      .selectAll('api_keys')
      .where('api_keys.key_hash', '=', hashToken(secret))
      .executeTakeFirst()
    const now = clock.now()
    if (row === undefined || row.revoked_at !== null) return undefined
    if (row.expires_at !== null && Date.parse(row.expires_at) <= now.getTime()) return undefined
    if (
      row.last_used_at === null ||
      now.getTime() - Date.parse(row.last_used_at) > TOUCH_INTERVAL_MS
    )
      await db
        .updateTable('api_keys')
        .set({
          last_used_at: now,
          last_used_ip_ciphertext: keyRing.encrypt(origin.ip, IP_CONTEXT),
        })
        .where('id', '=', row.id)
        .execute()
    return {
      type: 'user',
      userId: row.created_by,
      sessionIdHash: '',
      ip: origin.ip,
      userAgent: origin.userAgent,
      apiKey: {
        id: row.id,
        accountId: row.account_id,
        scope: row.scope,
        pageIds: row.page_ids === null ? null : (JSON.parse(row.page_ids) as string[]),
      },
    }
  }

  return { create, createForAccountName, list, revoke, authenticate }
}
