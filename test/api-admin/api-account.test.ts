import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import { addMember } from '../helpers/factories.js'
import { createPageFixture, type PageFixture } from '../helpers/page-factories.js'
import { testDialects } from '../helpers/test-db.js'
import { ApiClient, expectInvalid, expectProblem } from '../api/harness.js'

interface ApiDelivery {
  id: string
  event_id: string
  event_type: string
  incident_id: string | null
  subscriber_id: string | null
  user_id: string | null
  mode: string
  state: string
  attempts: number
  last_error: string | null
}

interface ApiEvent {
  id: string
  type: string
  incident_id: string | null
  fanout_done: boolean
  deliveries: Record<string, number>
}

interface ApiMember {
  id: string
  name: string
  email: string
  role: string
  created_at: string
}

describe.each(testDialects)('management API: deliveries, events and team (%s)', (dialect) => {
  let t: TestApp
  let api: ApiClient
  let f: PageFixture
  let other: PageFixture
  let write: string
  let read: string
  let subscriberId: string
  let incidentId: string
  let eventId: string
  let deliveryId: string

  beforeAll(async () => {
    t = await buildTestApp(dialect, {
      env: { WEBHOOK_ALLOWED_RANGES: '127.0.0.1/32', NOTIFY_MAX_ATTEMPTS: '1' },
    })
    api = await ApiClient.open(t)
    f = await createPageFixture(t)
    other = await createPageFixture(t)
    write = await api.key(f.actor, f.owner.accountId, { scope: 'write' })
    read = await api.key(f.actor, f.owner.accountId, { scope: 'read' })
    const { subscribers, incidents, notifications } = t.runtime.services
    // Nothing listens there: with one attempt allowed, the delivery fails for good.
    const { subscriber } = await subscribers.add(f.actor, f.page.id, {
      channel: 'webhook',
      address: 'http://127.0.0.1:9/hook',
    })
    subscriberId = subscriber.id
    await subscribers.updateSettings(f.actor, f.page.id, { notifyTeam: false })
    const incident = await incidents.create(f.actor, f.page.id, {
      name: 'Database outage',
      body: 'We are looking into it.',
    })
    incidentId = incident.id
    const db = t.runtime.database.db
    const event = await db
      .selectFrom('notification_events')
      .select('id')
      .where('page_id', '=', f.page.id)
      .executeTakeFirstOrThrow()
    eventId = event.id
    await notifications.handlers['notify.fanout']({ eventId })
    const delivery = await db
      .selectFrom('deliveries')
      .select('id')
      .where('event_id', '=', eventId)
      .executeTakeFirstOrThrow()
    deliveryId = delivery.id
    await notifications.handlers['notify.deliver']({ deliveryId })
  })
  afterAll(async () => {
    await t.close()
  })

  it('lists deliveries with filters, with a read key', async () => {
    const all = await api.get(read, `/pages/${f.page.id}/deliveries`)
    expect(all.status, all.text).toBe(200)
    const [delivery] = all.json<ApiDelivery[]>()
    expect(delivery).toMatchObject({
      id: deliveryId,
      event_id: eventId,
      incident_id: incidentId,
      subscriber_id: subscriberId,
      user_id: null,
      mode: 'webhook',
      state: 'failed',
    })
    expect(delivery?.last_error).toEqual(expect.any(String))
    expect(all.header('x-total-count')).toBe('1')
    const failed = await api.get(read, `/pages/${f.page.id}/deliveries?state=failed`)
    expect(failed.json<ApiDelivery[]>().map((d) => d.id)).toEqual([deliveryId])
    const sent = await api.get(read, `/pages/${f.page.id}/deliveries?state=sent`)
    expect(sent.json<unknown[]>()).toEqual([])
    const mine = await api.get(
      read,
      `/pages/${f.page.id}/deliveries?subscriber_id=${subscriberId}&event_id=${eventId}`,
    )
    expect(mine.json<unknown[]>()).toHaveLength(1)
    const nobody = await api.get(read, `/pages/${f.page.id}/deliveries?subscriber_id=nobody`)
    expect(nobody.json<unknown[]>()).toEqual([])
    expectInvalid(
      await api.get(read, `/pages/${f.page.id}/deliveries?state=lost`),
      'querystring.state',
    )
  })

  it('shows each event’s fan-out', async () => {
    const events = await api.get(read, `/pages/${f.page.id}/notification-events`)
    expect(events.status, events.text).toBe(200)
    const [event] = events.json<ApiEvent[]>()
    expect(event).toMatchObject({
      id: eventId,
      incident_id: incidentId,
      fanout_done: true,
      deliveries: { queued: 0, sending: 0, sent: 0, failed: 1, cancelled: 0 },
    })
    const byIncident = await api.get(
      read,
      `/pages/${f.page.id}/notification-events?incident_id=${incidentId}`,
    )
    expect(byIncident.json<unknown[]>()).toHaveLength(1)
    const none = await api.get(read, `/pages/${f.page.id}/notification-events?incident_id=none`)
    expect(none.json<unknown[]>()).toEqual([])
  })

  it('retries failed deliveries with a write key only', async () => {
    const path = `/pages/${f.page.id}/deliveries/retry`
    expectProblem(await api.post(read, path, {}), 403, 'insufficient_scope')
    expectProblem(await api.post(write, path, { delivery_id: 'missing' }), 404, 'not_found')
    expectInvalid(await api.post(write, path, { everything: true }))
    const retried = await api.post(write, path, { event_id: eventId })
    expect(retried.status, retried.text).toBe(200)
    expect(retried.json()).toEqual({ retried: 1 })
    const state = await t.runtime.database.db
      .selectFrom('deliveries')
      .select('state')
      .where('id', '=', deliveryId)
      .executeTakeFirstOrThrow()
    expect(state.state).toBe('queued')
    // Nothing is failed any more; a request without a body is fine too.
    const again = await t.app.inject({
      method: 'POST',
      url: `/api/v1${path}`,
      headers: { authorization: `Bearer ${write}` },
    })
    expect(again.statusCode, again.body).toBe(200)
    expect(again.json()).toEqual({ retried: 0 })
  })

  it('lists the team of the key’s account', async () => {
    const editor = await addMember(t, f.owner.accountId, 'editor')
    const team = await api.get(read, '/team')
    expect(team.status, team.text).toBe(200)
    const members = team.json<ApiMember[]>()
    expect(members.map((m) => [m.id, m.role])).toEqual([
      [f.owner.userId, 'owner'],
      [editor.userId, 'editor'],
    ])
    expect(members[1]?.email).toBe(editor.email)
    expect(team.header('x-total-count')).toBe('2')
    const paged = await api.get(read, '/team?per_page=1&page=2')
    expect(paged.json<ApiMember[]>().map((m) => m.id)).toEqual([editor.userId])
    // Another account's key sees its own team only.
    const stranger = await api.key(other.actor, other.owner.accountId, { scope: 'read' })
    expect((await api.get(stranger, '/team')).json<ApiMember[]>().map((m) => m.id)).toEqual([
      other.owner.userId,
    ])
    expectProblem(await api.get(undefined, '/team'), 401, 'missing_api_key')
  })

  it('shows nothing of another account, or of a page the key is not for', async () => {
    const stranger = await api.key(other.actor, other.owner.accountId)
    for (const path of [
      `/pages/${f.page.id}/deliveries`,
      `/pages/${f.page.id}/notification-events`,
    ])
      expectProblem(await api.get(stranger, path), 404, 'not_found')
    expectProblem(
      await api.post(stranger, `/pages/${f.page.id}/deliveries/retry`, {}),
      404,
      'not_found',
    )
    const limited = await api.key(f.actor, f.owner.accountId, {
      scope: 'read',
      pageIds: [
        (
          await t.runtime.services.pages.create(f.actor, f.owner.accountId, {
            name: 'Elsewhere',
            slug: `elsewhere-${String(Date.now() % 100000)}`,
            timeZone: 'UTC',
            locale: 'en',
          })
        ).id,
      ],
    })
    expectProblem(await api.get(limited, `/pages/${f.page.id}/deliveries`), 404, 'not_found')
  })
})
