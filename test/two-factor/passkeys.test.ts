import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import type { TestBrowser } from '../helpers/browser.js'
import { createOwner, type CreatedOwner } from '../helpers/factories.js'
import { sessionToken } from '../helpers/http.js'
import { testDialects } from '../helpers/test-db.js'
import { SoftwareAuthenticator, type CeremonyOverrides } from '../helpers/webauthn-authenticator.js'
import { auditEntries, browserFor, passwordSignIn, sessionMethods } from './helpers.js'

interface Json {
  status: number
  body: Record<string, unknown>
}

async function postJson(b: TestBrowser, url: string, body: unknown): Promise<Json> {
  const response = await b.request('POST', url, JSON.stringify(body), {
    'content-type': 'application/json',
    accept: 'application/json',
    'x-csrf-token': b.csrfToken ?? '',
  })
  return { status: response.status, body: JSON.parse(response.body) as Record<string, unknown> }
}

interface Options {
  challenge: string
  user: { id: string }
  allowCredentials?: { id: string }[]
  rp?: { id: string }
  userVerification?: string
}

describe.each(testDialects)('passkeys (%s)', (dialect) => {
  let t: TestApp
  const rpId = 'candor.test'
  const origin = 'http://candor.test'
  beforeAll(async () => {
    t = await buildTestApp(dialect)
  })
  afterAll(async () => {
    await t.close()
  })

  async function register(
    b: TestBrowser,
    authenticator: SoftwareAuthenticator,
    name: string,
    overrides: CeremonyOverrides = {},
  ): Promise<Json> {
    await b.get('/profile/security')
    const started = await postJson(b, '/webauthn/registration/options', { purpose: 'register' })
    expect(started.status).toBe(200)
    const options = started.body['options'] as Options
    return postJson(b, '/webauthn/registration', {
      purpose: 'register',
      flow: started.body['flow'],
      name,
      response: authenticator.register(options, overrides),
    })
  }

  async function ownerWithPasskey(): Promise<{
    owner: CreatedOwner
    b: TestBrowser
    authenticator: SoftwareAuthenticator
  }> {
    const owner = await createOwner(t)
    const b = browserFor(t)
    await passwordSignIn(b, owner)
    const authenticator = new SoftwareAuthenticator(rpId, origin)
    const added = await register(b, authenticator, 'Laptop')
    expect(added).toEqual({ status: 200, body: { redirect: '/profile/security?saved=passkey' } })
    return { owner, b, authenticator }
  }

  async function passwordlessOptions(b: TestBrowser): Promise<{ flow: string; options: Options }> {
    await b.get('/login')
    const started = await postJson(b, '/webauthn/authentication/options', { purpose: 'sign_in' })
    expect(started.status).toBe(200)
    return { flow: started.body['flow'] as string, options: started.body['options'] as Options }
  }

  it('registers several passkeys, names, renames and lists them', async () => {
    const { owner, b, authenticator } = await ownerWithPasskey()
    expect(await register(b, authenticator, 'Phone')).toMatchObject({ status: 200 })
    const page = await b.get('/profile/security')
    expect(page.body).toContain('<strong>Laptop</strong>')
    expect(page.body).toContain('<strong>Phone</strong>')
    const rows = await t.runtime.database.db
      .selectFrom('webauthn_credentials')
      .selectAll()
      .where('user_id', '=', owner.userId)
      .orderBy('name')
      .execute()
    expect(rows.map((row) => row.name)).toEqual(['Laptop', 'Phone'])
    expect(rows.map((row) => row.id)).toEqual(
      expect.arrayContaining(authenticator.credentials.map((c) => c.id.toString('base64url'))),
    )
    expect(await auditEntries(t, owner.accountId, 'auth.passkey_added')).toHaveLength(2)

    const id = rows[0]!.id
    const renamed = await b.post(`/profile/security/passkeys/${encodeURIComponent(id)}/rename`, {
      name: 'Work laptop',
    })
    expect(renamed.location).toBe('/profile/security?saved=renamed')
    expect((await b.get('/profile/security')).body).toContain('<strong>Work laptop</strong>')
    expect(await auditEntries(t, owner.accountId, 'auth.passkey_renamed')).toHaveLength(1)
    // Someone else's passkey cannot be renamed.
    const other = await createOwner(t)
    const ob = browserFor(t)
    await passwordSignIn(ob, other)
    await ob.get('/profile/security')
    const foreign = await ob.post(`/profile/security/passkeys/${encodeURIComponent(id)}/rename`, {
      name: 'Mine now',
    })
    expect(foreign.status).toBe(404)
  })

  it('signs in without a password (discoverable credential) with method passkey', async () => {
    const { owner, authenticator } = await ownerWithPasskey()
    const b = browserFor(t)
    const { flow, options } = await passwordlessOptions(b)
    expect(options.allowCredentials ?? []).toEqual([])
    expect(options.userVerification).toBe('required')
    const done = await postJson(b, '/webauthn/authentication', {
      purpose: 'sign_in',
      flow,
      response: authenticator.assert(options),
    })
    expect(done).toEqual({ status: 200, body: { redirect: '/dashboard' } })
    expect(sessionToken(b)).toBeDefined()
    expect((await b.get('/dashboard')).location).toBe(`/a/${owner.accountId}`)
    expect((await sessionMethods(t, owner.userId)).at(-1)).toBe('passkey')
    const signedIn = await auditEntries(t, owner.accountId, 'auth.signed_in')
    expect(signedIn.at(-1)!.details).toMatchObject({ method: 'passkey' })
    const stored = await t.runtime.database.db
      .selectFrom('webauthn_credentials')
      .select(['counter', 'last_used_at'])
      .where('user_id', '=', owner.userId)
      .executeTakeFirstOrThrow()
    expect(stored.counter).toBe(1)
    expect(stored.last_used_at).not.toBeNull()
  })

  it('is a second factor after the password', async () => {
    const { owner, authenticator } = await ownerWithPasskey()
    const b = browserFor(t)
    const first = await passwordSignIn(b, owner)
    expect(first.location).toBe('/login/two-factor')
    const page = await b.get('/login/two-factor')
    expect(page.body).toContain('data-passkey="second_factor"')
    // No app, no recovery codes: no code form, but the CSRF token the passkey script sends.
    expect(page.body).not.toContain('name="code"')
    expect(page.body).toContain('name="_csrf"')
    expect(page.body).toContain('src="/assets/passkeys.js"')
    const started = await postJson(b, '/webauthn/authentication/options', {
      purpose: 'second_factor',
    })
    const options = started.body['options'] as Options
    expect(options.allowCredentials?.map((c) => c.id)).toEqual([
      authenticator.credentials[0]!.id.toString('base64url'),
    ])
    const done = await postJson(b, '/webauthn/authentication', {
      purpose: 'second_factor',
      flow: started.body['flow'],
      response: authenticator.assert(options),
    })
    expect(done).toEqual({ status: 200, body: { redirect: '/dashboard' } })
    expect((await sessionMethods(t, owner.userId)).at(-1)).toBe('password_2fa')
  })

  it("refuses another user's passkey as the second factor", async () => {
    const { owner } = await ownerWithPasskey()
    const intruder = await ownerWithPasskey()
    const b = browserFor(t)
    expect((await passwordSignIn(b, owner)).location).toBe('/login/two-factor')
    await b.get('/login/two-factor')
    const started = await postJson(b, '/webauthn/authentication/options', {
      purpose: 'second_factor',
    })
    const refused = await postJson(b, '/webauthn/authentication', {
      purpose: 'second_factor',
      flow: started.body['flow'],
      response: intruder.authenticator.assert({
        challenge: (started.body['options'] as Options).challenge,
      }),
    })
    expect(refused.status).toBe(401)
    expect(sessionToken(b)).toBeUndefined()
    expect(await auditEntries(t, owner.accountId, 'auth.second_factor_failed')).toHaveLength(1)
  })

  it('refuses an assertion for another origin, another challenge, or a replayed challenge', async () => {
    const { authenticator } = await ownerWithPasskey()
    const b = browserFor(t)
    const cases: CeremonyOverrides[] = [
      { origin: 'http://evil.example' },
      { challenge: Buffer.from('not the challenge').toString('base64url') },
      { rpId: 'evil.example' },
      { type: 'webauthn.create' },
    ]
    for (const overrides of cases) {
      const { flow, options } = await passwordlessOptions(b)
      const refused = await postJson(b, '/webauthn/authentication', {
        purpose: 'sign_in',
        flow,
        response: authenticator.assert(options, overrides),
      })
      expect(refused.status, JSON.stringify(overrides)).toBe(401)
      expect(refused.body['code']).toBe('passkey_refused')
    }
    expect(sessionToken(b)).toBeUndefined()

    const { flow, options } = await passwordlessOptions(b)
    // An authenticator without a counter (always 0), so only the used challenge can refuse it.
    const response = authenticator.assert(options, { counter: 0 })
    expect(
      (await postJson(b, '/webauthn/authentication', { purpose: 'sign_in', flow, response }))
        .status,
    ).toBe(200)
    // The challenge was used up with the first answer: the same answer again is refused.
    const replay = await postJson(b, '/webauthn/authentication', {
      purpose: 'sign_in',
      flow,
      response,
    })
    expect(replay.status).toBe(401)
  })

  it('refuses a signature counter that went backwards (a cloned authenticator)', async () => {
    const { authenticator } = await ownerWithPasskey()
    const b = browserFor(t)
    for (const counter of [5, 6]) {
      const { flow, options } = await passwordlessOptions(b)
      const ok = await postJson(b, '/webauthn/authentication', {
        purpose: 'sign_in',
        flow,
        response: authenticator.assert(options, { counter }),
      })
      expect(ok.status).toBe(200)
    }
    for (const counter of [6, 3]) {
      const { flow, options } = await passwordlessOptions(b)
      const refused = await postJson(b, '/webauthn/authentication', {
        purpose: 'sign_in',
        flow,
        response: authenticator.assert(options, { counter }),
      })
      expect(refused.status, `counter ${String(counter)}`).toBe(401)
    }
    const stored = await t.runtime.database.db
      .selectFrom('webauthn_credentials')
      .select('counter')
      .where('id', '=', authenticator.credentials[0]!.id.toString('base64url'))
      .executeTakeFirstOrThrow()
    expect(stored.counter).toBe(6)
  })

  it('refuses a registration for another origin or with a used challenge', async () => {
    const owner = await createOwner(t)
    const b = browserFor(t)
    await passwordSignIn(b, owner)
    const authenticator = new SoftwareAuthenticator(rpId, origin)
    const wrongOrigin = await register(b, authenticator, 'Evil', { origin: 'http://evil.example' })
    expect(wrongOrigin.status).toBe(422)
    const started = await postJson(b, '/webauthn/registration/options', { purpose: 'register' })
    const response = authenticator.register(started.body['options'] as Options)
    const body = { purpose: 'register', flow: started.body['flow'], name: 'Key', response }
    expect((await postJson(b, '/webauthn/registration', body)).status).toBe(200)
    expect((await postJson(b, '/webauthn/registration', body)).status).toBe(422)
    const count = await t.runtime.database.db
      .selectFrom('webauthn_credentials')
      .select('id')
      .where('user_id', '=', owner.userId)
      .execute()
    expect(count).toHaveLength(1)
  })

  it('removes a passkey only after re-authentication', async () => {
    const { owner, b, authenticator } = await ownerWithPasskey()
    const id = authenticator.credentials[0]!.id.toString('base64url')
    t.clock.advance(11 * 60_000)
    await b.get('/profile/security')
    const refused = await b.post(`/profile/security/passkeys/${id}/remove`, {})
    expect(refused.status).toBe(303)
    expect(refused.location).toMatch(/^\/reauthenticate\?next=/)

    // A passkey is a proof too.
    const form = await b.get('/reauthenticate?next=%2Fprofile%2Fsecurity')
    expect(form.body).toContain('data-passkey="reauthenticate"')
    const started = await postJson(b, '/webauthn/authentication/options', {
      purpose: 'reauthenticate',
    })
    const confirmed = await postJson(b, '/webauthn/authentication', {
      purpose: 'reauthenticate',
      flow: started.body['flow'],
      next: '/profile/security',
      response: authenticator.assert(started.body['options'] as Options),
    })
    expect(confirmed).toEqual({ status: 200, body: { redirect: '/profile/security' } })

    const removed = await b.post(`/profile/security/passkeys/${id}/remove`, {})
    expect(removed.location).toBe('/profile/security?saved=removed')
    expect(await auditEntries(t, owner.accountId, 'auth.passkey_removed')).toHaveLength(1)
    const other = browserFor(t)
    const { flow, options } = await passwordlessOptions(other)
    const gone = await postJson(other, '/webauthn/authentication', {
      purpose: 'sign_in',
      flow,
      response: authenticator.assert(options),
    })
    expect(gone.status).toBe(401)
  })

  it('adds a passkey only with a fresh proof of identity', async () => {
    const owner = await createOwner(t)
    const b = browserFor(t)
    await passwordSignIn(b, owner)
    t.clock.advance(11 * 60_000)
    await b.get('/profile/security')
    const refused = await postJson(b, '/webauthn/registration/options', { purpose: 'register' })
    expect(refused.status).toBe(403)
    expect(refused.body['code']).toBe('reauthentication_required')
    await b.get('/reauthenticate?next=%2Fprofile%2Fsecurity')
    await b.post('/reauthenticate', { next: '/profile/security', password: owner.password })
    const authenticator = new SoftwareAuthenticator(rpId, origin)
    expect((await register(b, authenticator, 'Later')).status).toBe(200)
  })

  it('enrols a passkey during sign-in when the account requires a second factor', async () => {
    const { owner, b } = await ownerWithPasskey()
    await b.get(`/a/${owner.accountId}/settings`)
    expect(
      (await b.post(`/a/${owner.accountId}/settings/two-factor`, { required: 'on' })).status,
    ).toBe(303)
    const { addMember } = await import('../helpers/factories.js')
    const member = await addMember(t, owner.accountId, 'editor')
    const mb = browserFor(t)
    expect((await passwordSignIn(mb, member)).location).toBe('/login/enrol')
    await mb.get('/login/enrol')
    const started = await postJson(mb, '/webauthn/registration/options', { purpose: 'enrol' })
    expect(started.status).toBe(200)
    const authenticator = new SoftwareAuthenticator(rpId, origin)
    const done = await postJson(mb, '/webauthn/registration', {
      purpose: 'enrol',
      flow: started.body['flow'],
      name: 'Security key',
      response: authenticator.register(started.body['options'] as Options),
    })
    expect(done).toEqual({ status: 200, body: { redirect: '/dashboard' } })
    expect(await sessionMethods(t, member.userId)).toEqual(['password_2fa'])
    expect((await mb.get(`/a/${owner.accountId}`)).status).toBe(200)
  })
})
