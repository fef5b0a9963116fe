import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import { createPageFixture, type PageFixture } from '../helpers/page-factories.js'
import { testDialects } from '../helpers/test-db.js'
import {
  ApiClient,
  COMPONENT_FIELDS,
  expectInvalid,
  expectProblem,
  expectRefused,
  type ApiComponent,
  type ApiGroup,
  type ApiPage,
} from './harness.js'

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

describe.each(testDialects)('management API: pages and components (%s)', (dialect) => {
  let t: TestApp
  let api: ApiClient
  let f: PageFixture
  let key: string
  let page: string

  beforeAll(async () => {
    t = await buildTestApp(dialect)
    api = await ApiClient.open(t)
  })
  beforeEach(async () => {
    f = await createPageFixture(t)
    key = await api.key(f.actor, f.owner.accountId)
    page = `/pages/${f.page.id}`
  })
  afterAll(async () => {
    await t.close()
  })

  const componentsOf = () => t.runtime.services.components.list(f.actor, f.page.id)

  describe('pages', () => {
    it('lists and reads pages with Statuspage field names', async () => {
      const list = await api.get(key, '/pages')
      expect(list.status).toBe(200)
      const [listed] = list.json<ApiPage[]>()
      expect(Object.keys(listed!)).toEqual([
        'id',
        'created_at',
        'updated_at',
        'name',
        'subdomain',
        'domain',
        'url',
        'support_url',
        'homepage_url',
        'time_zone',
        'locale',
        'branding',
        'viewers_must_be_team_members',
        'ip_restrictions',
        'visibility',
      ])
      const one = await api.get(key, page)
      expect(one.json<ApiPage>()).toEqual(listed)
      expect(one.json<ApiPage>()).toMatchObject({
        id: f.page.id,
        name: f.page.name,
        subdomain: f.page.slug,
        url: `http://candor.test/p/${f.page.slug}`,
        time_zone: 'UTC',
        domain: null,
      })
    })

    it('updates a page with PATCH and PUT', async () => {
      const patched = await api.patch(key, page, {
        page: {
          name: 'Acme Cloud',
          time_zone: 'Europe/Paris',
          branding: '#112233',
          support_url: 'https://acme.example/help',
        },
      })
      expect(patched.status).toBe(200)
      expect(patched.json<ApiPage>()).toMatchObject({
        name: 'Acme Cloud',
        time_zone: 'Europe/Paris',
        branding: '#112233',
        support_url: 'https://acme.example/help',
      })
      const put = await api.put(key, page, { page: { support_url: null } })
      expect(put.status).toBe(200)
      expect(put.json<ApiPage>()).toMatchObject({ name: 'Acme Cloud', support_url: null })
      expect((await t.runtime.services.pages.get(f.actor, f.page.id)).timeZone).toBe('Europe/Paris')
    })

    it('refuses bad page input with the fields named', async () => {
      expectInvalid(await api.patch(key, page, { page: { name: 7 } }), 'page.name')
      expectInvalid(await api.patch(key, page, { page: { name: 'x'.repeat(101) } }), 'page.name')
      expectInvalid(await api.patch(key, page, { page: { colour: 'red' } }), 'page.colour')
      expectInvalid(await api.patch(key, page, { name: 'No wrapper' }), 'page')
      expectRefused(await api.patch(key, page, { page: { branding: 'red' } }), 'page.branding')
      expectRefused(await api.patch(key, page, { page: { subdomain: 'A B' } }), 'page.subdomain')
      expectRefused(await api.patch(key, page, { page: { name: '   ' } }), 'page.name')
      expect((await t.runtime.services.pages.get(f.actor, f.page.id)).name).toBe(f.page.name)
      expectProblem(await api.get(key, '/pages/nosuchpage00'), 404, 'not_found')
    })
  })

  describe('components', () => {
    it('lists components and groups with exactly the Statuspage fields', async () => {
      const response = await api.get(key, `${page}/components`)
      expect(response.status).toBe(200)
      const list = response.json<ApiComponent[]>()
      expect(list).toHaveLength(6)
      for (const component of list) {
        expect(Object.keys(component)).toEqual(COMPONENT_FIELDS)
        expect(component.created_at).toMatch(TIMESTAMP)
        expect(component.page_id).toBe(f.page.id)
      }
      const apiComponent = list.find((c) => c.id === f.components.api.id)
      expect(apiComponent).toMatchObject({
        group_id: f.groups.core.id,
        group: false,
        name: 'API',
        description: 'The public REST API',
        status: 'operational',
        showcase: true,
        only_show_if_degraded: false,
        automation_email: null,
        start_date: null,
      })
      expect(list.find((c) => c.id === f.groups.core.id)).toMatchObject({
        group: true,
        group_id: null,
      })
    })

    it('creates, reads, updates (PATCH and PUT) and deletes a component', async () => {
      const created = await api.post(key, `${page}/components`, {
        component: {
          name: 'Database',
          description: 'Primary cluster',
          status: 'partial_outage',
          group_id: f.groups.regions.id,
          only_show_if_degraded: true,
          showcase: false,
          start_date: '2026-01-15',
        },
      })
      expect(created.status).toBe(201)
      const component = created.json<ApiComponent>()
      expect(Object.keys(component)).toEqual(COMPONENT_FIELDS)
      expect(component).toMatchObject({
        page_id: f.page.id,
        group_id: f.groups.regions.id,
        group: false,
        name: 'Database',
        description: 'Primary cluster',
        status: 'partial_outage',
        only_show_if_degraded: true,
        showcase: false,
        start_date: '2026-01-15',
      })
      expect(component.id).toMatch(/^[a-z0-9]{12}$/)
      const path = `${page}/components/${component.id}`
      expect((await api.get(key, path)).json<ApiComponent>()).toEqual(component)

      const patched = await api.patch(key, path, {
        component: { status: 'operational', description: null, group_id: null },
      })
      expect(patched.status).toBe(200)
      expect(patched.json<ApiComponent>()).toMatchObject({
        status: 'operational',
        description: null,
        group_id: null,
        name: 'Database',
      })
      const put = await api.put(key, path, { component: { name: 'DB', showcase: true } })
      expect(put.json<ApiComponent>()).toMatchObject({ name: 'DB', showcase: true })

      const deleted = await api.delete(key, path)
      expect(deleted.status).toBe(204)
      expect(deleted.text).toBe('')
      expectProblem(await api.get(key, path), 404, 'not_found')
      expectProblem(await api.delete(key, path), 404, 'not_found')
    })

    it('does not take a group as a component', async () => {
      expectProblem(await api.get(key, `${page}/components/${f.groups.core.id}`), 404, 'not_found')
    })

    it('refuses wrong types, unknown fields, bad statuses and long strings with a 400', async () => {
      const post = (component: unknown) => api.post(key, `${page}/components`, { component })
      expectInvalid(await post({ name: 5 }), 'component.name')
      expectInvalid(await post({ name: 'A', colour: 'blue' }), 'component.colour')
      expectInvalid(await post({ name: 'A', status: 'broken' }), 'component.status')
      expectInvalid(await post({ name: 'x'.repeat(101) }), 'component.name')
      expectInvalid(
        await post({ name: 'A', description: 'd'.repeat(501) }),
        'component.description',
      )
      expectInvalid(await post({ name: 'A', showcase: 'yes' }), 'component.showcase')
      expectInvalid(
        await post({ name: 'A', only_show_if_degraded: 1 }),
        'component.only_show_if_degraded',
      )
      expectInvalid(await post('A'), 'component')
      expectInvalid(await api.post(key, `${page}/components`, [{ name: 'A' }]), 'body')
      expectInvalid(await api.post(key, `${page}/components`, { name: 'A' }), 'component')
      // every problem at once
      const many = expectInvalid(
        await post({ name: 5, status: 'broken', extra: true }),
        'component.name',
        'component.status',
        'component.extra',
      )
      expect(many.detail).toContain('component.status')
      const malformed = await api.request({
        method: 'POST',
        path: `${page}/components`,
        key,
        rawBody: '{"component": {"name": "A",}',
      })
      expect(expectInvalid(malformed, 'body').code).toBe('invalid_json')
      const patch = await api.patch(key, `${page}/components/${f.components.api.id}`, {
        component: { status: 'down' },
      })
      expectInvalid(patch, 'component.status')
      const names = (await componentsOf()).map((c) => c.name)
      expect(names).toHaveLength(6)
      expect(names).not.toContain('5')
      expect((await componentsOf()).find((c) => c.id === f.components.api.id)?.status).toBe(
        'operational',
      )
    })

    it("names the service's refusals by their API field names (422)", async () => {
      const post = (component: unknown) => api.post(key, `${page}/components`, { component })
      expectRefused(await post({ description: 'no name' }), 'component.name')
      expectRefused(await post({ name: 'A', group_id: 'nosuchgroup0' }), 'component.group_id')
      expectRefused(await post({ name: 'A', group_id: f.components.api.id }), 'component.group_id')
      expectRefused(await post({ name: 'A', start_date: '15/01/2026' }), 'component.start_date')
      expect(await componentsOf()).toHaveLength(6)
    })

    it('refuses a bad query string', async () => {
      expectInvalid(await api.get(key, `${page}/components?per_page=abc`), 'querystring.per_page')
    })
  })

  describe('component groups', () => {
    const GROUP_FIELDS = [
      'id',
      'page_id',
      'name',
      'description',
      'components',
      'position',
      'created_at',
      'updated_at',
    ]

    it('lists groups with their components', async () => {
      const response = await api.get(key, `${page}/component-groups`)
      expect(response.status).toBe(200)
      const groups = response.json<ApiGroup[]>()
      expect(groups.map((g) => g.name)).toEqual(['Core', 'Regions'])
      for (const group of groups) expect(Object.keys(group)).toEqual(GROUP_FIELDS)
      expect(groups[0]?.components).toEqual([f.components.api.id, f.components.web.id])
      expect(
        (await api.get(key, `${page}/component-groups/${f.groups.regions.id}`)).json<ApiGroup>(),
      ).toEqual(groups[1])
    })

    it('creates a group with components, moves them with PATCH and PUT, deletes it', async () => {
      const created = await api.post(key, `${page}/component-groups`, {
        component_group: {
          name: 'Storage',
          description: 'Disks',
          components: [f.components.api.id, f.components.eu.id],
        },
      })
      expect(created.status).toBe(201)
      const group = created.json<ApiGroup>()
      expect(Object.keys(group)).toEqual(GROUP_FIELDS)
      expect(group).toMatchObject({ name: 'Storage', description: 'Disks', page_id: f.page.id })
      expect([...group.components].sort()).toEqual([f.components.api.id, f.components.eu.id].sort())
      const path = `${page}/component-groups/${group.id}`
      const patched = await api.patch(key, path, {
        component_group: { name: 'Storage 2', components: [f.components.us.id] },
      })
      expect(patched.status).toBe(200)
      expect(patched.json<ApiGroup>()).toMatchObject({
        name: 'Storage 2',
        components: [f.components.us.id],
      })
      // the components that left are ungrouped
      const all = await componentsOf()
      expect(all.find((c) => c.id === f.components.api.id)?.groupId).toBeNull()
      expect(all.find((c) => c.id === f.components.us.id)?.groupId).toBe(group.id)
      const put = await api.put(key, path, { component_group: { description: null } })
      expect(put.json<ApiGroup>()).toMatchObject({ name: 'Storage 2', description: null })

      expect((await api.delete(key, path)).status).toBe(204)
      expectProblem(await api.get(key, path), 404, 'not_found')
      const after = await componentsOf()
      expect(after.find((c) => c.id === f.components.us.id)?.groupId).toBeNull()
    })

    it('refuses bad group input and writes nothing', async () => {
      const post = (component_group: unknown) =>
        api.post(key, `${page}/component-groups`, { component_group })
      expectInvalid(await post({ name: 'G', components: 'all' }), 'component_group.components')
      expectInvalid(await post({ name: 'G', colour: 'red' }), 'component_group.colour')
      expectInvalid(await post({ name: ['G'] }), 'component_group.name')
      expectRefused(await post({ components: [] }), 'component_group.name')
      // an unknown component: refused before the group is made
      expectRefused(
        await post({ name: 'Half', components: [f.components.api.id, 'nosuchcompo'] }),
        'component_group.components',
      )
      expectRefused(
        await post({ name: 'Half', components: [f.groups.core.id] }),
        'component_group.components',
      )
      const groupPath = `${page}/component-groups/${f.groups.core.id}`
      expectRefused(
        await api.patch(key, groupPath, {
          component_group: { name: 'Renamed', components: ['nosuchcompo'] },
        }),
        'component_group.components',
      )
      const all = await componentsOf()
      expect(all.map((c) => c.name)).not.toContain('Half')
      expect(all.map((c) => c.name)).not.toContain('Renamed')
      expect(all).toHaveLength(6)
      expectProblem(
        await api.get(key, `${page}/component-groups/${f.components.api.id}`),
        404,
        'not_found',
      )
    })
  })
})
