import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { INDICATOR_DESCRIPTIONS } from '../../src/domain/pages/status.js'
import type { PageSnapshot } from '../../src/domain/pages/types.js'
import {
  activeMaintenancesJson,
  componentsJson,
  incidentsJson,
  renderJson,
  scheduledMaintenancesJson,
  statusJson,
  summaryJson,
  unresolvedIncidentsJson,
  upcomingMaintenancesJson,
  type PublicContext,
  type StatuspageComponent,
} from '../../src/http/public/statuspage-json.js'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import { testDialects } from '../helpers/test-db.js'
import { buildScenario, PAGE_URL, XSS_BODY, XSS_TITLE, type Scenario } from './scenario.js'
import {
  compareShape,
  fixture,
  objectsOf,
  upgradeKeys,
  type Json,
  type Kind,
  type ShapeOptions,
} from './statuspage-shape.js'

const ID = /^[a-z0-9]{12}$/
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}([+-]\d{2}:\d{2}|Z)$/
const INDICATORS = ['none', 'minor', 'major', 'critical', 'maintenance']
const COMPONENT_STATUSES = [
  'operational',
  'degraded_performance',
  'partial_outage',
  'major_outage',
  'under_maintenance',
]
const TIMESTAMP_FIELDS = [
  'updated_at',
  'created_at',
  'monitoring_at',
  'resolved_at',
  'started_at',
  'display_at',
  'scheduled_for',
  'scheduled_until',
]
const ID_FIELDS = ['id', 'page_id', 'incident_id', 'code']

/** JSON as a client sees it: what renderJson sends, parsed back. */
function wire(value: unknown): Json {
  return JSON.parse(renderJson(value)) as Json
}

const ORDERED: ShapeOptions = { ordered: true, upgrade: false }
const UPGRADED: ShapeOptions = { ordered: true, upgrade: true }
const SETS: ShapeOptions = { ordered: false, upgrade: false }

describe('Statuspage schema of the fixtures themselves', () => {
  it('finds every capture and agrees with the documented schema changes', () => {
    const twilio = fixture('twilio-summary.json') as { components: Record<string, Json>[] }
    const github = fixture('github-incidents.json') as {
      incidents: { components: Record<string, Json>[] }[]
    }
    const discord = fixture('discord-unresolved.json') as { incidents: Record<string, Json>[] }
    const leaf2020 = twilio.components.find((c) => c['group'] === false)!
    const group2020 = twilio.components.find((c) => c['group'] === true)!
    const leafNow = github.incidents.flatMap((i) => i.components)[0]!
    // The 2020 component plus start_date is the current component...
    expect(upgradeKeys('component', Object.keys(leaf2020))).toEqual(Object.keys(leafNow))
    // ...a group is a component with its children's ids last...
    expect(Object.keys(group2020)).toEqual([...Object.keys(leaf2020), 'components'])
    // ...and the 2019 incident plus reminder_intervals is the current incident.
    expect(upgradeKeys('incident', Object.keys(discord.incidents[0]!))).toEqual(
      Object.keys(github.incidents[0]!),
    )
  })
})

describe.each(testDialects)('Statuspage v2 JSON (%s)', (dialect) => {
  let t: TestApp
  let s: Scenario
  let snapshot: PageSnapshot
  let ctx: PublicContext
  const checked = new Set<Kind>()

  beforeAll(async () => {
    t = await buildTestApp(dialect)
    s = await buildScenario(t)
    snapshot = s.snapshot
    ctx = { pageUrl: PAGE_URL, now: t.clock.now() }
  })
  afterAll(async () => {
    await t.close()
  })

  function expectShape(actual: unknown, expected: Json, options: ShapeOptions): void {
    expect(compareShape(actual, expected, { ...options, checked })).toEqual([])
  }

  /** Ids, timestamps, enums and nulls of every object in a payload. */
  function expectValues(payload: Json): void {
    const problems: string[] = []
    for (const { kind, path, object } of objectsOf(payload)) {
      for (const field of ID_FIELDS) {
        const value = object[field]
        if (value !== undefined && (typeof value !== 'string' || !ID.test(value)))
          problems.push(`${path}.${field} = ${JSON.stringify(value)}`)
      }
      for (const field of TIMESTAMP_FIELDS) {
        const value = object[field]
        if (
          value !== undefined &&
          value !== null &&
          (typeof value !== 'string' || !TIMESTAMP.test(value))
        )
          problems.push(`${path}.${field} = ${JSON.stringify(value)}`)
      }
      if (kind === 'component' || kind === 'group') {
        if (!COMPONENT_STATUSES.includes(object['status'] as string))
          problems.push(`${path}.status`)
        const groupId = object['group_id']
        if (groupId !== null && !ID.test(groupId as string)) problems.push(`${path}.group_id`)
        const startDate = object['start_date']
        if (startDate !== null && !/^\d{4}-\d{2}-\d{2}$/.test(startDate as string))
          problems.push(`${path}.start_date`)
      }
      if (kind === 'group') {
        for (const id of object['components'] as string[])
          if (!ID.test(id)) problems.push(`${path}.components has ${id}`)
      }
      if (kind === 'affected') {
        for (const field of ['old_status', 'new_status'])
          if (!COMPONENT_STATUSES.includes(object[field] as string))
            problems.push(`${path}.${field}`)
      }
      if (kind === 'update') {
        if (object['custom_tweet'] !== null || object['tweet_id'] !== null)
          problems.push(`${path} tweets`)
      }
      if (kind === 'incident') {
        if (object['reminder_intervals'] !== null) problems.push(`${path}.reminder_intervals`)
        if (object['shortlink'] !== `${PAGE_URL}/incidents/${object['id'] as string}`)
          problems.push(`${path}.shortlink`)
      }
      if (kind === 'maintenance' && object['impact'] !== 'maintenance')
        problems.push(`${path}.impact`)
      if (kind === 'page') {
        if (object['url'] !== PAGE_URL) problems.push(`${path}.url`)
        if (object['time_zone'] !== 'America/Los_Angeles') problems.push(`${path}.time_zone`)
      }
      if (kind === 'status') {
        const indicator = object['indicator'] as keyof typeof INDICATOR_DESCRIPTIONS
        if (!INDICATORS.includes(indicator)) problems.push(`${path}.indicator`)
        if (object['description'] !== INDICATOR_DESCRIPTIONS[indicator])
          problems.push(`${path}.description`)
      }
    }
    expect(problems).toEqual([])
  }

  it('summary.json has the shape of a real summary', () => {
    const json = wire(summaryJson(snapshot, ctx))
    // Twilio's capture is from 2020: start_date and reminder_intervals came later.
    expectShape(json, fixture('twilio-summary.json'), UPGRADED)
    expectValues(json)
  })

  it('summary.json lists open incidents and upcoming and active maintenances, soonest first', () => {
    const json = summaryJson(snapshot, ctx)
    expect(json.incidents.map((i) => i.id)).toEqual([s.open.id])
    expect(json.scheduled_maintenances.map((m) => [m.id, m.status])).toEqual([
      [s.active.id, 'in_progress'],
      [s.upcoming.id, 'scheduled'],
    ])
    expect(json.status).toEqual({ indicator: 'major', description: 'Partial System Outage' })
    expect(Object.keys(json)).toEqual([
      'page',
      'components',
      'incidents',
      'scheduled_maintenances',
      'status',
    ])
  })

  it('status.json is the page and the status, as Discord served it', () => {
    const json = wire(statusJson(snapshot, ctx))
    expectShape(json, fixture('discord-status.json'), ORDERED)
    expectValues(json)
    expect(json).toMatchObject({
      page: {
        id: s.f.page.id,
        name: s.f.page.name,
        url: PAGE_URL,
        time_zone: 'America/Los_Angeles',
      },
      status: { indicator: 'major', description: 'Partial System Outage' },
    })
  })

  it('components.json has groups, children and positions as Statuspage has them', () => {
    const json = wire(componentsJson(snapshot, ctx))
    // Discord's capture is from 2019: start_date came later.
    expectShape(json, fixture('discord-components.json'), UPGRADED)
    expectValues(json)

    const { components } = componentsJson(snapshot, ctx)
    const byId = new Map(components.map((c) => [c.id, c]))
    const groups = components.filter((c) => c.group)
    expect(groups.map((g) => g.name)).toEqual(['Core', 'Regions'])
    for (const group of groups) {
      expect(group.group_id).toBeNull()
      const children = components.filter((c) => c.group_id === group.id)
      expect(group.components).toEqual(children.map((c) => c.id))
      for (const id of group.components ?? []) expect(byId.get(id)?.group_id).toBe(group.id)
      // Positions restart inside each group.
      expect(children.map((c) => c.position)).toEqual(children.map((_, i) => i + 1))
    }
    const topLevel = components.filter((c) => c.group_id === null)
    expect(topLevel.map((c) => c.position)).toEqual(topLevel.map((_, i) => i + 1))
    for (const c of components.filter((c) => !c.group)) expect('components' in c).toBe(false)
    expect(components).toHaveLength(8)

    // A group shows its worst child's status.
    const core = byId.get(s.f.groups.core.id)!
    const regions = byId.get(s.f.groups.regions.id)!
    expect(byId.get(s.f.components.api.id)?.status).toBe('operational')
    expect(core.status).toBe('operational')
    expect(byId.get(s.f.components.eu.id)?.status).toBe('degraded_performance')
    expect(regions.status).toBe('degraded_performance')
    const billing = byId.get(s.ampComponent.id)!
    expect(billing).toMatchObject({
      description: 'Invoices & <payments>',
      start_date: '2026-01-15',
      group_id: null,
      showcase: true,
      only_show_if_degraded: false,
      status: 'under_maintenance',
    })
  })

  it('incidents.json has the shape of GitHub’s current incidents.json', () => {
    const json = wire(incidentsJson(snapshot, ctx))
    expectShape(json, fixture('github-incidents.json'), ORDERED)
    expectValues(json)
  })

  it('incidents.json lists incidents newest first with their updates and components', () => {
    const json = incidentsJson(snapshot, ctx)
    expect(json.incidents.map((i) => [i.id, i.status])).toEqual([
      [s.open.id, 'monitoring'],
      [s.resolved.id, 'resolved'],
    ])
    const [open, resolved] = json.incidents
    expect(open).toMatchObject({
      name: XSS_TITLE,
      impact: 'major',
      resolved_at: null,
      page_id: s.f.page.id,
      shortlink: `${PAGE_URL}/incidents/${s.open.id}`,
      reminder_intervals: null,
    })
    expect(open!.monitoring_at).toMatch(TIMESTAMP)
    expect(resolved!.resolved_at).toMatch(TIMESTAMP)
    expect(resolved!.monitoring_at).toBeNull()

    // Updates newest first; the body is the text as written.
    expect(open!.incident_updates.map((u) => u.status)).toEqual([
      'monitoring',
      'identified',
      'investigating',
    ])
    const first = open!.incident_updates[2]!
    expect(first.body).toBe(XSS_BODY)
    expect(first.incident_id).toBe(s.open.id)
    expect(first.deliver_notifications).toBe(true)
    expect(first.affected_components).toEqual([
      {
        code: s.f.components.api.id,
        name: 'Core - API',
        old_status: 'operational',
        new_status: 'partial_outage',
      },
      {
        code: s.f.components.eu.id,
        name: 'Regions - EU',
        old_status: 'operational',
        new_status: 'degraded_performance',
      },
    ])
    expect(open!.incident_updates[1]!.affected_components).toBeNull()
    expect(open!.incident_updates[0]!.affected_components).toEqual([
      {
        code: s.f.components.api.id,
        name: 'Core - API',
        old_status: 'partial_outage',
        new_status: 'operational',
      },
    ])
    // Components are full objects, the same as in components.json.
    const components = componentsJson(snapshot, ctx).components
    const full = (id: string): StatuspageComponent | undefined =>
      components.find((c) => c.id === id)
    expect(open!.components).toEqual([full(s.f.components.api.id), full(s.f.components.eu.id)])
    expect(resolved!.components).toEqual([full(s.f.components.web.id)])
  })

  it('timestamps are in the page’s time zone', () => {
    const json = incidentsJson(snapshot, ctx)
    const open = json.incidents[0]!
    expect(open.started_at).toMatch(/-0[78]:00$/)
    expect(new Date(open.started_at).getTime()).toBe(s.open.startedAt.getTime())
    expect(new Date(open.incident_updates[0]!.display_at).getTime()).toBe(
      s.open.updates[0]!.displayAt.getTime(),
    )
  })

  it('incidents.json keeps the 50 most recent', () => {
    const many: PageSnapshot = {
      ...snapshot,
      incidents: Array.from({ length: 60 }, (_, i) => ({
        ...s.resolved,
        id: `inc${String(i).padStart(9, '0')}`,
        startedAt: new Date(s.resolved.startedAt.getTime() - i * 60_000),
      })).reverse(),
    }
    const json = incidentsJson(many, ctx)
    expect(json.incidents).toHaveLength(50)
    expect(json.incidents[0]!.id).toBe('inc000000000')
    expect(json.incidents[49]!.id).toBe('inc000000049')
  })

  it('incidents/unresolved.json has the shape of a real one and lists only open incidents', () => {
    const json = wire(unresolvedIncidentsJson(snapshot, ctx))
    expectShape(json, fixture('discord-unresolved.json'), UPGRADED)
    // Discord's open incident has no components or affected_components: compare with GitHub too.
    expectShape(json, fixture('github-incidents.json'), ORDERED)
    expectValues(json)
    const incidents = unresolvedIncidentsJson(snapshot, ctx).incidents
    expect(incidents.map((i) => i.id)).toEqual([s.open.id])
    for (const incident of incidents) expect(incident.resolved_at).toBeNull()
  })

  it('scheduled-maintenances.json has the set of keys of Claude’s, and Twilio’s order', () => {
    const json = wire(scheduledMaintenancesJson(snapshot, ctx))
    // The Claude capture has sorted keys: sets only. Its maintenances have no reminder_intervals.
    expectShape(json, fixture('claude-scheduled-maintenances.json'), SETS)
    // The order of a maintenance's keys is that of the live API (Twilio's summary).
    const twilio = fixture('twilio-summary.json') as { page: Json; scheduled_maintenances: Json }
    expectShape(
      json,
      { page: twilio.page, scheduled_maintenances: twilio.scheduled_maintenances },
      UPGRADED,
    )
    expectValues(json)
    const list = scheduledMaintenancesJson(snapshot, ctx).scheduled_maintenances
    // Newest window first, completed ones included.
    expect(list.map((m) => [m.id, m.status])).toEqual([
      [s.upcoming.id, 'scheduled'],
      [s.active.id, 'in_progress'],
      [s.completed.id, 'completed'],
    ])
    const completed = list[2]!
    expect(completed.incident_updates.map((u) => u.status)).toEqual([
      'completed',
      'in_progress',
      'scheduled',
    ])
    expect(completed.resolved_at).toMatch(TIMESTAMP)
    expect(completed.scheduled_for).toMatch(TIMESTAMP)
    expect(new Date(completed.scheduled_for!).getTime()).toBe(s.completed.scheduledFor!.getTime())
    expect(new Date(completed.scheduled_until!).getTime()).toBe(
      s.completed.scheduledUntil!.getTime(),
    )
    expect(completed.components.map((c) => c.id)).toEqual([s.f.components.us.id])
    expect('reminder_intervals' in completed).toBe(false)
  })

  it('scheduled-maintenances/upcoming.json lists only scheduled ones', () => {
    const json = wire(upcomingMaintenancesJson(snapshot, ctx))
    const twilio = fixture('twilio-summary.json') as { page: Json; scheduled_maintenances: Json }
    expectShape(
      json,
      { page: twilio.page, scheduled_maintenances: twilio.scheduled_maintenances },
      UPGRADED,
    )
    expectValues(json)
    const list = upcomingMaintenancesJson(snapshot, ctx).scheduled_maintenances
    expect(list.map((m) => m.id)).toEqual([s.upcoming.id])
    expect(list.every((m) => m.status === 'scheduled')).toBe(true)
    expect(list[0]!.components.map((c) => c.id)).toEqual([
      s.f.components.api.id,
      s.f.components.eu.id,
    ])
  })

  it('scheduled-maintenances/active.json lists only those in progress or verifying', () => {
    const json = wire(activeMaintenancesJson(snapshot, ctx))
    const twilio = fixture('twilio-summary.json') as { page: Json; scheduled_maintenances: Json }
    expectShape(
      json,
      { page: twilio.page, scheduled_maintenances: twilio.scheduled_maintenances },
      UPGRADED,
    )
    expectValues(json)
    expect(activeMaintenancesJson(snapshot, ctx).scheduled_maintenances.map((m) => m.id)).toEqual([
      s.active.id,
    ])
    const verifying: PageSnapshot = {
      ...snapshot,
      maintenances: snapshot.maintenances.map((m) =>
        m.id === s.upcoming.id ? { ...m, status: 'verifying' as const } : m,
      ),
    }
    expect(activeMaintenancesJson(verifying, ctx).scheduled_maintenances.map((m) => m.id)).toEqual([
      s.active.id,
      s.upcoming.id,
    ])
    expect(upcomingMaintenancesJson(verifying, ctx).scheduled_maintenances).toEqual([])
  })

  it('every kind of object was compared with a real one', () => {
    expect([...checked].sort()).toEqual(
      [
        'affected',
        'component',
        'envelope',
        'group',
        'incident',
        'maintenance',
        'page',
        'status',
        'update',
      ].sort(),
    )
  })

  it('renderJson writes JSON that parses back to the same value, with markup escaped', () => {
    const value = summaryJson(snapshot, ctx)
    const text = renderJson(value)
    expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)))
    expect(text).not.toMatch(/[<>]/)
    expect(text).toContain('\\u003cscript\\u003e')
    expect(renderJson({ a: 'x & y\u2028' })).toBe('{"a":"x \\u0026 y\\u2028"}')
  })

  it('an empty page has empty lists and no status problems', () => {
    const empty: PageSnapshot = {
      ...snapshot,
      components: [],
      incidents: [],
      maintenances: [],
      status: { indicator: 'none', description: 'All Systems Operational' },
    }
    expect(summaryJson(empty, ctx)).toMatchObject({
      components: [],
      incidents: [],
      scheduled_maintenances: [],
      status: { indicator: 'none', description: 'All Systems Operational' },
    })
    expect(upcomingMaintenancesJson(empty, ctx).scheduled_maintenances).toEqual([])
    expect(activeMaintenancesJson(empty, ctx).scheduled_maintenances).toEqual([])
  })
})
