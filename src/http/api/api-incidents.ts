import { Type } from '@sinclair/typebox'
import type { Actor } from '../../domain/actor.js'
import { NotFoundError, ValidationError } from '../../domain/errors.js'
import type { Component, Incident, IncidentUpdate } from '../../domain/pages/types.js'
import type { ServerDeps } from '../app-type.js'
import { actorOf, pageUrlOf, serializeComponent } from './api-pages.js'
import { paginate, type ApiInstance } from './api-plugin.js'
import { INCIDENT_STATUSES } from '../../domain/pages/types.js'
import {
  ComponentStatusSchema,
  ImpactSchema,
  IncidentStatusSchema,
  PageIdParams,
  Pagination,
  StringEnum,
  problemResponses,
} from './api-schemas.js'

const iso = (date: Date | null) => (date === null ? null : date.toISOString())

function serializeUpdate(update: IncidentUpdate) {
  return {
    id: update.id,
    incident_id: update.incidentId,
    status: update.status === 'false_alarm' ? 'resolved' : update.status,
    body: update.body,
    created_at: update.createdAt.toISOString(),
    updated_at: update.updatedAt.toISOString(),
    display_at: update.displayAt.toISOString(),
    affected_components:
      update.affectedComponents?.map((a) => ({
        code: a.code,
        name: a.name,
        old_status: a.oldStatus,
        new_status: a.newStatus,
      })) ?? null,
    deliver_notifications: update.deliverNotifications,
    custom_tweet: null,
    tweet_id: null,
  }
}

function serializeIncident(incident: Incident, components: readonly Component[], pageUrl: string) {
  return {
    id: incident.id,
    page_id: incident.pageId,
    name: incident.name,
    status: incident.status === 'false_alarm' ? 'resolved' : incident.status,
    impact: incident.impact,
    impact_override: incident.kind === 'incident' ? incident.impact : null,
    created_at: incident.createdAt.toISOString(),
    updated_at: incident.updatedAt.toISOString(),
    started_at: incident.startedAt.toISOString(),
    monitoring_at: iso(incident.monitoringAt),
    resolved_at: iso(incident.resolvedAt),
    shortlink: `${pageUrl.replace(/\/+$/, '')}/incidents/${incident.id}`,
    scheduled_for: iso(incident.scheduledFor),
    scheduled_until: iso(incident.scheduledUntil),
    scheduled_auto_in_progress: incident.autoStart,
    scheduled_auto_completed: incident.autoComplete,
    postmortem_body: incident.postmortemPublishedAt === null ? null : incident.postmortemBody,
    postmortem_published_at: iso(incident.postmortemPublishedAt),
    incident_updates: incident.updates.map(serializeUpdate),
    components: components
      .filter((c) => incident.componentIds.includes(c.id))
      .map(serializeComponent),
  }
}

const Components = Type.Record(Type.String({ maxLength: 64 }), ComponentStatusSchema, {
  description: 'component id → new status',
})
const ComponentIds = Type.Array(Type.String({ maxLength: 64 }), { maxItems: 500 })

const IncidentFields = {
  name: Type.Optional(Type.String({ maxLength: 200 })),
  status: Type.Optional(IncidentStatusSchema),
  impact_override: Type.Optional(Type.Union([ImpactSchema, Type.Null()])),
  body: Type.Optional(Type.String({ maxLength: 20_000 })),
  components: Type.Optional(Components),
  component_ids: Type.Optional(ComponentIds),
  deliver_notifications: Type.Optional(Type.Boolean()),
  scheduled_for: Type.Optional(Type.Union([Type.String({ format: 'date-time' }), Type.Null()])),
  scheduled_until: Type.Optional(Type.Union([Type.String({ format: 'date-time' }), Type.Null()])),
  scheduled_auto_in_progress: Type.Optional(Type.Boolean()),
  scheduled_auto_completed: Type.Optional(Type.Boolean()),
}
const IncidentBody = Type.Object({
  incident: Type.Object(IncidentFields, { additionalProperties: false }),
})
const UpdateBody = Type.Object({
  incident_update: Type.Object(
    {
      status: Type.Optional(IncidentStatusSchema),
      body: Type.Optional(Type.String({ maxLength: 20_000 })),
      display_at: Type.Optional(Type.String({ format: 'date-time' })),
      components: Type.Optional(Components),
      deliver_notifications: Type.Optional(Type.Boolean()),
    },
    { additionalProperties: false },
  ),
})
const TemplateBody = Type.Object({
  template: Type.Object(
    {
      name: Type.String({ maxLength: 100 }),
      title: Type.String({ maxLength: 200 }),
      body: Type.String({ maxLength: 20_000 }),
      update_status: Type.Optional(StringEnum(INCIDENT_STATUSES)),
      impact: Type.Optional(ImpactSchema),
    },
    { additionalProperties: false },
  ),
})
const TemplateSchema = Type.Object({
  id: Type.String(),
  page_id: Type.String(),
  name: Type.String(),
  title: Type.String(),
  body: Type.String(),
  update_status: Type.String(),
  impact: Type.String(),
})

const IncidentParams = Type.Object({
  page_id: Type.String({ maxLength: 64 }),
  incident_id: Type.String({ maxLength: 64 }),
})
const UpdateParams = Type.Object({
  page_id: Type.String({ maxLength: 64 }),
  incident_id: Type.String({ maxLength: 64 }),
  incident_update_id: Type.String({ maxLength: 64 }),
})
const ListQuery = Type.Composite([
  Pagination,
  Type.Object({
    q: Type.Optional(Type.String({ maxLength: 200, description: 'Filter by words in the name' })),
  }),
])

const DEFAULT_MESSAGES: Record<string, string> = {
  investigating: 'We are investigating this issue.',
  identified: 'The issue has been identified and a fix is being worked on.',
  monitoring: 'A fix has been implemented and we are monitoring the results.',
  resolved: 'This incident has been resolved.',
  false_alarm: 'This was a false alarm.',
  scheduled: 'This maintenance is scheduled.',
  in_progress: 'Scheduled maintenance is currently in progress.',
  verifying: 'Maintenance is being verified.',
  completed: 'The scheduled maintenance has been completed.',
}

/** The text Statuspage shows for a status change sent without a message. */
function defaultMessage(status: string): string {
  return DEFAULT_MESSAGES[status] ?? 'This incident has been updated.'
}

const isOpen = (i: Incident) =>
  i.status !== 'resolved' && i.status !== 'false_alarm' && i.status !== 'completed'

export function registerIncidentResources(api: ApiInstance, deps: ServerDeps): void {
  const { incidents, components, pages } = deps.services
  const tags = ['Incidents']

  async function context(actor: Actor, pageId: string) {
    const [page, list] = await Promise.all([
      pages.get(actor, pageId),
      components.list(actor, pageId),
    ])
    return { url: pageUrlOf(deps, page), components: list }
  }

  async function incidentOfPage(actor: Actor, pageId: string, incidentId: string) {
    const incident = await incidents.get(actor, incidentId)
    if (incident.pageId !== pageId) throw new NotFoundError('The incident')
    return incident
  }

  async function all(actor: Actor, pageId: string): Promise<Incident[]> {
    const [open, maintenance] = await Promise.all([
      incidents.list(actor, pageId, 'incident', 1000),
      incidents.list(actor, pageId, 'maintenance', 1000),
    ])
    return [...open, ...maintenance].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
  }

  const lists: [string, string, (i: Incident, now: number) => boolean][] = [
    ['', 'List incidents and maintenances, newest first', () => true],
    ['/unresolved', 'List unresolved incidents', (i) => i.kind === 'incident' && isOpen(i)],
    ['/scheduled', 'List scheduled maintenances', (i) => i.kind === 'maintenance'],
    [
      '/upcoming',
      'List upcoming maintenances',
      (i) => i.kind === 'maintenance' && i.status === 'scheduled',
    ],
    [
      '/active_maintenance',
      'List maintenances in progress',
      (i) => i.kind === 'maintenance' && (i.status === 'in_progress' || i.status === 'verifying'),
    ],
  ]
  for (const [suffix, summary, keep] of lists)
    api.get(
      `/pages/:page_id/incidents${suffix}`,
      {
        schema: {
          tags,
          summary,
          params: PageIdParams,
          querystring: ListQuery,
          response: { 200: Type.Array(Type.Ref('Incident')), ...problemResponses },
        },
      },
      async (request, reply) => {
        const actor = actorOf(request)
        const { page_id: pageId } = request.params
        const ctx = await context(actor, pageId)
        const words = (request.query.q ?? '').toLowerCase().split(/\s+/).filter(Boolean)
        const now = Date.now()
        const found = (await all(actor, pageId)).filter(
          (i) => keep(i, now) && words.every((w) => i.name.toLowerCase().includes(w)),
        )
        return paginate(request, reply, found).map((i) =>
          serializeIncident(i, ctx.components, ctx.url),
        )
      },
    )

  api.post(
    '/pages/:page_id/incidents',
    {
      schema: {
        tags,
        summary:
          'Create an incident, or a scheduled maintenance when scheduled_for and scheduled_until are given',
        params: PageIdParams,
        body: IncidentBody,
        response: { 201: Type.Ref('Incident'), ...problemResponses },
      },
    },
    async (request, reply) => {
      const actor = actorOf(request)
      const { page_id: pageId } = request.params
      const body = request.body.incident
      let created: Incident
      if (body.scheduled_for !== undefined && body.scheduled_for !== null) {
        if (body.status !== undefined && body.status !== 'scheduled')
          throw new ValidationError({
            'incident.status': 'A new maintenance starts as scheduled.',
          })
        created = await incidents.scheduleMaintenance(actor, pageId, {
          name: body.name,
          body: body.body,
          scheduledFor: body.scheduled_for,
          scheduledUntil: body.scheduled_until ?? undefined,
          componentIds: body.component_ids ?? Object.keys(body.components ?? {}),
          autoStart: body.scheduled_auto_in_progress ?? true,
          autoComplete: body.scheduled_auto_completed ?? true,
          deliverNotifications: body.deliver_notifications ?? true,
        })
      } else {
        created = await incidents.create(actor, pageId, {
          name: body.name,
          status: body.status,
          impact: body.impact_override ?? undefined,
          body: body.body,
          components: body.components,
          componentIds: body.component_ids,
          deliverNotifications: body.deliver_notifications ?? true,
        })
      }
      const ctx = await context(actor, pageId)
      return reply.code(201).send(serializeIncident(created, ctx.components, ctx.url))
    },
  )

  api.get(
    '/pages/:page_id/incidents/:incident_id',
    {
      schema: {
        tags,
        summary: 'Get an incident',
        params: IncidentParams,
        response: { 200: Type.Ref('Incident'), ...problemResponses },
      },
    },
    async (request) => {
      const actor = actorOf(request)
      const { page_id: pageId, incident_id: incidentId } = request.params
      const incident = await incidentOfPage(actor, pageId, incidentId)
      const ctx = await context(actor, pageId)
      return serializeIncident(incident, ctx.components, ctx.url)
    },
  )

  for (const method of ['patch', 'put'] as const)
    api[method](
      '/pages/:page_id/incidents/:incident_id',
      {
        schema: {
          tags,
          summary:
            'Update an incident: name, impact or window; a status or body adds an update, as on Statuspage',
          params: IncidentParams,
          body: IncidentBody,
          response: { 200: Type.Ref('Incident'), ...problemResponses },
        },
      },
      async (request) => {
        const actor = actorOf(request)
        const params = request.params
        const body = request.body.incident
        const current = await incidentOfPage(actor, params.page_id, params.incident_id)
        if (
          body.name !== undefined ||
          body.impact_override !== undefined ||
          body.scheduled_for !== undefined ||
          body.scheduled_until !== undefined
        )
          await incidents.updateIncident(actor, current.id, {
            ...(body.name === undefined ? {} : { name: body.name }),
            ...(body.impact_override === undefined || body.impact_override === null
              ? {}
              : { impact: body.impact_override }),
            ...(body.scheduled_for === undefined || body.scheduled_for === null
              ? {}
              : { scheduledFor: body.scheduled_for }),
            ...(body.scheduled_until === undefined || body.scheduled_until === null
              ? {}
              : { scheduledUntil: body.scheduled_until }),
          })
        if (body.status !== undefined || body.body !== undefined || body.components !== undefined)
          await incidents.addUpdate(actor, current.id, {
            status: body.status ?? current.status,
            // Statuspage accepts a status change without a message and shows a standard one.
            body:
              body.body === undefined || body.body.trim() === ''
                ? defaultMessage(body.status ?? current.status)
                : body.body,
            components: body.components,
            deliverNotifications: body.deliver_notifications ?? true,
          })
        const ctx = await context(actor, params.page_id)
        return serializeIncident(await incidents.get(actor, current.id), ctx.components, ctx.url)
      },
    )

  api.delete(
    '/pages/:page_id/incidents/:incident_id',
    {
      schema: {
        tags,
        summary: 'Delete an incident',
        params: IncidentParams,
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (request, reply) => {
      const actor = actorOf(request)
      const { page_id: pageId, incident_id: incidentId } = request.params
      await incidentOfPage(actor, pageId, incidentId)
      await incidents.remove(actor, incidentId)
      return reply.code(204).send(null)
    },
  )

  api.get(
    '/pages/:page_id/incidents/:incident_id/incident_updates',
    {
      schema: {
        tags,
        summary: "List an incident's updates, newest first",
        params: IncidentParams,
        response: { 200: Type.Array(Type.Ref('IncidentUpdate')), ...problemResponses },
      },
    },
    async (request) => {
      const { page_id: pageId, incident_id: incidentId } = request.params
      const incident = await incidentOfPage(actorOf(request), pageId, incidentId)
      return incident.updates.map(serializeUpdate)
    },
  )

  api.post(
    '/pages/:page_id/incidents/:incident_id/incident_updates',
    {
      schema: {
        tags,
        summary: 'Add an update (Candor; Statuspage clients PATCH the incident instead)',
        params: IncidentParams,
        body: UpdateBody,
        response: { 201: Type.Ref('IncidentUpdate'), ...problemResponses },
      },
    },
    async (request, reply) => {
      const actor = actorOf(request)
      const { page_id: pageId, incident_id: incidentId } = request.params
      const current = await incidentOfPage(actor, pageId, incidentId)
      const body = request.body.incident_update
      const updated = await incidents.addUpdate(actor, current.id, {
        status: body.status ?? current.status,
        body: body.body,
        components: body.components,
        displayAt: body.display_at,
        deliverNotifications: body.deliver_notifications ?? true,
      })
      const newest = updated.updates.find((u) => !current.updates.some((o) => o.id === u.id))
      if (newest === undefined) throw new NotFoundError('The new update')
      return reply.code(201).send(serializeUpdate(newest))
    },
  )

  for (const method of ['patch', 'put'] as const)
    api[method](
      '/pages/:page_id/incidents/:incident_id/incident_updates/:incident_update_id',
      {
        schema: {
          tags,
          summary: "Edit an update's text or time (the previous version is kept in the trail)",
          params: UpdateParams,
          body: UpdateBody,
          response: { 200: Type.Ref('IncidentUpdate'), ...problemResponses },
        },
      },
      async (request) => {
        const actor = actorOf(request)
        const params = request.params
        const body = request.body.incident_update
        const incident = await incidentOfPage(actor, params.page_id, params.incident_id)
        if (!incident.updates.some((u) => u.id === params.incident_update_id))
          throw new NotFoundError('The incident update')
        return serializeUpdate(
          await incidents.editUpdate(actor, params.incident_update_id, {
            ...(body.body === undefined ? {} : { body: body.body }),
            ...(body.display_at === undefined ? {} : { displayAt: body.display_at }),
          }),
        )
      },
    )

  // ---- Templates ----
  const ttags = ['Incident templates']
  const serializeTemplate = (t: {
    id: string
    pageId: string
    name: string
    title: string
    body: string
    status: string
    impact: string
  }) => ({
    id: t.id,
    page_id: t.pageId,
    name: t.name,
    title: t.title,
    body: t.body,
    update_status: t.status,
    impact: t.impact,
  })

  api.get(
    '/pages/:page_id/incident_templates',
    {
      schema: {
        tags: ttags,
        summary: 'List incident templates',
        params: PageIdParams,
        querystring: Pagination,
        response: { 200: Type.Array(TemplateSchema), ...problemResponses },
      },
    },
    async (request, reply) =>
      paginate(
        request,
        reply,
        await incidents.listTemplates(actorOf(request), request.params.page_id),
      ).map(serializeTemplate),
  )

  api.post(
    '/pages/:page_id/incident_templates',
    {
      schema: {
        tags: ttags,
        summary: 'Create an incident template',
        params: PageIdParams,
        body: TemplateBody,
        response: { 201: TemplateSchema, ...problemResponses },
      },
    },
    async (request, reply) => {
      const body = request.body.template
      const saved = await incidents.saveTemplate(actorOf(request), request.params.page_id, null, {
        name: body.name,
        title: body.title,
        body: body.body,
        status: body.update_status ?? 'investigating',
        impact: body.impact ?? 'minor',
      })
      return reply.code(201).send(serializeTemplate(saved))
    },
  )
}
