import type { Component, Incident, PageSnapshot } from '../../src/domain/pages/types.js'
import type { TestApp } from '../helpers/build-app.js'
import { createPageFixture, type PageFixture } from '../helpers/page-factories.js'

export const PAGE_URL = 'https://status.acme.test'

/** Names and bodies carry markup and characters that every output format must escape. */
export const XSS_TITLE = 'API errors <script>alert("t")</script> & "quotes"'
export const XSS_BODY =
  'We are looking into <script>alert(1)</script> **elevated errors** & <b>timeouts</b>.'
export const XSS_COMPONENT = '<script>alert(2)</script>'
export const AMP_COMPONENT = 'Billing & Invoices'
export const ICAL_TITLE = 'DB upgrade; phase 1, part \\ 2 — café ☕'

export interface Scenario {
  f: PageFixture
  snapshot: PageSnapshot
  xssComponent: Component
  ampComponent: Component
  resolved: Incident
  open: Incident
  completed: Incident
  active: Incident
  upcoming: Incident
}

const MINUTE = 60_000

/**
 * A realistic page built through the real services, on the app's dialect: two groups with four
 * components and two ungrouped ones, a resolved incident, an open incident with two further
 * updates, a completed, an in-progress and an upcoming maintenance. The page is in
 * America/Los_Angeles, so timestamps carry -07:00/-08:00 offsets as Statuspage's do.
 */
export async function buildScenario(t: TestApp): Promise<Scenario> {
  const f = await createPageFixture(t, { timeZone: 'America/Los_Angeles' })
  const { components, incidents, publicPages } = t.runtime.services
  const xssComponent = await components.create(f.actor, f.page.id, { name: XSS_COMPONENT })
  const ampComponent = await components.create(f.actor, f.page.id, {
    name: AMP_COMPONENT,
    description: 'Invoices & <payments>',
    startDate: '2026-01-15',
  })

  // A resolved incident first, so that the open one is the newest.
  const resolved = await incidents.create(f.actor, f.page.id, {
    name: 'Website slow',
    status: 'investigating',
    impact: 'minor',
    body: 'The website is slow for some visitors.',
    components: { [f.components.web.id]: 'degraded_performance' },
  })
  t.clock.advance(10 * MINUTE)
  await incidents.addUpdate(f.actor, resolved.id, {
    status: 'resolved',
    body: 'This incident has been resolved.',
    components: { [f.components.web.id]: 'operational' },
  })
  t.clock.advance(60 * MINUTE)

  const open = await incidents.create(f.actor, f.page.id, {
    name: XSS_TITLE,
    status: 'investigating',
    impact: 'major',
    body: XSS_BODY,
    components: {
      [f.components.api.id]: 'partial_outage',
      [f.components.eu.id]: 'degraded_performance',
    },
  })
  t.clock.advance(5 * MINUTE)
  await incidents.addUpdate(f.actor, open.id, {
    status: 'identified',
    body: 'The issue has been identified and a fix is being implemented.',
  })
  t.clock.advance(5 * MINUTE)
  await incidents.addUpdate(f.actor, open.id, {
    status: 'monitoring',
    body: 'A fix has been implemented; we are monitoring the results.',
    components: { [f.components.api.id]: 'operational' },
  })

  // A maintenance that has run its whole window.
  const start1 = new Date(t.clock.now().getTime() + MINUTE)
  const completed = await incidents.scheduleMaintenance(f.actor, f.page.id, {
    name: 'Network maintenance',
    body: 'Routers will be replaced.',
    scheduledFor: start1.toISOString(),
    scheduledUntil: new Date(start1.getTime() + 5 * MINUTE).toISOString(),
    componentIds: [f.components.us.id],
  })
  t.clock.advance(2 * MINUTE)
  await incidents.runMaintenanceTransitions()
  t.clock.advance(8 * MINUTE)
  await incidents.runMaintenanceTransitions()

  // One in progress.
  const start2 = new Date(t.clock.now().getTime() + MINUTE)
  const active = await incidents.scheduleMaintenance(f.actor, f.page.id, {
    name: 'Search index rebuild',
    body: 'Search results may be incomplete during the rebuild.',
    scheduledFor: start2.toISOString(),
    scheduledUntil: new Date(start2.getTime() + 3 * 60 * MINUTE).toISOString(),
    componentIds: [ampComponent.id],
  })
  t.clock.advance(2 * MINUTE)
  await incidents.runMaintenanceTransitions()

  // One upcoming, with characters iCalendar must escape and a body long enough to fold.
  const start3 = new Date(t.clock.now().getTime() + 2 * 24 * 60 * MINUTE)
  const upcoming = await incidents.scheduleMaintenance(f.actor, f.page.id, {
    name: ICAL_TITLE,
    body:
      'We will upgrade the primary database cluster, one node at a time; writes may pause, ' +
      'briefly, for up to 30 seconds per node. Details: https://example.com/db?a=1&b=2 — ' +
      'merci de votre patience, café ☕ inclus.',
    scheduledFor: start3.toISOString(),
    scheduledUntil: new Date(start3.getTime() + 4 * 60 * MINUTE).toISOString(),
    componentIds: [f.components.api.id, f.components.eu.id],
  })

  const snapshot = await publicPages.snapshot(f.page.id)
  if (snapshot === undefined) throw new Error('the page has no snapshot')
  const find = (list: Incident[], id: string): Incident => {
    const found = list.find((i) => i.id === id)
    if (found === undefined) throw new Error(`incident ${id} missing from the snapshot`)
    return found
  }
  return {
    f,
    snapshot,
    xssComponent,
    ampComponent,
    resolved: find(snapshot.incidents, resolved.id),
    open: find(snapshot.incidents, open.id),
    completed: find(snapshot.maintenances, completed.id),
    active: find(snapshot.maintenances, active.id),
    upcoming: find(snapshot.maintenances, upcoming.id),
  }
}
