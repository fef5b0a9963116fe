import type { ComponentStatus, Impact } from '../pages/types.js'

export const ALERT_FORMATS = [
  'alertmanager',
  'grafana',
  'pingdom',
  'newrelic',
  'datadog',
  'pagerduty',
  'opsgenie',
  'generic',
] as const
export type AlertFormat = (typeof ALERT_FORMATS)[number]

/** The statuses an alert can set: monitoring reports trouble, never maintenance. */
export const OUTAGE_STATUSES = ['degraded_performance', 'partial_outage', 'major_outage'] as const
export type OutageStatus = (typeof OUTAGE_STATUSES)[number]

/** One alert event, whatever the source's format: what the parsers return. */
export interface AlertEvent {
  /**
   * The source's own id of the alert (fingerprint, incident id, check id…); empty when the alert
   * is simply "this component" (the generic form without an id).
   */
  alertId: string
  state: 'firing' | 'resolved'
  /** The source's time of the event; null when it sends none (the time of receipt is used). */
  at: Date | null
  title: string
  /** The source's severity or priority, mapped to a status when the endpoint allows it. */
  severity?: string
  /** What names the component at the source (a label, a check id, a service id…). */
  componentKey?: string
  /** A second name tried after componentKey (a check's or service's display name). */
  componentName?: string
  /** The generic form names the status itself. */
  status?: OutageStatus
}

export interface ParsedAlerts {
  events: AlertEvent[]
  /** Events the format defines but that change no status (acknowledged, no data…), described. */
  ignored: string[]
}

export interface AlertEndpoint {
  id: string
  pageId: string
  name: string
  format: AlertFormat
  /** Set for an endpoint of one component; null for a page endpoint with a mapping. */
  componentId: string | null
  /** Key sent by the source → component id. */
  componentMap: Record<string, string>
  firingStatus: OutageStatus
  mapSeverity: boolean
  createDrafts: boolean
  hasSecret: boolean
  lastReceivedAt: Date | null
  lastError: string | null
  lastErrorAt: Date | null
  openAlerts: number
  createdAt: Date
}

export interface HttpCheck {
  id: string
  pageId: string
  componentId: string
  url: string
  intervalSeconds: number
  timeoutMs: number
  expectedStatus: number
  failureThreshold: number
  firingStatus: OutageStatus
  enabled: boolean
  consecutiveFailures: number
  isFiring: boolean
  lastCheckedAt: Date | null
  lastStatusCode: number | null
  lastOk: boolean | null
  lastError: string | null
  nextRunAt: Date
  createdAt: Date
}

export interface IncidentDraft {
  id: string
  pageId: string
  title: string
  body: string
  impact: Impact
  componentStatuses: Record<string, ComponentStatus>
  sourceEndpointId: string | null
  sourceEndpointName: string | null
  createdAt: Date
}

/** What an alert delivery did, returned to the sender as JSON. */
export interface ReceiveResult {
  received: number
  applied: number
  duplicates: number
  stale: number
  ignored: string[]
  unmatched: string[]
}
