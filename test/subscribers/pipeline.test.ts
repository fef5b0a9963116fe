import { Webhook } from 'standardwebhooks'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { QueueRunner } from '../../src/jobs/queue.js'
import {
  SUBSCRIBER_CONTEXTS,
  storeConsentText,
  subscriberAddressIndex,
} from '../../src/domain/subscribers/subscriber-repository.js'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import { addMember } from '../helpers/factories.js'
import { actorFor, createPageFixture, type PageFixture } from '../helpers/page-factories.js'
import { startSmtpSink, type ReceivedMail, type SmtpSink } from '../helpers/smtp-sink.js'
import { testDialects } from '../helpers/test-db.js'
import { startReceiver, type Receiver } from '../notify/receiver.js'

const origin = { ip: '203.0.113.7', userAgent: 'Mozilla/5.0 test' }
let nextIp = 1
/** Each subscription from its own address, as real visitors are (one address is rate-limited). */
const visitor = () => ({ ...origin, ip: `198.51.100.${String(nextIp++ % 250)}` })

/** Polls until the check passes: the queue works in the background, on its own schedule. */
async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, ms = 15_000) {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await check()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

function linkIn(mail: ReceivedMail, pattern: RegExp): string {
  const match = pattern.exec(mail.raw)
  if (match?.[1] === undefined) throw new Error(`no link matching ${String(pattern)} in mail`)
  return match[1]
}

describe.each(testDialects)('notification pipeline (%s)', (dialect) => {
  let t: TestApp
  let smtp: SmtpSink
  let receiver: Receiver
  let runner: QueueRunner | undefined

  beforeAll(async () => {
    smtp = await startSmtpSink()
    receiver = await startReceiver()
    t = await buildTestApp(dialect, {
      smtpPort: smtp.port,
      env: {
        NOTIFY_RETRY_BASE_MS: '50',
        NOTIFY_MAX_ATTEMPTS: '3',
        NOTIFY_CONCURRENCY: '4',
        WEBHOOK_ALLOWED_RANGES: '127.0.0.1/32',
      },
    })
  })
  afterEach(async () => {
    await runner?.stop()
    runner = undefined
  })
  afterAll(async () => {
    await t.close()
    await smtp.close()
    await receiver.close()
  })

  const startQueue = async () => {
    runner = await t.runtime.queue.start(t.runtime.services.notifications.handlers, {
      concurrency: 4,
    })
  }

  const db = () => t.runtime.database.db

  async function deliveriesOf(pageId: string) {
    return db()
      .selectFrom('deliveries')
      .selectAll()
      .where('page_id', '=', pageId)
      .orderBy('created_at')
      .execute()
  }

  /** Subscribes an address through the public flow and confirms it from the emailed link. */
  async function subscribeAndConfirm(f: PageFixture, email: string, componentIds: string[] = []) {
    const { subscribers } = t.runtime.services
    const form = await subscribers.subscribeForm(f.page.id)
    await subscribers.subscribe(
      f.page.id,
      { email, componentIds, consentVersion: form.consentVersion },
      visitor(),
    )
    await t.runtime.background.drain()
    const mail = await smtp.waitFor((m) => m.to.includes(email) && /confirm/i.test(m.subject))
    const token = linkIn(mail, /\/subscriptions\/confirm\/([A-Za-z0-9_-]+)/)
    return subscribers.confirm(token)
  }

  it('double opt-in: nothing is sent before the link is followed, and the link works once', async () => {
    const f = await createPageFixture(t)
    const { subscribers, incidents } = t.runtime.services
    const form = await subscribers.subscribeForm(f.page.id)
    await subscribers.subscribe(
      f.page.id,
      { email: 'Pending@Example.com', consentVersion: form.consentVersion },
      origin,
    )
    await t.runtime.background.drain()
    const confirmation = await smtp.waitFor((m) => m.to.includes('pending@example.com'))
    await startQueue()
    await incidents.create(f.actor, f.page.id, { name: 'Before confirming', body: 'x' })
    const pendingEvent = await eventually(async () =>
      (
        await db()
          .selectFrom('notification_events')
          .selectAll()
          .where('page_id', '=', f.page.id)
          .execute()
      ).find((e) => e.fanout_done_at !== null),
    )
    expect(pendingEvent.type).toBe('incident.created')
    expect((await deliveriesOf(f.page.id)).filter((d) => d.subscriber_id !== null)).toHaveLength(0)

    const token = linkIn(confirmation, /\/subscriptions\/confirm\/([A-Za-z0-9_-]+)/)
    const confirmed = await subscribers.confirm(token)
    expect(confirmed.pageId).toBe(f.page.id)
    await expect(subscribers.confirm(token)).rejects.toThrow('The confirmation link was not found.')

    const view = await subscribers.fromLink(confirmed.manageToken)
    expect(view.kind === 'subscriber' && view.subscriber.state).toBe('active')
    if (view.kind !== 'subscriber') throw new Error('expected a subscriber')
    expect(view.subscriber.consent).toMatchObject({
      source: 'form',
      ip: origin.ip,
      userAgent: origin.userAgent,
    })
    expect(view.subscriber.consent.text).toContain(f.page.name)
  })

  it('subscribing an address that is already subscribed changes nothing and tells nothing', async () => {
    const f = await createPageFixture(t)
    const { subscribers } = t.runtime.services
    await subscribeAndConfirm(f, 'twice@example.com')
    const before = await db()
      .selectFrom('subscribers')
      .selectAll()
      .where('page_id', '=', f.page.id)
      .execute()
    const form = await subscribers.subscribeForm(f.page.id)
    await expect(
      subscribers.subscribe(
        f.page.id,
        { email: 'twice@example.com', consentVersion: form.consentVersion },
        origin,
      ),
    ).resolves.toBeUndefined()
    await t.runtime.background.drain()
    await smtp.waitFor((m) => m.to.includes('twice@example.com') && /already/i.test(m.subject))
    const after = await db()
      .selectFrom('subscribers')
      .selectAll()
      .where('page_id', '=', f.page.id)
      .execute()
    expect(after).toEqual(before)
    // The honeypot: accepted, nothing stored, nothing sent.
    await subscribers.subscribe(
      f.page.id,
      {
        email: 'bot@example.com',
        website: 'http://spam.example',
        consentVersion: form.consentVersion,
      },
      origin,
    )
    expect(
      await db().selectFrom('subscribers').select('id').where('page_id', '=', f.page.id).execute(),
    ).toHaveLength(1)
  })

  it('targets only the subscribers of affected components, groups included, and each once', async () => {
    const f = await createPageFixture(t)
    const { incidents } = t.runtime.services
    await subscribeAndConfirm(f, 'all@example.com')
    await subscribeAndConfirm(f, 'api-only@example.com', [f.components.api.id])
    await subscribeAndConfirm(f, 'regions@example.com', [f.groups.regions.id])
    await subscribeAndConfirm(f, 'eu@example.com', [f.components.eu.id])
    await startQueue()
    await incidents.create(f.actor, f.page.id, {
      name: 'US region down',
      impact: 'major',
      body: 'The US region is unreachable.',
      components: { [f.components.us.id]: 'major_outage' },
    })
    const sent = await eventually(async () => {
      const rows = await deliveriesOf(f.page.id)
      const subscriberRows = rows.filter((d) => d.subscriber_id !== null)
      return subscriberRows.length === 2 && subscriberRows.every((d) => d.state === 'sent')
        ? subscriberRows
        : undefined
    })
    expect(sent).toHaveLength(2)
    const usMails = await eventually(() => {
      const mails = smtp.messages.filter((m) => m.subject.includes('US region down'))
      return mails.length >= 3 ? mails : undefined
    })
    const recipients = usMails.flatMap((m) => m.to).sort()
    // The owner is a team member and hears about it too; api-only and eu subscribers do not.
    expect(recipients).toEqual(['all@example.com', f.owner.email, 'regions@example.com'].sort())
    const mail = usMails.find((m) => m.to.includes('all@example.com'))
    if (mail === undefined) throw new Error('no mail')
    expect(mail.raw).toMatch(
      /^List-Unsubscribe:\s+<http:\/\/candor\.test\/subscriptions\/[^>\s]+\/unsubscribe>/m,
    )
    expect(mail.raw).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click/m)
    expect(mail.raw).toMatch(/Content-Type: multipart\/alternative/)

    // Running the fan-out of the same event again (a crash and a retry) adds nobody.
    const event = await db()
      .selectFrom('notification_events')
      .selectAll()
      .where('page_id', '=', f.page.id)
      .executeTakeFirstOrThrow()
    await db()
      .updateTable('notification_events')
      .set({ fanout_done_at: null, fanout_cursor: null })
      .where('id', '=', event.id)
      .execute()
    await t.runtime.services.notifications.handlers['notify.fanout']({ eventId: event.id })
    const delivery = (await deliveriesOf(f.page.id))[0]
    if (delivery === undefined) throw new Error('no delivery')
    await t.runtime.services.notifications.handlers['notify.deliver']({ deliveryId: delivery.id })
    expect(await deliveriesOf(f.page.id)).toHaveLength(3)
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(smtp.messages.filter((m) => m.subject.includes('US region down'))).toHaveLength(3)
  })

  it('retries when the SMTP server refuses, then records the message as sent', async () => {
    const f = await createPageFixture(t)
    await subscribeAndConfirm(f, 'retry@example.com')
    await db()
      .updateTable('pages')
      .set({ notify_team: false })
      .where('id', '=', f.page.id)
      .execute()
    smtp.refuseNext(2)
    await startQueue()
    await t.runtime.services.incidents.create(f.actor, f.page.id, {
      name: 'Flaky mail',
      body: 'x',
    })
    const delivery = await eventually(async () =>
      (await deliveriesOf(f.page.id)).find((d) => d.state === 'sent'),
    )
    expect(delivery.attempts).toBe(3)
    expect(smtp.messages.filter((m) => m.subject.includes('Flaky mail'))).toHaveLength(1)
  })

  it('marks a delivery failed after the last attempt, and the dashboard can retry it', async () => {
    const f = await createPageFixture(t)
    await subscribeAndConfirm(f, 'dead@example.com')
    await db()
      .updateTable('pages')
      .set({ notify_team: false })
      .where('id', '=', f.page.id)
      .execute()
    smtp.refuseNext(3)
    await startQueue()
    await t.runtime.services.incidents.create(f.actor, f.page.id, {
      name: 'Dead letter',
      body: 'x',
    })
    const failed = await eventually(async () =>
      (await deliveriesOf(f.page.id)).find((d) => d.state === 'failed'),
    )
    expect(failed.attempts).toBe(3)
    expect(failed.last_error).toMatch(/Try again later/)
    const progress = await t.runtime.services.notifications.progress(f.actor, f.page.id)
    expect(progress[0]?.counts.failed).toBe(1)
    const viewer = await addMember(t, f.owner.accountId, 'viewer')
    await expect(
      t.runtime.services.notifications.retryFailed(actorFor(viewer.userId), f.page.id),
    ).rejects.toThrow(/editor role/)
    expect(await t.runtime.services.notifications.retryFailed(f.actor, f.page.id)).toBe(1)
    await eventually(async () =>
      (await deliveriesOf(f.page.id)).find((d) => d.id === failed.id && d.state === 'sent'),
    )
  })

  it('signs webhooks per Standard Webhooks, sends component updates only to webhooks, and refuses private addresses', async () => {
    const f = await createPageFixture(t)
    const { subscribers, components } = t.runtime.services
    const hook = await subscribers.add(f.actor, f.page.id, {
      channel: 'webhook',
      address: `${receiver.origin}/hooks/status`,
    })
    expect(hook.secret).toMatch(/^whsec_/)
    await subscribeAndConfirm(f, 'human@example.com')
    await startQueue()
    const before = receiver.requests.length
    await components.update(f.actor, f.components.api.id, { status: 'degraded_performance' })
    const request = await eventually(() => receiver.requests[before])
    const verified = new Webhook(hook.secret ?? '').verify(request.body, {
      'webhook-id': String(request.headers['webhook-id']),
      'webhook-timestamp': String(request.headers['webhook-timestamp']),
      'webhook-signature': String(request.headers['webhook-signature']),
    }) as Record<string, unknown>
    expect(Object.keys(verified)).toEqual(['meta', 'page', 'component_update', 'component'])
    expect(verified['component_update']).toMatchObject({
      old_status: 'operational',
      new_status: 'degraded_performance',
      component_id: f.components.api.id,
    })
    expect(() =>
      new Webhook(hook.secret ?? '').verify(request.body.replace('degraded', 'DEGRADED'), {
        'webhook-id': String(request.headers['webhook-id']),
        'webhook-timestamp': String(request.headers['webhook-timestamp']),
        'webhook-signature': String(request.headers['webhook-signature']),
      }),
    ).toThrow()
    // The email subscriber hears nothing about a component change.
    await eventually(async () => {
      const rows = await deliveriesOf(f.page.id)
      return rows.length === 1 && rows[0]?.state === 'sent' ? rows : undefined
    })
    expect(
      smtp.messages.some((m) => m.to.includes('human@example.com') && /API/.test(m.subject)),
    ).toBe(false)

    // Private and metadata addresses are refused when a subscriber is added...
    for (const address of ['http://10.0.0.1/x', 'http://169.254.169.254/latest', 'http://[::1]/x'])
      await expect(
        subscribers.add(f.actor, f.page.id, { channel: 'webhook', address }),
      ).rejects.toThrow('Some fields are not valid')
    // ...and again at every send: a name that later points elsewhere (DNS rebinding) fails at
    // once, without retries.
    const blocked = await subscribers.add(f.actor, f.page.id, {
      channel: 'webhook',
      address: `${receiver.origin}/rebound`,
    })
    await db()
      .updateTable('subscribers')
      .set({
        address_ciphertext: t.runtime.keyRing.encrypt(
          'http://127.0.0.2:9/blocked',
          SUBSCRIBER_CONTEXTS.address,
        ),
      })
      .where('id', '=', blocked.subscriber.id)
      .execute()
    await components.update(f.actor, f.components.web.id, { status: 'major_outage' })
    const refused = await eventually(async () =>
      (await deliveriesOf(f.page.id)).find(
        (d) => d.subscriber_id === blocked.subscriber.id && d.state === 'failed',
      ),
    )
    expect(refused.attempts).toBe(1)
    expect(refused.last_error).toMatch(/blocked_address/)
  })

  it('one-click unsubscribe stops messages; team members can opt out; erasure anonymises', async () => {
    const f = await createPageFixture(t)
    const { subscribers, incidents } = t.runtime.services
    const { manageToken } = await subscribeAndConfirm(f, 'leaver@example.com')
    await startQueue()
    await incidents.create(f.actor, f.page.id, { name: 'First notice', body: 'x' })
    const first = await smtp.waitFor(
      (m) => m.to.includes('leaver@example.com') && m.subject.includes('First notice'),
    )
    const unsubscribeToken = linkIn(
      first,
      /^List-Unsubscribe:\s+<[^>]*\/subscriptions\/([^/>\s]+)\/unsubscribe>/m,
    )
    await subscribers.unsubscribeByLink(unsubscribeToken)
    await subscribers.setMemberOptOut(f.actor, f.page.id, true)
    await incidents.create(f.actor, f.page.id, { name: 'Second notice', body: 'x' })
    await eventually(async () =>
      (
        await db()
          .selectFrom('notification_events')
          .select('fanout_done_at')
          .where('page_id', '=', f.page.id)
          .execute()
      ).every((e) => e.fanout_done_at !== null)
        ? true
        : undefined,
    )
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(smtp.messages.some((m) => m.subject.includes('Second notice'))).toBe(false)

    const exported = await subscribers.exportByLink(manageToken)
    expect(exported).toMatchObject({ address: 'leaver@example.com', state: 'unsubscribed' })
    expect((exported['deliveries'] as unknown[]).length).toBe(1)
    await subscribers.eraseByLink(manageToken)
    await expect(subscribers.fromLink(manageToken)).rejects.toThrow(
      'The subscription link was not found.',
    )
    const kept = await deliveriesOf(f.page.id)
    expect(
      kept.some((d) => d.recipient_key.startsWith('erased:') && d.subscriber_id === null),
    ).toBe(true)
    const raw = JSON.stringify(
      await db().selectFrom('subscribers').selectAll().where('page_id', '=', f.page.id).execute(),
    )
    expect(raw).not.toContain('leaver')
  })

  it('reminds subscribers before a maintenance starts, once', async () => {
    const f = await createPageFixture(t)
    const { incidents, notifications } = t.runtime.services
    const start = new Date(t.clock.now().getTime() + 2 * 60 * 60_000)
    const pad = (n: number) => String(n).padStart(2, '0')
    const local = (d: Date) =>
      `${String(d.getUTCFullYear())}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`
    await incidents.scheduleMaintenance(f.actor, f.page.id, {
      name: 'Database upgrade',
      body: 'Planned.',
      scheduledFor: local(start),
      scheduledUntil: local(new Date(start.getTime() + 60 * 60_000)),
      componentIds: [f.components.api.id],
    })
    expect(await notifications.sendMaintenanceReminders()).toBe(0)
    t.clock.advance(70 * 60_000)
    expect(await notifications.sendMaintenanceReminders()).toBe(1)
    expect(await notifications.sendMaintenanceReminders()).toBe(0)
    const types = (
      await db()
        .selectFrom('notification_events')
        .select('type')
        .where('page_id', '=', f.page.id)
        .orderBy('created_at')
        .execute()
    ).map((e) => e.type)
    expect(types).toEqual(['maintenance.scheduled', 'maintenance.reminder'])
  })

  it('fans out in batches, resumes after a crash, and two workers send each message once', async () => {
    const f = await createPageFixture(t)
    await db()
      .updateTable('pages')
      .set({ notify_team: false })
      .where('id', '=', f.page.id)
      .execute()
    const { keyRing } = t.runtime
    const now = new Date()
    const consentTextId = await storeConsentText(db(), 'imported for a test', now)
    const count = 601
    const rows = Array.from({ length: count }, (_, i) => {
      const email = `bulk${String(i)}@example.com`
      return {
        id: `bulk${String(i).padStart(8, '0')}`,
        page_id: f.page.id,
        channel: 'email' as const,
        address_ciphertext: keyRing.encrypt(email, SUBSCRIBER_CONTEXTS.address),
        address_index: subscriberAddressIndex(keyRing, 'email', email),
        secret_ciphertext: null,
        state: 'active' as const,
        all_components: true,
        confirm_token_hash: null,
        confirm_expires_at: null,
        confirmed_at: now,
        unsubscribed_at: null,
        consent_at: now,
        consent_source: 'import' as const,
        consent_text_id: consentTextId,
        consent_ip_ciphertext: null,
        consent_user_agent_ciphertext: null,
        consent_actor_user_id: null,
        manage_generation: 1,
        created_at: now,
        updated_at: now,
      }
    })
    for (let i = 0; i < rows.length; i += 200)
      await db()
        .insertInto('subscribers')
        .values(rows.slice(i, i + 200))
        .execute()
    await t.runtime.services.incidents.create(f.actor, f.page.id, { name: 'Bulk', body: 'x' })
    const event = await db()
      .selectFrom('notification_events')
      .selectAll()
      .where('page_id', '=', f.page.id)
      .executeTakeFirstOrThrow()
    const { handlers } = t.runtime.services.notifications
    await handlers['notify.fanout']({ eventId: event.id })
    expect(await deliveriesOf(f.page.id)).toHaveLength(count)
    // A crash after the first batch committed: the cursor says where to go on.
    await db()
      .updateTable('notification_events')
      .set({ fanout_done_at: null, fanout_cursor: rows[499]?.id ?? null })
      .where('id', '=', event.id)
      .execute()
    await handlers['notify.fanout']({ eventId: event.id })
    const deliveries = await deliveriesOf(f.page.id)
    expect(deliveries).toHaveLength(count)
    expect(new Set(deliveries.map((d) => d.recipient_key)).size).toBe(count)

    // Two worker processes' worth of runners share the queue; every message goes out once.
    const second = await t.runtime.queue.start(handlers, { concurrency: 4 })
    await startQueue()
    try {
      await eventually(async () => {
        const states = await deliveriesOf(f.page.id)
        return states.every((d) => d.state === 'sent') ? true : undefined
      }, 60_000)
    } finally {
      await second.stop()
    }
    const bulk = smtp.messages.filter((m) => m.subject.includes('Bulk'))
    expect(bulk).toHaveLength(count)
    expect(new Set(bulk.flatMap((m) => m.to)).size).toBe(count)
  }, 90_000)

  it('retention: purges unconfirmed and unsubscribed subscribers and old delivery logs', async () => {
    const f = await createPageFixture(t)
    const { subscribers, notifications, incidents } = t.runtime.services
    const form = await subscribers.subscribeForm(f.page.id)
    await subscribers.subscribe(
      f.page.id,
      { email: 'never-confirmed@example.com', consentVersion: form.consentVersion },
      visitor(),
    )
    const kept = await subscribeAndConfirm(f, 'stays@example.com')
    const leaving = await subscribeAndConfirm(f, 'leaves@example.com')
    await startQueue()
    await incidents.create(f.actor, f.page.id, { name: 'Old news', body: 'x' })
    await eventually(async () => {
      const rows = await deliveriesOf(f.page.id)
      return rows.length >= 2 && rows.every((d) => d.state === 'sent') ? rows : undefined
    })
    await subscribers.unsubscribeByLink(leaving.manageToken)
    const week = 7 * 24 * 60 * 60_000
    // Nothing is old enough yet.
    expect(await subscribers.purgeInactive(week)).toBe(0)
    expect(await notifications.pruneDeliveries(90 * 24 * 60 * 60_000)).toBe(0)

    t.clock.advance(week + 60_000)
    const purged = await subscribers.purgeInactive(week)
    expect(purged).toBeGreaterThanOrEqual(2)
    const left = await db()
      .selectFrom('subscribers')
      .select('id')
      .where('page_id', '=', f.page.id)
      .execute()
    expect(left).toHaveLength(1)
    const stays = await subscribers.fromLink(kept.manageToken)
    expect(stays.kind === 'subscriber' && stays.subscriber.address).toBe('stays@example.com')
    await expect(subscribers.fromLink(leaving.manageToken)).rejects.toThrow('was not found')

    t.clock.advance(90 * 24 * 60 * 60_000)
    expect(await notifications.pruneDeliveries(90 * 24 * 60 * 60_000)).toBeGreaterThanOrEqual(2)
    expect(await deliveriesOf(f.page.id)).toHaveLength(0)
    expect(
      await db()
        .selectFrom('notification_events')
        .select('id')
        .where('page_id', '=', f.page.id)
        .execute(),
    ).toHaveLength(0)
  })

  it('an update that does not notify creates no event', async () => {
    const f = await createPageFixture(t)
    const incident = await t.runtime.services.incidents.create(f.actor, f.page.id, {
      name: 'Quiet',
      body: 'x',
      deliverNotifications: false,
    })
    await t.runtime.services.incidents.addUpdate(f.actor, incident.id, {
      status: 'resolved',
      body: 'done',
      deliverNotifications: 'false',
    })
    const events = await db()
      .selectFrom('notification_events')
      .select('id')
      .where('page_id', '=', f.page.id)
      .execute()
    expect(events).toHaveLength(0)
  })
})
