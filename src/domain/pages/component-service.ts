import type { Kysely } from 'kysely'
import { generateId } from '../../crypto/tokens.js'
import type { DatabaseSchema } from '../../db/schema.js'
import type { Actor } from '../actor.js'
import { auditOrigin, type AuditLog } from '../audit/audit-log.js'
import type { Clock } from '../clock.js'
import { NotFoundError, ValidationError } from '../errors.js'
import { InputChecker, isChecked } from '../validation.js'
import { requirePageRole } from './page-access.js'
import { silentNotifier, type PageNotifier } from './page-notifier.js'
import type { PageEvents } from './page-events.js'
import { bumpPageVersion, listComponents, toComponent } from './page-repository.js'
import { COMPONENT_STATUSES, type Component, type ComponentStatus } from './types.js'

export interface ComponentInput {
  name?: unknown
  description?: unknown
  groupId?: unknown
  isGroup?: unknown
  status?: unknown
  onlyShowIfDegraded?: unknown
  showcase?: unknown
  startDate?: unknown
}

export const MAX_COMPONENTS_PER_PAGE = 500

export function parseComponentStatus(value: unknown): ComponentStatus | undefined {
  return typeof value === 'string' && (COMPONENT_STATUSES as readonly string[]).includes(value)
    ? (value as ComponentStatus)
    : undefined
}

/** Who set a status without a person: an inbound alert or a built-in HTTP check. */
export type MonitoringOrigin = 'alert' | 'check'

/** Records a status change for the uptime history; callers also update components.status. */
export async function recordStatusChange(
  db: Kysely<DatabaseSchema>,
  componentId: string,
  status: ComponentStatus,
  at: Date,
  incidentId: string | null,
  origin: MonitoringOrigin | null = null,
): Promise<string> {
  const id = generateId()
  await db
    .insertInto('component_status_changes')
    .values({
      id,
      component_id: componentId,
      status,
      incident_id: incidentId,
      origin,
      changed_at: at,
    })
    .execute()
  return id
}

export type ComponentService = ReturnType<typeof createComponentService>

export function createComponentService({
  db,
  clock,
  events,
  notifier = silentNotifier,
  audit,
}: {
  notifier?: PageNotifier
  db: Kysely<DatabaseSchema>
  clock: Clock
  events: PageEvents
  audit: AuditLog
}) {
  async function list(actor: Actor, pageId: string): Promise<Component[]> {
    await requirePageRole(db, actor, pageId, 'component.read')
    return listComponents(db, pageId)
  }

  async function loadWithAccount(
    actor: Actor,
    componentId: string,
    action: 'component.read' | 'component.write',
  ) {
    const row = await db
      .selectFrom('components')
      .selectAll()
      .where('id', '=', componentId)
      .executeTakeFirst()
    if (row === undefined) throw new NotFoundError('The component')
    const page = await requirePageRole(db, actor, row.page_id, action)
    return { component: toComponent(row), accountId: page.account_id }
  }

  async function load(
    actor: Actor,
    componentId: string,
    action: 'component.read' | 'component.write',
  ) {
    return (await loadWithAccount(actor, componentId, action)).component
  }

  function recordChange(
    trx: Kysely<DatabaseSchema>,
    actor: Actor,
    accountId: string,
    action: string,
    target: { type: string; id: string },
    details?: Record<string, unknown>,
  ) {
    return audit.record(trx, { accountId, ...auditOrigin(actor), action, target, details })
  }

  async function checkGroup(
    checker: InputChecker,
    pageId: string,
    value: unknown,
    selfId?: string,
  ): Promise<string | null> {
    if (value === undefined || value === null || value === '') return null
    if (typeof value !== 'string') {
      checker.add('groupId', 'Choose a group of this page.')
      return null
    }
    const group = await db
      .selectFrom('components')
      .select(['id', 'is_group', 'page_id'])
      .where('id', '=', value)
      .executeTakeFirst()
    if (group?.page_id !== pageId || !group.is_group || value === selfId) {
      checker.add('groupId', 'Choose a group of this page.')
      return null
    }
    return value
  }

  async function create(actor: Actor, pageId: string, input: ComponentInput): Promise<Component> {
    const page = await requirePageRole(db, actor, pageId, 'component.write')
    const checker = new InputChecker()
    const name = checker.text('name', input.name, { label: 'Name', max: 100 })
    const description = optionalText(checker, 'description', input.description, 500)
    const isGroup = input.isGroup === true || input.isGroup === 'true' || input.isGroup === 'on'
    const status =
      input.status === undefined || input.status === ''
        ? 'operational'
        : parseComponentStatus(input.status)
    if (status === undefined)
      checker.add('status', `Choose one of: ${COMPONENT_STATUSES.join(', ')}.`)
    const groupId = isGroup ? null : await checkGroup(checker, pageId, input.groupId)
    if (isGroup && input.groupId !== undefined && input.groupId !== '' && input.groupId !== null)
      checker.add('groupId', 'Groups cannot be nested: Candor has two levels.')
    const startDate = checkStartDate(checker, input.startDate)
    checker.assertValid()
    const count = await db
      .selectFrom('components')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('page_id', '=', pageId)
      .executeTakeFirstOrThrow()
    if (count.n >= MAX_COMPONENTS_PER_PAGE)
      throw new ValidationError({
        name: `A page has at most ${String(MAX_COMPONENTS_PER_PAGE)} components.`,
      })
    const now = clock.now()
    const id = generateId()
    await db.transaction().execute(async (trx) => {
      const last = await trx
        .selectFrom('components')
        .select((eb) => eb.fn.max('position').as('p'))
        .where('page_id', '=', pageId)
        .executeTakeFirst()
      await trx
        .insertInto('components')
        .values({
          id,
          page_id: pageId,
          group_id: groupId,
          is_group: isGroup,
          name,
          description,
          status: status ?? 'operational',
          position: (last?.p ?? 0) + 1,
          only_show_if_degraded: isChecked(input.onlyShowIfDegraded),
          showcase: input.showcase === undefined ? true : isChecked(input.showcase),
          start_date: startDate,
          created_at: now,
          updated_at: now,
        })
        .execute()
      if (!isGroup) await recordStatusChange(trx, id, status ?? 'operational', now, null)
      await bumpPageVersion(trx, pageId, now)
      await recordChange(trx, actor, page.account_id, 'component.created', componentTarget(id), {
        pageId,
        isGroup,
      })
    })
    events.changed(pageId)
    return load(actor, id, 'component.read')
  }

  async function update(
    actor: Actor,
    componentId: string,
    input: ComponentInput,
  ): Promise<Component> {
    const { component: current, accountId } = await loadWithAccount(
      actor,
      componentId,
      'component.write',
    )
    const checker = new InputChecker()
    const patch: Partial<{
      name: string
      description: string | null
      group_id: string | null
      only_show_if_degraded: boolean
      showcase: boolean
      start_date: string | null
    }> = {}
    if (input.name !== undefined)
      patch.name = checker.text('name', input.name, { label: 'Name', max: 100 })
    if (input.description !== undefined)
      patch.description = optionalText(checker, 'description', input.description, 500)
    if (input.groupId !== undefined) {
      if (current.isGroup && input.groupId !== '' && input.groupId !== null)
        checker.add('groupId', 'Groups cannot be nested: Candor has two levels.')
      else
        patch.group_id = current.isGroup
          ? null
          : await checkGroup(checker, current.pageId, input.groupId, componentId)
    }
    if (input.onlyShowIfDegraded !== undefined)
      patch.only_show_if_degraded = isChecked(input.onlyShowIfDegraded)
    if (input.showcase !== undefined) patch.showcase = isChecked(input.showcase)
    if (input.startDate !== undefined) patch.start_date = checkStartDate(checker, input.startDate)
    let status: ComponentStatus | undefined
    if (input.status !== undefined) {
      status = parseComponentStatus(input.status)
      if (status === undefined)
        checker.add('status', `Choose one of: ${COMPONENT_STATUSES.join(', ')}.`)
      else if (current.isGroup) checker.add('status', "A group's status follows its components.")
    }
    checker.assertValid()
    const now = clock.now()
    await db.transaction().execute(async (trx) => {
      if (Object.keys(patch).length > 0 || status !== undefined) {
        await trx
          .updateTable('components')
          .set({ ...patch, ...(status === undefined ? {} : { status }), updated_at: now })
          .where('id', '=', componentId)
          .execute()
      }
      if (status !== undefined && status !== current.status) {
        const changeId = await recordStatusChange(trx, componentId, status, now, null)
        await notifier.componentChange(trx, {
          pageId: current.pageId,
          componentId,
          changeId,
          oldStatus: current.status,
          newStatus: status,
          at: now,
        })
      }
      await bumpPageVersion(trx, current.pageId, now)
      await recordChange(trx, actor, accountId, 'component.updated', componentTarget(componentId), {
        pageId: current.pageId,
        fields: Object.keys(patch).sort(),
        ...(status === undefined || status === current.status
          ? {}
          : { status: { from: current.status, to: status } }),
      })
    })
    events.changed(current.pageId)
    return load(actor, componentId, 'component.read')
  }

  async function remove(actor: Actor, componentId: string): Promise<void> {
    const { component: current, accountId } = await loadWithAccount(
      actor,
      componentId,
      'component.write',
    )
    const now = clock.now()
    await db.transaction().execute(async (trx) => {
      await trx.deleteFrom('components').where('id', '=', componentId).execute()
      await bumpPageVersion(trx, current.pageId, now)
      await recordChange(trx, actor, accountId, 'component.deleted', componentTarget(componentId), {
        pageId: current.pageId,
        name: current.name,
      })
    })
    events.changed(current.pageId)
  }

  /** Sets the display order; ids not listed keep their relative order after the listed ones. */
  async function reorder(actor: Actor, pageId: string, orderedIds: unknown): Promise<Component[]> {
    const page = await requirePageRole(db, actor, pageId, 'component.write')
    if (
      !Array.isArray(orderedIds) ||
      orderedIds.some((id) => typeof id !== 'string') ||
      orderedIds.length > MAX_COMPONENTS_PER_PAGE
    ) {
      throw new ValidationError({ order: 'Send the component ids in the new order.' })
    }
    const components = await listComponents(db, pageId)
    const known = new Set(components.map((c) => c.id))
    const unknown = (orderedIds as string[]).filter((id) => !known.has(id))
    if (unknown.length > 0)
      throw new ValidationError({ order: 'Some ids are not components of this page.' })
    const listed = [...new Set(orderedIds as string[])]
    const order = [...listed, ...components.map((c) => c.id).filter((id) => !listed.includes(id))]
    const now = clock.now()
    await db.transaction().execute(async (trx) => {
      for (const [index, id] of order.entries()) {
        await trx
          .updateTable('components')
          .set({ position: index + 1 })
          .where('id', '=', id)
          .execute()
      }
      await bumpPageVersion(trx, pageId, now)
      await recordChange(trx, actor, page.account_id, 'component.reordered', {
        type: 'page',
        id: pageId,
      })
    })
    events.changed(pageId)
    return listComponents(db, pageId)
  }

  /** Moves a component one place up or down among its siblings (same group, or top level). */
  async function move(actor: Actor, componentId: string, direction: 'up' | 'down'): Promise<void> {
    const current = await load(actor, componentId, 'component.write')
    const all = await listComponents(db, current.pageId)
    const siblings = all.filter((c) => c.groupId === current.groupId)
    const index = siblings.findIndex((c) => c.id === componentId)
    const swapWith = siblings[direction === 'up' ? index - 1 : index + 1]
    if (swapWith === undefined) return
    const order = all.map((c) => c.id)
    const a = order.indexOf(componentId)
    const b = order.indexOf(swapWith.id)
    order[a] = swapWith.id
    order[b] = componentId
    await reorder(actor, current.pageId, order)
  }

  /**
   * The system path for monitoring (inbound alerts, HTTP checks): no person acts, the caller has
   * authenticated the source. Runs inside the caller's transaction, so the alert bookkeeping and
   * the status commit together; like update(), it records the change for the uptime history,
   * tells the notifier and bumps the page version. The caller announces the page change
   * (events.changed) after its commit. Returns the page id when the status changed.
   */
  async function applyMonitoringStatus(
    trx: Kysely<DatabaseSchema>,
    change: { componentId: string; status: ComponentStatus; at: Date; origin: MonitoringOrigin },
  ): Promise<string | undefined> {
    const row = await trx
      .selectFrom('components')
      .select(['page_id', 'status', 'is_group'])
      .where('id', '=', change.componentId)
      .executeTakeFirst()
    if (row === undefined || Boolean(row.is_group) || row.status === change.status) return undefined
    const oldStatus = parseComponentStatus(row.status) ?? 'operational'
    await trx
      .updateTable('components')
      .set({ status: change.status, updated_at: change.at })
      .where('id', '=', change.componentId)
      .execute()
    const changeId = await recordStatusChange(
      trx,
      change.componentId,
      change.status,
      change.at,
      null,
      change.origin,
    )
    await notifier.componentChange(trx, {
      pageId: row.page_id,
      componentId: change.componentId,
      changeId,
      oldStatus,
      newStatus: change.status,
      at: change.at,
    })
    await bumpPageVersion(trx, row.page_id, change.at)
    return row.page_id
  }

  return {
    list,
    get: (actor: Actor, id: string) => load(actor, id, 'component.read'),
    applyMonitoringStatus,
    create,
    update,
    remove,
    reorder,
    move,
  }
}

function componentTarget(id: string) {
  return { type: 'component', id }
}

function optionalText(
  checker: InputChecker,
  field: string,
  value: unknown,
  max: number,
): string | null {
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === ''))
    return null
  return checker.text(field, value, {
    label: field === 'description' ? 'Description' : field,
    max,
    multiline: true,
  })
}

function checkStartDate(checker: InputChecker, value: unknown): string | null {
  if (value === undefined || value === null || value === '') return null
  if (
    typeof value === 'string' &&
    /^\d{4}-\d{2}-\d{2}$/.test(value) &&
    !Number.isNaN(Date.parse(`${value}T00:00:00Z`))
  )
    return value
  checker.add('startDate', 'Use a date like 2026-01-31.')
  return null
}
