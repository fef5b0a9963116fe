import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import { createPageFixture, type PageFixture } from '../helpers/page-factories.js'
import { testDialects } from '../helpers/test-db.js'
import {
  ApiClient,
  expectInvalid,
  expectProblem,
  type ApiComponent,
  type ApiIncident,
} from './harness.js'

describe.each(testDialects)('management API: Idempotency-Key (%s)', (dialect) => {
  let t: TestApp
  let api: ApiClient
  let f: PageFixture
  let key: string
  let path: string

  beforeAll(async () => {
    t = await buildTestApp(dialect)
    api = await ApiClient.open(t)
  })
  beforeEach(async () => {
    f = await createPageFixture(t)
    key = await api.key(f.actor, f.owner.accountId)
    path = `/pages/${f.page.id}/components`
  })
  afterAll(async () => {
    await t.close()
  })

  const named = async (name: string) =>
    (await t.runtime.services.components.list(f.actor, f.page.id)).filter((c) => c.name === name)

  it('replays the first answer to the same key and body, and creates one row', async () => {
    const body = { component: { name: 'Queue', status: 'degraded_performance' } }
    const headers = { 'idempotency-key': 'create-queue-1' }
    const first = await api.post(key, path, body, headers)
    expect(first.status).toBe(201)
    expect(first.header('idempotent-replayed')).toBeUndefined()
    const again = await api.post(key, path, body, headers)
    expect(again.status).toBe(201)
    expect(again.header('idempotent-replayed')).toBe('true')
    expect(again.header('content-type')).toMatch(/^application\/json/)
    expect(again.text).toBe(first.text)
    expect(await named('Queue')).toHaveLength(1)
    // without the header, the same body makes another one
    expect((await api.post(key, path, body)).status).toBe(201)
    expect(await named('Queue')).toHaveLength(2)
  })

  it('refuses the same key with another body (422 idempotency_key_reused)', async () => {
    const headers = { 'idempotency-key': 'reused' }
    expect((await api.post(key, path, { component: { name: 'One' } }, headers)).status).toBe(201)
    const other = await api.post(key, path, { component: { name: 'Two' } }, headers)
    expectProblem(other, 422, 'idempotency_key_reused')
    expect(other.header('idempotent-replayed')).toBeUndefined()
    // nor on another resource
    const elsewhere = await api.post(
      key,
      `/pages/${f.page.id}/incidents`,
      { component: { name: 'One' } },
      headers,
    )
    expect([400, 422]).toContain(elsewhere.status)
    expect(await named('Two')).toHaveLength(0)
    expect(await named('One')).toHaveLength(1)
  })

  it('replays a refusal (4xx) too', async () => {
    const incidents = `/pages/${f.page.id}/incidents`
    const body = {
      incident: { name: 'Bad', body: 'x', components: { nosuchcompo0: 'major_outage' } },
    }
    const headers = { 'idempotency-key': 'refused-once' }
    const first = await api.post(key, incidents, body, headers)
    expect(first.status).toBe(422)
    const again = await api.post(key, incidents, body, headers)
    expect(again.status).toBe(422)
    expect(again.header('idempotent-replayed')).toBe('true')
    expect(again.header('content-type')).toMatch(/^application\/problem\+json/)
    expect(again.text).toBe(first.text)
    // a read key's refusal is an answer as well
    const readKey = await api.key(f.actor, f.owner.accountId, { scope: 'read' })
    const scoped = { 'idempotency-key': 'read-scope' }
    expectProblem(
      await api.post(readKey, path, { component: { name: 'R' } }, scoped),
      403,
      'insufficient_scope',
    )
    const replayed = await api.post(readKey, path, { component: { name: 'R' } }, scoped)
    expect(replayed.status).toBe(403)
    expect(replayed.header('idempotent-replayed')).toBe('true')
    expect((await api.get(key, incidents)).json<ApiIncident[]>()).toEqual([])
  })

  it('keeps the keys of each API key apart', async () => {
    const otherKey = await api.key(f.actor, f.owner.accountId)
    const headers = { 'idempotency-key': 'shared-string' }
    const mine = await api.post(key, path, { component: { name: 'Mine' } }, headers)
    const theirs = await api.post(otherKey, path, { component: { name: 'Theirs' } }, headers)
    expect(mine.status).toBe(201)
    expect(theirs.status).toBe(201)
    expect(theirs.header('idempotent-replayed')).toBeUndefined()
    expect(theirs.json<ApiComponent>().name).toBe('Theirs')
    const same = await api.post(
      otherKey,
      path,
      { component: { name: 'Mine' } },
      { 'idempotency-key': 'x2' },
    )
    expect(same.header('idempotent-replayed')).toBeUndefined()
    expect(await named('Mine')).toHaveLength(2)
  })

  it('answers two requests sent at once with one row', async () => {
    const headers = { 'idempotency-key': 'at-once' }
    const body = { component: { name: 'Twice at once' } }
    const answers = await Promise.all([
      api.post(key, path, body, headers),
      api.post(key, path, body, headers),
      api.post(key, path, body, headers),
    ])
    for (const answer of answers) {
      if (answer.status === 409) expectProblem(answer, 409, 'idempotency_in_progress')
      else expect(answer.status).toBe(201)
    }
    expect(
      answers.filter((a) => a.status === 201 && a.header('idempotent-replayed') === undefined),
    ).toHaveLength(1)
    expect(await named('Twice at once')).toHaveLength(1)
  })

  it('checks the key itself, and ignores it where it does not apply', async () => {
    expectInvalid(
      await api.post(
        key,
        path,
        { component: { name: 'Long key' } },
        { 'idempotency-key': 'k'.repeat(256) },
      ),
      'headers.idempotency-key',
    )
    expectInvalid(
      await api.post(key, path, { component: { name: 'Empty key' } }, { 'idempotency-key': '' }),
      'headers.idempotency-key',
    )
    expect(await named('Long key')).toHaveLength(0)
    const first = await api.get(key, path, { 'idempotency-key': 'on-a-get' })
    const second = await api.get(key, path, { 'idempotency-key': 'on-a-get' })
    expect(second.header('idempotent-replayed')).toBeUndefined()
    expect(second.text).toBe(first.text)
    // a request refused before it reached the handler (400) does not take the key
    const headers = { 'idempotency-key': 'after-a-typo' }
    expectInvalid(
      await api.post(key, path, { component: { nam: 'Typo' } }, headers),
      'component.nam',
    )
    expect((await api.post(key, path, { component: { name: 'Fixed' } }, headers)).status).toBe(201)
  })

  it('forgets a key after 24 hours: housekeeping prunes it, and the key may be used again', async () => {
    const headers = { 'idempotency-key': 'yesterday' }
    const body = { component: { name: 'Daily' } }
    expect((await api.post(key, path, body, headers)).status).toBe(201)
    expect((await api.post(key, path, body, headers)).header('idempotent-replayed')).toBe('true')
    const stored = () =>
      t.runtime.database.db
        .selectFrom('idempotency_keys')
        .select('idempotency_key')
        .where('idempotency_key', '=', 'yesterday')
        .execute()
    t.clock.advance(23 * 60 * 60_000)
    expect(await t.runtime.services.apiIdempotency.prune()).toBe(0)
    expect(await stored()).toHaveLength(1)
    t.clock.advance(60 * 60_000 + 1000)
    expect(await t.runtime.services.apiIdempotency.prune()).toBeGreaterThanOrEqual(1)
    expect(await stored()).toEqual([])
    const fresh = await api.post(key, path, body, headers)
    expect(fresh.status).toBe(201)
    expect(fresh.header('idempotent-replayed')).toBeUndefined()
    expect(await named('Daily')).toHaveLength(2)
  })

  it('a server error leaves the key free for a retry', async () => {
    const headers = { 'idempotency-key': 'after-a-crash' }
    const { components } = t.runtime.services
    const original = components.create
    components.create = () => Promise.reject(new Error('database went away'))
    try {
      const failed = await api.post(key, path, { component: { name: 'Retried' } }, headers)
      expectProblem(failed, 500, 'internal_error')
      expect(failed.text).not.toContain('database went away')
    } finally {
      components.create = original
    }
    const retried = await api.post(key, path, { component: { name: 'Retried' } }, headers)
    expect(retried.status).toBe(201)
    expect(retried.header('idempotent-replayed')).toBeUndefined()
    expect(await named('Retried')).toHaveLength(1)
  })
})
