import { sql, type Kysely, type Selectable } from 'kysely'
import type { KeyRing } from '../../crypto/key-ring.js'
import type { AuditActorType, AuditEntriesTable, DatabaseSchema } from '../../db/schema.js'
import { authorize } from '../accounts/authorization.js'
import { findUsersByIds } from '../accounts/user-repository.js'
import type { Actor } from '../actor.js'
import { ValidationError } from '../errors.js'
import { chainOf, type HashedFields } from './audit-chain.js'
import { auditOrigin, type AuditLog } from './audit-log.js'
import { hashedFieldsOf, type ChainReport } from './audit-verify.js'

type Db = Kysely<DatabaseSchema>

export interface AuditFilter {
  /** Entries whose action starts with this (`incident.`, `auth.sign_in`). */
  action?: string | undefined
  actorUserId?: string | undefined
  targetType?: string | undefined
  targetId?: string | undefined
  /** Inclusive days, YYYY-MM-DD in UTC. */
  from?: string | undefined
  to?: string | undefined
}

export interface AuditEntryView {
  /** Exactly what the entry's hash covers (for exports that others can re-check). */
  hashed: HashedFields
  id: string
  seq: number
  createdAt: Date
  action: string
  actor: {
    type: AuditActorType
    userId: string | null
    apiKeyId: string | null
    /** Decrypted for display; undefined when the user no longer exists. */
    name: string | undefined
    email: string | undefined
  }
  target: { type: string; id: string } | null
  ip: string | null
  userAgent: string | null
  details: Record<string, unknown>
  prevHash: string
  hash: string
}

export interface AuditHead {
  seq: number
  hash: string
}

export const AUDIT_PAGE_SIZE = 50
/** An export is one response; beyond this the filters (a date range) must narrow it. */
export const AUDIT_EXPORT_MAX = 100_000

export type AuditService = ReturnType<typeof createAuditService>

/** Reading and exporting an account's audit log: owners and admins only. */
export function createAuditService({
  db,
  keyRing,
  audit,
}: {
  db: Db
  keyRing: KeyRing
  audit: AuditLog
}) {
  async function list(
    actor: Actor,
    accountId: string,
    input: Record<string, unknown>,
    page: { before?: unknown } = {},
  ): Promise<{
    filter: AuditFilter
    entries: AuditEntryView[]
    nextBefore: number | null
    head: AuditHead | null
  }> {
    await authorize(db, actor, accountId, 'audit.read')
    const filter = parseAuditFilter(input)
    const before =
      typeof page.before === 'string' && /^\d{1,15}$/.test(page.before)
        ? Number(page.before)
        : undefined
    let query = filtered(accountId, filter)
    if (before !== undefined) query = query.where('seq', '<', before)
    const rows = await query
      .orderBy('seq', 'desc')
      .limit(AUDIT_PAGE_SIZE + 1)
      .execute()
    const shown = rows.slice(0, AUDIT_PAGE_SIZE)
    const last = shown.at(-1)
    return {
      filter,
      entries: await toViews(shown),
      nextBefore: rows.length > AUDIT_PAGE_SIZE && last !== undefined ? last.seq : null,
      head: await head(accountId),
    }
  }

  /** What the filter form offers: the people and target types that appear in the log. */
  async function filterOptions(
    actor: Actor,
    accountId: string,
  ): Promise<{
    actors: { userId: string; label: string }[]
    targetTypes: string[]
    actions: string[]
  }> {
    await authorize(db, actor, accountId, 'audit.read')
    const chain = chainOf(accountId)
    const [actorRows, targetRows, actionRows] = await Promise.all([
      db
        .selectFrom('audit_entries')
        .select('actor_user_id')
        .distinct()
        .where('chain', '=', chain)
        .where('actor_user_id', 'is not', null)
        .execute(),
      db
        .selectFrom('audit_entries')
        .select('target_type')
        .distinct()
        .where('chain', '=', chain)
        .where('target_type', 'is not', null)
        .execute(),
      db
        .selectFrom('audit_entries')
        .select('action')
        .distinct()
        .where('chain', '=', chain)
        .execute(),
    ])
    const ids = actorRows.flatMap((r) => (r.actor_user_id === null ? [] : [r.actor_user_id]))
    const users = await findUsersByIds(db, keyRing, ids)
    return {
      actors: ids
        .map((userId) => {
          const user = users.get(userId)
          return {
            userId,
            label: user === undefined ? `Deleted user ${userId}` : `${user.name} <${user.email}>`,
          }
        })
        .sort((a, b) => a.label.localeCompare(b.label)),
      targetTypes: targetRows
        .flatMap((r) => (r.target_type === null ? [] : [r.target_type]))
        .sort(),
      actions: actionRows.map((r) => r.action).sort(),
    }
  }

  /**
   * Every matching entry, oldest first, with the hashes that let anyone re-check them. The export
   * is itself recorded (after it is read, so it does not contain its own entry).
   */
  async function exportEntries(
    actor: Actor,
    accountId: string,
    input: Record<string, unknown>,
    format: 'csv' | 'json',
  ): Promise<{ filter: AuditFilter; entries: AuditEntryView[]; head: AuditHead | null }> {
    await authorize(db, actor, accountId, 'audit.read')
    const filter = parseAuditFilter(input)
    const rows = await filtered(accountId, filter)
      .orderBy('seq', 'asc')
      .limit(AUDIT_EXPORT_MAX + 1)
      .execute()
    if (rows.length > AUDIT_EXPORT_MAX)
      throw new ValidationError(
        { from: `More than ${String(AUDIT_EXPORT_MAX)} entries: export a shorter date range.` },
        'Too many entries for one export.',
        'export_too_large',
      )
    const result = { filter, entries: await toViews(rows), head: await head(accountId) }
    await audit.record(db, {
      accountId,
      ...auditOrigin(actor),
      action: 'audit.exported',
      target: { type: 'account', id: accountId },
      details: { format, entries: rows.length, filter: { ...filter } },
    })
    return result
  }

  function filtered(accountId: string, filter: AuditFilter) {
    let query = db.selectFrom('audit_entries').selectAll().where('chain', '=', chainOf(accountId))
    if (filter.action !== undefined) {
      const prefix = filter.action
      // substr rather than LIKE: action names contain "_", which LIKE reads as a wildcard.
      query = query.where(sql<string>`substr(action, 1, ${sql.lit(prefix.length)})`, '=', prefix)
    }
    if (filter.actorUserId !== undefined)
      query = query.where('actor_user_id', '=', filter.actorUserId)
    if (filter.targetType !== undefined) query = query.where('target_type', '=', filter.targetType)
    if (filter.targetId !== undefined) query = query.where('target_id', '=', filter.targetId)
    if (filter.from !== undefined)
      query = query.where('created_at', '>=', `${filter.from}T00:00:00.000Z`)
    if (filter.to !== undefined) {
      const end = new Date(`${filter.to}T00:00:00.000Z`)
      end.setUTCDate(end.getUTCDate() + 1)
      query = query.where('created_at', '<', end.toISOString())
    }
    return query
  }

  async function head(accountId: string): Promise<AuditHead | null> {
    const row = await db
      .selectFrom('audit_chain_heads')
      .select(['seq', 'hash'])
      .where('chain', '=', chainOf(accountId))
      .executeTakeFirst()
    return row === undefined ? null : { seq: row.seq, hash: row.hash }
  }

  async function toViews(rows: Selectable<AuditEntriesTable>[]): Promise<AuditEntryView[]> {
    const users = await findUsersByIds(
      db,
      keyRing,
      rows.flatMap((r) => (r.actor_user_id === null ? [] : [r.actor_user_id])),
    )
    return rows.map((row) => {
      const user = row.actor_user_id === null ? undefined : users.get(row.actor_user_id)
      return {
        hashed: hashedFieldsOf(row),
        id: row.id,
        seq: row.seq,
        createdAt: new Date(row.created_at),
        action: row.action,
        actor: {
          type: row.actor_type,
          userId: row.actor_user_id,
          apiKeyId: row.actor_api_key_id,
          name: user?.name,
          email: user?.email,
        },
        target:
          row.target_type === null || row.target_id === null
            ? null
            : { type: row.target_type, id: row.target_id },
        ip: row.ip,
        userAgent: row.user_agent,
        details: JSON.parse(row.details) as Record<string, unknown>,
        prevHash: row.prev_hash,
        hash: row.hash,
      }
    })
  }

  /** Checks the account's chain from its first entry (owners and admins). */
  async function verify(actor: Actor, accountId: string): Promise<ChainReport | null> {
    await authorize(db, actor, accountId, 'audit.read')
    const [report] = await audit.verify({ accountId })
    return report ?? null
  }

  return { list, filterOptions, exportEntries, verify }
}

/** The filter form's fields, checked; empty fields mean "any". */
export function parseAuditFilter(input: Record<string, unknown>): AuditFilter {
  const problems: Record<string, string> = {}
  const field = (name: string, pattern: RegExp, problem: string): string | undefined => {
    const raw = input[name]
    if (raw === undefined || raw === null) return undefined
    const value = typeof raw === 'string' ? raw.trim() : ''
    if (value === '') return undefined
    if (!pattern.test(value)) {
      problems[name] = problem
      return undefined
    }
    return value
  }
  const filter: AuditFilter = {
    action: field('action', /^[a-z_.]{1,64}$/, 'Use the start of an action, like incident.'),
    actorUserId: field('actor', /^[A-Za-z0-9_-]{1,64}$/, 'Choose a person from the list.'),
    targetType: field('targetType', /^[a-z_]{1,32}$/, 'Choose a target type from the list.'),
    targetId: field('targetId', /^[A-Za-z0-9_:.-]{1,64}$/, 'Enter the id of a target.'),
    from: field('from', /^\d{4}-\d{2}-\d{2}$/, 'Use a date like 2026-01-31.'),
    to: field('to', /^\d{4}-\d{2}-\d{2}$/, 'Use a date like 2026-01-31.'),
  }
  for (const name of ['from', 'to'] as const) {
    const value = filter[name]
    if (value !== undefined && Number.isNaN(Date.parse(`${value}T00:00:00Z`))) {
      problems[name] = 'Use a date like 2026-01-31.'
      filter[name] = undefined
    }
  }
  if (filter.from !== undefined && filter.to !== undefined && filter.to < filter.from)
    problems['to'] = 'The end date is before the start date.'
  if (Object.keys(problems).length > 0) throw new ValidationError(problems)
  return Object.fromEntries(Object.entries(filter).filter(([, value]) => value !== undefined))
}
