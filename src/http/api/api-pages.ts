import { Type, type Static } from '@sinclair/typebox'
import type { FastifyRequest } from 'fastify'
import type { Actor } from '../../domain/actor.js'
import { NotFoundError, ValidationError } from '../../domain/errors.js'
import type { Component, Page } from '../../domain/pages/types.js'
import type { ServerDeps } from '../app-type.js'
import { paginate, type ApiInstance } from './api-plugin.js'
import {
  ComponentStatusSchema,
  PageIdParams,
  PageItemParams,
  Pagination,
  problemResponses,
} from './api-schemas.js'
import { publicPageUrl } from '../../domain/pages/page-url.js'

export function actorOf(request: FastifyRequest): Actor {
  if (request.actor === undefined) throw new NotFoundError('The API key')
  return request.actor
}

export function pageUrlOf(deps: ServerDeps, page: Pick<Page, 'slug' | 'customDomain'>): string {
  return publicPageUrl(deps.config.baseUrl, page)
}

export function serializePage(deps: ServerDeps, page: Page) {
  return {
    id: page.id,
    created_at: page.createdAt.toISOString(),
    updated_at: page.updatedAt.toISOString(),
    name: page.name,
    subdomain: page.slug,
    domain: page.customDomain,
    url: pageUrlOf(deps, page),
    support_url: page.supportUrl,
    homepage_url: page.homepageUrl,
    time_zone: page.timeZone,
    locale: page.locale,
    branding: page.brandColor,
    viewers_must_be_team_members: page.visibility === 'team',
    ip_restrictions: page.visibility === 'ip' ? page.ipAllowlist.join(',') : null,
    visibility: page.visibility,
  }
}

export function serializeComponent(component: Component) {
  return {
    id: component.id,
    page_id: component.pageId,
    group_id: component.groupId,
    created_at: component.createdAt.toISOString(),
    updated_at: component.updatedAt.toISOString(),
    group: component.isGroup,
    name: component.name,
    description: component.description,
    position: component.position,
    status: component.status,
    showcase: component.showcase,
    only_show_if_degraded: component.onlyShowIfDegraded,
    automation_email: null,
    start_date: component.startDate,
  }
}

function serializeGroup(group: Component, all: readonly Component[]) {
  return {
    id: group.id,
    page_id: group.pageId,
    name: group.name,
    description: group.description,
    components: all.filter((c) => c.groupId === group.id).map((c) => c.id),
    position: group.position,
    created_at: group.createdAt.toISOString(),
    updated_at: group.updatedAt.toISOString(),
  }
}

const PageBody = Type.Object({
  page: Type.Object(
    {
      name: Type.Optional(Type.String({ maxLength: 100 })),
      subdomain: Type.Optional(Type.String({ maxLength: 64 })),
      time_zone: Type.Optional(Type.String({ maxLength: 64 })),
      locale: Type.Optional(Type.String({ maxLength: 8 })),
      branding: Type.Optional(Type.String({ maxLength: 16 })),
      support_url: Type.Optional(Type.Union([Type.String({ maxLength: 2000 }), Type.Null()])),
      homepage_url: Type.Optional(Type.Union([Type.String({ maxLength: 2000 }), Type.Null()])),
      domain: Type.Optional(Type.Union([Type.String({ maxLength: 253 }), Type.Null()])),
    },
    { additionalProperties: false },
  ),
})

const ComponentFields = {
  name: Type.Optional(Type.String({ maxLength: 100 })),
  description: Type.Optional(Type.Union([Type.String({ maxLength: 500 }), Type.Null()])),
  status: Type.Optional(ComponentStatusSchema),
  group_id: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])),
  only_show_if_degraded: Type.Optional(Type.Boolean()),
  showcase: Type.Optional(Type.Boolean()),
  start_date: Type.Optional(Type.Union([Type.String({ maxLength: 10 }), Type.Null()])),
}
const ComponentBody = Type.Object({
  component: Type.Object(ComponentFields, { additionalProperties: false }),
})
const GroupBody = Type.Object({
  component_group: Type.Object(
    {
      name: Type.Optional(Type.String({ maxLength: 100 })),
      description: Type.Optional(Type.Union([Type.String({ maxLength: 500 }), Type.Null()])),
      components: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 500 })),
    },
    { additionalProperties: false },
  ),
})

function componentInput(body: Static<typeof ComponentBody>['component']) {
  return {
    ...(body.name === undefined ? {} : { name: body.name }),
    ...(body.description === undefined ? {} : { description: body.description ?? '' }),
    ...(body.status === undefined ? {} : { status: body.status }),
    ...(body.group_id === undefined ? {} : { groupId: body.group_id ?? '' }),
    ...(body.only_show_if_degraded === undefined
      ? {}
      : { onlyShowIfDegraded: body.only_show_if_degraded }),
    ...(body.showcase === undefined ? {} : { showcase: body.showcase }),
    ...(body.start_date === undefined ? {} : { startDate: body.start_date ?? '' }),
  }
}

export function registerPageResources(api: ApiInstance, deps: ServerDeps): void {
  const { pages, components } = deps.services
  const tags = ['Pages']

  /** The pages a key may see: its account's, limited to its pages when it has a list. */
  async function visiblePages(actor: Actor): Promise<Page[]> {
    const key = actor.apiKey
    if (key === undefined) return []
    const all = await pages.list(actor, key.accountId)
    return key.pageIds === null ? all : all.filter((p) => key.pageIds?.includes(p.id))
  }

  api.get(
    '/pages',
    {
      schema: {
        tags,
        summary: 'List pages',
        querystring: Pagination,
        response: { 200: Type.Array(Type.Ref('Page')), ...problemResponses },
      },
    },
    async (request, reply) =>
      paginate(request, reply, await visiblePages(actorOf(request))).map((p) =>
        serializePage(deps, p),
      ),
  )

  api.get(
    '/pages/:page_id',
    {
      schema: {
        tags,
        summary: 'Get a page',
        params: PageIdParams,
        response: { 200: Type.Ref('Page'), ...problemResponses },
      },
    },
    async (request) =>
      serializePage(deps, await pages.get(actorOf(request), request.params.page_id)),
  )

  const updatePage = async (
    request: FastifyRequest<{ Params: Static<typeof PageIdParams>; Body: Static<typeof PageBody> }>,
  ) => {
    const body = request.body.page
    const actor = actorOf(request)
    const page = await pages.update(actor, request.params.page_id, {
      ...(body.name === undefined ? {} : { name: body.name }),
      ...(body.subdomain === undefined ? {} : { slug: body.subdomain }),
      ...(body.time_zone === undefined ? {} : { timeZone: body.time_zone }),
      ...(body.locale === undefined ? {} : { locale: body.locale }),
      ...(body.branding === undefined ? {} : { brandColor: body.branding }),
      ...(body.support_url === undefined ? {} : { supportUrl: body.support_url ?? '' }),
      ...(body.homepage_url === undefined ? {} : { homepageUrl: body.homepage_url ?? '' }),
      ...(body.domain === undefined ? {} : { customDomain: body.domain ?? '' }),
    })
    return serializePage(deps, page)
  }
  for (const method of ['patch', 'put'] as const)
    api[method](
      '/pages/:page_id',
      {
        schema: {
          tags,
          summary: 'Update a page',
          params: PageIdParams,
          body: PageBody,
          response: { 200: Type.Ref('Page'), ...problemResponses },
        },
      },
      updatePage,
    )

  // ---- Components ----
  const ctags = ['Components']
  const ComponentParams = PageItemParams('component_id')

  async function componentOfPage(actor: Actor, pageId: string, componentId: string) {
    const list = await components.list(actor, pageId)
    const found = list.find((c) => c.id === componentId && !c.isGroup)
    if (found === undefined) throw new NotFoundError('The component')
    return found
  }

  api.get(
    '/pages/:page_id/components',
    {
      schema: {
        tags: ctags,
        summary: 'List components (groups included, with group: true)',
        params: PageIdParams,
        querystring: Pagination,
        response: { 200: Type.Array(Type.Ref('Component')), ...problemResponses },
      },
    },
    async (request, reply) =>
      paginate(request, reply, await components.list(actorOf(request), request.params.page_id)).map(
        serializeComponent,
      ),
  )

  api.post(
    '/pages/:page_id/components',
    {
      schema: {
        tags: ctags,
        summary: 'Create a component',
        params: PageIdParams,
        body: ComponentBody,
        response: { 201: Type.Ref('Component'), ...problemResponses },
      },
    },
    async (request, reply) => {
      const created = await components.create(
        actorOf(request),
        request.params.page_id,
        componentInput(request.body.component),
      )
      return reply.code(201).send(serializeComponent(created))
    },
  )

  api.get(
    '/pages/:page_id/components/:component_id',
    {
      schema: {
        tags: ctags,
        summary: 'Get a component',
        params: ComponentParams,
        response: { 200: Type.Ref('Component'), ...problemResponses },
      },
    },
    async (request) => {
      const params = request.params as { page_id: string; component_id: string }
      return serializeComponent(
        await componentOfPage(actorOf(request), params.page_id, params.component_id),
      )
    },
  )

  for (const method of ['patch', 'put'] as const)
    api[method](
      '/pages/:page_id/components/:component_id',
      {
        schema: {
          tags: ctags,
          summary: 'Update a component (its status, too)',
          params: ComponentParams,
          body: ComponentBody,
          response: { 200: Type.Ref('Component'), ...problemResponses },
        },
      },
      async (request) => {
        const params = request.params as { page_id: string; component_id: string }
        const actor = actorOf(request)
        await componentOfPage(actor, params.page_id, params.component_id)
        const body = request.body
        return serializeComponent(
          await components.update(actor, params.component_id, componentInput(body.component)),
        )
      },
    )

  api.delete(
    '/pages/:page_id/components/:component_id',
    {
      schema: {
        tags: ctags,
        summary: 'Delete a component',
        params: ComponentParams,
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (request, reply) => {
      const params = request.params as { page_id: string; component_id: string }
      const actor = actorOf(request)
      await componentOfPage(actor, params.page_id, params.component_id)
      await components.remove(actor, params.component_id)
      return reply.code(204).send(null)
    },
  )

  // ---- Component groups ----
  const gtags = ['Component groups']
  const GroupParams = PageItemParams('id')

  async function groupOfPage(actor: Actor, pageId: string, groupId: string) {
    const all = await components.list(actor, pageId)
    const group = all.find((c) => c.id === groupId && c.isGroup)
    if (group === undefined) throw new NotFoundError('The component group')
    return { group, all }
  }

  /** Refuses ids that are not components of the page, before anything is written. */
  async function checkMembers(actor: Actor, pageId: string, ids: string[] | undefined) {
    if (ids === undefined) return
    const all = await components.list(actor, pageId)
    const unknown = ids.filter((id) => !all.some((c) => c.id === id && !c.isGroup))
    if (unknown.length > 0)
      throw new ValidationError({
        components: `Not components of this page: ${unknown.slice(0, 5).join(', ')}.`,
      })
  }

  /** Moves exactly the listed components into the group (others leave it). */
  async function setMembers(actor: Actor, pageId: string, groupId: string, ids: string[]) {
    await checkMembers(actor, pageId, ids)
    const all = await components.list(actor, pageId)
    for (const c of all) {
      if (c.isGroup) continue
      const wanted = ids.includes(c.id)
      if (wanted && c.groupId !== groupId) await components.update(actor, c.id, { groupId })
      if (!wanted && c.groupId === groupId) await components.update(actor, c.id, { groupId: '' })
    }
  }

  api.get(
    '/pages/:page_id/component-groups',
    {
      schema: {
        tags: gtags,
        summary: 'List component groups',
        params: PageIdParams,
        querystring: Pagination,
        response: { 200: Type.Array(Type.Ref('ComponentGroup')), ...problemResponses },
      },
    },
    async (request, reply) => {
      const all = await components.list(actorOf(request), request.params.page_id)
      return paginate(
        request,
        reply,
        all.filter((c) => c.isGroup),
      ).map((g) => serializeGroup(g, all))
    },
  )

  api.post(
    '/pages/:page_id/component-groups',
    {
      schema: {
        tags: gtags,
        summary: 'Create a component group',
        params: PageIdParams,
        body: GroupBody,
        response: { 201: Type.Ref('ComponentGroup'), ...problemResponses },
      },
    },
    async (request, reply) => {
      const actor = actorOf(request)
      const { page_id: pageId } = request.params
      const body = request.body.component_group
      await checkMembers(actor, pageId, body.components)
      const group = await components.create(actor, pageId, {
        name: body.name,
        description: body.description ?? '',
        isGroup: true,
      })
      if (body.components !== undefined) await setMembers(actor, pageId, group.id, body.components)
      const { group: fresh, all } = await groupOfPage(actor, pageId, group.id)
      return reply.code(201).send(serializeGroup(fresh, all))
    },
  )

  api.get(
    '/pages/:page_id/component-groups/:id',
    {
      schema: {
        tags: gtags,
        summary: 'Get a component group',
        params: GroupParams,
        response: { 200: Type.Ref('ComponentGroup'), ...problemResponses },
      },
    },
    async (request) => {
      const params = request.params as { page_id: string; id: string }
      const { group, all } = await groupOfPage(actorOf(request), params.page_id, params.id)
      return serializeGroup(group, all)
    },
  )

  for (const method of ['patch', 'put'] as const)
    api[method](
      '/pages/:page_id/component-groups/:id',
      {
        schema: {
          tags: gtags,
          summary: 'Update a component group and its components',
          params: GroupParams,
          body: GroupBody,
          response: { 200: Type.Ref('ComponentGroup'), ...problemResponses },
        },
      },
      async (request) => {
        const params = request.params as { page_id: string; id: string }
        const actor = actorOf(request)
        await groupOfPage(actor, params.page_id, params.id)
        const body = request.body.component_group
        await checkMembers(actor, params.page_id, body.components)
        if (body.name !== undefined || body.description !== undefined)
          await components.update(actor, params.id, {
            ...(body.name === undefined ? {} : { name: body.name }),
            ...(body.description === undefined ? {} : { description: body.description ?? '' }),
          })
        if (body.components !== undefined)
          await setMembers(actor, params.page_id, params.id, body.components)
        const { group, all } = await groupOfPage(actor, params.page_id, params.id)
        return serializeGroup(group, all)
      },
    )

  api.delete(
    '/pages/:page_id/component-groups/:id',
    {
      schema: {
        tags: gtags,
        summary: 'Delete a component group (its components stay, ungrouped)',
        params: GroupParams,
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (request, reply) => {
      const params = request.params as { page_id: string; id: string }
      const actor = actorOf(request)
      await groupOfPage(actor, params.page_id, params.id)
      await components.remove(actor, params.id)
      return reply.code(204).send(null)
    },
  )
}
