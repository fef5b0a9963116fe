import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import { createPageFixture, type PageFixture } from '../helpers/page-factories.js'
import { testDialects } from '../helpers/test-db.js'
import { ApiClient, expectProblem } from './harness.js'

describe.each(testDialects)('management API: rate limit per key (%s)', (dialect) => {
  let t: TestApp
  let api: ApiClient
  let f: PageFixture

  beforeAll(async () => {
    t = await buildTestApp(dialect, { env: { API_RATE_LIMIT_PER_MINUTE: '5' } })
    api = await ApiClient.open(t)
    f = await createPageFixture(t)
  })
  afterAll(async () => {
    await t.close()
  })

  it('answers the 6th request of a minute with 429 problem+json and the RateLimit headers', async () => {
    const key = await api.key(f.actor, f.owner.accountId)
    const path = `/pages/${f.page.id}/components`
    for (let n = 1; n <= 5; n++) {
      const response = await api.get(key, path)
      expect(response.status).toBe(200)
      expect(response.header('ratelimit-limit')).toBe('5')
      expect(response.header('ratelimit-remaining')).toBe(String(5 - n))
      expect(Number(response.header('ratelimit-reset'))).toBeGreaterThan(0)
    }
    const refused = await api.get(key, path)
    const problem = expectProblem(refused, 429, 'rate_limited')
    expect(problem.detail).toMatch(/more than 5 requests/)
    expect(problem.title).toBe('Too many requests')
    expect(refused.header('ratelimit-limit')).toBe('5')
    expect(refused.header('ratelimit-remaining')).toBe('0')
    const reset = Number(refused.header('ratelimit-reset'))
    expect(reset).toBeGreaterThan(0)
    expect(reset).toBeLessThanOrEqual(60)
    expect(Number(refused.header('retry-after'))).toBe(reset)

    // a write is refused the same way, and its Idempotency-Key stays free for the retry
    const write = await api.post(
      key,
      path,
      { component: { name: 'Limited' } },
      { 'idempotency-key': 'limited-write' },
    )
    expectProblem(write, 429, 'rate_limited')
    const stored = await t.runtime.database.db
      .selectFrom('idempotency_keys')
      .select('idempotency_key')
      .where('idempotency_key', '=', 'limited-write')
      .execute()
    expect(stored).toEqual([])
    const names = (await t.runtime.services.components.list(f.actor, f.page.id)).map((c) => c.name)
    expect(names).not.toContain('Limited')
  })

  it('counts each key on its own, and requests without a valid key not at all', async () => {
    const busy = await api.key(f.actor, f.owner.accountId)
    const other = await api.key(f.actor, f.owner.accountId)
    for (let n = 0; n < 5; n++) expect((await api.get(busy, '/pages')).status).toBe(200)
    expectProblem(await api.get(busy, '/pages'), 429, 'rate_limited')
    const fresh = await api.get(other, '/pages')
    expect(fresh.status).toBe(200)
    expect(fresh.header('ratelimit-remaining')).toBe('4')
    for (let n = 0; n < 6; n++)
      expectProblem(await api.get('cnd_unknown', '/pages'), 401, 'invalid_api_key')
    expect((await api.get(other, '/pages')).header('ratelimit-remaining')).toBe('3')
  })
})
