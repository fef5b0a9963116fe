import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import { signIn, TestBrowser } from '../helpers/browser.js'
import { createOwner, type CreatedOwner } from '../helpers/factories.js'
import {
  isSignedIn,
  sessionHashesOf,
  sessionIdHash,
  sessionToken,
  setCookieFor,
  uniqueIp,
} from '../helpers/http.js'
import { testDialects } from '../helpers/test-db.js'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

describe.each(testDialects)('sessions (%s)', (dialect) => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp(dialect)
  })
  afterAll(async () => {
    await t.close()
  })

  async function signedInBrowser(
    owner: CreatedOwner,
    userAgent = 'TestBrowser/1.0',
  ): Promise<TestBrowser> {
    const browser = new TestBrowser(t.app, { ip: uniqueIp(), userAgent })
    expect((await signIn(browser, owner.email, owner.password)).status).toBe(303)
    return browser
  }

  /** A browser that holds nothing but a copy of a session cookie. */
  function browserWithCookie(token: string): TestBrowser {
    const browser = new TestBrowser(t.app, { ip: uniqueIp() })
    browser.cookies.set('candor_session', token)
    return browser
  }

  describe('timeouts', () => {
    it('ends a session idle for longer than 12 hours', async () => {
      const owner = await createOwner(t)
      const browser = await signedInBrowser(owner)
      const token = sessionToken(browser)!

      t.clock.advance(12 * HOUR - MINUTE)
      expect(await isSignedIn(browser)).toBe(true)
      // That visit counted as activity: another 12 hours less a minute is still fine.
      t.clock.advance(12 * HOUR - MINUTE)
      expect(await isSignedIn(browser)).toBe(true)

      t.clock.advance(12 * HOUR + MINUTE)
      const response = await browser.get(`/a/${owner.accountId}`)
      expect(response.status).toBe(302)
      expect(response.location).toBe('/login')
      expect(setCookieFor(response, 'candor_session')).toMatch(/^candor_session=;/)
      expect(sessionToken(browser)).toBeUndefined()
      expect(await sessionHashesOf(t, owner.userId)).toEqual([])
      // The old cookie does not come back to life.
      expect(await isSignedIn(browserWithCookie(token))).toBe(false)
    })

    it('ends a session 7 days after sign-in however active it is', async () => {
      const owner = await createOwner(t)
      const browser = await signedInBrowser(owner)
      let elapsed = 0
      while (elapsed + 6 * HOUR < 7 * DAY) {
        t.clock.advance(6 * HOUR)
        elapsed += 6 * HOUR
        expect(await isSignedIn(browser)).toBe(true)
      }
      t.clock.advance(7 * DAY - elapsed - MINUTE)
      expect(await isSignedIn(browser)).toBe(true)

      t.clock.advance(2 * MINUTE)
      expect(await isSignedIn(browser)).toBe(false)
      expect(await sessionHashesOf(t, owner.userId)).toEqual([])
    })

    it('clears an expired __Host- cookie over https with the attributes the browser needs', async () => {
      const https = await buildTestApp(dialect, { env: { BASE_URL: 'https://status.example.com' } })
      try {
        const owner = await createOwner(https)
        const browser = new TestBrowser(https.app, { ip: uniqueIp() })
        await signIn(browser, owner.email, owner.password)
        expect(sessionToken(browser, true)).toBeDefined()

        https.clock.advance(13 * HOUR)
        const response = await browser.get('/dashboard')
        expect(response.location).toBe('/login')
        const cleared = setCookieFor(response, '__Host-candor_session')
        expect(cleared).toMatch(/^__Host-candor_session=;/)
        // Browsers ignore a __Host- cookie (even a deletion) without Secure and Path=/.
        expect(cleared).toMatch(/; Secure/i)
        expect(cleared).toMatch(/; Path=\//i)
      } finally {
        await https.close()
      }
    })
  })

  describe('the sessions page', () => {
    it('lists the sessions of two browsers with their user agents', async () => {
      const owner = await createOwner(t)
      const firefox = await signedInBrowser(owner, 'Firefox-Test/128.0')
      await signedInBrowser(owner, 'Chrome-Test/126.0')

      const page = await firefox.get('/profile/sessions')
      expect(page.status).toBe(200)
      expect(page.body).toContain('Firefox-Test/128.0')
      expect(page.body).toContain('Chrome-Test/126.0')
      expect(page.body.match(/name="session" value=/g)).toHaveLength(2)
      expect(page.body.match(/\(this browser\)/g)).toHaveLength(1)
      expect(page.body).toMatch(/Firefox-Test\/128\.0<strong> \(this browser\)/)
      // The page names sessions by their hash; the cookie values never appear in it.
      for (const hash of await sessionHashesOf(t, owner.userId))
        expect(page.body).toContain(`value="${hash}"`)
      expect(page.body).not.toContain(sessionToken(firefox)!)
    })

    it('shows a hostile user agent as text, never as markup', async () => {
      const owner = await createOwner(t)
      const browser = await signedInBrowser(owner, '<script>alert("ua")</script>')
      const page = await browser.get('/profile/sessions')
      expect(page.body).not.toContain('<script>alert')
      expect(page.body).toContain('&lt;script>alert(&quot;ua&quot;)&lt;/script>')
    })

    it('signs out one chosen session and leaves the others', async () => {
      const owner = await createOwner(t)
      const first = await signedInBrowser(owner, 'First/1')
      const second = await signedInBrowser(owner, 'Second/2')
      await first.get('/profile/sessions')

      const response = await first.post('/profile/sessions/revoke', {
        session: sessionIdHash(sessionToken(second)!),
      })
      expect(response.status).toBe(303)
      expect(response.location).toBe('/profile/sessions?saved=1')
      expect(await isSignedIn(second)).toBe(false)
      expect(await isSignedIn(first)).toBe(true)
      const page = await first.get(response.location!)
      expect(page.body).toContain('Signed out.')
      expect(page.body).not.toContain('Second/2')
    })

    it("answers 404 to revoking another user's session, which keeps working", async () => {
      const victim = await createOwner(t)
      const mallory = await createOwner(t)
      const victimBrowser = await signedInBrowser(victim)
      const malloryBrowser = await signedInBrowser(mallory)
      await malloryBrowser.get('/profile/sessions')

      const response = await malloryBrowser.post('/profile/sessions/revoke', {
        session: sessionIdHash(sessionToken(victimBrowser)!),
      })
      expect(response.status).toBe(404)
      expect(await isSignedIn(victimBrowser)).toBe(true)
      expect(await isSignedIn(malloryBrowser)).toBe(true)
      expect(await sessionHashesOf(t, victim.userId)).toHaveLength(1)
    })

    it('signs out the current browser when its own session is chosen', async () => {
      const owner = await createOwner(t)
      const browser = await signedInBrowser(owner)
      await browser.get('/profile/sessions')
      const token = sessionToken(browser)!
      const response = await browser.post('/profile/sessions/revoke', {
        session: sessionIdHash(token),
      })
      expect(response.status).toBe(303)
      expect(response.location).toBe('/login')
      expect(setCookieFor(response, 'candor_session')).toMatch(/^candor_session=;/)
      expect(await isSignedIn(browserWithCookie(token))).toBe(false)
    })

    it('signs out all other sessions and keeps this one', async () => {
      const owner = await createOwner(t)
      const here = await signedInBrowser(owner, 'Here/1')
      const elsewhere = [
        await signedInBrowser(owner, 'There/2'),
        await signedInBrowser(owner, 'There/3'),
      ]
      const other = await createOwner(t)
      const otherBrowser = await signedInBrowser(other)
      await here.get('/profile/sessions')

      const response = await here.post('/profile/sessions/revoke-others', {})
      expect(response.status).toBe(303)
      expect(response.location).toBe('/profile/sessions?saved=1')
      for (const browser of elsewhere) expect(await isSignedIn(browser)).toBe(false)
      expect(await isSignedIn(here)).toBe(true)
      expect(await sessionHashesOf(t, owner.userId)).toEqual([sessionIdHash(sessionToken(here)!)])
      expect(await isSignedIn(otherBrowser)).toBe(true)
    })

    it('signs out everywhere, this browser included', async () => {
      const owner = await createOwner(t)
      const here = await signedInBrowser(owner)
      const there = await signedInBrowser(owner)
      await here.get('/profile/sessions')
      const token = sessionToken(here)!

      const response = await here.post('/profile/sessions/revoke-all', {})
      expect(response.status).toBe(303)
      expect(response.location).toBe('/login')
      expect(setCookieFor(response, 'candor_session')).toMatch(/^candor_session=;/)
      expect(await isSignedIn(here)).toBe(false)
      expect(await isSignedIn(there)).toBe(false)
      expect(await isSignedIn(browserWithCookie(token))).toBe(false)
      expect(await sessionHashesOf(t, owner.userId)).toEqual([])
    })
  })

  describe('sign-out', () => {
    it('clears the cookie and ends the session on the server', async () => {
      const owner = await createOwner(t)
      const browser = await signedInBrowser(owner)
      const other = await signedInBrowser(owner)
      await browser.get('/profile')
      const token = sessionToken(browser)!

      const response = await browser.post('/logout', {})
      expect(response.status).toBe(303)
      expect(response.location).toBe('/login')
      const cleared = setCookieFor(response, 'candor_session')
      expect(cleared).toMatch(/^candor_session=;/)
      expect(cleared).toMatch(/Expires=Thu, 01 Jan 1970/)
      expect(sessionToken(browser)).toBeUndefined()
      expect(await isSignedIn(browserWithCookie(token))).toBe(false)
      expect(await sessionHashesOf(t, owner.userId)).toEqual([sessionIdHash(sessionToken(other)!)])
      expect(await isSignedIn(other)).toBe(true)
    })

    it('an unauthenticated page request after sign-out goes to /login', async () => {
      const owner = await createOwner(t)
      const browser = await signedInBrowser(owner)
      await browser.get('/profile')
      await browser.post('/logout', {})
      for (const path of ['/dashboard', '/profile', '/profile/sessions', `/a/${owner.accountId}`]) {
        const response = await browser.get(path)
        expect(response.status).toBe(302)
        expect(response.location).toBe('/login')
      }
    })
  })
})
