import { Type } from '@sinclair/typebox'
import type { FastifyReply } from 'fastify'
import { formatMapping } from '../../domain/alerts/alert-service.js'
import type { Actor } from '../../domain/actor.js'
import { roleAllows } from '../../domain/policy.js'
import type { App, ServerDeps } from '../app-type.js'
import {
  AlertsPage,
  CheckPage,
  EndpointPage,
  IncidentDrafts,
  type AlertsForm,
} from '../views/alert-views.js'
import type { Errors, Values } from '../views/page-views.js'
import { requireActor, sendHtml } from './html.js'
import {
  attempt,
  checkbox,
  csrf,
  Id,
  lastValue,
  loadPageView,
  NoticeQuery,
  pagePath,
  PageParams,
  pickNotice,
  text,
  type PageView,
} from './page-routes.js'

const EndpointParams = Type.Object({ pageId: Id, endpointId: Id })
const CheckParams = Type.Object({ pageId: Id, checkId: Id })
const DraftParams = Type.Object({ pageId: Id, draftId: Id })
const EndpointBody = Type.Object({
  ...csrf,
  name: text(100),
  format: text(32),
  componentId: text(64),
  mapping: text(20_000),
  firingStatus: text(32),
  mapSeverity: checkbox,
  createDrafts: checkbox,
  signingSecret: text(500),
  removeSecret: checkbox,
})
const CheckBody = Type.Object({
  ...csrf,
  componentId: text(64),
  url: text(2000),
  intervalSeconds: text(8),
  timeoutSeconds: text(8),
  expectedStatus: text(8),
  failureThreshold: text(8),
  firingStatus: text(32),
  enabled: checkbox,
})
/** The mapping can hold 200 lines: more than the default form size once URL-encoded. */
const ENDPOINT_FORM_BYTES = 128 * 1024

const LIST_NOTICES = {
  'endpoint-deleted': 'Alert endpoint deleted. Its open alerts are forgotten.',
  'check-added': 'HTTP check added. The worker runs it within a few seconds.',
  'check-deleted': 'HTTP check deleted.',
}
const ENDPOINT_NOTICES = { saved: 'Saved.' }
const CHECK_NOTICES = { saved: 'Saved.' }

type EndpointFields = Omit<typeof EndpointBody.static, '_csrf'>
type CheckFieldsBody = Omit<typeof CheckBody.static, '_csrf'>

function endpointInput(body: EndpointFields) {
  return {
    name: body.name,
    format: body.format,
    componentId: body.componentId,
    mapping: body.mapping,
    firingStatus: body.firingStatus,
    mapSeverity: lastValue(body.mapSeverity),
    createDrafts: lastValue(body.createDrafts),
    signingSecret: body.signingSecret,
    removeSecret: lastValue(body.removeSecret),
  }
}

/** What the form shows again after an error (never the secret). */
function endpointValues(body: EndpointFields): Values {
  const input = endpointInput(body)
  return {
    name: input.name,
    format: input.format,
    componentId: input.componentId,
    mapping: input.mapping,
    firingStatus: input.firingStatus,
    mapSeverity: input.mapSeverity,
    createDrafts: input.createDrafts,
  }
}

function checkInput(body: CheckFieldsBody) {
  return {
    componentId: body.componentId,
    url: body.url,
    intervalSeconds: body.intervalSeconds,
    timeoutSeconds: body.timeoutSeconds,
    expectedStatus: body.expectedStatus,
    failureThreshold: body.failureThreshold,
    firingStatus: body.firingStatus,
    enabled: lastValue(body.enabled),
  }
}

/**
 * The Alerts tab (editors see it, admins change it: the services refuse an editor's change with
 * 403 and a viewer with 403, another account's member with 404) and the incident drafts that
 * alert endpoints open (editors publish or dismiss them).
 */
export function registerAlertAdminRoutes(app: App, deps: ServerDeps): void {
  const { alerts, components } = deps.services
  const origin = deps.config.baseUrl.origin

  function alertUrl(token: string): string {
    return new URL(`/api/alerts/${token}`, deps.config.baseUrl).toString()
  }

  async function renderList(
    reply: FastifyReply,
    actor: Actor,
    pageId: string,
    extra: {
      notice?: string | undefined
      form?: AlertsForm
      errors?: Errors
      values?: Values
    },
    status = 200,
  ) {
    const view = await loadPageView(deps, reply, actor, pageId)
    const [endpoints, checks, componentList] = await Promise.all([
      alerts.listEndpoints(actor, view.page.id),
      alerts.listChecks(actor, view.page.id),
      components.list(actor, view.page.id),
    ])
    return sendHtml(
      reply,
      <AlertsPage
        {...view}
        origin={origin}
        endpoints={endpoints}
        checks={checks}
        components={componentList}
        {...extra}
      />,
      status,
    )
  }

  async function renderEndpoint(
    reply: FastifyReply,
    actor: Actor,
    pageId: string,
    endpointId: string,
    extra: { url?: string; notice?: string | undefined; errors?: Errors; values?: Values },
    status = 200,
  ) {
    const view = await loadPageView(deps, reply, actor, pageId)
    const [endpoint, componentList] = await Promise.all([
      alerts.getEndpoint(actor, view.page.id, endpointId),
      components.list(actor, view.page.id),
    ])
    return sendHtml(
      reply,
      <EndpointPage
        {...view}
        origin={origin}
        endpoint={endpoint}
        components={componentList}
        mappingText={formatMapping(endpoint.componentMap, componentList)}
        {...extra}
      />,
      status,
    )
  }

  async function renderCheck(
    reply: FastifyReply,
    actor: Actor,
    pageId: string,
    checkId: string,
    extra: { notice?: string | undefined; errors?: Errors; values?: Values },
    status = 200,
  ) {
    const view = await loadPageView(deps, reply, actor, pageId)
    const [check, componentList] = await Promise.all([
      alerts.getCheck(actor, view.page.id, checkId),
      components.list(actor, view.page.id),
    ])
    return sendHtml(
      reply,
      <CheckPage {...view} check={check} components={componentList} {...extra} />,
      status,
    )
  }

  // -------------------------------------------------------------------------------------------
  // Endpoints
  // -------------------------------------------------------------------------------------------

  app.get(
    '/pages/:pageId/alerts',
    { config: { action: 'alert.read' }, schema: { params: PageParams, querystring: NoticeQuery } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      return renderList(reply, actor, request.params.pageId, {
        notice: pickNotice(LIST_NOTICES, request.query.saved),
      })
    },
  )

  app.post(
    '/pages/:pageId/alerts',
    {
      config: { action: 'alert.write' },
      schema: { params: PageParams, body: EndpointBody },
      bodyLimit: ENDPOINT_FORM_BYTES,
    },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { pageId } = request.params
      const result = await attempt(() =>
        alerts.createEndpoint(actor, pageId, endpointInput(request.body)),
      )
      if (!result.ok)
        return renderList(
          reply,
          actor,
          pageId,
          {
            form: 'endpoint',
            errors: result.problem.fields,
            values: endpointValues(request.body),
          },
          result.problem.status,
        )
      // The URL carries the token: shown in this answer only, never in an address or a log line.
      return renderEndpoint(
        reply,
        actor,
        pageId,
        result.value.endpoint.id,
        { url: alertUrl(result.value.token), notice: 'Alert endpoint added.' },
        201,
      )
    },
  )

  app.get(
    '/pages/:pageId/alerts/:endpointId',
    {
      config: { action: 'alert.read' },
      schema: { params: EndpointParams, querystring: NoticeQuery },
    },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { pageId, endpointId } = request.params
      return renderEndpoint(reply, actor, pageId, endpointId, {
        notice: pickNotice(ENDPOINT_NOTICES, request.query.saved),
      })
    },
  )

  app.post(
    '/pages/:pageId/alerts/:endpointId',
    {
      config: { action: 'alert.write' },
      schema: { params: EndpointParams, body: EndpointBody },
      bodyLimit: ENDPOINT_FORM_BYTES,
    },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { pageId, endpointId } = request.params
      const result = await attempt(() =>
        alerts.updateEndpoint(actor, pageId, endpointId, endpointInput(request.body)),
      )
      if (!result.ok)
        return renderEndpoint(
          reply,
          actor,
          pageId,
          endpointId,
          { errors: result.problem.fields, values: endpointValues(request.body) },
          result.problem.status,
        )
      return reply.redirect(
        pagePath(pageId, `/alerts/${encodeURIComponent(endpointId)}?saved=saved`),
        303,
      )
    },
  )

  app.post(
    '/pages/:pageId/alerts/:endpointId/regenerate',
    {
      config: { action: 'alert.write' },
      schema: { params: EndpointParams, body: Type.Object(csrf) },
    },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { pageId, endpointId } = request.params
      const token = await alerts.regenerateToken(actor, pageId, endpointId)
      return renderEndpoint(reply, actor, pageId, endpointId, {
        url: alertUrl(token),
        notice: 'A new URL replaces the previous one.',
      })
    },
  )

  app.post(
    '/pages/:pageId/alerts/:endpointId/delete',
    {
      config: { action: 'alert.write' },
      schema: { params: EndpointParams, body: Type.Object(csrf) },
    },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { pageId, endpointId } = request.params
      await alerts.deleteEndpoint(actor, pageId, endpointId)
      return reply.redirect(pagePath(pageId, '/alerts?saved=endpoint-deleted'), 303)
    },
  )

  // -------------------------------------------------------------------------------------------
  // HTTP checks
  // -------------------------------------------------------------------------------------------

  app.post(
    '/pages/:pageId/checks',
    { config: { action: 'check.write' }, schema: { params: PageParams, body: CheckBody } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { pageId } = request.params
      const input = checkInput(request.body)
      const result = await attempt(() => alerts.createCheck(actor, pageId, input))
      if (!result.ok)
        return renderList(
          reply,
          actor,
          pageId,
          { form: 'check', errors: result.problem.fields, values: input },
          result.problem.status,
        )
      return reply.redirect(pagePath(pageId, '/alerts?saved=check-added'), 303)
    },
  )

  app.get(
    '/pages/:pageId/checks/:checkId',
    { config: { action: 'check.read' }, schema: { params: CheckParams, querystring: NoticeQuery } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { pageId, checkId } = request.params
      return renderCheck(reply, actor, pageId, checkId, {
        notice: pickNotice(CHECK_NOTICES, request.query.saved),
      })
    },
  )

  app.post(
    '/pages/:pageId/checks/:checkId',
    { config: { action: 'check.write' }, schema: { params: CheckParams, body: CheckBody } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { pageId, checkId } = request.params
      const input = checkInput(request.body)
      const result = await attempt(() => alerts.updateCheck(actor, pageId, checkId, input))
      if (!result.ok)
        return renderCheck(
          reply,
          actor,
          pageId,
          checkId,
          { errors: result.problem.fields, values: input },
          result.problem.status,
        )
      return reply.redirect(
        pagePath(pageId, `/checks/${encodeURIComponent(checkId)}?saved=saved`),
        303,
      )
    },
  )

  app.post(
    '/pages/:pageId/checks/:checkId/delete',
    { config: { action: 'check.write' }, schema: { params: CheckParams, body: Type.Object(csrf) } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { pageId, checkId } = request.params
      await alerts.deleteCheck(actor, pageId, checkId)
      return reply.redirect(pagePath(pageId, '/alerts?saved=check-deleted'), 303)
    },
  )

  // -------------------------------------------------------------------------------------------
  // Incident drafts
  // -------------------------------------------------------------------------------------------

  app.post(
    '/pages/:pageId/incident-drafts/:draftId/publish',
    { config: { action: 'draft.write' }, schema: { params: DraftParams, body: Type.Object(csrf) } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { pageId, draftId } = request.params
      const incident = await alerts.publishDraft(actor, pageId, draftId)
      return reply.redirect(`/incidents/${encodeURIComponent(incident.id)}?saved=created`, 303)
    },
  )

  app.post(
    '/pages/:pageId/incident-drafts/:draftId/dismiss',
    { config: { action: 'draft.write' }, schema: { params: DraftParams, body: Type.Object(csrf) } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { pageId, draftId } = request.params
      await alerts.dismissDraft(actor, pageId, draftId)
      return reply.redirect(pagePath(pageId, '/incidents?saved=draft-dismissed'), 303)
    },
  )
}

/** The incidents page's drafts section (nothing when the page has no draft). */
export async function incidentDraftsSection(deps: ServerDeps, actor: Actor, view: PageView) {
  const [drafts, componentList] = await Promise.all([
    deps.services.alerts.listDrafts(actor, view.page.id),
    deps.services.components.list(actor, view.page.id),
  ])
  return (
    <IncidentDrafts
      page={view.page}
      drafts={drafts}
      components={componentList}
      canPublish={roleAllows(view.role, 'draft.write')}
      csrfToken={view.nav.csrfToken}
    />
  )
}
