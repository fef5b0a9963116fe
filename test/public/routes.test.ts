import { brotliDecompressSync, gunzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import { signIn, TestBrowser } from '../helpers/browser.js'
import { addMember } from '../helpers/factories.js'
import { createPageFixture, type PageFixture } from '../helpers/page-factories.js'
import { testDialects } from '../helpers/test-db.js'

const SURFACES = [
  '',
  '/history',
  '/api/v2/summary.json',
  '/api/v2/status.json',
  '/api/v2/components.json',
  '/api/v2/incidents.json',
  '/api/v2/incidents/unresolved.json',
  '/api/v2/scheduled-maintenances.json',
  '/api/v2/scheduled-maintenances/upcoming.json',
  '/api/v2/scheduled-maintenances/active.json',
  '/history.atom',
  '/history.rss',
  '/maintenance.ics',
  '/badge.svg',
  '/theme.css',
]

describe.each(testDialects)('public status page routes (%s)', (dialect) => {
  let t: TestApp
  let f: PageFixture
  beforeAll(async () => {
    t = await buildTestApp(dialect)
    f = await createPageFixture(t)
  })
  afterAll(async () => {
    await t.close()
  })

  const json = (body: string) =>
    JSON.parse(body) as {
      status: { indicator: string }
      components: unknown[]
      page: { url: string }
    }
  const get = (url: string, headers: Record<string, string> = {}, remoteAddress = '203.0.113.7') =>
    t.app.inject({ method: 'GET', url, headers, remoteAddress })

  it('serves every surface of a public page, with ETags, 304 and compressed bodies', async () => {
    for (const path of SURFACES) {
      const response = await get(`/p/${f.page.slug}${path}`)
      expect(response.statusCode, path).toBe(200)
      expect(response.headers.etag, path).toMatch(/^"\d+-[\w-]+"$/)
      expect(response.headers['cache-control'], path).toBe('public, no-cache')
    }
    const page = await get(`/p/${f.page.slug}`)
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(page.body).toContain('API')
    const again = await get(`/p/${f.page.slug}`, { 'if-none-match': String(page.headers.etag) })
    expect(again.statusCode).toBe(304)
    expect(again.body).toBe('')
    const br = await get(`/p/${f.page.slug}`, { 'accept-encoding': 'gzip, deflate, br' })
    expect(br.headers['content-encoding']).toBe('br')
    expect(brotliDecompressSync(br.rawPayload).toString('utf8')).toBe(page.body)
    const gzip = await get(`/p/${f.page.slug}`, { 'accept-encoding': 'gzip' })
    expect(gzip.headers['content-encoding']).toBe('gzip')
    expect(gunzipSync(gzip.rawPayload).toString('utf8')).toBe(page.body)
    expect(br.headers.vary).toContain('Accept-Encoding')
    const summary = await get(`/p/${f.page.slug}/api/v2/summary.json`)
    expect(summary.headers['access-control-allow-origin']).toBe('*')
    expect(summary.headers['content-type']).toBe('application/json; charset=utf-8')
  })

  it('shows a change at once, on HTML and JSON', async () => {
    const before = await get(`/p/${f.page.slug}/api/v2/status.json`)
    expect(json(before.body).status.indicator).toBe('none')
    const html = await get(`/p/${f.page.slug}`)
    await t.runtime.services.incidents.create(f.actor, f.page.id, {
      name: 'Checkout is failing',
      status: 'investigating',
      impact: 'critical',
      body: 'Payments fail.',
      components: { [f.components.web.id]: 'major_outage' },
    })
    const after = await get(`/p/${f.page.slug}/api/v2/status.json`)
    expect(json(after.body).status.indicator).toBe('critical')
    const fresh = await get(`/p/${f.page.slug}`, { 'if-none-match': String(html.headers.etag) })
    expect(fresh.statusCode).toBe(200)
    expect(fresh.body).toContain('Checkout is failing')
  })

  it('serves the page on its own host and on its custom domain, and nothing on unknown hosts', async () => {
    const onSubdomain = await get('/', { host: `${f.page.slug}.candor.test` })
    expect(onSubdomain.statusCode).toBe(200)
    expect(onSubdomain.body).toContain(f.page.name)
    const components = await get('/api/v2/components.json', { host: `${f.page.slug}.candor.test` })
    expect(json(components.body).components.length).toBe(6)
    await t.runtime.services.pages.update(f.actor, f.page.id, {
      customDomain: 'status.acme-test.example',
    })
    const onDomain = await get('/api/v2/status.json', { host: 'status.acme-test.example' })
    expect(onDomain.statusCode).toBe(200)
    expect(json(onDomain.body).page.url).toBe('https://status.acme-test.example')
    expect((await get('/', { host: 'unknown.example.net' })).statusCode).toBe(404)
    expect((await get('/login', { host: 'status.acme-test.example' })).statusCode).toBe(404)
    expect((await get(`/_host/status.acme-test.example/api/v2/status.json`)).statusCode).toBe(404)
    expect((await get('/healthz', { host: 'status.acme-test.example' })).statusCode).toBe(200)
  })

  it('keeps an archive by month beyond the 50 most recent incidents', async () => {
    const g = await createPageFixture(t)
    const old = new Date(t.clock.now().getTime() - 200 * 86_400_000)
    const oldMonth = old.toISOString().slice(0, 7)
    await t.runtime.services.incidents.create(g.actor, g.page.id, {
      name: 'Ancient outage',
      status: 'resolved',
      impact: 'minor',
      body: 'Long ago.',
      displayAt: old.toISOString(),
    })
    for (let i = 0; i < 51; i++) {
      await t.runtime.services.incidents.create(g.actor, g.page.id, {
        name: `Recent blip ${String(i)}`,
        status: 'resolved',
        impact: 'none',
        body: 'Short.',
      })
    }
    const incidents = JSON.parse((await get(`/p/${g.page.slug}/api/v2/incidents.json`)).body) as {
      incidents: { name: string }[]
    }
    expect(incidents.incidents).toHaveLength(50)
    expect(incidents.incidents.map((i) => i.name)).not.toContain('Ancient outage')
    expect((await get(`/p/${g.page.slug}/history`)).body).not.toContain('Ancient outage')
    const archive = await get(`/p/${g.page.slug}/history?month=${oldMonth}`)
    expect(archive.statusCode).toBe(200)
    expect(archive.body).toContain('Ancient outage')
    expect(archive.body).not.toContain('Recent blip')
  })

  it('answers 404 for unknown pages, incidents and components', async () => {
    expect((await get('/p/no-such-page')).statusCode).toBe(404)
    expect((await get('/p/no-such-page/api/v2/summary.json')).statusCode).toBe(404)
    expect((await get(`/p/${f.page.slug}/incidents/zzzzzzzzzzzz`)).statusCode).toBe(404)
    expect((await get(`/p/${f.page.slug}/incidents/<script>`)).statusCode).toBe(404)
    expect((await get(`/p/${f.page.slug}/components/zzzzzzzzzzzz/badge.svg`)).statusCode).toBe(404)
    expect((await get(`/p/${f.page.slug}/history?month=not-a-month`)).statusCode).toBe(200)
    expect((await get(`/p/${f.page.slug}/logo`)).statusCode).toBe(404)
  })
})

describe.each(testDialects)('private status pages (%s)', (dialect) => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp(dialect)
  })
  afterAll(async () => {
    await t.close()
  })

  async function expectNothingLeaks(
    f: PageFixture,
    remoteAddress = '203.0.113.7',
    headers: Record<string, string> = {},
  ) {
    const incident = (await t.runtime.services.incidents.list(f.actor, f.page.id, 'incident'))[0]
    const paths = [
      ...SURFACES,
      `/components/${f.components.api.id}/badge.svg`,
      '/logo',
      ...(incident === undefined ? [] : [`/incidents/${incident.id}`]),
    ]
    for (const path of paths) {
      const response = await t.app.inject({
        method: 'GET',
        url: `/p/${f.page.slug}${path}`,
        remoteAddress,
        headers: { accept: 'text/html', ...headers },
      })
      expect([401, 403, 404], path).toContain(response.statusCode)
      for (const secret of [f.page.name, 'Secret outage', 'API', f.components.api.id])
        expect(response.body, `${path} leaks ${secret}`).not.toContain(secret)
      expect(response.headers['access-control-allow-origin'], path).toBeUndefined()
    }
  }

  async function privateFixture() {
    const f = await createPageFixture(t)
    await t.runtime.services.incidents.create(f.actor, f.page.id, {
      name: 'Secret outage',
      status: 'investigating',
      impact: 'minor',
      body: 'Secret details.',
    })
    return f
  }

  it('team-only pages: nothing for visitors, everything for members', async () => {
    const f = await privateFixture()
    await t.runtime.services.pages.updateAccess(f.actor, f.page.id, { visibility: 'team' })
    await expectNothingLeaks(f)
    const member = await addMember(t, f.owner.accountId, 'viewer')
    const browser = new TestBrowser(t.app)
    await signIn(browser, member.email, member.password)
    const page = await browser.get(`/p/${f.page.slug}`)
    expect(page.status).toBe(200)
    expect(page.body).toContain('Secret outage')
    expect(page.headers['cache-control']).toBe('private, no-cache')
    const outsider = await createPageFixture(t)
    const other = new TestBrowser(t.app)
    await signIn(other, outsider.owner.email, outsider.owner.password)
    const refused = await other.get(`/p/${f.page.slug}`)
    expect(refused.status).toBe(401)
    expect(refused.body).not.toContain('Secret outage')
  })

  it('password pages: the form, a throttled check, a signed cookie, and a password change ends access', async () => {
    const f = await privateFixture()
    await t.runtime.services.pages.updateAccess(f.actor, f.page.id, {
      visibility: 'password',
      password: 'open sesame please',
    })
    await expectNothingLeaks(f)
    const browser = new TestBrowser(t.app, { ip: '198.51.100.20' })
    const form = await browser.get(`/p/${f.page.slug}`)
    expect(form.status).toBe(401)
    expect(form.body).toContain('name="password"')
    const wrong = await browser.post(`/p/${f.page.slug}/access`, { password: 'wrong password' })
    expect(wrong.status).toBe(401)
    const right = await browser.post(`/p/${f.page.slug}/access`, { password: 'open sesame please' })
    expect(right.status).toBe(303)
    expect((await browser.get(`/p/${f.page.slug}`)).body).toContain('Secret outage')
    expect((await browser.get(`/p/${f.page.slug}/api/v2/summary.json`)).status).toBe(200)
    await t.runtime.services.pages.updateAccess(f.actor, f.page.id, {
      visibility: 'password',
      password: 'a brand new secret',
    })
    expect((await browser.get(`/p/${f.page.slug}`)).status).toBe(401)
    const forged = new TestBrowser(t.app)
    forged.cookies.set(`candor_page_${f.page.id}`, 'forged-value')
    expect((await forged.get(`/p/${f.page.slug}/api/v2/summary.json`)).status).toBe(404)
    const noCsrf = await new TestBrowser(t.app).post(`/p/${f.page.slug}/access`, {
      password: 'a brand new secret',
    })
    expect(noCsrf.status).toBe(403)
  })

  it('IP allow-listed pages: only the listed networks see the page', async () => {
    const f = await privateFixture()
    await t.runtime.services.pages.updateAccess(f.actor, f.page.id, {
      visibility: 'ip',
      ipAllowlist: '10.20.0.0/16, 2001:db8::/32',
    })
    await expectNothingLeaks(f, '203.0.113.7')
    await expectNothingLeaks(f, '10.21.0.1')
    for (const inside of ['10.20.3.4', '::ffff:10.20.9.9', '2001:db8::1']) {
      const response = await t.app.inject({
        method: 'GET',
        url: `/p/${f.page.slug}`,
        remoteAddress: inside,
      })
      expect(response.statusCode, inside).toBe(200)
      expect(response.body).toContain('Secret outage')
    }
  })
})
