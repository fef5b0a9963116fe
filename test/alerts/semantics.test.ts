import { createHmac } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { redactUrl } from '../../src/logger.js'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import { createPageFixture, type PageFixture } from '../helpers/page-factories.js'
import { testDialects } from '../helpers/test-db.js'
import { endpointToken, sendAlert, statusChanges, statusOf } from './alert-helpers.js'
import { alertmanagerBody, datadogBody, pagerDutyBody, pingdomBody } from './payloads.js'

const T0 = Date.parse('2026-02-06T13:08:45Z') / 1000

describe.each(testDialects)('inbound alert semantics (%s)', (dialect) => {
  let t: TestApp

  beforeAll(async () => {
    t = await buildTestApp(dialect)
  })
  afterAll(async () => {
    await t.close()
  })

  const db = () => t.runtime.database.db

  async function apiEndpoint(f: PageFixture, extra: Record<string, unknown> = {}) {
    return endpointToken(t, f, {
      format: 'alertmanager',
      componentId: f.components.api.id,
      ...extra,
    })
  }

  it('treats a repeated delivery as a duplicate and changes nothing more', async () => {
    const f = await createPageFixture(t)
    const { token } = await endpointToken(t, f, {
      format: 'pingdom',
      componentId: f.components.api.id,
    })
    const down = pingdomBody('DOWN', T0)
    expect((await sendAlert(t, token, down)).json).toMatchObject({ applied: 1 })
    t.clock.advance(1000)
    expect((await sendAlert(t, token, down)).json).toMatchObject({ applied: 0, duplicates: 1 })
    const changes = await statusChanges(t, f.components.api.id)
    expect(changes.filter((c) => c.origin === 'alert')).toHaveLength(1)
  })

  it('ignores an event older than the one applied, and keeps an early resolution', async () => {
    const f = await createPageFixture(t)
    const { token } = await endpointToken(t, f, {
      format: 'pingdom',
      componentId: f.components.api.id,
    })
    // The recovery arrives first: harmless, and the late DOWN (older) does not take the page down.
    const up = await sendAlert(t, token, pingdomBody('UP', T0 + 300))
    expect(up.json).toMatchObject({ applied: 1 })
    expect(await statusOf(t, f, f.components.api.id)).toEqual({
      stored: 'operational',
      shown: 'operational',
    })
    const lateDown = await sendAlert(t, token, pingdomBody('DOWN', T0))
    expect(lateDown.json).toMatchObject({ applied: 0, stale: 1 })
    expect((await statusOf(t, f, f.components.api.id)).stored).toBe('operational')
    // A newer DOWN does apply; a second UP for it, twice, is harmless.
    expect((await sendAlert(t, token, pingdomBody('DOWN', T0 + 600))).json).toMatchObject({
      applied: 1,
    })
    expect((await statusOf(t, f, f.components.api.id)).stored).toBe('major_outage')
    t.clock.advance(60_000)
    expect((await sendAlert(t, token, pingdomBody('UP', T0 + 900))).json).toMatchObject({
      applied: 1,
    })
    expect((await sendAlert(t, token, pingdomBody('UP', T0 + 900))).json).toMatchObject({
      duplicates: 1,
    })
    expect((await sendAlert(t, token, pingdomBody('DOWN', T0 + 700))).json).toMatchObject({
      stale: 1,
    })
    expect(await statusOf(t, f, f.components.api.id)).toEqual({
      stored: 'operational',
      shown: 'operational',
    })
  })

  it('keeps a component down while another alert for it is still firing', async () => {
    const f = await createPageFixture(t)
    const { token } = await apiEndpoint(f)
    const fired = await sendAlert(
      t,
      token,
      alertmanagerBody([
        {
          status: 'firing',
          fingerprint: 'aaaa000000000001',
          alertname: 'ProbeFailure',
          severity: 'warning',
        },
        {
          status: 'firing',
          fingerprint: 'aaaa000000000002',
          alertname: 'HighLatency',
          severity: 'critical',
        },
      ]),
    )
    expect(fired.json).toMatchObject({ received: 2, applied: 2 })
    expect((await statusOf(t, f, f.components.api.id)).stored).toBe('major_outage')
    t.clock.advance(60_000)
    // The critical one resolves: the warning one still fires, so the API is partly down.
    await sendAlert(
      t,
      token,
      alertmanagerBody([
        {
          status: 'resolved',
          fingerprint: 'aaaa000000000002',
          alertname: 'HighLatency',
          endsAt: '2026-02-06T13:30:00Z',
        },
      ]),
    )
    expect(await statusOf(t, f, f.components.api.id)).toEqual({
      stored: 'partial_outage',
      shown: 'partial_outage',
    })
    t.clock.advance(60_000)
    await sendAlert(
      t,
      token,
      alertmanagerBody([
        { status: 'resolved', fingerprint: 'aaaa000000000001', endsAt: '2026-02-06T13:31:00Z' },
      ]),
    )
    expect(await statusOf(t, f, f.components.api.id)).toEqual({
      stored: 'operational',
      shown: 'operational',
    })
  })

  it('settles concurrent deliveries about one component on the alerts committed', async () => {
    const f = await createPageFixture(t)
    const { token } = await apiEndpoint(f)
    for (let round = 0; round < 5; round++) {
      const old = `race-${String(round)}-a`
      const next = `race-${String(round)}-b`
      await sendAlert(t, token, alertmanagerBody([{ status: 'firing', fingerprint: old }]))
      t.clock.advance(1000)
      const answers = await Promise.all([
        sendAlert(t, token, alertmanagerBody([{ status: 'firing', fingerprint: next }])),
        sendAlert(
          t,
          token,
          alertmanagerBody([
            { status: 'resolved', fingerprint: old, endsAt: '2026-02-06T14:00:00Z' },
          ]),
        ),
      ])
      expect(answers.map((a) => a.status)).toEqual([200, 200])
      expect((await statusOf(t, f, f.components.api.id)).stored).toBe('major_outage')
      await sendAlert(
        t,
        token,
        alertmanagerBody([
          { status: 'resolved', fingerprint: next, endsAt: '2026-02-06T14:00:00Z' },
        ]),
      )
      expect((await statusOf(t, f, f.components.api.id)).stored).toBe('operational')
    }
  })

  it('counts alerts from every endpoint of a component; deleting an endpoint forgets its alerts', async () => {
    const f = await createPageFixture(t)
    const first = await apiEndpoint(f)
    const second = await endpointToken(t, f, {
      format: 'datadog',
      componentId: f.components.api.id,
    })
    await sendAlert(
      t,
      first.token,
      alertmanagerBody([{ status: 'firing', fingerprint: 'bbbb000000000001' }]),
    )
    await sendAlert(t, second.token, datadogBody('Triggered', T0 * 1000))
    t.clock.advance(60_000)
    await sendAlert(t, second.token, datadogBody('Recovered', T0 * 1000 + 60_000))
    expect((await statusOf(t, f, f.components.api.id)).stored).toBe('major_outage')
    await t.runtime.services.alerts.deleteEndpoint(f.actor, f.page.id, first.id)
    expect(await statusOf(t, f, f.components.api.id)).toEqual({
      stored: 'operational',
      shown: 'operational',
    })
    expect((await sendAlert(t, first.token, alertmanagerBody([]))).status).toBe(404)
  })

  it('does not lower a status a person set worse, and leaves maintenance alone', async () => {
    const f = await createPageFixture(t)
    const { token } = await endpointToken(t, f, {
      format: 'generic',
      componentId: f.components.web.id,
    })
    await t.runtime.services.components.update(f.actor, f.components.web.id, {
      status: 'major_outage',
    })
    await sendAlert(t, token, { status: 'degraded_performance' })
    expect((await statusOf(t, f, f.components.web.id)).stored).toBe('major_outage')
    await t.runtime.services.components.update(f.actor, f.components.web.id, {
      status: 'under_maintenance',
    })
    t.clock.advance(1000)
    await sendAlert(t, token, { status: 'operational' })
    expect((await statusOf(t, f, f.components.web.id)).stored).toBe('under_maintenance')
  })

  it('answers 404 to an unknown token, and 405 with Allow to GET and HEAD', async () => {
    const f = await createPageFixture(t)
    const { token } = await apiEndpoint(f)
    const wrong = await sendAlert(t, `${token.slice(0, -2)}xx`, alertmanagerBody([]))
    expect(wrong.status).toBe(404)
    expect(wrong.contentType).toContain('application/problem+json')
    for (const method of ['GET', 'HEAD'] as const) {
      const response = await t.app.inject({ method, url: `/api/alerts/${token}` })
      expect(response.statusCode, method).toBe(405)
      expect(response.headers.allow).toBe('POST')
    }
  })

  it('explains what the format expects when a body does not fit, and records the error', async () => {
    const f = await createPageFixture(t)
    const { id, token } = await apiEndpoint(f)
    const wrongFormat = await sendAlert(t, token, pingdomBody('DOWN', T0))
    expect(wrongFormat.status).toBe(422)
    expect(wrongFormat.contentType).toContain('application/problem+json')
    expect(wrongFormat.json['code']).toBe('invalid_alert_payload')
    expect(wrongFormat.json['detail']).toContain('Prometheus Alertmanager')
    expect(wrongFormat.json['detail']).toContain('"alerts"')
    expect(wrongFormat.json['detail']).toContain('looks like Pingdom')

    const badStatus = await sendAlert(t, token, {
      ...alertmanagerBody([{ status: 'firing', fingerprint: 'cc01' }]),
      alerts: [{ status: 'burning', labels: {} }],
    })
    expect(badStatus.status).toBe(422)
    expect(badStatus.json['detail']).toContain('alerts[0].status must be "firing" or "resolved"')

    const notJson = await sendAlert(t, token, '{"alerts": [', { 'content-type': 'text/plain' })
    expect(notJson.status).toBe(422)
    expect(notJson.json['detail']).toContain('not valid JSON')

    // Some tools send no Content-Type at all: the body is still read as JSON.
    const bare = await t.app.inject({
      method: 'POST',
      url: `/api/alerts/${token}`,
      payload: JSON.stringify(alertmanagerBody([])),
    })
    expect(bare.headers['content-type']).toContain('application/json')
    expect(bare.statusCode).toBe(200)
    const noBody = await t.app.inject({ method: 'POST', url: `/api/alerts/${token}` })
    expect(noBody.statusCode).toBe(422)

    const endpoint = await t.runtime.services.alerts.getEndpoint(f.actor, f.page.id, id)
    expect(endpoint.lastError).toContain('not valid JSON')
    expect(endpoint.lastReceivedAt).not.toBeNull()
    expect((await statusOf(t, f, f.components.api.id)).stored).toBe('operational')
  })

  it('refuses an alert for a component the page does not have, saying how to map it', async () => {
    const f = await createPageFixture(t)
    const { token } = await endpointToken(t, f, { format: 'alertmanager' })
    const answer = await sendAlert(
      t,
      token,
      alertmanagerBody([{ status: 'firing', fingerprint: 'dd01', component: 'billing' }]),
    )
    expect(answer.status).toBe(422)
    expect(answer.json['code']).toBe('unknown_component')
    expect(answer.json['detail']).toContain('"billing"')
    expect(answer.json['detail']).toContain('mapping')
  })

  it('answers 413 to a body over the limit', async () => {
    const f = await createPageFixture(t)
    const { token } = await apiEndpoint(f)
    const huge = JSON.stringify({ alerts: [], padding: 'x'.repeat(300 * 1024) })
    const answer = await sendAlert(t, token, huge)
    expect(answer.status).toBe(413)
    expect(answer.contentType).toContain('application/problem+json')
  })

  it('checks the PagerDuty signature when the endpoint has a secret', async () => {
    const f = await createPageFixture(t)
    const secret = 'pd-webhook-secret-3f9a1c'
    const { id, token } = await endpointToken(t, f, {
      format: 'pagerduty',
      componentId: f.components.eu.id,
      signingSecret: secret,
    })
    const body = JSON.stringify(pagerDutyBody('incident.triggered', '2026-02-06T13:08:45.828Z'))
    const sign = (key: string) => `v1=${createHmac('sha256', key).update(body).digest('hex')}`

    const unsigned = await sendAlert(t, token, body)
    expect(unsigned.status).toBe(401)
    expect(unsigned.json['code']).toBe('bad_signature')
    const forged = await sendAlert(t, token, body, {
      'x-pagerduty-signature': sign('not-the-secret'),
    })
    expect(forged.status).toBe(401)
    expect((await statusOf(t, f, f.components.eu.id)).stored).toBe('operational')

    // During a rotation PagerDuty sends several signatures: one that matches is enough.
    const good = await sendAlert(t, token, body, {
      'x-pagerduty-signature': `${sign('old-secret')},${sign(secret)}`,
    })
    expect(good.status).toBe(200)
    expect((await statusOf(t, f, f.components.eu.id)).stored).toBe('major_outage')

    // The secret is stored encrypted.
    const row = await db()
      .selectFrom('alert_endpoints')
      .select('secret_ciphertext')
      .where('id', '=', id)
      .executeTakeFirstOrThrow()
    expect(row.secret_ciphertext).not.toContain(secret)
    expect(row.secret_ciphertext).toMatch(/^v1\./)
  })

  it('opens one draft incident per component, and drops it when the component recovers', async () => {
    const f = await createPageFixture(t)
    const { token } = await apiEndpoint(f, { createDrafts: 'true' })
    await sendAlert(
      t,
      token,
      alertmanagerBody([{ status: 'firing', fingerprint: 'ee01', severity: 'critical' }]),
    )
    await sendAlert(
      t,
      token,
      alertmanagerBody([{ status: 'firing', fingerprint: 'ee02', alertname: 'HighLatency' }]),
    )
    const drafts = await t.runtime.services.alerts.listDrafts(f.actor, f.page.id)
    expect(drafts).toHaveLength(1)
    expect(drafts[0]).toMatchObject({
      title: 'ProbeFailure on api.example.com',
      impact: 'critical',
      componentStatuses: { [f.components.api.id]: 'major_outage' },
      sourceEndpointName: 'Monitoring',
    })
    t.clock.advance(60_000)
    await sendAlert(
      t,
      token,
      alertmanagerBody([
        { status: 'resolved', fingerprint: 'ee01', endsAt: '2026-02-06T13:30:00Z' },
        {
          status: 'resolved',
          fingerprint: 'ee02',
          alertname: 'HighLatency',
          endsAt: '2026-02-06T13:30:00Z',
        },
      ]),
    )
    expect(await t.runtime.services.alerts.listDrafts(f.actor, f.page.id)).toEqual([])
  })

  it('rate-limits each endpoint with the throttle table', async () => {
    const f = await createPageFixture(t)
    const { id, token } = await apiEndpoint(f)
    await db()
      .insertInto('auth_throttles')
      .values({
        key: `alerts:endpoint:${id}`,
        failures: 300,
        window_started_at: t.clock.now(),
        blocked_until: new Date(t.clock.now().getTime() + 30_000),
      })
      .execute()
    const answer = await sendAlert(t, token, alertmanagerBody([]))
    expect(answer.status).toBe(429)
  })

  it('keeps endpoint tokens out of logged URLs and stores only their hash', async () => {
    const f = await createPageFixture(t)
    const { id, token } = await apiEndpoint(f)
    expect(redactUrl(`/api/alerts/${token}`)).toBe('/api/alerts/[redacted]')
    const row = await db()
      .selectFrom('alert_endpoints')
      .select('token_hash')
      .where('id', '=', id)
      .executeTakeFirstOrThrow()
    expect(row.token_hash).not.toBe(token)
  })
})
