import { Type } from '@sinclair/typebox'
import type { AuditEntryView, AuditFilter } from '../../domain/audit/audit-service.js'
import type { Actor } from '../../domain/actor.js'
import { ValidationError } from '../../domain/errors.js'
import type { App, ServerDeps } from '../app-type.js'
import { AuditLogPage } from '../views/audit-views.js'
import { navFor, requireActor, sendHtml } from './html.js'
import { csvCell } from './subscriber-routes.js'

const text = (maxLength: number) => Type.Optional(Type.String({ maxLength }))
const AccountParams = Type.Object({ accountId: Type.String({ minLength: 1, maxLength: 64 }) })
const filterFields = {
  action: text(200),
  actor: text(200),
  targetType: text(200),
  targetId: text(200),
  from: text(32),
  to: text(32),
}
const ListQuery = Type.Object({ ...filterFields, before: text(20) })
const ExportBody = Type.Object({
  ...filterFields,
  _csrf: text(256),
  format: Type.Union([Type.Literal('csv'), Type.Literal('json')]),
})
const VerifyBody = Type.Object({ _csrf: text(256) })

const CSV_COLUMNS = [
  'seq',
  'created_at',
  'action',
  'actor_type',
  'actor_user_id',
  'actor_name',
  'actor_email',
  'actor_api_key_id',
  'target_type',
  'target_id',
  'ip',
  'user_agent',
  'details',
  'prev_hash',
  'hash',
] as const

/** Every cell goes through csvCell: quoted as needed, and never read as a formula by a spreadsheet. */
export function auditCsv(entries: readonly AuditEntryView[]): string {
  const rows = entries.map((e) =>
    [
      String(e.seq),
      e.createdAt.toISOString(),
      e.action,
      e.actor.type,
      e.actor.userId ?? '',
      e.actor.name ?? '',
      e.actor.email ?? '',
      e.actor.apiKeyId ?? '',
      e.target?.type ?? '',
      e.target?.id ?? '',
      e.ip ?? '',
      e.userAgent ?? '',
      e.hashed.details,
      e.prevHash,
      e.hash,
    ]
      .map(csvCell)
      .join(','),
  )
  return `${[CSV_COLUMNS.join(','), ...rows].join('\r\n')}\r\n`
}

/**
 * The JSON export: each entry carries exactly the fields its hash covers (with `details` as the
 * canonical JSON text that was hashed), its prev_hash and hash, and apart from those the names
 * shown for people, so anyone can re-compute every hash without Candor.
 */
export function auditJson(
  accountId: string,
  exportedAt: Date,
  result: { filter: AuditFilter; entries: readonly AuditEntryView[]; head: unknown },
): string {
  return JSON.stringify(
    {
      accountId,
      exportedAt: exportedAt.toISOString(),
      filter: result.filter,
      head: result.head,
      hashing:
        'hash = hex(SHA-256(prevHash + canonical JSON of the entry without prevHash, hash and shown)); canonical JSON sorts object keys and has no whitespace; the first entry of a chain has a prevHash of 64 zeros',
      entries: result.entries.map((e) => ({
        ...e.hashed,
        prevHash: e.prevHash,
        hash: e.hash,
        shown: { actorName: e.actor.name ?? null, actorEmail: e.actor.email ?? null },
      })),
    },
    null,
    2,
  )
}

/** The account's audit log: owners and admins (the service refuses others: 403, or 404 outside). */
export function registerAuditRoutes(app: App, deps: ServerDeps): void {
  const { auditLog } = deps.services

  async function renderLog(
    actor: Actor,
    accountId: string,
    query: Record<string, string | undefined>,
    options: { verify?: boolean } = {},
  ) {
    const verification =
      options.verify === true ? await auditLog.verify(actor, accountId) : undefined
    const shared = {
      accountId,
      values: query,
      options: await auditLog.filterOptions(actor, accountId),
      ...(verification === undefined ? {} : { verification }),
    }
    try {
      const result = await auditLog.list(actor, accountId, query, { before: query['before'] })
      return {
        status: 200,
        props: {
          ...shared,
          ...result,
          paged: query['before'] !== undefined && query['before'] !== '',
        },
      }
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error
      return {
        status: 422,
        props: {
          ...shared,
          filter: {},
          entries: [],
          nextBefore: null,
          paged: false,
          head: null,
          errors: error.fields,
        },
      }
    }
  }

  app.get(
    '/a/:accountId/audit',
    { config: { action: 'audit.read' }, schema: { params: AccountParams, querystring: ListQuery } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { accountId } = request.params
      const { status, props } = await renderLog(actor, accountId, request.query)
      return sendHtml(
        reply,
        <AuditLogPage nav={await navFor(deps, reply, actor, accountId)} {...props} />,
        status,
      )
    },
  )

  app.post(
    '/a/:accountId/audit/verify',
    { config: { action: 'audit.read' }, schema: { params: AccountParams, body: VerifyBody } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { accountId } = request.params
      const { status, props } = await renderLog(actor, accountId, {}, { verify: true })
      return sendHtml(
        reply,
        <AuditLogPage nav={await navFor(deps, reply, actor, accountId)} {...props} />,
        status,
      )
    },
  )

  app.post(
    '/a/:accountId/audit/export',
    { config: { action: 'audit.read' }, schema: { params: AccountParams, body: ExportBody } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { accountId } = request.params
      const { format, action, actor: person, targetType, targetId, from, to } = request.body
      const result = await auditLog.exportEntries(
        actor,
        accountId,
        { action, actor: person, targetType, targetId, from, to },
        format,
      )
      const name = `audit-${accountId.replace(/[^a-z0-9]/gi, '')}-${new Date().toISOString().slice(0, 10)}`
      void reply.header('Content-Disposition', `attachment; filename="${name}.${format}"`)
      return format === 'csv'
        ? reply.type('text/csv; charset=utf-8').send(auditCsv(result.entries))
        : reply
            .type('application/json; charset=utf-8')
            .send(auditJson(accountId, new Date(), result))
    },
  )
}
