import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import { addMember } from '../helpers/factories.js'
import { hashToken } from '../../src/crypto/tokens.js'
import { createPageFixture, type PageFixture } from '../helpers/page-factories.js'
import { testDialects } from '../helpers/test-db.js'
import { ApiClient, expectInvalid, expectProblem, expectRefused } from '../api/harness.js'

interface ApiSubscriber {
  id: string
  mode: string
  email: string | null
  endpoint: string | null
  skip_confirmation_notification: boolean
  quarantined_at: null
  purge_at: null
  components: string[]
  all_components: boolean
  state: string
  created_at: string
  secret?: string
}

describe.each(testDialects)('management API: subscribers (%s)', (dialect) => {
  let t: TestApp
  let api: ApiClient
  let f: PageFixture
  let other: PageFixture
  let write: string
  let read: string
  let base: string

  beforeAll(async () => {
    t = await buildTestApp(dialect)
    api = await ApiClient.open(t)
    f = await createPageFixture(t)
    other = await createPageFixture(t)
    write = await api.key(f.actor, f.owner.accountId, { scope: 'write' })
    read = await api.key(f.actor, f.owner.accountId, { scope: 'read' })
    base = `/pages/${f.page.id}/subscribers`
  })
  afterAll(async () => {
    await t.close()
  })

  it('adds an email subscriber who must confirm first (double opt-in, always)', async () => {
    const created = await api.post(write, base, {
      subscriber: {
        email: 'Ada@Example.com',
        component_ids: [f.components.api.id],
        skip_confirmation_notification: true,
      },
    })
    expect(created.status, created.text).toBe(201)
    const s = created.json<ApiSubscriber>()
    expect(s).toMatchObject({
      mode: 'email',
      email: 'ada@example.com',
      endpoint: null,
      state: 'pending',
      skip_confirmation_notification: false,
      quarantined_at: null,
      purge_at: null,
      components: [f.components.api.id],
      all_components: false,
    })
    expect(s).not.toHaveProperty('secret')
    // The confirmation email went out although the client asked to skip it.
    const pending = await t.runtime.database.db
      .selectFrom('subscribers')
      .select(['state', 'confirm_token_hash', 'consent_source'])
      .where('id', '=', s.id)
      .executeTakeFirstOrThrow()
    expect(pending.state).toBe('pending')
    expect(pending.confirm_token_hash).not.toBeNull()
    expect(pending.consent_source).toBe('api')

    const one = await api.get(write, `${base}/${s.id}`)
    expect(one.status).toBe(200)
    expect(one.json<ApiSubscriber>().email).toBe('ada@example.com')

    // Statuspage lists active subscribers unless told otherwise.
    const active = await api.get(write, base)
    expect(active.json<ApiSubscriber[]>().map((x) => x.id)).not.toContain(s.id)
    for (const state of ['unconfirmed', 'pending', 'all']) {
      const listed = await api.get(write, `${base}?state=${state}`)
      expect(
        listed.json<ApiSubscriber[]>().map((x) => x.id),
        state,
      ).toContain(s.id)
    }
    expect((await api.get(write, `${base}?state=quarantined`)).json<unknown[]>()).toEqual([])
  })

  it('adds a webhook subscriber, active at once, and returns its secret once', async () => {
    const created = await api.post(write, base, {
      subscriber: { endpoint: 'https://hooks.example.com/candor', email: 'ops@example.com' },
    })
    expect(created.status, created.text).toBe(201)
    const s = created.json<ApiSubscriber>()
    expect(s).toMatchObject({
      mode: 'webhook',
      email: null,
      endpoint: 'https://hooks.example.com/candor',
      state: 'active',
      components: [],
      all_components: true,
    })
    expect(s.secret).toMatch(/^whsec_/)
    const again = await api.get(write, `${base}/${s.id}`)
    expect(again.json<ApiSubscriber>()).not.toHaveProperty('secret')
    expect(again.text).not.toContain(s.secret ?? 'none')

    const slack = await api.post(write, base, {
      subscriber: { mode: 'slack', endpoint: 'https://hooks.slack.com/services/T0/B0/abc' },
    })
    expect(slack.status, slack.text).toBe(201)
    expect(slack.json<ApiSubscriber>()).toMatchObject({ mode: 'slack' })
    expect(slack.json<ApiSubscriber>()).not.toHaveProperty('secret')

    const webhooks = await api.get(write, `${base}?type=webhook&state=all`)
    expect(webhooks.json<ApiSubscriber[]>().map((x) => x.mode)).toEqual(['webhook'])
  })

  it('paginates with Link and X-Total-Count', async () => {
    for (const n of [1, 2, 3])
      expect(
        (
          await api.post(write, base, {
            subscriber: { endpoint: `https://h${String(n)}.example.com/x` },
          })
        ).status,
      ).toBe(201)
    const all = await api.get(write, `${base}?state=all`)
    const total = Number(all.header('x-total-count'))
    expect(total).toBe(all.json<unknown[]>().length)
    expect(total).toBeGreaterThanOrEqual(4)
    const first = await api.get(write, `${base}?state=all&per_page=2`)
    expect(first.json<unknown[]>()).toHaveLength(2)
    expect(first.header('x-total-count')).toBe(String(total))
    expect(first.header('link')).toContain('rel="next"')
    expect(first.header('link')).toContain('page=2')
    const last = await api.get(
      write,
      `${base}?state=all&per_page=2&page=${String(Math.ceil(total / 2))}`,
    )
    expect(last.header('link')).not.toContain('rel="next"')
    expect(last.header('link')).toContain('rel="prev"')
    const ids = new Set<string>()
    for (let page = 1; page <= Math.ceil(total / 2); page++)
      for (const s of (
        await api.get(write, `${base}?state=all&per_page=2&page=${String(page)}`)
      ).json<ApiSubscriber[]>())
        ids.add(s.id)
    expect(ids.size).toBe(total)
  })

  it('changes components and erases', async () => {
    const s = (
      await api.post(write, base, { subscriber: { endpoint: 'https://change.example.com/x' } })
    ).json<ApiSubscriber>()
    const patched = await api.patch(write, `${base}/${s.id}`, {
      subscriber: { component_ids: [f.components.eu.id, f.groups.core.id] },
    })
    expect(patched.status, patched.text).toBe(200)
    expect(patched.json<ApiSubscriber>().components.sort()).toEqual(
      [f.components.eu.id, f.groups.core.id].sort(),
    )
    const everything = await api.patch(write, `${base}/${s.id}`, {
      subscriber: { component_ids: [] },
    })
    expect(everything.json<ApiSubscriber>()).toMatchObject({ components: [], all_components: true })

    const erased = await api.delete(write, `${base}/${s.id}`)
    expect(erased.status).toBe(204)
    expect(erased.text).toBe('')
    expectProblem(await api.get(write, `${base}/${s.id}`), 404, 'not_found')
    expect(
      await t.runtime.database.db
        .selectFrom('subscribers')
        .select('id')
        .where('id', '=', s.id)
        .executeTakeFirst(),
    ).toBeUndefined()
  })

  it('names the field of each refused input', async () => {
    expectRefused(await api.post(write, base, { subscriber: {} }), 'subscriber.email')
    expectRefused(
      await api.post(write, base, { subscriber: { email: 'not an address' } }),
      'subscriber.email',
    )
    expectRefused(
      await api.post(write, base, { subscriber: { mode: 'webhook', email: 'a@example.com' } }),
      'subscriber.endpoint',
    )
    expectRefused(
      await api.post(write, base, { subscriber: { endpoint: 'ftp://example.com/x' } }),
      'subscriber.endpoint',
    )
    expectRefused(
      await api.post(write, base, {
        subscriber: { email: 'b@example.com', component_ids: [other.components.api.id] },
      }),
      'subscriber.component_ids',
    )
    expectInvalid(await api.post(write, base, { subscriber: { email: 5 } }), 'subscriber.email')
    expectInvalid(
      await api.post(write, base, { subscriber: { email: 'c@example.com', phone: '1' } }),
    )
    expectInvalid(
      await api.post(write, base, { subscriber: { mode: 'sms', endpoint: 'x' } }),
      'subscriber.mode',
    )
    expectInvalid(await api.get(write, `${base}?state=sleeping`), 'querystring.state')
    expectInvalid(await api.get(write, `${base}?per_page=101`), 'querystring.per_page')
    // Already subscribed.
    await api.post(write, base, { subscriber: { endpoint: 'https://dup.example.com/x' } })
    expectRefused(
      await api.post(write, base, { subscriber: { endpoint: 'https://dup.example.com/x' } }),
      'subscriber.endpoint',
    )
    const s = (
      await api.post(write, base, { subscriber: { endpoint: 'https://patch.example.com/x' } })
    ).json<ApiSubscriber>()
    expectRefused(
      await api.patch(write, `${base}/${s.id}`, { subscriber: { component_ids: ['nope'] } }),
      'subscriber.component_ids',
    )
    expectInvalid(
      await api.patch(write, `${base}/${s.id}`, { subscriber: {} }),
      'subscriber.component_ids',
    )
  })

  it('needs the write scope: subscribers are personal data', async () => {
    expectProblem(await api.get(read, base), 403, 'insufficient_scope')
    expectProblem(
      await api.post(read, base, { subscriber: { email: 'r@example.com' } }),
      403,
      'insufficient_scope',
    )
    const s = (
      await api.post(write, base, { subscriber: { endpoint: 'https://scope.example.com/x' } })
    ).json<ApiSubscriber>()
    expectProblem(await api.get(read, `${base}/${s.id}`), 403, 'insufficient_scope')
    expectProblem(await api.delete(read, `${base}/${s.id}`), 403, 'insufficient_scope')
    // An editor's write key may; a viewer's write key acts as a viewer.
    const editor = await addMember(t, f.owner.accountId, 'editor')
    const viewer = await addMember(t, f.owner.accountId, 'viewer')
    const owner = f.actor
    const editorKey = await api.key(owner, f.owner.accountId)
    await t.runtime.database.db
      .updateTable('api_keys')
      .set({ created_by: editor.userId })
      .where('key_hash', '=', hashToken(editorKey))
      .execute()
    expect((await api.get(editorKey, base)).status).toBe(200)
    await t.runtime.database.db
      .updateTable('api_keys')
      .set({ created_by: viewer.userId })
      .where('key_hash', '=', hashToken(editorKey))
      .execute()
    expectProblem(await api.get(editorKey, base), 403, 'forbidden')
  })

  it('shows nothing of another account, or of a page the key is not for', async () => {
    const s = (
      await api.post(write, base, { subscriber: { endpoint: 'https://tenant.example.com/x' } })
    ).json<ApiSubscriber>()
    const stranger = await api.key(other.actor, other.owner.accountId)
    expectProblem(await api.get(stranger, base), 404, 'not_found')
    expectProblem(await api.get(stranger, `${base}/${s.id}`), 404, 'not_found')
    expectProblem(
      await api.patch(stranger, `${base}/${s.id}`, { subscriber: { component_ids: [] } }),
      404,
      'not_found',
    )
    expectProblem(await api.delete(stranger, `${base}/${s.id}`), 404, 'not_found')
    expectProblem(
      await api.post(stranger, base, { subscriber: { email: 'x@example.com' } }),
      404,
      'not_found',
    )
    // Through another page of its own account, the subscriber is not found either.
    const second = await t.runtime.services.pages.create(f.actor, f.owner.accountId, {
      name: 'Second',
      slug: `second-${String(Date.now() % 100000)}`,
      timeZone: 'UTC',
      locale: 'en',
    })
    expectProblem(await api.get(write, `/pages/${second.id}/subscribers/${s.id}`), 404, 'not_found')
    expectProblem(
      await api.delete(write, `/pages/${second.id}/subscribers/${s.id}`),
      404,
      'not_found',
    )
    // A key limited to the second page does not see the first.
    const limited = await api.key(f.actor, f.owner.accountId, { pageIds: [second.id] })
    expectProblem(await api.get(limited, base), 404, 'not_found')
    expect((await api.get(limited, `/pages/${second.id}/subscribers`)).status).toBe(200)
  })
})
