import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { csvCell } from '../../src/http/admin/subscriber-routes.js'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import type { TestBrowser } from '../helpers/browser.js'
import { addMember } from '../helpers/factories.js'
import { createPageFixture, type PageFixture } from '../helpers/page-factories.js'
import { testDialects } from '../helpers/test-db.js'
import { browserFor, multipartBody, postForm } from '../dashboard/dashboard-helpers.js'
import { tags, textOf } from '../public-html/html.js'
import { subscriberRow } from './http-helpers.js'

const CONSENT = 'They opted in on our customer portal, March 2026.'

describe.each(testDialects)('subscribers in the dashboard (%s)', (dialect) => {
  let t: TestApp

  beforeAll(async () => {
    // Webhooks to this machine are allowed and fail for good at the first refusal, so a test
    // gets a failed delivery from a port where nothing listens.
    t = await buildTestApp(dialect, {
      env: { WEBHOOK_ALLOWED_RANGES: '127.0.0.1/32', NOTIFY_MAX_ATTEMPTS: '1' },
    })
  })
  afterAll(async () => {
    await t.close()
  })

  const db = () => t.runtime.database.db

  async function ownerBrowser(f: PageFixture): Promise<TestBrowser> {
    return browserFor(t, f.owner)
  }

  /** Posts the import form as a browser does: multipart, the CSRF token in the action URL. */
  async function importCsv(
    browser: TestBrowser,
    pageId: string,
    fields: Record<string, string>,
    file?: string,
  ) {
    await browser.get(`/pages/${pageId}/subscribers`)
    const { payload, contentType } = multipartBody(
      file === undefined
        ? []
        : [
            {
              name: 'file',
              filename: 'subscribers.csv',
              contentType: 'text/csv',
              data: Buffer.from(file),
            },
          ],
      fields,
    )
    const response = await t.app.inject({
      method: 'POST',
      url: `/pages/${pageId}/subscribers/import?_csrf=${encodeURIComponent(browser.csrfToken ?? '')}`,
      remoteAddress: '127.0.0.1',
      headers: {
        accept: 'text/html',
        'content-type': contentType,
        cookie: [...browser.cookies].map(([name, value]) => `${name}=${value}`).join('; '),
      },
      payload,
    })
    const location = response.headers.location
    return {
      status: response.statusCode,
      body: response.body,
      location: typeof location === 'string' ? location : undefined,
    }
  }

  it('imports a CSV with a consent statement, and writes nothing when one row is wrong', async () => {
    const f = await createPageFixture(t)
    const browser = await ownerBrowser(f)
    const good = `email,components\nAda@Example.com,${f.components.api.id}\nbob@example.com,\nada@example.com,\n`
    const imported = await importCsv(
      browser,
      f.page.id,
      { consentAssertion: CONSENT, consentConfirmed: 'true' },
      good,
    )
    expect(imported.status).toBe(303)
    const list = await browser.get(imported.location ?? '')
    expect(textOf(list.body)).toContain('Imported 2 subscribers; 0 already subscribed.')
    const rows = await subscriberRow(t, f.page.id)
    expect(rows.map((r) => r.state)).toEqual(['active', 'active'])
    expect(rows.every((r) => r.consent_source === 'import')).toBe(true)

    const again = await importCsv(browser, f.page.id, {
      consentAssertion: CONSENT,
      consentConfirmed: 'true',
      csv: 'bob@example.com\ncarol@example.com',
    })
    expect(again.status).toBe(303)
    expect(textOf((await browser.get(again.location ?? '')).body)).toContain(
      'Imported 1 subscriber; 1 already subscribed.',
    )
    expect(await subscriberRow(t, f.page.id)).toHaveLength(3)

    const bad = await importCsv(
      browser,
      f.page.id,
      { consentAssertion: CONSENT, consentConfirmed: 'true' },
      'email\ndave@example.com\nnot-an-address\n',
    )
    expect(bad.status).toBe(422)
    expect(textOf(bad.body)).toContain('Nothing was imported.')
    expect(textOf(bad.body)).toContain('Line 3')
    expect(await subscriberRow(t, f.page.id)).toHaveLength(3)

    const unconfirmed = await importCsv(
      browser,
      f.page.id,
      { consentAssertion: CONSENT },
      'erin@example.com\n',
    )
    expect(unconfirmed.status).toBe(422)
    expect(textOf(unconfirmed.body)).toContain('Confirm that every person in the file agreed')
    const noStatement = await importCsv(
      browser,
      f.page.id,
      { consentConfirmed: 'true', consentAssertion: '' },
      'erin@example.com\n',
    )
    expect(noStatement.status).toBe(422)
    expect(await subscriberRow(t, f.page.id)).toHaveLength(3)

    // The import form's token is in its action; without it nothing is read.
    const forged = await t.app.inject({
      method: 'POST',
      url: `/pages/${f.page.id}/subscribers/import`,
      headers: {
        'content-type': multipartBody([], {}).contentType,
        cookie: [...browser.cookies].map(([n, v]) => `${n}=${v}`).join('; '),
      },
      payload: multipartBody([], { csv: 'x@example.com', consentConfirmed: 'true' }).payload,
    })
    expect(forged.statusCode).toBe(403)
  })

  it('lists with state and channel filters, counts and pages', async () => {
    const f = await createPageFixture(t)
    const browser = await ownerBrowser(f)
    const emails = Array.from({ length: 55 }, (_, i) => `list${String(i)}@example.com`)
    expect(
      (
        await importCsv(browser, f.page.id, {
          consentAssertion: CONSENT,
          consentConfirmed: 'true',
          csv: emails.join('\n'),
        })
      ).status,
    ).toBe(303)
    await browser.get(`/pages/${f.page.id}/subscribers`)
    expect(
      (
        await postForm(browser, `/pages/${f.page.id}/subscribers`, {
          channel: 'email',
          address: 'pending@example.com',
        })
      ).status,
    ).toBe(303)
    await browser.get(`/pages/${f.page.id}/subscribers`)
    await postForm(browser, `/pages/${f.page.id}/subscribers`, {
      channel: 'slack',
      address: 'https://hooks.slack.com/services/T000/B000/XXXX',
    })

    const first = await browser.get(`/pages/${f.page.id}/subscribers`)
    expect(first.status).toBe(200)
    const text = textOf(first.body)
    expect(text).toContain('All (57)')
    expect(text).toContain('Pending confirmation (1)')
    expect(text).toContain('Active (56)')
    expect(text).toContain('Unsubscribed (0)')
    expect(text).toContain('Subscribers 1–50 of 57')
    const next = tags(first.body).find((tag) => tag.name === 'a' && tag.attrs['rel'] === 'next')
    expect(next?.attrs['href']).toBe(`/pages/${f.page.id}/subscribers?page=2`)
    const second = await browser.get(next?.attrs['href'] ?? '')
    expect(textOf(second.body)).toContain('Subscribers 51–57 of 57')

    const pending = await browser.get(`/pages/${f.page.id}/subscribers?state=pending`)
    expect(textOf(pending.body)).toContain('pending@example.com')
    expect(textOf(pending.body)).not.toContain('list0@example.com')
    const slack = await browser.get(`/pages/${f.page.id}/subscribers?channel=slack`)
    expect(textOf(slack.body)).toContain('Subscribers 1–1 of 1')
    expect(textOf(slack.body)).toContain('hooks.slack.com')
  })

  it('adds subscribers: email waits for confirmation, a webhook shows its secret once and can rotate it', async () => {
    const f = await createPageFixture(t)
    const browser = await ownerBrowser(f)
    await browser.get(`/pages/${f.page.id}/subscribers`)
    const invalid = await postForm(browser, `/pages/${f.page.id}/subscribers`, {
      channel: 'webhook',
      address: 'ftp://example.com',
    })
    expect(invalid.status).toBe(422)
    expect(textOf(invalid.body)).toContain('Nothing was saved.')
    expect(
      tags(invalid.body).find((tag) => tag.name === 'input' && tag.attrs['name'] === 'address')
        ?.attrs['aria-invalid'],
    ).toBe('true')

    const email = await postForm(browser, `/pages/${f.page.id}/subscribers`, [
      ['channel', 'email'],
      ['address', 'new@example.com'],
      ['componentIds', f.components.web.id],
    ])
    expect(email.status).toBe(303)
    const emailPage = await browser.get(email.location ?? '')
    expect(textOf(emailPage.body)).toContain('They receive a link to confirm')
    expect(textOf(emailPage.body)).toContain('Pending confirmation')
    expect(textOf(emailPage.body)).toContain('Added from the dashboard')

    await browser.get(`/pages/${f.page.id}/subscribers`)
    const webhook = await postForm(browser, `/pages/${f.page.id}/subscribers`, {
      channel: 'webhook',
      address: 'https://hooks.example.com/candor',
    })
    expect(webhook.status).toBe(200)
    const secret = /whsec_[A-Za-z0-9+/=]+/.exec(webhook.body)?.[0]
    expect(secret).toBeDefined()
    const row = (await subscriberRow(t, f.page.id)).find((r) => r.channel === 'webhook')
    const detailPath = `/pages/${f.page.id}/subscribers/${row?.id ?? ''}`
    const later = await browser.get(detailPath)
    expect(later.status).toBe(200)
    expect(later.body).not.toContain(secret ?? 'none')
    expect(later.body).not.toMatch(/whsec_/)
    const rotated = await postForm(browser, `${detailPath}/rotate-secret`, {})
    expect(rotated.status).toBe(200)
    const newSecret = /whsec_[A-Za-z0-9+/=]+/.exec(rotated.body)?.[0]
    expect(newSecret).toBeDefined()
    expect(newSecret).not.toBe(secret)
  })

  it('shows the consent record and deliveries, changes components, erases', async () => {
    const f = await createPageFixture(t)
    const browser = await ownerBrowser(f)
    await importCsv(browser, f.page.id, {
      consentAssertion: CONSENT,
      consentConfirmed: 'true',
      csv: 'detail@example.com',
    })
    const row = (await subscriberRow(t, f.page.id))[0]
    const path = `/pages/${f.page.id}/subscribers/${row?.id ?? ''}`
    const detail = await browser.get(path)
    expect(detail.status).toBe(200)
    const text = textOf(detail.body)
    expect(text).toContain('Consent record')
    expect(text).toContain('Imported from a file')
    expect(text).toContain(CONSENT)
    expect(text).toContain('No delivery yet.')

    const saved = await postForm(browser, `${path}/components`, [
      ['componentIds', f.groups.core.id],
    ])
    expect(saved.status).toBe(303)
    expect(textOf((await browser.get(saved.location ?? '')).body)).toContain('Core')
    const wrong = await postForm(browser, `${path}/components`, [['componentIds', 'nope']])
    expect(wrong.status).toBe(422)

    const exported = await browser.get(`${path}/export`)
    expect(exported.headers['content-disposition']).toMatch(/^attachment/)
    expect((JSON.parse(exported.body) as { address: string }).address).toBe('detail@example.com')

    await browser.get(path)
    const unconfirmed = await postForm(browser, `${path}/erase`, {})
    expect(unconfirmed.status).toBe(422)
    expect(await subscriberRow(t, f.page.id)).toHaveLength(1)
    const erased = await postForm(browser, `${path}/erase`, { confirm: 'true' })
    expect(erased.status).toBe(303)
    expect(erased.location).toBe(`/pages/${f.page.id}/subscribers?saved=erased`)
    expect(await subscriberRow(t, f.page.id)).toHaveLength(0)
    expect((await browser.get(path)).status).toBe(404)
  })

  it('exports CSV (formula cells neutralised) and JSON', async () => {
    expect(csvCell('=HYPERLINK("http://evil")')).toBe(`"'=HYPERLINK(""http://evil"")"`)
    expect(csvCell('+1')).toBe("'+1")
    expect(csvCell('-1')).toBe("'-1")
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)")
    expect(csvCell('a,b')).toBe('"a,b"')
    expect(csvCell('plain@example.com')).toBe('plain@example.com')

    const f = await createPageFixture(t)
    const browser = await ownerBrowser(f)
    await importCsv(browser, f.page.id, {
      consentAssertion: CONSENT,
      consentConfirmed: 'true',
      csv: `email,components\n=1+2@example.com,${f.components.api.id}\n-x@example.com,\n`,
    })
    const csv = await browser.get(`/pages/${f.page.id}/subscribers/export.csv`)
    expect(csv.status).toBe(200)
    expect(csv.headers['content-type']).toMatch(/^text\/csv/)
    expect(csv.headers['content-disposition']).toBe(
      `attachment; filename="subscribers-${f.page.slug}.csv"`,
    )
    const lines = csv.body.trimEnd().split('\r\n')
    expect(lines[0]).toBe(
      'id,channel,address,state,components,created_at,confirmed_at,consent_at,consent_source',
    )
    expect(lines).toHaveLength(3)
    const cells = lines.slice(1).map((line) => line.split(','))
    const byAddress = new Map(cells.map((c) => [c[2], c]))
    expect(byAddress.get("'=1+2@example.com")?.[4]).toBe(f.components.api.id)
    expect(byAddress.get("'-x@example.com")?.[4]).toBe('all')
    expect(byAddress.get("'-x@example.com")?.[8]).toBe('import')
    for (const c of cells) expect(c[2]).not.toMatch(/^[=+\-@]/)

    const json = await browser.get(`/pages/${f.page.id}/subscribers/export.json`)
    expect(json.headers['content-type']).toMatch(/^application\/json/)
    const data = JSON.parse(json.body) as {
      subscribers: { address: string; consent: { text: string } }[]
    }
    expect(data.subscribers.map((s) => s.address).sort()).toEqual([
      '-x@example.com',
      '=1+2@example.com',
    ])
    expect(data.subscribers[0]?.consent.text).toBe(CONSENT)
  })

  it('refuses a viewer (403) and another account (404) on every subscriber page and form', async () => {
    const f = await createPageFixture(t)
    const owner = await ownerBrowser(f)
    await importCsv(owner, f.page.id, {
      consentAssertion: CONSENT,
      consentConfirmed: 'true',
      csv: 'victim@example.com',
    })
    const row = (await subscriberRow(t, f.page.id))[0]
    const subscriber = `/pages/${f.page.id}/subscribers/${row?.id ?? ''}`
    const gets = [
      `/pages/${f.page.id}/subscribers`,
      `/pages/${f.page.id}/subscribers/export.csv`,
      `/pages/${f.page.id}/subscribers/export.json`,
      subscriber,
      `${subscriber}/export`,
    ]
    const posts: [string, Record<string, string>][] = [
      [`/pages/${f.page.id}/subscribers`, { channel: 'email', address: 'x@example.com' }],
      [`/pages/${f.page.id}/subscribers/settings`, { privacyNotice: 'Hijacked' }],
      [`${subscriber}/components`, { componentIds: f.components.api.id }],
      [`${subscriber}/rotate-secret`, {}],
      [`${subscriber}/erase`, { confirm: 'true' }],
      [`/pages/${f.page.id}/notifications/retry`, {}],
    ]

    const viewerLogin = await addMember(t, f.owner.accountId, 'viewer')
    const viewer = await browserFor(t, viewerLogin)
    for (const path of gets) expect((await viewer.get(path)).status, path).toBe(403)
    for (const [path, fields] of posts)
      expect((await postForm(viewer, path, fields)).status, path).toBe(403)
    expect(
      (
        await importCsv(viewer, f.page.id, {
          csv: 'x@example.com',
          consentConfirmed: 'true',
          consentAssertion: CONSENT,
        })
      ).status,
    ).toBe(403)
    // A viewer reads the notifications and chooses for themself.
    expect((await viewer.get(`/pages/${f.page.id}/notifications`)).status).toBe(200)

    const other = await createPageFixture(t)
    const outsider = await browserFor(t, other.owner)
    for (const path of [...gets, `/pages/${f.page.id}/notifications`])
      expect((await outsider.get(path)).status, path).toBe(404)
    for (const [path, fields] of [
      ...posts,
      [`/pages/${f.page.id}/notifications/me`, { notify: 'false' }] as [
        string,
        Record<string, string>,
      ],
    ])
      expect((await postForm(outsider, path, fields)).status, path).toBe(404)
    // Another account's subscriber under one's own page: 404 too.
    const crossPath = `/pages/${other.page.id}/subscribers/${row?.id ?? ''}`
    expect((await outsider.get(crossPath)).status).toBe(404)

    const rows = await subscriberRow(t, f.page.id)
    expect(rows).toHaveLength(1)
    expect(rows[0]?.all_components).toBeTruthy()
  })

  it('saves the privacy notice and team notifications (admin), shown on the subscribe form', async () => {
    const f = await createPageFixture(t)
    const browser = await ownerBrowser(f)
    const page = await browser.get(`/pages/${f.page.id}/subscribers`)
    expect(
      tags(page.body).some(
        (tag) =>
          tag.name === 'form' && tag.attrs['action'] === `/pages/${f.page.id}/subscribers/settings`,
      ),
    ).toBe(true)
    const saved = await postForm(browser, `/pages/${f.page.id}/subscribers/settings`, [
      ['privacyNotice', 'We keep your address until you leave. dpo@acme.example'],
      ['notifyTeam', 'false'],
    ])
    expect(saved.status).toBe(303)
    const after = await browser.get(saved.location ?? '')
    expect(textOf(after.body)).toContain('Settings saved.')
    expect(after.body).toContain('We keep your address until you leave.')
    const box = tags(after.body).find(
      (tag) =>
        tag.name === 'input' &&
        tag.attrs['type'] === 'checkbox' &&
        tag.attrs['name'] === 'notifyTeam',
    )
    expect(box?.attrs['checked']).toBeUndefined()
    expect(await t.runtime.services.subscribers.getSettings(f.actor, f.page.id)).toEqual({
      privacyNotice: 'We keep your address until you leave. dpo@acme.example',
      notifyTeam: false,
    })
    const form = await browser.get(`/p/${f.page.slug}/subscribe`)
    expect(textOf(form.body)).toContain('We keep your address until you leave.')

    const editorLogin = await addMember(t, f.owner.accountId, 'editor')
    const editor = await browserFor(t, editorLogin)
    const list = await editor.get(`/pages/${f.page.id}/subscribers`)
    expect(list.status).toBe(200)
    expect(list.body).not.toContain('/subscribers/settings')
    expect(
      (await postForm(editor, `/pages/${f.page.id}/subscribers/settings`, { privacyNotice: 'x' }))
        .status,
    ).toBe(403)
  })

  it('shows fan-out progress and failures, retries them, and lets a member opt out', async () => {
    const f = await createPageFixture(t)
    const browser = await ownerBrowser(f)
    const { subscribers, incidents, notifications } = t.runtime.services
    await subscribers.add(f.actor, f.page.id, {
      channel: 'webhook',
      // Nothing listens there: with one attempt allowed, the delivery fails for good.
      address: 'http://127.0.0.1:9/hook',
    })
    await subscribers.updateSettings(f.actor, f.page.id, { notifyTeam: false })
    const incident = await incidents.create(f.actor, f.page.id, {
      name: 'Database outage',
      body: 'We are looking into it.',
    })
    const event = await db()
      .selectFrom('notification_events')
      .selectAll()
      .where('page_id', '=', f.page.id)
      .executeTakeFirstOrThrow()
    const before = await browser.get(`/pages/${f.page.id}/notifications`)
    expect(before.status).toBe(200)
    expect(textOf(before.body)).toContain('in progress')

    await notifications.handlers['notify.fanout']({ eventId: event.id })
    const delivery = await db()
      .selectFrom('deliveries')
      .selectAll()
      .where('event_id', '=', event.id)
      .executeTakeFirstOrThrow()
    await notifications.handlers['notify.deliver']({ deliveryId: delivery.id })
    const failed = await db()
      .selectFrom('deliveries')
      .selectAll()
      .where('id', '=', delivery.id)
      .executeTakeFirstOrThrow()
    expect(failed.state).toBe('failed')

    const page = await browser.get(`/pages/${f.page.id}/notifications`)
    const all = tags(page.body)
    const cell = (state: string) => {
      const at = all.find((tag) => tag.name === 'td' && tag.attrs['data-state'] === state)?.at ?? -1
      return page.body.slice(page.body.indexOf('>', at) + 1, page.body.indexOf('</td>', at))
    }
    expect(cell('failed')).toBe('1')
    expect(cell('sent')).toBe('0')
    expect(textOf(page.body)).toContain('Incident opened')
    expect(textOf(page.body)).toContain(failed.last_error ?? 'no error')
    expect(textOf(page.body)).toContain('done')
    const retryForms = all.filter(
      (tag) =>
        tag.name === 'form' && tag.attrs['action'] === `/pages/${f.page.id}/notifications/retry`,
    )
    expect(retryForms).toHaveLength(2)

    // The incident's own page shows its fan-out too.
    const incidentPage = await browser.get(`/incidents/${incident.id}`)
    expect(textOf(incidentPage.body)).toContain('Notifications')
    expect(incidentPage.body).toContain('data-state="failed">1<')

    const retried = await postForm(browser, `/pages/${f.page.id}/notifications/retry`, {
      eventId: event.id,
    })
    expect(retried.status).toBe(303)
    expect(retried.location).toBe(`/pages/${f.page.id}/notifications?saved=retried&n=1`)
    expect(textOf((await browser.get(retried.location ?? '')).body)).toContain(
      '1 failed delivery queued again.',
    )
    const queued = await db()
      .selectFrom('deliveries')
      .select('state')
      .where('id', '=', delivery.id)
      .executeTakeFirstOrThrow()
    expect(queued.state).toBe('queued')
    const none = await postForm(browser, `/pages/${f.page.id}/notifications/retry`, {})
    expect(none.location).toBe(`/pages/${f.page.id}/notifications?saved=retried&n=0`)

    // The member's own choice.
    const viewerLogin = await addMember(t, f.owner.accountId, 'viewer')
    const viewer = await browserFor(t, viewerLogin)
    const viewerPage = await viewer.get(`/pages/${f.page.id}/notifications`)
    expect(viewerPage.status).toBe(200)
    expect(viewerPage.body).not.toContain('/notifications/retry')
    const out = await postForm(viewer, `/pages/${f.page.id}/notifications/me`, { notify: 'false' })
    expect(out.status).toBe(303)
    expect(
      await subscribers.memberOptedOut({ ...f.actor, userId: viewerLogin.userId }, f.page.id),
    ).toBe(true)
    expect(textOf((await viewer.get(out.location ?? '')).body)).toContain(
      'Notify me about this page',
    )
    await postForm(viewer, `/pages/${f.page.id}/notifications/me`, { notify: 'true' })
    expect(
      await subscribers.memberOptedOut({ ...f.actor, userId: viewerLogin.userId }, f.page.id),
    ).toBe(false)
  })

  it('links the subscriber and notification pages from the page dashboard', async () => {
    const f = await createPageFixture(t)
    const browser = await ownerBrowser(f)
    const overview = await browser.get(`/pages/${f.page.id}`)
    const hrefs = tags(overview.body)
      .filter((tag) => tag.name === 'a')
      .map((tag) => tag.attrs['href'])
    expect(hrefs).toContain(`/pages/${f.page.id}/subscribers`)
    expect(hrefs).toContain(`/pages/${f.page.id}/notifications`)
  })
})
