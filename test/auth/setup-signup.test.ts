import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import { TestBrowser } from '../helpers/browser.js'
import { createOwner } from '../helpers/factories.js'
import { countRows, sessionToken, uniqueIp } from '../helpers/http.js'
import { findLink, startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js'
import { testDialects } from '../helpers/test-db.js'

const PASSWORD = 'a long enough passphrase'

function pathOf(link: string): string {
  const url = new URL(link)
  return `${url.pathname}${url.search}`
}

function tokenOf(link: string): string {
  return new URL(link, 'http://candor.test').searchParams.get('token')!
}

describe.each(testDialects)('first-run setup link (%s)', (dialect) => {
  let t: TestApp
  beforeEach(async () => {
    t = await buildTestApp(dialect)
  })
  afterEach(async () => {
    await t.close()
  })

  const browser = () => new TestBrowser(t.app, { ip: uniqueIp() })

  async function counts(): Promise<{ users: number; accounts: number; memberships: number }> {
    return {
      users: await countRows(t, 'users'),
      accounts: await countRows(t, 'accounts'),
      memberships: await countRows(t, 'memberships'),
    }
  }

  it('creates the first account and its owner, signed in, exactly once', async () => {
    const link = await t.runtime.services.auth.createSetupLinkIfEmpty()
    expect(link).toMatch(/^http:\/\/candor\.test\/setup\?token=[A-Za-z0-9_-]{43}$/)

    const b = browser()
    const form = await b.get(pathOf(link!))
    expect(form.status).toBe(200)
    expect(form.body).toContain('Set up Candor')
    expect(form.body).toContain(`name="token" value="${tokenOf(link!)}"`)

    const response = await b.post('/setup', {
      token: tokenOf(link!),
      accountName: 'Acme',
      name: 'Ada Owner',
      email: 'Ada@Example.com',
      password: PASSWORD,
    })
    expect(response.status).toBe(303)
    expect(response.location).toBe('/dashboard')
    expect(sessionToken(b)).toBeDefined()
    expect(await counts()).toEqual({ users: 1, accounts: 1, memberships: 1 })
    const membership = await t.runtime.database.db
      .selectFrom('memberships')
      .select(['role', 'account_id'])
      .executeTakeFirstOrThrow()
    expect(membership.role).toBe('owner')
    const dashboard = await b.get('/dashboard')
    expect(dashboard.location).toBe(`/a/${membership.account_id}`)
    expect((await b.get(dashboard.location!)).body).toContain('Acme')

    // The link is spent: neither the form nor a second submission works.
    const again = browser()
    const reused = await again.get(pathOf(link!))
    expect(reused.status).toBe(400)
    expect(reused.body).toContain('Setup link not valid')
    await again.get('/login')
    const second = await again.post('/setup', {
      token: tokenOf(link!),
      accountName: 'Evil',
      name: 'Eve',
      email: 'eve@example.com',
      password: PASSWORD,
    })
    expect(second.status).toBeGreaterThanOrEqual(400)
    expect(second.status).toBeLessThan(500)
    expect(sessionToken(again)).toBeUndefined()
    expect(await counts()).toEqual({ users: 1, accounts: 1, memberships: 1 })
  })

  it('issues no link once a user exists, and an earlier link stops working', async () => {
    const link = await t.runtime.services.auth.createSetupLinkIfEmpty()
    await createOwner(t)
    expect(await t.runtime.services.auth.createSetupLinkIfEmpty()).toBeUndefined()
    expect((await browser().get(pathOf(link!))).status).toBe(400)
  })

  it('replaces an earlier link when a new one is issued', async () => {
    const first = await t.runtime.services.auth.createSetupLinkIfEmpty()
    const second = await t.runtime.services.auth.createSetupLinkIfEmpty()
    expect(second).not.toBe(first)
    expect((await browser().get(pathOf(first!))).status).toBe(400)
    expect((await browser().get(pathOf(second!))).status).toBe(200)
  })

  it('refuses an unknown token', async () => {
    await t.runtime.services.auth.createSetupLinkIfEmpty()
    const response = await browser().get('/setup?token=not-a-real-token')
    expect(response.status).toBe(400)
    expect((await browser().get('/setup')).status).toBe(400)
  })

  it('re-renders invalid input with 422, creates nothing and keeps the link usable', async () => {
    const link = await t.runtime.services.auth.createSetupLinkIfEmpty()
    const b = browser()
    await b.get(pathOf(link!))

    const response = await b.post('/setup', {
      token: tokenOf(link!),
      accountName: 'Bad\u0007Name',
      name: '',
      email: 'not-an-email',
      password: 'short',
    })
    expect(response.status).toBe(422)
    expect(response.body).toContain('Account name must not contain control characters.')
    expect(response.body).toContain('Your name is required.')
    expect(response.body).toContain('Enter an email address like name@example.com.')
    expect(response.body).toContain('Use at least 8 characters.')
    // What was typed comes back, except the password.
    expect(response.body).toContain('value="not-an-email"')
    expect(response.body).not.toContain('value="short"')
    expect(await counts()).toEqual({ users: 0, accounts: 0, memberships: 0 })
    expect(sessionToken(b)).toBeUndefined()

    expect((await b.get(pathOf(link!))).status).toBe(200)
    const fixed = await b.post('/setup', {
      token: tokenOf(link!),
      accountName: 'Good Name',
      name: 'Grace',
      email: 'grace@example.com',
      password: PASSWORD,
    })
    expect(fixed.status).toBe(303)
    expect(await counts()).toEqual({ users: 1, accounts: 1, memberships: 1 })
  })
})

describe.each(testDialects)('sign-up (%s)', (dialect) => {
  let sink: SmtpSink
  beforeAll(async () => {
    sink = await startSmtpSink()
  })
  afterAll(async () => {
    await sink.close()
  })

  describe('disabled (the default)', () => {
    let t: TestApp
    beforeAll(async () => {
      t = await buildTestApp(dialect, { smtpPort: sink.port })
    })
    afterAll(async () => {
      await t.close()
    })

    it('answers 404 on every sign-up address and sends nothing', async () => {
      const b = new TestBrowser(t.app, { ip: uniqueIp() })
      const login = await b.get('/login')
      expect(login.body).not.toContain('href="/signup"')
      expect((await b.get('/signup')).status).toBe(404)
      expect((await b.get('/signup/complete?token=abc')).status).toBe(404)

      const email = `disabled-${String(Date.now())}@example.com`
      expect((await b.post('/signup', { email })).status).toBe(404)
      const complete = await b.post('/signup/complete', {
        token: 'abc',
        accountName: 'X',
        name: 'Y',
        password: PASSWORD,
      })
      expect(complete.status).toBe(404)
      await t.runtime.background.drain()
      expect(sink.messages.filter((m) => m.to.includes(email))).toEqual([])
      expect(await countRows(t, 'users')).toBe(0)
    })
  })

  describe('enabled with ALLOW_SIGNUP=true', () => {
    let t: TestApp
    beforeAll(async () => {
      t = await buildTestApp(dialect, { smtpPort: sink.port, env: { ALLOW_SIGNUP: 'true' } })
    })
    afterAll(async () => {
      await t.close()
    })

    async function requestSignup(email: string) {
      const b = new TestBrowser(t.app, { ip: uniqueIp() })
      const form = await b.get('/signup')
      expect(form.status).toBe(200)
      const response = await b.post('/signup', { email })
      await t.runtime.background.drain()
      return response
    }

    it('emails a link that creates an account with that address', async () => {
      const email = `new-${String(Date.now())}@example.com`
      const login = await new TestBrowser(t.app).get('/login')
      expect(login.body).toContain('href="/signup"')

      const response = await requestSignup(email)
      expect(response.status).toBe(200)
      expect(response.body).toContain('Check your email')
      const mail = await sink.waitFor((m) => m.to.includes(email))
      expect(mail.subject).toBe('Finish creating your Candor account')
      const link = pathOf(findLink(mail.raw, '/signup/complete'))

      const b = new TestBrowser(t.app, { ip: uniqueIp() })
      const form = await b.get(link)
      expect(form.status).toBe(200)
      expect(form.body).toContain(`Email: <strong>${email}</strong>`)
      const usersBefore = await countRows(t, 'users')
      const done = await b.post('/signup/complete', {
        token: tokenOf(link),
        accountName: 'Signup Co',
        name: 'Sam Signup',
        // The address is the one the link was sent to, whatever the form says.
        email: 'someone-else@example.com',
        password: PASSWORD,
      })
      expect(done.status).toBe(303)
      expect(done.location).toBe('/dashboard')
      expect(await countRows(t, 'users')).toBe(usersBefore + 1)
      const page = await b.get((await b.get('/dashboard')).location!)
      expect(page.body).toContain('Signup Co')
      expect((await b.get('/profile')).body).toContain(`Email: ${email}`)

      // The new login works with its password, and the link does not work twice.
      const signedIn = new TestBrowser(t.app, { ip: uniqueIp() })
      await signedIn.get('/login')
      expect((await signedIn.post('/login', { email, password: PASSWORD })).status).toBe(303)
      const reused = await new TestBrowser(t.app, { ip: uniqueIp() }).get(link)
      expect(reused.status).toBe(400)
    })

    it('re-renders an invalid completion with 422 and creates nothing', async () => {
      const email = `invalid-${String(Date.now())}@example.com`
      await requestSignup(email)
      const mail = await sink.waitFor((m) => m.to.includes(email))
      const link = pathOf(findLink(mail.raw, '/signup/complete'))
      const b = new TestBrowser(t.app, { ip: uniqueIp() })
      await b.get(link)
      const before = {
        users: await countRows(t, 'users'),
        accounts: await countRows(t, 'accounts'),
      }

      const response = await b.post('/signup/complete', {
        token: tokenOf(link),
        accountName: '',
        name: 'Nina',
        password: 'password123',
      })
      expect(response.status).toBe(422)
      expect(response.body).toContain('Account name is required.')
      expect(response.body).toContain('one of the most common passwords')
      expect(response.body).toContain(`Email: <strong>${email}</strong>`)
      expect({
        users: await countRows(t, 'users'),
        accounts: await countRows(t, 'accounts'),
      }).toEqual(before)
      expect((await b.get(link)).status).toBe(200)
    })

    it("answers an already registered address identically and emails 'already have a login'", async () => {
      const owner = await createOwner(t)
      const newcomer = `newcomer-${String(Date.now())}@example.com`
      const tokensBefore = await countRows(t, 'auth_tokens')

      const registered = await requestSignup(owner.email)
      const fresh = await requestSignup(newcomer)
      expect(registered.status).toBe(200)
      expect(registered.status).toBe(fresh.status)
      expect(registered.headers['content-type']).toBe(fresh.headers['content-type'])
      expect(registered.body).toBe(fresh.body)

      const existing = await sink.waitFor((m) => m.to.includes(owner.email))
      expect(existing.subject).toBe('You already have a Candor login')
      expect(existing.raw).toContain('http://candor.test/forgot-password')
      expect(() => findLink(existing.raw, '/signup/complete')).toThrow()
      expect((await sink.waitFor((m) => m.to.includes(newcomer))).subject).toBe(
        'Finish creating your Candor account',
      )
      // Only the newcomer got a sign-up token.
      expect(await countRows(t, 'auth_tokens')).toBe(tokensBefore + 1)
    })

    it('refuses an invalid email with 422 and sends nothing', async () => {
      const b = new TestBrowser(t.app, { ip: uniqueIp() })
      await b.get('/signup')
      const response = await b.post('/signup', { email: 'no-at-sign' })
      expect(response.status).toBe(422)
      expect(response.body).toContain('Enter an email address like name@example.com.')
    })
  })
})
