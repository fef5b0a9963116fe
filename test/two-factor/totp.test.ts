import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { housekeepingJobs } from '../../src/jobs/housekeeping.js'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import { createOwner } from '../helpers/factories.js'
import { sessionToken, setCookieFor } from '../helpers/http.js'
import { testDialects } from '../helpers/test-db.js'
import {
  auditEntries,
  browserFor,
  enrolTotp,
  hiddenField,
  manualKey,
  passwordSignIn,
  sessionMethods,
  signInWithCode,
  stepAway,
  totpCode,
} from './helpers.js'

describe.each(testDialects)('TOTP two-factor sign-in (%s)', (dialect) => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp(dialect)
  })
  afterAll(async () => {
    await t.close()
  })

  /** An owner who signed in with a password and set up an authenticator app. */
  async function ownerWithTotp() {
    const owner = await createOwner(t)
    const b = browserFor(t)
    expect((await passwordSignIn(b, owner)).location).toBe('/dashboard')
    const { secret, recoveryCodes } = await enrolTotp(t, b)
    return { owner, secret, recoveryCodes, b }
  }

  it('enrols from the security page: QR code, manual key, confirmed by a valid code', async () => {
    const owner = await createOwner(t)
    const b = browserFor(t)
    await passwordSignIn(b, owner)
    const security = await b.get('/profile/security')
    expect(security.status).toBe(200)
    expect(security.body).toContain('href="/profile/security/totp"')

    const page = await b.get('/profile/security/totp')
    expect(page.status).toBe(200)
    expect(page.body).toMatch(/<img src="data:image\/png;base64,[A-Za-z0-9+/=]+"/)
    const secret = manualKey(page.body)
    expect(secret).toMatch(/^[A-Z2-7]{32}$/)
    const enrolment = hiddenField(page.body, 'enrolment')

    const wrong = await b.post('/profile/security/totp', {
      enrolment,
      code: totpCode(secret, stepAway(t.clock.now(), 5)),
    })
    expect(wrong.status).toBe(422)
    expect(wrong.body).toContain('That code is not correct.')
    // The same secret is offered again after a typo.
    expect(manualKey(wrong.body)).toBe(secret)

    const done = await b.post('/profile/security/totp', {
      enrolment: hiddenField(wrong.body, 'enrolment'),
      code: totpCode(secret, t.clock.now()),
    })
    expect(done.status).toBe(200)
    expect(done.body).toContain('not shown again')

    const row = await t.runtime.database.db
      .selectFrom('users')
      .select(['totp_secret_ciphertext', 'totp_enabled_at'])
      .where('id', '=', owner.userId)
      .executeTakeFirstOrThrow()
    expect(row.totp_enabled_at).not.toBeNull()
    expect(row.totp_secret_ciphertext).not.toContain(secret)
    const codes = await t.runtime.database.db
      .selectFrom('recovery_codes')
      .select('code_hash')
      .where('user_id', '=', owner.userId)
      .execute()
    expect(codes).toHaveLength(10)
    const enabled = await auditEntries(t, owner.accountId, 'auth.totp_enabled')
    expect(enabled).toHaveLength(1)
    expect(JSON.stringify(enabled[0]!.details)).not.toContain(secret)

    // Once on, the app cannot be switched to another secret by a second enrolment.
    const again = await b.post('/profile/security/totp', {
      enrolment,
      code: totpCode(secret, t.clock.now()),
    })
    expect(again.status).toBe(409)
    expect((await b.get('/profile/security/totp')).location).toBe('/profile/security')
  })

  it('asks for the code after the password, and signs in with method password_2fa', async () => {
    const { owner, secret } = await ownerWithTotp()
    t.clock.set(stepAway(t.clock.now(), 4))
    const b = browserFor(t)
    const first = await passwordSignIn(b, owner)
    expect(first.status).toBe(303)
    expect(first.location).toBe('/login/two-factor')
    expect(setCookieFor(first, 'candor_session')).toBeUndefined()
    expect(setCookieFor(first, 'candor_signin')).toMatch(/HttpOnly/i)
    // A pending sign-in is not a session.
    expect((await b.get('/dashboard')).location).toBe('/login')

    const step = await b.get('/login/two-factor')
    expect(step.status).toBe(200)
    const done = await b.post('/login/two-factor', { code: totpCode(secret, t.clock.now()) })
    expect(done.status).toBe(303)
    expect(done.location).toBe('/dashboard')
    expect(sessionToken(b)).toBeDefined()
    expect((await b.get('/dashboard')).location).toBe(`/a/${owner.accountId}`)
    expect((await sessionMethods(t, owner.userId)).at(-1)).toBe('password_2fa')
    const signedIn = await auditEntries(t, owner.accountId, 'auth.signed_in')
    expect(signedIn.at(-1)!.details).toMatchObject({ method: 'password_2fa', factor: 'totp' })
  })

  it('accepts the codes of the previous, current and next step, and refuses two steps away', async () => {
    const { owner, secret } = await ownerWithTotp()
    t.clock.set(stepAway(t.clock.now(), 10))
    const now = t.clock.now()
    const code = (steps: number) => totpCode(secret, stepAway(now, steps))

    expect((await signInWithCode(browserFor(t), owner, code(-2))).status).toBe(401)
    expect((await signInWithCode(browserFor(t), owner, code(2))).status).toBe(401)
    for (const steps of [-1, 0, 1]) {
      const answer = await signInWithCode(browserFor(t), owner, code(steps))
      expect(answer.status, `step ${String(steps)}`).toBe(303)
      expect(answer.location).toBe('/dashboard')
    }
    const failed = await auditEntries(t, owner.accountId, 'auth.second_factor_failed')
    expect(failed).toHaveLength(2)
  })

  it('refuses a replayed code and an older one, even from two concurrent requests', async () => {
    const { owner, secret } = await ownerWithTotp()
    t.clock.set(stepAway(t.clock.now(), 20))
    const now = t.clock.now()
    const current = totpCode(secret, now)

    expect((await signInWithCode(browserFor(t), owner, current)).status).toBe(303)
    const replay = await signInWithCode(browserFor(t), owner, current)
    expect(replay.status).toBe(401)
    expect(replay.body).toContain('That code is not correct.')
    const older = await signInWithCode(browserFor(t), owner, totpCode(secret, stepAway(now, -1)))
    expect(older.status).toBe(401)

    // Two sign-ins racing with the next code: exactly one gets in.
    const next = totpCode(secret, stepAway(now, 1))
    const racers = [browserFor(t), browserFor(t)]
    for (const b of racers) {
      expect((await passwordSignIn(b, owner)).location).toBe('/login/two-factor')
      await b.get('/login/two-factor')
    }
    const answers = await Promise.all(
      racers.map((b) => b.post('/login/two-factor', { code: next })),
    )
    expect(answers.map((a) => a.status).sort()).toEqual([303, 401])
  })

  it('lets a recovery code in once and refuses it the second time', async () => {
    const { owner, recoveryCodes } = await ownerWithTotp()
    const code = recoveryCodes[3]!
    const first = await signInWithCode(browserFor(t), owner, code.toUpperCase())
    expect(first.status).toBe(303)
    expect((await sessionMethods(t, owner.userId)).at(-1)).toBe('password_2fa')
    const used = await auditEntries(t, owner.accountId, 'auth.recovery_code_used')
    expect(used).toHaveLength(1)
    expect(used[0]!.details).toEqual({ remaining: 9 })
    expect(JSON.stringify(used)).not.toContain(code)

    const second = await signInWithCode(browserFor(t), owner, code)
    expect(second.status).toBe(401)
    expect(second.body).toContain('That code is not correct.')
    // Another code still works.
    expect((await signInWithCode(browserFor(t), owner, recoveryCodes[4]!)).status).toBe(303)
  })

  it('lets the second step expire after five minutes', async () => {
    const { owner, secret } = await ownerWithTotp()
    t.clock.set(stepAway(t.clock.now(), 30))
    const b = browserFor(t)
    expect((await passwordSignIn(b, owner)).location).toBe('/login/two-factor')
    await b.get('/login/two-factor')
    t.clock.advance(5 * 60_000 + 1_000)
    const late = await b.post('/login/two-factor', { code: totpCode(secret, t.clock.now()) })
    expect(late.status).toBe(401)
    expect(late.body).toContain('Sign in again')
    expect(sessionToken(b)).toBeUndefined()
    expect((await b.get('/login/two-factor')).status).toBe(400)

    // Housekeeping forgets flows past their end.
    const flows = () =>
      t.runtime.database.db
        .selectFrom('auth_flows')
        .select('kind')
        .where('user_id', '=', owner.userId)
        .where('kind', '=', 'second_factor')
        .execute()
    expect(await flows()).toHaveLength(1)
    const services = t.runtime.services
    const prune = housekeepingJobs({
      db: t.runtime.database.db,
      clock: t.clock,
      notify: t.config.notify,
      ...services,
    }).find((job) => job.name === 'prune-auth-flows')
    await prune!.run()
    expect(await flows()).toEqual([])
  })

  it('uses the flow up after five wrong answers: even the right code is then refused', async () => {
    const { owner, secret } = await ownerWithTotp()
    t.clock.set(stepAway(t.clock.now(), 40))
    const b = browserFor(t)
    expect((await passwordSignIn(b, owner)).location).toBe('/login/two-factor')
    await b.get('/login/two-factor')
    const wrong = totpCode(secret, stepAway(t.clock.now(), 7))
    for (let attempt = 1; attempt <= 4; attempt++) {
      const answer = await b.post('/login/two-factor', { code: wrong })
      expect(answer.status).toBe(401)
      expect(answer.body).toContain('That code is not correct.')
    }
    const fifth = await b.post('/login/two-factor', { code: wrong })
    expect(fifth.status).toBe(401)
    expect(fifth.body).toContain('Sign in again')
    const right = await b.post('/login/two-factor', { code: totpCode(secret, t.clock.now()) })
    expect(right.status).toBe(401)
    expect(sessionToken(b)).toBeUndefined()
    expect(await auditEntries(t, owner.accountId, 'auth.second_factor_failed')).toHaveLength(5)
  })

  it('throttles second-step guesses per user across fresh flows', async () => {
    const { owner, secret } = await ownerWithTotp()
    t.clock.set(stepAway(t.clock.now(), 50))
    const wrong = totpCode(secret, stepAway(t.clock.now(), 9))
    for (let flow = 0; flow < 5; flow++)
      expect((await signInWithCode(browserFor(t), owner, wrong)).status).toBe(401)
    const blocked = await signInWithCode(browserFor(t), owner, totpCode(secret, t.clock.now()))
    expect(blocked.status).toBe(429)
    expect(blocked.headers['retry-after']).toBeDefined()
  })

  it('answers the password step the same for a wrong password whatever the second factor', async () => {
    const { owner } = await ownerWithTotp()
    const wrong = await passwordSignIn(browserFor(t), { ...owner, password: 'not it at all' })
    expect(wrong.status).toBe(401)
    expect(wrong.body).toContain('Incorrect email or password.')
    expect(setCookieFor(wrong, 'candor_signin')).toBeUndefined()
  })

  it('ends a session planted before the sign-in (fixation) when the second step completes', async () => {
    const { owner, secret, b } = await ownerWithTotp()
    t.clock.set(stepAway(t.clock.now(), 60))
    const planted = sessionToken(b)!
    // Signed in already: the form posted again still starts a fresh sign-in.
    const again = await b.post('/login', { email: owner.email, password: owner.password })
    expect(again.location).toBe('/login/two-factor')
    const done = await b.post('/login/two-factor', { code: totpCode(secret, t.clock.now()) })
    expect(done.status).toBe(303)
    expect(sessionToken(b)).not.toBe(planted)
    const planted2 = await t.runtime.services.sessions.authenticate(planted)
    expect(planted2).toBeUndefined()
  })

  it('turns TOTP off only after re-authentication, and removes the recovery codes', async () => {
    const { owner, b } = await ownerWithTotp()
    t.clock.advance(11 * 60_000)
    const refused = await b.request(
      'POST',
      '/profile/security/totp/disable',
      `_csrf=${b.csrfToken!}`,
      {
        'content-type': 'application/x-www-form-urlencoded',
        referer: 'http://localhost:80/profile/security',
      },
    )
    expect(refused.status).toBe(303)
    expect(refused.location).toBe('/reauthenticate?next=%2Fprofile%2Fsecurity')
    const still = await t.runtime.database.db
      .selectFrom('users')
      .select('totp_enabled_at')
      .where('id', '=', owner.userId)
      .executeTakeFirstOrThrow()
    expect(still.totp_enabled_at).not.toBeNull()

    const form = await b.get(refused.location!)
    expect(form.status).toBe(200)
    expect(form.body).toContain('name="next" value="/profile/security"')
    const wrong = await b.post('/reauthenticate', {
      next: '/profile/security',
      password: 'nope nope nope',
    })
    expect(wrong.status).toBe(422)
    const confirmed = await b.post('/reauthenticate', {
      next: '/profile/security',
      password: owner.password,
    })
    expect(confirmed.status).toBe(303)
    expect(confirmed.location).toBe('/profile/security')

    const off = await b.post('/profile/security/totp/disable', {})
    expect(off.status).toBe(303)
    expect(off.location).toBe('/profile/security?saved=totp-off')
    const row = await t.runtime.database.db
      .selectFrom('users')
      .select(['totp_enabled_at', 'totp_secret_ciphertext'])
      .where('id', '=', owner.userId)
      .executeTakeFirstOrThrow()
    expect(row).toEqual({ totp_enabled_at: null, totp_secret_ciphertext: null })
    const codes = await t.runtime.database.db
      .selectFrom('recovery_codes')
      .select('code_hash')
      .where('user_id', '=', owner.userId)
      .execute()
    expect(codes).toEqual([])
    expect(await auditEntries(t, owner.accountId, 'auth.totp_disabled')).toHaveLength(1)
    // The next sign-in is a password alone again.
    expect((await passwordSignIn(browserFor(t), owner)).location).toBe('/dashboard')
  })

  it('regenerates recovery codes: the old ones stop working', async () => {
    const { owner, recoveryCodes, b } = await ownerWithTotp()
    const fresh = await b.post('/profile/security/recovery-codes', {})
    expect(fresh.status).toBe(200)
    const newCodes = [...fresh.body.matchAll(/<li><code>([a-z0-9-]+)<\/code><\/li>/g)].map(
      (m) => m[1]!,
    )
    expect(newCodes).toHaveLength(10)
    expect(newCodes).not.toContain(recoveryCodes[0])
    expect(await auditEntries(t, owner.accountId, 'auth.recovery_codes_regenerated')).toHaveLength(
      1,
    )
    expect((await signInWithCode(browserFor(t), owner, recoveryCodes[0]!)).status).toBe(401)
    expect((await signInWithCode(browserFor(t), owner, newCodes[0]!)).status).toBe(303)
  })
})
