import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { emailIndex } from '../../src/domain/accounts/user-repository.js'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import { signIn, TestBrowser } from '../helpers/browser.js'
import { addMember, createOwner, type CreatedOwner } from '../helpers/factories.js'
import {
  isSignedIn,
  passwordHashOf,
  sessionHashesOf,
  sessionIdHash,
  sessionToken,
  uniqueIp,
} from '../helpers/http.js'
import { findLink, startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js'
import { testDialects } from '../helpers/test-db.js'

const NEW_PASSWORD = 'a brand new passphrase 42'
const EXPIRED = /expired or was already used/

function pathOf(link: string): string {
  const url = new URL(link)
  return `${url.pathname}${url.search}`
}

describe.each(testDialects)('passwords (%s)', (dialect) => {
  let t: TestApp
  let sink: SmtpSink
  beforeAll(async () => {
    sink = await startSmtpSink()
    t = await buildTestApp(dialect, { smtpPort: sink.port })
  })
  afterAll(async () => {
    await t.close()
    await sink.close()
  })

  async function signedInBrowser(owner: { email: string; password: string }): Promise<TestBrowser> {
    const browser = new TestBrowser(t.app, { ip: uniqueIp() })
    expect((await signIn(browser, owner.email, owner.password)).status).toBe(303)
    return browser
  }

  async function canSignIn(email: string, password: string): Promise<boolean> {
    const response = await signIn(new TestBrowser(t.app, { ip: uniqueIp() }), email, password)
    return response.status === 303
  }

  describe('changing the password', () => {
    it('requires the right current password', async () => {
      const owner = await createOwner(t)
      const browser = await signedInBrowser(owner)
      await browser.get('/profile')
      const before = await passwordHashOf(t, owner.userId)

      const response = await browser.post('/profile/password', {
        currentPassword: 'this is not it',
        newPassword: NEW_PASSWORD,
      })
      expect(response.status).toBe(422)
      expect(response.body).toContain('The current password is not correct.')
      expect(response.body).toMatch(/id="field-currentPassword-error"/)
      expect(response.body).toMatch(/name="currentPassword"[^>]*aria-invalid="true"/)
      expect(await passwordHashOf(t, owner.userId)).toBe(before)
      expect(await isSignedIn(browser)).toBe(true)
    })

    it.each([
      ['a common password', 'password123', 'one of the most common passwords'],
      ['a too short password', 'short7!', 'Use at least 8 characters.'],
      ['a too long password', 'x'.repeat(129), 'Use at most 128 characters.'],
    ])('refuses %s', async (_label, newPassword, message) => {
      const owner = await createOwner(t)
      const browser = await signedInBrowser(owner)
      await browser.get('/profile')
      const before = await passwordHashOf(t, owner.userId)

      const response = await browser.post('/profile/password', {
        currentPassword: owner.password,
        newPassword,
      })
      expect(response.status).toBe(422)
      expect(response.body).toContain(message)
      expect(response.body).toMatch(/id="field-newPassword-error"/)
      expect(await passwordHashOf(t, owner.userId)).toBe(before)
    })

    it('accepts a 128-character password', async () => {
      const owner = await createOwner(t)
      const browser = await signedInBrowser(owner)
      await browser.get('/profile')
      const longest = 'long passphrase '.repeat(8)
      expect(longest).toHaveLength(128)
      const response = await browser.post('/profile/password', {
        currentPassword: owner.password,
        newPassword: longest,
      })
      expect(response.status).toBe(303)
      expect(await canSignIn(owner.email, longest)).toBe(true)
    })

    it('counts length in characters, not UTF-16 units, for the current and the new password', async () => {
      const emoji = '🔑🐎'.repeat(60)
      const owner = await createOwner(t, { password: emoji })
      const browser = await signedInBrowser(owner)
      await browser.get('/profile')
      const response = await browser.post('/profile/password', {
        currentPassword: emoji,
        newPassword: '🌍🚀'.repeat(64),
      })
      expect(response.status).toBe(303)
      expect(await canSignIn(owner.email, '🌍🚀'.repeat(64))).toBe(true)
    })

    it('throttles guesses of the current password', async () => {
      const owner = await createOwner(t)
      const browser = await signedInBrowser(owner)
      await browser.get('/profile')
      for (let i = 0; i < 5; i++) {
        const wrong = await browser.post('/profile/password', {
          currentPassword: `guess number ${String(i)}`,
          newPassword: NEW_PASSWORD,
        })
        expect(wrong.status).toBe(422)
      }
      const blocked = await browser.post('/profile/password', {
        currentPassword: owner.password,
        newPassword: NEW_PASSWORD,
      })
      expect(blocked.status).toBe(429)
      expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0)
      expect(await canSignIn(owner.email, owner.password)).toBe(true)
    })

    it('ends every other session and gives the current one a new id', async () => {
      const owner = await createOwner(t)
      const here = await signedInBrowser(owner)
      const there = await signedInBrowser(owner)
      await here.get('/profile')
      const oldToken = sessionToken(here)!

      const response = await here.post('/profile/password', {
        currentPassword: owner.password,
        newPassword: NEW_PASSWORD,
      })
      expect(response.status).toBe(303)
      expect(response.location).toBe('/profile?saved=password')
      const newToken = sessionToken(here)!
      expect(newToken).not.toBe(oldToken)
      expect(await sessionHashesOf(t, owner.userId)).toEqual([sessionIdHash(newToken)])

      expect((await here.get(response.location!)).body).toContain('Password changed.')
      expect(await isSignedIn(there)).toBe(false)
      const stale = new TestBrowser(t.app, { ip: uniqueIp() })
      stale.cookies.set('candor_session', oldToken)
      expect(await isSignedIn(stale)).toBe(false)

      expect(await canSignIn(owner.email, owner.password)).toBe(false)
      expect(await canSignIn(owner.email, NEW_PASSWORD)).toBe(true)
    })
  })

  describe('resetting a forgotten password', () => {
    async function requestReset(email: string): Promise<string> {
      const browser = new TestBrowser(t.app, { ip: uniqueIp() })
      await browser.get('/forgot-password')
      const response = await browser.post('/forgot-password', { email })
      expect(response.status).toBe(200)
      expect(response.body).toContain('a message with a reset link is on its way')
      await t.runtime.background.drain()
      return response.body
    }

    async function resetLinkFor(email: string): Promise<string> {
      const mail = await sink.waitFor((m) => m.to.includes(email))
      expect(mail.subject).toBe('Reset your Candor password')
      return pathOf(findLink(mail.raw, '/reset-password'))
    }

    it('works once, ends every session, and replaces the old password', async () => {
      const owner = await createOwner(t)
      const signedIn = await signedInBrowser(owner)
      await requestReset(owner.email)
      const link = await resetLinkFor(owner.email)

      const visitor = new TestBrowser(t.app, { ip: uniqueIp() })
      const form = await visitor.get(link)
      expect(form.status).toBe(200)
      expect(form.body).toContain('Choose a new password')
      const token = new URL(link, 'http://x').searchParams.get('token')!
      const response = await visitor.post('/reset-password', { token, password: NEW_PASSWORD })
      expect(response.status).toBe(303)
      expect(response.location).toBe('/login?reset=1')
      expect((await visitor.get(response.location!)).body).toContain('every session was signed out')

      expect(await isSignedIn(signedIn)).toBe(false)
      expect(await sessionHashesOf(t, owner.userId)).toEqual([])
      expect(await canSignIn(owner.email, owner.password)).toBe(false)
      expect(await canSignIn(owner.email, NEW_PASSWORD)).toBe(true)

      const replayed = await visitor.get(link)
      expect(replayed.status).toBe(400)
      expect(replayed.body).toMatch(EXPIRED)
      const hashAfterReset = await passwordHashOf(t, owner.userId)
      const replayPost = await visitor.post('/reset-password', {
        token,
        password: 'someone else entirely 7',
      })
      expect(replayPost.status).toBe(400)
      expect(replayPost.body).toMatch(EXPIRED)
      expect(await passwordHashOf(t, owner.userId)).toBe(hashAfterReset)
    })

    it('rejects a weak new password and keeps the link usable', async () => {
      const owner = await createOwner(t)
      await requestReset(owner.email)
      const link = await resetLinkFor(owner.email)
      const token = new URL(link, 'http://x').searchParams.get('token')!
      const visitor = new TestBrowser(t.app, { ip: uniqueIp() })
      await visitor.get(link)

      const weak = await visitor.post('/reset-password', { token, password: 'password123' })
      expect(weak.status).toBe(422)
      expect(weak.body).toContain('one of the most common passwords')
      expect((await visitor.get(link)).status).toBe(200)
      expect(await canSignIn(owner.email, owner.password)).toBe(true)
    })

    it('expires after PASSWORD_RESET_TTL_MINUTES', async () => {
      const owner = await createOwner(t)
      await requestReset(owner.email)
      const link = await resetLinkFor(owner.email)
      const token = new URL(link, 'http://x').searchParams.get('token')!
      const visitor = new TestBrowser(t.app, { ip: uniqueIp() })

      t.clock.advance(59 * 60_000)
      expect((await visitor.get(link)).status).toBe(200)

      t.clock.advance(2 * 60_000)
      const expired = await visitor.get(link)
      expect(expired.status).toBe(400)
      expect(expired.body).toMatch(EXPIRED)
      const before = await passwordHashOf(t, owner.userId)
      const post = await visitor.post('/reset-password', { token, password: NEW_PASSWORD })
      expect(post.status).toBe(400)
      expect(await passwordHashOf(t, owner.userId)).toBe(before)
    })

    it('answers the same for an unknown email and sends nothing', async () => {
      const owner = await createOwner(t)
      const unknownEmail = `nobody-${String(Date.now())}@example.com`
      const known = await requestReset(owner.email)
      const unknown = await requestReset(unknownEmail)
      expect(unknown).toBe(known)

      await sink.waitFor((m) => m.to.includes(owner.email))
      expect(sink.messages.filter((m) => m.to.includes(unknownEmail))).toEqual([])
    })

    it('sends at most 5 reset emails per address per hour, answering the same every time', async () => {
      const owner = await createOwner(t)
      const pages = new Set<string>()
      for (let i = 0; i < 7; i++) pages.add(await requestReset(owner.email))
      expect(pages.size).toBe(1)
      expect(sink.messages.filter((m) => m.to.includes(owner.email))).toHaveLength(5)

      t.clock.advance(61 * 60_000)
      await requestReset(owner.email)
      expect(sink.messages.filter((m) => m.to.includes(owner.email))).toHaveLength(6)
    })

    it('stops an unused reset link from working once the password is changed', async () => {
      const owner = await createOwner(t)
      await requestReset(owner.email)
      const link = await resetLinkFor(owner.email)
      const browser = await signedInBrowser(owner)
      await browser.get('/profile')
      const changed = await browser.post('/profile/password', {
        currentPassword: owner.password,
        newPassword: NEW_PASSWORD,
      })
      expect(changed.status).toBe(303)
      const stale = await new TestBrowser(t.app, { ip: uniqueIp() }).get(link)
      expect(stale.status).toBe(400)
      expect(stale.body).toMatch(EXPIRED)
    })

    it('refuses an invalid email address with 422', async () => {
      const browser = new TestBrowser(t.app, { ip: uniqueIp() })
      await browser.get('/forgot-password')
      const response = await browser.post('/forgot-password', { email: 'not-an-address' })
      expect(response.status).toBe(422)
      expect(response.body).toContain('Enter an email address like name@example.com.')
    })
  })
})

describe.each(testDialects)('the file mailbox without SMTP (%s)', (dialect) => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp(dialect)
  })
  afterAll(async () => {
    await t.close()
  })

  async function signedInBrowser(user: { email: string; password: string }): Promise<TestBrowser> {
    const browser = new TestBrowser(t.app, { ip: uniqueIp() })
    expect((await signIn(browser, user.email, user.password)).status).toBe(303)
    return browser
  }

  async function resetMailOf(
    owner: CreatedOwner,
  ): Promise<{ listing: string; messageUrl: string }> {
    const anonymous = new TestBrowser(t.app, { ip: uniqueIp() })
    await anonymous.get('/forgot-password')
    await anonymous.post('/forgot-password', { email: owner.email })
    await t.runtime.background.drain()
    const browser = await signedInBrowser(owner)
    const listing = await browser.get(`/a/${owner.accountId}/mail`)
    expect(listing.status).toBe(200)
    const href = new RegExp(`href="(/a/${owner.accountId}/mail/[a-z0-9]+)"`).exec(listing.body)
    expect(href).not.toBeNull()
    return { listing: listing.body, messageUrl: href![1]! }
  }

  it("shows the owner's reset email, and its link works", async () => {
    const owner = await createOwner(t)
    const { listing, messageUrl } = await resetMailOf(owner)
    expect(listing).toContain('Reset your Candor password')

    const mailDir = join(t.dataDir, 'mail')
    expect(existsSync(mailDir)).toBe(true)
    expect(readdirSync(mailDir).some((name) => name.endsWith('.eml'))).toBe(true)

    const browser = await signedInBrowser(owner)
    const message = await browser.get(messageUrl)
    expect(message.status).toBe(200)
    const link = findLink(message.body, '/reset-password')
    expect(link.startsWith('http://candor.test/reset-password?token=')).toBe(true)
    const form = await new TestBrowser(t.app, { ip: uniqueIp() }).get(pathOf(link))
    expect(form.status).toBe(200)
    expect(form.body).toContain('Choose a new password')
  })

  it("hides one account's mailbox from another account's owner (404)", async () => {
    const owner = await createOwner(t)
    const { messageUrl } = await resetMailOf(owner)
    const stranger = await createOwner(t)
    const browser = await signedInBrowser(stranger)

    const listing = await browser.get(`/a/${owner.accountId}/mail`)
    expect(listing.status).toBe(404)
    expect(listing.body).not.toContain('Reset your Candor password')
    const message = await browser.get(messageUrl)
    expect(message.status).toBe(404)
    expect(message.body).not.toContain('reset-password?token=')
    // Nor through their own account's address.
    const viaOwnAccount = await browser.get(
      messageUrl.replace(`/a/${owner.accountId}/`, `/a/${stranger.accountId}/`),
    )
    expect(viaOwnAccount.status).toBe(404)
    expect(viaOwnAccount.body).not.toContain('reset-password?token=')
  })

  it("does not put another member's reset email in the owner's mailbox", async () => {
    const owner = await createOwner(t)
    const admin = await addMember(t, owner.accountId, 'admin')
    const anonymous = new TestBrowser(t.app, { ip: uniqueIp() })
    await anonymous.get('/forgot-password')
    await anonymous.post('/forgot-password', { email: admin.email })
    await t.runtime.background.drain()
    // The email was written (for the operator, on disk) ...
    const written = await t.runtime.database.db
      .selectFrom('mail_messages')
      .select(['account_id', 'subject', 'file_name'])
      .where('recipient_index', '=', emailIndex(t.runtime.keyRing, admin.email))
      .execute()
    expect(written).toHaveLength(1)
    expect(written[0]!.subject).toBe('Reset your Candor password')
    expect(written[0]!.account_id).toBeNull()
    expect(existsSync(join(t.dataDir, 'mail', written[0]!.file_name!))).toBe(true)
    // ... but the owner, who could otherwise take over the admin's login, cannot read it.
    const browser = await signedInBrowser(owner)
    const listing = await browser.get(`/a/${owner.accountId}/mail`)
    expect(listing.status).toBe(200)
    expect(listing.body).toContain('No messages yet.')
    expect(listing.body).not.toContain('Reset your Candor password')
  })

  it('keeps the mailbox from an admin of the same account (403)', async () => {
    const owner = await createOwner(t)
    const { messageUrl } = await resetMailOf(owner)
    const admin = await addMember(t, owner.accountId, 'admin')
    const browser = await signedInBrowser(admin)

    const overview = await browser.get(`/a/${owner.accountId}`)
    expect(overview.status).toBe(200)
    expect(overview.body).not.toContain(`/a/${owner.accountId}/mail`)
    const listing = await browser.get(`/a/${owner.accountId}/mail`)
    expect(listing.status).toBe(403)
    expect(listing.body).not.toContain('Reset your Candor password')
    const message = await browser.get(messageUrl)
    expect(message.status).toBe(403)
    expect(message.body).not.toContain('reset-password?token=')
  })
})
