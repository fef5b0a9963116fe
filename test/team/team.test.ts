import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hashToken } from '../../src/crypto/tokens.js'
import type { Actor, SessionGrant } from '../../src/domain/actor.js'
import { safeNext } from '../../src/http/admin/two-factor-routes.js'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import { TestBrowser } from '../helpers/browser.js'
import { addMember, createOwner, DEFAULT_PASSWORD } from '../helpers/factories.js'
import { actorFor, createPageFixture } from '../helpers/page-factories.js'
import { findLink, startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js'
import { testDialects } from '../helpers/test-db.js'
import { browserFor, postForm } from '../dashboard/dashboard-helpers.js'

function sessionActor(t: TestApp, userId: string, session: Partial<SessionGrant> = {}): Actor {
  return {
    ...actorFor(userId),
    session: {
      method: 'password',
      authenticatedAt: t.clock.now(),
      ssoConnectionId: null,
      ssoAccountId: null,
      ...session,
    },
  }
}

async function auditCount(t: TestApp, accountId: string, action: string): Promise<number> {
  const rows = await t.runtime.database.db
    .selectFrom('audit_entries')
    .select('id')
    .where('account_id', '=', accountId)
    .where('action', '=', action)
    .execute()
  return rows.length
}

describe.each(testDialects)('team and roles (%s)', (dialect) => {
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

  async function invitationLink(email: string): Promise<string> {
    const mail = await sink.waitFor((m) => m.to.includes(email))
    return findLink(mail.raw, '/invitations/accept')
  }

  it('invites by email; the link creates a login once, with the role given, and is stored hashed', async () => {
    const owner = await createOwner(t)
    const browser = await browserFor(t, owner)
    const email = `new-${String(Date.now())}@example.com`
    const sent = await postForm(browser, `/a/${owner.accountId}/team/invitations`, {
      email,
      role: 'editor',
    })
    expect(sent.status).toBe(303)
    const link = new URL(await invitationLink(email))
    const token = link.searchParams.get('token') ?? ''
    const { db } = t.runtime.database
    const row = await db
      .selectFrom('invitations')
      .selectAll()
      .where('account_id', '=', owner.accountId)
      .executeTakeFirstOrThrow()
    expect(row.token_hash).toBe(hashToken(token))
    expect(JSON.stringify(row)).not.toContain(token)
    expect(JSON.stringify(row)).not.toContain(email)

    const guest = new TestBrowser(t.app)
    const page = await guest.get(`${link.pathname}${link.search}`)
    expect(page.status).toBe(200)
    expect(page.body).toContain(email)
    const weak = await postForm(guest, `${link.pathname}${link.search}`, {
      name: 'New Person',
      password: 'short',
    })
    expect(weak.status).toBe(422)
    const accepted = await postForm(guest, `${link.pathname}${link.search}`, {
      name: 'New Person',
      password: DEFAULT_PASSWORD,
    })
    expect(accepted.status).toBe(303)
    expect(accepted.headers.location).toBe(`/a/${owner.accountId}/team?done=joined`)
    const team = await guest.get(`/a/${owner.accountId}/team`)
    expect(team.status).toBe(200)
    expect(team.body).toContain('New Person')

    const members = await t.runtime.services.team.team(actorFor(owner.userId), owner.accountId)
    expect(members.members.find((m) => m.email === email)?.role).toBe('editor')

    // The same link again, from the browser that holds a CSRF token: used up.
    const replay = await postForm(guest, `${link.pathname}${link.search}`, {
      name: 'Someone Else',
      password: DEFAULT_PASSWORD,
    })
    expect(replay.status).toBe(410)
    expect(await auditCount(t, owner.accountId, 'member.joined')).toBe(1)
  })

  it('refuses expired and revoked invitations, and two concurrent acceptances of one link', async () => {
    const owner = await createOwner(t)
    const team = t.runtime.services.team
    const actor = actorFor(owner.userId)
    const expiring = `exp-${String(Date.now())}@example.com`
    await team.invite(actor, owner.accountId, {
      email: expiring,
      role: 'viewer',
      canInvite: false,
      pageIds: [],
    })
    const expiringToken = new URL(await invitationLink(expiring)).searchParams.get('token') ?? ''
    t.clock.advance(t.config.invitationTtlMs + 1000)
    await expect(
      team.acceptInvitation(
        expiringToken,
        { name: 'X', password: DEFAULT_PASSWORD },
        { ip: '127.0.0.1', userAgent: 't' },
      ),
    ).rejects.toMatchObject({ code: 'invalid_token' })

    const revoked = `rev-${String(Date.now())}@example.com`
    const invitation = await team.invite(actor, owner.accountId, {
      email: revoked,
      role: 'viewer',
      canInvite: false,
      pageIds: [],
    })
    const revokedToken = new URL(await invitationLink(revoked)).searchParams.get('token') ?? ''
    await team.revokeInvitation(actor, owner.accountId, invitation.id)
    await expect(
      team.acceptInvitation(
        revokedToken,
        { name: 'X', password: DEFAULT_PASSWORD },
        { ip: '127.0.0.1', userAgent: 't' },
      ),
    ).rejects.toMatchObject({ code: 'invalid_token' })

    const raced = `race-${String(Date.now())}@example.com`
    await team.invite(actor, owner.accountId, {
      email: raced,
      role: 'viewer',
      canInvite: false,
      pageIds: [],
    })
    const racedToken = new URL(await invitationLink(raced)).searchParams.get('token') ?? ''
    const results = await Promise.allSettled([
      team.acceptInvitation(
        racedToken,
        { name: 'A', password: DEFAULT_PASSWORD },
        { ip: '127.0.0.1', userAgent: 't' },
      ),
      team.acceptInvitation(
        racedToken,
        { name: 'B', password: DEFAULT_PASSWORD },
        { ip: '127.0.0.1', userAgent: 't' },
      ),
    ])
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    const { members } = await team.team(actor, owner.accountId)
    expect(members.filter((m) => m.email === raced)).toHaveLength(1)
  })

  it('asks an address that already has a login to sign in as it before joining', async () => {
    const owner = await createOwner(t)
    const other = await createOwner(t)
    const team = t.runtime.services.team
    await team.invite(actorFor(owner.userId), owner.accountId, {
      email: other.email,
      role: 'admin',
      canInvite: false,
      pageIds: [],
    })
    const link = new URL(await invitationLink(other.email))
    const path = `${link.pathname}${link.search}`
    const stranger = new TestBrowser(t.app)
    const shown = await stranger.get(path)
    expect(shown.body).toContain('already has a Candor login')
    const refused = await postForm(stranger, path, { name: 'Hijack', password: DEFAULT_PASSWORD })
    expect(refused.status).toBe(403)
    const someoneElse = await browserFor(t, owner)
    await someoneElse.get(path)
    expect((await postForm(someoneElse, path, {})).status).toBe(403)
    const invitee = await browserFor(t, other)
    await invitee.get(path)
    const joined = await postForm(invitee, path, {})
    expect(joined.status).toBe(303)
    const { members } = await team.team(actorFor(owner.userId), owner.accountId)
    expect(members.find((m) => m.userId === other.userId)?.role).toBe('admin')
  })

  it('signs a browser in as the new login it creates, ending the session it had', async () => {
    const owner = await createOwner(t)
    const bystander = await createOwner(t)
    const email = `fresh-${String(Date.now())}@example.com`
    await t.runtime.services.team.invite(actorFor(owner.userId), owner.accountId, {
      email,
      role: 'viewer',
      canInvite: false,
      pageIds: [],
    })
    const link = new URL(await invitationLink(email))
    const path = `${link.pathname}${link.search}`
    const browser = await browserFor(t, bystander)
    await browser.get(path)
    const joined = await postForm(browser, path, { name: 'Fresh', password: DEFAULT_PASSWORD })
    expect(joined.status).toBe(303)
    const team = await browser.get(`/a/${owner.accountId}/team`)
    expect(team.status).toBe(200)
    expect(team.body).toContain('Fresh')
    expect(await t.runtime.services.sessions.listForUser(bystander.userId)).toEqual([])
  })

  it('lets only the owner and nominated members invite, never above their own role', async () => {
    const owner = await createOwner(t)
    const stranger = await createOwner(t)
    const team = t.runtime.services.team
    const admin = await addMember(t, owner.accountId, 'admin')
    const editor = await addMember(t, owner.accountId, 'editor')
    const invite = (userId: string, role: string, accountId = owner.accountId) =>
      team.invite(actorFor(userId), accountId, {
        email: `p-${String(Math.random()).slice(2)}@example.com`,
        role,
        canInvite: false,
        pageIds: [],
      })
    await expect(invite(admin.userId, 'viewer')).rejects.toMatchObject({ code: 'cannot_invite' })
    await expect(invite(stranger.userId, 'viewer')).rejects.toMatchObject({ kind: 'not_found' })
    await team.updateMember(actorFor(owner.userId), owner.accountId, editor.userId, {
      role: 'editor',
      canInvite: 'true',
      pageIds: [],
    })
    await expect(invite(editor.userId, 'viewer')).resolves.toMatchObject({ role: 'viewer' })
    await expect(invite(editor.userId, 'admin')).rejects.toMatchObject({ kind: 'validation' })
    await expect(invite(owner.userId, 'admin')).resolves.toMatchObject({ role: 'admin' })
    await expect(invite(owner.userId, 'owner')).rejects.toMatchObject({ kind: 'validation' })
    // Only the owner nominates.
    await expect(
      team.updateMember(actorFor(admin.userId), owner.accountId, editor.userId, {
        role: 'editor',
        canInvite: 'false',
        pageIds: [],
      }),
    ).rejects.toMatchObject({ code: 'owner_only' })
  })

  it('limits a member to some pages: the others do not exist for them', async () => {
    const fixture = await createPageFixture(t)
    const owner = fixture.owner
    const ownerActor = actorFor(owner.userId)
    const other = await t.runtime.services.pages.create(ownerActor, owner.accountId, {
      name: 'Other',
      slug: `other-${String(Date.now())}`,
      timeZone: 'UTC',
    })
    const editor = await addMember(t, owner.accountId, 'editor')
    await t.runtime.services.team.updateMember(ownerActor, owner.accountId, editor.userId, {
      role: 'editor',
      pageIds: [fixture.page.id],
    })
    const editorActor = actorFor(editor.userId)
    const visible = await t.runtime.services.pages.list(editorActor, owner.accountId)
    expect(visible.map((p) => p.id)).toEqual([fixture.page.id])
    await expect(t.runtime.services.pages.get(editorActor, other.id)).rejects.toMatchObject({
      kind: 'not_found',
    })
    await expect(t.runtime.services.pages.get(editorActor, fixture.page.id)).resolves.toMatchObject(
      {
        id: fixture.page.id,
      },
    )
    await expect(
      t.runtime.services.pages.create(editorActor, owner.accountId, {
        name: 'Mine',
        slug: `mine-${String(Date.now())}`,
        timeZone: 'UTC',
      }),
    ).rejects.toMatchObject({ kind: 'forbidden' })
    const browser = await browserFor(t, editor)
    expect((await browser.get(`/pages/${other.id}`)).status).toBe(404)
    expect((await browser.get(`/pages/${fixture.page.id}`)).status).toBe(200)
    // Admins are never limited; a page of another account cannot be granted.
    await expect(
      t.runtime.services.team.updateMember(ownerActor, owner.accountId, editor.userId, {
        role: 'admin',
        pageIds: [fixture.page.id],
      }),
    ).rejects.toMatchObject({ kind: 'validation' })
    const foreign = await createPageFixture(t)
    await expect(
      t.runtime.services.team.updateMember(ownerActor, owner.accountId, editor.userId, {
        role: 'editor',
        pageIds: [foreign.page.id],
      }),
    ).rejects.toMatchObject({ kind: 'validation' })
  })

  it('changes roles and removes people only within the rules', async () => {
    const owner = await createOwner(t)
    const stranger = await createOwner(t)
    const team = t.runtime.services.team
    const admin = await addMember(t, owner.accountId, 'admin')
    const editor = await addMember(t, owner.accountId, 'editor')
    const viewer = await addMember(t, owner.accountId, 'viewer')
    const change = (by: string, target: string, role: string) =>
      team.updateMember(actorFor(by), owner.accountId, target, { role, pageIds: [] })
    await expect(change(editor.userId, viewer.userId, 'editor')).rejects.toMatchObject({
      kind: 'forbidden',
    })
    await expect(change(stranger.userId, viewer.userId, 'editor')).rejects.toMatchObject({
      kind: 'not_found',
    })
    await expect(change(admin.userId, owner.userId, 'viewer')).rejects.toMatchObject({
      code: 'owner_role',
    })
    await expect(change(admin.userId, admin.userId, 'viewer')).rejects.toMatchObject({
      code: 'own_role',
    })
    await change(admin.userId, viewer.userId, 'editor')
    expect(
      (await team.team(actorFor(owner.userId), owner.accountId)).members.find(
        (m) => m.userId === viewer.userId,
      )?.role,
    ).toBe('editor')

    // A nominated viewer cannot remove an admin; the owner can; nobody removes the owner.
    await change(owner.userId, editor.userId, 'viewer')
    await team.updateMember(actorFor(owner.userId), owner.accountId, editor.userId, {
      role: 'viewer',
      canInvite: 'true',
      pageIds: [],
    })
    await expect(
      team.removeMember(actorFor(editor.userId), owner.accountId, admin.userId),
    ).rejects.toMatchObject({ kind: 'forbidden' })
    await expect(
      team.removeMember(actorFor(admin.userId), owner.accountId, owner.userId),
    ).rejects.toMatchObject({ kind: 'forbidden' })
    await expect(
      team.removeMember(actorFor(stranger.userId), owner.accountId, viewer.userId),
    ).rejects.toMatchObject({ kind: 'not_found' })
    await team.removeMember(actorFor(owner.userId), owner.accountId, admin.userId)
    await expect(
      t.runtime.services.accounts.getAccount(actorFor(admin.userId), owner.accountId),
    ).rejects.toMatchObject({ kind: 'not_found' })
    // Anyone but the owner may leave.
    await team.removeMember(actorFor(viewer.userId), owner.accountId, viewer.userId)
    await expect(
      team.removeMember(actorFor(owner.userId), owner.accountId, owner.userId),
    ).rejects.toMatchObject({ code: 'owner_role' })
    const actions = await t.runtime.database.db
      .selectFrom('audit_entries')
      .select('action')
      .where('account_id', '=', owner.accountId)
      .execute()
    expect(actions.map((a) => a.action)).toEqual(
      expect.arrayContaining(['member.updated', 'member.removed', 'member.left']),
    )
  })

  it('transfers ownership only to a member who confirms, after both prove who they are', async () => {
    const owner = await createOwner(t)
    const team = t.runtime.services.team
    const admin = await addMember(t, owner.accountId, 'admin')
    const viewer = await addMember(t, owner.accountId, 'viewer')
    const outsider = await createOwner(t)
    await expect(
      team.requestOwnershipTransfer(sessionActor(t, admin.userId), owner.accountId, {
        userId: viewer.userId,
      }),
    ).rejects.toMatchObject({ kind: 'forbidden' })
    await expect(
      team.requestOwnershipTransfer(sessionActor(t, owner.userId), owner.accountId, {
        userId: outsider.userId,
      }),
    ).rejects.toMatchObject({ kind: 'validation' })
    const stale = sessionActor(t, owner.userId, {
      authenticatedAt: new Date(t.clock.now().getTime() - 11 * 60_000),
    })
    await expect(
      team.requestOwnershipTransfer(stale, owner.accountId, { userId: admin.userId }),
    ).rejects.toMatchObject({ code: 'reauthentication_required' })
    await team.requestOwnershipTransfer(sessionActor(t, owner.userId), owner.accountId, {
      userId: admin.userId,
    })
    // Nothing changes until the named member confirms; someone else cannot.
    expect((await team.team(actorFor(owner.userId), owner.accountId)).me.role).toBe('owner')
    await expect(
      team.confirmOwnershipTransfer(sessionActor(t, viewer.userId), owner.accountId),
    ).rejects.toMatchObject({ kind: 'not_found' })
    await team.confirmOwnershipTransfer(sessionActor(t, admin.userId), owner.accountId)
    const after = await team.team(actorFor(owner.userId), owner.accountId)
    expect(after.members.find((m) => m.userId === admin.userId)?.role).toBe('owner')
    expect(after.members.find((m) => m.userId === owner.userId)?.role).toBe('admin')
    expect(after.pendingTransfer).toBeNull()
    // Used once.
    await expect(
      team.confirmOwnershipTransfer(sessionActor(t, admin.userId), owner.accountId),
    ).rejects.toMatchObject({ kind: 'not_found' })
  })

  it('transfers ownership through the dashboard, with a new session id for the new owner', async () => {
    const owner = await createOwner(t)
    const admin = await addMember(t, owner.accountId, 'admin')
    const ownerBrowser = await browserFor(t, owner)
    await ownerBrowser.get(`/a/${owner.accountId}/team`)
    const asked = await postForm(ownerBrowser, `/a/${owner.accountId}/team/transfer`, {
      userId: admin.userId,
    })
    expect(asked.status).toBe(303)
    const adminBrowser = await browserFor(t, admin)
    const page = await adminBrowser.get(`/a/${owner.accountId}/team`)
    expect(page.body).toContain('You are asked to become the owner')
    const before = adminBrowser.cookies.get('candor_session') ?? ''
    const confirmed = await postForm(
      adminBrowser,
      `/a/${owner.accountId}/team/transfer/confirm`,
      {},
    )
    expect(confirmed.status).toBe(303)
    expect(adminBrowser.cookies.get('candor_session')).not.toBe(before)
    const deletePage = await adminBrowser.get(`/a/${owner.accountId}/delete`)
    expect(deletePage.status).toBe(200)
    expect((await ownerBrowser.get(`/a/${owner.accountId}/delete`)).status).toBe(403)
  })

  it('deletes the account only for its owner, recently re-authenticated, typing its name', async () => {
    const fixture = await createPageFixture(t)
    const owner = fixture.owner
    const admin = await addMember(t, owner.accountId, 'admin')
    const team = t.runtime.services.team
    const name = (
      await t.runtime.services.accounts.getAccount(actorFor(owner.userId), owner.accountId)
    ).account.name
    await expect(
      team.deleteAccount(sessionActor(t, admin.userId), owner.accountId, { confirmName: name }),
    ).rejects.toMatchObject({ kind: 'forbidden' })
    await expect(
      team.deleteAccount(sessionActor(t, owner.userId), owner.accountId, { confirmName: 'nope' }),
    ).rejects.toMatchObject({ kind: 'validation' })
    await expect(
      team.deleteAccount(
        sessionActor(t, owner.userId, { authenticatedAt: new Date(0) }),
        owner.accountId,
        { confirmName: name },
      ),
    ).rejects.toMatchObject({ code: 'reauthentication_required' })
    await team.deleteAccount(sessionActor(t, owner.userId), owner.accountId, { confirmName: name })
    const { db } = t.runtime.database
    expect(
      await db.selectFrom('accounts').select('id').where('id', '=', owner.accountId).execute(),
    ).toEqual([])
    expect(
      await db.selectFrom('pages').select('id').where('id', '=', fixture.page.id).execute(),
    ).toEqual([])
    expect(await auditCount(t, owner.accountId, 'account.deleted')).toBe(1)
  })

  it('refuses what the review of the rules found: nominations, last pages, SSO sessions', async () => {
    const fixture = await createPageFixture(t)
    const owner = fixture.owner
    const ownerActor = actorFor(owner.userId)
    const team = t.runtime.services.team
    // A nominated member cannot mint more nominated members.
    const nominated = await addMember(t, owner.accountId, 'admin')
    await team.updateMember(ownerActor, owner.accountId, nominated.userId, {
      role: 'admin',
      canInvite: 'true',
      pageIds: [],
    })
    await expect(
      team.invite(actorFor(nominated.userId), owner.accountId, {
        email: `nom-${String(Date.now())}@example.com`,
        role: 'viewer',
        canInvite: 'on',
        pageIds: [],
      }),
    ).rejects.toMatchObject({ kind: 'validation' })
    // Deleting the only page a member may reach would give them every page: refused.
    const editor = await addMember(t, owner.accountId, 'editor')
    await team.updateMember(ownerActor, owner.accountId, editor.userId, {
      role: 'editor',
      pageIds: [fixture.page.id],
    })
    await expect(
      t.runtime.services.pages.remove(sessionActor(t, owner.userId), fixture.page.id),
    ).rejects.toMatchObject({ code: 'members_limited_to_page' })
    await team.updateMember(ownerActor, owner.accountId, editor.userId, {
      role: 'editor',
      pageIds: [],
    })
    await t.runtime.services.pages.remove(sessionActor(t, owner.userId), fixture.page.id)
    // A session an IdP opened never acts as the owner, nor changes the person's own sign-in.
    const sso = { method: 'sso' as const, ssoConnectionId: 'c', ssoAccountId: owner.accountId }
    await expect(
      t.runtime.services.accounts.getAccount(sessionActor(t, owner.userId, sso), owner.accountId),
    ).rejects.toMatchObject({ code: 'owner_uses_password' })
    await expect(
      t.runtime.services.twoFactor.beginTotpEnrolment(sessionActor(t, editor.userId, sso)),
    ).rejects.toMatchObject({ code: 'sso_session_not_allowed' })
    // An account's IdP cannot pull in a login that exists elsewhere, nor link a member of a
    // domain it was not given, even with just-in-time provisioning on.
    const connection = await t.runtime.services.ssoSettings.save(ownerActor, owner.accountId, {
      protocol: 'oidc',
      common: {
        name: 'IdP',
        enabled: 'on',
        allowedDomains: 'corp.example',
        jitEnabled: 'on',
        defaultRole: 'viewer',
      },
      checkConfig: () => ({ config: {}, identityChanged: false }),
    })
    const elsewhere = await createOwner(t, { email: `someone-${String(Date.now())}@corp.example` })
    const origin = { ip: '127.0.0.1', userAgent: 't' }
    const signIn = (email: string, subject: string) =>
      t.runtime.services.ssoSignIn.signIn(
        connection,
        { subject, email, emailVerified: true, name: 'X' },
        origin,
      )
    await expect(signIn(elsewhere.email, 'sub-elsewhere')).rejects.toMatchObject({
      code: 'not_a_member',
    })
    await expect(signIn(editor.email, 'sub-editor')).rejects.toMatchObject({
      code: 'domain_not_allowed',
    })
    const fresh = await signIn(`new-${String(Date.now())}@corp.example`, 'sub-new')
    expect(fresh.provisioned).toBe(true)
    // Paths that normalise to another site are not followed.
    expect(safeNext('/.//evil.example/x')).toBe('/dashboard')
    expect(safeNext('/a/x?y=1')).toBe('/a/x?y=1')
  })

  it('applies the account sign-in rules to sessions already open', async () => {
    const owner = await createOwner(t)
    const editor = await addMember(t, owner.accountId, 'editor')
    const { db } = t.runtime.database
    const accounts = t.runtime.services.accounts
    await db
      .updateTable('accounts')
      .set({ require_two_factor: true })
      .where('id', '=', owner.accountId)
      .execute()
    await expect(
      accounts.getAccount(sessionActor(t, editor.userId), owner.accountId),
    ).rejects.toMatchObject({ code: 'two_factor_required' })
    await expect(
      accounts.getAccount(
        sessionActor(t, editor.userId, { method: 'password_2fa' }),
        owner.accountId,
      ),
    ).resolves.toBeDefined()
    await db
      .updateTable('accounts')
      .set({ require_two_factor: false, sso_enforced: true })
      .where('id', '=', owner.accountId)
      .execute()
    await expect(
      accounts.getAccount(
        sessionActor(t, editor.userId, { method: 'password_2fa' }),
        owner.accountId,
      ),
    ).rejects.toMatchObject({ code: 'sso_required' })
    await expect(
      accounts.getAccount(sessionActor(t, owner.userId), owner.accountId),
    ).rejects.toMatchObject({ code: 'sso_required' })
    // The owner's break-glass path: password and a second factor.
    await expect(
      accounts.getAccount(
        sessionActor(t, owner.userId, { method: 'password_2fa' }),
        owner.accountId,
      ),
    ).resolves.toBeDefined()
    // A session an IdP signed in reaches its own account only.
    const other = await createOwner(t)
    await expect(
      accounts.getAccount(
        sessionActor(t, other.userId, {
          method: 'sso',
          ssoConnectionId: 'x',
          ssoAccountId: owner.accountId,
        }),
        other.accountId,
      ),
    ).rejects.toMatchObject({ kind: 'not_found' })
    const browser = await browserFor(t, editor)
    const refused = await browser.get(`/a/${owner.accountId}`)
    expect(refused.status).toBe(403)
    expect(refused.body).toContain('single sign-on')
  })
})
