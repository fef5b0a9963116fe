import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import { createPageFixture, type PageFixture } from '../helpers/page-factories.js'
import { testDialects } from '../helpers/test-db.js'
import { ApiClient, expectInvalid, type ApiComponent, type ApiIncident } from './harness.js'

/** rel → URL of a Link header. */
function links(header: string | undefined): Record<string, string> {
  const found: Record<string, string> = {}
  for (const part of (header ?? '').split(',')) {
    const match = /<([^>]+)>;\s*rel="([^"]+)"/.exec(part.trim())
    if (match?.[1] !== undefined && match[2] !== undefined) found[match[2]] = match[1]
  }
  return found
}

describe.each(testDialects)('management API: pagination (%s)', (dialect) => {
  let t: TestApp
  let api: ApiClient
  let f: PageFixture
  let key: string
  let path: string

  beforeAll(async () => {
    t = await buildTestApp(dialect)
    api = await ApiClient.open(t)
    f = await createPageFixture(t)
    key = await api.key(f.actor, f.owner.accountId)
    path = `/pages/${f.page.id}/components`
    // 6 from the fixture, 7 in all
    await t.runtime.services.components.create(f.actor, f.page.id, { name: 'Seventh' })
  })
  afterAll(async () => {
    await t.close()
  })

  it('pages with per_page and page, Link first/prev/next and X-Total-Count', async () => {
    const all = (await api.get(key, path)).json<ApiComponent[]>()
    expect(all).toHaveLength(7)

    const first = await api.get(key, `${path}?per_page=3`)
    expect(first.json<ApiComponent[]>()).toEqual(all.slice(0, 3))
    expect(first.header('x-total-count')).toBe('7')
    expect(links(first.header('link'))).toEqual({
      first: `/api/v1${path}?per_page=3&page=1`,
      next: `/api/v1${path}?per_page=3&page=2`,
    })

    const second = await api.get(key, `${path}?page=2&per_page=3`)
    expect(second.json<ApiComponent[]>()).toEqual(all.slice(3, 6))
    expect(links(second.header('link'))).toEqual({
      first: `/api/v1${path}?page=1&per_page=3`,
      prev: `/api/v1${path}?page=1&per_page=3`,
      next: `/api/v1${path}?page=3&per_page=3`,
    })

    const last = await api.get(key, `${path}?page=3&per_page=3`)
    expect(last.json<ApiComponent[]>()).toEqual(all.slice(6))
    expect(Object.keys(links(last.header('link')))).toEqual(['first', 'prev'])

    // following the links walks the whole list
    const walked: ApiComponent[] = []
    let next: string | undefined = `${path}?per_page=2`
    while (next !== undefined) {
      const response = await api.get(key, next.replace(/^\/api\/v1/, ''))
      walked.push(...response.json<ApiComponent[]>())
      next = links(response.header('link'))['next']
    }
    expect(walked).toEqual(all)

    const beyond = await api.get(key, `${path}?page=9&per_page=3`)
    expect(beyond.status).toBe(200)
    expect(beyond.json<ApiComponent[]>()).toEqual([])
    expect(beyond.header('x-total-count')).toBe('7')
  })

  it('keeps the other query parameters in the links', async () => {
    const incidents = `/pages/${f.page.id}/incidents`
    for (const name of ['Disk full A', 'Disk full B', 'Disk full C', 'Network'])
      await t.runtime.services.incidents.create(f.actor, f.page.id, { name, body: 'x' })
    const response = await api.get(key, `${incidents}?q=disk&per_page=2`)
    expect(response.json<ApiIncident[]>()).toHaveLength(2)
    expect(response.header('x-total-count')).toBe('3')
    const next = links(response.header('link'))['next']
    expect(next).toBe(`/api/v1${incidents}?q=disk&per_page=2&page=2`)
    const rest = await api.get(key, next!.replace(/^\/api\/v1/, ''))
    expect(rest.json<ApiIncident[]>().map((i) => i.name)).toEqual(['Disk full A'])
  })

  it('refuses per_page above 100 and other bad values with a 400', async () => {
    expect((await api.get(key, `${path}?per_page=100`)).status).toBe(200)
    expectInvalid(await api.get(key, `${path}?per_page=101`), 'querystring.per_page')
    expectInvalid(await api.get(key, `${path}?per_page=0`), 'querystring.per_page')
    expectInvalid(await api.get(key, `${path}?page=0`), 'querystring.page')
    expectInvalid(await api.get(key, `${path}?page=two`), 'querystring.page')
    expectInvalid(await api.get(key, '/pages?per_page=1000'), 'querystring.per_page')
  })
})
