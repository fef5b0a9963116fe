import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PageSnapshot } from '../../src/domain/pages/types.js'
import {
  renderHistoryPage,
  renderIncidentPage,
  renderStatusPage,
  type PublicRenderContext,
} from '../../src/http/public/views/index.js'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import { createPageFixture } from '../helpers/page-factories.js'
import { testDialects } from '../helpers/test-db.js'
import { dangerousMarkup, elementById, sectionWithClass, tags, textOf } from './html.js'

function ctxOf(snapshot: PageSnapshot, basePath = `/p/${snapshot.page.slug}`): PublicRenderContext {
  return { basePath, locale: snapshot.page.locale, now: snapshot.generatedAt }
}

function count(html: string, pattern: RegExp): number {
  return html.split(pattern).length - 1
}

/** The public pages rendered from snapshots built by the real services on a real database. */
describe.each(testDialects)('public page HTML from real snapshots (%s)', (dialect) => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp(dialect)
  })
  afterAll(async () => {
    await t.close()
  })

  async function snapshotOf(pageId: string): Promise<PageSnapshot> {
    const snapshot = await t.runtime.services.publicPages.snapshot(pageId)
    if (snapshot === undefined) throw new Error('no snapshot')
    return snapshot
  }

  it('renders groups, bars, an active incident and an upcoming maintenance', async () => {
    t.clock.set(new Date('2026-11-20T12:00:00Z'))
    const f = await createPageFixture(t)
    const { incidents } = t.runtime.services
    const incident = await incidents.create(f.actor, f.page.id, {
      name: 'API errors',
      status: 'investigating',
      impact: 'major',
      body: 'We are looking into **elevated errors**.',
      components: { [f.components.api.id]: 'partial_outage' },
    })
    t.clock.advance(10 * 60_000)
    await incidents.addUpdate(f.actor, incident.id, {
      status: 'identified',
      body: 'A bad deploy; rolling back.',
    })
    const start = new Date(t.clock.now().getTime() + 86_400_000)
    await incidents.scheduleMaintenance(f.actor, f.page.id, {
      name: 'Database upgrade',
      body: 'We will upgrade the database.',
      scheduledFor: start.toISOString(),
      scheduledUntil: new Date(start.getTime() + 7_200_000).toISOString(),
      componentIds: [f.components.eu.id],
    })
    const snapshot = await snapshotOf(f.page.id)
    const html = renderStatusPage(snapshot, ctxOf(snapshot))

    expect(textOf(sectionWithClass(html, 'banner'))).toBe('Partial System Outage')
    expect(count(html, /<details class="group-details/)).toBe(2)
    expect(count(html, /<ul class="bars"/)).toBe(4)
    expect(count(html, /<li class="bar bar-/)).toBe(360)
    expect(html).toMatch(/<span class="uptime-percent">\d{1,3}\.\d\d% uptime<\/span>/)
    expect(html).toContain(
      '<span class="bar-tip">Nov 20, 2026: Partial Outage 10m, incidents: API errors</span>',
    )

    const active = sectionWithClass(html, 'events')
    expect(active).toContain('Active incidents')
    expect(count(active, /<li class="update">/)).toBe(2)
    expect(active).toContain('<p>We are looking into <strong>elevated errors</strong>.</p>')
    expect(textOf(active)).toContain('Components: Core - API: Partial Outage')
    expect(textOf(active)).toContain('This incident affects: Core - API.')
    expect(active).toContain(`href="/p/${f.page.slug}/incidents/${incident.id}"`)

    const text = textOf(html)
    expect(text).toContain('Scheduled maintenance Database upgrade')
    expect(text).toContain('Scheduled for Nov 21, 2026, 12:10 GMT+0 – 14:10 GMT+0')
    expect(text).toContain('This maintenance affects: Regions - EU.')
    expect(dangerousMarkup(html)).toEqual([])
    expect(html).not.toContain('style=')
    expect(tags(html).filter((tag) => tag.name === 'h1')).toHaveLength(1)

    const detail = renderIncidentPage(snapshot, incident.id, ctxOf(snapshot, ''))
    expect(detail).toContain('<h1 class="event-title">API errors</h1>')
    expect(detail).toContain('<a href="/">')
    expect(renderHistoryPage(snapshot, ctxOf(snapshot))).toContain('API errors')
  })

  it('shows times and dates in the page time zone (Europe/Paris)', async () => {
    t.clock.set(new Date('2026-03-29T00:30:00Z'))
    const f = await createPageFixture(t, { timeZone: 'Europe/Paris' })
    const { incidents } = t.runtime.services
    const incident = await incidents.create(f.actor, f.page.id, {
      name: 'Night incident',
      status: 'investigating',
      impact: 'minor',
      body: 'Looking.',
    })
    // Backdated to 23:30 UTC on the 28th, which is already the 29th in Paris.
    const early = await incidents.create(f.actor, f.page.id, {
      name: 'Earlier incident',
      status: 'resolved',
      impact: 'minor',
      body: 'It was brief.',
      displayAt: '2026-03-28T23:30:00Z',
    })
    const snapshot = await snapshotOf(f.page.id)
    const html = renderIncidentPage(snapshot, incident.id, ctxOf(snapshot))!
    expect(html).toContain(
      '<time datetime="2026-03-29T00:30:00.000Z">Mar 29, 2026, 01:30 GMT+1</time>',
    )
    const earlier = renderIncidentPage(snapshot, early.id, ctxOf(snapshot))!
    expect(earlier).toContain(
      '<time datetime="2026-03-28T23:30:00.000Z">Mar 29, 2026, 00:30 GMT+1</time>',
    )
    const status = renderStatusPage(snapshot, ctxOf(snapshot))
    const today = sectionWithClass(status, 'day')
    expect(today).toContain('<time datetime="2026-03-29">Mar 29, 2026</time>')
    expect(textOf(today)).toContain('Night incident')
    expect(textOf(today)).toContain('Earlier incident')
    expect(textOf(status)).toContain('Times are shown in Europe/Paris (GMT+1).')
    // After the switch to summer time the offset follows.
    t.clock.set(new Date('2026-03-29T01:30:00Z'))
    await incidents.addUpdate(f.actor, incident.id, { status: 'resolved', body: 'Fixed.' })
    const later = await snapshotOf(f.page.id)
    expect(renderIncidentPage(later, incident.id, ctxOf(later))).toContain(
      'Mar 29, 2026, 03:30 GMT+2',
    )
  })

  it('renders a French page in French', async () => {
    t.clock.set(new Date('2026-11-20T12:00:00Z'))
    const f = await createPageFixture(t, { locale: 'fr', timeZone: 'Europe/Paris' })
    await t.runtime.services.incidents.create(f.actor, f.page.id, {
      name: 'Erreurs API',
      status: 'investigating',
      impact: 'critical',
      body: 'Nous enquêtons.',
      components: { [f.components.api.id]: 'major_outage' },
    })
    const snapshot = await snapshotOf(f.page.id)
    const html = renderStatusPage(snapshot, ctxOf(snapshot))
    expect(html).toContain('<html lang="fr">')
    const text = textOf(html)
    expect(text).toContain('Panne majeure du système')
    expect(text).toContain('Incidents en cours')
    expect(text).toContain('Analyse en cours')
    expect(text).toContain('Impact critique')
    expect(text).toContain('20 nov. 2026, 13:00 UTC+1')
    expect(text).toContain('Panne majeure')
    expect(text).toContain('Opérationnel')
    expect(text).not.toContain('Operational')
  })

  it('shows an "only if degraded" component only while it is degraded', async () => {
    t.clock.set(new Date('2026-11-20T12:00:00Z'))
    const f = await createPageFixture(t)
    const { components } = t.runtime.services
    const legacy = await components.create(f.actor, f.page.id, {
      name: 'Legacy API',
      groupId: f.groups.core.id,
      onlyShowIfDegraded: true,
    })
    let snapshot = await snapshotOf(f.page.id)
    expect(renderStatusPage(snapshot, ctxOf(snapshot))).not.toContain('Legacy API')
    await components.update(f.actor, legacy.id, { status: 'degraded_performance' })
    snapshot = await snapshotOf(f.page.id)
    const html = renderStatusPage(snapshot, ctxOf(snapshot))
    const item = elementById(html, `component-${legacy.id}`)
    expect(elementById(html, `component-${f.groups.core.id}`)).toContain(item)
    expect(textOf(sectionWithClass(item, 'component-head'))).toBe('Legacy API Degraded Performance')
    expect(textOf(sectionWithClass(html, 'banner'))).toBe('Partially Degraded Service')
  })
})
