import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import { signIn, TestBrowser, type BrowserResponse } from '../helpers/browser.js'
import { createOwner } from '../helpers/factories.js'
import { normalisePage, uniqueIp } from '../helpers/http.js'
import { testDialects } from '../helpers/test-db.js'

const WRONG = 'definitely-not-the-password'

describe.each(testDialects)('sign-in throttling (%s)', (dialect) => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp(dialect)
  })
  afterAll(async () => {
    await t.close()
  })

  /** One browser per attempt, all from one address unless told otherwise. */
  async function attempt(email: string, password: string, ip: string): Promise<BrowserResponse> {
    return signIn(new TestBrowser(t.app, { ip }), email, password)
  }

  async function failFiveTimes(email: string, ip: string): Promise<void> {
    for (let i = 0; i < 5; i++) expect((await attempt(email, WRONG, ip)).status).toBe(401)
  }

  function retryAfterSeconds(response: BrowserResponse): number {
    const header = response.headers['retry-after']
    expect(typeof header).toBe('string')
    const seconds = Number(header)
    expect(Number.isInteger(seconds)).toBe(true)
    expect(seconds).toBeGreaterThan(0)
    return seconds
  }

  it('blocks an email after 5 failures, even with the right password, until Retry-After has passed', async () => {
    const owner = await createOwner(t)
    const ip = uniqueIp()
    await failFiveTimes(owner.email, ip)

    const blocked = await attempt(owner.email, owner.password, ip)
    expect(blocked.status).toBe(429)
    expect(blocked.body).toContain('Too many attempts')
    expect(blocked.headers['set-cookie'] ?? '').not.toContain('candor_session=')
    const seconds = retryAfterSeconds(blocked)
    expect(seconds).toBeLessThanOrEqual(3600)

    t.clock.advance((seconds - 1) * 1000)
    expect((await attempt(owner.email, owner.password, ip)).status).toBe(429)

    t.clock.advance(2000)
    const allowed = await attempt(owner.email, owner.password, ip)
    expect(allowed.status).toBe(303)
    expect(allowed.location).toBe('/dashboard')
  })

  it('counts failures for an email from any address', async () => {
    const owner = await createOwner(t)
    for (let i = 0; i < 5; i++)
      expect((await attempt(owner.email, WRONG, uniqueIp())).status).toBe(401)
    const blocked = await attempt(owner.email, owner.password, uniqueIp())
    expect(blocked.status).toBe(429)
    retryAfterSeconds(blocked)
  })

  it('throttles an unknown email exactly like a known one', async () => {
    const owner = await createOwner(t)
    const unknownEmail = `ghost-${String(Date.now())}@example.com`
    const ip = uniqueIp()
    await failFiveTimes(owner.email, ip)
    await failFiveTimes(unknownEmail, uniqueIp())

    const known = await attempt(owner.email, WRONG, uniqueIp())
    const unknown = await attempt(unknownEmail, WRONG, uniqueIp())
    expect(known.status).toBe(429)
    expect(unknown.status).toBe(429)
    expect(unknown.headers['retry-after']).toBe(known.headers['retry-after'])
    expect(normalisePage(known.body).replace(owner.email, 'EMAIL')).toBe(
      normalisePage(unknown.body).replace(unknownEmail, 'EMAIL'),
    )
  })

  it('forgets earlier failures after a successful sign-in', async () => {
    const owner = await createOwner(t)
    const ip = uniqueIp()
    for (let i = 0; i < 4; i++) expect((await attempt(owner.email, WRONG, ip)).status).toBe(401)
    expect((await attempt(owner.email, owner.password, ip)).status).toBe(303)
    for (let i = 0; i < 4; i++) expect((await attempt(owner.email, WRONG, ip)).status).toBe(401)
    expect((await attempt(owner.email, owner.password, ip)).status).toBe(303)
  })

  it('starts counting afresh after the 15-minute window', async () => {
    const owner = await createOwner(t)
    const ip = uniqueIp()
    for (let i = 0; i < 4; i++) expect((await attempt(owner.email, WRONG, ip)).status).toBe(401)
    t.clock.advance(15 * 60_000 + 1000)
    for (let i = 0; i < 4; i++) expect((await attempt(owner.email, WRONG, ip)).status).toBe(401)
    expect((await attempt(owner.email, owner.password, ip)).status).toBe(303)
  })

  it('blocks for longer when the failures go on after a block', async () => {
    const owner = await createOwner(t)
    const ip = uniqueIp()
    await failFiveTimes(owner.email, ip)
    const first = retryAfterSeconds(await attempt(owner.email, WRONG, ip))

    t.clock.advance(first * 1000 + 1000)
    expect((await attempt(owner.email, WRONG, ip)).status).toBe(401)
    const second = retryAfterSeconds(await attempt(owner.email, owner.password, ip))
    expect(second).toBeGreaterThan(first)
  })

  it('blocks one address after 30 failures across many emails, and only that address', async () => {
    const owner = await createOwner(t)
    const stuffer = uniqueIp()
    for (let i = 0; i < 30; i++) {
      const response = await attempt(
        `stuffed-${String(i)}-${String(Date.now())}@example.com`,
        WRONG,
        stuffer,
      )
      expect(response.status).toBe(401)
    }

    const blocked = await attempt(owner.email, owner.password, stuffer)
    expect(blocked.status).toBe(429)
    retryAfterSeconds(blocked)

    const elsewhere = await attempt(owner.email, owner.password, uniqueIp())
    expect(elsewhere.status).toBe(303)
    expect(elsewhere.location).toBe('/dashboard')
  })
})
