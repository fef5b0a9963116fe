import { parse as parseCsv } from 'csv-parse/sync'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import { signIn, TestBrowser, type BrowserResponse } from '../helpers/browser.js'
import { addMember, createOwner, type CreatedOwner } from '../helpers/factories.js'
import { actorFor, createPageFixture, type PageFixture } from '../helpers/page-factories.js'
import { testDialects } from '../helpers/test-db.js'
import { browserFor, postForm } from '../dashboard/dashboard-helpers.js'
import { entriesOf, independentHash, tamper } from './audit-helpers.js'

/** The actions in the table, top to bottom. */
function actionsShown(html: string): string[] {
  return [...html.matchAll(/<td><code>([a-z_.]+)<\/code><\/td>/g)].map((m) => m[1] ?? '')
}

/** The entry numbers in the table, top to bottom. */
function seqsShown(html: string): number[] {
  return [...html.matchAll(/<tr><td>(\d+)<\/td>/g)].map((m) => Number(m[1]))
}

function olderLink(html: string): string | undefined {
  return /<a href="([^"]*)">Older entries<\/a>/.exec(html)?.[1]?.replace(/&amp;/g, '&')
}

describe.each(testDialects)('audit log in the dashboard (%s)', (dialect) => {
  let t: TestApp
  let f: PageFixture
  let owner: CreatedOwner
  let admin: { userId: string; email: string; password: string }
  let editor: { userId: string; email: string; password: string }
  let viewer: { userId: string; email: string; password: string }
  let incidentId: string
  let base: string

  beforeAll(async () => {
    t = await buildTestApp(dialect)
    t.clock.set(new Date('2026-01-09T12:00:00.000Z'))
    f = await createPageFixture(t)
    owner = f.owner
    base = `/a/${owner.accountId}/audit`
    admin = await addMember(t, owner.accountId, 'admin')
    editor = await addMember(t, owner.accountId, 'editor')
    viewer = await addMember(t, owner.accountId, 'viewer')
    t.clock.set(new Date('2026-01-10T08:00:00.000Z'))
    const incident = await t.runtime.services.incidents.create(actorFor(editor.userId), f.page.id, {
      name: 'Checkout errors',
      body: 'Investigating.',
    })
    incidentId = incident.id
    t.clock.set(new Date('2026-01-11T08:00:00.000Z'))
    await t.runtime.services.components.update(actorFor(editor.userId), f.components.api.id, {
      status: 'major_outage',
    })
    t.clock.set(new Date('2026-01-12T08:00:00.000Z'))
  })
  afterAll(async () => {
    await t.close()
  })

  it('is for owners and admins: editors and viewers get 403, other accounts 404', async () => {
    for (const login of [owner, admin]) {
      const browser = await browserFor(t, login)
      expect((await browser.get(`/a/${owner.accountId}`)).body).toContain(`href="${base}"`)
      const page = await browser.get(base)
      expect(page.status).toBe(200)
      expect(page.body).toContain('<h1>Audit log</h1>')
    }
    for (const login of [editor, viewer]) {
      const browser = await browserFor(t, login)
      expect((await browser.get(`/a/${owner.accountId}`)).body).not.toContain(`href="${base}"`)
      expect((await browser.get(base)).status).toBe(403)
      expect((await postForm(browser, `${base}/export`, { format: 'csv' })).status).toBe(403)
      expect((await postForm(browser, `${base}/verify`, {})).status).toBe(403)
    }
    const stranger = await browserFor(t, await createOwner(t))
    expect((await stranger.get(base)).status).toBe(404)
    expect((await postForm(stranger, `${base}/export`, { format: 'json' })).status).toBe(404)
    // Reading the log writes nothing but the sign-ins above; a refused export writes nothing.
    expect((await entriesOf(t, owner.accountId)).some((e) => e.action === 'audit.exported')).toBe(
      false,
    )
  })

  it('shows people by name and email, newest first', async () => {
    const browser = await browserFor(t, owner)
    const page = await browser.get(base)
    const seqs = seqsShown(page.body)
    expect(seqs.length).toBeGreaterThan(5)
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a))
    expect(page.body).toContain(owner.email)
    expect(page.body).toContain(editor.email)
    expect(page.body).toContain('Candor (system)')
    const head = (await entriesOf(t, owner.accountId)).at(-1)
    expect(page.body).toContain(`hash <code>${head?.hash ?? ''}</code>`)
  })

  it('filters by action prefix, person, target and date range', async () => {
    const browser = await browserFor(t, owner)
    const incidents = await browser.get(`${base}?action=incident.`)
    expect(actionsShown(incidents.body)).toEqual(['incident.created'])

    // The editor also signed in (on the 12th, in the test above): the date range leaves that out.
    const byEditor = await browser.get(`${base}?actor=${editor.userId}&to=2026-01-11`)
    expect(actionsShown(byEditor.body)).toEqual(['component.updated', 'incident.created'])
    const everything = await browser.get(`${base}?actor=${editor.userId}`)
    expect(actionsShown(everything.body)[0]).toBe('auth.signed_in')

    const target = await browser.get(`${base}?targetType=incident&targetId=${incidentId}`)
    expect(actionsShown(target.body)).toEqual(['incident.created'])

    const day = await browser.get(`${base}?from=2026-01-10&to=2026-01-11`)
    expect(actionsShown(day.body)).toEqual(['component.updated', 'incident.created'])
    const before = await browser.get(`${base}?to=2026-01-09&action=page`)
    expect(actionsShown(before.body)).toEqual(['page.created'])

    const wrong = await browser.get(`${base}?from=last-week`)
    expect(wrong.status).toBe(422)
    expect(wrong.body).toContain('Use a date like 2026-01-31.')
  })

  it('pages through older entries', async () => {
    const other = await createOwner(t)
    const db = t.runtime.database.db
    for (let i = 0; i < 60; i++)
      await t.runtime.services.audit.record(db, {
        accountId: other.accountId,
        actor: { type: 'system' },
        action: 'test.filler',
        details: { i },
      })
    const browser = await browserFor(t, other)
    const first = await browser.get(`/a/${other.accountId}/audit?action=test.`)
    expect(seqsShown(first.body)).toEqual(Array.from({ length: 50 }, (_, i) => 61 - i))
    const next = olderLink(first.body)
    expect(next).toContain('action=test.')
    const second = await browser.get(next ?? '')
    expect(seqsShown(second.body)).toEqual(Array.from({ length: 10 }, (_, i) => 11 - i))
    expect(olderLink(second.body)).toBeUndefined()
    expect(second.body).toContain('Newest entries')
  })

  it('exports CSV with every formula-like cell defused, and records the export', async () => {
    const person = await addMember(t, owner.accountId, 'admin')
    const browser = new TestBrowser(t.app, { userAgent: '=HYPERLINK("http://evil.example","x")' })
    expect((await signIn(browser, person.email, person.password)).status).toBe(303)
    await browser.get('/profile')
    expect((await postForm(browser, '/profile', { name: '@SUM(1+1)' })).status).toBe(303)
    await browser.get(base)
    const response: BrowserResponse = await postForm(browser, `${base}/export`, {
      format: 'csv',
      actor: person.userId,
    })
    expect(response.status).toBe(200)
    expect(response.headers['content-type']).toContain('text/csv')
    expect(response.headers['content-disposition']).toMatch(
      /^attachment; filename="audit-.*\.csv"$/,
    )
    const parsed: unknown = parseCsv(response.body)
    const rows = parsed as string[][]
    expect(rows[0]).toEqual([
      'seq',
      'created_at',
      'action',
      'actor_type',
      'actor_user_id',
      'actor_name',
      'actor_email',
      'actor_api_key_id',
      'target_type',
      'target_id',
      'ip',
      'user_agent',
      'details',
      'prev_hash',
      'hash',
    ])
    const body = rows.slice(1)
    expect(body.map((row) => row[2])).toEqual(['auth.signed_in', 'user.profile_updated'])
    for (const cell of body.flat()) expect(cell).not.toMatch(/^[=+\-@]/)
    expect(body[0]?.[11]).toBe(`'=HYPERLINK("http://evil.example","x")`)
    expect(body[0]?.[5]).toBe(`'@SUM(1+1)`)

    const last = (await entriesOf(t, owner.accountId)).at(-1)
    expect(last).toMatchObject({
      action: 'audit.exported',
      actor_user_id: person.userId,
      target_type: 'account',
      target_id: owner.accountId,
    })
    expect(JSON.parse(last?.details ?? '')).toEqual({
      format: 'csv',
      entries: 2,
      filter: { actorUserId: person.userId },
    })
  })

  it('exports JSON from which anyone can recompute every hash', async () => {
    const browser = await browserFor(t, admin)
    const response = await postForm(browser, `${base}/export`, { format: 'json' })
    expect(response.status).toBe(200)
    const data = JSON.parse(response.body) as {
      accountId: string
      head: { seq: number; hash: string }
      entries: Record<string, unknown>[]
    }
    expect(data.accountId).toBe(owner.accountId)
    let previous = '0'.repeat(64)
    data.entries.forEach((entry, index) => {
      expect(entry['seq']).toBe(index + 1)
      expect(entry['prevHash']).toBe(previous)
      expect(independentHash(entry)).toBe(entry['hash'])
      previous = String(entry['hash'])
    })
    expect(data.head).toEqual({ seq: data.entries.length, hash: previous })
    const emails = data.entries.map((e) => (e['shown'] as { actorEmail: string | null }).actorEmail)
    expect(emails).toContain(owner.email)
    const last = (await entriesOf(t, owner.accountId)).at(-1)
    expect(last).toMatchObject({ action: 'audit.exported', actor_user_id: admin.userId })
    expect(JSON.parse(last?.details ?? '')).toMatchObject({ format: 'json', filter: {} })
  })

  it('verifies the chain on request, and says when it is broken', async () => {
    const browser = await browserFor(t, owner)
    await browser.get(base)
    const good = await postForm(browser, `${base}/verify`, {})
    expect(good.status).toBe(200)
    expect(good.body).toContain('The chain verifies')
    const victim = (await entriesOf(t, owner.accountId))[1]
    await tamper(t, async (db) => {
      await db
        .updateTable('audit_entries')
        .set({ action: 'page.renamed' })
        .where('id', '=', victim?.id ?? '')
        .execute()
    })
    const bad = await postForm(browser, `${base}/verify`, {})
    expect(bad.body).toContain('The chain is broken')
    expect(bad.body).toContain('at entry #2')
  })

  it('offers no way to change or delete an entry', () => {
    const { audit, auditLog } = t.runtime.services
    expect(Object.keys(audit).sort()).toEqual(['record', 'recordForUser', 'verify'])
    expect(Object.keys(auditLog).sort()).toEqual([
      'exportEntries',
      'filterOptions',
      'list',
      'verify',
    ])
  })
})
