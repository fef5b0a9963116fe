import { createHmac } from 'node:crypto'
import type { Kysely } from 'kysely'
import { assertNotThrottled, recordFailure, type ThrottleRule } from '../../auth/throttle.js'
import type { KeyRing } from '../../crypto/key-ring.js'
import { generateId, generateToken, hashToken, safeEqual } from '../../crypto/tokens.js'
import type { DatabaseSchema } from '../../db/schema.js'
import {
  checkWebhookUrl,
  OutboundRequestError,
  type OutboundHttp,
} from '../../notify/outbound-http.js'
import type { Actor } from '../actor.js'
import { auditOrigin, type AuditLog } from '../audit/audit-log.js'
import type { Clock } from '../clock.js'
import {
  DomainError,
  NotFoundError,
  RateLimitedError,
  UnauthenticatedError,
  ValidationError,
} from '../errors.js'
import type { ComponentService, MonitoringOrigin } from '../pages/component-service.js'
import { parseComponentStatus } from '../pages/component-service.js'
import type { IncidentService } from '../pages/incident-service.js'
import { TITLE_MAX } from '../pages/incident-service.js'
import { requirePageRole } from '../pages/page-access.js'
import type { PageEvents } from '../pages/page-events.js'
import { listComponents } from '../pages/page-repository.js'
import type { Component, ComponentStatus, Impact } from '../pages/types.js'
import { InputChecker, isChecked } from '../validation.js'
import {
  draftStatuses,
  firingCounts,
  lockComponent,
  parseFormat,
  parseOutageStatus,
  readStringMap,
  toCheck,
  toDraft,
  toEndpoint,
} from './alert-repository.js'
import { FORMAT_GUIDES } from './format-guides.js'
import {
  AlertPayloadError,
  detectFormat,
  MAX_EVENTS_PER_DELIVERY,
  PARSERS,
  statusForSeverity,
} from './parsers.js'
import {
  ALERT_FORMATS,
  OUTAGE_STATUSES,
  type AlertEndpoint,
  type AlertEvent,
  type AlertFormat,
  type HttpCheck,
  type IncidentDraft,
  type OutageStatus,
  type ReceiveResult,
} from './types.js'

type Db = Kysely<DatabaseSchema>

/** Alertmanager groups many alerts in one body; 256 KiB holds a few hundred. */
export const ALERT_BODY_MAX_BYTES = 256 * 1024
/** Deliveries to one endpoint: far above what a monitoring tool sends, low enough to bound abuse. */
export const ALERT_ENDPOINT_RULE: ThrottleRule = {
  maxFailures: 300,
  windowMs: 60_000,
  blockMs: 60_000,
  maxBlockMs: 10 * 60_000,
}
export const MAX_ENDPOINTS_PER_PAGE = 50
export const MAX_CHECKS_PER_PAGE = 50
export const MAX_MAPPING_ENTRIES = 200
export const CHECK_LIMITS = {
  minIntervalSeconds: 30,
  maxIntervalSeconds: 24 * 60 * 60,
  maxTimeoutSeconds: 60,
  maxFailureThreshold: 10,
}
/** Resolved alerts are kept this long to recognise late duplicates, then pruned. */
export const RESOLVED_ALERT_RETENTION_MS = 30 * 24 * 60 * 60_000
const SECRET_CONTEXT = 'alert_endpoints.secret'
const CHECK_ALERT_KEY = 'http'
const CHECK_BATCH = 100
const CHECK_CONCURRENCY = 8
const ERROR_MAX = 500

const SEVERITY_RANK: Record<ComponentStatus, number> = {
  operational: 0,
  under_maintenance: 0,
  degraded_performance: 1,
  partial_outage: 2,
  major_outage: 3,
}

/** Statuspage's automatic impact for a component status. */
const IMPACT_OF: Record<OutageStatus, Impact> = {
  degraded_performance: 'minor',
  partial_outage: 'major',
  major_outage: 'critical',
}

export interface EndpointInput {
  name?: unknown
  format?: unknown
  /** A component id, or '' for a page endpoint with a mapping. */
  componentId?: unknown
  /** One `key = component id or name` per line. */
  mapping?: unknown
  firingStatus?: unknown
  mapSeverity?: unknown
  createDrafts?: unknown
  /** PagerDuty's signing secret; empty keeps the current one. */
  signingSecret?: unknown
  removeSecret?: unknown
}

export interface CheckInput {
  componentId?: unknown
  url?: unknown
  intervalSeconds?: unknown
  timeoutSeconds?: unknown
  expectedStatus?: unknown
  failureThreshold?: unknown
  firingStatus?: unknown
  enabled?: unknown
}

export interface AlertSettings {
  /** Ranges the operator lets outbound requests reach although private (WEBHOOK_ALLOWED_RANGES). */
  allowedRanges: readonly string[]
}

/** Where alerts come from, with what the endpoint or check says about the status to set. */
interface AlertSource {
  kind: 'endpoint' | 'check'
  id: string
  pageId: string
  name: string
  format: AlertFormat | 'http'
  firingStatus: OutageStatus
  mapSeverity: boolean
  createDrafts: boolean
}

interface Routed {
  event: AlertEvent
  componentId: string
}

interface Outcome {
  applied: number
  duplicates: number
  stale: number
  changedPages: Set<string>
}

export type AlertService = ReturnType<typeof createAlertService>

export function createAlertService(deps: {
  db: Db
  clock: Clock
  events: PageEvents
  keyRing: KeyRing
  components: Pick<ComponentService, 'applyMonitoringStatus'>
  incidents: Pick<IncidentService, 'create'>
  outbound: OutboundHttp
  settings: AlertSettings
  audit?: AuditLog
}) {
  const { db, clock, events, keyRing, components, incidents, outbound, settings } = deps

  /** Admin actions go to the audit log, in the transaction of the change. */
  async function audited(
    trx: Db,
    actor: Actor,
    accountId: string,
    action: string,
    target: { type: 'alert_endpoint' | 'http_check' | 'incident_draft'; id: string },
    details?: Record<string, unknown>,
  ): Promise<void> {
    if (deps.audit === undefined) return
    await deps.audit.record(trx, { accountId, ...auditOrigin(actor), action, target, details })
  }

  // -------------------------------------------------------------------------------------------
  // Applying events: the one path for inbound alerts and HTTP checks
  // -------------------------------------------------------------------------------------------

  function originOf(source: AlertSource): MonitoringOrigin {
    return source.kind === 'check' ? 'check' : 'alert'
  }

  function firingStatusOf(event: AlertEvent, source: AlertSource): OutageStatus {
    return (
      event.status ??
      (source.mapSeverity ? statusForSeverity(event.severity) : undefined) ??
      source.firingStatus
    )
  }

  function worst(statuses: readonly string[]): ComponentStatus {
    let result: ComponentStatus = 'operational'
    for (const value of statuses) {
      const status = parseComponentStatus(value)
      if (status !== undefined && SEVERITY_RANK[status] > SEVERITY_RANK[result]) result = status
    }
    return result
  }

  /**
   * Sets a component's status from its open alerts: the worst firing one, never better than a
   * status already set when an alert starts firing (monitoring does not hide a status a person
   * chose), and operational when its last alert resolves. Maintenance is left alone: alerts
   * during a maintenance window are expected.
   */
  async function settleComponent(
    trx: Db,
    componentId: string,
    change: { resolved: boolean; fired: boolean },
    origin: MonitoringOrigin,
    now: Date,
  ): Promise<{ pageId: string | undefined; stillFiring: boolean }> {
    const component = await trx
      .selectFrom('components')
      .select('status')
      .where('id', '=', componentId)
      .executeTakeFirst()
    const firing = await trx
      .selectFrom('alert_states')
      .select('status')
      .where('component_id', '=', componentId)
      .where('state', '=', 'firing')
      .execute()
    const stillFiring = firing.length > 0
    if (component === undefined || component.status === 'under_maintenance')
      return { pageId: undefined, stillFiring }
    const current = parseComponentStatus(component.status) ?? 'operational'
    let target: ComponentStatus | undefined
    if (stillFiring) {
      const fromAlerts = worst(firing.map((f) => f.status))
      target = change.fired ? worst([fromAlerts, current]) : fromAlerts
    } else if (change.resolved) target = 'operational'
    if (target === undefined || target === current) return { pageId: undefined, stillFiring }
    const pageId = await components.applyMonitoringStatus(trx, {
      componentId,
      status: target,
      at: now,
      origin,
    })
    return { pageId, stillFiring }
  }

  /**
   * Records each event against the alert it belongs to and settles the statuses of the
   * components concerned, in the caller's transaction. An event older than the one already
   * applied for its alert (by the source's time) changes nothing; a resolution wins a tie; the
   * same state twice is a duplicate. A resolution for an alert never seen is kept, so its late
   * firing is recognised as older.
   */
  async function applyEvents(
    trx: Db,
    source: AlertSource,
    items: readonly Routed[],
    now: Date,
  ): Promise<Outcome> {
    const outcome: Outcome = { applied: 0, duplicates: 0, stale: 0, changedPages: new Set() }
    // A fixed order, so two deliveries locking the same components cannot deadlock.
    for (const id of [...new Set(items.map((i) => i.componentId))].sort())
      await lockComponent(trx, id)
    const touched = new Map<string, { resolved: boolean; fired: AlertEvent | undefined }>()
    for (const { event, componentId } of items) {
      const at = event.at ?? now
      const status = event.state === 'firing' ? firingStatusOf(event, source) : 'operational'
      const existing = await trx
        .selectFrom('alert_states')
        .select(['state', 'status', 'source_at'])
        .where('source_id', '=', source.id)
        .where('alert_key', '=', event.alertId)
        .executeTakeFirst()
      if (existing !== undefined) {
        const previousAt = Date.parse(existing.source_at)
        if (
          at.getTime() < previousAt ||
          (at.getTime() === previousAt && existing.state === 'resolved' && event.state === 'firing')
        ) {
          outcome.stale++
          continue
        }
        if (existing.state === event.state && existing.status === status) {
          outcome.duplicates++
          // A repeat with a later time moves the alert's clock on, so an event from between
          // the two still counts as older.
          if (at.getTime() > previousAt)
            await trx
              .updateTable('alert_states')
              .set({ source_at: at, updated_at: now })
              .where('source_id', '=', source.id)
              .where('alert_key', '=', event.alertId)
              .execute()
          continue
        }
        await trx
          .updateTable('alert_states')
          .set({ state: event.state, status, title: event.title, source_at: at, updated_at: now })
          .where('source_id', '=', source.id)
          .where('alert_key', '=', event.alertId)
          .execute()
      } else {
        await trx
          .insertInto('alert_states')
          .values({
            source_id: source.id,
            source_kind: source.kind,
            alert_key: event.alertId,
            page_id: source.pageId,
            component_id: componentId,
            state: event.state,
            status,
            title: event.title,
            source_at: at,
            updated_at: now,
          })
          .execute()
      }
      outcome.applied++
      const entry = touched.get(componentId) ?? { resolved: false, fired: undefined }
      if (event.state === 'resolved' && existing?.state === 'firing') entry.resolved = true
      if (event.state === 'firing' && existing?.state !== 'firing') entry.fired ??= event
      touched.set(componentId, entry)
    }
    for (const [componentId, entry] of touched) {
      const { pageId, stillFiring } = await settleComponent(
        trx,
        componentId,
        { resolved: entry.resolved, fired: entry.fired !== undefined },
        originOf(source),
        now,
      )
      if (pageId !== undefined) outcome.changedPages.add(pageId)
      if (entry.fired !== undefined && source.createDrafts)
        await draftIncident(trx, source, componentId, entry.fired, now)
      if (entry.resolved && !stillFiring) await dropDrafts(trx, source.pageId, componentId)
    }
    return outcome
  }

  /** A draft incident for an editor to publish, once per endpoint and component. */
  async function draftIncident(
    trx: Db,
    source: AlertSource,
    componentId: string,
    event: AlertEvent,
    now: Date,
  ): Promise<void> {
    const drafts = await trx
      .selectFrom('incident_drafts')
      .select('component_statuses')
      .where('source_endpoint_id', '=', source.id)
      .execute()
    if (drafts.some((d) => componentId in draftStatuses(d.component_statuses))) return
    const component = await trx
      .selectFrom('components')
      .select('name')
      .where('id', '=', componentId)
      .executeTakeFirst()
    if (component === undefined) return
    const status = firingStatusOf(event, source)
    await trx
      .insertInto('incident_drafts')
      .values({
        id: generateId(),
        page_id: source.pageId,
        title: event.title.slice(0, TITLE_MAX),
        body: `We are investigating a problem affecting ${component.name}. We will post an update as soon as we know more.`,
        impact: IMPACT_OF[status],
        component_statuses: JSON.stringify({ [componentId]: status }),
        source_endpoint_id: source.id,
        created_at: now,
      })
      .execute()
  }

  /** When a component recovers before anyone published its draft, there is nothing to announce. */
  async function dropDrafts(trx: Db, pageId: string, componentId: string): Promise<void> {
    const drafts = await trx
      .selectFrom('incident_drafts')
      .select(['id', 'component_statuses'])
      .where('page_id', '=', pageId)
      .where('source_endpoint_id', 'is not', null)
      .execute()
    const ids = drafts
      .filter((d) => {
        const keys = Object.keys(draftStatuses(d.component_statuses))
        return keys.length === 1 && keys[0] === componentId
      })
      .map((d) => d.id)
    if (ids.length > 0) await trx.deleteFrom('incident_drafts').where('id', 'in', ids).execute()
  }

  /** Forgets a source's alerts (endpoint or check deleted, check disabled or moved). */
  async function releaseSource(trx: Db, sourceId: string, origin: MonitoringOrigin, now: Date) {
    const firing = await trx
      .selectFrom('alert_states')
      .select('component_id')
      .distinct()
      .where('source_id', '=', sourceId)
      .where('state', '=', 'firing')
      .execute()
    const ids = firing.map((f) => f.component_id).sort()
    for (const id of ids) await lockComponent(trx, id)
    await trx.deleteFrom('alert_states').where('source_id', '=', sourceId).execute()
    const changed = new Set<string>()
    for (const id of ids) {
      const { pageId } = await settleComponent(
        trx,
        id,
        { resolved: true, fired: false },
        origin,
        now,
      )
      if (pageId !== undefined) changed.add(pageId)
    }
    return changed
  }

  function announce(pages: Iterable<string>): void {
    for (const pageId of pages) events.changed(pageId)
  }

  // -------------------------------------------------------------------------------------------
  // Receiving a delivery
  // -------------------------------------------------------------------------------------------

  async function recordError(endpointId: string, message: string, now: Date): Promise<void> {
    await db
      .updateTable('alert_endpoints')
      .set({ last_error: message.slice(0, ERROR_MAX), last_error_at: now })
      .where('id', '=', endpointId)
      .execute()
  }

  function payloadError(format: AlertFormat, detail: string, body?: unknown): ValidationError {
    const guide = FORMAT_GUIDES[format]
    const detected = body === undefined ? undefined : detectFormat(body)
    const hint =
      detected !== undefined && detected !== format
        ? ` The body looks like ${FORMAT_GUIDES[detected].label}: check the endpoint's format.`
        : ''
    return new ValidationError(
      { body: detail },
      `${detail} This endpoint reads ${guide.label}: it expects ${guide.expects}${hint}`,
      'invalid_alert_payload',
    )
  }

  function verifyPagerDutySignature(secret: string, body: Buffer, header: string | undefined) {
    if (header === undefined || header === '') return false
    const expected = `v1=${createHmac('sha256', secret).update(body).digest('hex')}`
    // Several signatures during a secret rotation at PagerDuty: one match is enough.
    return header
      .split(',')
      .map((part) => part.trim())
      .some((candidate) => safeEqual(candidate, expected))
  }

  /** The component an event is about: the endpoint's own, or the mapping, an id, a name. */
  function routeEvent(
    endpointComponentId: string | null,
    map: Record<string, string>,
    pageComponents: readonly Component[],
    event: AlertEvent,
  ): string | undefined {
    const usable = pageComponents.filter((c) => !c.isGroup)
    const byId = new Map(usable.map((c) => [c.id, c]))
    if (endpointComponentId !== null)
      return byId.has(endpointComponentId) ? endpointComponentId : undefined
    const keys = [event.componentKey, event.componentName].filter(
      (key): key is string => key !== undefined && key !== '',
    )
    for (const key of keys) {
      const mapped = map[key]
      if (mapped !== undefined && byId.has(mapped)) return mapped
    }
    for (const key of keys) if (byId.has(key)) return key
    for (const key of keys) {
      const named = usable.filter((c) => c.name.trim().toLowerCase() === key.trim().toLowerCase())
      if (named.length === 1) return named[0]?.id
    }
    return undefined
  }

  /**
   * A delivery to `POST /api/alerts/<token>`. No session: the unguessable token is the
   * authorization (stored only as its hash), plus PagerDuty's signature when a secret is set.
   */
  async function receive(
    token: string,
    delivery: { body: Buffer; signature?: string | undefined },
  ): Promise<ReceiveResult> {
    const row =
      token.length > 0 && token.length <= 128
        ? await db
            .selectFrom('alert_endpoints')
            .selectAll()
            .where('token_hash', '=', hashToken(token))
            .executeTakeFirst()
        : undefined
    if (row === undefined) throw new NotFoundError('The alert endpoint')
    const now = clock.now()
    const throttleKey = `alerts:endpoint:${row.id}`
    await assertNotThrottled(db, [throttleKey], now)
    await recordFailure(db, throttleKey, ALERT_ENDPOINT_RULE, now)
    const format = parseFormat(row.format) ?? 'generic'
    try {
      if (format === 'pagerduty' && row.secret_ciphertext !== null) {
        const secret = keyRing.decrypt(row.secret_ciphertext, SECRET_CONTEXT)
        if (!verifyPagerDutySignature(secret, delivery.body, delivery.signature))
          throw new UnauthenticatedError(
            "The X-PagerDuty-Signature header does not match this endpoint's signing secret (v1=HMAC-SHA256 of the body).",
            'bad_signature',
          )
      }
      let body: unknown
      try {
        body = JSON.parse(delivery.body.toString('utf8'))
      } catch {
        throw payloadError(format, 'The body is not valid JSON.')
      }
      let parsed: ReturnType<(typeof PARSERS)[AlertFormat]>
      try {
        parsed = PARSERS[format](body)
      } catch (error) {
        if (error instanceof AlertPayloadError) throw payloadError(format, error.message, body)
        throw error
      }
      if (parsed.events.length > MAX_EVENTS_PER_DELIVERY)
        throw payloadError(format, 'Too many events in one delivery.')
      const source: AlertSource = {
        kind: 'endpoint',
        id: row.id,
        pageId: row.page_id,
        name: row.name,
        format,
        firingStatus: parseOutageStatus(row.firing_status) ?? 'major_outage',
        mapSeverity: Boolean(row.map_severity),
        createDrafts: Boolean(row.create_drafts),
      }
      const pageComponents = await listComponents(db, row.page_id)
      const map = readStringMap(row.component_map)
      // An alert keeps the component it started on, even if the mapping changed since.
      const known = await knownAlerts(row.id, parsed.events)
      const items: Routed[] = []
      const unmatched: string[] = []
      for (const event of parsed.events) {
        const componentId =
          (event.alertId === '' ? undefined : known.get(event.alertId)) ??
          routeEvent(row.component_id, map, pageComponents, event)
        if (componentId === undefined)
          unmatched.push(event.componentKey ?? event.componentName ?? event.alertId)
        else
          items.push({
            event: event.alertId === '' ? { ...event, alertId: `component:${componentId}` } : event,
            componentId,
          })
      }
      const unmatchedMessage =
        unmatched.length === 0
          ? undefined
          : `No component of this page matches ${[...new Set(unmatched)]
              .slice(0, 5)
              .map((key) => JSON.stringify(key))
              .join(
                ', ',
              )}: add ${unmatched.length === 1 ? 'it' : 'them'} to the endpoint's mapping, or send a component id or name (${FORMAT_GUIDES[format].componentKey}).`
      if (items.length === 0 && unmatchedMessage !== undefined)
        throw new ValidationError(
          { component: unmatchedMessage },
          unmatchedMessage,
          'unknown_component',
        )
      const outcome = await db.transaction().execute(async (trx) => {
        const result = await applyEvents(trx, source, items, now)
        await trx
          .updateTable('alert_endpoints')
          .set({
            last_received_at: now,
            ...(unmatchedMessage === undefined
              ? {}
              : { last_error: unmatchedMessage.slice(0, ERROR_MAX), last_error_at: now }),
          })
          .where('id', '=', row.id)
          .execute()
        return result
      })
      announce(outcome.changedPages)
      return {
        received: parsed.events.length,
        applied: outcome.applied,
        duplicates: outcome.duplicates,
        stale: outcome.stale,
        ignored: parsed.ignored,
        unmatched: [...new Set(unmatched)],
      }
    } catch (error) {
      if (error instanceof DomainError && !(error instanceof RateLimitedError))
        await recordError(row.id, error.message, now)
      throw error
    }
  }

  async function knownAlerts(sourceId: string, list: readonly AlertEvent[]) {
    const keys = [...new Set(list.map((e) => e.alertId))]
    if (keys.length === 0) return new Map<string, string>()
    const rows = await db
      .selectFrom('alert_states')
      .select(['alert_key', 'component_id'])
      .where('source_id', '=', sourceId)
      .where('alert_key', 'in', keys)
      .execute()
    return new Map(rows.map((r) => [r.alert_key, r.component_id]))
  }

  // -------------------------------------------------------------------------------------------
  // Endpoints (admin and up to change; editors see them)
  // -------------------------------------------------------------------------------------------

  async function loadEndpointRow(
    actor: Actor,
    pageId: string,
    endpointId: string,
    action: 'alert.read' | 'alert.write',
  ) {
    const page = await requirePageRole(db, actor, pageId, action)
    const row = await db
      .selectFrom('alert_endpoints')
      .selectAll()
      .where('id', '=', endpointId)
      .where('page_id', '=', pageId)
      .executeTakeFirst()
    if (row === undefined) throw new NotFoundError('The alert endpoint')
    return Object.assign(row, { account_id: page.account_id })
  }

  async function listEndpoints(actor: Actor, pageId: string): Promise<AlertEndpoint[]> {
    await requirePageRole(db, actor, pageId, 'alert.read')
    const rows = await db
      .selectFrom('alert_endpoints')
      .selectAll()
      .where('page_id', '=', pageId)
      .orderBy('created_at')
      .execute()
    const counts = await firingCounts(
      db,
      rows.map((r) => r.id),
    )
    return rows.map((row) => toEndpoint(row, counts.get(row.id) ?? 0))
  }

  async function getEndpoint(
    actor: Actor,
    pageId: string,
    endpointId: string,
  ): Promise<AlertEndpoint> {
    const row = await loadEndpointRow(actor, pageId, endpointId, 'alert.read')
    const counts = await firingCounts(db, [row.id])
    return toEndpoint(row, counts.get(row.id) ?? 0)
  }

  function checkComponent(
    checker: InputChecker,
    field: string,
    value: unknown,
    pageComponents: readonly Component[],
  ): string | null {
    if (value === undefined || value === null || value === '') return null
    const found = pageComponents.find((c) => c.id === value && !c.isGroup)
    if (found === undefined) checker.add(field, 'Choose a component of this page (not a group).')
    return found?.id ?? null
  }

  /** `key = component id or name`, one per line; # starts a comment. */
  function parseMapping(
    checker: InputChecker,
    text: unknown,
    pageComponents: readonly Component[],
  ): Record<string, string> {
    const map: Record<string, string> = {}
    if (typeof text !== 'string' || text.trim() === '') return map
    const usable = pageComponents.filter((c) => !c.isGroup)
    const lines = text.split(/\r?\n/)
    let entries = 0
    for (const [index, raw] of lines.entries()) {
      const line = raw.trim()
      if (line === '' || line.startsWith('#')) continue
      const at = line.indexOf('=')
      const key = at < 0 ? '' : line.slice(0, at).trim()
      const target = at < 0 ? '' : line.slice(at + 1).trim()
      const where = `Line ${String(index + 1)}`
      if (key === '' || target === '') {
        checker.add('mapping', `${where}: write "key = component name or id".`)
        continue
      }
      if (key.length > 200) {
        checker.add('mapping', `${where}: the key is longer than 200 characters.`)
        continue
      }
      const component =
        usable.find((c) => c.id === target) ??
        usable.find((c) => c.name.trim().toLowerCase() === target.toLowerCase())
      if (component === undefined) {
        checker.add('mapping', `${where}: no component "${target}" on this page.`)
        continue
      }
      map[key] = component.id
      entries++
    }
    if (entries > MAX_MAPPING_ENTRIES)
      checker.add('mapping', `At most ${String(MAX_MAPPING_ENTRIES)} mapping lines.`)
    return map
  }

  function checkEndpoint(input: EndpointInput, pageComponents: readonly Component[]) {
    const checker = new InputChecker()
    const name = checker.text('name', input.name, { label: 'Name', max: 100 })
    const format = parseFormat(input.format)
    if (format === undefined) checker.add('format', `Choose one of: ${ALERT_FORMATS.join(', ')}.`)
    const componentId = checkComponent(checker, 'componentId', input.componentId, pageComponents)
    const map = componentId === null ? parseMapping(checker, input.mapping, pageComponents) : {}
    const firingStatus =
      input.firingStatus === undefined || input.firingStatus === ''
        ? 'major_outage'
        : parseOutageStatus(input.firingStatus)
    if (firingStatus === undefined)
      checker.add('firingStatus', `Choose one of: ${OUTAGE_STATUSES.join(', ')}.`)
    const secret = typeof input.signingSecret === 'string' ? input.signingSecret.trim() : ''
    if (secret !== '' && format !== 'pagerduty')
      checker.add('signingSecret', 'Only PagerDuty endpoints have a signing secret.')
    if (secret.length > 500) checker.add('signingSecret', 'The secret is too long.')
    return {
      checker,
      values: {
        name,
        format: format ?? 'generic',
        componentId,
        map,
        firingStatus: firingStatus ?? 'major_outage',
        mapSeverity: truthy(input.mapSeverity, true),
        createDrafts: truthy(input.createDrafts, false),
        secret,
      },
    }
  }

  /** Creates an endpoint; its token is returned here once and stored only as a hash. */
  async function createEndpoint(
    actor: Actor,
    pageId: string,
    input: EndpointInput,
  ): Promise<{ endpoint: AlertEndpoint; token: string }> {
    const page = await requirePageRole(db, actor, pageId, 'alert.write')
    const pageComponents = await listComponents(db, pageId)
    const { checker, values } = checkEndpoint(input, pageComponents)
    checker.assertValid()
    const count = await db
      .selectFrom('alert_endpoints')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('page_id', '=', pageId)
      .executeTakeFirstOrThrow()
    if (count.n >= MAX_ENDPOINTS_PER_PAGE)
      throw new ValidationError({
        name: `A page has at most ${String(MAX_ENDPOINTS_PER_PAGE)} alert endpoints.`,
      })
    const now = clock.now()
    const id = generateId()
    const token = generateToken()
    await db.transaction().execute(async (trx) => {
      await trx
        .insertInto('alert_endpoints')
        .values({
          id,
          page_id: pageId,
          name: values.name,
          format: values.format,
          component_id: values.componentId,
          component_map: JSON.stringify(values.map),
          firing_status: values.firingStatus,
          map_severity: values.mapSeverity,
          create_drafts: values.createDrafts,
          token_hash: hashToken(token),
          secret_ciphertext:
            values.secret === '' ? null : keyRing.encrypt(values.secret, SECRET_CONTEXT),
          last_received_at: null,
          last_error: null,
          last_error_at: null,
          created_at: now,
          updated_at: now,
        })
        .execute()
      await audited(trx, actor, page.account_id, 'alert_endpoint.created', endpointTarget(id), {
        pageId,
        format: values.format,
      })
    })
    return { endpoint: await getEndpoint(actor, pageId, id), token }
  }

  async function updateEndpoint(
    actor: Actor,
    pageId: string,
    endpointId: string,
    input: EndpointInput,
  ): Promise<AlertEndpoint> {
    const row = await loadEndpointRow(actor, pageId, endpointId, 'alert.write')
    const pageComponents = await listComponents(db, pageId)
    const { checker, values } = checkEndpoint(input, pageComponents)
    checker.assertValid()
    const removeSecret = truthy(input.removeSecret, false) || values.format !== 'pagerduty'
    await db.transaction().execute(async (trx) => {
      await trx
        .updateTable('alert_endpoints')
        .set({
          name: values.name,
          format: values.format,
          component_id: values.componentId,
          component_map: JSON.stringify(values.map),
          firing_status: values.firingStatus,
          map_severity: values.mapSeverity,
          create_drafts: values.createDrafts,
          ...(values.secret !== ''
            ? { secret_ciphertext: keyRing.encrypt(values.secret, SECRET_CONTEXT) }
            : removeSecret
              ? { secret_ciphertext: null }
              : {}),
          updated_at: clock.now(),
        })
        .where('id', '=', row.id)
        .execute()
      await audited(trx, actor, row.account_id, 'alert_endpoint.updated', endpointTarget(row.id), {
        pageId,
        format: values.format,
      })
    })
    return getEndpoint(actor, pageId, endpointId)
  }

  /** A new token replaces the old one at once: the old URL answers 404 from now on. */
  async function regenerateToken(
    actor: Actor,
    pageId: string,
    endpointId: string,
  ): Promise<string> {
    const row = await loadEndpointRow(actor, pageId, endpointId, 'alert.write')
    const token = generateToken()
    await db.transaction().execute(async (trx) => {
      await trx
        .updateTable('alert_endpoints')
        .set({ token_hash: hashToken(token), updated_at: clock.now() })
        .where('id', '=', row.id)
        .execute()
      await audited(
        trx,
        actor,
        row.account_id,
        'alert_endpoint.token_regenerated',
        endpointTarget(row.id),
        { pageId },
      )
    })
    return token
  }

  /** Deleting an endpoint forgets its alerts: components it kept down return to operational. */
  async function deleteEndpoint(actor: Actor, pageId: string, endpointId: string): Promise<void> {
    const row = await loadEndpointRow(actor, pageId, endpointId, 'alert.write')
    const now = clock.now()
    const changed = await db.transaction().execute(async (trx) => {
      const pages = await releaseSource(trx, row.id, 'alert', now)
      await trx.deleteFrom('alert_endpoints').where('id', '=', row.id).execute()
      await audited(trx, actor, row.account_id, 'alert_endpoint.deleted', endpointTarget(row.id), {
        pageId,
        name: row.name,
      })
      return pages
    })
    announce(changed)
  }

  // -------------------------------------------------------------------------------------------
  // HTTP checks
  // -------------------------------------------------------------------------------------------

  function integer(
    checker: InputChecker,
    field: string,
    value: unknown,
    options: { label: string; min: number; max: number; fallback: number },
  ): number {
    if (value === undefined || value === null || value === '') return options.fallback
    const n =
      typeof value === 'number' ? value : Number(typeof value === 'string' ? value.trim() : NaN)
    if (!Number.isInteger(n) || n < options.min || n > options.max) {
      checker.add(
        field,
        `${options.label} must be a whole number from ${String(options.min)} to ${String(options.max)}.`,
      )
      return options.fallback
    }
    return n
  }

  function checkCheck(input: CheckInput, pageComponents: readonly Component[]) {
    const checker = new InputChecker()
    const componentId = checkComponent(checker, 'componentId', input.componentId, pageComponents)
    if (input.componentId === undefined || input.componentId === '')
      checker.add('componentId', 'Choose the component this check watches.')
    const url = typeof input.url === 'string' ? input.url.trim() : ''
    if (url === '') checker.add('url', 'URL is required.')
    else if (url.length > 2000) checker.add('url', 'The URL must be at most 2,000 characters.')
    else {
      const problem = checkWebhookUrl(url, settings.allowedRanges)
      if (problem !== undefined) checker.add('url', `${problem}.`)
    }
    const intervalSeconds = integer(checker, 'intervalSeconds', input.intervalSeconds, {
      label: 'The interval (seconds)',
      min: CHECK_LIMITS.minIntervalSeconds,
      max: CHECK_LIMITS.maxIntervalSeconds,
      fallback: 60,
    })
    const timeoutSeconds = integer(checker, 'timeoutSeconds', input.timeoutSeconds, {
      label: 'The timeout (seconds)',
      min: 1,
      max: CHECK_LIMITS.maxTimeoutSeconds,
      fallback: 10,
    })
    if (timeoutSeconds >= intervalSeconds)
      checker.add('timeoutSeconds', 'The timeout must be shorter than the interval.')
    const expectedStatus = integer(checker, 'expectedStatus', input.expectedStatus, {
      label: 'The expected status',
      min: 100,
      max: 599,
      fallback: 200,
    })
    const failureThreshold = integer(checker, 'failureThreshold', input.failureThreshold, {
      label: 'Failures before an alert',
      min: 1,
      max: CHECK_LIMITS.maxFailureThreshold,
      fallback: 3,
    })
    const firingStatus =
      input.firingStatus === undefined || input.firingStatus === ''
        ? 'major_outage'
        : parseOutageStatus(input.firingStatus)
    if (firingStatus === undefined)
      checker.add('firingStatus', `Choose one of: ${OUTAGE_STATUSES.join(', ')}.`)
    return {
      checker,
      values: {
        componentId: componentId ?? '',
        url,
        intervalSeconds,
        timeoutMs: timeoutSeconds * 1000,
        expectedStatus,
        failureThreshold,
        firingStatus: firingStatus ?? 'major_outage',
        enabled: truthy(input.enabled, true),
      },
    }
  }

  async function checksOf(pageId: string, checkId?: string): Promise<HttpCheck[]> {
    let query = db.selectFrom('http_checks').selectAll().where('page_id', '=', pageId)
    if (checkId !== undefined) query = query.where('id', '=', checkId)
    const rows = await query.orderBy('created_at').execute()
    const counts = await firingCounts(
      db,
      rows.map((r) => r.id),
    )
    return rows.map((row) => toCheck(row, (counts.get(row.id) ?? 0) > 0))
  }

  async function listChecks(actor: Actor, pageId: string): Promise<HttpCheck[]> {
    await requirePageRole(db, actor, pageId, 'check.read')
    return checksOf(pageId)
  }

  async function getCheck(actor: Actor, pageId: string, checkId: string): Promise<HttpCheck> {
    await requirePageRole(db, actor, pageId, 'check.read')
    const [check] = await checksOf(pageId, checkId)
    if (check === undefined) throw new NotFoundError('The HTTP check')
    return check
  }

  async function createCheck(actor: Actor, pageId: string, input: CheckInput): Promise<HttpCheck> {
    const page = await requirePageRole(db, actor, pageId, 'check.write')
    const { checker, values } = checkCheck(input, await listComponents(db, pageId))
    checker.assertValid()
    const count = await db
      .selectFrom('http_checks')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('page_id', '=', pageId)
      .executeTakeFirstOrThrow()
    if (count.n >= MAX_CHECKS_PER_PAGE)
      throw new ValidationError({
        url: `A page has at most ${String(MAX_CHECKS_PER_PAGE)} HTTP checks.`,
      })
    const now = clock.now()
    const id = generateId()
    await db.transaction().execute(async (trx) => {
      await trx
        .insertInto('http_checks')
        .values({
          id,
          page_id: pageId,
          component_id: values.componentId,
          url: values.url,
          interval_seconds: values.intervalSeconds,
          timeout_ms: values.timeoutMs,
          expected_status: values.expectedStatus,
          failure_threshold: values.failureThreshold,
          firing_status: values.firingStatus,
          enabled: values.enabled,
          consecutive_failures: 0,
          last_checked_at: null,
          last_status_code: null,
          last_ok: null,
          last_error: null,
          next_run_at: now,
          created_at: now,
          updated_at: now,
        })
        .execute()
      await audited(trx, actor, page.account_id, 'http_check.created', checkTarget(id), { pageId })
    })
    return getCheck(actor, pageId, id)
  }

  async function loadCheckRow(actor: Actor, pageId: string, checkId: string) {
    const page = await requirePageRole(db, actor, pageId, 'check.write')
    const row = await db
      .selectFrom('http_checks')
      .selectAll()
      .where('id', '=', checkId)
      .where('page_id', '=', pageId)
      .executeTakeFirst()
    if (row === undefined) throw new NotFoundError('The HTTP check')
    return Object.assign(row, { account_id: page.account_id })
  }

  async function updateCheck(
    actor: Actor,
    pageId: string,
    checkId: string,
    input: CheckInput,
  ): Promise<HttpCheck> {
    const row = await loadCheckRow(actor, pageId, checkId)
    const { checker, values } = checkCheck(input, await listComponents(db, pageId))
    checker.assertValid()
    const now = clock.now()
    const changed = await db.transaction().execute(async (trx) => {
      // Its alerts were about the old component, or stop with the check.
      const release = !values.enabled || values.componentId !== row.component_id
      const pages = release ? await releaseSource(trx, row.id, 'check', now) : new Set<string>()
      await trx
        .updateTable('http_checks')
        .set({
          component_id: values.componentId,
          url: values.url,
          interval_seconds: values.intervalSeconds,
          timeout_ms: values.timeoutMs,
          expected_status: values.expectedStatus,
          failure_threshold: values.failureThreshold,
          firing_status: values.firingStatus,
          enabled: values.enabled,
          ...(release ? { consecutive_failures: 0 } : {}),
          ...(values.enabled && !row.enabled ? { next_run_at: now } : {}),
          updated_at: now,
        })
        .where('id', '=', row.id)
        .execute()
      await audited(trx, actor, row.account_id, 'http_check.updated', checkTarget(row.id), {
        pageId,
        enabled: values.enabled,
      })
      return pages
    })
    announce(changed)
    return getCheck(actor, pageId, checkId)
  }

  async function deleteCheck(actor: Actor, pageId: string, checkId: string): Promise<void> {
    const row = await loadCheckRow(actor, pageId, checkId)
    const now = clock.now()
    const changed = await db.transaction().execute(async (trx) => {
      const pages = await releaseSource(trx, row.id, 'check', now)
      await trx.deleteFrom('http_checks').where('id', '=', row.id).execute()
      await audited(trx, actor, row.account_id, 'http_check.deleted', checkTarget(row.id), {
        pageId,
      })
      return pages
    })
    announce(changed)
  }

  /** One run of one claimed check: GET through the SSRF-safe client, then the alert path. */
  async function runCheck(row: {
    id: string
    page_id: string
    component_id: string
    url: string
    timeout_ms: number
    expected_status: number
    failure_threshold: number
    firing_status: string
    consecutive_failures: number
  }): Promise<void> {
    let statusCode: number | null = null
    let problem: string | null = null
    try {
      const response = await outbound.get(row.url, {
        timeoutMs: row.timeout_ms,
        headers: { 'user-agent': 'Candor-Checks/1', accept: '*/*' },
      })
      statusCode = response.status
      if (response.status !== row.expected_status)
        problem = `Answered ${String(response.status)}, expected ${String(row.expected_status)}`
    } catch (error) {
      problem =
        error instanceof OutboundRequestError ? error.message : 'The request failed unexpectedly'
    }
    const now = clock.now()
    const ok = problem === null
    const failures = ok ? 0 : row.consecutive_failures + 1
    const source: AlertSource = {
      kind: 'check',
      id: row.id,
      pageId: row.page_id,
      name: row.url,
      format: 'http',
      firingStatus: parseOutageStatus(row.firing_status) ?? 'major_outage',
      mapSeverity: false,
      createDrafts: false,
    }
    const changed = await db.transaction().execute(async (trx) => {
      const updated = await trx
        .updateTable('http_checks')
        .set({
          consecutive_failures: failures,
          last_checked_at: now,
          last_status_code: statusCode,
          last_ok: ok,
          last_error: problem === null ? null : problem.slice(0, ERROR_MAX),
        })
        .where('id', '=', row.id)
        .where('enabled', '=', true)
        .where('component_id', '=', row.component_id)
        .executeTakeFirst()
      // Deleted, disabled or moved while the request was in flight: its result is moot.
      if (Number(updated.numUpdatedRows) !== 1) return new Set<string>()
      const current = await trx
        .selectFrom('alert_states')
        .select('state')
        .where('source_id', '=', row.id)
        .where('alert_key', '=', CHECK_ALERT_KEY)
        .executeTakeFirst()
      const isFiring = current?.state === 'firing'
      if (ok !== isFiring || (!ok && failures < row.failure_threshold)) return new Set<string>()
      const event: AlertEvent = {
        alertId: CHECK_ALERT_KEY,
        state: ok ? 'resolved' : 'firing',
        at: now,
        title: ok
          ? `${row.url} answers again`
          : `${row.url}: ${problem ?? 'failing'}`.slice(0, 200),
      }
      const outcome = await applyEvents(
        trx,
        source,
        [{ event, componentId: row.component_id }],
        now,
      )
      return outcome.changedPages
    })
    announce(changed)
  }

  /**
   * Runs the checks that are due. Each is claimed by a conditional update of its next_run_at, so
   * several workers running this at once run each check once per interval.
   */
  async function runDueChecks(): Promise<number> {
    const now = clock.now()
    const due = await db
      .selectFrom('http_checks')
      .selectAll()
      .where('enabled', '=', true)
      .where('next_run_at', '<=', now.toISOString())
      .orderBy('next_run_at')
      .limit(CHECK_BATCH)
      .execute()
    let ran = 0
    let next = 0
    const worker = async () => {
      while (next < due.length) {
        const row = due[next++]
        if (row === undefined) return
        const claimed = await db
          .updateTable('http_checks')
          .set({ next_run_at: new Date(now.getTime() + row.interval_seconds * 1000) })
          .where('id', '=', row.id)
          .where('next_run_at', '=', row.next_run_at)
          .executeTakeFirst()
        if (Number(claimed.numUpdatedRows) !== 1) continue
        ran++
        await runCheck(row)
      }
    }
    await Promise.all(Array.from({ length: Math.min(CHECK_CONCURRENCY, due.length) }, worker))
    return ran
  }

  async function pruneResolvedAlerts(): Promise<number> {
    const cutoff = new Date(clock.now().getTime() - RESOLVED_ALERT_RETENTION_MS)
    const result = await db
      .deleteFrom('alert_states')
      .where('state', '=', 'resolved')
      .where('updated_at', '<', cutoff.toISOString())
      .executeTakeFirst()
    return Number(result.numDeletedRows)
  }

  // -------------------------------------------------------------------------------------------
  // Drafts (shown on the incidents page; editors publish or dismiss them)
  // -------------------------------------------------------------------------------------------

  async function listDrafts(actor: Actor, pageId: string): Promise<IncidentDraft[]> {
    await requirePageRole(db, actor, pageId, 'draft.read')
    const rows = await db
      .selectFrom('incident_drafts')
      .leftJoin('alert_endpoints', 'alert_endpoints.id', 'incident_drafts.source_endpoint_id')
      .selectAll('incident_drafts')
      .select('alert_endpoints.name as endpoint_name')
      .where('incident_drafts.page_id', '=', pageId)
      .orderBy('incident_drafts.created_at', 'desc')
      .execute()
    return rows.map((row) => toDraft(row, row.endpoint_name))
  }

  async function loadDraft(actor: Actor, pageId: string, draftId: string) {
    const page = await requirePageRole(db, actor, pageId, 'draft.write')
    const row = await db
      .selectFrom('incident_drafts')
      .selectAll()
      .where('id', '=', draftId)
      .where('page_id', '=', pageId)
      .executeTakeFirst()
    if (row === undefined) throw new NotFoundError('The draft')
    return { row, accountId: page.account_id }
  }

  /**
   * Opens the incident the draft describes (through the incident service, as a person would) and
   * removes the draft. The draft is taken first, so a double click publishes once; it is put back
   * if the incident cannot be opened.
   */
  async function publishDraft(actor: Actor, pageId: string, draftId: string) {
    const { row } = await loadDraft(actor, pageId, draftId)
    const taken = await db.deleteFrom('incident_drafts').where('id', '=', row.id).executeTakeFirst()
    if (Number(taken.numDeletedRows) !== 1) throw new NotFoundError('The draft')
    const existing = new Set(
      (await listComponents(db, pageId)).filter((c) => !c.isGroup).map((c) => c.id),
    )
    const statuses = Object.fromEntries(
      Object.entries(draftStatuses(row.component_statuses)).filter(([id]) => existing.has(id)),
    )
    try {
      return await incidents.create(actor, pageId, {
        name: row.title,
        body: row.body,
        impact: row.impact,
        status: 'investigating',
        components: statuses,
      })
    } catch (error) {
      await db
        .insertInto('incident_drafts')
        .values({ ...row, created_at: new Date(row.created_at) })
        .execute()
      throw error
    }
  }

  async function dismissDraft(actor: Actor, pageId: string, draftId: string): Promise<void> {
    const { row, accountId } = await loadDraft(actor, pageId, draftId)
    await db.transaction().execute(async (trx) => {
      await trx.deleteFrom('incident_drafts').where('id', '=', row.id).execute()
      await audited(trx, actor, accountId, 'incident_draft.dismissed', draftTarget(row.id), {
        pageId,
      })
    })
  }

  return {
    receive,
    listEndpoints,
    getEndpoint,
    createEndpoint,
    updateEndpoint,
    regenerateToken,
    deleteEndpoint,
    listChecks,
    getCheck,
    createCheck,
    updateCheck,
    deleteCheck,
    runDueChecks,
    pruneResolvedAlerts,
    listDrafts,
    publishDraft,
    dismissDraft,
  }
}

function endpointTarget(id: string) {
  return { type: 'alert_endpoint' as const, id }
}

function checkTarget(id: string) {
  return { type: 'http_check' as const, id }
}

function draftTarget(id: string) {
  return { type: 'incident_draft' as const, id }
}

function truthy(value: unknown, fallback: boolean): boolean {
  if (Array.isArray(value)) return truthy(value.at(-1), fallback)
  if (value === undefined || value === null || value === '') return fallback
  return isChecked(value)
}

/** `key = component name` lines for the form, from a stored mapping. */
export function formatMapping(
  map: Record<string, string>,
  pageComponents: readonly Component[],
): string {
  return Object.entries(map)
    .map(([key, id]) => {
      const component = pageComponents.find((c) => c.id === id)
      const sameName = pageComponents.filter((c) => c.name === component?.name).length
      return `${key} = ${component === undefined ? id : sameName === 1 ? component.name : id}`
    })
    .join('\n')
}
