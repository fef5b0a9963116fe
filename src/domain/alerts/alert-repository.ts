import type { Kysely, Selectable } from 'kysely'
import type {
  AlertEndpointsTable,
  DatabaseSchema,
  HttpChecksTable,
  IncidentDraftsTable,
} from '../../db/schema.js'
import { parseComponentStatus } from '../pages/component-service.js'
import { IMPACTS, type ComponentStatus, type Impact } from '../pages/types.js'
import {
  ALERT_FORMATS,
  OUTAGE_STATUSES,
  type AlertEndpoint,
  type AlertFormat,
  type HttpCheck,
  type IncidentDraft,
  type OutageStatus,
} from './types.js'

type Db = Kysely<DatabaseSchema>

export function parseOutageStatus(value: unknown): OutageStatus | undefined {
  return OUTAGE_STATUSES.find((status) => status === value)
}

export function parseFormat(value: unknown): AlertFormat | undefined {
  return ALERT_FORMATS.find((format) => format === value)
}

function date(value: string | null): Date | null {
  return value === null ? null : new Date(value)
}

/** A JSON object of strings stored in a text column; anything else reads as empty. */
export function readStringMap(text: string): Record<string, string> {
  try {
    const value: unknown = JSON.parse(text)
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return {}
    return Object.fromEntries(
      Object.entries(value).filter(
        (entry): entry is [string, string] => typeof entry[1] === 'string',
      ),
    )
  } catch {
    return {}
  }
}

export function toEndpoint(
  row: Selectable<AlertEndpointsTable>,
  openAlerts: number,
): AlertEndpoint {
  return {
    id: row.id,
    pageId: row.page_id,
    name: row.name,
    format: parseFormat(row.format) ?? 'generic',
    componentId: row.component_id,
    componentMap: readStringMap(row.component_map),
    firingStatus: parseOutageStatus(row.firing_status) ?? 'major_outage',
    mapSeverity: Boolean(row.map_severity),
    createDrafts: Boolean(row.create_drafts),
    hasSecret: row.secret_ciphertext !== null,
    lastReceivedAt: date(row.last_received_at),
    lastError: row.last_error,
    lastErrorAt: date(row.last_error_at),
    openAlerts,
    createdAt: new Date(row.created_at),
  }
}

export function toCheck(row: Selectable<HttpChecksTable>, isFiring: boolean): HttpCheck {
  return {
    id: row.id,
    pageId: row.page_id,
    componentId: row.component_id,
    url: row.url,
    intervalSeconds: row.interval_seconds,
    timeoutMs: row.timeout_ms,
    expectedStatus: row.expected_status,
    failureThreshold: row.failure_threshold,
    firingStatus: parseOutageStatus(row.firing_status) ?? 'major_outage',
    enabled: Boolean(row.enabled),
    consecutiveFailures: row.consecutive_failures,
    isFiring,
    lastCheckedAt: date(row.last_checked_at),
    lastStatusCode: row.last_status_code,
    lastOk: row.last_ok === null ? null : Boolean(row.last_ok),
    lastError: row.last_error,
    nextRunAt: new Date(row.next_run_at),
    createdAt: new Date(row.created_at),
  }
}

export function draftStatuses(text: string): Record<string, ComponentStatus> {
  const statuses: Record<string, ComponentStatus> = {}
  for (const [id, value] of Object.entries(readStringMap(text))) {
    const status = parseComponentStatus(value)
    if (status !== undefined) statuses[id] = status
  }
  return statuses
}

export function toDraft(
  row: Selectable<IncidentDraftsTable>,
  sourceEndpointName: string | null,
): IncidentDraft {
  return {
    id: row.id,
    pageId: row.page_id,
    title: row.title,
    body: row.body,
    impact: IMPACTS.find((impact): impact is Impact => impact === row.impact) ?? 'major',
    componentStatuses: draftStatuses(row.component_statuses),
    sourceEndpointId: row.source_endpoint_id,
    sourceEndpointName,
    createdAt: new Date(row.created_at),
  }
}

/**
 * Takes the component row's lock for the rest of the transaction (a no-op update): on PostgreSQL,
 * two deliveries about one component then wait for each other, so each reads the alerts the
 * other committed before it settles the status. SQLite runs one write transaction at a time.
 */
export async function lockComponent(trx: Db, componentId: string): Promise<void> {
  await trx
    .updateTable('components')
    .set((eb) => ({ status: eb.ref('status') }))
    .where('id', '=', componentId)
    .execute()
}

/** Firing alert counts per source (endpoint or check). */
export async function firingCounts(db: Db, sourceIds: string[]): Promise<Map<string, number>> {
  if (sourceIds.length === 0) return new Map()
  const rows = await db
    .selectFrom('alert_states')
    .select(['source_id', (eb) => eb.fn.countAll<number>().as('n')])
    .where('source_id', 'in', sourceIds)
    .where('state', '=', 'firing')
    .groupBy('source_id')
    .execute()
  return new Map(rows.map((row) => [row.source_id, row.n]))
}
