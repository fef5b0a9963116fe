import type { Component, ComponentStatus, Impact, Incident, Indicator } from './types.js'

const COMPONENT_SEVERITY: Record<ComponentStatus, number> = {
  operational: 0,
  under_maintenance: 1,
  degraded_performance: 2,
  partial_outage: 3,
  major_outage: 4,
}

export function worstComponentStatus(statuses: Iterable<ComponentStatus>): ComponentStatus {
  let worst: ComponentStatus = 'operational'
  for (const status of statuses)
    if (COMPONENT_SEVERITY[status] > COMPONENT_SEVERITY[worst]) worst = status
  return worst
}

/** A group shows the worst status of its components, as on Statuspage. */
export function groupStatus(group: Component, components: readonly Component[]): ComponentStatus {
  const children = components.filter((c) => c.groupId === group.id)
  return children.length === 0 ? group.status : worstComponentStatus(children.map((c) => c.status))
}

const IMPACT_RANK: Record<Impact, number> = { none: 0, minor: 1, major: 2, critical: 3 }
const STATUS_IMPACT: Record<ComponentStatus, Impact> = {
  operational: 'none',
  under_maintenance: 'none',
  degraded_performance: 'minor',
  partial_outage: 'major',
  major_outage: 'critical',
}

export const INDICATOR_DESCRIPTIONS: Record<Indicator, string> = {
  none: 'All Systems Operational',
  minor: 'Partially Degraded Service',
  major: 'Partial System Outage',
  critical: 'Major System Outage',
  maintenance: 'Service Under Maintenance',
}

/**
 * The page's overall status: the worst of its components' statuses and its unresolved incidents'
 * impacts; "maintenance" when nothing is worse and a maintenance is in progress.
 */
export function pageIndicator(
  components: readonly Component[],
  incidents: readonly Incident[],
  maintenances: readonly Incident[],
): Indicator {
  const impacts: Impact[] = [
    ...components.filter((c) => !c.isGroup).map((c) => STATUS_IMPACT[c.status]),
    ...incidents
      .filter((i) => isIncidentOpen(i) && i.impact !== 'maintenance')
      .map((i) => i.impact as Impact),
  ]
  const worst = impacts.reduce<Impact>((a, b) => (IMPACT_RANK[b] > IMPACT_RANK[a] ? b : a), 'none')
  if (worst !== 'none') return worst
  const maintenanceActive =
    maintenances.some((m) => m.status === 'in_progress' || m.status === 'verifying') ||
    components.some((c) => !c.isGroup && c.status === 'under_maintenance')
  return maintenanceActive ? 'maintenance' : 'none'
}

export function isIncidentOpen(incident: Pick<Incident, 'status'>): boolean {
  return (
    incident.status !== 'resolved' &&
    incident.status !== 'false_alarm' &&
    incident.status !== 'completed'
  )
}
