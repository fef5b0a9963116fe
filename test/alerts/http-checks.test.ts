import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ValidationError } from '../../src/domain/errors.js'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import { createPageFixture } from '../helpers/page-factories.js'
import { testDialects } from '../helpers/test-db.js'
import { statusChanges, statusOf } from './alert-helpers.js'

/** A real HTTP server on this machine whose answer the test changes. */
function healthServer() {
  let status = 200
  let delayMs = 0
  let hits = 0
  const server: Server = createServer((request, response) => {
    hits++
    setTimeout(() => {
      response.writeHead(status, { 'content-type': 'text/plain' })
      response.end(status === 200 ? 'ok' : 'unavailable')
    }, delayMs)
  })
  return {
    async start(): Promise<string> {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      return `http://127.0.0.1:${String((server.address() as AddressInfo).port)}/health`
    },
    answer(code: number, delay = 0) {
      status = code
      delayMs = delay
    },
    get hits() {
      return hits
    },
    async stop() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

describe.each(testDialects)('built-in HTTP checks (%s)', (dialect) => {
  let t: TestApp
  const upstream = healthServer()
  let url: string

  beforeAll(async () => {
    // Loopback is refused by default (SSRF); the operator allows it here, as for a local service.
    t = await buildTestApp(dialect, { env: { WEBHOOK_ALLOWED_RANGES: '127.0.0.1/32' } })
    url = await upstream.start()
  })
  afterAll(async () => {
    await t.close()
    await upstream.stop()
  })

  const alerts = () => t.runtime.services.alerts

  it('takes the component down after N failures and brings it back at the first success', async () => {
    const f = await createPageFixture(t)
    const check = await alerts().createCheck(f.actor, f.page.id, {
      componentId: f.components.api.id,
      url,
      intervalSeconds: '30',
      timeoutSeconds: '5',
      expectedStatus: '200',
      failureThreshold: '2',
    })
    upstream.answer(200)
    expect(await alerts().runDueChecks()).toBe(1)
    expect(await alerts().runDueChecks()).toBe(0) // not due again before its interval
    expect((await alerts().getCheck(f.actor, f.page.id, check.id)).lastOk).toBe(true)

    upstream.answer(503)
    t.clock.advance(30_000)
    expect(await alerts().runDueChecks()).toBe(1)
    const once = await alerts().getCheck(f.actor, f.page.id, check.id)
    expect(once).toMatchObject({ consecutiveFailures: 1, lastStatusCode: 503, isFiring: false })
    expect(once.lastError).toBe('Answered 503, expected 200')
    expect((await statusOf(t, f, f.components.api.id)).stored).toBe('operational')

    t.clock.advance(30_000)
    await alerts().runDueChecks()
    expect(await statusOf(t, f, f.components.api.id)).toEqual({
      stored: 'major_outage',
      shown: 'major_outage',
    })
    expect((await alerts().getCheck(f.actor, f.page.id, check.id)).isFiring).toBe(true)

    upstream.answer(200)
    t.clock.advance(30_000)
    await alerts().runDueChecks()
    expect(await statusOf(t, f, f.components.api.id)).toEqual({
      stored: 'operational',
      shown: 'operational',
    })
    // The uptime history has the outage, marked as set by the check.
    const changes = await statusChanges(t, f.components.api.id)
    expect(changes.filter((c) => c.origin === 'check').map((c) => c.status)).toEqual([
      'major_outage',
      'operational',
    ])
    await alerts().deleteCheck(f.actor, f.page.id, check.id)
  })

  it('counts a timeout as a failure', async () => {
    const f = await createPageFixture(t)
    const check = await alerts().createCheck(f.actor, f.page.id, {
      componentId: f.components.web.id,
      url,
      intervalSeconds: '30',
      timeoutSeconds: '1',
      failureThreshold: '1',
      firingStatus: 'partial_outage',
    })
    upstream.answer(200, 2500)
    await alerts().runDueChecks()
    const after = await alerts().getCheck(f.actor, f.page.id, check.id)
    expect(after.lastError).toContain('did not answer in time')
    expect((await statusOf(t, f, f.components.web.id)).stored).toBe('partial_outage')
    // Disabling a failing check forgets its alert.
    await alerts().updateCheck(f.actor, f.page.id, check.id, {
      componentId: f.components.web.id,
      url,
      intervalSeconds: '30',
      timeoutSeconds: '1',
      failureThreshold: '1',
      firingStatus: 'partial_outage',
      enabled: 'false',
    })
    expect((await statusOf(t, f, f.components.web.id)).stored).toBe('operational')
    upstream.answer(200)
    await alerts().deleteCheck(f.actor, f.page.id, check.id)
  })

  it('runs each due check once when several workers run at the same time', async () => {
    const f = await createPageFixture(t)
    upstream.answer(200)
    for (const component of [f.components.eu, f.components.us])
      await alerts().createCheck(f.actor, f.page.id, { componentId: component.id, url })
    const before = upstream.hits
    const runs = await Promise.all([
      alerts().runDueChecks(),
      alerts().runDueChecks(),
      alerts().runDueChecks(),
    ])
    expect(runs.reduce((a, b) => a + b, 0)).toBe(2)
    expect(upstream.hits - before).toBe(2)
    for (const check of await alerts().listChecks(f.actor, f.page.id))
      await alerts().deleteCheck(f.actor, f.page.id, check.id)
  })

  it('refuses intervals under 30 seconds and private addresses the operator did not allow', async () => {
    const f = await createPageFixture(t)
    const attempt = alerts().createCheck(f.actor, f.page.id, {
      componentId: f.components.api.id,
      url: 'http://169.254.169.254/latest/meta-data/',
      intervalSeconds: '10',
    })
    await expect(attempt).rejects.toBeInstanceOf(ValidationError)
    const error = (await attempt.catch((e: unknown) => e)) as ValidationError
    expect(error.fields['intervalSeconds']).toContain('30')
    expect(error.fields['url']).toContain('private or reserved')
  })
})
