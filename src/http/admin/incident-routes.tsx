import { Type } from '@sinclair/typebox'
import type { FastifyReply } from 'fastify'
import type { Actor } from '../../domain/actor.js'
import { NotFoundError } from '../../domain/errors.js'
import { toDateTimeInput } from '../../domain/pages/time-zone.js'
import type { App, ServerDeps } from '../app-type.js'
import {
  IncidentDetailPage,
  IncidentsPage,
  NewIncidentPage,
  NewMaintenancePage,
  TemplateEditPage,
  TemplatesPage,
  type IncidentForm,
} from '../views/incident-views.js'
import type { Errors, Values } from '../views/page-views.js'
import { incidentDraftsSection } from './alert-routes.js'
import { requireActor, sendHtml } from './html.js'
import { incidentNotificationsSection } from './subscriber-routes.js'
import {
  attempt,
  checkbox,
  csrf,
  formFields,
  Id,
  LARGE_FORM_BYTES,
  lastValue,
  loadPageView,
  NoticeQuery,
  pagePath,
  PageParams,
  pickNotice,
  text,
} from './page-routes.js'

const MAX_COMPONENT_FIELDS = 520
/** A postmortem holds up to 50,000 characters, several bytes each once URL-encoded. */
const POSTMORTEM_FORM_BYTES = 768 * 1024
const COMPONENT_FIELD_PREFIX = 'component_'

/** Extra fields are the per-component selects (component_<id>): short strings, bounded in number. */
const withComponentFields = {
  additionalProperties: Type.String({ maxLength: 32 }),
  maxProperties: MAX_COMPONENT_FIELDS,
}

const IncidentParams = Type.Object({ incidentId: Id })
const UpdateParams = Type.Object({ incidentId: Id, updateId: Id })
const TemplateParams = Type.Object({ pageId: Id, templateId: Id })
const NewIncidentQuery = Type.Object({ template: text(64) })
const CreateIncidentBody = Type.Object(
  {
    ...csrf,
    name: text(200),
    status: text(32),
    impact: text(16),
    body: text(20_000),
    deliverNotifications: checkbox,
    displayAt: text(40),
  },
  withComponentFields,
)
const AddUpdateBody = Type.Object(
  {
    ...csrf,
    status: text(32),
    body: text(20_000),
    deliverNotifications: checkbox,
    displayAt: text(40),
  },
  withComponentFields,
)
const EditUpdateBody = Type.Object({ ...csrf, body: text(20_000), displayAt: text(40) })
const DetailsBody = Type.Object({
  ...csrf,
  name: text(200),
  impact: text(16),
  scheduledFor: text(40),
  scheduledUntil: text(40),
})
const PostmortemBody = Type.Object({ ...csrf, body: text(50_000), publish: checkbox })
const MaintenanceBody = Type.Object({
  ...csrf,
  name: text(200),
  body: text(20_000),
  scheduledFor: text(40),
  scheduledUntil: text(40),
  componentIds: Type.Optional(
    Type.Union([
      Type.String({ maxLength: 64 }),
      Type.Array(Type.String({ maxLength: 64 }), { maxItems: 500 }),
    ]),
  ),
  autoStart: checkbox,
  autoComplete: checkbox,
  deliverNotifications: checkbox,
})
const TemplateBody = Type.Object({
  ...csrf,
  name: text(100),
  title: text(200),
  status: text(32),
  impact: text(16),
  body: text(20_000),
})

const INCIDENT_NOTICES = {
  created: 'Incident opened.',
  scheduled: 'Maintenance scheduled.',
  update: 'Update posted.',
  details: 'Saved.',
  edited: 'Update edited. The previous version is in the audit trail below.',
  'update-deleted': 'Update deleted. It is kept in the audit trail below.',
  postmortem: 'Postmortem saved.',
}
const LIST_NOTICES = { deleted: 'Deleted.', 'draft-dismissed': 'Draft dismissed.' }
const TEMPLATE_NOTICES = { saved: 'Template saved.', deleted: 'Template deleted.' }

/** component_<id> fields with a status chosen ("" means no change): the service's {id: status}. */
function componentStatuses(body: object): Record<string, string> | undefined {
  const entries = Object.entries(body)
    .filter(
      (entry): entry is [string, string] =>
        entry[0].startsWith(COMPONENT_FIELD_PREFIX) &&
        typeof entry[1] === 'string' &&
        entry[1] !== '',
    )
    .map(([key, value]) => [key.slice(COMPONENT_FIELD_PREFIX.length), value] as const)
  return entries.length === 0 ? undefined : Object.fromEntries(entries)
}

function emptyToUndefined(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value
}

function asList(value: string | readonly string[] | undefined): string[] {
  if (value === undefined) return []
  return typeof value === 'string' ? [value] : [...value]
}

export function registerIncidentRoutes(app: App, deps: ServerDeps): void {
  const { components, incidents } = deps.services

  // -------------------------------------------------------------------------------------------
  // Lists
  // -------------------------------------------------------------------------------------------

  app.get(
    '/pages/:pageId/incidents',
    {
      config: { action: 'incident.read' },
      schema: { params: PageParams, querystring: NoticeQuery },
    },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const view = await loadPageView(deps, reply, actor, request.params.pageId)
      const [incidentList, maintenanceList, drafts] = await Promise.all([
        incidents.list(actor, view.page.id, 'incident'),
        incidents.list(actor, view.page.id, 'maintenance'),
        incidentDraftsSection(deps, actor, view),
      ])
      return sendHtml(
        reply,
        <IncidentsPage
          {...view}
          incidents={incidentList}
          maintenances={maintenanceList}
          notice={pickNotice(LIST_NOTICES, request.query.saved)}
          drafts={drafts}
        />,
      )
    },
  )

  // -------------------------------------------------------------------------------------------
  // Opening an incident
  // -------------------------------------------------------------------------------------------

  async function renderNewIncident(
    reply: FastifyReply,
    actor: Actor,
    pageId: string,
    form: {
      templateId?: string | undefined
      values?: Values
      componentValues?: Values
      errors?: Errors
    },
    status = 200,
  ) {
    const view = await loadPageView(deps, reply, actor, pageId)
    const [componentList, templates] = await Promise.all([
      components.list(actor, pageId),
      incidents.listTemplates(actor, pageId),
    ])
    let values = form.values
    if (form.templateId !== undefined && values === undefined) {
      const template = templates.find((t) => t.id === form.templateId)
      if (template === undefined) throw new NotFoundError('The template')
      values = {
        name: template.title,
        status: template.status,
        impact: template.impact,
        body: template.body,
      }
    }
    return sendHtml(
      reply,
      <NewIncidentPage
        {...view}
        components={componentList}
        templates={templates}
        templateId={form.templateId}
        values={values}
        componentValues={form.componentValues}
        errors={form.errors}
      />,
      status,
    )
  }

  app.get(
    '/pages/:pageId/incidents/new',
    {
      config: { action: 'incident.read' },
      schema: { params: PageParams, querystring: NewIncidentQuery },
    },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      return renderNewIncident(reply, actor, request.params.pageId, {
        templateId: emptyToUndefined(request.query.template),
      })
    },
  )

  app.post(
    '/pages/:pageId/incidents',
    {
      config: { action: 'incident.write' },
      schema: { params: PageParams, body: CreateIncidentBody },
      bodyLimit: LARGE_FORM_BYTES,
    },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { pageId } = request.params
      const body = request.body
      const statuses = componentStatuses(body)
      const deliverNotifications = lastValue(body.deliverNotifications)
      const result = await attempt(() =>
        incidents.create(actor, pageId, {
          name: body.name,
          status: body.status,
          impact: body.impact,
          body: body.body,
          components: statuses,
          deliverNotifications,
          displayAt: emptyToUndefined(body.displayAt),
        }),
      )
      if (!result.ok)
        return renderNewIncident(
          reply,
          actor,
          pageId,
          {
            values: {
              name: body.name,
              status: body.status,
              impact: body.impact,
              body: body.body,
              displayAt: body.displayAt,
              deliverNotifications,
            },
            componentValues: statuses ?? {},
            errors: result.problem.fields,
          },
          result.problem.status,
        )
      return reply.redirect(`/incidents/${encodeURIComponent(result.value.id)}?saved=created`, 303)
    },
  )

  // -------------------------------------------------------------------------------------------
  // Scheduling maintenance
  // -------------------------------------------------------------------------------------------

  async function renderNewMaintenance(
    reply: FastifyReply,
    actor: Actor,
    pageId: string,
    form: { values?: Values; componentIds?: string[]; errors?: Errors },
    status = 200,
  ) {
    const view = await loadPageView(deps, reply, actor, pageId)
    const componentList = await components.list(actor, pageId)
    return sendHtml(
      reply,
      <NewMaintenancePage {...view} components={componentList} {...form} />,
      status,
    )
  }

  app.get(
    '/pages/:pageId/maintenance/new',
    { config: { action: 'incident.read' }, schema: { params: PageParams } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      return renderNewMaintenance(reply, actor, request.params.pageId, {})
    },
  )

  app.post(
    '/pages/:pageId/maintenance',
    {
      config: { action: 'incident.write' },
      schema: { params: PageParams, body: MaintenanceBody },
      bodyLimit: LARGE_FORM_BYTES,
    },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { pageId } = request.params
      const body = request.body
      const componentIds = asList(body.componentIds)
      const values = {
        name: body.name,
        body: body.body,
        scheduledFor: body.scheduledFor,
        scheduledUntil: body.scheduledUntil,
        autoStart: lastValue(body.autoStart),
        autoComplete: lastValue(body.autoComplete),
        deliverNotifications: lastValue(body.deliverNotifications),
      }
      const result = await attempt(() =>
        incidents.scheduleMaintenance(actor, pageId, { ...values, componentIds }),
      )
      if (!result.ok)
        return renderNewMaintenance(
          reply,
          actor,
          pageId,
          { values, componentIds, errors: result.problem.fields },
          result.problem.status,
        )
      return reply.redirect(
        `/incidents/${encodeURIComponent(result.value.id)}?saved=scheduled`,
        303,
      )
    },
  )

  // -------------------------------------------------------------------------------------------
  // One incident or maintenance
  // -------------------------------------------------------------------------------------------

  async function renderIncident(
    reply: FastifyReply,
    actor: Actor,
    incidentId: string,
    form: {
      notice?: string | undefined
      form?: IncidentForm
      errors?: Errors
      values?: Values
      componentValues?: Values
    },
    status = 200,
  ) {
    const incident = await incidents.get(actor, incidentId)
    const view = await loadPageView(deps, reply, actor, incident.pageId)
    const componentList = await components.list(actor, incident.pageId)
    const notifications = await incidentNotificationsSection(deps, actor, view, incident.id)
    return sendHtml(
      reply,
      <IncidentDetailPage
        {...view}
        actorUserId={actor.userId}
        incident={incident}
        components={componentList}
        notifications={notifications}
        {...form}
      />,
      status,
    )
  }

  app.get(
    '/incidents/:incidentId',
    {
      config: { action: 'incident.read' },
      schema: { params: IncidentParams, querystring: NoticeQuery },
    },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      return renderIncident(reply, actor, request.params.incidentId, {
        notice: pickNotice(INCIDENT_NOTICES, request.query.saved),
      })
    },
  )

  app.post(
    '/incidents/:incidentId/updates',
    {
      config: { action: 'incident.write' },
      schema: { params: IncidentParams, body: AddUpdateBody },
      bodyLimit: LARGE_FORM_BYTES,
    },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { incidentId } = request.params
      const body = request.body
      const statuses = componentStatuses(body)
      const deliverNotifications = lastValue(body.deliverNotifications)
      // Without component statuses the service restores the components when the incident closes.
      const result = await attempt(() =>
        incidents.addUpdate(actor, incidentId, {
          status: body.status,
          body: body.body,
          components: statuses,
          deliverNotifications,
          displayAt: emptyToUndefined(body.displayAt),
        }),
      )
      if (!result.ok)
        return renderIncident(
          reply,
          actor,
          incidentId,
          {
            form: { kind: 'update' },
            errors: result.problem.fields,
            values: {
              status: body.status,
              body: body.body,
              displayAt: body.displayAt,
              deliverNotifications,
            },
            componentValues: statuses ?? {},
          },
          result.problem.status,
        )
      return reply.redirect(`/incidents/${encodeURIComponent(incidentId)}?saved=update`, 303)
    },
  )

  app.post(
    '/incidents/:incidentId',
    { config: { action: 'incident.write' }, schema: { params: IncidentParams, body: DetailsBody } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const incident = await incidents.get(actor, request.params.incidentId)
      const zone = await incidents.pageTimeZone(incident.pageId)
      const body = request.body
      // An unchanged window is not re-sent: the field has minute precision, the stored time may not.
      const unchanged = (value: string | undefined, current: Date | null) =>
        value === undefined || (current !== null && value === toDateTimeInput(current, zone))
      const input =
        incident.kind === 'maintenance'
          ? {
              name: body.name,
              ...(unchanged(body.scheduledFor, incident.scheduledFor)
                ? {}
                : { scheduledFor: body.scheduledFor }),
              ...(unchanged(body.scheduledUntil, incident.scheduledUntil)
                ? {}
                : { scheduledUntil: body.scheduledUntil }),
            }
          : { name: body.name, impact: body.impact }
      const result = await attempt(() => incidents.updateIncident(actor, incident.id, input))
      if (!result.ok)
        return renderIncident(
          reply,
          actor,
          incident.id,
          { form: { kind: 'details' }, errors: result.problem.fields, values: body },
          result.problem.status,
        )
      return reply.redirect(`/incidents/${encodeURIComponent(incident.id)}?saved=details`, 303)
    },
  )

  /** The update must belong to the incident in the address; outsiders get the service's 404. */
  async function loadUpdate(actor: Actor, incidentId: string, updateId: string) {
    const incident = await incidents.get(actor, incidentId)
    const update = incident.updates.find((u) => u.id === updateId)
    if (update === undefined) throw new NotFoundError('The update')
    return { incident, update }
  }

  app.post(
    '/incidents/:incidentId/updates/:updateId',
    {
      config: { action: 'incident.write' },
      schema: { params: UpdateParams, body: EditUpdateBody },
      bodyLimit: LARGE_FORM_BYTES,
    },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { incidentId, updateId } = request.params
      const { incident, update } = await loadUpdate(actor, incidentId, updateId)
      const zone = await incidents.pageTimeZone(incident.pageId)
      const { body, displayAt } = request.body
      const displayChanged =
        displayAt !== undefined && displayAt !== toDateTimeInput(update.displayAt, zone)
      const result = await attempt(() =>
        incidents.editUpdate(actor, update.id, {
          body,
          ...(displayChanged ? { displayAt } : {}),
        }),
      )
      if (!result.ok)
        return renderIncident(
          reply,
          actor,
          incidentId,
          {
            form: { kind: 'edit-update', updateId },
            errors: result.problem.fields,
            values: { body, displayAt },
          },
          result.problem.status,
        )
      return reply.redirect(`/incidents/${encodeURIComponent(incidentId)}?saved=edited`, 303)
    },
  )

  app.post(
    '/incidents/:incidentId/updates/:updateId/delete',
    {
      config: { action: 'incident.write' },
      schema: { params: UpdateParams, body: Type.Object(csrf) },
    },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { incidentId, updateId } = request.params
      const { update } = await loadUpdate(actor, incidentId, updateId)
      await incidents.deleteUpdate(actor, update.id)
      return reply.redirect(
        `/incidents/${encodeURIComponent(incidentId)}?saved=update-deleted`,
        303,
      )
    },
  )

  app.post(
    '/incidents/:incidentId/postmortem',
    {
      config: { action: 'incident.write' },
      schema: { params: IncidentParams, body: PostmortemBody },
      bodyLimit: POSTMORTEM_FORM_BYTES,
    },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { incidentId } = request.params
      const publish = lastValue(request.body.publish)
      const body = request.body.body ?? ''
      const result = await attempt(() =>
        incidents.setPostmortem(actor, incidentId, { body, publish }),
      )
      if (!result.ok)
        return renderIncident(
          reply,
          actor,
          incidentId,
          {
            form: { kind: 'postmortem' },
            errors: result.problem.fields,
            values: { body, publish: publish ?? 'false' },
          },
          result.problem.status,
        )
      return reply.redirect(`/incidents/${encodeURIComponent(incidentId)}?saved=postmortem`, 303)
    },
  )

  app.post(
    '/incidents/:incidentId/delete',
    {
      config: { action: 'incident.delete' },
      schema: { params: IncidentParams, body: Type.Object(csrf) },
    },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const incident = await incidents.get(actor, request.params.incidentId)
      await incidents.remove(actor, incident.id)
      return reply.redirect(pagePath(incident.pageId, '/incidents?saved=deleted'), 303)
    },
  )

  // -------------------------------------------------------------------------------------------
  // Templates
  // -------------------------------------------------------------------------------------------

  async function renderTemplates(
    reply: FastifyReply,
    actor: Actor,
    pageId: string,
    form: { notice?: string | undefined; errors?: Errors; values?: Values },
    status = 200,
  ) {
    const view = await loadPageView(deps, reply, actor, pageId)
    const templates = await incidents.listTemplates(actor, pageId)
    return sendHtml(reply, <TemplatesPage {...view} templates={templates} {...form} />, status)
  }

  async function renderTemplate(
    reply: FastifyReply,
    actor: Actor,
    pageId: string,
    templateId: string,
    form: { errors?: Errors; values?: Values },
    status = 200,
  ) {
    const view = await loadPageView(deps, reply, actor, pageId)
    const template = (await incidents.listTemplates(actor, pageId)).find((t) => t.id === templateId)
    if (template === undefined) throw new NotFoundError('The template')
    return sendHtml(reply, <TemplateEditPage {...view} template={template} {...form} />, status)
  }

  app.get(
    '/pages/:pageId/templates',
    {
      config: { action: 'template.read' },
      schema: { params: PageParams, querystring: NoticeQuery },
    },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      return renderTemplates(reply, actor, request.params.pageId, {
        notice: pickNotice(TEMPLATE_NOTICES, request.query.saved),
      })
    },
  )

  app.post(
    '/pages/:pageId/templates',
    {
      config: { action: 'template.write' },
      schema: { params: PageParams, body: TemplateBody },
      bodyLimit: LARGE_FORM_BYTES,
    },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { pageId } = request.params
      const input = formFields(request.body)
      const result = await attempt(() => incidents.saveTemplate(actor, pageId, null, input))
      if (!result.ok)
        return renderTemplates(
          reply,
          actor,
          pageId,
          { errors: result.problem.fields, values: input },
          result.problem.status,
        )
      return reply.redirect(pagePath(pageId, '/templates?saved=saved'), 303)
    },
  )

  app.get(
    '/pages/:pageId/templates/:templateId',
    { config: { action: 'template.read' }, schema: { params: TemplateParams } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { pageId, templateId } = request.params
      return renderTemplate(reply, actor, pageId, templateId, {})
    },
  )

  app.post(
    '/pages/:pageId/templates/:templateId',
    {
      config: { action: 'template.write' },
      schema: { params: TemplateParams, body: TemplateBody },
      bodyLimit: LARGE_FORM_BYTES,
    },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { pageId, templateId } = request.params
      const input = formFields(request.body)
      const result = await attempt(() => incidents.saveTemplate(actor, pageId, templateId, input))
      if (!result.ok)
        return renderTemplate(
          reply,
          actor,
          pageId,
          templateId,
          { errors: result.problem.fields, values: input },
          result.problem.status,
        )
      return reply.redirect(pagePath(pageId, '/templates?saved=saved'), 303)
    },
  )

  app.post(
    '/pages/:pageId/templates/:templateId/delete',
    {
      config: { action: 'template.write' },
      schema: { params: TemplateParams, body: Type.Object(csrf) },
    },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { pageId, templateId } = request.params
      await incidents.deleteTemplate(actor, pageId, templateId)
      return reply.redirect(pagePath(pageId, '/templates?saved=deleted'), 303)
    },
  )
}
