import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import { addMember } from '../helpers/factories.js'
import { createPageFixture, type PageFixture } from '../helpers/page-factories.js'
import { testDialects } from '../helpers/test-db.js'
import { browserFor, postForm } from '../dashboard/dashboard-helpers.js'
import { textOf } from '../public-html/html.js'
import { endpointToken, sendAlert, statusOf } from './alert-helpers.js'
import { alertmanagerBody } from './payloads.js'

const URL_IN_PAGE = /http:\/\/candor\.test\/api\/alerts\/([A-Za-z0-9_-]{43})/

describe.each(testDialects)('alerts in the dashboard (%s)', (dialect) => {
  let t: TestApp

  beforeAll(async () => {
    t = await buildTestApp(dialect, { env: { WEBHOOK_ALLOWED_RANGES: '127.0.0.1/32' } })
  })
  afterAll(async () => {
    await t.close()
  })

  const endpointForm = (f: PageFixture, extra: Record<string, string> = {}) => ({
    name: 'Production Alertmanager',
    format: 'alertmanager',
    componentId: '',
    mapping: `api = ${f.components.api.name}\nweb = ${f.components.web.id}`,
    firingStatus: 'partial_outage',
    mapSeverity: 'false',
    createDrafts: 'false',
    ...extra,
  })

  it('an admin adds an endpoint, sees its URL once, regenerates and deletes it', async () => {
    const f = await createPageFixture(t)
    const admin = await addMember(t, f.owner.accountId, 'admin')
    const browser = await browserFor(t, admin)
    expect((await browser.get(`/pages/${f.page.id}/alerts`)).status).toBe(200)

    const created = await postForm(browser, `/pages/${f.page.id}/alerts`, endpointForm(f))
    expect(created.status).toBe(201)
    const token = URL_IN_PAGE.exec(created.body)?.[1]
    expect(token).toBeDefined()
    expect(textOf(created.body)).toContain('it is not shown again')
    expect(textOf(created.body)).toContain('An example body')

    const fired = await sendAlert(
      t,
      token!,
      alertmanagerBody([{ status: 'firing', fingerprint: 'f001', component: 'web' }]),
    )
    expect(fired.status).toBe(200)
    expect((await statusOf(t, f, f.components.web.id)).stored).toBe('partial_outage')

    const [endpoint] = await t.runtime.services.alerts.listEndpoints(f.actor, f.page.id)
    const path = `/pages/${f.page.id}/alerts/${endpoint!.id}`
    const detail = await browser.get(path)
    expect(detail.status).toBe(200)
    expect(detail.body).not.toContain(token!)
    expect(textOf(detail.body)).toContain('/api/alerts/<token>')
    expect(textOf(detail.body)).toContain(`api = ${f.components.api.name}`)

    const list = textOf((await browser.get(`/pages/${f.page.id}/alerts`)).body)
    expect(list).toContain('Production Alertmanager')
    expect(list).toContain('Page (mapping of 2 keys)')

    const saved = await postForm(browser, path, endpointForm(f, { name: 'Prometheus EU' }))
    expect(saved.status).toBe(303)
    const invalid = await postForm(browser, path, endpointForm(f, { mapping: 'billing = Billing' }))
    expect(invalid.status).toBe(422)
    expect(textOf(invalid.body)).toContain('Line 1: no component "Billing" on this page.')

    const regenerated = await postForm(browser, `${path}/regenerate`, {})
    expect(regenerated.status).toBe(200)
    const fresh = URL_IN_PAGE.exec(regenerated.body)?.[1]
    expect(fresh).toBeDefined()
    expect(fresh).not.toBe(token)
    expect((await sendAlert(t, token!, alertmanagerBody([]))).status).toBe(404)
    expect((await sendAlert(t, fresh!, alertmanagerBody([]))).status).toBe(200)

    const deleted = await postForm(browser, `${path}/delete`, {})
    expect(deleted.status).toBe(303)
    expect((await statusOf(t, f, f.components.web.id)).stored).toBe('operational')
    expect((await sendAlert(t, fresh!, alertmanagerBody([]))).status).toBe(404)
  })

  it('an admin manages HTTP checks from the Alerts tab', async () => {
    const f = await createPageFixture(t)
    const browser = await browserFor(t, f.owner)
    await browser.get(`/pages/${f.page.id}/alerts`)
    const bad = await postForm(browser, `/pages/${f.page.id}/checks`, {
      componentId: f.components.api.id,
      url: 'ftp://example.com/',
      intervalSeconds: '60',
    })
    expect(bad.status).toBe(422)
    expect(textOf(bad.body)).toContain('Only http and https URLs are allowed')
    const added = await postForm(browser, `/pages/${f.page.id}/checks`, {
      componentId: f.components.api.id,
      url: 'http://127.0.0.1:9/health',
      intervalSeconds: '60',
      timeoutSeconds: '5',
      expectedStatus: '204',
      failureThreshold: '3',
      firingStatus: 'major_outage',
      enabled: 'true',
    })
    expect(added.status).toBe(303)
    const [check] = await t.runtime.services.alerts.listChecks(f.actor, f.page.id)
    expect(check).toMatchObject({ expectedStatus: 204, intervalSeconds: 60, timeoutMs: 5000 })
    const page = await browser.get(`/pages/${f.page.id}/checks/${check!.id}`)
    expect(page.status).toBe(200)
    expect(textOf(page.body)).toContain('Not checked yet')
    const removed = await postForm(browser, `/pages/${f.page.id}/checks/${check!.id}/delete`, {})
    expect(removed.status).toBe(303)
    expect(await t.runtime.services.alerts.listChecks(f.actor, f.page.id)).toEqual([])
  })

  it('editors see the tab but cannot change it; viewers get 403; other accounts 404', async () => {
    const f = await createPageFixture(t)
    const { id } = await endpointToken(t, f, {
      format: 'generic',
      componentId: f.components.api.id,
    })
    const editor = await browserFor(t, await addMember(t, f.owner.accountId, 'editor'))
    const viewer = await browserFor(t, await addMember(t, f.owner.accountId, 'viewer'))
    const other = await browserFor(t, (await createPageFixture(t)).owner)

    const seen = await editor.get(`/pages/${f.page.id}/alerts`)
    expect(seen.status).toBe(200)
    expect(textOf(seen.body)).toContain('managed by admins')
    expect(seen.body).not.toContain('Add an alert endpoint')
    expect((await editor.get(`/pages/${f.page.id}/alerts/${id}`)).status).toBe(200)

    const writes: [string, Record<string, string>][] = [
      [`/pages/${f.page.id}/alerts`, endpointForm(f)],
      [`/pages/${f.page.id}/alerts/${id}`, endpointForm(f)],
      [`/pages/${f.page.id}/alerts/${id}/regenerate`, {}],
      [`/pages/${f.page.id}/alerts/${id}/delete`, {}],
      [
        `/pages/${f.page.id}/checks`,
        { componentId: f.components.api.id, url: 'https://example.com/' },
      ],
    ]
    for (const [url, fields] of writes) {
      expect((await postForm(editor, url, fields)).status, `editor ${url}`).toBe(403)
      expect((await postForm(viewer, url, fields)).status, `viewer ${url}`).toBe(403)
      expect((await postForm(other, url, fields)).status, `other ${url}`).toBe(404)
    }
    expect((await viewer.get(`/pages/${f.page.id}/alerts`)).status).toBe(403)
    expect((await other.get(`/pages/${f.page.id}/alerts`)).status).toBe(404)
    expect((await other.get(`/pages/${f.page.id}/alerts/${id}`)).status).toBe(404)
    expect(await t.runtime.services.alerts.listEndpoints(f.actor, f.page.id)).toHaveLength(1)
  })

  it('lists drafts on the incidents page; an editor publishes one and dismisses another', async () => {
    const f = await createPageFixture(t)
    const { token } = await endpointToken(t, f, {
      format: 'alertmanager',
      createDrafts: 'true',
      mapSeverity: 'false',
    })
    await sendAlert(
      t,
      token,
      alertmanagerBody([
        { status: 'firing', fingerprint: 'd001', component: 'API', alertname: 'ApiDown' },
        { status: 'firing', fingerprint: 'd002', component: 'EU', alertname: 'EuDown' },
      ]),
    )
    const editor = await browserFor(t, await addMember(t, f.owner.accountId, 'editor'))
    const viewer = await browserFor(t, await addMember(t, f.owner.accountId, 'viewer'))
    const page = await editor.get(`/pages/${f.page.id}/incidents`)
    expect(textOf(page.body)).toContain('Drafts from alerts')
    expect(textOf(page.body)).toContain('ApiDown on api.example.com')
    const viewerPage = await viewer.get(`/pages/${f.page.id}/incidents`)
    expect(textOf(viewerPage.body)).toContain('Drafts from alerts')
    expect(viewerPage.body).not.toContain('/publish')

    const drafts = await t.runtime.services.alerts.listDrafts(f.actor, f.page.id)
    const apiDraft = drafts.find((d) => d.title.startsWith('ApiDown'))!
    const euDraft = drafts.find((d) => d.title.startsWith('EuDown'))!
    const base = `/pages/${f.page.id}/incident-drafts`
    expect((await postForm(viewer, `${base}/${apiDraft.id}/publish`, {})).status).toBe(403)

    const published = await postForm(editor, `${base}/${apiDraft.id}/publish`, {})
    expect(published.status).toBe(303)
    expect(published.location).toMatch(/^\/incidents\/[a-z0-9]+\?saved=created$/)
    const incidents = await t.runtime.services.incidents.list(f.actor, f.page.id, 'incident')
    expect(incidents).toHaveLength(1)
    expect(incidents[0]).toMatchObject({
      name: 'ApiDown on api.example.com',
      impact: 'critical',
      status: 'investigating',
      componentIds: [f.components.api.id],
    })
    // Published once: the draft is gone, a second click finds nothing.
    expect((await postForm(editor, `${base}/${apiDraft.id}/publish`, {})).status).toBe(404)

    const dismissed = await postForm(editor, `${base}/${euDraft.id}/dismiss`, {})
    expect(dismissed.status).toBe(303)
    expect(await t.runtime.services.alerts.listDrafts(f.actor, f.page.id)).toEqual([])
    const summary = await t.app.inject({
      method: 'GET',
      url: `/p/${f.page.slug}/api/v2/summary.json`,
    })
    const json = JSON.parse(summary.body) as { incidents: { name: string }[] }
    expect(json.incidents.map((i) => i.name)).toEqual(['ApiDown on api.example.com'])
  })
})
