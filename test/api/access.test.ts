import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import { signIn, TestBrowser } from '../helpers/browser.js'
import { addMember } from '../helpers/factories.js'
import { uniqueIp } from '../helpers/http.js'
import { actorFor, createPageFixture, type PageFixture } from '../helpers/page-factories.js'
import { testDialects } from '../helpers/test-db.js'
import {
  API,
  ApiClient,
  expectProblem,
  type ApiComponent,
  type ApiIncident,
  type ApiPage,
  type Method,
} from './harness.js'

describe.each(testDialects)('management API: keys, scopes and tenants (%s)', (dialect) => {
  let t: TestApp
  let api: ApiClient
  let f: PageFixture
  /** Another account with its own page, component and incident. */
  let other: PageFixture
  let otherIncident: string
  let incidentId: string
  let updateId: string
  let writeKey: string

  beforeAll(async () => {
    t = await buildTestApp(dialect)
    api = await ApiClient.open(t)
    f = await createPageFixture(t)
    other = await createPageFixture(t)
    const { incidents } = t.runtime.services
    otherIncident = (
      await incidents.create(other.actor, other.page.id, { name: 'Theirs', body: 'Down.' })
    ).id
    const mine = await incidents.create(f.actor, f.page.id, {
      name: 'Ours',
      body: 'Slow.',
      components: { [f.components.api.id]: 'degraded_performance' },
    })
    incidentId = mine.id
    updateId = mine.updates[0]!.id
    writeKey = await api.key(f.actor, f.owner.accountId)
  })
  afterAll(async () => {
    await t.close()
  })

  const db = () => t.runtime.database.db

  describe('authentication', () => {
    it('refuses a request without a key, with WWW-Authenticate and problem+json', async () => {
      const response = await api.get(undefined, '/pages')
      expectProblem(response, 401, 'missing_api_key')
      expect(response.header('www-authenticate')).toMatch(/^Bearer /)
      const basic = await api.get(undefined, '/pages', { authorization: 'Basic dXNlcjpwdw==' })
      expectProblem(basic, 401, 'missing_api_key')
    })

    it('refuses an unknown key, and one that does not look like a key', async () => {
      expectProblem(await api.get('cnd_doesnotexist', '/pages'), 401, 'invalid_api_key')
      expectProblem(await api.get('hello', '/pages'), 401, 'invalid_api_key')
      expectProblem(await api.get(`cnd_${'x'.repeat(200)}`, '/pages'), 401, 'invalid_api_key')
    })

    it('asks for the key on unknown paths too, then says 404', async () => {
      expectProblem(await api.get(undefined, '/nothing-here'), 401, 'missing_api_key')
      expectProblem(await api.get(writeKey, '/nothing-here'), 404, 'not_found')
    })

    it('takes the key as OAuth <key> (Statuspage) or Bearer <key>', async () => {
      const oauth = await api.request({ method: 'GET', path: '/pages', key: writeKey })
      const bearer = await api.request({
        method: 'GET',
        path: '/pages',
        key: writeKey,
        scheme: 'Bearer',
      })
      expect(oauth.status).toBe(200)
      expect(bearer.status).toBe(200)
      expect(bearer.json<ApiPage[]>().map((p) => p.id)).toEqual([f.page.id])
      expect(oauth.header('cache-control')).toBe('no-store')
    })

    it('refuses a revoked key at once', async () => {
      const { key, secret } = await t.runtime.services.apiKeys.create(f.actor, f.owner.accountId, {
        name: 'to revoke',
        scope: 'write',
      })
      expect((await api.get(secret, '/pages')).status).toBe(200)
      await t.runtime.services.apiKeys.revoke(f.actor, key.id)
      expectProblem(await api.get(secret, '/pages'), 401, 'invalid_api_key')
      expectProblem(
        await api.post(secret, `/pages/${f.page.id}/components`, { component: { name: 'X' } }),
        401,
        'invalid_api_key',
      )
    })

    it('refuses an expired key', async () => {
      const secret = await api.key(f.actor, f.owner.accountId, {
        expiresAt: new Date(t.clock.now().getTime() + 60_000),
      })
      expect((await api.get(secret, `/pages/${f.page.id}`)).status).toBe(200)
      t.clock.advance(60_001)
      expectProblem(await api.get(secret, `/pages/${f.page.id}`), 401, 'invalid_api_key')
    })

    it('refuses the key of someone who left the account, and caps it to a demoted role', async () => {
      const admin = await addMember(t, f.owner.accountId, 'admin')
      const adminActor = actorFor(admin.userId)
      const leaving = await api.key(adminActor, f.owner.accountId)
      const demoted = await api.key(adminActor, f.owner.accountId)
      expect((await api.get(leaving, '/pages')).status).toBe(200)

      await db()
        .updateTable('memberships')
        .set({ role: 'viewer' })
        .where('user_id', '=', admin.userId)
        .execute()
      // a viewer's key reads but does not write, whatever its scope
      expect((await api.get(demoted, `/pages/${f.page.id}/components`)).status).toBe(200)
      const write = await api.post(demoted, `/pages/${f.page.id}/components`, {
        component: { name: 'By a viewer' },
      })
      expect(write.status).toBe(403)

      await db().deleteFrom('memberships').where('user_id', '=', admin.userId).execute()
      expectProblem(await api.get(leaving, '/pages'), 401, 'invalid_api_key')
      expectProblem(await api.get(demoted, '/pages'), 401, 'invalid_api_key')
    })
  })

  describe('the session cookie', () => {
    async function signedIn(): Promise<TestBrowser> {
      const browser = new TestBrowser(t.app, { ip: uniqueIp() })
      expect((await signIn(browser, f.owner.email, f.owner.password)).status).toBe(303)
      // the dashboard knows this browser
      expect((await browser.get('/profile')).status).toBe(200)
      return browser
    }

    it('is not enough: reads and writes with a cookie alone are 401', async () => {
      const browser = await signedIn()
      const read = await browser.request('GET', `${API}/pages`, undefined, {
        accept: 'application/json',
      })
      expect(read.status).toBe(401)
      expect(read.headers['content-type']).toMatch(/^application\/problem\+json/)
      expect((JSON.parse(read.body) as { code: string }).code).toBe('missing_api_key')
      // with the CSRF token of a dashboard form, too: the API ignores the session
      const write = await browser.request(
        'POST',
        `${API}/pages/${f.page.id}/components`,
        JSON.stringify({ component: { name: 'By cookie' } }),
        {
          'content-type': 'application/json',
          ...(browser.csrfToken === undefined ? {} : { 'x-csrf-token': browser.csrfToken }),
        },
      )
      expect(write.status).toBe(401)
      const names = (await t.runtime.services.components.list(f.actor, f.page.id)).map(
        (c) => c.name,
      )
      expect(names).not.toContain('By cookie')
    })

    it('neither adds to a key nor brings CSRF checks: the key alone decides', async () => {
      const browser = await signedIn()
      const readKey = await api.key(f.actor, f.owner.accountId, { scope: 'read' })
      const cookie = [...browser.cookies].map(([name, value]) => `${name}=${value}`).join('; ')
      // the owner's session does not lift a read key to write
      const refused = await api.post(
        readKey,
        `/pages/${f.page.id}/components`,
        { component: { name: 'Read key and cookie' } },
        { cookie },
      )
      expectProblem(refused, 403, 'insufficient_scope')
      // a write key needs no CSRF token, with or without the cookie
      for (const headers of [{ cookie }, {}]) {
        const created = await api.post(
          writeKey,
          `/pages/${f.page.id}/components`,
          { component: { name: 'No CSRF token' } },
          headers,
        )
        expect(created.status).toBe(201)
        expect(
          (
            await api.delete(
              writeKey,
              `/pages/${f.page.id}/components/${created.json<ApiComponent>().id}`,
            )
          ).status,
        ).toBe(204)
      }
    })
  })

  describe('scopes', () => {
    /** Every write of the API, with a body it would accept from a write key. */
    function writes(): { method: Method; path: string; body?: unknown }[] {
      const page = `/pages/${f.page.id}`
      const component = `${page}/components/${f.components.web.id}`
      const group = `${page}/component-groups/${f.groups.core.id}`
      const incident = `${page}/incidents/${incidentId}`
      return [
        { method: 'PATCH', path: page, body: { page: { name: 'Renamed' } } },
        { method: 'PUT', path: page, body: { page: { name: 'Renamed' } } },
        { method: 'POST', path: `${page}/components`, body: { component: { name: 'New' } } },
        { method: 'PATCH', path: component, body: { component: { status: 'major_outage' } } },
        { method: 'PUT', path: component, body: { component: { status: 'major_outage' } } },
        { method: 'DELETE', path: component },
        {
          method: 'POST',
          path: `${page}/component-groups`,
          body: { component_group: { name: 'G', components: [] } },
        },
        { method: 'PATCH', path: group, body: { component_group: { name: 'G2' } } },
        { method: 'PUT', path: group, body: { component_group: { name: 'G2' } } },
        { method: 'DELETE', path: group },
        {
          method: 'POST',
          path: `${page}/incidents`,
          body: { incident: { name: 'New', body: 'Hm.' } },
        },
        {
          method: 'PATCH',
          path: incident,
          body: { incident: { status: 'identified', body: 'x' } },
        },
        { method: 'PUT', path: incident, body: { incident: { name: 'Renamed' } } },
        { method: 'DELETE', path: incident },
        {
          method: 'POST',
          path: `${incident}/incident_updates`,
          body: { incident_update: { status: 'identified', body: 'Found it.' } },
        },
        {
          method: 'PATCH',
          path: `${incident}/incident_updates/${updateId}`,
          body: { incident_update: { body: 'Edited.' } },
        },
        {
          method: 'PUT',
          path: `${incident}/incident_updates/${updateId}`,
          body: { incident_update: { body: 'Edited.' } },
        },
        {
          method: 'POST',
          path: `${page}/incident_templates`,
          body: { template: { name: 'T', title: 'T', body: 'B' } },
        },
      ]
    }

    it('a read key reads everything and every write is 403 insufficient_scope', async () => {
      const readKey = await api.key(f.actor, f.owner.accountId, { scope: 'read' })
      const before = await api.get(writeKey, `/pages/${f.page.id}/incidents/${incidentId}`)
      for (const path of [
        '/pages',
        `/pages/${f.page.id}`,
        `/pages/${f.page.id}/components`,
        `/pages/${f.page.id}/components/${f.components.api.id}`,
        `/pages/${f.page.id}/component-groups`,
        `/pages/${f.page.id}/component-groups/${f.groups.core.id}`,
        `/pages/${f.page.id}/incidents`,
        `/pages/${f.page.id}/incidents/${incidentId}`,
        `/pages/${f.page.id}/incidents/${incidentId}/incident_updates`,
        `/pages/${f.page.id}/incident_templates`,
      ])
        expect((await api.get(readKey, path)).status, path).toBe(200)
      for (const write of writes()) {
        const response = await api.request({ ...write, key: readKey })
        expectProblem(response, 403, 'insufficient_scope')
      }
      // nothing changed
      const after = await api.get(writeKey, `/pages/${f.page.id}/incidents/${incidentId}`)
      expect(after.text).toBe(before.text)
      expect((await t.runtime.services.components.list(f.actor, f.page.id)).length).toBe(6)
    })

    it("the key of an editor writes incidents but not the page's settings", async () => {
      const editor = await addMember(t, f.owner.accountId, 'editor')
      const admin = await addMember(t, f.owner.accountId, 'admin')
      const key = await api.key(actorFor(admin.userId), f.owner.accountId)
      await db()
        .updateTable('memberships')
        .set({ role: 'editor' })
        .where('user_id', '=', admin.userId)
        .execute()
      const incident = await api.post(key, `/pages/${f.page.id}/incidents`, {
        incident: { name: 'By an editor', body: 'Looking.' },
      })
      expect(incident.status).toBe(201)
      expect(
        (await api.delete(key, `/pages/${f.page.id}/incidents/${incident.json<ApiIncident>().id}`))
          .status,
      ).toBe(403)
      expect(editor.userId).not.toBe(admin.userId)
    })
  })

  describe('pages of a key and other accounts', () => {
    it('a key limited to one page sees only that page; others are 404', async () => {
      const second = await t.runtime.services.pages.create(f.actor, f.owner.accountId, {
        name: 'Second page',
        slug: `second-${String(Date.now() % 100000)}`,
      })
      const secondComponent = await t.runtime.services.components.create(f.actor, second.id, {
        name: 'Second API',
      })
      const secondIncident = await t.runtime.services.incidents.create(f.actor, second.id, {
        name: 'Second incident',
        body: 'x',
      })
      const limited = await api.key(f.actor, f.owner.accountId, { pageIds: [f.page.id] })

      const pages = await api.get(limited, '/pages')
      expect(pages.json<ApiPage[]>().map((p) => p.id)).toEqual([f.page.id])
      expect(pages.header('x-total-count')).toBe('1')
      expect((await api.get(writeKey, '/pages')).json<ApiPage[]>()).toHaveLength(2)
      expect((await api.get(limited, `/pages/${f.page.id}/components`)).status).toBe(200)

      const s = `/pages/${second.id}`
      for (const path of [
        s,
        `${s}/components`,
        `${s}/components/${secondComponent.id}`,
        `${s}/component-groups`,
        `${s}/incidents`,
        `${s}/incidents/${secondIncident.id}`,
        `${s}/incidents/${secondIncident.id}/incident_updates`,
        `${s}/incident_templates`,
        // the other page's ids under the allowed page
        `/pages/${f.page.id}/components/${secondComponent.id}`,
        `/pages/${f.page.id}/incidents/${secondIncident.id}`,
      ])
        expectProblem(await api.get(limited, path), 404, 'not_found')
      expectProblem(await api.patch(limited, s, { page: { name: 'Hijacked' } }), 404, 'not_found')
      expectProblem(
        await api.post(limited, `${s}/components`, { component: { name: 'Sneaky' } }),
        404,
        'not_found',
      )
      expectProblem(
        await api.patch(limited, `${s}/incidents/${secondIncident.id}`, {
          incident: { status: 'resolved', body: 'x' },
        }),
        404,
        'not_found',
      )
      expectProblem(
        await api.delete(limited, `${s}/incidents/${secondIncident.id}`),
        404,
        'not_found',
      )
      expect((await t.runtime.services.pages.get(f.actor, second.id)).name).toBe('Second page')
    })

    it("another account's pages, components and incidents are 404, read or written", async () => {
      const o = `/pages/${other.page.id}`
      const oComponent = other.components.api.id
      const mine = `/pages/${f.page.id}`
      for (const path of [
        o,
        `${o}/components`,
        `${o}/components/${oComponent}`,
        `${o}/component-groups/${other.groups.core.id}`,
        `${o}/incidents`,
        `${o}/incidents/${otherIncident}`,
        `${o}/incident_templates`,
        `${mine}/components/${oComponent}`,
        `${mine}/component-groups/${other.groups.core.id}`,
        `${mine}/incidents/${otherIncident}`,
        `${mine}/incidents/${otherIncident}/incident_updates`,
      ])
        expectProblem(await api.get(writeKey, path), 404, 'not_found')
      const attempts: { method: Method; path: string; body?: unknown }[] = [
        { method: 'PATCH', path: o, body: { page: { name: 'Mine now' } } },
        { method: 'POST', path: `${o}/components`, body: { component: { name: 'Planted' } } },
        {
          method: 'PATCH',
          path: `${o}/components/${oComponent}`,
          body: { component: { status: 'major_outage' } },
        },
        {
          method: 'PATCH',
          path: `${mine}/components/${oComponent}`,
          body: { component: { status: 'major_outage' } },
        },
        { method: 'DELETE', path: `${mine}/components/${oComponent}` },
        { method: 'DELETE', path: `${mine}/component-groups/${other.groups.core.id}` },
        {
          method: 'PATCH',
          path: `${mine}/incidents/${otherIncident}`,
          body: { incident: { status: 'resolved', body: 'Gone.' } },
        },
        {
          method: 'POST',
          path: `${mine}/incidents/${otherIncident}/incident_updates`,
          body: { incident_update: { status: 'resolved', body: 'Gone.' } },
        },
        { method: 'DELETE', path: `${o}/incidents/${otherIncident}` },
        { method: 'DELETE', path: `${mine}/incidents/${otherIncident}` },
      ]
      for (const attempt of attempts)
        expectProblem(await api.request({ ...attempt, key: writeKey }), 404, 'not_found')
      // their rows are untouched
      const { components, incidents, pages } = t.runtime.services
      expect((await pages.get(other.actor, other.page.id)).name).toBe(other.page.name)
      const theirs = await components.list(other.actor, other.page.id)
      expect(theirs.find((c) => c.id === oComponent)?.status).toBe('operational')
      expect(theirs.map((c) => c.name)).not.toContain('Planted')
      expect((await incidents.get(other.actor, otherIncident)).status).toBe('investigating')
      // an incident may not name another account's components either
      const mixed = await api.post(writeKey, `${mine}/incidents`, {
        incident: { name: 'Mixed', body: 'x', components: { [oComponent]: 'major_outage' } },
      })
      expect(mixed.status).toBe(422)
      expect(Object.keys(mixed.problem().errors ?? {})).toEqual(['incident.components'])
    })
  })
})
