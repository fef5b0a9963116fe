import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import { signIn, TestBrowser } from '../helpers/browser.js'
import { addMember, createOwner, type CreatedOwner } from '../helpers/factories.js'
import { uniqueIp } from '../helpers/http.js'
import { testDialects } from '../helpers/test-db.js'
import { auditEntries } from './oidc-helpers.js'

const SECRET = 'client-secret-that-must-never-be-shown-0123456789'

let sequence = 0
function uniqueDomain(): string {
  sequence++
  return `team${String(sequence)}-${String(Date.now())}.example`
}

describe.each(testDialects)('single sign-on settings (%s)', (dialect) => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp(dialect)
  })
  afterAll(async () => {
    await t.close()
  })

  const browser = () => new TestBrowser(t.app, { ip: uniqueIp() })
  const base = (accountId: string) => `/a/${accountId}/settings/sso`

  async function memberBrowser(accountId: string, role: 'admin' | 'editor' | 'viewer') {
    const member = await addMember(t, accountId, role)
    const b = browser()
    expect((await signIn(b, member.email, member.password)).status).toBe(303)
    return { b, member }
  }

  /** The owner with a password and second factor, as the two-factor sign-in leaves them. */
  async function ownerBrowser(owner: CreatedOwner): Promise<TestBrowser> {
    const { token } = await t.runtime.services.sessions.create(
      owner.userId,
      { ip: '127.0.0.1', userAgent: 'test' },
      { method: 'password_2fa' },
    )
    const b = browser()
    b.cookies.set('candor_session', token)
    return b
  }

  async function createGoogle(
    b: TestBrowser,
    accountId: string,
    fields: Record<string, string> = {},
  ): Promise<string> {
    expect((await b.get(`${base(accountId)}/oidc/new?protocol=google`)).status).toBe(200)
    const response = await b.post(`${base(accountId)}/oidc`, {
      protocol: 'google',
      name: 'Google Workspace',
      enabled: 'true',
      clientId: 'client-1.apps.googleusercontent.com',
      clientSecret: SECRET,
      hostedDomain: '',
      allowedDomains: uniqueDomain(),
      defaultRole: 'viewer',
      ...fields,
    })
    expect(response.status).toBe(303)
    expect(response.location).toBe(`${base(accountId)}?saved=created`)
    const ids = await connectionIds(accountId)
    return ids.at(-1) ?? ''
  }

  async function connectionIds(accountId: string): Promise<string[]> {
    const rows = await t.runtime.database.db
      .selectFrom('sso_connections')
      .select('id')
      .where('account_id', '=', accountId)
      .orderBy('created_at')
      .execute()
    return rows.map((row) => row.id)
  }

  it('lets an admin add, edit and delete a Google connection; the secret is never shown', async () => {
    const owner = await createOwner(t)
    const { b } = await memberBrowser(owner.accountId, 'admin')

    const settings = await b.get(`/a/${owner.accountId}/settings`)
    expect(settings.body).toContain(`href="${base(owner.accountId)}"`)
    expect((await b.get(base(owner.accountId))).body).toContain('No identity provider yet')

    await createGoogle(b, owner.accountId, { hostedDomain: 'Example.com' })
    const [id = ''] = await connectionIds(owner.accountId)
    const list = await b.get(base(owner.accountId))
    expect(list.status).toBe(200)
    expect(list.body).toContain('Google Workspace')
    expect(list.body).toContain(`http://candor.test/sso/oidc/${id}/callback`)
    expect(list.body).not.toContain(SECRET)

    const edit = await b.get(`${base(owner.accountId)}/oidc/${id}`)
    expect(edit.status).toBe(200)
    expect(edit.body).toContain('client-1.apps.googleusercontent.com')
    expect(edit.body).toContain('value="example.com"')
    expect(edit.body).not.toContain(SECRET)

    // A blank secret keeps the stored one.
    const renamed = await b.post(`${base(owner.accountId)}/oidc/${id}`, {
      name: 'Renamed',
      enabled: 'true',
      clientId: 'client-1.apps.googleusercontent.com',
      clientSecret: '',
      allowedDomains: 'example.com',
      defaultRole: 'editor',
    })
    expect(renamed.status).toBe(303)
    const stored = await t.runtime.services.ssoSettings.get(
      { type: 'user', userId: owner.userId, sessionIdHash: '', ip: '', userAgent: '' },
      owner.accountId,
      id,
    )
    expect(stored.name).toBe('Renamed')
    expect(stored.defaultRole).toBe('editor')
    expect(stored.config).toMatchObject({ clientSecret: SECRET, hostedDomain: null })

    // An invalid form shows the problems again, without the secret typed into it.
    const invalid = await b.post(`${base(owner.accountId)}/oidc/${id}`, {
      name: '',
      clientId: 'client-1.apps.googleusercontent.com',
      clientSecret: 'a-new-secret-typed-into-a-bad-form',
      hostedDomain: 'not a domain',
      allowedDomains: 'example.com',
      defaultRole: 'owner',
    })
    expect(invalid.status).toBe(422)
    expect(invalid.body).toContain('Name is required')
    expect(invalid.body).toContain('Enter a domain like example.com')
    expect(invalid.body).not.toContain('a-new-secret-typed-into-a-bad-form')
    expect(invalid.body).not.toContain(SECRET)

    const removed = await b.post(`${base(owner.accountId)}/${id}/delete`, {})
    expect(removed.status).toBe(303)
    expect(await connectionIds(owner.accountId)).toEqual([])
    expect(
      (await auditEntries(t, owner.accountId, 'sso.connection_created')).map((d) =>
        JSON.stringify(d),
      ),
    ).not.toContain(SECRET)
    expect(await auditEntries(t, owner.accountId, 'sso.connection_deleted')).toHaveLength(1)
  })

  it('adds a generic OpenID Connect provider with its issuer', async () => {
    const owner = await createOwner(t)
    const { b } = await memberBrowser(owner.accountId, 'admin')
    await b.get(`${base(owner.accountId)}/oidc/new?protocol=oidc`)
    const insecure = await b.post(`${base(owner.accountId)}/oidc`, {
      protocol: 'oidc',
      name: 'Okta',
      clientId: 'okta-client',
      clientSecret: SECRET,
      issuer: 'http://login.example.com',
      allowedDomains: 'example.com',
    })
    expect(insecure.status).toBe(422)
    expect(insecure.body).toContain('must start with https://')
    const created = await b.post(`${base(owner.accountId)}/oidc`, {
      protocol: 'oidc',
      name: 'Okta',
      enabled: 'true',
      clientId: 'okta-client',
      clientSecret: SECRET,
      issuer: 'https://login.example.com/.well-known/openid-configuration',
      scopes: 'openid email profile groups',
      allowedDomains: 'example.com',
      jitEnabled: 'true',
      defaultRole: 'editor',
    })
    expect(created.status).toBe(303)
    const [id = ''] = await connectionIds(owner.accountId)
    const edit = await b.get(`${base(owner.accountId)}/oidc/${id}`)
    expect(edit.body).toContain('value="https://login.example.com"')
    expect(edit.body).toContain('groups')
    expect(edit.body).not.toContain(SECRET)
  })

  it('refuses editors and viewers (403) and other accounts (404)', async () => {
    const owner = await createOwner(t)
    const { b: admin } = await memberBrowser(owner.accountId, 'admin')
    await createGoogle(admin, owner.accountId)
    const [id = ''] = await connectionIds(owner.accountId)

    for (const role of ['editor', 'viewer'] as const) {
      const { b } = await memberBrowser(owner.accountId, role)
      await b.get(`/a/${owner.accountId}`)
      expect((await b.get(base(owner.accountId))).status).toBe(403)
      expect((await b.get(`${base(owner.accountId)}/oidc/new`)).status).toBe(403)
      expect((await b.get(`${base(owner.accountId)}/oidc/${id}`)).status).toBe(403)
      const create = await b.post(`${base(owner.accountId)}/oidc`, {
        protocol: 'google',
        name: 'Mine',
        clientId: 'x',
        clientSecret: 'y',
      })
      expect(create.status).toBe(403)
      expect((await b.post(`${base(owner.accountId)}/${id}/delete`, {})).status).toBe(403)
      const enforce = await b.post(`${base(owner.accountId)}/enforcement`, { enforced: 'true' })
      expect(enforce.status).toBe(403)
      const settings = await b.get(`/a/${owner.accountId}/settings`)
      expect(settings.body).not.toContain(`href="${base(owner.accountId)}"`)
    }

    const other = await createOwner(t)
    const { b: outsider } = await memberBrowser(other.accountId, 'admin')
    await outsider.get(`/a/${other.accountId}`)
    expect((await outsider.get(base(owner.accountId))).status).toBe(404)
    expect((await outsider.get(`${base(other.accountId)}/oidc/${id}`)).status).toBe(404)
    const update = await outsider.post(`${base(other.accountId)}/oidc/${id}`, {
      name: 'Taken over',
      clientId: 'x',
    })
    expect(update.status).toBe(404)
    expect((await outsider.post(`${base(other.accountId)}/${id}/delete`, {})).status).toBe(404)
    expect(await connectionIds(owner.accountId)).toEqual([id])
  })

  it('forgets the people and sessions a connection linked when its issuer or client changes', async () => {
    const owner = await createOwner(t)
    const { b } = await memberBrowser(owner.accountId, 'admin')
    await createGoogle(b, owner.accountId)
    const [id = ''] = await connectionIds(owner.accountId)
    const member = await addMember(t, owner.accountId, 'viewer')
    const db = t.runtime.database.db
    await db
      .insertInto('sso_identities')
      .values({
        connection_id: id,
        subject_hash: 'subject-hash',
        user_id: member.userId,
        created_at: new Date(),
        last_used_at: new Date(),
      })
      .execute()
    await t.runtime.services.sessions.create(
      member.userId,
      { ip: '127.0.0.1', userAgent: 'test' },
      {
        method: 'sso',
        sso: {
          connectionId: id,
          accountId: owner.accountId,
          subjectHash: 'subject-hash',
          sessionIndex: null,
          logoutCiphertext: null,
        },
      },
    )
    const count = async () => ({
      links: (
        await db
          .selectFrom('sso_identities')
          .select('user_id')
          .where('connection_id', '=', id)
          .execute()
      ).length,
      sessions: (
        await db
          .selectFrom('sessions')
          .select('user_id')
          .where('sso_connection_id', '=', id)
          .execute()
      ).length,
    })
    const form = {
      name: 'Google',
      enabled: 'true',
      clientId: 'client-1.apps.googleusercontent.com',
      allowedDomains: 'example.com',
      defaultRole: 'viewer',
    }
    expect((await b.post(`${base(owner.accountId)}/oidc/${id}`, form)).status).toBe(303)
    expect(await count()).toEqual({ links: 1, sessions: 1 })
    const changed = await b.post(`${base(owner.accountId)}/oidc/${id}`, {
      ...form,
      clientId: 'client-2.apps.googleusercontent.com',
    })
    expect(changed.status).toBe(303)
    expect(await count()).toEqual({ links: 0, sessions: 0 })
    expect(await auditEntries(t, owner.accountId, 'sso.connection_updated')).toEqual([
      expect.objectContaining({ identityProviderChanged: false }),
      expect.objectContaining({ identityProviderChanged: true }),
    ])
  })

  it('enforces single sign-on: needs an enabled connection, and only the owner, freshly signed in, turns it off', async () => {
    const owner = await createOwner(t)
    const { b: admin } = await memberBrowser(owner.accountId, 'admin')
    const none = await admin.post(`${base(owner.accountId)}/enforcement`, { enforced: 'true' })
    expect(none.status).toBe(409)
    expect(none.body).toContain('Add and enable an identity provider')

    await createGoogle(admin, owner.accountId, { enabled: '' })
    await admin.get(base(owner.accountId))
    const disabled = await admin.post(`${base(owner.accountId)}/enforcement`, {
      enforced: 'true',
    })
    expect(disabled.status).toBe(409)
    const [id = ''] = await connectionIds(owner.accountId)
    await admin.post(`${base(owner.accountId)}/oidc/${id}`, {
      name: 'Google',
      enabled: 'true',
      clientId: 'client-1.apps.googleusercontent.com',
      allowedDomains: 'example.com',
      defaultRole: 'viewer',
    })
    await admin.get(base(owner.accountId))
    const enforced = await admin.post(`${base(owner.accountId)}/enforcement`, {
      enforced: 'true',
    })
    expect(enforced.status).toBe(303)
    expect(enforced.location).toBe(`${base(owner.accountId)}?saved=enforced`)

    // The admin's own password session no longer reaches the account.
    const blocked = await admin.get(base(owner.accountId))
    expect(blocked.status).toBe(403)
    expect(blocked.body).toContain('requires single sign-on')

    const ownerPage = await ownerBrowser(owner)
    const list = await ownerPage.get(base(owner.accountId))
    expect(list.status).toBe(200)
    expect(list.body).toContain('Stop enforcing single sign-on')

    t.clock.advance(11 * 60_000)
    const stale = await ownerPage.post(`${base(owner.accountId)}/enforcement`, {
      enforced: 'false',
    })
    expect(stale.status).toBe(403)
    expect(stale.body).toContain(
      `href="/reauthenticate?next=${encodeURIComponent(base(owner.accountId))}"`,
    )

    const fresh = await ownerBrowser(owner)
    await fresh.get(base(owner.accountId))
    const off = await fresh.post(`${base(owner.accountId)}/enforcement`, { enforced: 'false' })
    expect(off.status).toBe(303)
    expect(off.location).toBe(`${base(owner.accountId)}?saved=unenforced`)
    expect((await admin.get(base(owner.accountId))).status).toBe(200)
  })

  it('only the owner turns enforcement off; a member’s password session is blocked, the owner’s password and second factor pass', async () => {
    const owner = await createOwner(t)
    const { b: admin } = await memberBrowser(owner.accountId, 'admin')
    await createGoogle(admin, owner.accountId)
    const actor = {
      type: 'user' as const,
      userId: owner.userId,
      sessionIdHash: '',
      ip: '',
      userAgent: '',
    }
    await t.runtime.services.ssoSettings.setEnforced(actor, owner.accountId, true)

    const { b: editor } = await memberBrowser(owner.accountId, 'editor')
    const refused = await editor.get(`/a/${owner.accountId}`)
    expect(refused.status).toBe(403)
    expect(refused.body).toContain('Sign out and sign in through your identity provider')

    const passwordOnly = browser()
    await signIn(passwordOnly, owner.email, owner.password)
    expect((await passwordOnly.get(`/a/${owner.accountId}`)).status).toBe(403)
    expect((await (await ownerBrowser(owner)).get(`/a/${owner.accountId}`)).status).toBe(200)

    // An admin may not turn it off, even through an SSO session of this account.
    const ssoAdmin = await addMember(t, owner.accountId, 'admin')
    const [id = ''] = await connectionIds(owner.accountId)
    const { token } = await t.runtime.services.sessions.create(
      ssoAdmin.userId,
      { ip: '127.0.0.1', userAgent: 'test' },
      {
        method: 'sso',
        sso: {
          connectionId: id,
          accountId: owner.accountId,
          subjectHash: 'admin-subject',
          sessionIndex: null,
          logoutCiphertext: null,
        },
      },
    )
    const b = browser()
    b.cookies.set('candor_session', token)
    expect((await b.get(base(owner.accountId))).status).toBe(200)
    const off = await b.post(`${base(owner.accountId)}/enforcement`, { enforced: 'false' })
    expect(off.status).toBe(403)
    expect(off.body).toContain('Only the owner')
    // The last enabled connection cannot be deleted while enforced.
    const remove = await b.post(`${base(owner.accountId)}/${id}/delete`, {})
    expect(remove.status).toBe(409)
    expect(await connectionIds(owner.accountId)).toEqual([id])
  })

  describe('finding the sign-in by email', () => {
    it('goes to the one connection of the domain, lists several, and says when there is none', async () => {
      const owner = await createOwner(t)
      const { b: admin } = await memberBrowser(owner.accountId, 'admin')
      const single = uniqueDomain()
      const shared = uniqueDomain()
      await createGoogle(admin, owner.accountId, { allowedDomains: `${single}, ${shared}` })
      await createGoogle(admin, owner.accountId, {
        name: 'Second provider',
        allowedDomains: shared,
      })
      await createGoogle(admin, owner.accountId, {
        name: 'Turned off',
        enabled: '',
        allowedDomains: uniqueDomain(),
      })
      const [first = '', second = ''] = await connectionIds(owner.accountId)

      const b = browser()
      const login = await b.get('/login')
      expect(login.body).toContain('href="/login/sso"')
      expect((await b.get('/login/sso')).status).toBe(200)

      const one = await b.post('/login/sso', { email: `pat@${single.toUpperCase()}` })
      expect(one.status).toBe(303)
      expect(one.location).toBe(`/sso/oidc/${first}/start`)

      await b.get('/login/sso')
      const several = await b.post('/login/sso', { email: `pat@${shared}` })
      expect(several.status).toBe(200)
      expect(several.body).toContain(`href="/sso/oidc/${first}/start"`)
      expect(several.body).toContain(`href="/sso/oidc/${second}/start"`)
      expect(several.body).toContain('Second provider')

      await b.get('/login/sso')
      const none = await b.post('/login/sso', { email: 'pat@nobody-here.example' })
      expect(none.status).toBe(404)
      expect(none.body).toContain('not set up for this email domain')
      expect(none.body).not.toContain(owner.email)

      await b.get('/login/sso')
      expect((await b.post('/login/sso', { email: 'not an email' })).status).toBe(422)
      // Without the form's CSRF token nothing is looked up.
      expect(
        (await browser().post('/login/sso', { email: `pat@${single}` }, { omitCsrf: true })).status,
      ).toBe(403)
    })
  })
})
