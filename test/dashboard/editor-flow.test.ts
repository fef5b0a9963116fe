import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { toDateTimeInput } from '../../src/domain/pages/time-zone.js'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import type { TestBrowser } from '../helpers/browser.js'
import { addMember, createOwner, type CreatedOwner } from '../helpers/factories.js'
import { actorFor } from '../helpers/page-factories.js'
import { testDialects } from '../helpers/test-db.js'
import { browserFor, idFromLocation, postForm } from './dashboard-helpers.js'

let slugCounter = 0
function uniqueSlug(): string {
  slugCounter++
  return `flow-${String(slugCounter)}-${String(Date.now() % 1_000_000)}`
}

describe.each(testDialects)('status page editor dashboard (%s)', (dialect) => {
  let t: TestApp
  let owner: CreatedOwner
  let editor: { userId: string; email: string; password: string }
  let browser: TestBrowser

  beforeAll(async () => {
    t = await buildTestApp(dialect)
    owner = await createOwner(t)
    editor = await addMember(t, owner.accountId, 'editor')
    browser = await browserFor(t, editor)
  })
  afterAll(async () => {
    await t.close()
  })

  async function createPage(timeZone = 'Europe/Paris'): Promise<string> {
    await browser.get(`/a/${owner.accountId}/pages`)
    const created = await postForm(browser, `/a/${owner.accountId}/pages`, {
      name: 'Acme Status',
      slug: uniqueSlug(),
      timeZone,
      locale: 'en',
    })
    expect(created.status).toBe(303)
    return idFromLocation(created.location, '/pages')
  }

  it('runs the whole editor flow and the public snapshot follows', async () => {
    const { components, incidents, publicPages } = t.runtime.services
    const actor = actorFor(editor.userId)

    // The account overview and the side navigation lead to the pages.
    const overview = await browser.get(`/a/${owner.accountId}`)
    expect(overview.body).toContain(`href="/a/${owner.accountId}/pages"`)

    const pageId = await createPage()
    const pageView = await browser.get(`/pages/${pageId}`)
    expect(pageView.status).toBe(200)
    expect(pageView.body).toContain('Acme Status')
    expect(pageView.body).toMatch(/href="\/p\/flow-/)
    expect((await browser.get(`/a/${owner.accountId}`)).body).toContain(`/pages/${pageId}`)

    // A group, then two components in it.
    await browser.get(`/pages/${pageId}/components`)
    expect(
      (
        await postForm(browser, `/pages/${pageId}/components`, {
          isGroup: 'true',
          name: 'Core',
          description: 'The core services',
        })
      ).status,
    ).toBe(303)
    const group = (await components.list(actor, pageId)).find((c) => c.isGroup)
    expect(group?.name).toBe('Core')
    for (const name of ['API', 'Website']) {
      const added = await postForm(browser, `/pages/${pageId}/components`, [
        ['name', name],
        ['description', ''],
        ['groupId', group?.id ?? ''],
        ['onlyShowIfDegraded', 'false'],
        ['startDate', '2026-01-01'],
      ])
      expect(added.status).toBe(303)
      expect(added.location).toBe(`/pages/${pageId}/components?saved=added`)
    }
    const list = await components.list(actor, pageId)
    const api = list.find((c) => c.name === 'API')
    const web = list.find((c) => c.name === 'Website')
    expect(api?.groupId).toBe(group?.id)
    expect(api?.startDate).toBe('2026-01-01')
    expect(api?.onlyShowIfDegraded).toBe(false)
    const componentsPage = await browser.get(`/pages/${pageId}/components`)
    expect(componentsPage.body).toContain('API')
    expect(componentsPage.body).toContain(`action="/components/${api?.id}/move"`)

    // Open an incident that takes the API down; the website is left at "no change".
    const incidentForm = await browser.get(`/pages/${pageId}/incidents/new`)
    expect(incidentForm.body).toContain(`name="component_${api?.id}"`)
    expect(incidentForm.body).toContain('<option value selected>No change')
    const opened = await postForm(browser, `/pages/${pageId}/incidents`, [
      ['name', 'API errors'],
      ['status', 'investigating'],
      ['impact', 'major'],
      ['body', 'We are looking into **elevated errors**.'],
      [`component_${api?.id}`, 'partial_outage'],
      [`component_${web?.id}`, ''],
      ['deliverNotifications', 'false'],
      ['deliverNotifications', 'true'],
      ['displayAt', ''],
    ])
    expect(opened.status).toBe(303)
    const incidentId = idFromLocation(opened.location, '/incidents')
    const detail = await browser.get(opened.location!)
    expect(detail.status).toBe(200)
    expect(detail.body).toContain('Incident opened.')
    expect(detail.body).toContain('<strong>elevated errors</strong>')
    expect(detail.body).toContain('(Europe/Paris)')

    let snapshot = await publicPages.snapshot(pageId)
    expect(snapshot?.status.indicator).toBe('major')
    expect(snapshot?.components.find((c) => c.id === api?.id)?.status).toBe('partial_outage')
    expect(snapshot?.components.find((c) => c.id === web?.id)?.status).toBe('operational')
    expect(snapshot?.incidents[0]?.updates[0]?.deliverNotifications).toBe(true)
    expect(snapshot?.incidents[0]?.updates[0]?.affectedComponents).toEqual([
      {
        code: api?.id,
        name: 'Core - API',
        oldStatus: 'operational',
        newStatus: 'partial_outage',
      },
    ])

    // An update without notification, then the resolution, which restores the API.
    t.clock.advance(60_000)
    const identified = await postForm(browser, `/incidents/${incidentId}/updates`, [
      ['status', 'identified'],
      ['body', 'A bad deploy. Rolling back.'],
      [`component_${api?.id}`, ''],
      ['deliverNotifications', 'false'],
    ])
    expect(identified.status).toBe(303)
    t.clock.advance(60_000)
    const resolved = await postForm(browser, `/incidents/${incidentId}/updates`, [
      ['status', 'resolved'],
      ['body', 'Fixed.'],
      ['deliverNotifications', 'false'],
      ['deliverNotifications', 'true'],
    ])
    expect(resolved.status).toBe(303)

    snapshot = await publicPages.snapshot(pageId)
    expect(snapshot?.status.indicator).toBe('none')
    expect(snapshot?.components.find((c) => c.id === api?.id)?.status).toBe('operational')
    const incident = snapshot?.incidents.find((i) => i.id === incidentId)
    expect(incident?.status).toBe('resolved')
    expect(incident?.updates.map((u) => u.status)).toEqual([
      'resolved',
      'identified',
      'investigating',
    ])
    expect(incident?.updates.map((u) => u.deliverNotifications)).toEqual([true, false, true])

    const list2 = await browser.get(`/pages/${pageId}/incidents`)
    expect(list2.body).toContain('Past incidents')
    expect(list2.body).toContain(`href="/incidents/${incidentId}"`)

    // Title and impact can be changed, and a postmortem published.
    expect(
      (
        await postForm(browser, `/incidents/${incidentId}`, {
          name: 'API errors (EU)',
          impact: 'minor',
        })
      ).status,
    ).toBe(303)
    expect(
      (
        await postForm(browser, `/incidents/${incidentId}/postmortem`, [
          ['body', '**What happened**: a bad deploy.'],
          ['publish', 'true'],
        ])
      ).status,
    ).toBe(303)
    const afterEdit = await incidents.get(actor, incidentId)
    expect(afterEdit.name).toBe('API errors (EU)')
    expect(afterEdit.impact).toBe('minor')
    expect(afterEdit.postmortemPublishedAt).not.toBeNull()
    expect((await browser.get(`/incidents/${incidentId}`)).body).toContain(
      '<strong>What happened</strong>',
    )
  })

  it('accepts multi-line markdown, with the CRLF line breaks browsers send', async () => {
    const pageId = await createPage()
    await browser.get(`/pages/${pageId}/incidents/new`)
    const opened = await postForm(browser, `/pages/${pageId}/incidents`, {
      name: 'Multi-line',
      body: 'First paragraph.\r\n\r\n- a list item\r\n- another',
    })
    expect(opened.status).toBe(303)
    const detail = await browser.get(opened.location!)
    expect(detail.body).toContain('<li>a list item</li>')
    expect(detail.body).toContain('<p>First paragraph.</p>')
  })

  it('backdates an update in the page time zone and shows times with the zone', async () => {
    const pageId = await createPage('America/New_York')
    const twoHoursAgo = new Date(t.clock.now().getTime() - 2 * 3_600_000)
    const local = toDateTimeInput(twoHoursAgo, 'America/New_York')
    await browser.get(`/pages/${pageId}/incidents/new`)
    const opened = await postForm(browser, `/pages/${pageId}/incidents`, {
      name: 'Slow logins',
      status: 'investigating',
      impact: 'minor',
      body: 'Logins are slow.',
      displayAt: local,
    })
    expect(opened.status).toBe(303)
    const incidentId = idFromLocation(opened.location, '/incidents')
    const incident = await t.runtime.services.incidents.get(actorFor(editor.userId), incidentId)
    const expected = Math.floor(twoHoursAgo.getTime() / 60_000) * 60_000
    expect(incident.startedAt.getTime()).toBe(expected)
    const detail = await browser.get(`/incidents/${incidentId}`)
    expect(detail.body).toContain(`${local.replace('T', ' ')} (America/New_York)`)
  })

  it('manages components: edit, checkbox semantics, move, status by hand, delete', async () => {
    const { components, publicPages } = t.runtime.services
    const actor = actorFor(editor.userId)
    const pageId = await createPage()
    await browser.get(`/pages/${pageId}/components`)
    for (const name of ['One', 'Two'])
      await postForm(browser, `/pages/${pageId}/components`, { name, onlyShowIfDegraded: 'false' })
    let [one, two] = await components.list(actor, pageId)
    expect([one?.name, two?.name]).toEqual(['One', 'Two'])

    // Checked box: the hidden "false" then "true"; unchecked: the hidden "false" only.
    const edit = await browser.get(`/components/${one?.id}`)
    expect(edit.status).toBe(200)
    expect(edit.body).toContain('value="One"')
    expect(
      (
        await postForm(browser, `/components/${one?.id}`, [
          ['name', 'One renamed'],
          ['description', 'First'],
          ['groupId', ''],
          ['onlyShowIfDegraded', 'false'],
          ['onlyShowIfDegraded', 'true'],
          ['startDate', ''],
        ])
      ).status,
    ).toBe(303)
    expect((await components.get(actor, one!.id)).onlyShowIfDegraded).toBe(true)
    await postForm(browser, `/components/${one?.id}`, [
      ['name', 'One renamed'],
      ['onlyShowIfDegraded', 'false'],
    ])
    const renamed = await components.get(actor, one!.id)
    expect(renamed.onlyShowIfDegraded).toBe(false)
    expect(renamed.name).toBe('One renamed')
    expect(renamed.description).toBe('First')

    expect(
      (await postForm(browser, `/components/${two?.id}/move`, { direction: 'up' })).location,
    ).toBe(`/pages/${pageId}/components?saved=moved`)
    ;[one, two] = await components.list(actor, pageId)
    expect([one?.name, two?.name]).toEqual(['Two', 'One renamed'])

    expect(
      (await postForm(browser, `/components/${two?.id}/status`, { status: 'major_outage' })).status,
    ).toBe(303)
    const snapshot = await publicPages.snapshot(pageId)
    expect(snapshot?.components.find((c) => c.id === two?.id)?.status).toBe('major_outage')
    expect(snapshot?.status.indicator).toBe('critical')

    expect((await postForm(browser, `/components/${one?.id}/delete`, {})).status).toBe(303)
    expect((await components.list(actor, pageId)).map((c) => c.name)).toEqual(['One renamed'])
  })

  it('schedules maintenance in the page time zone and shows it under Maintenance', async () => {
    const { components, incidents } = t.runtime.services
    const actor = actorFor(editor.userId)
    const pageId = await createPage('Asia/Tokyo')
    await browser.get(`/pages/${pageId}/components`)
    await postForm(browser, `/pages/${pageId}/components`, { name: 'Database' })
    const [db] = await components.list(actor, pageId)
    const start = new Date(Math.ceil(t.clock.now().getTime() / 60_000) * 60_000 + 3_600_000)
    const end = new Date(start.getTime() + 2 * 3_600_000)
    const form = await browser.get(`/pages/${pageId}/maintenance/new`)
    expect(form.body).toContain(`name="componentIds" value="${db?.id}"`)
    const scheduled = await postForm(browser, `/pages/${pageId}/maintenance`, [
      ['name', 'Database upgrade'],
      ['body', 'We will upgrade the database.'],
      ['scheduledFor', toDateTimeInput(start, 'Asia/Tokyo')],
      ['scheduledUntil', toDateTimeInput(end, 'Asia/Tokyo')],
      ['componentIds', db?.id ?? ''],
      ['autoStart', 'false'],
      ['autoStart', 'true'],
      ['autoComplete', 'false'],
      ['deliverNotifications', 'false'],
      ['deliverNotifications', 'true'],
    ])
    expect(scheduled.status).toBe(303)
    const maintenanceId = idFromLocation(scheduled.location, '/incidents')
    const maintenance = await incidents.get(actor, maintenanceId)
    expect(maintenance.kind).toBe('maintenance')
    expect(maintenance.scheduledFor?.getTime()).toBe(start.getTime())
    expect(maintenance.scheduledUntil?.getTime()).toBe(end.getTime())
    expect(maintenance.autoStart).toBe(true)
    expect(maintenance.autoComplete).toBe(false)
    expect(maintenance.componentIds).toEqual([db?.id])

    const list = await browser.get(`/pages/${pageId}/incidents`)
    expect(list.body).toContain('Maintenance')
    expect(list.body).toContain(`href="/incidents/${maintenanceId}"`)
    expect(list.body).toContain('(Asia/Tokyo)')
    const detail = await browser.get(`/incidents/${maintenanceId}`)
    for (const status of ['scheduled', 'in_progress', 'verifying', 'completed'])
      expect(detail.body).toContain(`value="${status}"`)
    expect(detail.body).not.toContain('value="investigating"')

    expect(
      (
        await postForm(browser, `/incidents/${maintenanceId}/updates`, {
          status: 'in_progress',
          body: 'Started.',
        })
      ).status,
    ).toBe(303)
    expect((await components.get(actor, db!.id)).status).toBe('under_maintenance')
    await postForm(browser, `/incidents/${maintenanceId}/updates`, {
      status: 'completed',
      body: 'Done.',
    })
    expect((await components.get(actor, db!.id)).status).toBe('operational')
  })

  it('manages templates and pre-fills a new incident from one', async () => {
    const { incidents } = t.runtime.services
    const actor = actorFor(editor.userId)
    const pageId = await createPage()
    await browser.get(`/pages/${pageId}/templates`)
    expect(
      (
        await postForm(browser, `/pages/${pageId}/templates`, {
          name: 'Outage',
          title: 'Service unavailable',
          status: 'identified',
          impact: 'critical',
          body: 'We know what is wrong.',
        })
      ).status,
    ).toBe(303)
    const [template] = await incidents.listTemplates(actor, pageId)
    expect(template?.title).toBe('Service unavailable')

    const prefilled = await browser.get(`/pages/${pageId}/incidents/new?template=${template?.id}`)
    expect(prefilled.status).toBe(200)
    expect(prefilled.body).toContain('value="Service unavailable"')
    expect(prefilled.body).toContain('We know what is wrong.</textarea>')
    expect(prefilled.body).toContain('<option value="identified" selected>')
    expect(prefilled.body).toContain('<option value="critical" selected>')

    expect((await browser.get(`/pages/${pageId}/templates/${template?.id}`)).status).toBe(200)
    await postForm(browser, `/pages/${pageId}/templates/${template?.id}`, {
      name: 'Outage',
      title: 'Service down',
      status: 'investigating',
      impact: 'major',
      body: 'Looking.',
    })
    expect((await incidents.listTemplates(actor, pageId))[0]?.title).toBe('Service down')
    expect(
      (await postForm(browser, `/pages/${pageId}/templates/${template?.id}/delete`, {})).status,
    ).toBe(303)
    expect(await incidents.listTemplates(actor, pageId)).toHaveLength(0)
  })

  it('keeps edited and deleted updates in the audit trail', async () => {
    const { incidents } = t.runtime.services
    const actor = actorFor(editor.userId)
    const pageId = await createPage()
    await browser.get(`/pages/${pageId}/incidents/new`)
    const opened = await postForm(browser, `/pages/${pageId}/incidents`, {
      name: 'Queue delays',
      status: 'investigating',
      impact: 'minor',
      body: 'Original wording of the first update.',
    })
    const incidentId = idFromLocation(opened.location, '/incidents')
    t.clock.advance(60_000)
    await postForm(browser, `/incidents/${incidentId}/updates`, {
      status: 'monitoring',
      body: 'A second update that will be deleted.',
    })
    const before = await incidents.get(actor, incidentId)
    const first = before.updates.find((u) => u.status === 'investigating')
    const second = before.updates.find((u) => u.status === 'monitoring')

    const page = await browser.get(`/incidents/${incidentId}`)
    expect(page.body).toContain('No update has been edited or deleted.')
    expect(page.body).toContain(`action="/incidents/${incidentId}/updates/${first?.id}"`)

    const edited = await postForm(browser, `/incidents/${incidentId}/updates/${first?.id}`, {
      body: 'Corrected wording.',
      displayAt: toDateTimeInput(first!.displayAt, 'Europe/Paris'),
    })
    expect(edited.status).toBe(303)
    const deleted = await postForm(
      browser,
      `/incidents/${incidentId}/updates/${second?.id}/delete`,
      {},
    )
    expect(deleted.status).toBe(303)

    const after = await incidents.get(actor, incidentId)
    expect(after.updates.map((u) => u.body)).toEqual(['Corrected wording.'])
    // The display time was left as shown: it is not truncated to the minute by the edit.
    expect(after.updates[0]?.displayAt.getTime()).toBe(first?.displayAt.getTime())
    expect(after.revisions.map((r) => r.action).sort()).toEqual(['deleted', 'edited'])

    const audit = await browser.get(`/incidents/${incidentId}?saved=update-deleted`)
    expect(audit.body).toContain('Edited')
    expect(audit.body).toContain('Deleted')
    expect(audit.body).toContain('Original wording of the first update.')
    expect(audit.body).toContain('A second update that will be deleted.')
    expect(audit.body).toContain('Corrected wording.')
    // The last update cannot be deleted: its button is gone.
    expect(audit.body).not.toContain(`/updates/${first?.id}/delete`)
  })

  it('shows the sanitised custom CSS after saving the settings', async () => {
    const pageId = await createPage()
    const settings = await browser.get(`/pages/${pageId}/settings`)
    expect(settings.status).toBe(200)
    expect(settings.body).toContain('type="color"')
    const saved = await postForm(browser, `/pages/${pageId}/settings`, {
      name: 'Renamed page',
      brandColor: '#112233',
      supportUrl: 'https://support.example.com/',
      homepageUrl: '',
      customDomain: '',
      customCss: 'h1 { color: red } body { background: url(https://evil.example/x.png) }',
    })
    expect(saved.status).toBe(303)
    expect(saved.location).toBe(`/pages/${pageId}/settings?saved=details&css=cleaned`)
    const after = await browser.get(saved.location!)
    expect(after.body).toContain('Some of your CSS was removed')
    const served = /<pre class="code-block" id="served-css">([^<]*)<\/pre>/.exec(after.body)?.[1]
    expect(served).toContain('color:red')
    expect(served).not.toContain('url(')
    const page = await t.runtime.services.pages.get(actorFor(editor.userId), pageId)
    expect(page.name).toBe('Renamed page')
    expect(page.brandColor).toBe('#112233')
    expect(page.supportUrl).toBe('https://support.example.com/')
  })

  describe('validation errors re-render the form with 422 and write nothing', () => {
    it('for a new page, a new component and a template', async () => {
      const { pages, components, incidents } = t.runtime.services
      const actor = actorFor(editor.userId)
      const before = (await pages.list(actor, owner.accountId)).length
      await browser.get(`/a/${owner.accountId}/pages`)
      const bad = await postForm(browser, `/a/${owner.accountId}/pages`, {
        name: 'Broken',
        slug: 'Not A Slug!',
        timeZone: 'Mars/Olympus',
        locale: 'en',
      })
      expect(bad.status).toBe(422)
      expect(bad.body).toContain('Use 1 to 48 lowercase letters')
      expect(bad.body).toContain('Choose a time zone')
      expect(bad.body).toContain('value="Broken"')
      expect(await pages.list(actor, owner.accountId)).toHaveLength(before)

      const pageId = await createPage()
      const taken = (await pages.get(actor, pageId)).slug
      const conflict = await postForm(browser, `/a/${owner.accountId}/pages`, {
        name: 'Twin',
        slug: taken,
        timeZone: 'UTC',
      })
      expect(conflict.status).toBe(409)
      expect(conflict.body).toContain('already taken')
      expect(await pages.list(actor, owner.accountId)).toHaveLength(before + 1)

      await browser.get(`/pages/${pageId}/components`)
      const noName = await postForm(browser, `/pages/${pageId}/components`, {
        name: '  ',
        description: 'Kept in the form',
        startDate: '31/01/2026',
      })
      expect(noName.status).toBe(422)
      expect(noName.body).toContain('Name is required.')
      expect(noName.body).toContain('Use a date like 2026-01-31.')
      expect(noName.body).toContain('Kept in the form</textarea>')
      expect(await components.list(actor, pageId)).toHaveLength(0)

      const noTitle = await postForm(browser, `/pages/${pageId}/templates`, {
        name: 'T',
        title: '',
        body: 'x',
      })
      expect(noTitle.status).toBe(422)
      expect(noTitle.body).toContain('Incident title is required.')
      expect(await incidents.listTemplates(actor, pageId)).toHaveLength(0)
    })

    it('for incidents, updates, maintenance and settings', async () => {
      const { pages, incidents } = t.runtime.services
      const actor = actorFor(editor.userId)
      const pageId = await createPage()

      await browser.get(`/pages/${pageId}/incidents/new`)
      const noTitle = await postForm(browser, `/pages/${pageId}/incidents`, {
        name: '',
        status: 'investigating',
        impact: 'apocalyptic',
        body: 'The message survives the error.',
        displayAt: '2999-01-01T00:00',
      })
      expect(noTitle.status).toBe(422)
      expect(noTitle.body).toContain('Title is required.')
      expect(noTitle.body).toContain('Choose one of: none, minor, major, critical.')
      expect(noTitle.body).toContain('An update cannot be dated in the future.')
      expect(noTitle.body).toContain('The message survives the error.</textarea>')
      expect(await incidents.list(actor, pageId, 'incident')).toHaveLength(0)

      const badComponent = await postForm(browser, `/pages/${pageId}/incidents`, {
        name: 'Outage',
        body: 'x',
        component_nonexistent: 'major_outage',
      })
      expect(badComponent.status).toBe(422)
      expect(badComponent.body).toContain('Some components are not components of this page.')
      expect(await incidents.list(actor, pageId, 'incident')).toHaveLength(0)

      const badWindow = await postForm(browser, `/pages/${pageId}/maintenance`, {
        name: 'Upgrade',
        body: 'x',
        scheduledFor: '2030-01-01T10:00',
        scheduledUntil: '2030-01-01T09:00',
      })
      expect(badWindow.status).toBe(422)
      expect(badWindow.body).toContain('The window must end after it starts.')
      expect(badWindow.body).toContain('value="2030-01-01T10:00"')
      expect(await incidents.list(actor, pageId, 'maintenance')).toHaveLength(0)

      await browser.get(`/pages/${pageId}/settings`)
      const badSettings = await postForm(browser, `/pages/${pageId}/settings`, {
        name: 'Still the old name?',
        brandColor: 'blue',
        supportUrl: 'javascript:alert(1)',
      })
      expect(badSettings.status).toBe(422)
      expect(badSettings.body).toContain('Use a colour like #0a5bd3.')
      expect(badSettings.body).toContain('Enter a full http:// or https:// address.')
      expect((await pages.get(actor, pageId)).name).toBe('Acme Status')

      const tooLong = await postForm(browser, `/pages/${pageId}/settings`, {
        name: 'x'.repeat(500),
      })
      expect(tooLong.status).toBe(400)
      expect((await pages.get(actor, pageId)).name).toBe('Acme Status')

      // An update with an invalid status and an empty message.
      const opened = await postForm(browser, `/pages/${pageId}/incidents`, {
        name: 'Real one',
        body: 'Real.',
      })
      const incidentId = idFromLocation(opened.location, '/incidents')
      const badUpdate = await postForm(browser, `/incidents/${incidentId}/updates`, {
        status: 'completed',
        body: '',
      })
      expect(badUpdate.status).toBe(422)
      expect(badUpdate.body).toContain('Message is required.')
      expect((await incidents.get(actor, incidentId)).updates).toHaveLength(1)

      const [update] = (await incidents.get(actor, incidentId)).updates
      const badEdit = await postForm(browser, `/incidents/${incidentId}/updates/${update?.id}`, {
        body: '',
        displayAt: 'yesterday',
      })
      expect(badEdit.status).toBe(422)
      expect(badEdit.body).toContain('Use a date and time like 2026-01-31T14:30.')
      expect((await incidents.get(actor, incidentId)).revisions).toHaveLength(0)
    })
  })
})
