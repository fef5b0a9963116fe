import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import { addMember, createOwner } from '../helpers/factories.js'
import { createPageFixture, type PageFixture } from '../helpers/page-factories.js'
import { testDialects } from '../helpers/test-db.js'
import {
  browserFor,
  editForms,
  logoFormAction,
  postForm,
  postMultipart,
  tinyPng,
} from './dashboard-helpers.js'

interface Ids {
  accountId: string
  pageId: string
  slug: string
  componentId: string
  groupId: string
  incidentId: string
  updateId: string
  maintenanceId: string
  templateId: string
}

/** Every page of the editor dashboard that shows one of the fixture's records. */
function getRoutes(ids: Ids): string[] {
  return [
    `/a/${ids.accountId}/pages`,
    `/pages/${ids.pageId}`,
    `/pages/${ids.pageId}/settings`,
    `/pages/${ids.pageId}/components`,
    `/pages/${ids.pageId}/incidents`,
    `/pages/${ids.pageId}/incidents/new`,
    `/pages/${ids.pageId}/incidents/new?template=${ids.templateId}`,
    `/pages/${ids.pageId}/maintenance/new`,
    `/pages/${ids.pageId}/templates`,
    `/pages/${ids.pageId}/templates/${ids.templateId}`,
    `/components/${ids.componentId}`,
    `/components/${ids.groupId}`,
    `/incidents/${ids.incidentId}`,
    `/incidents/${ids.maintenanceId}`,
  ]
}

/** Every form of the editor dashboard, with input that would be accepted from the right person. */
function postRoutes(ids: Ids): [string, [string, string][]][] {
  return [
    [
      `/a/${ids.accountId}/pages`,
      [
        ['name', 'Another'],
        ['slug', `another-${ids.pageId}`],
        ['timeZone', 'UTC'],
      ],
    ],
    [`/pages/${ids.pageId}/settings`, [['name', 'Hijacked']]],
    [`/pages/${ids.pageId}/access`, [['visibility', 'public']]],
    [`/pages/${ids.pageId}/logo/remove`, []],
    [`/pages/${ids.pageId}/delete`, [['confirm', ids.slug]]],
    [`/pages/${ids.pageId}/components`, [['name', 'Injected']]],
    [`/components/${ids.componentId}`, [['name', 'Renamed']]],
    [`/components/${ids.componentId}/status`, [['status', 'major_outage']]],
    [`/components/${ids.componentId}/move`, [['direction', 'down']]],
    [`/components/${ids.componentId}/delete`, []],
    [
      `/pages/${ids.pageId}/incidents`,
      [
        ['name', 'Fake outage'],
        ['body', 'Fake.'],
        [`component_${ids.componentId}`, 'major_outage'],
      ],
    ],
    [
      `/pages/${ids.pageId}/maintenance`,
      [
        ['name', 'Fake maintenance'],
        ['body', 'Fake.'],
        ['scheduledFor', '2031-01-01T10:00'],
        ['scheduledUntil', '2031-01-01T12:00'],
      ],
    ],
    [
      `/incidents/${ids.incidentId}`,
      [
        ['name', 'Renamed'],
        ['impact', 'critical'],
      ],
    ],
    [
      `/incidents/${ids.incidentId}/updates`,
      [
        ['status', 'resolved'],
        ['body', 'Fake fix.'],
      ],
    ],
    [`/incidents/${ids.incidentId}/updates/${ids.updateId}`, [['body', 'Rewritten.']]],
    [`/incidents/${ids.incidentId}/updates/${ids.updateId}/delete`, []],
    [`/incidents/${ids.incidentId}/postmortem`, [['body', 'Fake postmortem.']]],
    [`/incidents/${ids.incidentId}/delete`, []],
    [`/incidents/${ids.maintenanceId}/delete`, []],
    [
      `/pages/${ids.pageId}/templates`,
      [
        ['name', 'T'],
        ['title', 'T'],
        ['body', 'T'],
      ],
    ],
    [
      `/pages/${ids.pageId}/templates/${ids.templateId}`,
      [
        ['name', 'T'],
        ['title', 'T'],
        ['body', 'T'],
      ],
    ],
    [`/pages/${ids.pageId}/templates/${ids.templateId}/delete`, []],
  ]
}

describe.each(testDialects)('editor dashboard access control (%s)', (dialect) => {
  let t: TestApp
  let f: PageFixture
  let ids: Ids

  beforeAll(async () => {
    t = await buildTestApp(dialect)
    f = await createPageFixture(t)
    const { incidents } = t.runtime.services
    const incident = await incidents.create(f.actor, f.page.id, {
      name: 'API errors',
      body: 'Investigating.',
      components: { [f.components.api.id]: 'partial_outage' },
    })
    t.clock.advance(60_000)
    await incidents.addUpdate(f.actor, incident.id, { status: 'identified', body: 'Found it.' })
    const withUpdates = await incidents.get(f.actor, incident.id)
    const start = new Date(t.clock.now().getTime() + 86_400_000)
    const maintenance = await incidents.scheduleMaintenance(f.actor, f.page.id, {
      name: 'Upgrade',
      body: 'Upgrading.',
      scheduledFor: start.toISOString(),
      scheduledUntil: new Date(start.getTime() + 3_600_000).toISOString(),
      componentIds: [f.components.eu.id],
    })
    const template = await incidents.saveTemplate(f.actor, f.page.id, null, {
      name: 'Outage',
      title: 'Outage',
      body: 'We are on it.',
    })
    ids = {
      accountId: f.owner.accountId,
      pageId: f.page.id,
      slug: f.page.slug,
      componentId: f.components.api.id,
      groupId: f.groups.core.id,
      incidentId: incident.id,
      updateId: withUpdates.updates[0]?.id ?? '',
      maintenanceId: maintenance.id,
      templateId: template.id,
    }
  })
  afterAll(async () => {
    await t.close()
  })

  /** What a refused request must not have changed. */
  async function state() {
    const { pages, components, incidents, publicPages } = t.runtime.services
    const [page, componentList, incident, maintenance, templates, address] = await Promise.all([
      pages.get(f.actor, ids.pageId),
      components.list(f.actor, ids.pageId),
      incidents.get(f.actor, ids.incidentId),
      incidents.get(f.actor, ids.maintenanceId),
      incidents.listTemplates(f.actor, ids.pageId),
      publicPages.findById(ids.pageId),
    ])
    return {
      page: { ...page, updatedAt: undefined },
      components: componentList.map((c) => ({ ...c, updatedAt: undefined })),
      incident,
      maintenance,
      templates,
      version: address?.version,
      pages: (await pages.list(f.actor, ids.accountId)).length,
    }
  }

  it('a viewer reads every page without a single edit form', async () => {
    const viewer = await addMember(t, ids.accountId, 'viewer')
    const browser = await browserFor(t, viewer)
    for (const url of getRoutes(ids)) {
      const response = await browser.get(url)
      expect(response.status, url).toBe(200)
      expect(editForms(response.body), url).toEqual([])
      expect(response.body, url).not.toContain('multipart/form-data')
    }
    const incident = await browser.get(`/incidents/${ids.incidentId}`)
    expect(incident.body).toContain('Found it.')
    expect(incident.body).toContain('viewer</strong> of this account')
  })

  it('a viewer gets 403 on every POST and nothing changes', async () => {
    const viewer = await addMember(t, ids.accountId, 'viewer')
    const browser = await browserFor(t, viewer)
    const before = await state()
    for (const [url, fields] of postRoutes(ids)) {
      const response = await postForm(browser, url, fields)
      expect(response.status, url).toBe(403)
    }
    const upload = await postMultipart(
      t,
      browser,
      `/pages/${ids.pageId}/logo?_csrf=${encodeURIComponent(browser.csrfToken ?? '')}`,
      [{ name: 'logo', filename: 'logo.png', contentType: 'image/png', data: tinyPng() }],
    )
    expect(upload.status).toBe(403)
    expect(await state()).toEqual(before)
  })

  it('a member of another account gets 404 on every GET and POST and nothing changes', async () => {
    const stranger = await createOwner(t)
    const browser = await browserFor(t, stranger)
    const before = await state()
    for (const url of getRoutes(ids)) {
      const response = await browser.get(url)
      expect(response.status, url).toBe(404)
      expect(response.body, url).not.toContain(f.page.name)
    }
    // The stranger's own dashboard supplies a valid CSRF token for their session.
    await browser.get(`/a/${stranger.accountId}`)
    for (const [url, fields] of postRoutes(ids)) {
      const response = await postForm(browser, url, fields)
      expect(response.status, url).toBe(404)
    }
    const upload = await postMultipart(
      t,
      browser,
      `/pages/${ids.pageId}/logo?_csrf=${encodeURIComponent(browser.csrfToken ?? '')}`,
      [{ name: 'logo', filename: 'logo.png', contentType: 'image/png', data: tinyPng() }],
    )
    expect(upload.status).toBe(404)
    expect(await state()).toEqual(before)
  })

  it('a form without its CSRF token is refused', async () => {
    const editor = await addMember(t, ids.accountId, 'editor')
    const browser = await browserFor(t, editor)
    await browser.get(`/pages/${ids.pageId}/settings`)
    const before = await state()
    const response = await browser.post(
      `/pages/${ids.pageId}/settings`,
      { name: 'No token' },
      { omitCsrf: true },
    )
    expect(response.status).toBe(403)
    const upload = await postMultipart(t, browser, `/pages/${ids.pageId}/logo`, [
      { name: 'logo', filename: 'logo.png', contentType: 'image/png', data: tinyPng() },
    ])
    expect(upload.status).toBe(403)
    expect(await state()).toEqual(before)
  })

  it('an editor cannot delete incidents or change access; an admin can', async () => {
    const { incidents, pages } = t.runtime.services
    const editor = await addMember(t, ids.accountId, 'editor')
    const editorBrowser = await browserFor(t, editor)
    const detail = await editorBrowser.get(`/incidents/${ids.incidentId}`)
    expect(editForms(detail.body)).not.toContain(`/incidents/${ids.incidentId}/delete`)
    expect((await postForm(editorBrowser, `/incidents/${ids.incidentId}/delete`, [])).status).toBe(
      403,
    )
    const settings = await editorBrowser.get(`/pages/${ids.pageId}/settings`)
    expect(editForms(settings.body)).not.toContain(`/pages/${ids.pageId}/access`)
    expect(
      (await postForm(editorBrowser, `/pages/${ids.pageId}/access`, { visibility: 'team' })).status,
    ).toBe(403)

    const admin = await addMember(t, ids.accountId, 'admin')
    const adminBrowser = await browserFor(t, admin)
    await adminBrowser.get(`/pages/${ids.pageId}/settings`)
    const noPassword = await postForm(adminBrowser, `/pages/${ids.pageId}/access`, {
      visibility: 'password',
      password: '',
    })
    expect(noPassword.status).toBe(422)
    expect(noPassword.body).toContain('Set a password for the page.')
    expect((await pages.get(f.actor, ids.pageId)).visibility).toBe('public')
    const ipOnly = await postForm(adminBrowser, `/pages/${ids.pageId}/access`, {
      visibility: 'ip',
      ipAllowlist: '203.0.113.0/24\r\n198.51.100.7',
    })
    expect(ipOnly.status).toBe(303)
    const restricted = await pages.get(f.actor, ids.pageId)
    expect(restricted.visibility).toBe('ip')
    expect(restricted.ipAllowlist).toEqual(['203.0.113.0/24', '198.51.100.7/32'])
    await postForm(adminBrowser, `/pages/${ids.pageId}/access`, { visibility: 'public' })

    // A throwaway incident for the admin to delete.
    const doomed = await incidents.create(f.actor, ids.pageId, { name: 'Doomed', body: 'x' })
    const page = await adminBrowser.get(`/incidents/${doomed.id}`)
    expect(editForms(page.body)).toContain(`/incidents/${doomed.id}/delete`)
    const deleted = await postForm(adminBrowser, `/incidents/${doomed.id}/delete`, [])
    expect(deleted.status).toBe(303)
    expect(deleted.location).toBe(`/pages/${ids.pageId}/incidents?saved=deleted`)
    await expect(incidents.get(f.actor, doomed.id)).rejects.toThrow('not found')
  })

  it('only the owner deletes a page, after typing its slug', async () => {
    const { pages } = t.runtime.services
    const g = await createPageFixture(t)
    const admin = await addMember(t, g.owner.accountId, 'admin')
    const adminBrowser = await browserFor(t, admin)
    const adminSettings = await adminBrowser.get(`/pages/${g.page.id}/settings`)
    expect(editForms(adminSettings.body)).not.toContain(`/pages/${g.page.id}/delete`)
    const refused = await postForm(adminBrowser, `/pages/${g.page.id}/delete`, {
      confirm: g.page.slug,
    })
    expect(refused.status).toBe(403)
    expect((await pages.get(g.actor, g.page.id)).id).toBe(g.page.id)

    const ownerBrowser = await browserFor(t, g.owner)
    const ownerSettings = await ownerBrowser.get(`/pages/${g.page.id}/settings`)
    expect(editForms(ownerSettings.body)).toContain(`/pages/${g.page.id}/delete`)
    const wrong = await postForm(ownerBrowser, `/pages/${g.page.id}/delete`, {
      confirm: 'not-the-slug',
    })
    expect(wrong.status).toBe(422)
    expect(wrong.body).toContain(`Type ${g.page.slug} exactly`)
    expect((await pages.get(g.actor, g.page.id)).id).toBe(g.page.id)

    const done = await postForm(ownerBrowser, `/pages/${g.page.id}/delete`, {
      confirm: g.page.slug,
    })
    expect(done.status).toBe(303)
    expect(done.location).toBe(`/a/${g.owner.accountId}/pages?saved=deleted`)
    await expect(pages.get(g.actor, g.page.id)).rejects.toThrow('not found')
    const list = await ownerBrowser.get(done.location!)
    expect(list.body).toContain('The status page was deleted.')
    expect((await ownerBrowser.get(`/pages/${g.page.id}`)).status).toBe(404)
  })

  it('renders the logo form with its CSRF token in the action', async () => {
    const editor = await addMember(t, ids.accountId, 'editor')
    const browser = await browserFor(t, editor)
    const settings = await browser.get(`/pages/${ids.pageId}/settings`)
    expect(settings.body).toContain('enctype="multipart/form-data"')
    expect(logoFormAction(settings.body)).toMatch(new RegExp(`^/pages/${ids.pageId}/logo\\?_csrf=`))
  })
})
