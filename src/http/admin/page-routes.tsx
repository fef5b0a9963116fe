import fastifyMultipart from '@fastify/multipart'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyReply } from 'fastify'
import type { Actor } from '../../domain/actor.js'
import { ConflictError, ForbiddenError, ValidationError } from '../../domain/errors.js'
import { sanitizeCustomCss } from '../../domain/pages/css-sanitizer.js'
import { LOGO_MAX_BYTES } from '../../domain/pages/page-service.js'
import type { Page as StatusPage } from '../../domain/pages/types.js'
import { ROLES, type Role } from '../../domain/roles.js'
import type { App, ServerDeps } from '../app-type.js'
import type { NavContext } from '../views/layout.js'
import {
  ComponentEditPage,
  ComponentsPage,
  PageOverviewPage,
  PageSettingsPage,
  PagesListPage,
  type ComponentForm,
  type Errors,
  type SettingsForm,
  type Values,
} from '../views/page-views.js'
import { navFor, requireActor, sendHtml } from './html.js'

// ---------------------------------------------------------------------------------------------
// Shared by the status page and incident routes
// ---------------------------------------------------------------------------------------------

export const text = (maxLength: number) => Type.Optional(Type.String({ maxLength }))
export const csrf = { _csrf: text(256) }
export const Id = Type.String({ minLength: 1, maxLength: 64 })
/** A checkbox after its hidden "false" arrives as one value or as two. */
export const checkbox = Type.Optional(
  Type.Union([
    Type.String({ maxLength: 8 }),
    Type.Array(Type.String({ maxLength: 8 }), { maxItems: 2 }),
  ]),
)
export const NoticeQuery = Type.Object({ saved: text(32) })
export const PageParams = Type.Object({ pageId: Id })
/** Forms carrying long markdown: 20,000 characters can take far more bytes once URL-encoded. */
export const LARGE_FORM_BYTES = 256 * 1024

/** The value that wins for a repeated field: the last one, as a browser's checkbox after its hidden twin. */
export function lastValue(value: string | readonly string[] | undefined): string | undefined {
  if (value === undefined || typeof value === 'string') return value
  return value.at(-1)
}

export function roleIn(nav: NavContext, accountId: string): Role {
  const role = nav.accounts.find((a) => a.id === accountId)?.role
  return ROLES.find((r) => r === role) ?? 'viewer'
}

export interface PageView {
  page: StatusPage
  nav: NavContext
  role: Role
}

/** The page (the service answers 404 to outsiders), the navigation and the actor's role. */
export async function loadPageView(
  deps: ServerDeps,
  reply: FastifyReply,
  actor: Actor,
  pageId: string,
): Promise<PageView> {
  const page = await deps.services.pages.get(actor, pageId)
  const nav = await navFor(deps, reply, actor, page.accountId)
  return { page, nav, role: roleIn(nav, page.accountId) }
}

export interface FormProblem {
  fields: Errors
  status: number
}

/** Conflicts that belong to one field of a form, shown next to it instead of on an error page. */
const FIELD_CONFLICTS: Record<string, string> = { slug_taken: 'slug', domain_taken: 'customDomain' }

/**
 * Runs a service call; invalid input comes back as a problem for the form to show (nothing was
 * written), every other error propagates to the error handler.
 */
export async function attempt<T>(
  action: () => Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; problem: FormProblem }> {
  try {
    return { ok: true, value: await action() }
  } catch (error) {
    if (error instanceof ValidationError)
      return { ok: false, problem: { fields: error.fields, status: 422 } }
    const field = error instanceof ConflictError ? FIELD_CONFLICTS[error.code] : undefined
    if (error instanceof ConflictError && field !== undefined)
      return { ok: false, problem: { fields: { [field]: error.message }, status: 409 } }
    throw error
  }
}

/** A form's fields without its CSRF token, to hand to a service or back to the form. */
export function formFields<T extends { _csrf?: string | undefined }>(body: T): Omit<T, '_csrf'> {
  const fields = { ...body }
  delete fields._csrf
  return fields
}

export function pickNotice(
  messages: Readonly<Record<string, string>>,
  saved: string | undefined,
): string | undefined {
  return saved === undefined ? undefined : messages[saved]
}

export function pagePath(pageId: string, suffix = ''): string {
  return `/pages/${encodeURIComponent(pageId)}${suffix}`
}

// ---------------------------------------------------------------------------------------------
// Schemas
// ---------------------------------------------------------------------------------------------

const AccountParams = Type.Object({ accountId: Id })
const ComponentParams = Type.Object({ componentId: Id })
const CreatePageBody = Type.Object({
  ...csrf,
  name: text(100),
  slug: text(64),
  timeZone: text(64),
  locale: text(8),
})
const SettingsBody = Type.Object({
  ...csrf,
  name: text(100),
  slug: text(64),
  timeZone: text(64),
  locale: text(8),
  brandColor: text(16),
  supportUrl: text(500),
  homepageUrl: text(500),
  customDomain: text(253),
  customCss: text(20_000),
})
const SettingsQuery = Type.Object({ saved: text(32), css: text(16) })
const AccessBody = Type.Object({
  ...csrf,
  visibility: text(16),
  password: text(128),
  ipAllowlist: text(5000),
})
const DeleteBody = Type.Object({ ...csrf, confirm: text(64) })
const CsrfQuery = Type.Object({ _csrf: text(256) })
const ComponentBody = Type.Object({
  ...csrf,
  name: text(100),
  description: text(500),
  groupId: text(64),
  isGroup: text(8),
  onlyShowIfDegraded: checkbox,
  startDate: text(10),
})
const StatusBody = Type.Object({ ...csrf, status: text(32) })
const MoveBody = Type.Object({
  ...csrf,
  direction: Type.Union([Type.Literal('up'), Type.Literal('down')]),
})

const SETTINGS_NOTICES = {
  details: 'Saved.',
  logo: 'Logo uploaded.',
  'logo-removed': 'Logo removed.',
  access: 'Access saved.',
}
const COMPONENT_NOTICES = {
  added: 'Added.',
  saved: 'Saved.',
  deleted: 'Deleted.',
  moved: 'Moved.',
  status: 'Status changed.',
}
const PAGES_NOTICES = { deleted: 'The status page was deleted.' }

export function registerPageRoutes(app: App, deps: ServerDeps): void {
  const { pages, components, incidents } = deps.services

  // -------------------------------------------------------------------------------------------
  // The account's pages
  // -------------------------------------------------------------------------------------------

  async function renderPagesList(
    reply: FastifyReply,
    actor: Actor,
    accountId: string,
    form: { errors?: Errors; values?: Values; notice?: string | undefined } = {},
    status = 200,
  ) {
    const list = await pages.list(actor, accountId)
    const nav = await navFor(deps, reply, actor, accountId)
    return sendHtml(
      reply,
      <PagesListPage
        nav={nav}
        accountId={accountId}
        role={roleIn(nav, accountId)}
        pages={list}
        notice={form.notice}
        errors={form.errors}
        values={form.values}
      />,
      status,
    )
  }

  app.get(
    '/a/:accountId/pages',
    {
      config: { action: 'page.read' },
      schema: { params: AccountParams, querystring: NoticeQuery },
    },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      return renderPagesList(reply, actor, request.params.accountId, {
        notice: pickNotice(PAGES_NOTICES, request.query.saved),
      })
    },
  )

  app.post(
    '/a/:accountId/pages',
    { config: { action: 'page.create' }, schema: { params: AccountParams, body: CreatePageBody } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { accountId } = request.params
      const { name, slug, timeZone, locale } = request.body
      const result = await attempt(() =>
        pages.create(actor, accountId, { name, slug, timeZone, locale }),
      )
      if (!result.ok)
        return renderPagesList(
          reply,
          actor,
          accountId,
          { errors: result.problem.fields, values: request.body },
          result.problem.status,
        )
      return reply.redirect(pagePath(result.value.id), 303)
    },
  )

  // -------------------------------------------------------------------------------------------
  // One page: overview and settings
  // -------------------------------------------------------------------------------------------

  app.get(
    '/pages/:pageId',
    { config: { action: 'page.read' }, schema: { params: PageParams } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const view = await loadPageView(deps, reply, actor, request.params.pageId)
      const pageId = view.page.id
      const [componentList, incidentList, maintenanceList] = await Promise.all([
        components.list(actor, pageId),
        incidents.list(actor, pageId, 'incident', 50),
        incidents.list(actor, pageId, 'maintenance', 50),
      ])
      return sendHtml(
        reply,
        <PageOverviewPage
          {...view}
          components={componentList}
          incidents={incidentList}
          maintenances={maintenanceList}
        />,
      )
    },
  )

  async function renderSettings(
    reply: FastifyReply,
    actor: Actor,
    pageId: string,
    form: {
      form?: SettingsForm
      errors?: Errors
      values?: Values
      notice?: string | undefined
      cssRemoved?: boolean
    },
    status = 200,
  ) {
    const view = await loadPageView(deps, reply, actor, pageId)
    return sendHtml(reply, <PageSettingsPage {...view} {...form} />, status)
  }

  app.get(
    '/pages/:pageId/settings',
    { config: { action: 'page.read' }, schema: { params: PageParams, querystring: SettingsQuery } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      return renderSettings(reply, actor, request.params.pageId, {
        notice: pickNotice(SETTINGS_NOTICES, request.query.saved),
        cssRemoved: request.query.css === 'cleaned',
      })
    },
  )

  app.post(
    '/pages/:pageId/settings',
    {
      config: { action: 'page.update' },
      schema: { params: PageParams, body: SettingsBody },
      bodyLimit: LARGE_FORM_BYTES,
    },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { pageId } = request.params
      const input = formFields(request.body)
      const result = await attempt(() => pages.update(actor, pageId, input))
      if (!result.ok)
        return renderSettings(
          reply,
          actor,
          pageId,
          { form: 'details', errors: result.problem.fields, values: input },
          result.problem.status,
        )
      const cleaned =
        input.customCss !== undefined && sanitizeCustomCss(input.customCss).removed.length > 0
      return reply.redirect(
        pagePath(pageId, `/settings?saved=details${cleaned ? '&css=cleaned' : ''}`),
        303,
      )
    },
  )

  app.post(
    '/pages/:pageId/access',
    { config: { action: 'page.access' }, schema: { params: PageParams, body: AccessBody } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { pageId } = request.params
      const { visibility, password, ipAllowlist } = request.body
      const result = await attempt(() =>
        pages.updateAccess(actor, pageId, { visibility, password, ipAllowlist }),
      )
      if (!result.ok)
        return renderSettings(
          reply,
          actor,
          pageId,
          { form: 'access', errors: result.problem.fields, values: { visibility, ipAllowlist } },
          result.problem.status,
        )
      return reply.redirect(pagePath(pageId, '/settings?saved=access'), 303)
    },
  )

  // The logo is the one multipart form: the plugin lives in this scope only, and the CSRF token
  // travels in the form's action URL because the body is not parsed before the check.
  void app.register(async (scope) => {
    await scope.register(fastifyMultipart, {
      limits: { fileSize: LOGO_MAX_BYTES, files: 1, fields: 2, parts: 3, fieldSize: 256 },
    })
    scope.withTypeProvider<TypeBoxTypeProvider>().post(
      '/pages/:pageId/logo',
      {
        config: { action: 'page.update' },
        schema: { params: PageParams, querystring: CsrfQuery },
      },
      async (request, reply) => {
        const actor = requireActor(request, reply)
        if (actor === undefined) return reply
        const { pageId } = request.params
        await pages.get(actor, pageId)
        let problem: FormProblem | undefined
        try {
          const file = await request.file()
          if (file === undefined)
            problem = { fields: { logo: 'Choose an image file to upload.' }, status: 422 }
          else {
            const data = await file.toBuffer()
            const result = await attempt(() =>
              pages.setLogo(actor, pageId, { contentType: file.mimetype, data }),
            )
            if (!result.ok) problem = result.problem
          }
        } catch (error) {
          if (!(error instanceof scope.multipartErrors.RequestFileTooLargeError)) throw error
          problem = {
            fields: { logo: `The logo must be at most ${String(LOGO_MAX_BYTES / 1024)} KiB.` },
            status: 413,
          }
        }
        if (problem !== undefined)
          return renderSettings(
            reply,
            actor,
            pageId,
            { form: 'logo', errors: problem.fields },
            problem.status,
          )
        return reply.redirect(pagePath(pageId, '/settings?saved=logo'), 303)
      },
    )
  })

  app.post(
    '/pages/:pageId/logo/remove',
    { config: { action: 'page.update' }, schema: { params: PageParams, body: Type.Object(csrf) } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      await pages.setLogo(actor, request.params.pageId, null)
      return reply.redirect(pagePath(request.params.pageId, '/settings?saved=logo-removed'), 303)
    },
  )

  app.post(
    '/pages/:pageId/delete',
    { config: { action: 'page.delete' }, schema: { params: PageParams, body: DeleteBody } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { page, role } = await loadPageView(deps, reply, actor, request.params.pageId)
      // The confirmation is a form concern, checked only for someone who could delete at all.
      if (role !== 'owner')
        throw new ForbiddenError('Only the account owner can delete a status page.')
      if ((request.body.confirm ?? '').trim().toLowerCase() !== page.slug)
        return renderSettings(
          reply,
          actor,
          page.id,
          {
            form: 'delete',
            errors: { confirm: `Type ${page.slug} exactly to confirm the deletion.` },
          },
          422,
        )
      await pages.remove(actor, page.id)
      return reply.redirect(`/a/${encodeURIComponent(page.accountId)}/pages?saved=deleted`, 303)
    },
  )

  // -------------------------------------------------------------------------------------------
  // Components
  // -------------------------------------------------------------------------------------------

  async function renderComponents(
    reply: FastifyReply,
    actor: Actor,
    pageId: string,
    form: { form?: ComponentForm; errors?: Errors; values?: Values; notice?: string | undefined },
    status = 200,
  ) {
    const view = await loadPageView(deps, reply, actor, pageId)
    const list = await components.list(actor, pageId)
    return sendHtml(reply, <ComponentsPage {...view} components={list} {...form} />, status)
  }

  app.get(
    '/pages/:pageId/components',
    {
      config: { action: 'component.read' },
      schema: { params: PageParams, querystring: NoticeQuery },
    },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      return renderComponents(reply, actor, request.params.pageId, {
        notice: pickNotice(COMPONENT_NOTICES, request.query.saved),
      })
    },
  )

  app.post(
    '/pages/:pageId/components',
    { config: { action: 'component.write' }, schema: { params: PageParams, body: ComponentBody } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { pageId } = request.params
      const body = request.body
      const isGroup = body.isGroup === 'true'
      const input = {
        name: body.name,
        description: body.description,
        isGroup,
        ...(isGroup
          ? {}
          : {
              groupId: body.groupId,
              onlyShowIfDegraded: lastValue(body.onlyShowIfDegraded),
              startDate: body.startDate,
            }),
      }
      const result = await attempt(() => components.create(actor, pageId, input))
      if (!result.ok)
        return renderComponents(
          reply,
          actor,
          pageId,
          {
            form: isGroup ? 'group' : 'component',
            errors: result.problem.fields,
            values: {
              name: body.name,
              description: body.description,
              groupId: body.groupId,
              startDate: body.startDate,
              onlyShowIfDegraded: lastValue(body.onlyShowIfDegraded),
            },
          },
          result.problem.status,
        )
      return reply.redirect(pagePath(pageId, '/components?saved=added'), 303)
    },
  )

  async function renderComponentEdit(
    reply: FastifyReply,
    actor: Actor,
    componentId: string,
    form: { errors?: Errors; values?: Values },
    status = 200,
  ) {
    const component = await components.get(actor, componentId)
    const view = await loadPageView(deps, reply, actor, component.pageId)
    const all = await components.list(actor, component.pageId)
    return sendHtml(
      reply,
      <ComponentEditPage
        {...view}
        component={component}
        groups={all.filter((c) => c.isGroup)}
        {...form}
      />,
      status,
    )
  }

  app.get(
    '/components/:componentId',
    { config: { action: 'component.read' }, schema: { params: ComponentParams } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      return renderComponentEdit(reply, actor, request.params.componentId, {})
    },
  )

  app.post(
    '/components/:componentId',
    {
      config: { action: 'component.write' },
      schema: { params: ComponentParams, body: ComponentBody },
    },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { componentId } = request.params
      const body = request.body
      const input = {
        name: body.name,
        description: body.description,
        groupId: body.groupId,
        onlyShowIfDegraded: lastValue(body.onlyShowIfDegraded),
        startDate: body.startDate,
      }
      const result = await attempt(() => components.update(actor, componentId, input))
      if (!result.ok)
        return renderComponentEdit(
          reply,
          actor,
          componentId,
          { errors: result.problem.fields, values: input },
          result.problem.status,
        )
      return reply.redirect(pagePath(result.value.pageId, '/components?saved=saved'), 303)
    },
  )

  app.post(
    '/components/:componentId/status',
    {
      config: { action: 'component.write' },
      schema: { params: ComponentParams, body: StatusBody },
    },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const component = await components.get(actor, request.params.componentId)
      const result = await attempt(() =>
        components.update(actor, component.id, { status: request.body.status ?? '' }),
      )
      if (!result.ok)
        return renderComponents(
          reply,
          actor,
          component.pageId,
          { form: 'row', errors: result.problem.fields },
          result.problem.status,
        )
      return reply.redirect(pagePath(component.pageId, '/components?saved=status'), 303)
    },
  )

  app.post(
    '/components/:componentId/move',
    { config: { action: 'component.write' }, schema: { params: ComponentParams, body: MoveBody } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const component = await components.get(actor, request.params.componentId)
      await components.move(actor, component.id, request.body.direction)
      return reply.redirect(pagePath(component.pageId, '/components?saved=moved'), 303)
    },
  )

  app.post(
    '/components/:componentId/delete',
    {
      config: { action: 'component.write' },
      schema: { params: ComponentParams, body: Type.Object(csrf) },
    },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const component = await components.get(actor, request.params.componentId)
      await components.remove(actor, component.id)
      return reply.redirect(pagePath(component.pageId, '/components?saved=deleted'), 303)
    },
  )
}
