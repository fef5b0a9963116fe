import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import { TestBrowser } from '../helpers/browser.js'
import { addMember, createOwner } from '../helpers/factories.js'
import { insertMembership } from '../../src/domain/accounts/membership-repository.js'
import { sessionIdHash, uniqueIp } from '../helpers/http.js'
import { testDialects } from '../helpers/test-db.js'
import { auditEntries, createOidcConnection, pathOf, REDIRECT_PREFIX } from './oidc-helpers.js'
import { startOidcProvider, type TestOidcProvider } from './oidc-test-provider.js'

let sequence = 0
function uniqueEmail(domain = 'example.com'): string {
  sequence++
  return `person${String(sequence)}-${String(Date.now())}@${domain}`
}

describe.each(testDialects)('OpenID Connect sign-in (%s)', (dialect) => {
  let t: TestApp
  let idp: TestOidcProvider

  beforeAll(async () => {
    idp = await startOidcProvider(REDIRECT_PREFIX)
    t = await buildTestApp(dialect, {
      env: { WEBHOOK_ALLOWED_RANGES: '127.0.0.1/32' },
      oidc: { googleIssuer: idp.issuer, allowInsecureRequests: true },
    })
  })
  afterAll(async () => {
    await t.close()
    await idp.close()
  })
  afterEach(() => {
    idp.faults.replaceNonce = undefined
    idp.faults.tamperIdToken = undefined
  })

  const browser = () => new TestBrowser(t.app, { ip: uniqueIp() })

  /** A person at the provider, with a subject of their own. */
  function personAtIdp(claims: { email: string; email_verified?: boolean; hd?: string }): string {
    sequence++
    const subject = `subject-${String(sequence)}`
    idp.users.set(subject, { name: 'Pat Doe', email_verified: true, ...claims })
    return subject
  }

  async function startAt(b: TestBrowser, connectionId: string): Promise<string> {
    const start = await b.get(`/sso/oidc/${connectionId}/start`)
    expect(start.status).toBe(302)
    expect(start.location).toBeDefined()
    return start.location ?? ''
  }

  /** Starts, signs in at the provider and comes back: the callback's answer. */
  async function signInThrough(b: TestBrowser, connectionId: string, subject: string) {
    const authorization = await startAt(b, connectionId)
    const callback = await idp.authorize(authorization, subject)
    return { callback, response: await b.get(pathOf(callback)) }
  }

  it('provisions an unknown person of an allowed domain with the default role, with PKCE, state and nonce', async () => {
    const owner = await createOwner(t)
    const other = await createOwner(t)
    const connectionId = await createOidcConnection(t, idp, owner.userId, owner.accountId, {
      defaultRole: 'editor',
    })
    const email = uniqueEmail()
    const subject = personAtIdp({ email })
    const b = browser()

    const authorization = new URL(await startAt(b, connectionId))
    expect(authorization.origin).toBe(idp.issuer)
    expect(authorization.searchParams.get('code_challenge_method')).toBe('S256')
    expect(authorization.searchParams.get('code_challenge')).toMatch(/^[\w-]{43}$/)
    expect(authorization.searchParams.get('state')).toMatch(/^[\w-]{20,}$/)
    expect(authorization.searchParams.get('nonce')).toMatch(/^[\w-]{20,}$/)
    expect(authorization.searchParams.get('redirect_uri')).toBe(
      `${REDIRECT_PREFIX}${connectionId}/callback`,
    )
    expect(authorization.searchParams.get('client_secret')).toBeNull()

    const callback = await idp.authorize(authorization.href, subject)
    const response = await b.get(pathOf(callback))
    expect(response.status).toBe(303)
    expect(response.location).toBe(`/a/${owner.accountId}`)
    expect(b.cookies.get('candor_session')).toBeDefined()

    const page = await b.get(`/a/${owner.accountId}`)
    expect(page.status).toBe(200)
    const membership = await t.runtime.database.db
      .selectFrom('memberships')
      .innerJoin('sessions', 'sessions.user_id', 'memberships.user_id')
      .select(['memberships.role', 'sessions.auth_method', 'sessions.sso_account_id'])
      .where('memberships.account_id', '=', owner.accountId)
      .where('sessions.sso_connection_id', '=', connectionId)
      .executeTakeFirstOrThrow()
    expect(membership).toEqual({
      role: 'editor',
      auth_method: 'sso',
      sso_account_id: owner.accountId,
    })
    // Another account does not even exist for this session.
    expect((await b.get(`/a/${other.accountId}`)).status).toBe(404)
    const signedIn = await auditEntries(t, owner.accountId, 'member.provisioned')
    expect(signedIn).toHaveLength(1)
  })

  it('links an existing member by verified email; the session reaches that account only', async () => {
    const owner = await createOwner(t)
    const elsewhere = await createOwner(t)
    const connectionId = await createOidcConnection(t, idp, owner.userId, owner.accountId, {
      jitEnabled: false,
    })
    const member = await addMember(t, owner.accountId, 'viewer', { email: uniqueEmail() })
    await insertMembership(t.runtime.database.db, {
      accountId: elsewhere.accountId,
      userId: member.userId,
      role: 'admin',
      canInvite: false,
      createdAt: new Date(),
    })
    const subject = personAtIdp({ email: member.email.toUpperCase() })
    const b = browser()
    const { response } = await signInThrough(b, connectionId, subject)
    expect(response.status).toBe(303)
    expect((await b.get(`/a/${owner.accountId}`)).status).toBe(200)
    expect((await b.get(`/a/${elsewhere.accountId}`)).status).toBe(404)
    const links = await t.runtime.database.db
      .selectFrom('sso_identities')
      .select('user_id')
      .where('connection_id', '=', connectionId)
      .execute()
    expect(links).toEqual([{ user_id: member.userId }])
  })

  it('replaces the session the browser had, as password sign-in does', async () => {
    const owner = await createOwner(t)
    const connectionId = await createOidcConnection(t, idp, owner.userId, owner.accountId)
    const b = browser()
    const first = await signInThrough(b, connectionId, personAtIdp({ email: uniqueEmail() }))
    expect(first.response.status).toBe(303)
    const before = b.cookies.get('candor_session') ?? ''
    const second = await signInThrough(b, connectionId, personAtIdp({ email: uniqueEmail() }))
    expect(second.response.status).toBe(303)
    expect(b.cookies.get('candor_session')).not.toBe(before)
    const old = await t.runtime.database.db
      .selectFrom('sessions')
      .select('id_hash')
      .where('id_hash', '=', sessionIdHash(before))
      .execute()
    expect(old).toEqual([])
  })

  it('refuses a wrong state, a replayed state and a state from another browser', async () => {
    const owner = await createOwner(t)
    const connectionId = await createOidcConnection(t, idp, owner.userId, owner.accountId)
    const subject = personAtIdp({ email: uniqueEmail() })

    const b = browser()
    const authorization = await startAt(b, connectionId)
    const callback = await idp.authorize(authorization, subject)
    const wrong = new URL(callback)
    wrong.searchParams.set('state', 'not-the-state-that-was-sent-0123456789')
    const refused = await b.get(pathOf(wrong.href))
    expect(refused.status).toBe(400)
    expect(refused.body).toContain('expired or was already used')
    expect(b.cookies.has('candor_session')).toBe(false)

    expect((await b.get(pathOf(callback))).status).toBe(303)
    const replay = browser()
    replay.cookies.set('candor_oidc_flow', b.cookies.get('candor_oidc_flow') ?? '')
    const replayed = await replay.get(pathOf(callback))
    expect(replayed.status).toBe(400)
    expect(replay.cookies.has('candor_session')).toBe(false)

    const starter = browser()
    const thief = browser()
    const stolen = await idp.authorize(await startAt(starter, connectionId), subject)
    const refusedThief = await thief.get(pathOf(stolen))
    expect(refusedThief.status).toBe(400)
    expect(refusedThief.body).toContain('started in another browser')
    expect(thief.cookies.has('candor_session')).toBe(false)
    // The flow was used up by the attempt: the right browser cannot finish it afterwards either.
    expect((await starter.get(pathOf(stolen))).status).toBe(400)
  })

  it('refuses an ID token whose nonce is not the one sent', async () => {
    const owner = await createOwner(t)
    const connectionId = await createOidcConnection(t, idp, owner.userId, owner.accountId)
    idp.faults.replaceNonce = 'a-nonce-from-another-sign-in-0123456789'
    const b = browser()
    const { response } = await signInThrough(b, connectionId, personAtIdp({ email: uniqueEmail() }))
    expect(response.status).toBe(401)
    expect(response.body).toContain('could not be verified')
    expect(b.cookies.has('candor_session')).toBe(false)
    const failures = await auditEntries(t, owner.accountId, 'auth.sso_failed')
    expect(failures).toEqual([
      expect.objectContaining({ reason: 'id_token_invalid', protocol: 'oidc' }),
    ])
  })

  it('refuses an ID token whose signature does not match its claims', async () => {
    const owner = await createOwner(t)
    const connectionId = await createOidcConnection(t, idp, owner.userId, owner.accountId)
    idp.faults.tamperIdToken = true
    const b = browser()
    const { response } = await signInThrough(b, connectionId, personAtIdp({ email: uniqueEmail() }))
    expect(response.status).toBe(401)
    expect(b.cookies.has('candor_session')).toBe(false)
    const provisioned = await auditEntries(t, owner.accountId, 'member.provisioned')
    expect(provisioned).toEqual([])
  })

  it('refuses an email the provider has not verified', async () => {
    const owner = await createOwner(t)
    const connectionId = await createOidcConnection(t, idp, owner.userId, owner.accountId)
    const b = browser()
    const subject = personAtIdp({ email: uniqueEmail(), email_verified: false })
    const { response } = await signInThrough(b, connectionId, subject)
    expect(response.status).toBe(403)
    expect(response.body).toContain('has not verified your email')
    expect(b.cookies.has('candor_session')).toBe(false)
    expect(await auditEntries(t, owner.accountId, 'auth.sso_failed')).toEqual([
      expect.objectContaining({ reason: 'email_not_verified' }),
    ])
  })

  it('limits a Google connection to its Workspace domain (hd)', async () => {
    const owner = await createOwner(t)
    const connectionId = await createOidcConnection(t, idp, owner.userId, owner.accountId, {
      protocol: 'google',
      hostedDomain: 'example.com',
    })
    const b = browser()
    const authorization = new URL(await startAt(b, connectionId))
    expect(authorization.searchParams.get('hd')).toBe('example.com')
    const outsider = personAtIdp({ email: uniqueEmail(), hd: 'elsewhere.example' })
    const refused = await b.get(pathOf(await idp.authorize(authorization.href, outsider)))
    expect(refused.status).toBe(403)
    expect(refused.body).toContain('example.com Google account')
    expect(b.cookies.has('candor_session')).toBe(false)
    const personal = personAtIdp({ email: uniqueEmail() })
    expect((await signInThrough(b, connectionId, personal)).response.status).toBe(403)
    expect(await auditEntries(t, owner.accountId, 'auth.sso_failed')).toEqual([
      expect.objectContaining({ reason: 'hosted_domain_mismatch', protocol: 'google' }),
      expect.objectContaining({ reason: 'hosted_domain_mismatch', protocol: 'google' }),
    ])

    const insider = personAtIdp({ email: uniqueEmail(), hd: 'example.com' })
    const accepted = await signInThrough(b, connectionId, insider)
    expect(accepted.response.status).toBe(303)
    expect(accepted.response.location).toBe(`/a/${owner.accountId}`)
  })

  it('refuses a person who is not a member when just-in-time provisioning is off', async () => {
    const owner = await createOwner(t)
    const connectionId = await createOidcConnection(t, idp, owner.userId, owner.accountId, {
      jitEnabled: false,
    })
    const b = browser()
    const { response } = await signInThrough(b, connectionId, personAtIdp({ email: uniqueEmail() }))
    expect(response.status).toBe(403)
    expect(response.body).toContain('not a member of this team')
    expect(b.cookies.has('candor_session')).toBe(false)
    expect(await auditEntries(t, owner.accountId, 'auth.sso_failed')).toEqual([
      expect.objectContaining({ reason: 'not_a_member' }),
    ])
  })

  it('refuses the account owner, who signs in with a password', async () => {
    const owner = await createOwner(t)
    const connectionId = await createOidcConnection(t, idp, owner.userId, owner.accountId)
    const b = browser()
    const { response } = await signInThrough(b, connectionId, personAtIdp({ email: owner.email }))
    expect(response.status).toBe(403)
    expect(response.body).toContain('owner signs in with their password')
    expect(b.cookies.has('candor_session')).toBe(false)
    expect(await auditEntries(t, owner.accountId, 'auth.sso_failed')).toEqual([
      expect.objectContaining({ reason: 'owner_uses_password' }),
    ])
  })

  it('shows a readable page when the provider refuses or cannot be reached', async () => {
    const owner = await createOwner(t)
    const connectionId = await createOidcConnection(t, idp, owner.userId, owner.accountId)
    const b = browser()
    const authorization = new URL(await startAt(b, connectionId))
    const denied = new URL(`${REDIRECT_PREFIX}${connectionId}/callback`)
    denied.searchParams.set('error', 'access_denied')
    denied.searchParams.set('state', authorization.searchParams.get('state') ?? '')
    denied.searchParams.set('iss', idp.issuer)
    const refused = await b.get(pathOf(denied.href))
    expect(refused.status).toBe(403)
    expect(refused.headers['content-type']).toMatch(/text\/html/)
    expect(refused.body).toContain('cancelled or refused at the identity provider')
    expect(await auditEntries(t, owner.accountId, 'auth.sso_failed')).toEqual([
      expect.objectContaining({ reason: 'idp_error', idpError: 'access_denied' }),
    ])

    const unreachable = await createOidcConnection(t, idp, owner.userId, owner.accountId, {
      issuer: 'http://127.0.0.1:9',
    })
    const down = await b.get(`/sso/oidc/${unreachable}/start`)
    expect(down.status).toBe(502)
    expect(down.body).toContain('could not be reached')
    expect(down.body).not.toContain('ECONNREFUSED')

    expect((await b.get('/sso/oidc/nosuchconnection/start')).status).toBe(404)
  })

  it('reads the discovery document once per connection until it is stale', async () => {
    const owner = await createOwner(t)
    const connectionId = await createOidcConnection(t, idp, owner.userId, owner.accountId)
    const b = browser()
    const before = idp.discoveryReads()
    await startAt(b, connectionId)
    await startAt(b, connectionId)
    expect(idp.discoveryReads()).toBe(before + 1)
    t.clock.advance(16 * 60_000)
    await startAt(b, connectionId)
    expect(idp.discoveryReads()).toBe(before + 2)
  })

  it('does not start a sign-in through a disabled connection', async () => {
    const owner = await createOwner(t)
    const connectionId = await createOidcConnection(t, idp, owner.userId, owner.accountId)
    await t.runtime.database.db
      .updateTable('sso_connections')
      .set({ enabled: false })
      .where('id', '=', connectionId)
      .execute()
    const response = await browser().get(`/sso/oidc/${connectionId}/start`)
    expect(response.status).toBe(404)
    expect(response.body).toContain('does not exist or is turned off')
  })

  it('gives up on a provider that does not answer', async () => {
    const silent = createServer(() => {
      // Never answers.
    })
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const { port } = silent.address() as AddressInfo
    const impatient = await buildTestApp(dialect, {
      env: { WEBHOOK_ALLOWED_RANGES: '127.0.0.1/32' },
      oidc: { allowInsecureRequests: true, timeoutMs: 300 },
    })
    try {
      const owner = await createOwner(impatient)
      const connectionId = await createOidcConnection(
        impatient,
        idp,
        owner.userId,
        owner.accountId,
        {
          issuer: `http://127.0.0.1:${String(port)}`,
        },
      )
      const response = await new TestBrowser(impatient.app, { ip: uniqueIp() }).get(
        `/sso/oidc/${connectionId}/start`,
      )
      expect(response.status).toBe(502)
      expect(response.body).toContain('could not be reached')
    } finally {
      await impatient.close()
      silent.closeAllConnections()
      await new Promise((resolve) => silent.close(resolve))
    }
  })

  it('refuses a provider at a private address the operator has not allowed', async () => {
    const guarded = await buildTestApp(dialect, {
      oidc: { allowInsecureRequests: true },
    })
    try {
      const owner = await createOwner(guarded)
      const connectionId = await createOidcConnection(guarded, idp, owner.userId, owner.accountId)
      const b = new TestBrowser(guarded.app, { ip: uniqueIp() })
      const response = await b.get(`/sso/oidc/${connectionId}/start`)
      expect(response.status).toBe(502)
    } finally {
      await guarded.close()
    }
  })
})
