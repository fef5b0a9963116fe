import type { Kysely } from 'kysely'
import type { Logger } from 'pino'
import type { KeyRing } from '../../crypto/key-ring.js'
import { generateId } from '../../crypto/tokens.js'
import type { DatabaseSchema, DeliveryState, SubscriberChannel } from '../../db/schema.js'
import type { NotificationMessage } from '../../notify/message.js'
import type { Actor } from '../actor.js'
import { auditOrigin, type AuditLog } from '../audit/audit-log.js'
import type { Clock } from '../clock.js'
import { NotFoundError } from '../errors.js'
import { requirePageRole } from '../pages/page-access.js'
import type { NotificationEventType, PageNotifier } from '../pages/page-notifier.js'
import { listComponents, loadIncidents } from '../pages/page-repository.js'
import { INDICATOR_DESCRIPTIONS, pageIndicator } from '../pages/status.js'
import type { Locale } from '../pages/types.js'
import type { LinkSigner } from './links.js'
import { subscriberAddressIndex, SUBSCRIBER_CONTEXTS } from './subscriber-repository.js'
import { DeliveryFailure, type Delivery, type FanoutProgress } from './types.js'
import { publicPageUrl } from '../pages/page-url.js'

type Db = Kysely<DatabaseSchema>

/** The part of the job queue the domain needs: add a job inside the caller's transaction. */
export interface JobEnqueuer {
  enqueue(
    trx: Db,
    task: string,
    payload: object,
    options?: { key?: string; runAt?: Date; maxAttempts?: number },
  ): Promise<void>
}

/** Sends one message over one channel; throws DeliveryFailure (or anything) when it could not. */
export interface Dispatcher {
  send(input: {
    deliveryId: string
    channel: SubscriberChannel
    address: string
    secret: string | null
    message: NotificationMessage
    accountId: string
  }): Promise<void>
}

export const FANOUT_TASK = 'notify.fanout'
export const DELIVER_TASK = 'notify.deliver'
const FANOUT_BATCH = 500
/** A delivery left "sending" this long belongs to a worker that died mid-send. */
const STALE_SENDING_MS = 10 * 60_000
const MAX_RETRY_DELAY_MS = 6 * 60 * 60_000
const CLOSED_STATES: readonly DeliveryState[] = ['sent', 'failed', 'cancelled']

export interface NotificationSettings {
  baseUrl: URL
  /** Attempts per delivery before it is marked failed. */
  maxAttempts: number
  /** First retry delay; each further one doubles, up to six hours. */
  retryBaseMs: number
  /** How long links in a message (unsubscribe, manage) stay valid. */
  linkTtlMs: number
  /** How long before a maintenance starts its reminder goes out. */
  reminderMs: number
}

export type NotificationService = ReturnType<typeof createNotificationService>

/**
 * The notification pipeline. A change records a notification event and queues its fan-out in its
 * own transaction (the PageNotifier side). The fan-out creates one delivery per recipient, keyed by
 * (event, recipient) so a fan-out that is run again after a crash adds nobody twice and skips
 * nobody, and queues a send job per delivery in the same transaction. A send claims its delivery
 * before sending and records the outcome; failures are retried with exponential backoff until
 * maxAttempts, then marked failed for the dashboard to show and retry.
 */
export function createNotificationService(deps: {
  db: Db
  keyRing: KeyRing
  clock: Clock
  queue: JobEnqueuer
  dispatcher: Dispatcher
  links: LinkSigner
  logger: Logger
  settings: NotificationSettings
  audit: AuditLog
}) {
  const { db, keyRing, clock, queue, dispatcher, links, logger, settings } = deps

  function pageUrl(page: { slug: string; custom_domain: string | null }): string {
    return publicPageUrl(settings.baseUrl, { slug: page.slug, customDomain: page.custom_domain })
  }

  async function buildMessage(
    trx: Db,
    eventId: string,
    type: NotificationEventType,
    pageId: string,
    at: Date,
    incidentId: string | null,
    change: NotificationMessage['componentChange'],
  ): Promise<Omit<NotificationMessage, 'links'>> {
    const page = await trx
      .selectFrom('pages')
      .selectAll()
      .where('id', '=', pageId)
      .executeTakeFirstOrThrow()
    const components = await listComponents(trx, pageId)
    const openRows = await trx
      .selectFrom('incidents')
      .selectAll()
      .where('page_id', '=', pageId)
      .where('status', 'not in', ['resolved', 'false_alarm', 'completed'])
      .execute()
    const open = await loadIncidents(trx, openRows)
    const indicator = pageIndicator(
      components,
      open.filter((i) => i.kind === 'incident'),
      open.filter((i) => i.kind === 'maintenance'),
    )
    const url = pageUrl(page)
    let incident: NotificationMessage['incident']
    if (incidentId !== null) {
      const row = await trx
        .selectFrom('incidents')
        .selectAll()
        .where('id', '=', incidentId)
        .executeTakeFirstOrThrow()
      incident = (await loadIncidents(trx, [row]))[0]
    }
    return {
      eventId,
      type,
      createdAt: at,
      page: {
        id: page.id,
        name: page.name,
        url,
        locale: page.locale as Locale,
        timeZone: page.time_zone,
        brandColor: page.brand_color,
        statusIndicator: indicator,
        statusDescription: INDICATOR_DESCRIPTIONS[indicator],
      },
      ...(incident === undefined
        ? {}
        : { incident, incidentUrl: `${url.replace(/\/$/, '')}/incidents/${incident.id}` }),
      ...(change === undefined ? {} : { componentChange: change }),
    }
  }

  async function recordEvent(
    trx: Db,
    input: {
      pageId: string
      type: NotificationEventType
      incidentId: string | null
      updateId: string | null
      change?: NotificationMessage['componentChange']
      componentIds: string[]
      at: Date
    },
  ): Promise<void> {
    const id = generateId()
    const message = await buildMessage(
      trx,
      id,
      input.type,
      input.pageId,
      input.at,
      input.incidentId,
      input.change,
    )
    await trx
      .insertInto('notification_events')
      .values({
        id,
        page_id: input.pageId,
        type: input.type,
        incident_id: input.incidentId,
        update_id: input.updateId,
        component_change_id: input.change?.id ?? null,
        component_ids: JSON.stringify(input.componentIds),
        message: JSON.stringify(message),
        fanout_cursor: null,
        fanout_done_at: null,
        created_at: input.at,
      })
      .execute()
    await queue.enqueue(trx, FANOUT_TASK, { eventId: id }, { key: `fanout:${id}` })
  }

  const notifier: PageNotifier = {
    async incidentUpdate(trx, event) {
      const linked = await trx
        .selectFrom('incident_components')
        .select('component_id')
        .where('incident_id', '=', event.incidentId)
        .execute()
      await recordEvent(trx, {
        pageId: event.pageId,
        type: event.type,
        incidentId: event.incidentId,
        updateId: event.updateId,
        componentIds: linked.map((l) => l.component_id),
        at: event.at,
      })
    },
    async componentChange(trx, change) {
      // Component changes go to webhook subscribers only (as on Statuspage); skip the event
      // entirely when there is nobody to tell.
      const anyone = await trx
        .selectFrom('subscribers')
        .select('id')
        .where('page_id', '=', change.pageId)
        .where('channel', '=', 'webhook')
        .where('state', '=', 'active')
        .limit(1)
        .executeTakeFirst()
      if (anyone === undefined) return
      const component = await trx
        .selectFrom('components')
        .select('name')
        .where('id', '=', change.componentId)
        .executeTakeFirstOrThrow()
      await recordEvent(trx, {
        pageId: change.pageId,
        type: 'component.updated',
        incidentId: null,
        updateId: null,
        change: {
          id: change.changeId,
          componentId: change.componentId,
          componentName: component.name,
          oldStatus: change.oldStatus,
          newStatus: change.newStatus,
          createdAt: change.at,
        },
        componentIds: [change.componentId],
        at: change.at,
      })
    },
  }

  /** Components and groups whose subscribers an event concerns (empty: everyone). */
  async function targetsOf(trx: Db, pageId: string, componentIds: string[]): Promise<string[]> {
    if (componentIds.length === 0) return []
    const all = await trx
      .selectFrom('components')
      .select(['id', 'group_id', 'is_group'])
      .where('page_id', '=', pageId)
      .execute()
    const targets = new Set<string>()
    for (const id of componentIds) {
      const component = all.find((c) => c.id === id)
      if (component === undefined) continue
      targets.add(id)
      if (component.group_id !== null) targets.add(component.group_id)
      if (component.is_group) for (const c of all) if (c.group_id === id) targets.add(c.id)
    }
    return [...targets]
  }

  async function insertDeliveries(
    trx: Db,
    event: { id: string; page_id: string },
    recipients: {
      key: string
      subscriberId: string | null
      userId: string | null
      channel: SubscriberChannel
    }[],
    now: Date,
  ): Promise<number> {
    if (recipients.length === 0) return 0
    const inserted = await trx
      .insertInto('deliveries')
      .values(
        recipients.map((r) => ({
          id: generateId(),
          event_id: event.id,
          page_id: event.page_id,
          recipient_key: r.key,
          subscriber_id: r.subscriberId,
          user_id: r.userId,
          channel: r.channel,
          state: 'queued' as const,
          attempts: 0,
          last_error: null,
          next_attempt_at: null,
          sent_at: null,
          created_at: now,
          updated_at: now,
        })),
      )
      .onConflict((oc) => oc.columns(['event_id', 'recipient_key']).doNothing())
      .returning('id')
      .execute()
    for (const row of inserted)
      await queue.enqueue(trx, DELIVER_TASK, { deliveryId: row.id }, { key: `deliver:${row.id}:0` })
    return inserted.length
  }

  /** One batch of the fan-out per transaction, resumable from its cursor after a crash. */
  async function fanout(payload: unknown): Promise<void> {
    const eventId = (payload as { eventId?: unknown }).eventId
    if (typeof eventId !== 'string') throw new Error('fan-out job without an event id')
    for (;;) {
      const more = await db.transaction().execute(async (trx) => {
        const event = await trx
          .selectFrom('notification_events')
          .selectAll()
          .where('id', '=', eventId)
          .executeTakeFirst()
        if (event === undefined || event.fanout_done_at !== null) return false
        const now = clock.now()
        const targets = await targetsOf(
          trx,
          event.page_id,
          JSON.parse(event.component_ids) as string[],
        )
        let query = trx
          .selectFrom('subscribers as s')
          .select(['s.id', 's.channel'])
          .where('s.page_id', '=', event.page_id)
          .where('s.state', '=', 'active')
          .orderBy('s.id')
          .limit(FANOUT_BATCH)
        if (event.fanout_cursor !== null) query = query.where('s.id', '>', event.fanout_cursor)
        if (event.type === 'component.updated') query = query.where('s.channel', '=', 'webhook')
        if (targets.length > 0)
          query = query.where((eb) =>
            eb.or([
              eb('s.all_components', '=', true),
              eb.exists(
                eb
                  .selectFrom('subscriber_components as sc')
                  .select('sc.subscriber_id')
                  .whereRef('sc.subscriber_id', '=', 's.id')
                  .where('sc.component_id', 'in', targets),
              ),
            ]),
          )
        const batch = await query.execute()
        await insertDeliveries(
          trx,
          event,
          batch.map((s) => ({
            key: `subscriber:${s.id}`,
            subscriberId: s.id,
            userId: null,
            channel: s.channel,
          })),
          now,
        )
        const last = batch.at(-1)
        if (batch.length === FANOUT_BATCH && last !== undefined) {
          await trx
            .updateTable('notification_events')
            .set({ fanout_cursor: last.id })
            .where('id', '=', eventId)
            .execute()
          return true
        }
        if (event.type !== 'component.updated') await fanoutToTeam(trx, event, now)
        await trx
          .updateTable('notification_events')
          .set({ fanout_done_at: now })
          .where('id', '=', eventId)
          .execute()
        return false
      })
      if (!more) return
    }
  }

  /** Members of the page's account hear about it by email, unless they opted out. */
  async function fanoutToTeam(
    trx: Db,
    event: { id: string; page_id: string },
    now: Date,
  ): Promise<void> {
    const page = await trx
      .selectFrom('pages')
      .select(['account_id', 'notify_team'])
      .where('id', '=', event.page_id)
      .executeTakeFirstOrThrow()
    if (!page.notify_team) return
    const members = await trx
      .selectFrom('memberships as m')
      .innerJoin('users as u', 'u.id', 'm.user_id')
      .select(['u.id', 'u.email_ciphertext'])
      .where('m.account_id', '=', page.account_id)
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom('member_notification_optouts as o')
              .select('o.user_id')
              .whereRef('o.user_id', '=', 'u.id')
              .where('o.page_id', '=', event.page_id),
          ),
        ),
      )
      .execute()
    if (members.length === 0) return
    // A member who also subscribed by email gets the subscriber's message only.
    const subscribed = new Set(
      (
        await trx
          .selectFrom('subscribers')
          .select('address_index')
          .where('page_id', '=', event.page_id)
          .where('channel', '=', 'email')
          .where('state', '=', 'active')
          .execute()
      ).map((s) => s.address_index),
    )
    const recipients = members
      .filter(
        (m) =>
          !subscribed.has(
            subscriberAddressIndex(
              keyRing,
              'email',
              keyRing.decrypt(m.email_ciphertext, 'users.email'),
            ),
          ),
      )
      .map((m) => ({
        key: `member:${m.id}`,
        subscriberId: null,
        userId: m.id,
        channel: 'email' as const,
      }))
    await insertDeliveries(trx, event, recipients, now)
  }

  function retryDelayMs(attempts: number): number {
    const base = Math.min(settings.retryBaseMs * 2 ** Math.max(0, attempts - 1), MAX_RETRY_DELAY_MS)
    return Math.round(base * (0.8 + Math.random() * 0.4))
  }

  async function deliver(payload: unknown): Promise<void> {
    const deliveryId = (payload as { deliveryId?: unknown }).deliveryId
    if (typeof deliveryId !== 'string') throw new Error('delivery job without a delivery id')
    const row = await db
      .selectFrom('deliveries as d')
      .innerJoin('notification_events as e', 'e.id', 'd.event_id')
      .innerJoin('pages as p', 'p.id', 'e.page_id')
      .select([
        'd.id',
        'd.state',
        'd.attempts',
        'd.updated_at',
        'd.subscriber_id',
        'd.user_id',
        'd.channel',
        'e.message',
        'e.page_id',
        'p.account_id',
      ])
      .where('d.id', '=', deliveryId)
      .executeTakeFirst()
    if (row === undefined || CLOSED_STATES.includes(row.state)) return
    const now = new Date()
    if (row.state === 'sending' && now.getTime() - Date.parse(row.updated_at) < STALE_SENDING_MS)
      return
    const recipient = await recipientOf(row)
    if (recipient === undefined) {
      await db
        .updateTable('deliveries')
        .set({ state: 'cancelled', updated_at: now })
        .where('id', '=', deliveryId)
        .where('state', 'not in', CLOSED_STATES)
        .execute()
      return
    }
    const claimed = await db
      .updateTable('deliveries')
      .set({ state: 'sending', attempts: row.attempts + 1, updated_at: now })
      .where('id', '=', deliveryId)
      .where('state', '=', row.state)
      .where('attempts', '=', row.attempts)
      .executeTakeFirst()
    if (Number(claimed.numUpdatedRows) !== 1) return
    const attempts = row.attempts + 1
    const message = reviveMessage(row.message)
    const expires = new Date(now.getTime() + settings.linkTtlMs)
    const token = links.sign(recipient.subject, expires)
    try {
      await dispatcher.send({
        deliveryId,
        channel: row.channel,
        address: recipient.address,
        secret: recipient.secret,
        accountId: row.account_id,
        message: {
          ...message,
          links: {
            manage: new URL(`/subscriptions/${token}`, settings.baseUrl).toString(),
            unsubscribe: new URL(
              `/subscriptions/${token}/unsubscribe`,
              settings.baseUrl,
            ).toString(),
          },
        },
      })
    } catch (error) {
      const retryable = !(error instanceof DeliveryFailure) || error.retryable
      const reason = describe(error)
      const done = new Date()
      if (retryable && attempts < settings.maxAttempts) {
        const next = new Date(done.getTime() + retryDelayMs(attempts))
        await db.transaction().execute(async (trx) => {
          await trx
            .updateTable('deliveries')
            .set({ state: 'queued', last_error: reason, next_attempt_at: next, updated_at: done })
            .where('id', '=', deliveryId)
            .execute()
          await queue.enqueue(
            trx,
            DELIVER_TASK,
            { deliveryId },
            { key: `deliver:${deliveryId}:${String(attempts)}`, runAt: next },
          )
        })
        logger.warn({ deliveryId, attempts, err: reason }, 'delivery failed, will retry')
      } else {
        await db
          .updateTable('deliveries')
          .set({ state: 'failed', last_error: reason, next_attempt_at: null, updated_at: done })
          .where('id', '=', deliveryId)
          .execute()
        logger.warn({ deliveryId, attempts, err: reason }, 'delivery failed for good')
      }
      return
    }
    const sentAt = new Date()
    await db
      .updateTable('deliveries')
      .set({
        state: 'sent',
        sent_at: sentAt,
        last_error: null,
        next_attempt_at: null,
        updated_at: sentAt,
      })
      .where('id', '=', deliveryId)
      .execute()
  }

  async function recipientOf(row: {
    subscriber_id: string | null
    user_id: string | null
    page_id: string
  }): Promise<
    | { address: string; secret: string | null; subject: Parameters<LinkSigner['sign']>[0] }
    | undefined
  > {
    if (row.subscriber_id !== null) {
      const s = await db
        .selectFrom('subscribers')
        .select(['id', 'state', 'address_ciphertext', 'secret_ciphertext', 'manage_generation'])
        .where('id', '=', row.subscriber_id)
        .executeTakeFirst()
      if (s === undefined || s.state !== 'active') return undefined
      return {
        address: keyRing.decrypt(s.address_ciphertext, SUBSCRIBER_CONTEXTS.address),
        secret:
          s.secret_ciphertext === null
            ? null
            : keyRing.decrypt(s.secret_ciphertext, SUBSCRIBER_CONTEXTS.secret),
        subject: { kind: 'subscriber', subscriberId: s.id, generation: s.manage_generation },
      }
    }
    if (row.user_id !== null) {
      const member = await db
        .selectFrom('users as u')
        .innerJoin('memberships as m', 'm.user_id', 'u.id')
        .innerJoin('pages as p', 'p.account_id', 'm.account_id')
        .select(['u.id', 'u.email_ciphertext'])
        .where('u.id', '=', row.user_id)
        .where('p.id', '=', row.page_id)
        .executeTakeFirst()
      const optedOut = await db
        .selectFrom('member_notification_optouts')
        .select('user_id')
        .where('user_id', '=', row.user_id)
        .where('page_id', '=', row.page_id)
        .executeTakeFirst()
      if (member === undefined || optedOut !== undefined) return undefined
      return {
        address: keyRing.decrypt(member.email_ciphertext, 'users.email'),
        secret: null,
        subject: { kind: 'member', userId: member.id, pageId: row.page_id },
      }
    }
    return undefined
  }

  /** Reminders for maintenances about to start, each sent once (claimed in its transaction). */
  async function sendMaintenanceReminders(): Promise<number> {
    const now = clock.now()
    const soon = new Date(now.getTime() + settings.reminderMs)
    const due = await db
      .selectFrom('incidents')
      .select(['id', 'page_id'])
      .where('kind', '=', 'maintenance')
      .where('status', '=', 'scheduled')
      .where('reminder_sent_at', 'is', null)
      .where('scheduled_for', '>', now.toISOString())
      .where('scheduled_for', '<=', soon.toISOString())
      .execute()
    let sent = 0
    for (const m of due) {
      await db.transaction().execute(async (trx) => {
        const claimed = await trx
          .updateTable('incidents')
          .set({ reminder_sent_at: now })
          .where('id', '=', m.id)
          .where('reminder_sent_at', 'is', null)
          .executeTakeFirst()
        if (Number(claimed.numUpdatedRows) !== 1) return
        const first = await trx
          .selectFrom('incident_updates')
          .select('deliver_notifications')
          .where('incident_id', '=', m.id)
          .orderBy('created_at')
          .limit(1)
          .executeTakeFirst()
        if (first !== undefined && !first.deliver_notifications) return
        await notifier.incidentUpdate(trx, {
          pageId: m.page_id,
          incidentId: m.id,
          updateId: null,
          type: 'maintenance.reminder',
          at: now,
        })
        sent++
      })
    }
    return sent
  }

  async function progress(
    actor: Actor,
    pageId: string,
    options: { incidentId?: string; limit?: number } = {},
  ): Promise<FanoutProgress[]> {
    await requirePageRole(db, actor, pageId, 'notification.read')
    let query = db
      .selectFrom('notification_events')
      .select(['id', 'type', 'incident_id', 'created_at', 'fanout_done_at'])
      .where('page_id', '=', pageId)
      .orderBy('created_at', 'desc')
      .limit(options.limit ?? 20)
    if (options.incidentId !== undefined)
      query = query.where('incident_id', '=', options.incidentId)
    const events = await query.execute()
    if (events.length === 0) return []
    const counts = await db
      .selectFrom('deliveries')
      .select(['event_id', 'state', (eb) => eb.fn.countAll<number | string>().as('n')])
      .where(
        'event_id',
        'in',
        events.map((e) => e.id),
      )
      .groupBy(['event_id', 'state'])
      .execute()
    return events.map((e) => {
      const byState: Record<DeliveryState, number> = {
        queued: 0,
        sending: 0,
        sent: 0,
        failed: 0,
        cancelled: 0,
      }
      for (const c of counts) if (c.event_id === e.id) byState[c.state] = Number(c.n)
      return {
        eventId: e.id,
        type: e.type,
        incidentId: e.incident_id,
        createdAt: new Date(e.created_at),
        fanoutDone: e.fanout_done_at !== null,
        counts: byState,
      }
    })
  }

  async function listDeliveries(
    actor: Actor,
    pageId: string,
    filter: { subscriberId?: string; eventId?: string; state?: DeliveryState; limit?: number },
  ): Promise<Delivery[]> {
    await requirePageRole(db, actor, pageId, 'notification.read')
    let query = db
      .selectFrom('deliveries as d')
      .innerJoin('notification_events as e', 'e.id', 'd.event_id')
      .selectAll('d')
      .select(['e.type', 'e.incident_id'])
      .where('d.page_id', '=', pageId)
      .orderBy('d.created_at', 'desc')
      .orderBy('d.id')
      .limit(Math.min(filter.limit ?? 100, 1000))
    if (filter.subscriberId !== undefined)
      query = query.where('d.subscriber_id', '=', filter.subscriberId)
    if (filter.eventId !== undefined) query = query.where('d.event_id', '=', filter.eventId)
    if (filter.state !== undefined) query = query.where('d.state', '=', filter.state)
    const rows = await query.execute()
    return rows.map((r) => ({
      id: r.id,
      eventId: r.event_id,
      eventType: r.type,
      incidentId: r.incident_id,
      subscriberId: r.subscriber_id,
      userId: r.user_id,
      channel: r.channel,
      state: r.state,
      attempts: r.attempts,
      lastError: r.last_error,
      nextAttemptAt: r.next_attempt_at === null ? null : new Date(r.next_attempt_at),
      sentAt: r.sent_at === null ? null : new Date(r.sent_at),
      createdAt: new Date(r.created_at),
    }))
  }

  /** Queues failed deliveries of a page again (all of them, or those of one event). */
  async function retryFailed(
    actor: Actor,
    pageId: string,
    options: { eventId?: string; deliveryId?: string } = {},
  ): Promise<number> {
    const page = await requirePageRole(db, actor, pageId, 'notification.retry')
    const now = new Date()
    return db.transaction().execute(async (trx) => {
      let query = trx
        .selectFrom('deliveries')
        .select(['id'])
        .where('page_id', '=', pageId)
        .where('state', '=', 'failed')
      if (options.eventId !== undefined) query = query.where('event_id', '=', options.eventId)
      if (options.deliveryId !== undefined) query = query.where('id', '=', options.deliveryId)
      const failed = await query.execute()
      if (options.deliveryId !== undefined && failed.length === 0)
        throw new NotFoundError('The failed delivery')
      for (const d of failed) {
        await trx
          .updateTable('deliveries')
          .set({ state: 'queued', attempts: 0, next_attempt_at: null, updated_at: now })
          .where('id', '=', d.id)
          .where('state', '=', 'failed')
          .execute()
        await queue.enqueue(
          trx,
          DELIVER_TASK,
          { deliveryId: d.id },
          { key: `deliver:${d.id}:retry:${String(now.getTime())}` },
        )
      }
      await deps.audit.record(trx, {
        accountId: page.account_id,
        ...auditOrigin(actor),
        action: 'notification.retried',
        target: { type: 'page', id: pageId },
        details: { ...options, deliveries: failed.length },
      })
      return failed.length
    })
  }

  /** Delivery logs older than the retention period go; events go with their last delivery. */
  async function pruneDeliveries(retentionMs: number): Promise<number> {
    const cutoff = new Date(clock.now().getTime() - retentionMs).toISOString()
    const result = await db
      .deleteFrom('deliveries')
      .where('created_at', '<', cutoff)
      .where('state', 'in', CLOSED_STATES)
      .executeTakeFirst()
    await db
      .deleteFrom('notification_events')
      .where('created_at', '<', cutoff)
      .where('fanout_done_at', 'is not', null)
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom('deliveries')
              .select('deliveries.id')
              .whereRef('deliveries.event_id', '=', 'notification_events.id'),
          ),
        ),
      )
      .execute()
    return Number(result.numDeletedRows)
  }

  return {
    notifier,
    handlers: { [FANOUT_TASK]: fanout, [DELIVER_TASK]: deliver },
    sendMaintenanceReminders,
    progress,
    listDeliveries,
    retryFailed,
    pruneDeliveries,
  }
}

const DATE_KEYS = new Set([
  'createdAt',
  'updatedAt',
  'startedAt',
  'monitoringAt',
  'resolvedAt',
  'scheduledFor',
  'scheduledUntil',
  'displayAt',
  'postmortemPublishedAt',
])

/** The stored message, with its dates as Date objects again. */
export function reviveMessage(json: string): Omit<NotificationMessage, 'links'> {
  return JSON.parse(json, (key, value: unknown) =>
    DATE_KEYS.has(key) && typeof value === 'string' ? new Date(value) : value,
  ) as Omit<NotificationMessage, 'links'>
}

function describe(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error)
  return text.slice(0, 500)
}
