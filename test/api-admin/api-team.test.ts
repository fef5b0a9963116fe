import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import { addMember } from '../helpers/factories.js'
import { createPageFixture, type PageFixture } from '../helpers/page-factories.js'
import { testDialects } from '../helpers/test-db.js'
import { actorFor } from '../helpers/page-factories.js'
import { ApiClient, expectInvalid, expectProblem } from '../api/harness.js'

interface ApiMember {
  id: string
  email: string
  role: string
  can_invite: boolean
  page_ids: string[] | null
  two_factor: boolean
}

interface ApiInvitation {
  id: string
  email: string
  role: string
  page_ids: string[] | null
  expires_at: string
}

interface ApiAuditEntry {
  seq: number
  action: string
  actor: { type: string; user_id: string | null; api_key_id: string | null }
  target: { type: string; id: string } | null
  hash: string
  prev_hash: string
}

describe.each(testDialects)('management API: team, invitations, SSO, audit log (%s)', (dialect) => {
  let t: TestApp
  let api: ApiClient
  let f: PageFixture
  let other: PageFixture
  let write: string
  let read: string

  beforeAll(async () => {
    t = await buildTestApp(dialect)
    api = await ApiClient.open(t)
    f = await createPageFixture(t)
    other = await createPageFixture(t)
    write = await api.key(f.actor, f.owner.accountId, { scope: 'write' })
    read = await api.key(f.actor, f.owner.accountId, { scope: 'read' })
  })
  afterAll(async () => {
    await t.close()
  })

  it('invites, lists and revokes invitations; the link is never returned', async () => {
    const email = `api-${String(Date.now())}@example.com`
    const created = await api.post(write, '/invitations', {
      email,
      role: 'editor',
      page_ids: [f.page.id],
    })
    expect(created.status, created.text).toBe(201)
    const invitation = created.json<ApiInvitation>()
    expect(invitation).toMatchObject({ email, role: 'editor', page_ids: [f.page.id] })
    expect(created.text).not.toMatch(/token/i)
    const listed = await api.get(read, '/invitations')
    expect(listed.json<ApiInvitation[]>().map((i) => i.id)).toContain(invitation.id)
    expectProblem(
      await api.post(read, '/invitations', { email: 'x@example.com', role: 'viewer' }),
      403,
      'insufficient_scope',
    )
    expectInvalid(await api.post(write, '/invitations', { email, role: 'owner' }), 'role')
    expectProblem(
      await api.post(write, '/invitations', { email: 'not an email', role: 'viewer' }),
      422,
      'validation_failed',
    )
    const stranger = await api.key(other.actor, other.owner.accountId)
    expectProblem(await api.delete(stranger, `/invitations/${invitation.id}`), 404, 'not_found')
    const revoked = await api.delete(write, `/invitations/${invitation.id}`)
    expect(revoked.status, revoked.text).toBe(204)
    expect(
      (await api.get(read, '/invitations')).json<ApiInvitation[]>().map((i) => i.id),
    ).not.toContain(invitation.id)
    expectProblem(await api.delete(write, `/invitations/${invitation.id}`), 404, 'not_found')
  })

  it('replays an invitation sent with the same Idempotency-Key instead of sending another', async () => {
    const email = `idem-${String(Date.now())}@example.com`
    const headers = { 'idempotency-key': `invite-${email}` }
    const first = await api.post(write, '/invitations', { email, role: 'viewer' }, headers)
    expect(first.status, first.text).toBe(201)
    const again = await api.post(write, '/invitations', { email, role: 'viewer' }, headers)
    expect(again.status).toBe(201)
    expect(again.header('idempotent-replayed')).toBe('true')
    expect(again.text).toBe(first.text)
    const other = await api.post(write, '/invitations', { email, role: 'editor' }, headers)
    expect(other.status).toBe(422)
    const pending = (await api.get(read, '/invitations')).json<ApiInvitation[]>()
    expect(pending.filter((i) => i.email === email)).toHaveLength(1)
  })

  it('changes and removes members within the rules, audited with the key as actor', async () => {
    const viewer = await addMember(t, f.owner.accountId, 'viewer')
    const changed = await api.patch(write, `/team/${viewer.userId}`, {
      role: 'editor',
      page_ids: [f.page.id],
    })
    expect(changed.status, changed.text).toBe(200)
    expect(changed.json<ApiMember>()).toMatchObject({
      id: viewer.userId,
      role: 'editor',
      page_ids: [f.page.id],
      can_invite: false,
      two_factor: false,
    })
    // Leaving page_ids out keeps the limits.
    const kept = await api.patch(write, `/team/${viewer.userId}`, { role: 'viewer' })
    expect(kept.json<ApiMember>().page_ids).toEqual([f.page.id])
    expectProblem(
      await api.patch(write, `/team/${f.owner.userId}`, { role: 'viewer' }),
      403,
      'owner_role',
    )
    expectProblem(
      await api.patch(read, `/team/${viewer.userId}`, { role: 'admin' }),
      403,
      'insufficient_scope',
    )
    const stranger = await api.key(other.actor, other.owner.accountId)
    expectProblem(
      await api.patch(stranger, `/team/${viewer.userId}`, { role: 'admin' }),
      404,
      'not_found',
    )
    const team = await api.get(read, '/team')
    expect(team.json<ApiMember[]>().find((m) => m.id === viewer.userId)?.role).toBe('viewer')
    const removed = await api.delete(write, `/team/${viewer.userId}`)
    expect(removed.status, removed.text).toBe(204)
    expectProblem(await api.delete(write, `/team/${viewer.userId}`), 404, 'not_found')

    const log = await api.get(read, '/audit-log?action=member.')
    expect(log.status, log.text).toBe(200)
    const entries = log.json<ApiAuditEntry[]>()
    expect(entries.map((e) => e.action)).toEqual(
      expect.arrayContaining(['member.updated', 'member.removed']),
    )
    expect(entries.find((e) => e.action === 'member.removed')?.actor).toMatchObject({
      type: 'api_key',
      user_id: f.owner.userId,
    })
  })

  it('reads the audit log page by page, newest first, for admins only', async () => {
    for (let i = 0; i < 3; i++) await addMember(t, f.owner.accountId, 'viewer')
    const viewers = (await api.get(read, '/team'))
      .json<ApiMember[]>()
      .filter((m) => m.role === 'viewer')
    for (const member of viewers) await api.delete(write, `/team/${member.id}`)
    const first = await api.get(read, '/audit-log')
    expect(first.status, first.text).toBe(200)
    const entries = first.json<ApiAuditEntry[]>()
    expect(entries.length).toBeGreaterThan(0)
    expect(entries.map((e) => e.seq)).toEqual([...entries.map((e) => e.seq)].sort((a, b) => b - a))
    if (entries.length === 50) {
      const link = first.header('link') ?? ''
      expect(link).toMatch(/rel="next"/)
    }
    const last = entries.at(-1)
    if (last !== undefined) {
      const older = await api.get(read, `/audit-log?before=${String(last.seq)}`)
      for (const entry of older.json<ApiAuditEntry[]>()) expect(entry.seq).toBeLessThan(last.seq)
    }
    expectProblem(await api.get(read, '/audit-log?from=yesterday'), 422, 'validation_failed')
    // A key created by an editor reads as an editor: not the audit log.
    const editor = await addMember(t, f.owner.accountId, 'admin')
    const editorKey = await api.key(actorFor(editor.userId), f.owner.accountId, { scope: 'read' })
    await t.runtime.services.team.updateMember(f.actor, f.owner.accountId, editor.userId, {
      role: 'editor',
      pageIds: [],
    })
    expectProblem(await api.get(editorKey, '/audit-log'), 403, 'forbidden')
    expectProblem(await api.get(editorKey, '/sso'), 403, 'forbidden')
  })

  it('shows the SSO settings read-only, without secrets', async () => {
    const saved = await t.runtime.services.ssoSettings.save(f.actor, f.owner.accountId, {
      protocol: 'oidc',
      common: {
        name: 'Corporate IdP',
        enabled: 'on',
        allowedDomains: 'example.com',
        jitEnabled: 'on',
        defaultRole: 'viewer',
      },
      checkConfig: () => ({
        config: {
          issuer: 'https://idp.example.com',
          clientId: 'candor',
          clientSecret: 's3cr3t-value',
        },
        identityChanged: false,
      }),
    })
    const sso = await api.get(read, '/sso')
    expect(sso.status, sso.text).toBe(200)
    expect(sso.json()).toMatchObject({
      enforced: false,
      connections: [
        {
          id: saved.id,
          protocol: 'oidc',
          name: 'Corporate IdP',
          enabled: true,
          allowed_domains: ['example.com'],
          jit_enabled: true,
          default_role: 'viewer',
        },
      ],
    })
    expect(sso.text).not.toContain('s3cr3t-value')
    const stranger = await api.key(other.actor, other.owner.accountId, { scope: 'read' })
    expect(
      (await api.get(stranger, '/sso')).json<{ connections: unknown[] }>().connections,
    ).toEqual([])
  })
})
