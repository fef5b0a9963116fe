import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import { signIn, TestBrowser } from '../helpers/browser.js'
import { createOwner } from '../helpers/factories.js'
import {
  isSignedIn,
  normalisePage,
  sessionHashesOf,
  sessionIdHash,
  sessionToken,
  setCookieFor,
  uniqueIp,
} from '../helpers/http.js'
import { testDialects } from '../helpers/test-db.js'

describe.each(testDialects)('sign-in (%s)', (dialect) => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp(dialect)
  })
  afterAll(async () => {
    await t.close()
  })

  const browser = () => new TestBrowser(t.app, { ip: uniqueIp() })

  it('sets an HttpOnly, SameSite=Lax session cookie (not Secure over http) and goes to the dashboard', async () => {
    const owner = await createOwner(t)
    const b = browser()
    const response = await signIn(b, owner.email, owner.password)

    expect(response.status).toBe(303)
    expect(response.location).toBe('/dashboard')
    const cookie = setCookieFor(response, 'candor_session')
    expect(cookie).toBeDefined()
    expect(cookie).toMatch(/; HttpOnly/i)
    expect(cookie).toMatch(/; SameSite=Lax/i)
    expect(cookie).toMatch(/; Path=\//i)
    expect(cookie).not.toMatch(/; Secure/i)
    expect(cookie).not.toMatch(/; Domain=/i)
    expect(setCookieFor(response, '__Host-candor_session')).toBeUndefined()

    const dashboard = await b.get('/dashboard')
    expect(dashboard.status).toBe(302)
    expect(dashboard.location).toBe(`/a/${owner.accountId}`)
  })

  it('uses a Secure __Host- cookie when BASE_URL is https', async () => {
    const https = await buildTestApp(dialect, { env: { BASE_URL: 'https://status.example.com' } })
    try {
      const owner = await createOwner(https)
      const b = new TestBrowser(https.app, { ip: uniqueIp() })
      const form = await b.get('/login')
      expect(setCookieFor(form, 'candor_csrf')).toBeUndefined()
      expect(setCookieFor(form, '__Host-candor_csrf')).toMatch(/; Secure/i)
      const response = await b.post('/login', { email: owner.email, password: owner.password })

      expect(response.status).toBe(303)
      expect(response.location).toBe('/dashboard')
      expect(setCookieFor(response, 'candor_session')).toBeUndefined()
      const cookie = setCookieFor(response, '__Host-candor_session')
      expect(cookie).toBeDefined()
      expect(cookie).toMatch(/; Secure/i)
      expect(cookie).toMatch(/; HttpOnly/i)
      expect(cookie).toMatch(/; SameSite=Lax/i)
      expect(cookie).toMatch(/; Path=\/(;|$)/i)
      expect(cookie).not.toMatch(/; Domain=/i)
      expect(sessionToken(b, true)).toBeDefined()
      expect((await b.get('/dashboard')).location).toBe(`/a/${owner.accountId}`)

      await b.get('/profile')
      const logout = await b.post('/logout', {})
      expect(logout.status).toBe(303)
      const cleared = setCookieFor(logout, '__Host-candor_session')
      expect(cleared).toMatch(/^__Host-candor_session=;/)
      expect(cleared).toMatch(/; Secure/i)
      expect(sessionToken(b, true)).toBeUndefined()
    } finally {
      await https.close()
    }
  })

  it('stores only the SHA-256 of the session cookie, never the cookie itself', async () => {
    const owner = await createOwner(t)
    const b = browser()
    await signIn(b, owner.email, owner.password)
    const token = sessionToken(b)!
    expect(token.length).toBeGreaterThanOrEqual(43)

    const stored = await sessionHashesOf(t, owner.userId)
    expect(stored).toEqual([sessionIdHash(token)])
    expect(stored).not.toContain(token)
    const byToken = await t.runtime.database.db
      .selectFrom('sessions')
      .select('id_hash')
      .where('id_hash', '=', token)
      .execute()
    expect(byToken).toEqual([])
  })

  it('answers a wrong password and an unknown email identically', async () => {
    const owner = await createOwner(t)
    const unknownEmail = `nobody-${String(Date.now())}@example.com`

    const wrongPassword = await signIn(browser(), owner.email, 'not the password at all')
    const unknown = await signIn(browser(), unknownEmail, owner.password)

    expect(wrongPassword.status).toBe(401)
    expect(unknown.status).toBe(401)
    expect(wrongPassword.headers['content-type']).toBe(unknown.headers['content-type'])
    expect(wrongPassword.body).toContain('Incorrect email or password.')
    expect(setCookieFor(wrongPassword, 'candor_session')).toBeUndefined()
    expect(setCookieFor(unknown, 'candor_session')).toBeUndefined()
    // The form echoes what was typed; apart from that and the CSRF token, not one byte differs.
    expect(normalisePage(wrongPassword.body).replace(owner.email, 'EMAIL')).toBe(
      normalisePage(unknown.body).replace(unknownEmail, 'EMAIL'),
    )
    expect(await sessionHashesOf(t, owner.userId)).toEqual([])
  })

  it('gives a new session id at sign-in: a cookie planted beforehand is worthless afterwards', async () => {
    const attacker = await createOwner(t)
    const victim = await createOwner(t)
    const attackerBrowser = browser()
    await signIn(attackerBrowser, attacker.email, attacker.password)
    const planted = sessionToken(attackerBrowser)!

    const victimBrowser = browser()
    await victimBrowser.get('/login')
    victimBrowser.cookies.set('candor_session', planted)
    const response = await victimBrowser.post('/login', {
      email: victim.email,
      password: victim.password,
    })

    expect(response.status).toBe(303)
    const fresh = sessionToken(victimBrowser)!
    expect(fresh).toBeDefined()
    expect(fresh).not.toBe(planted)
    expect(await sessionHashesOf(t, attacker.userId)).toEqual([])
    expect(await sessionHashesOf(t, victim.userId)).toEqual([sessionIdHash(fresh)])
    expect(await isSignedIn(attackerBrowser)).toBe(false)
    expect((await victimBrowser.get('/dashboard')).location).toBe(`/a/${victim.accountId}`)
  })

  it('replaces the old session when signing in again while signed in', async () => {
    const owner = await createOwner(t)
    const b = browser()
    await signIn(b, owner.email, owner.password)
    const first = sessionToken(b)!

    const again = await b.post('/login', { email: owner.email, password: owner.password })
    expect(again.status).toBe(303)
    const second = sessionToken(b)!
    expect(second).not.toBe(first)
    expect(await sessionHashesOf(t, owner.userId)).toEqual([sessionIdHash(second)])

    const stale = browser()
    stale.cookies.set('candor_session', first)
    expect(await isSignedIn(stale)).toBe(false)
    expect(await isSignedIn(b)).toBe(true)
  })

  it('matches the email whatever its case and surrounding spaces', async () => {
    const owner = await createOwner(t)
    const response = await signIn(browser(), `  ${owner.email.toUpperCase()} `, owner.password)
    expect(response.status).toBe(303)
  })

  it('accepts a password of 128 characters outside the Basic Multilingual Plane', async () => {
    // 128 characters as a person counts them (code points), 256 UTF-16 units.
    const password = '🔑🐎'.repeat(64)
    expect(Array.from(password)).toHaveLength(128)
    const owner = await createOwner(t, { password })
    const response = await signIn(browser(), owner.email, password)
    expect(response.status).toBe(303)
    expect(response.location).toBe('/dashboard')
  })

  it('sends a signed-in visitor from /login to the dashboard and an anonymous one from / to /login', async () => {
    const owner = await createOwner(t)
    const b = browser()
    expect((await b.get('/')).location).toBe('/login')
    await signIn(b, owner.email, owner.password)
    const login = await b.get('/login')
    expect(login.status).toBe(302)
    expect(login.location).toBe('/dashboard')
    expect((await b.get('/')).location).toBe('/dashboard')
  })
})
