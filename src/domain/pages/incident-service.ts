import type { Kysely, Selectable } from 'kysely'
import { generateId } from '../../crypto/tokens.js'
import type { DatabaseSchema, IncidentsTable } from '../../db/schema.js'
import type { Actor } from '../actor.js'
import { auditOrigin, type AuditLog } from '../audit/audit-log.js'
import type { Clock } from '../clock.js'
import { ConflictError, NotFoundError, ValidationError } from '../errors.js'
import { InputChecker, isChecked } from '../validation.js'
import { parseComponentStatus, recordStatusChange } from './component-service.js'
import { requirePageRole } from './page-access.js'
import { silentNotifier, type NotificationEventType, type PageNotifier } from './page-notifier.js'
import type { PageEvents } from './page-events.js'
import {
  bumpPageVersion,
  findPageRow,
  loadIncidents,
  serializeAffected,
  toComponent,
  toUpdate,
} from './page-repository.js'
import { parseDateTimeInput } from './time-zone.js'
import {
  IMPACTS,
  INCIDENT_STATUSES,
  MAINTENANCE_STATUSES,
  type AffectedComponent,
  type ComponentStatus,
  type Impact,
  type Incident,
  type IncidentKind,
  type IncidentUpdate,
} from './types.js'

type Db = Kysely<DatabaseSchema>

export const BODY_MAX = 20_000
export const TITLE_MAX = 200

export interface UpdateInput {
  status?: unknown
  body?: unknown
  /** componentId → new status; components listed are attached to the incident. */
  components?: unknown
  deliverNotifications?: unknown
  /** Backdating: when the update is shown as posted (defaults to now). */
  displayAt?: unknown
}

export interface IncidentInput extends UpdateInput {
  name?: unknown
  impact?: unknown
  /** Components to attach without changing their status. */
  componentIds?: unknown
}

export interface MaintenanceInput {
  name?: unknown
  body?: unknown
  scheduledFor?: unknown
  scheduledUntil?: unknown
  componentIds?: unknown
  autoStart?: unknown
  autoComplete?: unknown
  deliverNotifications?: unknown
}

export interface Revision {
  id: string
  updateId: string
  action: 'edited' | 'deleted'
  previousStatus: string
  previousBody: string
  previousDisplayAt: Date
  actorUserId: string
  createdAt: Date
}

export interface IncidentTemplate {
  id: string
  pageId: string
  name: string
  title: string
  body: string
  status: string
  impact: Impact
}

/** The system acts for scheduled transitions; people act through an Actor. */
type Author = { userId: string } | null

export type IncidentService = ReturnType<typeof createIncidentService>

export function createIncidentService({
  db,
  clock,
  events,
  notifier = silentNotifier,
  audit,
}: {
  notifier?: PageNotifier
  db: Db
  clock: Clock
  events: PageEvents
  audit: AuditLog
}) {
  /** Recorded last in each transaction, after the rows it describes. */
  function recordChange(
    trx: Db,
    actor: Actor,
    accountId: string,
    action: string,
    target: { type: string; id: string },
    details?: Record<string, unknown>,
  ) {
    return audit.record(trx, { accountId, ...auditOrigin(actor), action, target, details })
  }

  async function loadIncidentRow(
    actor: Actor,
    incidentId: string,
    action: 'incident.read' | 'incident.write' | 'incident.delete',
  ) {
    const row = await db
      .selectFrom('incidents')
      .selectAll()
      .where('id', '=', incidentId)
      .executeTakeFirst()
    if (row === undefined) throw new NotFoundError('The incident')
    const page = await requirePageRole(db, actor, row.page_id, action)
    return { row, page }
  }

  async function get(
    actor: Actor,
    incidentId: string,
  ): Promise<Incident & { revisions: Revision[] }> {
    const { row } = await loadIncidentRow(actor, incidentId, 'incident.read')
    const [incident] = await loadIncidents(db, [row])
    const revisions = await db
      .selectFrom('incident_update_revisions')
      .selectAll()
      .where('incident_id', '=', incidentId)
      .orderBy('created_at', 'desc')
      .execute()
    if (incident === undefined) throw new NotFoundError('The incident')
    return {
      ...incident,
      revisions: revisions.map((r) => ({
        id: r.id,
        updateId: r.update_id,
        action: r.action,
        previousStatus: r.previous_status,
        previousBody: r.previous_body,
        previousDisplayAt: new Date(r.previous_display_at),
        actorUserId: r.actor_user_id,
        createdAt: new Date(r.created_at),
      })),
    }
  }

  async function list(
    actor: Actor,
    pageId: string,
    kind: IncidentKind,
    limit = 100,
  ): Promise<Incident[]> {
    await requirePageRole(db, actor, pageId, 'incident.read')
    const rows = await db
      .selectFrom('incidents')
      .selectAll()
      .where('page_id', '=', pageId)
      .where('kind', '=', kind)
      .orderBy(kind === 'incident' ? 'started_at' : 'scheduled_for', 'desc')
      .limit(limit)
      .execute()
    return loadIncidents(db, rows)
  }

  /**
   * Applies the requested component statuses, records them in the uptime history and returns the
   * Statuspage-style affected_components list (names of grouped components carry the group name).
   */
  async function applyComponents(
    trx: Db,
    pageId: string,
    incidentId: string,
    changes: ReadonlyMap<string, ComponentStatus>,
    at: Date,
  ): Promise<AffectedComponent[] | null> {
    if (changes.size === 0) return null
    const rows = await trx
      .selectFrom('components')
      .selectAll()
      .where('page_id', '=', pageId)
      .execute()
    const byId = new Map(rows.map((r) => [r.id, toComponent(r)]))
    const affected: AffectedComponent[] = []
    for (const [componentId, status] of changes) {
      const component = byId.get(componentId)
      if (component === undefined || component.isGroup) continue
      const group = component.groupId === null ? undefined : byId.get(component.groupId)
      affected.push({
        code: component.id,
        name: group === undefined ? component.name : `${group.name} - ${component.name}`,
        oldStatus: component.status,
        newStatus: status,
      })
      if (component.status !== status) {
        await trx
          .updateTable('components')
          .set({ status, updated_at: at })
          .where('id', '=', componentId)
          .execute()
        const changeId = await recordStatusChange(trx, componentId, status, at, incidentId)
        await notifier.componentChange(trx, {
          pageId,
          componentId,
          changeId,
          oldStatus: component.status,
          newStatus: status,
          at,
        })
      }
      await trx
        .insertInto('incident_components')
        .values({ incident_id: incidentId, component_id: componentId })
        .onConflict((oc) => oc.doNothing())
        .execute()
    }
    return affected
  }

  async function checkComponents(
    checker: InputChecker,
    pageId: string,
    components: unknown,
    componentIds: unknown,
  ): Promise<{ changes: Map<string, ComponentStatus>; attach: string[] }> {
    const changes = new Map<string, ComponentStatus>()
    const attach: string[] = []
    const rows = await db
      .selectFrom('components')
      .select(['id', 'is_group'])
      .where('page_id', '=', pageId)
      .execute()
    const known = new Map(rows.map((r) => [r.id, Boolean(r.is_group)]))
    if (components !== undefined && components !== null) {
      if (typeof components !== 'object' || Array.isArray(components))
        checker.add('components', 'Give each affected component a status.')
      else {
        for (const [id, value] of Object.entries(components as Record<string, unknown>)) {
          const status = parseComponentStatus(value)
          if (known.get(id) !== false)
            checker.add('components', 'Some components are not components of this page.')
          else if (status === undefined)
            checker.add(
              'components',
              'Component statuses are operational, degraded_performance, partial_outage, major_outage or under_maintenance.',
            )
          else changes.set(id, status)
        }
      }
    }
    if (componentIds !== undefined && componentIds !== null) {
      const ids = Array.isArray(componentIds) ? componentIds : [componentIds]
      for (const id of ids) {
        if (typeof id !== 'string' || known.get(id) !== false)
          checker.add('componentIds', 'Some components are not components of this page.')
        else attach.push(id)
      }
    }
    return { changes, attach }
  }

  function checkDisplayAt(
    checker: InputChecker,
    value: unknown,
    timeZone: string,
    now: Date,
  ): Date {
    if (value === undefined || value === null || value === '') return now
    const date =
      typeof value === 'string'
        ? parseDateTimeInput(value, timeZone)
        : value instanceof Date
          ? value
          : undefined
    if (date === undefined) {
      checker.add('displayAt', 'Use a date and time like 2026-01-31T14:30.')
      return now
    }
    if (date.getTime() > now.getTime() + 60_000)
      checker.add('displayAt', 'An update cannot be dated in the future.')
    return date
  }

  async function create(actor: Actor, pageId: string, input: IncidentInput): Promise<Incident> {
    const page = await requirePageRole(db, actor, pageId, 'incident.write')
    const now = clock.now()
    const checker = new InputChecker()
    const name = checker.text('name', input.name, { label: 'Title', max: TITLE_MAX })
    const status = oneOf(checker, 'status', input.status ?? 'investigating', INCIDENT_STATUSES)
    const impact = oneOf(checker, 'impact', input.impact ?? 'minor', IMPACTS)
    const body = checker.text('body', input.body, {
      label: 'Message',
      max: BODY_MAX,
      multiline: true,
    })
    const displayAt = checkDisplayAt(checker, input.displayAt, page.time_zone, now)
    const { changes, attach } = await checkComponents(
      checker,
      pageId,
      input.components,
      input.componentIds,
    )
    checker.assertValid()
    const id = generateId()
    await db.transaction().execute(async (trx) => {
      await trx
        .insertInto('incidents')
        .values({
          id,
          page_id: pageId,
          kind: 'incident',
          name,
          status,
          impact,
          started_at: displayAt,
          monitoring_at: status === 'monitoring' ? displayAt : null,
          resolved_at: status === 'resolved' || status === 'false_alarm' ? displayAt : null,
          scheduled_for: null,
          scheduled_until: null,
          auto_start: false,
          auto_complete: false,
          maintenance_restore: null,
          postmortem_body: null,
          postmortem_published_at: null,
          created_at: now,
          updated_at: now,
        })
        .execute()
      for (const componentId of attach)
        await trx
          .insertInto('incident_components')
          .values({ incident_id: id, component_id: componentId })
          .onConflict((oc) => oc.doNothing())
          .execute()
      const affected = await applyComponents(
        trx,
        pageId,
        id,
        changes,
        displayAt.getTime() < now.getTime() ? displayAt : now,
      )
      const deliverNotifications = truthy(input.deliverNotifications, true)
      const updateId = await insertUpdate(trx, {
        incidentId: id,
        status,
        body,
        displayAt,
        deliverNotifications,
        affected,
        author: { userId: actor.userId },
        now,
      })
      if (deliverNotifications)
        await notifier.incidentUpdate(trx, {
          pageId,
          incidentId: id,
          updateId,
          type: 'incident.created',
          at: now,
        })
      await bumpPageVersion(trx, pageId, now)
      await recordChange(trx, actor, page.account_id, 'incident.created', incidentTarget(id), {
        pageId,
        status,
        impact,
        notified: deliverNotifications,
      })
    })
    events.changed(pageId)
    return get(actor, id)
  }

  async function scheduleMaintenance(
    actor: Actor,
    pageId: string,
    input: MaintenanceInput,
  ): Promise<Incident> {
    const page = await requirePageRole(db, actor, pageId, 'incident.write')
    const now = clock.now()
    const checker = new InputChecker()
    const name = checker.text('name', input.name, { label: 'Title', max: TITLE_MAX })
    const body = checker.text('body', input.body, {
      label: 'Message',
      max: BODY_MAX,
      multiline: true,
    })
    const scheduledFor =
      typeof input.scheduledFor === 'string'
        ? parseDateTimeInput(input.scheduledFor, page.time_zone)
        : undefined
    const scheduledUntil =
      typeof input.scheduledUntil === 'string'
        ? parseDateTimeInput(input.scheduledUntil, page.time_zone)
        : undefined
    if (scheduledFor === undefined)
      checker.add('scheduledFor', 'Give the start, like 2026-01-31T22:00.')
    if (scheduledUntil === undefined)
      checker.add('scheduledUntil', 'Give the end, like 2026-02-01T02:00.')
    if (
      scheduledFor !== undefined &&
      scheduledUntil !== undefined &&
      scheduledUntil <= scheduledFor
    )
      checker.add('scheduledUntil', 'The window must end after it starts.')
    const { attach } = await checkComponents(checker, pageId, undefined, input.componentIds)
    checker.assertValid()
    if (scheduledFor === undefined || scheduledUntil === undefined) throw new ValidationError({})
    const id = generateId()
    await db.transaction().execute(async (trx) => {
      await trx
        .insertInto('incidents')
        .values({
          id,
          page_id: pageId,
          kind: 'maintenance',
          name,
          status: 'scheduled',
          impact: 'maintenance',
          started_at: now,
          monitoring_at: null,
          resolved_at: null,
          scheduled_for: scheduledFor,
          scheduled_until: scheduledUntil,
          auto_start: truthy(input.autoStart, true),
          auto_complete: truthy(input.autoComplete, true),
          maintenance_restore: null,
          postmortem_body: null,
          postmortem_published_at: null,
          created_at: now,
          updated_at: now,
        })
        .execute()
      for (const componentId of attach)
        await trx
          .insertInto('incident_components')
          .values({ incident_id: id, component_id: componentId })
          .execute()
      const deliverNotifications = truthy(input.deliverNotifications, true)
      const updateId = await insertUpdate(trx, {
        incidentId: id,
        status: 'scheduled',
        body,
        displayAt: now,
        deliverNotifications,
        affected: null,
        author: { userId: actor.userId },
        now,
      })
      if (deliverNotifications)
        await notifier.incidentUpdate(trx, {
          pageId,
          incidentId: id,
          updateId,
          type: 'maintenance.scheduled',
          at: now,
        })
      await bumpPageVersion(trx, pageId, now)
      await recordChange(trx, actor, page.account_id, 'maintenance.scheduled', incidentTarget(id), {
        pageId,
        notified: deliverNotifications,
      })
    })
    events.changed(pageId)
    await runMaintenanceTransitions()
    return get(actor, id)
  }

  async function addUpdate(
    actor: Actor,
    incidentId: string,
    input: UpdateInput,
  ): Promise<Incident> {
    const { row, page } = await loadIncidentRow(actor, incidentId, 'incident.write')
    const now = clock.now()
    const checker = new InputChecker()
    const status =
      row.kind === 'incident'
        ? oneOf(checker, 'status', input.status, INCIDENT_STATUSES)
        : oneOf(checker, 'status', input.status, MAINTENANCE_STATUSES)
    const body = checker.text('body', input.body, {
      label: 'Message',
      max: BODY_MAX,
      multiline: true,
    })
    const displayAt = checkDisplayAt(checker, input.displayAt, page.time_zone, now)
    const { changes } = await checkComponents(checker, row.page_id, input.components, undefined)
    checker.assertValid()
    await db.transaction().execute(async (trx) => {
      const current = await trx
        .selectFrom('incidents')
        .selectAll()
        .where('id', '=', incidentId)
        .executeTakeFirstOrThrow()
      const deliverNotifications = truthy(input.deliverNotifications, true)
      await transition(trx, current, status, body, changes, {
        displayAt,
        now,
        deliverNotifications,
        author: { userId: actor.userId },
        explicitComponents: input.components !== undefined && input.components !== null,
      })
      await recordChange(
        trx,
        actor,
        page.account_id,
        `${row.kind}.update_posted`,
        incidentTarget(incidentId),
        { pageId: row.page_id, status, notified: deliverNotifications },
      )
    })
    events.changed(row.page_id)
    return get(actor, incidentId)
  }

  /**
   * Moves an incident or maintenance to a new status with an update. Resolving or completing
   * without explicit component statuses returns the components it took down to where they were.
   */
  async function transition(
    trx: Db,
    row: Selectable<IncidentsTable>,
    status: string,
    body: string,
    requested: ReadonlyMap<string, ComponentStatus>,
    options: {
      displayAt: Date
      now: Date
      deliverNotifications: boolean
      author: Author
      explicitComponents: boolean
    },
  ): Promise<void> {
    const { displayAt, now } = options
    const changes = new Map(requested)
    let restore: string | null | undefined
    if (!options.explicitComponents) {
      const linked = await trx
        .selectFrom('incident_components')
        .innerJoin('components', 'components.id', 'incident_components.component_id')
        .select(['components.id', 'components.status'])
        .where('incident_components.incident_id', '=', row.id)
        .execute()
      if (row.kind === 'maintenance' && status === 'in_progress' && row.status === 'scheduled') {
        const saved: Record<string, string> = {}
        for (const c of linked) {
          saved[c.id] = c.status
          changes.set(c.id, 'under_maintenance')
        }
        restore = JSON.stringify(saved)
      } else if (
        (row.kind === 'maintenance' && status === 'completed') ||
        (row.kind === 'incident' && (status === 'resolved' || status === 'false_alarm'))
      ) {
        const saved =
          row.maintenance_restore === null
            ? {}
            : (JSON.parse(row.maintenance_restore) as Record<string, string>)
        for (const c of linked) {
          const back = parseComponentStatus(saved[c.id]) ?? 'operational'
          if (c.status !== back && (row.kind === 'incident' || c.status === 'under_maintenance'))
            changes.set(c.id, row.kind === 'incident' ? 'operational' : back)
        }
      }
    }
    const affected = await applyComponents(
      trx,
      row.page_id,
      row.id,
      changes,
      displayAt.getTime() < now.getTime() ? displayAt : now,
    )
    const closing = status === 'resolved' || status === 'false_alarm' || status === 'completed'
    await trx
      .updateTable('incidents')
      .set({
        status,
        updated_at: now,
        ...(status === 'monitoring' || status === 'verifying' ? { monitoring_at: displayAt } : {}),
        ...(closing ? { resolved_at: displayAt } : { resolved_at: null }),
        ...(row.kind === 'maintenance' && status === 'in_progress' && row.status === 'scheduled'
          ? { started_at: displayAt }
          : {}),
        ...(restore === undefined ? {} : { maintenance_restore: restore }),
      })
      .where('id', '=', row.id)
      .execute()
    const updateId = await insertUpdate(trx, {
      incidentId: row.id,
      status,
      body,
      displayAt,
      deliverNotifications: options.deliverNotifications,
      affected,
      author: options.author,
      now,
    })
    if (options.deliverNotifications)
      await notifier.incidentUpdate(trx, {
        pageId: row.page_id,
        incidentId: row.id,
        updateId,
        type: eventTypeOf(row.kind, status),
        at: now,
      })
    await bumpPageVersion(trx, row.page_id, now)
  }

  async function updateIncident(
    actor: Actor,
    incidentId: string,
    input: { name?: unknown; impact?: unknown; scheduledFor?: unknown; scheduledUntil?: unknown },
  ): Promise<Incident> {
    const { row, page } = await loadIncidentRow(actor, incidentId, 'incident.write')
    const checker = new InputChecker()
    const patch: Partial<{
      name: string
      impact: string
      scheduled_for: Date
      scheduled_until: Date
    }> = {}
    if (input.name !== undefined)
      patch.name = checker.text('name', input.name, { label: 'Title', max: TITLE_MAX })
    if (input.impact !== undefined) {
      if (row.kind === 'maintenance')
        checker.add('impact', 'A maintenance has the maintenance impact.')
      else patch.impact = oneOf(checker, 'impact', input.impact, IMPACTS)
    }
    if (row.kind === 'maintenance') {
      for (const [field, column] of [
        ['scheduledFor', 'scheduled_for'],
        ['scheduledUntil', 'scheduled_until'],
      ] as const) {
        const value = input[field]
        if (value === undefined) continue
        const date =
          typeof value === 'string' ? parseDateTimeInput(value, page.time_zone) : undefined
        if (date === undefined) checker.add(field, 'Use a date and time like 2026-01-31T22:00.')
        else patch[column] = date
      }
      const from =
        patch.scheduled_for ??
        (row.scheduled_for === null ? undefined : new Date(row.scheduled_for))
      const until =
        patch.scheduled_until ??
        (row.scheduled_until === null ? undefined : new Date(row.scheduled_until))
      if (from !== undefined && until !== undefined && until <= from)
        checker.add('scheduledUntil', 'The window must end after it starts.')
    }
    checker.assertValid()
    const now = clock.now()
    await db.transaction().execute(async (trx) => {
      await trx
        .updateTable('incidents')
        .set({ ...patch, updated_at: now })
        .where('id', '=', incidentId)
        .execute()
      await bumpPageVersion(trx, row.page_id, now)
      await recordChange(
        trx,
        actor,
        page.account_id,
        `${row.kind}.updated`,
        incidentTarget(incidentId),
        { pageId: row.page_id, fields: Object.keys(patch).sort() },
      )
    })
    events.changed(row.page_id)
    return get(actor, incidentId)
  }

  async function loadUpdate(actor: Actor, updateId: string) {
    const update = await db
      .selectFrom('incident_updates')
      .selectAll()
      .where('id', '=', updateId)
      .executeTakeFirst()
    if (update === undefined) throw new NotFoundError('The update')
    const { row, page } = await loadIncidentRow(actor, update.incident_id, 'incident.write')
    return { update, row, page }
  }

  /** Edits keep the previous text in the audit trail. */
  async function editUpdate(
    actor: Actor,
    updateId: string,
    input: { body?: unknown; displayAt?: unknown },
  ): Promise<IncidentUpdate> {
    const { update, row, page } = await loadUpdate(actor, updateId)
    const now = clock.now()
    const checker = new InputChecker()
    const body =
      input.body === undefined
        ? update.body
        : checker.text('body', input.body, { label: 'Message', max: BODY_MAX, multiline: true })
    const displayAt =
      input.displayAt === undefined
        ? new Date(update.display_at)
        : checkDisplayAt(checker, input.displayAt, page.time_zone, now)
    checker.assertValid()
    await db.transaction().execute(async (trx) => {
      await insertRevision(trx, update, 'edited', actor.userId, now)
      await trx
        .updateTable('incident_updates')
        .set({ body, display_at: displayAt, updated_at: now })
        .where('id', '=', updateId)
        .execute()
      await bumpPageVersion(trx, row.page_id, now)
      await recordChange(
        trx,
        actor,
        page.account_id,
        `${row.kind}.update_edited`,
        {
          type: 'incident_update',
          id: updateId,
        },
        { incidentId: row.id, pageId: row.page_id },
      )
    })
    events.changed(row.page_id)
    const fresh = await db
      .selectFrom('incident_updates')
      .selectAll()
      .where('id', '=', updateId)
      .executeTakeFirstOrThrow()
    return toUpdate(fresh)
  }

  async function deleteUpdate(actor: Actor, updateId: string): Promise<void> {
    const { update, row, page } = await loadUpdate(actor, updateId)
    const now = clock.now()
    await db.transaction().execute(async (trx) => {
      const count = await trx
        .selectFrom('incident_updates')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('incident_id', '=', row.id)
        .executeTakeFirstOrThrow()
      if (count.n <= 1)
        throw new ConflictError(
          'last_update',
          'An incident keeps at least one update; delete the incident instead.',
        )
      await insertRevision(trx, update, 'deleted', actor.userId, now)
      await trx.deleteFrom('incident_updates').where('id', '=', updateId).execute()
      await bumpPageVersion(trx, row.page_id, now)
      await recordChange(
        trx,
        actor,
        page.account_id,
        `${row.kind}.update_deleted`,
        {
          type: 'incident_update',
          id: updateId,
        },
        { incidentId: row.id, pageId: row.page_id },
      )
    })
    events.changed(row.page_id)
  }

  async function setPostmortem(
    actor: Actor,
    incidentId: string,
    input: { body?: unknown; publish?: unknown },
  ): Promise<Incident> {
    const { row, page } = await loadIncidentRow(actor, incidentId, 'incident.write')
    const checker = new InputChecker()
    const body =
      typeof input.body === 'string' && input.body.trim() === ''
        ? null
        : checker.text('body', input.body, { label: 'Postmortem', max: 50_000, multiline: true })
    checker.assertValid()
    const now = clock.now()
    const publish = truthy(input.publish, false) && body !== null
    await db.transaction().execute(async (trx) => {
      await trx
        .updateTable('incidents')
        .set({
          postmortem_body: body,
          postmortem_published_at: publish
            ? row.postmortem_published_at === null
              ? now
              : new Date(row.postmortem_published_at)
            : null,
          updated_at: now,
        })
        .where('id', '=', incidentId)
        .execute()
      await bumpPageVersion(trx, row.page_id, now)
      await recordChange(
        trx,
        actor,
        page.account_id,
        `${row.kind}.postmortem_saved`,
        incidentTarget(incidentId),
        { pageId: row.page_id, published: publish, removed: body === null },
      )
    })
    events.changed(row.page_id)
    return get(actor, incidentId)
  }

  async function remove(actor: Actor, incidentId: string): Promise<void> {
    const { row, page } = await loadIncidentRow(actor, incidentId, 'incident.delete')
    const now = clock.now()
    await db.transaction().execute(async (trx) => {
      await trx.deleteFrom('incidents').where('id', '=', incidentId).execute()
      await bumpPageVersion(trx, row.page_id, now)
      await recordChange(
        trx,
        actor,
        page.account_id,
        `${row.kind}.deleted`,
        incidentTarget(incidentId),
        {
          pageId: row.page_id,
          name: row.name,
        },
      )
    })
    events.changed(row.page_id)
  }

  /**
   * Starts and completes automatic maintenances whose time has come, including windows that
   * opened or closed while no worker was running. Each step is a conditional update on the
   * expected status, so several workers running this at once do each step once.
   */
  async function runMaintenanceTransitions(): Promise<number> {
    const now = clock.now()
    let steps = 0
    const due = await db
      .selectFrom('incidents')
      .selectAll()
      .where('kind', '=', 'maintenance')
      .where((eb) =>
        eb.or([
          eb.and([
            eb('status', '=', 'scheduled'),
            eb('auto_start', '=', true),
            eb('scheduled_for', '<=', now.toISOString()),
          ]),
          eb.and([
            eb('status', 'in', ['in_progress', 'verifying']),
            eb('auto_complete', '=', true),
            eb('scheduled_until', '<=', now.toISOString()),
          ]),
        ]),
      )
      .execute()
    const locales = new Map(
      (
        await db
          .selectFrom('pages')
          .select(['id', 'locale'])
          .where('id', 'in', due.length === 0 ? [''] : [...new Set(due.map((d) => d.page_id))])
          .execute()
      ).map((p) => [p.id, p.locale]),
    )
    for (const candidate of due) {
      const changed = await db.transaction().execute(async (trx) => {
        let row = await trx
          .selectFrom('incidents')
          .selectAll()
          .where('id', '=', candidate.id)
          .executeTakeFirst()
        if (row === undefined) return false
        const announced = await wasAnnounced(trx, row.id)
        let moved = false
        if (
          row.status === 'scheduled' &&
          Boolean(row.auto_start) &&
          row.scheduled_for !== null &&
          new Date(row.scheduled_for) <= now
        ) {
          if (!(await claim(trx, row.id, 'scheduled', now))) return false
          await transition(
            trx,
            row,
            'in_progress',
            automaticMessage(row, 'in_progress', locales),
            new Map(),
            systemOptions(now, announced),
          )
          row = await trx
            .selectFrom('incidents')
            .selectAll()
            .where('id', '=', candidate.id)
            .executeTakeFirstOrThrow()
          moved = true
          steps++
        }
        if (
          (row.status === 'in_progress' || row.status === 'verifying') &&
          Boolean(row.auto_complete) &&
          row.scheduled_until !== null &&
          new Date(row.scheduled_until) <= now
        ) {
          if (!(await claim(trx, row.id, row.status, now))) return moved
          await transition(
            trx,
            row,
            'completed',
            automaticMessage(row, 'completed', locales),
            new Map(),
            // One millisecond after a start made in the same run, so the timeline keeps its order.
            systemOptions(moved ? new Date(now.getTime() + 1) : now, announced),
          )
          moved = true
          steps++
        }
        return moved
      })
      if (changed) events.changed(candidate.page_id)
    }
    return steps
  }

  async function listTemplates(actor: Actor, pageId: string): Promise<IncidentTemplate[]> {
    await requirePageRole(db, actor, pageId, 'template.read')
    const rows = await db
      .selectFrom('incident_templates')
      .selectAll()
      .where('page_id', '=', pageId)
      .orderBy('name')
      .execute()
    return rows.map((r) => ({
      id: r.id,
      pageId: r.page_id,
      name: r.name,
      title: r.title,
      body: r.body,
      status: r.status,
      impact: r.impact as Impact,
    }))
  }

  async function saveTemplate(
    actor: Actor,
    pageId: string,
    templateId: string | null,
    input: { name?: unknown; title?: unknown; body?: unknown; status?: unknown; impact?: unknown },
  ): Promise<IncidentTemplate> {
    const page = await requirePageRole(db, actor, pageId, 'template.write')
    const checker = new InputChecker()
    const name = checker.text('name', input.name, { label: 'Template name', max: 100 })
    const title = checker.text('title', input.title, { label: 'Incident title', max: TITLE_MAX })
    const body = checker.text('body', input.body, {
      label: 'Message',
      max: BODY_MAX,
      multiline: true,
    })
    const status = oneOf(checker, 'status', input.status ?? 'investigating', INCIDENT_STATUSES)
    const impact = oneOf(checker, 'impact', input.impact ?? 'minor', IMPACTS)
    checker.assertValid()
    const now = clock.now()
    const id = templateId ?? generateId()
    await db.transaction().execute(async (trx) => {
      if (templateId === null) {
        await trx
          .insertInto('incident_templates')
          .values({
            id,
            page_id: pageId,
            name,
            title,
            body,
            status,
            impact,
            created_at: now,
            updated_at: now,
          })
          .execute()
      } else {
        const result = await trx
          .updateTable('incident_templates')
          .set({ name, title, body, status, impact, updated_at: now })
          .where('id', '=', templateId)
          .where('page_id', '=', pageId)
          .executeTakeFirst()
        if (Number(result.numUpdatedRows) === 0) throw new NotFoundError('The template')
      }
      await recordChange(
        trx,
        actor,
        page.account_id,
        templateId === null ? 'incident_template.created' : 'incident_template.updated',
        { type: 'incident_template', id },
        { pageId },
      )
    })
    return { id, pageId, name, title, body, status, impact }
  }

  async function deleteTemplate(actor: Actor, pageId: string, templateId: string): Promise<void> {
    const page = await requirePageRole(db, actor, pageId, 'template.write')
    await db.transaction().execute(async (trx) => {
      const result = await trx
        .deleteFrom('incident_templates')
        .where('id', '=', templateId)
        .where('page_id', '=', pageId)
        .executeTakeFirst()
      if (Number(result.numDeletedRows) === 0) throw new NotFoundError('The template')
      await recordChange(
        trx,
        actor,
        page.account_id,
        'incident_template.deleted',
        { type: 'incident_template', id: templateId },
        { pageId },
      )
    })
  }

  return {
    get,
    list,
    create,
    scheduleMaintenance,
    addUpdate,
    updateIncident,
    editUpdate,
    deleteUpdate,
    setPostmortem,
    remove,
    runMaintenanceTransitions,
    listTemplates,
    saveTemplate,
    deleteTemplate,
    pageTimeZone: async (pageId: string) => (await findPageRow(db, pageId))?.time_zone ?? 'UTC',
  }
}

const AUTOMATIC_MESSAGES: Record<string, Record<'in_progress' | 'completed', string>> = {
  en: {
    in_progress:
      'Scheduled maintenance is currently in progress. We will provide updates as necessary.',
    completed: 'The scheduled maintenance has been completed.',
  },
  fr: {
    in_progress:
      'La maintenance programmée est en cours. Nous publierons des mises à jour si nécessaire.',
    completed: 'La maintenance programmée est terminée.',
  },
}

/** The automatic start and completion updates are written in the page's language. */
function automaticMessage(
  row: { page_id: string },
  step: 'in_progress' | 'completed',
  locales: ReadonlyMap<string, string>,
): string {
  return (
    (AUTOMATIC_MESSAGES[locales.get(row.page_id) ?? 'en'] ?? AUTOMATIC_MESSAGES['en'])?.[step] ?? ''
  )
}

function systemOptions(now: Date, deliverNotifications: boolean) {
  return {
    displayAt: now,
    now,
    deliverNotifications,
    author: null,
    explicitComponents: false,
  }
}

/** Automatic steps of a maintenance are announced when its scheduling was. */
async function wasAnnounced(trx: Db, incidentId: string): Promise<boolean> {
  const first = await trx
    .selectFrom('incident_updates')
    .select('deliver_notifications')
    .where('incident_id', '=', incidentId)
    .orderBy('created_at')
    .limit(1)
    .executeTakeFirst()
  return first === undefined ? true : Boolean(first.deliver_notifications)
}

/** Takes the row for one worker: only the update that sees the expected status wins. */
async function claim(trx: Db, incidentId: string, expected: string, now: Date): Promise<boolean> {
  const result = await trx
    .updateTable('incidents')
    .set({ updated_at: now })
    .where('id', '=', incidentId)
    .where('status', '=', expected)
    .executeTakeFirst()
  return Number(result.numUpdatedRows) === 1
}

async function insertUpdate(
  trx: Db,
  input: {
    incidentId: string
    status: string
    body: string
    displayAt: Date
    deliverNotifications: boolean
    affected: AffectedComponent[] | null
    author: Author
    now: Date
  },
): Promise<string> {
  const id = generateId()
  await trx
    .insertInto('incident_updates')
    .values({
      id,
      incident_id: input.incidentId,
      status: input.status,
      body: input.body,
      display_at: input.displayAt,
      deliver_notifications: input.deliverNotifications,
      affected_components: serializeAffected(input.affected),
      created_by: input.author?.userId ?? null,
      created_at: input.now,
      updated_at: input.now,
    })
    .execute()
  return id
}

function incidentTarget(id: string) {
  return { type: 'incident', id }
}

function eventTypeOf(kind: IncidentKind, status: string): NotificationEventType {
  if (kind === 'incident') return 'incident.updated'
  if (status === 'in_progress') return 'maintenance.started'
  if (status === 'completed') return 'maintenance.completed'
  return 'maintenance.updated'
}

async function insertRevision(
  trx: Db,
  update: { id: string; incident_id: string; status: string; body: string; display_at: string },
  action: 'edited' | 'deleted',
  actorUserId: string,
  now: Date,
): Promise<void> {
  await trx
    .insertInto('incident_update_revisions')
    .values({
      id: generateId(),
      incident_id: update.incident_id,
      update_id: update.id,
      action,
      previous_status: update.status,
      previous_body: update.body,
      previous_display_at: new Date(update.display_at),
      actor_user_id: actorUserId,
      created_at: now,
    })
    .execute()
}

function oneOf<T extends string>(
  checker: InputChecker,
  field: string,
  value: unknown,
  allowed: readonly T[],
): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T
  checker.add(field, `Choose one of: ${allowed.join(', ')}.`)
  return allowed[0] as T
}

function truthy(value: unknown, fallback: boolean): boolean {
  if (value === undefined || value === null || value === '') return fallback
  return isChecked(value)
}
