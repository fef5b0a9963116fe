import fastifyMultipart from '@fastify/multipart'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyReply } from 'fastify'
import type { Actor } from '../../domain/actor.js'
import { ForbiddenError, NotFoundError } from '../../domain/errors.js'
import { roleAllows } from '../../domain/policy.js'
import { MAX_IMPORT_BYTES } from '../../domain/subscribers/subscriber-service.js'
import type { Subscriber } from '../../domain/subscribers/types.js'
import type { App, ServerDeps } from '../app-type.js'
import type { Errors, Values } from '../views/page-views.js'
import {
  IncidentNotifications,
  NotificationsPage,
  STATE_FILTERS,
  SubscriberDetailPage,
  SubscribersPage,
  type SubscribersFilter,
  type SubscribersForm,
} from '../views/subscriber-views.js'
import { requireActor, sendHtml } from './html.js'
import {
  attempt,
  checkbox,
  csrf,
  Id,
  lastValue,
  loadPageView,
  pagePath,
  PageParams,
  pickNotice,
  text,
  type FormProblem,
  type PageView,
} from './page-routes.js'

const PAGE_SIZE = 50
const MAX_LIST_PAGE = 10_000

const componentIds = Type.Optional(
  Type.Union([
    Type.String({ maxLength: 64 }),
    Type.Array(Type.String({ maxLength: 64 }), { maxItems: 500 }),
  ]),
)
const ListQuery = Type.Object({
  state: text(16),
  channel: text(16),
  page: text(8),
  saved: text(32),
  imported: text(8),
  already: text(8),
})
const SubscriberParams = Type.Object({ pageId: Id, subscriberId: Id })
const AddBody = Type.Object({ ...csrf, channel: text(16), address: text(2000), componentIds })
const ComponentsBody = Type.Object({ ...csrf, componentIds })
const EraseBody = Type.Object({ ...csrf, confirm: text(8) })
const SettingsBody = Type.Object({ ...csrf, privacyNotice: text(5000), notifyTeam: checkbox })
const NoticeQuery = Type.Object({ saved: text(32), n: text(8) })
const RetryBody = Type.Object({ ...csrf, eventId: Type.Optional(Id) })
const MeBody = Type.Object({ ...csrf, notify: text(8) })
const CsrfQuery = Type.Object({ _csrf: text(256) })
/** The settings form's privacy notice, URL-encoded: up to 5,000 characters of several bytes each. */
const SETTINGS_FORM_BYTES = 128 * 1024

const LIST_NOTICES = { erased: 'Subscriber erased.', settings: 'Settings saved.' }
const DETAIL_NOTICES = {
  added: 'Subscriber added.',
  'added-pending': 'Subscriber added. They receive a link to confirm their address first.',
  components: 'Components saved.',
}
const NOTIFICATION_NOTICES = {
  me: 'Your choice is saved.',
}

const CSV_COLUMNS = [
  'id',
  'channel',
  'address',
  'state',
  'components',
  'created_at',
  'confirmed_at',
  'consent_at',
  'consent_source',
] as const

/**
 * One CSV cell: quoted when it holds a separator, quote or line break (RFC 4180), and prefixed
 * with a single quote when a spreadsheet would read it as a formula (CSV injection).
 */
export function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe
}

function componentsOf(subscriber: Subscriber): string {
  return subscriber.allComponents ? 'all' : subscriber.componentIds.join(' ')
}

export function subscribersCsv(list: readonly Subscriber[]): string {
  const rows = list.map((s) =>
    [
      s.id,
      s.channel,
      s.address,
      s.state,
      componentsOf(s),
      s.createdAt.toISOString(),
      s.confirmedAt?.toISOString() ?? '',
      s.consent.at.toISOString(),
      s.consent.source,
    ]
      .map(csvCell)
      .join(','),
  )
  return `${[CSV_COLUMNS.join(','), ...rows].join('\r\n')}\r\n`
}

function subscriberJson(s: Subscriber) {
  return {
    id: s.id,
    channel: s.channel,
    address: s.address,
    state: s.state,
    components: s.allComponents ? 'all' : s.componentIds,
    created_at: s.createdAt.toISOString(),
    confirmed_at: s.confirmedAt?.toISOString() ?? null,
    unsubscribed_at: s.unsubscribedAt?.toISOString() ?? null,
    consent: {
      at: s.consent.at.toISOString(),
      source: s.consent.source,
      text: s.consent.text,
      ip: s.consent.ip,
      user_agent: s.consent.userAgent,
    },
  }
}

function asList(value: string | readonly string[] | undefined): string[] {
  if (value === undefined) return []
  return typeof value === 'string' ? [value] : [...value]
}

function count(value: string | undefined): number {
  const n = Number.parseInt(value ?? '', 10)
  return Number.isFinite(n) && n >= 0 ? n : 0
}

function attachmentName(slug: string, extension: string): string {
  return `attachment; filename="subscribers-${slug.replace(/[^a-z0-9-]/gi, '')}.${extension}"`
}

/**
 * The dashboard's subscriber pages (editor and up; the services refuse a viewer with 403 and
 * another account's member with 404) and the notification pages (viewer and up to read).
 */
export function registerSubscriberAdminRoutes(app: App, deps: ServerDeps): void {
  const { subscribers, notifications, components } = deps.services

  // -------------------------------------------------------------------------------------------
  // The list, with the add, import and settings forms
  // -------------------------------------------------------------------------------------------

  async function renderList(
    reply: FastifyReply,
    actor: Actor,
    pageId: string,
    query: { state?: string | undefined; channel?: string | undefined; page?: string | undefined },
    form: {
      notice?: string | undefined
      form?: SubscribersForm
      errors?: Errors
      values?: Values
      selected?: readonly string[]
      imported?: { imported: number; alreadySubscribed: number }
    },
    status = 200,
  ) {
    const view = await loadPageView(deps, reply, actor, pageId)
    const filter: SubscribersFilter = {
      state: STATE_FILTERS.find((s) => s === query.state),
      channel: query.channel === '' ? undefined : query.channel,
      page: Math.min(Math.max(count(query.page), 1), MAX_LIST_PAGE),
    }
    const channel = filter.channel === undefined ? {} : { channel: filter.channel }
    const result = await subscribers.list(actor, pageId, {
      ...(filter.state === undefined ? {} : { state: filter.state }),
      ...channel,
      limit: PAGE_SIZE,
      offset: (filter.page - 1) * PAGE_SIZE,
    })
    const totalOf = async (state?: string) =>
      (
        await subscribers.list(actor, pageId, {
          ...(state === undefined ? {} : { state }),
          ...channel,
          limit: 1,
        })
      ).total
    const [all, pending, active, unsubscribed, componentList, settings] = await Promise.all([
      totalOf(),
      totalOf('pending'),
      totalOf('active'),
      totalOf('unsubscribed'),
      components.list(actor, pageId),
      roleAllows(view.role, 'subscriber.settings')
        ? subscribers.getSettings(actor, pageId)
        : undefined,
    ])
    return sendHtml(
      reply,
      <SubscribersPage
        {...view}
        subscribers={result.subscribers}
        total={result.total}
        counts={{ all, pending, active, unsubscribed }}
        filter={filter}
        pageSize={PAGE_SIZE}
        components={componentList}
        settings={
          settings === undefined
            ? undefined
            : { privacyNotice: settings.privacyNotice ?? '', notifyTeam: settings.notifyTeam }
        }
        {...form}
      />,
      status,
    )
  }

  app.get(
    '/pages/:pageId/subscribers',
    {
      config: { action: 'subscriber.read' },
      schema: { params: PageParams, querystring: ListQuery },
    },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { query } = request
      return renderList(reply, actor, request.params.pageId, query, {
        notice: pickNotice(LIST_NOTICES, query.saved),
        ...(query.saved === 'imported'
          ? {
              imported: {
                imported: count(query.imported),
                alreadySubscribed: count(query.already),
              },
            }
          : {}),
      })
    },
  )

  app.post(
    '/pages/:pageId/subscribers',
    { config: { action: 'subscriber.write' }, schema: { params: PageParams, body: AddBody } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { pageId } = request.params
      const { channel, address } = request.body
      const selected = asList(request.body.componentIds)
      const result = await attempt(() =>
        subscribers.add(actor, pageId, { channel, address, componentIds: selected }),
      )
      if (!result.ok)
        return renderList(
          reply,
          actor,
          pageId,
          {},
          { form: 'add', errors: result.problem.fields, values: { channel, address }, selected },
          result.problem.status,
        )
      const { subscriber, secret } = result.value
      // The webhook's secret is shown once, in this answer: never in an address or a log line.
      if (secret !== null)
        return renderDetail(reply, actor, pageId, subscriber.id, {
          secret,
          notice: DETAIL_NOTICES.added,
        })
      return reply.redirect(
        pagePath(
          pageId,
          `/subscribers/${encodeURIComponent(subscriber.id)}?saved=${subscriber.state === 'pending' ? 'added-pending' : 'added'}`,
        ),
        303,
      )
    },
  )

  app.post(
    '/pages/:pageId/subscribers/settings',
    {
      config: { action: 'subscriber.settings' },
      schema: { params: PageParams, body: SettingsBody },
      bodyLimit: SETTINGS_FORM_BYTES,
    },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { pageId } = request.params
      const notifyTeam = lastValue(request.body.notifyTeam)
      const privacyNotice = request.body.privacyNotice
      const result = await attempt(() =>
        subscribers.updateSettings(actor, pageId, { privacyNotice, notifyTeam }),
      )
      if (!result.ok)
        return renderList(
          reply,
          actor,
          pageId,
          {},
          {
            form: 'settings',
            errors: result.problem.fields,
            values: { privacyNotice, notifyTeam },
          },
          result.problem.status,
        )
      return reply.redirect(pagePath(pageId, '/subscribers?saved=settings'), 303)
    },
  )

  // The import is a file upload: the multipart parser lives in this scope only, and the CSRF token
  // travels in the form's action URL because the body is not parsed before the check.
  void app.register(async (scope) => {
    await scope.register(fastifyMultipart, {
      limits: {
        fileSize: MAX_IMPORT_BYTES,
        files: 1,
        fields: 4,
        parts: 5,
        fieldSize: MAX_IMPORT_BYTES,
      },
    })
    scope.withTypeProvider<TypeBoxTypeProvider>().post(
      '/pages/:pageId/subscribers/import',
      {
        config: { action: 'subscriber.write' },
        schema: { params: PageParams, querystring: CsrfQuery },
      },
      async (request, reply) => {
        const actor = requireActor(request, reply)
        if (actor === undefined) return reply
        const { pageId } = request.params
        // Refused before the upload is read, as the service would refuse it after.
        const view = await loadPageView(deps, reply, actor, pageId)
        if (!roleAllows(view.role, 'subscriber.write')) throw new ForbiddenError()
        const fields: Record<string, string> = {}
        let file: string | undefined
        let problem: FormProblem | undefined
        const tooLarge = {
          fields: {
            csv: `The file must be at most ${String(MAX_IMPORT_BYTES / 1024 / 1024)} MiB.`,
          },
          status: 413,
        }
        try {
          for await (const part of request.parts()) {
            if (part.type === 'file') {
              const data = await part.toBuffer()
              if (data.length > 0) file = data.toString('utf8')
            } else if (typeof part.value === 'string') {
              if (part.valueTruncated) problem = tooLarge
              fields[part.fieldname] = part.value
            }
          }
        } catch (error) {
          if (!(error instanceof scope.multipartErrors.RequestFileTooLargeError)) throw error
          problem = tooLarge
        }
        const input = {
          csv: file ?? fields['csv'] ?? '',
          consentAssertion: fields['consentAssertion'],
          consentConfirmed: fields['consentConfirmed'],
        }
        let imported: { imported: number; alreadySubscribed: number } | undefined
        if (problem === undefined) {
          const result = await attempt(() => subscribers.importCsv(actor, pageId, input))
          if (result.ok) imported = result.value
          else problem = result.problem
        }
        if (imported === undefined)
          return renderList(
            reply,
            actor,
            pageId,
            {},
            {
              form: 'import',
              errors: problem?.fields ?? {},
              values: {
                // A pasted list comes back to be corrected; an uploaded file is chosen again.
                csv: file === undefined ? fields['csv'] : undefined,
                consentAssertion: fields['consentAssertion'],
                consentConfirmed: fields['consentConfirmed'],
              },
            },
            problem?.status ?? 422,
          )
        return reply.redirect(
          pagePath(
            pageId,
            `/subscribers?saved=imported&imported=${String(imported.imported)}&already=${String(imported.alreadySubscribed)}`,
          ),
          303,
        )
      },
    )
  })

  app.get(
    '/pages/:pageId/subscribers/export.csv',
    { config: { action: 'subscriber.read' }, schema: { params: PageParams } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { page } = await loadPageView(deps, reply, actor, request.params.pageId)
      const list = await subscribers.exportAll(actor, page.id, 'csv')
      return reply
        .type('text/csv; charset=utf-8')
        .header('Content-Disposition', attachmentName(page.slug, 'csv'))
        .send(subscribersCsv(list))
    },
  )

  app.get(
    '/pages/:pageId/subscribers/export.json',
    { config: { action: 'subscriber.read' }, schema: { params: PageParams } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { page } = await loadPageView(deps, reply, actor, request.params.pageId)
      const list = await subscribers.exportAll(actor, page.id, 'json')
      return reply
        .type('application/json; charset=utf-8')
        .header('Content-Disposition', attachmentName(page.slug, 'json'))
        .send(JSON.stringify({ page_id: page.id, subscribers: list.map(subscriberJson) }, null, 2))
    },
  )

  // -------------------------------------------------------------------------------------------
  // One subscriber
  // -------------------------------------------------------------------------------------------

  /** The subscriber, which must belong to the page in the address (the service checks the role). */
  async function loadSubscriber(actor: Actor, pageId: string, subscriberId: string) {
    const subscriber = await subscribers.get(actor, subscriberId)
    if (subscriber.pageId !== pageId) throw new NotFoundError('The subscriber')
    return subscriber
  }

  async function renderDetail(
    reply: FastifyReply,
    actor: Actor,
    pageId: string,
    subscriberId: string,
    form: {
      notice?: string | undefined
      secret?: string
      errors?: Errors
      selected?: readonly string[]
    },
    status = 200,
  ) {
    const subscriber = await loadSubscriber(actor, pageId, subscriberId)
    const view = await loadPageView(deps, reply, actor, pageId)
    const [componentList, deliveries] = await Promise.all([
      components.list(actor, pageId),
      notifications.listDeliveries(actor, pageId, { subscriberId, limit: 100 }),
    ])
    return sendHtml(
      reply,
      <SubscriberDetailPage
        {...view}
        subscriber={subscriber}
        components={componentList}
        deliveries={deliveries}
        {...form}
      />,
      status,
    )
  }

  app.get(
    '/pages/:pageId/subscribers/:subscriberId',
    {
      config: { action: 'subscriber.read' },
      schema: { params: SubscriberParams, querystring: NoticeQuery },
    },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { pageId, subscriberId } = request.params
      return renderDetail(reply, actor, pageId, subscriberId, {
        notice: pickNotice(DETAIL_NOTICES, request.query.saved),
      })
    },
  )

  app.get(
    '/pages/:pageId/subscribers/:subscriberId/export',
    { config: { action: 'subscriber.read' }, schema: { params: SubscriberParams } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { pageId, subscriberId } = request.params
      await loadSubscriber(actor, pageId, subscriberId)
      const data = await subscribers.exportForActor(actor, subscriberId)
      return reply
        .type('application/json; charset=utf-8')
        .header(
          'Content-Disposition',
          `attachment; filename="subscriber-${subscriberId.replace(/[^a-z0-9]/gi, '')}.json"`,
        )
        .send(JSON.stringify(data, null, 2))
    },
  )

  app.post(
    '/pages/:pageId/subscribers/:subscriberId/components',
    {
      config: { action: 'subscriber.write' },
      schema: { params: SubscriberParams, body: ComponentsBody },
    },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { pageId, subscriberId } = request.params
      await loadSubscriber(actor, pageId, subscriberId)
      const selected = asList(request.body.componentIds)
      const result = await attempt(() => subscribers.setComponents(actor, subscriberId, selected))
      if (!result.ok)
        return renderDetail(
          reply,
          actor,
          pageId,
          subscriberId,
          { errors: result.problem.fields, selected },
          result.problem.status,
        )
      return reply.redirect(
        pagePath(pageId, `/subscribers/${encodeURIComponent(subscriberId)}?saved=components`),
        303,
      )
    },
  )

  app.post(
    '/pages/:pageId/subscribers/:subscriberId/rotate-secret',
    {
      config: { action: 'subscriber.write' },
      schema: { params: SubscriberParams, body: Type.Object(csrf) },
    },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { pageId, subscriberId } = request.params
      await loadSubscriber(actor, pageId, subscriberId)
      const result = await attempt(() => subscribers.rotateSecret(actor, subscriberId))
      if (!result.ok)
        return renderDetail(
          reply,
          actor,
          pageId,
          subscriberId,
          { errors: result.problem.fields },
          result.problem.status,
        )
      return renderDetail(reply, actor, pageId, subscriberId, {
        secret: result.value,
        notice: 'A new signing secret replaces the previous one.',
      })
    },
  )

  app.post(
    '/pages/:pageId/subscribers/:subscriberId/erase',
    {
      config: { action: 'subscriber.write' },
      schema: { params: SubscriberParams, body: EraseBody },
    },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { pageId, subscriberId } = request.params
      await loadSubscriber(actor, pageId, subscriberId)
      if (request.body.confirm === undefined || request.body.confirm === '')
        return renderDetail(
          reply,
          actor,
          pageId,
          subscriberId,
          { errors: { confirm: 'Tick the box to confirm the erasure.' } },
          422,
        )
      await subscribers.erase(actor, subscriberId)
      return reply.redirect(pagePath(pageId, '/subscribers?saved=erased'), 303)
    },
  )

  // -------------------------------------------------------------------------------------------
  // Notifications: fan-out progress, failures, retries, and the member's own choice
  // -------------------------------------------------------------------------------------------

  app.get(
    '/pages/:pageId/notifications',
    {
      config: { action: 'notification.read' },
      schema: { params: PageParams, querystring: NoticeQuery },
    },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const view = await loadPageView(deps, reply, actor, request.params.pageId)
      const pageId = view.page.id
      const [progress, failures, optedOut] = await Promise.all([
        notifications.progress(actor, pageId, { limit: 20 }),
        notifications.listDeliveries(actor, pageId, { state: 'failed', limit: 100 }),
        subscribers.memberOptedOut(actor, pageId),
      ])
      const { saved } = request.query
      const retried = count(request.query.n)
      return sendHtml(
        reply,
        <NotificationsPage
          {...view}
          progress={progress}
          failures={failures}
          optedOut={optedOut}
          notice={
            saved === 'retried'
              ? `${String(retried)} failed ${retried === 1 ? 'delivery' : 'deliveries'} queued again.`
              : pickNotice(NOTIFICATION_NOTICES, saved)
          }
        />,
      )
    },
  )

  app.post(
    '/pages/:pageId/notifications/retry',
    { config: { action: 'notification.retry' }, schema: { params: PageParams, body: RetryBody } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { pageId } = request.params
      const { eventId } = request.body
      const retried = await notifications.retryFailed(
        actor,
        pageId,
        eventId === undefined ? {} : { eventId },
      )
      return reply.redirect(
        pagePath(pageId, `/notifications?saved=retried&n=${String(retried)}`),
        303,
      )
    },
  )

  app.post(
    '/pages/:pageId/notifications/me',
    { config: { action: 'notification.opt-out' }, schema: { params: PageParams, body: MeBody } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { pageId } = request.params
      await subscribers.setMemberOptOut(actor, pageId, request.body.notify !== 'true')
      return reply.redirect(pagePath(pageId, '/notifications?saved=me'), 303)
    },
  )
}

/** The incident page's notification section: the fan-out of that incident's events. */
export async function incidentNotificationsSection(
  deps: ServerDeps,
  actor: Actor,
  view: PageView,
  incidentId: string,
) {
  const progress = await deps.services.notifications.progress(actor, view.page.id, {
    incidentId,
  })
  return (
    <IncidentNotifications
      page={view.page}
      role={view.role}
      progress={progress}
      csrfToken={view.nav.csrfToken}
    />
  )
}
