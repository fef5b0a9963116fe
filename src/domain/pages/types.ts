export const COMPONENT_STATUSES = [
  'operational',
  'degraded_performance',
  'partial_outage',
  'major_outage',
  'under_maintenance',
] as const
export type ComponentStatus = (typeof COMPONENT_STATUSES)[number]

export const INCIDENT_STATUSES = [
  'investigating',
  'identified',
  'monitoring',
  'resolved',
  'false_alarm',
] as const
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number]

export const MAINTENANCE_STATUSES = ['scheduled', 'in_progress', 'verifying', 'completed'] as const
export type MaintenanceStatus = (typeof MAINTENANCE_STATUSES)[number]

export const IMPACTS = ['none', 'minor', 'major', 'critical'] as const
export type Impact = (typeof IMPACTS)[number]

export type Indicator = Impact | 'maintenance'

export const VISIBILITIES = ['public', 'team', 'password', 'ip'] as const
export type Visibility = (typeof VISIBILITIES)[number]

export const LOCALES = ['en', 'fr'] as const
export type Locale = (typeof LOCALES)[number]

export type IncidentKind = 'incident' | 'maintenance'

export interface Page {
  id: string
  accountId: string
  name: string
  slug: string
  timeZone: string
  locale: Locale
  visibility: Visibility
  hasPassword: boolean
  ipAllowlist: string[]
  brandColor: string
  customCss: string
  hasLogo: boolean
  supportUrl: string | null
  homepageUrl: string | null
  customDomain: string | null
  createdAt: Date
  updatedAt: Date
}

export interface Component {
  id: string
  pageId: string
  groupId: string | null
  isGroup: boolean
  name: string
  description: string | null
  status: ComponentStatus
  position: number
  onlyShowIfDegraded: boolean
  showcase: boolean
  startDate: string | null
  createdAt: Date
  updatedAt: Date
}

export interface AffectedComponent {
  code: string
  name: string
  oldStatus: ComponentStatus
  newStatus: ComponentStatus
}

export interface IncidentUpdate {
  id: string
  incidentId: string
  status: IncidentStatus | MaintenanceStatus
  body: string
  displayAt: Date
  deliverNotifications: boolean
  affectedComponents: AffectedComponent[] | null
  createdAt: Date
  updatedAt: Date
}

export interface Incident {
  id: string
  pageId: string
  kind: IncidentKind
  name: string
  status: IncidentStatus | MaintenanceStatus
  impact: Impact | 'maintenance'
  startedAt: Date
  monitoringAt: Date | null
  resolvedAt: Date | null
  scheduledFor: Date | null
  scheduledUntil: Date | null
  autoStart: boolean
  autoComplete: boolean
  postmortemBody: string | null
  postmortemPublishedAt: Date | null
  componentIds: string[]
  updates: IncidentUpdate[]
  createdAt: Date
  updatedAt: Date
}

export interface UptimeDay {
  /** YYYY-MM-DD in the page's time zone. */
  date: string
  /** Seconds of the day spent in each non-operational status. */
  outageSeconds: Partial<Record<ComponentStatus, number>>
  /** The worst status seen that day, for the colour of the bar. */
  worst: ComponentStatus
  /** Incident ids that touched the component that day. */
  incidentIds: string[]
  /** Whether the day lies before the component existed or in the future. */
  hasData: boolean
}

export interface ComponentUptime {
  componentId: string
  /** 0–100, two decimals; null when there is no data in the window. */
  percent: number | null
  days: UptimeDay[]
}

/** Everything a public surface of one page needs, loaded once per change. */
export interface PageSnapshot {
  page: Page
  /** Groups and components in display order: groups carry their children's ids. */
  components: Component[]
  /** Incidents (kind 'incident'), newest first, at most 50, plus every unresolved one. */
  incidents: Incident[]
  /** Maintenances, newest scheduled_for first: upcoming, active and the recent past. */
  maintenances: Incident[]
  uptime: ComponentUptime[]
  status: { indicator: Indicator; description: string }
  /** Bumped on every change: ETags and cross-process invalidation key off it. */
  version: number
  generatedAt: Date
}
