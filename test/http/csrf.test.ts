import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import { signIn, TestBrowser, type BrowserResponse } from '../helpers/browser.js'
import { createOwner, type CreatedOwner } from '../helpers/factories.js'
import {
  accountName,
  isSignedIn,
  sessionHashesOf,
  sessionToken,
  setCookieFor,
  uniqueIp,
} from '../helpers/http.js'
import { testDialects } from '../helpers/test-db.js'

const FORGED = 'forged-token-value'

describe.each(testDialects)('CSRF protection (%s)', (dialect) => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp(dialect)
  })
  afterAll(async () => {
    await t.close()
  })

  async function signedIn(): Promise<{ owner: CreatedOwner; browser: TestBrowser }> {
    const owner = await createOwner(t)
    const browser = new TestBrowser(t.app, { ip: uniqueIp() })
    expect((await signIn(browser, owner.email, owner.password)).status).toBe(303)
    await browser.get('/profile')
    return { owner, browser }
  }

  function expectRefused(response: BrowserResponse): void {
    expect(response.status).toBe(403)
    expect(response.body).toContain('did not come from this site')
  }

  it('sets an HttpOnly, SameSite=Lax CSRF cookie and a token field on the forms', async () => {
    for (const path of ['/login', '/forgot-password']) {
      const browser = new TestBrowser(t.app, { ip: uniqueIp() })
      const page = await browser.get(path)
      expect(page.status).toBe(200)
      const cookie = setCookieFor(page, 'candor_csrf')
      expect(cookie).toBeDefined()
      expect(cookie).toMatch(/; HttpOnly/i)
      expect(cookie).toMatch(/; SameSite=Lax/i)
      expect(cookie).toMatch(/; Path=\//i)
      expect(page.body).toMatch(/name="_csrf" value="[^"]+"/)
      expect(browser.csrfToken).toBeDefined()
      // The cookie holds the secret, the form a token derived from it: never the same value.
      expect(browser.cookies.get('candor_csrf')).not.toContain(browser.csrfToken!)
    }
  })

  it('keeps the CSRF secret across pages: the second page sets no new cookie', async () => {
    const browser = new TestBrowser(t.app, { ip: uniqueIp() })
    await browser.get('/login')
    const second = await browser.get('/forgot-password')
    expect(setCookieFor(second, 'candor_csrf')).toBeUndefined()
  })

  it('refuses a sign-in without a token, or with a wrong one, and signs nobody in', async () => {
    const owner = await createOwner(t)
    const browser = new TestBrowser(t.app, { ip: uniqueIp() })
    await browser.get('/login')
    const fields = { email: owner.email, password: owner.password }

    const missing = await browser.post('/login', fields, { omitCsrf: true })
    expectRefused(missing)
    expect(setCookieFor(missing, 'candor_session')).toBeUndefined()
    expectRefused(await browser.post('/login', { ...fields, _csrf: FORGED }))
    expect(sessionToken(browser)).toBeUndefined()
    expect(await sessionHashesOf(t, owner.userId)).toEqual([])

    // The same form with the token goes through.
    expect((await browser.post('/login', fields)).status).toBe(303)
  })

  it('refuses a sign-in from a browser that has no CSRF cookie at all', async () => {
    const owner = await createOwner(t)
    const browser = new TestBrowser(t.app, { ip: uniqueIp() })
    await browser.get('/login')
    browser.cookies.delete('candor_csrf')
    expectRefused(await browser.post('/login', { email: owner.email, password: owner.password }))
    expect(await sessionHashesOf(t, owner.userId)).toEqual([])
  })

  it('refuses to sign out without a valid token, and the session keeps working', async () => {
    const { browser } = await signedIn()
    expectRefused(await browser.post('/logout', {}, { omitCsrf: true }))
    expectRefused(await browser.post('/logout', { _csrf: FORGED }))
    expect(await isSignedIn(browser)).toBe(true)
  })

  it('refuses a profile change without a valid token, and the name stays', async () => {
    const { browser } = await signedIn()
    expectRefused(await browser.post('/profile', { name: 'Mallory' }, { omitCsrf: true }))
    expectRefused(await browser.post('/profile', { name: 'Mallory', _csrf: FORGED }))
    const profile = await browser.get('/profile')
    expect(profile.body).not.toContain('Mallory')

    expect((await browser.post('/profile', { name: 'Alice Real' })).status).toBe(303)
    expect((await browser.get('/profile')).body).toContain('value="Alice Real"')
  })

  it('refuses account settings without a valid token, and the account name stays', async () => {
    const { owner, browser } = await signedIn()
    const before = await accountName(t, owner.accountId)
    const url = `/a/${owner.accountId}/settings`
    expectRefused(await browser.post(url, { name: 'Hijacked' }, { omitCsrf: true }))
    expectRefused(await browser.post(url, { name: 'Hijacked', _csrf: FORGED }))
    expectRefused(await browser.post(url, { name: 'Hijacked', _csrf: '' }))
    expect(await accountName(t, owner.accountId)).toBe(before)
    expect((await browser.get(url)).body).not.toContain('Hijacked')
  })

  it("does not accept a token from another browser's cookie", async () => {
    const { owner, browser } = await signedIn()
    const other = new TestBrowser(t.app, { ip: uniqueIp() })
    await other.get('/login')
    const foreignToken = other.csrfToken!
    expect(foreignToken).not.toBe(browser.csrfToken)

    const before = await accountName(t, owner.accountId)
    expectRefused(
      await browser.post(`/a/${owner.accountId}/settings`, {
        name: 'Cross-site',
        _csrf: foreignToken,
      }),
    )
    expect(await accountName(t, owner.accountId)).toBe(before)

    // And the victim's own (valid) token does not help the other browser either.
    expectRefused(
      await other.post('/login', {
        email: owner.email,
        password: owner.password,
        _csrf: browser.csrfToken!,
      }),
    )
  })

  it('accepts the token in the X-CSRF-Token header as well', async () => {
    const { owner, browser } = await signedIn()
    const response = await browser.request(
      'POST',
      `/a/${owner.accountId}/settings`,
      new URLSearchParams({ name: 'Renamed via header' }).toString(),
      { 'x-csrf-token': browser.csrfToken! },
    )
    expect(response.status).toBe(303)
    expect(await accountName(t, owner.accountId)).toBe('Renamed via header')
  })
})
