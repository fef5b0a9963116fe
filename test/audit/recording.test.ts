import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { emailIndex } from '../../src/domain/accounts/user-repository.js'
import { auditOrigin } from '../../src/domain/audit/audit-log.js'
import { createLinkSigner } from '../../src/domain/subscribers/links.js'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import { signIn, TestBrowser } from '../helpers/browser.js'
import { addMember, createOwner } from '../helpers/factories.js'
import { actorFor, createPageFixture } from '../helpers/page-factories.js'
import { testDialects } from '../helpers/test-db.js'
import { browserFor, postForm } from '../dashboard/dashboard-helpers.js'
import { actionsOf, entriesOf, verifyAccount } from './audit-helpers.js'

const FROM = { ip: '198.51.100.20', userAgent: 'AuditTest/1.0 (X11)' }

describe.each(testDialects)('audit log: what is recorded (%s)', (dialect) => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp(dialect)
  })
  afterAll(async () => {
    await t.close()
  })

  it('records a sign-in with who, the target, the IP, the user agent and the time', async () => {
    const owner = await createOwner(t)
    const at = new Date('2026-11-20T10:00:00.000Z')
    t.clock.set(at)
    const browser = new TestBrowser(t.app, FROM)
    expect((await signIn(browser, owner.email, owner.password)).status).toBe(303)
    const entries = await entriesOf(t, owner.accountId)
    expect(entries.map((e) => e.action)).toEqual(['account.created', 'auth.signed_in'])
    expect(entries[1]).toMatchObject({
      seq: 2,
      chain: `account:${owner.accountId}`,
      actor_type: 'user',
      actor_user_id: owner.userId,
      actor_api_key_id: null,
      target_type: 'user',
      target_id: owner.userId,
      ip: FROM.ip,
      user_agent: FROM.userAgent,
      created_at: at.toISOString(),
    })
    expect(JSON.parse(entries[1]?.details ?? '')).toEqual({ method: 'password' })
    expect((await verifyAccount(t, owner.accountId)).broken).toBeNull()
  })

  it('records a failed sign-in: in the accounts of a known address, by blind index for an unknown one', async () => {
    const owner = await createOwner(t)
    const browser = new TestBrowser(t.app, { ...FROM, ip: '198.51.100.21' })
    await browser.get('/login')
    expect((await browser.post('/login', { email: owner.email, password: 'wrong' })).status).toBe(
      401,
    )
    const unknown = `nobody-${String(Date.now())}@example.com`
    expect((await browser.post('/login', { email: unknown, password: 'whatever' })).status).toBe(
      401,
    )
    // Recorded in the background, so that neither answer waits for it.
    await t.runtime.background.drain()

    const known = (await entriesOf(t, owner.accountId)).find(
      (e) => e.action === 'auth.sign_in_failed',
    )
    expect(known).toMatchObject({
      actor_type: 'anonymous',
      actor_user_id: null,
      target_type: 'user',
      target_id: owner.userId,
      ip: '198.51.100.21',
    })
    const index = emailIndex(t.runtime.keyRing, unknown)
    const installation = (await entriesOf(t, null)).filter(
      (e) => e.action === 'auth.sign_in_failed' && e.details.includes(index),
    )
    expect(installation).toHaveLength(1)
    expect(installation[0]).toMatchObject({
      chain: 'installation',
      account_id: null,
      actor_type: 'anonymous',
      target_id: null,
      ip: '198.51.100.21',
    })
    expect(JSON.parse(installation[0]?.details ?? '')).toEqual({ emailIndex: index })
    // Neither the address nor the password is written anywhere in the log.
    const everything = JSON.stringify(
      await t.runtime.database.db.selectFrom('audit_entries').selectAll().execute(),
    )
    expect(everything).not.toContain(unknown)
    expect(everything).not.toContain('whatever')
    expect(everything).not.toContain(owner.email)
  })

  it('records a person event in every account they belong to', async () => {
    const first = await createOwner(t)
    const second = await createOwner(t)
    const member = await addMember(t, first.accountId, 'editor')
    await t.runtime.database.db
      .insertInto('memberships')
      .values({
        account_id: second.accountId,
        user_id: member.userId,
        role: 'viewer',
        can_invite: false,
        created_at: new Date(),
      })
      .execute()
    await signIn(new TestBrowser(t.app, FROM), member.email, member.password)
    for (const accountId of [first.accountId, second.accountId]) {
      const signIns = (await entriesOf(t, accountId)).filter(
        (e) => e.action === 'auth.signed_in' && e.actor_user_id === member.userId,
      )
      expect(signIns).toHaveLength(1)
    }
  })

  it('records password change, sign-out everywhere, profile and account changes', async () => {
    const owner = await createOwner(t)
    const browser = await browserFor(t, owner)
    expect(
      (await postForm(browser, `/a/${owner.accountId}/settings`, { name: 'Renamed Inc' })).status,
    ).toBe(303)
    expect((await postForm(browser, '/profile', { name: 'New Name' })).status).toBe(303)
    expect(
      (
        await postForm(browser, '/profile/password', {
          currentPassword: owner.password,
          newPassword: 'another long passphrase here',
        })
      ).status,
    ).toBe(303)
    await browser.get('/profile/sessions')
    expect((await postForm(browser, '/profile/sessions/revoke-all', {})).status).toBe(303)
    expect(await actionsOf(t, owner.accountId)).toEqual([
      'account.created',
      'auth.signed_in',
      'account.renamed',
      'user.profile_updated',
      'auth.password_changed',
      'auth.signed_out_everywhere',
    ])
    const entries = await entriesOf(t, owner.accountId)
    // The account was made by a command (the test factory): Candor itself, from nowhere.
    expect(entries[0]).toMatchObject({ actor_type: 'system', ip: null, user_agent: null })
    for (const entry of entries.slice(1))
      expect(entry).toMatchObject({
        actor_type: 'user',
        actor_user_id: owner.userId,
        ip: '127.0.0.1',
        user_agent: 'TestBrowser/1.0',
      })
    expect(JSON.stringify(entries)).not.toContain('another long passphrase here')
    expect((await verifyAccount(t, owner.accountId)).broken).toBeNull()
  })

  it('records incidents and a deleted update, each in the transaction of its change', async () => {
    const f = await createPageFixture(t)
    const { incidents } = t.runtime.services
    const incident = await incidents.create(f.actor, f.page.id, {
      name: 'Database is slow',
      body: 'Investigating.',
      components: { [f.components.api.id]: 'degraded_performance' },
    })
    await incidents.addUpdate(f.actor, incident.id, { status: 'identified', body: 'Found it.' })
    const withUpdates = await incidents.get(f.actor, incident.id)
    const update = withUpdates.updates.find((u) => u.body === 'Found it.')
    expect(update).toBeDefined()
    await incidents.deleteUpdate(f.actor, update?.id ?? '')

    const entries = await entriesOf(t, f.owner.accountId)
    expect(entries.map((e) => e.action)).toEqual([
      'account.created',
      'page.created',
      ...Array<string>(6).fill('component.created'),
      'incident.created',
      'incident.update_posted',
      'incident.update_deleted',
    ])
    expect(entries.find((e) => e.action === 'incident.created')).toMatchObject({
      actor_type: 'user',
      actor_user_id: f.owner.userId,
      target_type: 'incident',
      target_id: incident.id,
      ip: '127.0.0.1',
      user_agent: 'test',
    })
    const deleted = entries.find((e) => e.action === 'incident.update_deleted')
    expect(deleted).toMatchObject({ target_type: 'incident_update', target_id: update?.id })
    expect(JSON.parse(deleted?.details ?? '')).toEqual({
      incidentId: incident.id,
      pageId: f.page.id,
    })

    // The only update left cannot be deleted: the refused change leaves no entry behind.
    const only = (await incidents.get(f.actor, incident.id)).updates[0]
    await expect(incidents.deleteUpdate(f.actor, only?.id ?? '')).rejects.toThrow(/at least one/)
    expect((await entriesOf(t, f.owner.accountId)).length).toBe(entries.length)
    expect((await verifyAccount(t, f.owner.accountId)).broken).toBeNull()
  })

  it('records nothing for a refused action', async () => {
    const f = await createPageFixture(t)
    const editor = await addMember(t, f.owner.accountId, 'editor')
    const before = (await entriesOf(t, f.owner.accountId)).length
    await expect(
      t.runtime.services.pages.remove(actorFor(editor.userId), f.page.id),
    ).rejects.toThrow()
    expect((await entriesOf(t, f.owner.accountId)).length).toBe(before)
  })

  it('records a subscriber export with its format and size', async () => {
    const f = await createPageFixture(t)
    await t.runtime.services.subscribers.add(f.actor, f.page.id, {
      channel: 'slack',
      address: 'https://hooks.slack.com/services/T000/B000/XXXXXXXX',
    })
    const browser = await browserFor(t, f.owner)
    const csv = await browser.get(`/pages/${f.page.id}/subscribers/export.csv`)
    expect(csv.status).toBe(200)
    const entries = await entriesOf(t, f.owner.accountId)
    expect(entries.map((e) => e.action).slice(-2)).toEqual([
      'auth.signed_in',
      'subscriber.exported',
    ])
    expect(entries.find((e) => e.action === 'subscriber.added')).toMatchObject({
      target_type: 'subscriber',
    })
    const exported = entries.at(-1)
    expect(exported).toMatchObject({
      target_type: 'page',
      target_id: f.page.id,
      actor_user_id: f.owner.userId,
    })
    expect(JSON.parse(exported?.details ?? '')).toEqual({ format: 'csv', subscribers: 1 })
    // The address stays out of the log.
    expect(JSON.stringify(entries)).not.toContain('hooks.slack.com')
  })

  it('records erasures: by a member, and by the subscriber through their own link', async () => {
    const f = await createPageFixture(t)
    const { subscribers } = t.runtime.services
    const add = (address: string) =>
      subscribers.add(f.actor, f.page.id, { channel: 'discord', address })
    const byMember = await add('https://discord.com/api/webhooks/1/member-erases')
    const bySelf = await add('https://discord.com/api/webhooks/2/self-erases')
    await subscribers.erase(f.actor, byMember.subscriber.id)
    const token = createLinkSigner(t.runtime.keyRing).sign(
      { kind: 'subscriber', subscriberId: bySelf.subscriber.id, generation: 1 },
      new Date(t.clock.now().getTime() + 60_000),
    )
    await subscribers.eraseByLink(token)
    const erased = (await entriesOf(t, f.owner.accountId)).filter(
      (e) => e.action === 'subscriber.erased',
    )
    expect(erased).toMatchObject([
      { actor_type: 'user', actor_user_id: f.owner.userId, target_id: byMember.subscriber.id },
      { actor_type: 'anonymous', actor_user_id: null, target_id: bySelf.subscriber.id },
    ])
    expect(JSON.parse(erased[1]?.details ?? '')).toEqual({
      pageId: f.page.id,
      channel: 'discord',
      via: 'link',
    })
    expect((await verifyAccount(t, f.owner.accountId)).broken).toBeNull()
  })

  it('names the API key when an actor acts through one', () => {
    const actor = actorFor('user1')
    expect(auditOrigin(actor).actor).toEqual({ type: 'user', userId: 'user1' })
    const viaKey = {
      ...actorFor('user1'),
      apiKey: { id: 'key2', accountId: 'acct1', scope: 'write' as const, pageIds: null },
    }
    expect(auditOrigin(viaKey).actor).toEqual({ type: 'api_key', keyId: 'key2', userId: 'user1' })
  })

  it('refuses details that look like secrets, and action names that are not dotted', async () => {
    const { audit } = t.runtime.services
    const db = t.runtime.database.db
    const base = { accountId: null, actor: { type: 'system' } as const }
    await expect(
      audit.record(db, { ...base, action: 'user.updated', details: { password: 'hunter2' } }),
    ).rejects.toThrow(/must not carry/)
    await expect(audit.record(db, { ...base, action: 'Updated' })).rejects.toThrow(/dotted/)
  })
})
