import { addDays, startOfZonedDay, zonedDate } from './time-zone.js'
import type { Component, ComponentStatus, ComponentUptime, UptimeDay } from './types.js'

export interface StatusChange {
  componentId: string
  status: ComponentStatus
  changedAt: Date
  incidentId: string | null
}

export const UPTIME_DAYS = 90

/** Time in these statuses counts against uptime (Sorry's formula: impact time over total time). */
const DOWNTIME_STATUSES: readonly ComponentStatus[] = ['partial_outage', 'major_outage']

const SEVERITY: Record<ComponentStatus, number> = {
  operational: 0,
  under_maintenance: 1,
  degraded_performance: 2,
  partial_outage: 3,
  major_outage: 4,
}

/**
 * Daily bars and the uptime percentage over the last `days` days in the page's time zone,
 * from the component's status changes (sorted or not). Before a component existed there is no data.
 */
export function computeUptime(
  component: Pick<Component, 'id' | 'createdAt' | 'startDate' | 'status'>,
  changes: readonly StatusChange[],
  timeZone: string,
  now: Date,
  days = UPTIME_DAYS,
): ComponentUptime {
  const sorted = changes
    .filter((c) => c.componentId === component.id)
    .sort((a, b) => a.changedAt.getTime() - b.changedAt.getTime())
  const existsFrom =
    component.startDate === null
      ? component.createdAt
      : new Date(
          Math.min(
            component.createdAt.getTime(),
            startOfZonedDay(component.startDate, timeZone).getTime(),
          ),
        )
  const today = zonedDate(now, timeZone)
  const firstDay = addDays(today, -(days - 1))

  const intervals: {
    from: number
    to: number
    status: ComponentStatus
    incidentId: string | null
  }[] = []
  let cursor = existsFrom.getTime()
  let status: ComponentStatus = 'operational'
  let incidentId: string | null = null
  for (const change of sorted) {
    const at = change.changedAt.getTime()
    if (at > cursor) {
      intervals.push({ from: cursor, to: at, status, incidentId })
      cursor = at
    }
    status = change.status
    incidentId = change.incidentId
  }
  if (now.getTime() > cursor)
    intervals.push({ from: cursor, to: now.getTime(), status, incidentId })

  const result: UptimeDay[] = []
  let observed = 0
  let down = 0
  for (let i = 0; i < days; i++) {
    const date = addDays(firstDay, i)
    const dayStart = Math.max(startOfZonedDay(date, timeZone).getTime(), existsFrom.getTime())
    const dayEnd = Math.min(startOfZonedDay(addDays(date, 1), timeZone).getTime(), now.getTime())
    const outageSeconds: Partial<Record<ComponentStatus, number>> = {}
    const incidentIds = new Set<string>()
    let worst: ComponentStatus = 'operational'
    const hasData = dayEnd > dayStart
    if (hasData) {
      observed += dayEnd - dayStart
      for (const interval of intervals) {
        const from = Math.max(interval.from, dayStart)
        const to = Math.min(interval.to, dayEnd)
        if (to <= from) continue
        if (interval.status !== 'operational') {
          outageSeconds[interval.status] =
            (outageSeconds[interval.status] ?? 0) + Math.round((to - from) / 1000)
          if (SEVERITY[interval.status] > SEVERITY[worst]) worst = interval.status
          if (DOWNTIME_STATUSES.includes(interval.status)) down += to - from
        }
        if (interval.incidentId !== null) incidentIds.add(interval.incidentId)
      }
    }
    result.push({ date, outageSeconds, worst, incidentIds: [...incidentIds], hasData })
  }
  const percent = observed === 0 ? null : Math.floor(((observed - down) / observed) * 10_000) / 100
  return { componentId: component.id, percent, days: result }
}
