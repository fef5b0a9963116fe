import type { Kysely, Selectable } from 'kysely'
import type {
  ComponentsTable,
  DatabaseSchema,
  IncidentsTable,
  IncidentUpdatesTable,
  PagesTable,
} from '../../db/schema.js'
import type { StatusChange } from './uptime.js'
import type {
  AffectedComponent,
  Component,
  ComponentStatus,
  Impact,
  Incident,
  IncidentStatus,
  IncidentUpdate,
  Locale,
  MaintenanceStatus,
  Page,
} from './types.js'

type Db = Kysely<DatabaseSchema>

export function toPage(row: Selectable<PagesTable>, hasLogo: boolean): Page {
  return {
    id: row.id,
    accountId: row.account_id,
    name: row.name,
    slug: row.slug,
    timeZone: row.time_zone,
    locale: row.locale as Locale,
    visibility: row.visibility,
    hasPassword: row.password_hash !== null,
    ipAllowlist: JSON.parse(row.ip_allowlist) as string[],
    brandColor: row.brand_color,
    customCss: row.custom_css,
    hasLogo,
    supportUrl: row.support_url,
    homepageUrl: row.homepage_url,
    customDomain: row.custom_domain,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  }
}

export function toComponent(row: Selectable<ComponentsTable>): Component {
  return {
    id: row.id,
    pageId: row.page_id,
    groupId: row.group_id,
    isGroup: Boolean(row.is_group),
    name: row.name,
    description: row.description,
    status: row.status as ComponentStatus,
    position: row.position,
    onlyShowIfDegraded: Boolean(row.only_show_if_degraded),
    showcase: Boolean(row.showcase),
    startDate: row.start_date,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  }
}

interface StoredAffected {
  code: string
  name: string
  old_status: ComponentStatus
  new_status: ComponentStatus
}

export function serializeAffected(affected: readonly AffectedComponent[] | null): string | null {
  if (affected === null) return null
  return JSON.stringify(
    affected.map((a): StoredAffected => ({
      code: a.code,
      name: a.name,
      old_status: a.oldStatus,
      new_status: a.newStatus,
    })),
  )
}

export function toUpdate(row: Selectable<IncidentUpdatesTable>): IncidentUpdate {
  const stored =
    row.affected_components === null
      ? null
      : (JSON.parse(row.affected_components) as StoredAffected[])
  return {
    id: row.id,
    incidentId: row.incident_id,
    status: row.status as IncidentStatus | MaintenanceStatus,
    body: row.body,
    displayAt: new Date(row.display_at),
    deliverNotifications: Boolean(row.deliver_notifications),
    affectedComponents:
      stored === null
        ? null
        : stored.map((a) => ({
            code: a.code,
            name: a.name,
            oldStatus: a.old_status,
            newStatus: a.new_status,
          })),
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  }
}

export function toIncident(
  row: Selectable<IncidentsTable>,
  componentIds: string[],
  updates: IncidentUpdate[],
): Incident {
  const date = (value: string | null) => (value === null ? null : new Date(value))
  return {
    id: row.id,
    pageId: row.page_id,
    kind: row.kind,
    name: row.name,
    status: row.status as IncidentStatus | MaintenanceStatus,
    impact: row.impact as Impact | 'maintenance',
    startedAt: new Date(row.started_at),
    monitoringAt: date(row.monitoring_at),
    resolvedAt: date(row.resolved_at),
    scheduledFor: date(row.scheduled_for),
    scheduledUntil: date(row.scheduled_until),
    autoStart: Boolean(row.auto_start),
    autoComplete: Boolean(row.auto_complete),
    postmortemBody: row.postmortem_body,
    postmortemPublishedAt: date(row.postmortem_published_at),
    componentIds,
    updates,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  }
}

export async function findPageRow(
  db: Db,
  pageId: string,
): Promise<Selectable<PagesTable> | undefined> {
  return db.selectFrom('pages').selectAll().where('id', '=', pageId).executeTakeFirst()
}

export async function pageHasLogo(db: Db, pageId: string): Promise<boolean> {
  const row = await db
    .selectFrom('page_logos')
    .select('page_id')
    .where('page_id', '=', pageId)
    .executeTakeFirst()
  return row !== undefined
}

export async function listComponents(db: Db, pageId: string): Promise<Component[]> {
  const rows = await db
    .selectFrom('components')
    .selectAll()
    .where('page_id', '=', pageId)
    .orderBy('position')
    .orderBy('created_at')
    .execute()
  return rows.map(toComponent)
}

/** Incidents with their components and updates (newest update first, as Statuspage lists them). */
export async function loadIncidents(
  db: Db,
  rows: Selectable<IncidentsTable>[],
): Promise<Incident[]> {
  if (rows.length === 0) return []
  const ids = rows.map((r) => r.id)
  const [links, updateRows] = await Promise.all([
    db
      .selectFrom('incident_components')
      .select(['incident_id', 'component_id'])
      .where('incident_id', 'in', ids)
      .execute(),
    db
      .selectFrom('incident_updates')
      .selectAll()
      .where('incident_id', 'in', ids)
      .orderBy('display_at', 'desc')
      .orderBy('created_at', 'desc')
      .execute(),
  ])
  return rows.map((row) =>
    toIncident(
      row,
      links.filter((l) => l.incident_id === row.id).map((l) => l.component_id),
      updateRows.filter((u) => u.incident_id === row.id).map(toUpdate),
    ),
  )
}

export async function loadStatusChanges(
  db: Db,
  componentIds: string[],
  since: Date,
): Promise<StatusChange[]> {
  if (componentIds.length === 0) return []
  const recent = await db
    .selectFrom('component_status_changes')
    .select(['component_id', 'status', 'changed_at', 'incident_id'])
    .where('component_id', 'in', componentIds)
    .where('changed_at', '>=', since.toISOString())
    .execute()
  // The status each component had when the window opened.
  const before = await db
    .selectFrom('component_status_changes as c')
    .select(['c.component_id', 'c.status', 'c.changed_at', 'c.incident_id'])
    .where('c.component_id', 'in', componentIds)
    .where('c.changed_at', '=', (eb) =>
      eb
        .selectFrom('component_status_changes as p')
        .select((e) => e.fn.max('p.changed_at').as('m'))
        .whereRef('p.component_id', '=', 'c.component_id')
        .where('p.changed_at', '<', since.toISOString()),
    )
    .execute()
  return [...before, ...recent].map((row) => ({
    componentId: row.component_id,
    status: row.status as ComponentStatus,
    changedAt: new Date(row.changed_at),
    incidentId: row.incident_id,
  }))
}

export async function bumpPageVersion(db: Db, pageId: string, now: Date): Promise<void> {
  await db
    .updateTable('pages')
    .set((eb) => ({ version: eb('version', '+', 1), updated_at: now }))
    .where('id', '=', pageId)
    .execute()
}
