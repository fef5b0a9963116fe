import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireRecentAuthentication } from '../../src/domain/accounts/reauthentication.js'
import { UnauthenticatedError } from '../../src/domain/errors.js'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import { addMember, createOwner } from '../helpers/factories.js'
import { sessionToken } from '../helpers/http.js'
import { testDialects } from '../helpers/test-db.js'
import {
  auditEntries,
  browserFor,
  enrolTotp,
  hiddenField,
  manualKey,
  passwordSignIn,
  recoveryCodesOn,
  sessionMethods,
  stepAway,
  totpCode,
} from './helpers.js'

describe.each(testDialects)("an account's two-factor requirement (%s)", (dialect) => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp(dialect)
  })
  afterAll(async () => {
    await t.close()
  })

  async function requires(accountId: string): Promise<boolean> {
    const row = await t.runtime.database.db
      .selectFrom('accounts')
      .select('require_two_factor')
      .where('id', '=', accountId)
      .executeTakeFirstOrThrow()
    return Boolean(row.require_two_factor)
  }

  /** An owner with TOTP, signed in with it; the requirement turned on. */
  async function accountRequiringTwoFactor() {
    const owner = await createOwner(t)
    const b = browserFor(t)
    await passwordSignIn(b, owner)
    const { secret } = await enrolTotp(t, b)
    await b.get(`/a/${owner.accountId}/settings`)
    const on = await b.post(`/a/${owner.accountId}/settings/two-factor`, { required: 'on' })
    expect(on.status).toBe(303)
    expect(await requires(owner.accountId)).toBe(true)
    return { owner, b, secret }
  }

  it('is an owner-only switch: an admin gets 403, another account\u2019s owner 404', async () => {
    const owner = await createOwner(t)
    const admin = await addMember(t, owner.accountId, 'admin')
    const adminBrowser = browserFor(t)
    await passwordSignIn(adminBrowser, admin)
    await enrolTotp(t, adminBrowser)
    const settings = await adminBrowser.get(`/a/${owner.accountId}/settings`)
    expect(settings.body).toContain('Only the owner can change this.')
    const byAdmin = await adminBrowser.post(`/a/${owner.accountId}/settings/two-factor`, {
      required: 'on',
    })
    expect(byAdmin.status).toBe(403)

    const stranger = await createOwner(t)
    const strangerBrowser = browserFor(t)
    await passwordSignIn(strangerBrowser, stranger)
    await enrolTotp(t, strangerBrowser)
    const byStranger = await strangerBrowser.post(`/a/${owner.accountId}/settings/two-factor`, {
      required: 'on',
    })
    expect(byStranger.status).toBe(404)
    expect(await requires(owner.accountId)).toBe(false)
  })

  it('needs the owner to have a second factor before turning it on', async () => {
    const owner = await createOwner(t)
    const b = browserFor(t)
    await passwordSignIn(b, owner)
    const page = await b.get(`/a/${owner.accountId}/settings`)
    expect(page.body).toContain('Require two-factor for every member')
    const refused = await b.post(`/a/${owner.accountId}/settings/two-factor`, { required: 'on' })
    expect(refused.status).toBe(409)
    expect(refused.body).toContain('Set up an authenticator app or a passkey for yourself first')
    expect(await requires(owner.accountId)).toBe(false)
  })

  it('turns on with an audit entry, and off only after re-authentication', async () => {
    const { owner, b } = await accountRequiringTwoFactor()
    const enabled = await auditEntries(t, owner.accountId, 'account.two_factor_requirement_enabled')
    expect(enabled).toHaveLength(1)
    expect(enabled[0]!.actor_user_id).toBe(owner.userId)
    // The owner's own session proved the second factor when the app was set up.
    expect((await b.get(`/a/${owner.accountId}`)).status).toBe(200)

    t.clock.advance(11 * 60_000)
    await b.get(`/a/${owner.accountId}/settings`)
    const off = await b.post(`/a/${owner.accountId}/settings/two-factor`, { required: 'off' })
    expect(off.status).toBe(303)
    expect(off.location).toMatch(/^\/reauthenticate\?next=/)
    expect(await requires(owner.accountId)).toBe(true)

    await b.get('/reauthenticate?next=/dashboard')
    expect(
      (await b.post('/reauthenticate', { next: '/dashboard', password: owner.password })).status,
    ).toBe(303)
    const offNow = await b.post(`/a/${owner.accountId}/settings/two-factor`, { required: 'off' })
    expect(offNow.status).toBe(303)
    expect(await requires(owner.accountId)).toBe(false)
    expect(
      await auditEntries(t, owner.accountId, 'account.two_factor_requirement_disabled'),
    ).toHaveLength(1)
  })

  it('leads a member without a second factor through enrolment at sign-in', async () => {
    const { owner } = await accountRequiringTwoFactor()
    const member = await addMember(t, owner.accountId, 'editor')
    const b = browserFor(t)
    const first = await passwordSignIn(b, member)
    expect(first.status).toBe(303)
    expect(first.location).toBe('/login/enrol')
    expect(sessionToken(b)).toBeUndefined()

    const page = await b.get('/login/enrol')
    expect(page.status).toBe(200)
    expect(page.body).toContain('requires two-factor authentication')
    const secret = manualKey(page.body)
    const wrong = await b.post('/login/enrol', {
      enrolment: hiddenField(page.body, 'enrolment'),
      code: totpCode(secret, stepAway(t.clock.now(), 6)),
    })
    expect(wrong.status).toBe(422)
    expect(manualKey(wrong.body)).toBe(secret)
    expect(sessionToken(b)).toBeUndefined()

    const done = await b.post('/login/enrol', {
      enrolment: hiddenField(wrong.body, 'enrolment'),
      code: totpCode(secret, t.clock.now()),
    })
    expect(done.status).toBe(200)
    expect(recoveryCodesOn(done.body)).toHaveLength(10)
    expect(sessionToken(b)).toBeDefined()
    expect(await sessionMethods(t, member.userId)).toEqual(['password_2fa'])
    expect((await b.get(`/a/${owner.accountId}`)).status).toBe(200)
    const signedIn = await auditEntries(t, owner.accountId, 'auth.signed_in')
    expect(signedIn.at(-1)!.details).toMatchObject({ method: 'password_2fa', enrolled: true })

    // The enrol flow is used up; the next sign-in asks for a code like any other.
    expect((await b.get('/login/enrol')).status).toBe(400)
    t.clock.set(stepAway(t.clock.now(), 3))
    expect((await passwordSignIn(browserFor(t), member)).location).toBe('/login/two-factor')
  })

  it('refuses a password-only session opened before the rule, with a way forward', async () => {
    const owner = await createOwner(t)
    const member = await addMember(t, owner.accountId, 'viewer')
    const memberBrowser = browserFor(t)
    await passwordSignIn(memberBrowser, member)
    expect((await memberBrowser.get(`/a/${owner.accountId}`)).status).toBe(200)

    const ownerBrowser = browserFor(t)
    await passwordSignIn(ownerBrowser, owner)
    await enrolTotp(t, ownerBrowser)
    await ownerBrowser.get(`/a/${owner.accountId}/settings`)
    await ownerBrowser.post(`/a/${owner.accountId}/settings/two-factor`, { required: 'on' })

    const refused = await memberBrowser.get(`/a/${owner.accountId}`)
    expect(refused.status).toBe(403)
    expect(refused.body).toContain('requires two-factor authentication')
    expect(refused.body).toContain('href="/profile/security"')
    // Setting the app up from the security page upgrades the session, and the account opens.
    await enrolTotp(t, memberBrowser)
    expect((await memberBrowser.get(`/a/${owner.accountId}`)).status).toBe(200)
  })

  it('keeps the last second factor of a member of such an account', async () => {
    const { owner, b } = await accountRequiringTwoFactor()
    const refused = await b.post('/profile/security/totp/disable', {})
    expect(refused.status).toBe(409)
    expect(refused.body).toContain('requires two-factor authentication')
    const row = await t.runtime.database.db
      .selectFrom('users')
      .select('totp_enabled_at')
      .where('id', '=', owner.userId)
      .executeTakeFirstOrThrow()
    expect(row.totp_enabled_at).not.toBeNull()
  })
})

describe.each(testDialects)('re-authentication (%s)', (dialect) => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp(dialect, {
      // A page that needs a recent proof, as a sensitive page would.
      beforeReady: (app) => {
        app.get('/test/sensitive', (request) => {
          if (request.actor === undefined) throw new UnauthenticatedError()
          requireRecentAuthentication(request.actor, t.clock)
          return 'done'
        })
      },
    })
  })
  afterAll(async () => {
    await t.close()
  })

  it('counts a proof for ten minutes, then asks again', async () => {
    const owner = await createOwner(t)
    const b = browserFor(t)
    await passwordSignIn(b, owner)
    await enrolTotp(t, b)
    // Within the window of the sign-in: no question asked.
    expect((await b.post('/profile/security/recovery-codes', {})).status).toBe(200)

    t.clock.advance(10 * 60_000 + 1_000)
    await b.get('/profile/security')
    const refused = await b.post('/profile/security/recovery-codes', {})
    expect(refused.status).toBe(303)
    expect(refused.location).toBe('/reauthenticate?next=%2Fdashboard')

    // A TOTP code is a proof too.
    t.clock.set(stepAway(t.clock.now(), 2))
    const form = await b.get('/reauthenticate?next=%2Fprofile%2Fsecurity')
    expect(form.body).toContain('Confirm with code')
    expect(form.body).toContain('Confirm with password')
    const wrongCode = await b.post('/reauthenticate', { next: '/profile/security', code: '000000' })
    expect(wrongCode.status).toBe(422)
    const confirmed = await b.post('/reauthenticate', {
      next: '/profile/security',
      password: owner.password,
    })
    expect(confirmed.location).toBe('/profile/security')
    t.clock.advance(9 * 60_000)
    expect((await b.post('/profile/security/recovery-codes', {})).status).toBe(200)
    t.clock.advance(2 * 60_000)
    expect((await b.post('/profile/security/recovery-codes', {})).status).toBe(303)
  })

  it('asks for a fresh proof before an authenticator app is added', async () => {
    const owner = await createOwner(t)
    const b = browserFor(t)
    await passwordSignIn(b, owner)
    t.clock.advance(11 * 60_000)
    const sent = await b.get('/profile/security/totp')
    expect(sent.status).toBe(303)
    expect(sent.location).toBe('/reauthenticate?next=%2Fprofile%2Fsecurity%2Ftotp')
    await b.get(sent.location!)
    const back = await b.post('/reauthenticate', {
      next: '/profile/security/totp',
      password: owner.password,
    })
    expect(back.location).toBe('/profile/security/totp')
    expect((await b.get('/profile/security/totp')).status).toBe(200)
  })

  it('returns to the page itself after a GET, and only ever to a path of this site', async () => {
    const owner = await createOwner(t)
    const b = browserFor(t)
    await passwordSignIn(b, owner)
    t.clock.advance(11 * 60_000)
    const sent = await b.get('/test/sensitive?tab=keys')
    expect(sent.status).toBe(303)
    expect(sent.location).toBe('/reauthenticate?next=%2Ftest%2Fsensitive%3Ftab%3Dkeys')
    const api = await b.request('GET', '/test/sensitive', undefined, { accept: 'application/json' })
    expect(api.status).toBe(403)
    expect(JSON.parse(api.body)).toMatchObject({ code: 'reauthentication_required' })
    await b.get(sent.location!)
    const back = await b.post('/reauthenticate', {
      next: '/test/sensitive?tab=keys',
      password: owner.password,
    })
    expect(back.location).toBe('/test/sensitive?tab=keys')
    expect((await b.get(back.location!)).body).toBe('done')

    for (const [next, expected] of [
      ['https://evil.example/x', '/dashboard'],
      ['//evil.example/x', '/dashboard'],
      ['/\\evil.example', '/dashboard'],
      ['javascript:alert(1)', '/dashboard'],
      ['/profile/security?saved=renamed', '/profile/security?saved=renamed'],
    ] as const) {
      const page = await b.get(`/reauthenticate?next=${encodeURIComponent(next)}`)
      expect(page.status).toBe(200)
      expect(page.body).toContain(`name="next" value="${expected.replace('&', '&amp;')}"`)
      const done = await b.post('/reauthenticate', { next, password: owner.password })
      expect(done.location).toBe(expected)
    }
  })

  it('tells a person without password or second factor to sign in through their IdP', async () => {
    const owner = await createOwner(t)
    await t.runtime.database.db
      .updateTable('users')
      .set({ password_hash: null })
      .where('id', '=', owner.userId)
      .execute()
    const { token } = await t.runtime.services.sessions.create(
      owner.userId,
      { ip: '192.0.2.9', userAgent: 'test' },
      { method: 'sso' },
    )
    const b = browserFor(t)
    b.cookies.set('candor_session', token)
    const page = await b.get('/reauthenticate?next=/dashboard')
    expect(page.status).toBe(200)
    expect(page.body).toContain('sign in again through your identity provider')
    expect(page.body).not.toContain('name="password"')
    const refused = await b.post('/reauthenticate', { next: '/dashboard', password: 'anything' })
    expect(refused.status).toBe(422)
  })
})
