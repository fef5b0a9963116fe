import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import type { TestBrowser } from '../helpers/browser.js'
import { addMember, createOwner } from '../helpers/factories.js'
import { createPageFixture, type PageFixture } from '../helpers/page-factories.js'
import { testDialects } from '../helpers/test-db.js'
import { browserFor, editForms, postForm } from '../dashboard/dashboard-helpers.js'

type Login = { email: string; password: string; userId: string }

/** The key shown once on the page that answers the form. */
function secretIn(html: string): string | undefined {
  return /<pre class="code-block secret">(cnd_[A-Za-z0-9_-]+)<\/pre>/.exec(html)?.[1]
}

async function callApi(t: TestApp, secret: string | undefined, url = '/api/v1/pages') {
  return t.app.inject({
    method: 'GET',
    url,
    headers: secret === undefined ? {} : { authorization: `OAuth ${secret}` },
  })
}

describe.each(testDialects)('API keys in the dashboard (%s)', (dialect) => {
  let t: TestApp
  let f: PageFixture
  let second: { id: string; name: string }
  let admin: Login
  let editor: Login
  let viewer: Login
  let base: string

  beforeAll(async () => {
    t = await buildTestApp(dialect)
    f = await createPageFixture(t)
    second = await t.runtime.services.pages.create(f.actor, f.owner.accountId, {
      name: 'Second page',
      slug: `second-${String(Date.now() % 100000)}`,
      timeZone: 'UTC',
      locale: 'en',
    })
    admin = await addMember(t, f.owner.accountId, 'admin')
    editor = await addMember(t, f.owner.accountId, 'editor')
    viewer = await addMember(t, f.owner.accountId, 'viewer')
    base = `/a/${f.owner.accountId}/api-keys`
  })
  afterAll(async () => {
    await t.close()
  })

  async function create(browser: TestBrowser, fields: [string, string][]) {
    await browser.get(base)
    return postForm(browser, base, fields)
  }

  it('is for owners and admins: editors and viewers get 403, other accounts 404', async () => {
    for (const login of [f.owner, admin]) {
      const browser = await browserFor(t, login)
      expect((await browser.get(`/a/${f.owner.accountId}`)).body).toContain(`href="${base}"`)
      const page = await browser.get(base)
      expect(page.status).toBe(200)
      expect(page.body).toContain('<h1>API keys</h1>')
      expect(page.body).toContain('No API key yet.')
      expect(editForms(page.body)).toContain(base)
    }
    const key = await t.runtime.services.apiKeys.create(f.actor, f.owner.accountId, {
      name: 'existing',
      scope: 'read',
    })
    for (const login of [editor, viewer]) {
      const browser = await browserFor(t, login)
      const overview = await browser.get(`/a/${f.owner.accountId}`)
      expect(overview.body).not.toContain(`href="${base}"`)
      // The reference is for every member.
      expect(overview.body).toContain(`href="/a/${f.owner.accountId}/api-reference"`)
      expect((await browser.get(base)).status).toBe(403)
      expect((await postForm(browser, base, { name: 'x', scope: 'read' })).status).toBe(403)
      expect((await postForm(browser, `${base}/${key.key.id}/revoke`, {})).status).toBe(403)
    }
    const stranger = await browserFor(t, await createOwner(t))
    expect((await stranger.get(base)).status).toBe(404)
    expect((await postForm(stranger, base, { name: 'x', scope: 'write' })).status).toBe(404)
    expect((await postForm(stranger, `${base}/${key.key.id}/revoke`, {})).status).toBe(404)
    // Another account's key through this account's address: not found, and not revoked.
    const strangerOwner = await createOwner(t)
    const foreign = await t.runtime.services.apiKeys.create(
      { type: 'user', userId: strangerOwner.userId, sessionIdHash: '', ip: '', userAgent: '' },
      strangerOwner.accountId,
      { name: 'foreign', scope: 'read' },
    )
    const owner = await browserFor(t, f.owner)
    await owner.get(base)
    expect((await postForm(owner, `${base}/${foreign.key.id}/revoke`, {})).status).toBe(404)
    expect((await callApi(t, foreign.secret)).statusCode).toBe(200)
    // Without the CSRF token nothing is created.
    const noCsrf = await owner.post(base, { name: 'no token', scope: 'read' }, { omitCsrf: true })
    expect(noCsrf.status).toBe(403)
    expect((await owner.get(base)).body).not.toContain('no token')
  })

  it('shows a new key once, and the key works against the API', async () => {
    const browser = await browserFor(t, admin)
    const created = await create(browser, [
      ['name', 'Deploy pipeline'],
      ['scope', 'write'],
      ['expiresAt', '2099-01-31'],
    ])
    expect(created.status).toBe(201)
    const secret = secretIn(created.body)
    expect(secret).toBeDefined()
    expect(created.body).toContain('it is not shown again')
    expect(created.headers['cache-control']).toBe('no-store')
    const pages = await callApi(t, secret)
    expect(pages.statusCode, pages.body).toBe(200)
    expect(
      pages
        .json<{ id: string }[]>()
        .map((p) => p.id)
        .sort(),
    ).toEqual([f.page.id, second.id].sort())
    // Never again: the list shows its prefix only, and who made it.
    const list = await browser.get(base)
    expect(secretIn(list.body)).toBeUndefined()
    expect(list.body).not.toContain(secret ?? 'none')
    expect(list.body).toContain(`${(secret ?? '').slice(0, 12)}…`)
    expect(list.body).toContain('Deploy pipeline')
    expect(list.body).toContain('2099-01-31 00:00 UTC')
    const adminName = (await t.runtime.services.auth.getUser({ ...f.actor, userId: admin.userId }))
      .name
    expect(list.body).toContain(`by ${adminName}`)
    // Its use is recorded with the address.
    const used = await browser.get(base)
    expect(used.body).toContain('from 127.0.0.1')
  })

  it('limits a key to the pages ticked', async () => {
    const browser = await browserFor(t, f.owner)
    const created = await create(browser, [
      ['name', 'Second only'],
      ['scope', 'read'],
      ['pageIds', second.id],
    ])
    expect(created.status).toBe(201)
    const secret = secretIn(created.body)
    const pages = await callApi(t, secret)
    expect(pages.json<{ id: string }[]>().map((p) => p.id)).toEqual([second.id])
    expect((await callApi(t, secret, `/api/v1/pages/${f.page.id}`)).statusCode).toBe(404)
    expect((await browser.get(base)).body).toContain('<td>Second page</td>')
  })

  it('refuses bad input and names the field', async () => {
    const browser = await browserFor(t, f.owner)
    const blank = await create(browser, [
      ['name', ''],
      ['scope', 'admin'],
    ])
    expect(blank.status).toBe(422)
    expect(secretIn(blank.body)).toBeUndefined()
    expect(blank.body).toContain('id="field-name-error"')
    expect(blank.body).toContain('id="field-scope-error"')
    const past = await create(browser, [
      ['name', 'Old'],
      ['scope', 'read'],
      ['expiresAt', '2001-01-01'],
    ])
    expect(past.status).toBe(422)
    expect(past.body).toContain('id="field-expiresAt-error"')
    expect(past.body).toContain('value="Old"')
    const foreignPage = await createPageFixture(t)
    const page = await create(browser, [
      ['name', 'Foreign'],
      ['scope', 'read'],
      ['pageIds', foreignPage.page.id],
    ])
    expect(page.status).toBe(422)
    expect(page.body).toContain('Pick pages of this account.')
  })

  it('revokes a key: it gets 401 from then on', async () => {
    const browser = await browserFor(t, f.owner)
    const created = await create(browser, [
      ['name', 'Short-lived'],
      ['scope', 'read'],
    ])
    const secret = secretIn(created.body)
    expect((await callApi(t, secret)).statusCode).toBe(200)
    const key = (await t.runtime.services.apiKeys.list(f.actor, f.owner.accountId)).find(
      (k) => k.name === 'Short-lived',
    )
    expect(key).toBeDefined()
    const list = await browser.get(base)
    expect(editForms(list.body)).toContain(`${base}/${key?.id ?? ''}/revoke`)
    const revoked = await postForm(browser, `${base}/${key?.id ?? ''}/revoke`, {})
    expect(revoked.status).toBe(303)
    expect(revoked.location).toBe(`${base}?saved=revoked`)
    const after = await callApi(t, secret)
    expect(after.statusCode).toBe(401)
    expect(after.json<{ code: string }>().code).toBe('invalid_api_key')
    const shown = await browser.get(revoked.location ?? '')
    expect(shown.body).toContain('API key revoked')
    expect(shown.body).toMatch(/Revoked <time/)
    expect(editForms(shown.body)).not.toContain(`${base}/${key?.id ?? ''}/revoke`)
  })
})

describe.each(testDialects)('API reference in the dashboard (%s)', (dialect) => {
  let t: TestApp
  let f: PageFixture

  beforeAll(async () => {
    t = await buildTestApp(dialect)
    f = await createPageFixture(t)
  })
  afterAll(async () => {
    await t.close()
  })

  it('renders every documented endpoint, grouped by tag, for any member', async () => {
    const viewer = await addMember(t, f.owner.accountId, 'viewer')
    const browser = await browserFor(t, viewer)
    const url = `/a/${f.owner.accountId}/api-reference`
    const page = await browser.get(url)
    expect(page.status).toBe(200)
    expect(page.headers['content-security-policy']).toContain("script-src 'self'")
    expect(page.body).not.toMatch(/<script|style=/)
    const doc = (await t.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json<{
      paths: Record<string, Record<string, { summary?: string; tags?: string[] }>>
    }>()
    let operations = 0
    for (const [path, methods] of Object.entries(doc.paths))
      for (const [method, operation] of Object.entries(methods)) {
        operations++
        const html = `<span class="http-method http-${method}">${method.toUpperCase()}</span> <code class="api-path">${path}</code>`
        expect(page.body, `${method} ${path}`).toContain(html)
        if (operation.summary !== undefined)
          expect(page.body.replace(/<\/?code>/g, '')).toContain(
            operation.summary.replaceAll('`', '').replaceAll('&', '&amp;').replaceAll('<', '&lt;'),
          )
        for (const tag of operation.tags ?? []) expect(page.body).toContain(`>${tag}</h2>`)
      }
    expect(operations).toBeGreaterThan(30)
    // Parameters, body fields and responses of one operation.
    expect(page.body).toContain('<code>subscriber.email</code>')
    expect(page.body).toContain('<code>subscriber.component_ids</code>')
    expect(page.body).toContain('<code>per_page</code>')
    expect(page.body).toContain('<th scope="row">201</th>')
    expect(page.body).toContain('<th scope="row">429</th>')
    expect(page.body).toContain('href="#schema-subscriber"')
    expect(page.body).toContain('id="schema-subscriber"')
    // Outsiders see nothing.
    const stranger = await browserFor(t, await createOwner(t))
    expect((await stranger.get(url)).status).toBe(404)
    // Signed out: the sign-in page.
    expect((await t.app.inject({ method: 'GET', url })).headers.location).toBe('/login')
  })
})
