import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import { createPageFixture, type PageFixture } from '../helpers/page-factories.js'
import { testDialects } from '../helpers/test-db.js'
import { endpointToken, sendAlert, statusChanges, statusOf } from './alert-helpers.js'
import {
  alertmanagerBody,
  datadogBody,
  grafanaBody,
  newRelicLegacyBody,
  newRelicWorkflowBody,
  opsgenieBody,
  pagerDutyBody,
  pingdomBody,
} from './payloads.js'

const T0 = Date.parse('2026-02-06T13:08:45Z')

describe.each(testDialects)('inbound alerts, one format at a time (%s)', (dialect) => {
  let t: TestApp

  beforeAll(async () => {
    t = await buildTestApp(dialect)
  })
  afterAll(async () => {
    await t.close()
  })

  /** Fires, checks the component is down (stored and public), resolves, checks it is back. */
  async function fireAndResolve(
    f: PageFixture,
    componentId: string,
    token: string,
    firing: unknown,
    resolved: unknown,
    expectedDown = 'major_outage',
  ) {
    const fired = await sendAlert(t, token, firing)
    expect(fired.status, JSON.stringify(fired.json)).toBe(200)
    expect(fired.json).toMatchObject({ status: 'accepted', received: 1, applied: 1 })
    expect(await statusOf(t, f, componentId)).toEqual({ stored: expectedDown, shown: expectedDown })
    t.clock.advance(60_000)
    const back = await sendAlert(t, token, resolved)
    expect(back.status, JSON.stringify(back.json)).toBe(200)
    expect(back.json).toMatchObject({ applied: 1 })
    expect(await statusOf(t, f, componentId)).toEqual({
      stored: 'operational',
      shown: 'operational',
    })
    const changes = await statusChanges(t, componentId)
    expect(changes.filter((c) => c.origin === 'alert').map((c) => c.status)).toEqual([
      expectedDown,
      'operational',
    ])
  }

  it('Prometheus Alertmanager: the component label picks the component on a page endpoint', async () => {
    const f = await createPageFixture(t)
    const { token } = await endpointToken(t, f, {
      format: 'alertmanager',
      mapping: `api = ${f.components.api.name}`,
    })
    await fireAndResolve(
      f,
      f.components.api.id,
      token,
      alertmanagerBody([{ status: 'firing', fingerprint: '1a30ba71cca2921f', component: 'api' }]),
      alertmanagerBody([
        {
          status: 'resolved',
          fingerprint: '1a30ba71cca2921f',
          component: 'api',
          endsAt: '2026-02-06T13:20:45.828Z',
        },
      ]),
    )
  })

  it('Grafana: the severity label sets the status when the endpoint maps severities', async () => {
    const f = await createPageFixture(t)
    const { token } = await endpointToken(t, f, {
      format: 'grafana',
      componentId: f.components.web.id,
    })
    await fireAndResolve(
      f,
      f.components.web.id,
      token,
      grafanaBody('firing', 'warning'),
      grafanaBody('resolved', 'warning'),
      'partial_outage',
    )
  })

  it('Pingdom: DOWN then UP, the check named by its name', async () => {
    const f = await createPageFixture(t)
    const { token } = await endpointToken(t, f, { format: 'pingdom' })
    await fireAndResolve(
      f,
      f.components.eu.id,
      token,
      pingdomBody('DOWN', T0 / 1000, 'EU'),
      pingdomBody('UP', T0 / 1000 + 300, 'EU'),
    )
  })

  it('New Relic workflows: ACTIVATED then CLOSED; ACKNOWLEDGED changes nothing', async () => {
    const f = await createPageFixture(t)
    const { token } = await endpointToken(t, f, {
      format: 'newrelic',
      mapping: `checkout = ${f.components.us.id}`,
      mapSeverity: 'false',
    })
    const ack = await sendAlert(t, token, newRelicWorkflowBody('ACKNOWLEDGED', T0))
    expect(ack.status).toBe(200)
    expect(ack.json).toMatchObject({ received: 0, applied: 0 })
    expect((ack.json['ignored'] as string[])[0]).toContain('ACKNOWLEDGED')
    await fireAndResolve(
      f,
      f.components.us.id,
      token,
      newRelicWorkflowBody('ACTIVATED', T0),
      newRelicWorkflowBody('CLOSED', T0 + 600_000),
    )
  })

  it('New Relic legacy channel: current_state open then closed', async () => {
    const f = await createPageFixture(t)
    const { token } = await endpointToken(t, f, {
      format: 'newrelic',
      componentId: f.components.api.id,
    })
    await fireAndResolve(
      f,
      f.components.api.id,
      token,
      newRelicLegacyBody('open', T0),
      newRelicLegacyBody('closed', T0 + 600_000),
    )
  })

  it('Datadog: Triggered then Recovered, with the documented template', async () => {
    const f = await createPageFixture(t)
    const { token } = await endpointToken(t, f, {
      format: 'datadog',
      componentId: f.components.api.id,
    })
    await fireAndResolve(
      f,
      f.components.api.id,
      token,
      datadogBody('Triggered', T0),
      datadogBody('Recovered', T0 + 120_000),
    )
    const noData = await sendAlert(t, token, datadogBody('No Data', T0 + 130_000))
    expect(noData.json).toMatchObject({ received: 0 })
  })

  it('PagerDuty v3: incident.triggered then incident.resolved, the service named by its name', async () => {
    const f = await createPageFixture(t)
    const { token } = await endpointToken(t, f, { format: 'pagerduty' })
    const ping = await sendAlert(t, token, {
      event: {
        id: '01PING',
        event_type: 'pagey.ping',
        resource_type: 'pagey',
        occurred_at: '2026-02-06T13:00:00Z',
        agent: null,
        client: null,
        data: { message: 'Hello from your friend Pagey!', type: 'ping' },
      },
    })
    expect(ping.status).toBe(200)
    await fireAndResolve(
      f,
      f.components.api.id,
      token,
      pagerDutyBody('incident.triggered', '2026-02-06T13:08:45.828Z'),
      pagerDutyBody('incident.resolved', '2026-02-06T13:40:00.000Z'),
    )
  })

  it('Opsgenie: Create then Close, the entity naming the component', async () => {
    const f = await createPageFixture(t)
    const { token } = await endpointToken(t, f, { format: 'opsgenie', mapSeverity: 'false' })
    await fireAndResolve(
      f,
      f.components.web.id,
      token,
      opsgenieBody('Create', 1770383325862000000),
      opsgenieBody('Close', 1770383925862000000),
    )
  })

  it('the generic form: a status, then operational', async () => {
    const f = await createPageFixture(t)
    const { token } = await endpointToken(t, f, { format: 'generic' })
    await fireAndResolve(
      f,
      f.components.us.id,
      token,
      { component: 'US', status: 'degraded_performance', title: 'Slow responses' },
      { component: f.components.us.id, status: 'operational' },
      'degraded_performance',
    )
  })
})
