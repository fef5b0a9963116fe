import { isIncidentOpen } from '../../domain/pages/status.js'
import { formatInZone } from '../../domain/pages/time-zone.js'
import type {
  AffectedComponent,
  Component,
  ComponentStatus,
  Incident,
  IncidentUpdate,
  Indicator,
  PageSnapshot,
} from '../../domain/pages/types.js'

/**
 * Atlassian Statuspage's public v2 API (`/api/v2/*.json`), field for field and in the same key
 * order, so that the many clients, widgets and monitors written against Statuspage read a Candor
 * page unchanged. Every function is pure: a snapshot in, a plain object out.
 */

export interface PublicContext {
  /** Canonical absolute URL of the page, e.g. https://status.acme.com or http://host/p/acme. */
  pageUrl: string
  now: Date
}

export interface StatuspagePage {
  id: string
  name: string
  url: string
  time_zone: string
  updated_at: string
}

export interface StatuspageComponent {
  id: string
  name: string
  status: ComponentStatus
  created_at: string
  updated_at: string
  position: number
  description: string | null
  showcase: boolean
  start_date: string | null
  group_id: string | null
  page_id: string
  group: boolean
  only_show_if_degraded: boolean
  /** Only on groups: the ids of the group's components. */
  components?: string[]
}

export interface StatuspageAffectedComponent {
  code: string
  name: string
  old_status: ComponentStatus
  new_status: ComponentStatus
}

export interface StatuspageIncidentUpdate {
  id: string
  status: string
  body: string
  incident_id: string
  created_at: string
  updated_at: string
  display_at: string
  affected_components: StatuspageAffectedComponent[] | null
  deliver_notifications: boolean
  custom_tweet: null
  tweet_id: null
}

interface StatuspageIncidentBase {
  id: string
  name: string
  status: string
  created_at: string
  updated_at: string
  monitoring_at: string | null
  resolved_at: string | null
  impact: string
  shortlink: string
  started_at: string
  page_id: string
  incident_updates: StatuspageIncidentUpdate[]
  components: StatuspageComponent[]
}

export interface StatuspageIncident extends StatuspageIncidentBase {
  reminder_intervals: null
}

/** Maintenances carry their window after the components and, unlike incidents, no reminders. */
export interface StatuspageMaintenance extends StatuspageIncidentBase {
  scheduled_for: string | null
  scheduled_until: string | null
}

export interface StatuspageStatus {
  indicator: Indicator
  description: string
}

export interface SummaryJson {
  page: StatuspagePage
  components: StatuspageComponent[]
  incidents: StatuspageIncident[]
  scheduled_maintenances: StatuspageMaintenance[]
  status: StatuspageStatus
}

/** Statuspage lists 50 incidents and 50 maintenances on its history endpoints. */
export const HISTORY_LIMIT = 50

/**
 * Candor has statuses Statuspage does not: a false alarm is reported as resolved, so that clients
 * with a closed list of statuses keep working.
 */
function statuspageStatus(status: Incident['status']): string {
  return status === 'false_alarm' ? 'resolved' : status
}

function stripTrailingSlash(url: string): string {
  return url.replace(/\/+$/, '')
}

export function incidentUrl(pageUrl: string, incidentId: string): string {
  return `${stripTrailingSlash(pageUrl)}/incidents/${incidentId}`
}

/** Serialises one snapshot; positions and group membership are computed once per call. */
class Serializer {
  private readonly timeZone: string
  private readonly positions = new Map<string, number>()
  private readonly children = new Map<string, string[]>()
  private readonly byId = new Map<string, Component>()
  private readonly componentCache = new Map<string, StatuspageComponent>()

  constructor(
    private readonly snapshot: PageSnapshot,
    private readonly ctx: PublicContext,
  ) {
    this.timeZone = snapshot.page.timeZone
    const siblingCounts = new Map<string | null, number>()
    for (const component of snapshot.components) {
      this.byId.set(component.id, component)
      const position = (siblingCounts.get(component.groupId) ?? 0) + 1
      siblingCounts.set(component.groupId, position)
      this.positions.set(component.id, position)
      if (component.isGroup && !this.children.has(component.id)) this.children.set(component.id, [])
    }
    for (const component of snapshot.components) {
      if (component.groupId === null) continue
      const list = this.children.get(component.groupId)
      if (list === undefined) this.children.set(component.groupId, [component.id])
      else list.push(component.id)
    }
  }

  time(date: Date): string {
    return formatInZone(date, this.timeZone)
  }

  timeOrNull(date: Date | null): string | null {
    return date === null ? null : this.time(date)
  }

  page(): StatuspagePage {
    const { page } = this.snapshot
    return {
      id: page.id,
      name: page.name,
      url: this.ctx.pageUrl,
      time_zone: page.timeZone,
      updated_at: this.time(page.updatedAt),
    }
  }

  component(component: Component): StatuspageComponent {
    const cached = this.componentCache.get(component.id)
    if (cached !== undefined) return cached
    const json: StatuspageComponent = {
      id: component.id,
      name: component.name,
      status: component.status,
      created_at: this.time(component.createdAt),
      updated_at: this.time(component.updatedAt),
      position: this.positions.get(component.id) ?? component.position,
      description: component.description,
      showcase: component.showcase,
      start_date: component.startDate,
      group_id: component.groupId,
      page_id: component.pageId,
      group: component.isGroup,
      only_show_if_degraded: component.onlyShowIfDegraded,
    }
    if (component.isGroup) json.components = [...(this.children.get(component.id) ?? [])]
    this.componentCache.set(component.id, json)
    return json
  }

  components(): StatuspageComponent[] {
    return this.snapshot.components.map((c) => this.component(c))
  }

  /** The incident's components, full objects in the page's display order. */
  incidentComponents(incident: Incident): StatuspageComponent[] {
    const ids = new Set(incident.componentIds)
    return this.snapshot.components.filter((c) => ids.has(c.id)).map((c) => this.component(c))
  }

  affected(list: AffectedComponent[] | null): StatuspageAffectedComponent[] | null {
    if (list === null) return null
    return list.map((a) => ({
      code: a.code,
      name: a.name,
      old_status: a.oldStatus,
      new_status: a.newStatus,
    }))
  }

  update(update: IncidentUpdate): StatuspageIncidentUpdate {
    return {
      id: update.id,
      status: statuspageStatus(update.status),
      body: update.body,
      incident_id: update.incidentId,
      created_at: this.time(update.createdAt),
      updated_at: this.time(update.updatedAt),
      display_at: this.time(update.displayAt),
      affected_components: this.affected(update.affectedComponents),
      deliver_notifications: update.deliverNotifications,
      custom_tweet: null,
      tweet_id: null,
    }
  }

  private base(incident: Incident): StatuspageIncidentBase {
    return {
      id: incident.id,
      name: incident.name,
      status: statuspageStatus(incident.status),
      created_at: this.time(incident.createdAt),
      updated_at: this.time(incident.updatedAt),
      monitoring_at: this.timeOrNull(incident.monitoringAt),
      resolved_at: this.timeOrNull(incident.resolvedAt),
      impact: incident.impact,
      shortlink: incidentUrl(this.ctx.pageUrl, incident.id),
      started_at: this.time(incident.startedAt),
      page_id: incident.pageId,
      incident_updates: incident.updates.map((u) => this.update(u)),
      components: this.incidentComponents(incident),
    }
  }

  incident(incident: Incident): StatuspageIncident {
    return { ...this.base(incident), reminder_intervals: null }
  }

  maintenance(maintenance: Incident): StatuspageMaintenance {
    return {
      ...this.base(maintenance),
      scheduled_for: this.timeOrNull(maintenance.scheduledFor),
      scheduled_until: this.timeOrNull(maintenance.scheduledUntil),
    }
  }

  status(): StatuspageStatus {
    return {
      indicator: this.snapshot.status.indicator,
      description: this.snapshot.status.description,
    }
  }
}

function incidentsOf(snapshot: PageSnapshot): Incident[] {
  return snapshot.incidents
    .filter((i) => i.kind === 'incident')
    .sort((a, b) => b.startedAt.getTime() - a.startedAt.getTime())
}

function maintenancesOf(snapshot: PageSnapshot): Incident[] {
  return snapshot.maintenances.filter((m) => m.kind === 'maintenance')
}

const windowStart = (m: Incident): number => (m.scheduledFor ?? m.startedAt).getTime()

/** Newest window first, as scheduled-maintenances.json lists them. */
function newestFirst(list: Incident[]): Incident[] {
  return [...list].sort((a, b) => windowStart(b) - windowStart(a))
}

/** Soonest window first, as summary.json and upcoming.json list them. */
function soonestFirst(list: Incident[]): Incident[] {
  return [...list].sort((a, b) => windowStart(a) - windowStart(b))
}

const isUpcoming = (m: Incident): boolean => m.status === 'scheduled'
const isActive = (m: Incident): boolean => m.status === 'in_progress' || m.status === 'verifying'

/** GET /api/v2/summary.json */
export function summaryJson(snapshot: PageSnapshot, ctx: PublicContext): SummaryJson {
  const s = new Serializer(snapshot, ctx)
  return {
    page: s.page(),
    components: s.components(),
    incidents: incidentsOf(snapshot)
      .filter(isIncidentOpen)
      .map((i) => s.incident(i)),
    scheduled_maintenances: soonestFirst(
      maintenancesOf(snapshot).filter((m) => isUpcoming(m) || isActive(m)),
    ).map((m) => s.maintenance(m)),
    status: s.status(),
  }
}

/** GET /api/v2/status.json */
export function statusJson(
  snapshot: PageSnapshot,
  ctx: PublicContext,
): { page: StatuspagePage; status: StatuspageStatus } {
  const s = new Serializer(snapshot, ctx)
  return { page: s.page(), status: s.status() }
}

/** GET /api/v2/components.json */
export function componentsJson(
  snapshot: PageSnapshot,
  ctx: PublicContext,
): { page: StatuspagePage; components: StatuspageComponent[] } {
  const s = new Serializer(snapshot, ctx)
  return { page: s.page(), components: s.components() }
}

/** GET /api/v2/incidents.json: the 50 most recent incidents, open or not. */
export function incidentsJson(
  snapshot: PageSnapshot,
  ctx: PublicContext,
): { page: StatuspagePage; incidents: StatuspageIncident[] } {
  const s = new Serializer(snapshot, ctx)
  return {
    page: s.page(),
    incidents: incidentsOf(snapshot)
      .slice(0, HISTORY_LIMIT)
      .map((i) => s.incident(i)),
  }
}

/** GET /api/v2/incidents/unresolved.json */
export function unresolvedIncidentsJson(
  snapshot: PageSnapshot,
  ctx: PublicContext,
): { page: StatuspagePage; incidents: StatuspageIncident[] } {
  const s = new Serializer(snapshot, ctx)
  return {
    page: s.page(),
    incidents: incidentsOf(snapshot)
      .filter(isIncidentOpen)
      .map((i) => s.incident(i)),
  }
}

/** GET /api/v2/scheduled-maintenances.json: the 50 most recent, completed ones included. */
export function scheduledMaintenancesJson(
  snapshot: PageSnapshot,
  ctx: PublicContext,
): { page: StatuspagePage; scheduled_maintenances: StatuspageMaintenance[] } {
  const s = new Serializer(snapshot, ctx)
  return {
    page: s.page(),
    scheduled_maintenances: newestFirst(maintenancesOf(snapshot))
      .slice(0, HISTORY_LIMIT)
      .map((m) => s.maintenance(m)),
  }
}

/** GET /api/v2/scheduled-maintenances/upcoming.json: status scheduled. */
export function upcomingMaintenancesJson(
  snapshot: PageSnapshot,
  ctx: PublicContext,
): { page: StatuspagePage; scheduled_maintenances: StatuspageMaintenance[] } {
  const s = new Serializer(snapshot, ctx)
  return {
    page: s.page(),
    scheduled_maintenances: soonestFirst(maintenancesOf(snapshot).filter(isUpcoming)).map((m) =>
      s.maintenance(m),
    ),
  }
}

/** GET /api/v2/scheduled-maintenances/active.json: status in_progress or verifying. */
export function activeMaintenancesJson(
  snapshot: PageSnapshot,
  ctx: PublicContext,
): { page: StatuspagePage; scheduled_maintenances: StatuspageMaintenance[] } {
  const s = new Serializer(snapshot, ctx)
  return {
    page: s.page(),
    scheduled_maintenances: soonestFirst(maintenancesOf(snapshot).filter(isActive)).map((m) =>
      s.maintenance(m),
    ),
  }
}

const JSON_UNSAFE: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
}

/**
 * JSON text for a response body. `<`, `>` and `&` are written as \u escapes, as Statuspage (Rails)
 * writes them: the parsed value is identical, and the bytes cannot be sniffed or embedded as HTML.
 */
export function renderJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => JSON_UNSAFE[c] ?? c)
}
