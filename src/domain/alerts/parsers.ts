import { createHash } from 'node:crypto'
import type { AlertEvent, AlertFormat, OutageStatus, ParsedAlerts } from './types.js'
import { OUTAGE_STATUSES } from './types.js'

/**
 * One pure function per source format: a parsed JSON body in, normalised alert events out. Each
 * reads only the fields its source documents, and throws AlertPayloadError (with what is wrong)
 * on anything it cannot read, so the sender learns what was expected.
 */

export class AlertPayloadError extends Error {
  override readonly name = 'AlertPayloadError'
}

export const ALERT_ID_MAX = 200
export const ALERT_TITLE_MAX = 200
/** More events in one delivery than any source sends; bounds the work of one request. */
export const MAX_EVENTS_PER_DELIVERY = 500

type Json = Record<string, unknown>

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** A non-empty string, or a number written as one (ids arrive as either). */
function textOf(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  if (typeof value !== 'string') return undefined
  const text = value.trim()
  return text === '' ? undefined : text
}

function firstText(value: unknown): string | undefined {
  return Array.isArray(value) ? textOf(value[0]) : textOf(value)
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`
}

/**
 * A time as sources write them: ISO 8601, or epoch seconds, milliseconds, microseconds or
 * nanoseconds (told apart by size). Go's zero time ("0001-01-01T00:00:00Z", Alertmanager's "not
 * set") and anything before 2000 count as absent.
 */
export function parseSourceTime(value: unknown): Date | null {
  let ms: number
  if (typeof value === 'number' || (typeof value === 'string' && /^\d+(\.\d+)?$/.test(value))) {
    const n = Number(value)
    if (!Number.isFinite(n) || n <= 0) return null
    ms = n < 1e11 ? n * 1000 : n < 1e14 ? n : n < 1e17 ? n / 1e3 : n / 1e6
  } else if (typeof value === 'string' && value.trim() !== '') {
    const text = value.trim()
    // Pingdom's state_changed_utc_time has no zone designator: it is UTC.
    ms = Date.parse(/[zZ]|[+-]\d{2}:?\d{2}$/.test(text) ? text : `${text}Z`)
  } else return null
  if (!Number.isFinite(ms) || ms < Date.UTC(2000, 0, 1)) return null
  return new Date(Math.floor(ms))
}

function alertId(value: string): string {
  return value.length <= ALERT_ID_MAX
    ? value
    : `sha256:${createHash('sha256').update(value).digest('hex')}`
}

function event(fields: {
  alertId: string
  state: 'firing' | 'resolved'
  at: Date | null
  title: string
  severity?: string | undefined
  componentKey?: string | undefined
  componentName?: string | undefined
  status?: OutageStatus | undefined
}): AlertEvent {
  const result: AlertEvent = {
    alertId: alertId(fields.alertId),
    state: fields.state,
    at: fields.at,
    title: clip(fields.title.replace(/\s+/g, ' ').trim() || 'Alert', ALERT_TITLE_MAX),
  }
  if (fields.severity !== undefined) result.severity = fields.severity.toLowerCase()
  if (fields.componentKey !== undefined) result.componentKey = fields.componentKey
  if (fields.componentName !== undefined) result.componentName = fields.componentName
  if (fields.status !== undefined) result.status = fields.status
  return result
}

// ---------------------------------------------------------------------------------------------
// Prometheus Alertmanager (webhook_config, version 4) and Grafana (unified alerting webhook)
// ---------------------------------------------------------------------------------------------

function stringMap(value: unknown): Record<string, string> {
  if (!isRecord(value)) return {}
  const map: Record<string, string> = {}
  for (const [key, item] of Object.entries(value)) if (typeof item === 'string') map[key] = item
  return map
}

/** Alertmanager's fingerprint is a hash of the labels; older senders omit it, so make the same. */
function labelsKey(labels: Record<string, string>): string {
  const text = Object.keys(labels)
    .sort()
    .map((key) => `${key}=${JSON.stringify(labels[key])}`)
    .join(',')
  return `labels:${createHash('sha256').update(text).digest('hex').slice(0, 32)}`
}

function parseAlertGroup(body: unknown, source: 'Alertmanager' | 'Grafana'): ParsedAlerts {
  if (!isRecord(body) || !Array.isArray(body.alerts))
    throw new AlertPayloadError(`The body has no "alerts" array.`)
  if (body.alerts.length > MAX_EVENTS_PER_DELIVERY)
    throw new AlertPayloadError(
      `At most ${String(MAX_EVENTS_PER_DELIVERY)} alerts per delivery (set max_alerts).`,
    )
  const events = body.alerts.map((alert: unknown, index) => {
    if (!isRecord(alert)) throw new AlertPayloadError(`alerts[${String(index)}] is not an object.`)
    const status = alert.status
    if (status !== 'firing' && status !== 'resolved')
      throw new AlertPayloadError(`alerts[${String(index)}].status must be "firing" or "resolved".`)
    const labels = stringMap(alert.labels)
    const annotations = stringMap(alert.annotations)
    const fingerprint = textOf(alert.fingerprint)
    const startsAt = parseSourceTime(alert.startsAt)
    const endsAt = parseSourceTime(alert.endsAt)
    return event({
      alertId: fingerprint ?? labelsKey(labels),
      state: status,
      at: status === 'firing' ? startsAt : (endsAt ?? startsAt),
      title:
        annotations['summary'] ??
        labels['alertname'] ??
        annotations['description'] ??
        `${source} alert`,
      severity: labels['severity'],
      componentKey: labels['component'],
    })
  })
  return { events, ignored: [] }
}

export function parseAlertmanager(body: unknown): ParsedAlerts {
  return parseAlertGroup(body, 'Alertmanager')
}

export function parseGrafana(body: unknown): ParsedAlerts {
  return parseAlertGroup(body, 'Grafana')
}

// ---------------------------------------------------------------------------------------------
// Pingdom state change webhooks
// ---------------------------------------------------------------------------------------------

const PINGDOM_STATES: Record<string, 'firing' | 'resolved'> = {
  DOWN: 'firing',
  FAILING: 'firing',
  UP: 'resolved',
  SUCCESS: 'resolved',
}

export function parsePingdom(body: unknown): ParsedAlerts {
  if (!isRecord(body)) throw new AlertPayloadError('The body is not a JSON object.')
  const checkId = textOf(body.check_id)
  if (checkId === undefined) throw new AlertPayloadError('"check_id" is missing.')
  const current = typeof body.current_state === 'string' ? body.current_state.toUpperCase() : ''
  const state = PINGDOM_STATES[current]
  if (state === undefined)
    throw new AlertPayloadError('"current_state" must be DOWN, UP, FAILING or SUCCESS.')
  const name = textOf(body.check_name)
  const detail = state === 'firing' ? (textOf(body.description) ?? 'down') : 'up again'
  return {
    events: [
      event({
        alertId: `check:${checkId}`,
        state,
        at: parseSourceTime(body.state_changed_timestamp ?? body.state_changed_utc_time),
        title: `${name ?? `Pingdom check ${checkId}`}: ${detail}`,
        componentKey: checkId,
        componentName: name,
      }),
    ],
    ignored: [],
  }
}

// ---------------------------------------------------------------------------------------------
// New Relic: workflow webhooks (issues) and the legacy notification channel (incidents)
// ---------------------------------------------------------------------------------------------

export function parseNewRelic(body: unknown): ParsedAlerts {
  if (!isRecord(body)) throw new AlertPayloadError('The body is not a JSON object.')
  const custom = textOf(body.component)
  if (typeof body.state === 'string') {
    const id = textOf(body.issueId) ?? textOf(body.id)
    if (id === undefined) throw new AlertPayloadError('"id" (the issue id) is missing.')
    const issueState = body.state.toUpperCase()
    const title =
      textOf(body.title) ?? firstText(body.alertConditionNames) ?? `New Relic issue ${id}`
    if (issueState !== 'ACTIVATED' && issueState !== 'CLOSED')
      return { events: [], ignored: [`issue ${id} is ${issueState}: no status change`] }
    return {
      events: [
        event({
          alertId: `issue:${id}`,
          state: issueState === 'ACTIVATED' ? 'firing' : 'resolved',
          at: parseSourceTime(body.updatedAt ?? body.createdAt),
          title,
          severity: textOf(body.priority),
          componentKey:
            custom ?? firstText(body.impactedEntities) ?? firstText(body.alertPolicyNames),
        }),
      ],
      ignored: [],
    }
  }
  if (typeof body.current_state === 'string') {
    const id = textOf(body.incident_id)
    if (id === undefined) throw new AlertPayloadError('"incident_id" is missing.')
    const current = body.current_state.toLowerCase()
    if (current !== 'open' && current !== 'closed')
      return { events: [], ignored: [`incident ${id} is ${current}: no status change`] }
    const target = Array.isArray(body.targets) && isRecord(body.targets[0]) ? body.targets[0] : {}
    return {
      events: [
        event({
          alertId: `incident:${id}`,
          state: current === 'open' ? 'firing' : 'resolved',
          at: parseSourceTime(body.timestamp),
          title: textOf(body.condition_name) ?? textOf(body.details) ?? `New Relic incident ${id}`,
          severity: textOf(body.severity),
          componentKey: custom ?? textOf(target.name) ?? textOf(body.policy_name),
        }),
      ],
      ignored: [],
    }
  }
  throw new AlertPayloadError(
    'Neither "state" (a workflow webhook) nor "current_state" (a legacy channel) is present.',
  )
}

// ---------------------------------------------------------------------------------------------
// Datadog webhooks, with the payload template Candor documents
// ---------------------------------------------------------------------------------------------

const DATADOG_TRANSITIONS: Record<string, { state: 'firing' | 'resolved'; severity?: string }> = {
  triggered: { state: 'firing' },
  're-triggered': { state: 'firing' },
  renotify: { state: 'firing' },
  warn: { state: 'firing', severity: 'warning' },
  're-warn': { state: 'firing', severity: 'warning' },
  recovered: { state: 'resolved' },
}

/** A template variable Datadog left as it was: the monitor did not fill it in. */
function filled(value: string | undefined): string | undefined {
  return value === undefined || /^\$[A-Z_]+$/.test(value) ? undefined : value
}

export function parseDatadog(body: unknown): ParsedAlerts {
  if (!isRecord(body)) throw new AlertPayloadError('The body is not a JSON object.')
  const transition = filled(textOf(body.alert_transition))
  const id = filled(textOf(body.alert_id))
  if (transition === undefined || id === undefined)
    throw new AlertPayloadError(
      '"alert_transition" and "alert_id" are missing: use the custom payload from Candor.',
    )
  const scope = filled(textOf(body.alert_scope))
  const key = scope === undefined ? `monitor:${id}` : `monitor:${id}:${scope}`
  const mapped = DATADOG_TRANSITIONS[transition.toLowerCase()]
  if (mapped === undefined)
    return { events: [], ignored: [`monitor ${id}: "${transition}" changes no status`] }
  return {
    events: [
      event({
        alertId: key,
        state: mapped.state,
        at: parseSourceTime(filled(textOf(body.date)) ?? filled(textOf(body.last_updated))),
        title: filled(textOf(body.event_title)) ?? `Datadog monitor ${id}`,
        severity: mapped.severity ?? filled(textOf(body.alert_priority)),
        componentKey: filled(textOf(body.component)),
      }),
    ],
    ignored: [],
  }
}

// ---------------------------------------------------------------------------------------------
// PagerDuty v3 webhooks
// ---------------------------------------------------------------------------------------------

const PAGERDUTY_EVENTS: Record<string, 'firing' | 'resolved'> = {
  'incident.triggered': 'firing',
  'incident.reopened': 'firing',
  'incident.resolved': 'resolved',
}

export function parsePagerDuty(body: unknown): ParsedAlerts {
  if (!isRecord(body) || !isRecord(body.event))
    throw new AlertPayloadError('The body has no "event" object.')
  const { event: pdEvent } = body
  const type = textOf(pdEvent.event_type)
  if (type === undefined) throw new AlertPayloadError('"event.event_type" is missing.')
  const state = PAGERDUTY_EVENTS[type]
  if (state === undefined) return { events: [], ignored: [`${type} changes no status`] }
  const data = isRecord(pdEvent.data) ? pdEvent.data : undefined
  const id = textOf(data?.id)
  if (data === undefined || id === undefined)
    throw new AlertPayloadError('"event.data.id" (the incident id) is missing.')
  const service = isRecord(data.service) ? data.service : {}
  const priority = isRecord(data.priority) ? textOf(data.priority.summary) : undefined
  return {
    events: [
      event({
        alertId: `incident:${id}`,
        state,
        at: parseSourceTime(pdEvent.occurred_at),
        title: textOf(data.title) ?? `PagerDuty incident ${id}`,
        severity: priority ?? textOf(data.urgency),
        componentKey: textOf(service.id),
        componentName: textOf(service.summary),
      }),
    ],
    ignored: [],
  }
}

// ---------------------------------------------------------------------------------------------
// Opsgenie outgoing webhooks
// ---------------------------------------------------------------------------------------------

const OPSGENIE_ACTIONS: Record<string, 'firing' | 'resolved'> = {
  create: 'firing',
  close: 'resolved',
  // A deleted alert is gone at the source: nothing will ever close it.
  delete: 'resolved',
}

export function parseOpsgenie(body: unknown): ParsedAlerts {
  if (!isRecord(body) || !isRecord(body.alert))
    throw new AlertPayloadError('The body has no "alert" object.')
  const action = textOf(body.action)
  const id = textOf(body.alert.alertId)
  if (action === undefined || id === undefined)
    throw new AlertPayloadError('"action" and "alert.alertId" are required.')
  const state = OPSGENIE_ACTIONS[action.toLowerCase()]
  if (state === undefined)
    return { events: [], ignored: [`alert ${id}: ${action} changes no status`] }
  const { alert } = body
  return {
    events: [
      event({
        alertId: `alert:${id}`,
        state,
        at: parseSourceTime(alert.updatedAt ?? alert.createdAt),
        title: textOf(alert.message) ?? `Opsgenie alert ${id}`,
        severity: textOf(alert.priority),
        componentKey: textOf(alert.entity),
      }),
    ],
    ignored: [],
  }
}

// ---------------------------------------------------------------------------------------------
// Candor's generic form
// ---------------------------------------------------------------------------------------------

export function parseGeneric(body: unknown): ParsedAlerts {
  if (!isRecord(body)) throw new AlertPayloadError('The body is not a JSON object.')
  const status = textOf(body.status)
  const component = textOf(body.component)
  const isOutage = (OUTAGE_STATUSES as readonly string[]).includes(status ?? '')
  if (status !== 'operational' && !isOutage)
    throw new AlertPayloadError(`"status" must be operational, ${OUTAGE_STATUSES.join(', ')}.`)
  const id = textOf(body.id)
  return {
    events: [
      event({
        // Without an id, the alert is the component's own: the service keys it by component.
        alertId: id ?? '',
        state: status === 'operational' ? 'resolved' : 'firing',
        at: parseSourceTime(body.at),
        title: textOf(body.title) ?? `${component ?? 'Component'}: ${status ?? ''}`,
        componentKey: component,
        status: isOutage ? (status as OutageStatus) : undefined,
      }),
    ],
    ignored: [],
  }
}

export const PARSERS: Record<AlertFormat, (body: unknown) => ParsedAlerts> = {
  alertmanager: parseAlertmanager,
  grafana: parseGrafana,
  pingdom: parsePingdom,
  newrelic: parseNewRelic,
  datadog: parseDatadog,
  pagerduty: parsePagerDuty,
  opsgenie: parseOpsgenie,
  generic: parseGeneric,
}

/**
 * Which format a body looks like, only to tell a sender that picked the wrong one. The endpoint's
 * format setting decides how a body is read: guessing would let one format pass for another.
 */
export function detectFormat(body: unknown): AlertFormat | undefined {
  if (!isRecord(body)) return undefined
  if (Array.isArray(body.alerts))
    return 'orgId' in body || 'title' in body || 'message' in body ? 'grafana' : 'alertmanager'
  if ('check_id' in body && 'current_state' in body) return 'pingdom'
  if (isRecord(body.event) && 'event_type' in body.event) return 'pagerduty'
  if ('action' in body && isRecord(body.alert)) return 'opsgenie'
  if ('alert_transition' in body) return 'datadog'
  if (('current_state' in body && 'incident_id' in body) || 'issueUrl' in body) return 'newrelic'
  if ('status' in body && ('component' in body || Object.keys(body).length <= 4)) return 'generic'
  return undefined
}

/** The status a severity or priority stands for, when it names one. */
const SEVERITY_STATUSES: Record<string, OutageStatus> = {
  critical: 'major_outage',
  crit: 'major_outage',
  emergency: 'major_outage',
  fatal: 'major_outage',
  page: 'major_outage',
  error: 'major_outage',
  high: 'major_outage',
  major: 'major_outage',
  p1: 'major_outage',
  major_outage: 'major_outage',
  warning: 'partial_outage',
  warn: 'partial_outage',
  medium: 'partial_outage',
  p2: 'partial_outage',
  p3: 'partial_outage',
  partial_outage: 'partial_outage',
  info: 'degraded_performance',
  low: 'degraded_performance',
  minor: 'degraded_performance',
  p4: 'degraded_performance',
  p5: 'degraded_performance',
  degraded_performance: 'degraded_performance',
}

export function statusForSeverity(severity: string | undefined): OutageStatus | undefined {
  return severity === undefined ? undefined : SEVERITY_STATUSES[severity.toLowerCase()]
}
