import { Validator } from '@seriousme/openapi-schema-validator'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import { createPageFixture, type PageFixture } from '../helpers/page-factories.js'
import { testDialects } from '../helpers/test-db.js'
import { API, ApiClient, fakeResponse, registeredRoutes, type OpenApiDocument } from './harness.js'

describe.each(testDialects)('management API: OpenAPI document (%s)', (dialect) => {
  let t: TestApp
  let api: ApiClient
  let f: PageFixture
  let routes: { method: string; url: string }[] = []
  /** Routes added after the application's own, which onRoute does see. */
  const late: { method: string; url: string }[] = []

  beforeAll(async () => {
    t = await buildTestApp(dialect, {
      beforeReady: (app) => {
        app.addHook('onRoute', (route) => {
          const methods = Array.isArray(route.method) ? route.method : [route.method]
          for (const method of methods) late.push({ method, url: route.url })
        })
        app.get('/test-only/late', () => 'late')
      },
    })
    routes = registeredRoutes(t.app)
    api = await ApiClient.open(t)
    f = await createPageFixture(t)
  })
  afterAll(async () => {
    await t.close()
  })

  const doc = (): OpenApiDocument => api.contract.document

  it('is served without a key and is a valid OpenAPI 3.1 document', async () => {
    const response = await t.app.inject({ method: 'GET', url: `${API}/openapi.json` })
    expect(response.statusCode).toBe(200)
    expect(response.headers['content-type']).toMatch(/^application\/json/)
    const document = JSON.parse(response.body) as OpenApiDocument
    expect(document.openapi).toBe('3.1.0')
    const result = await new Validator().validate(
      JSON.parse(response.body) as Record<string, unknown>,
    )
    expect(result.errors ?? []).toEqual([])
    expect(result.valid).toBe(true)
  })

  it('documents every route of /api/v1 with its method', () => {
    const api1 = routes.filter(
      (r) => r.url.startsWith(`${API}/`) && r.url !== `${API}/openapi.json` && r.method !== 'HEAD',
    )
    expect(late).toContainEqual({ method: 'GET', url: '/test-only/late' })
    expect(routes).toContainEqual({ method: 'GET', url: '/test-only/late' })
    expect(routes).toContainEqual({
      method: 'PATCH',
      url: `${API}/pages/:page_id/components/:component_id`,
    })
    expect(api1.length).toBeGreaterThan(20)
    const missing = api1.filter((route) => {
      const template = route.url.slice(API.length).replace(/:([A-Za-z0-9_]+)/g, '{$1}')
      return doc().paths[template]?.[route.method.toLowerCase()] === undefined
    })
    expect(missing).toEqual([])
    // and nothing is documented that does not exist
    const registered = new Set(
      api1.map(
        (r) => `${r.method} ${r.url.slice(API.length).replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`,
      ),
    )
    const documented = Object.entries(doc().paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
    )
    expect(documented.filter((operation) => !registered.has(operation))).toEqual([])
  })

  it('documents the key, the errors as problem+json and the Idempotency-Key of each POST', () => {
    const document = doc() as OpenApiDocument & {
      security?: unknown
      components?: { securitySchemes?: Record<string, unknown> }
    }
    expect(document.security).toEqual([{ apiKey: [] }])
    expect(document.components?.securitySchemes?.['apiKey']).toMatchObject({
      type: 'apiKey',
      in: 'header',
      name: 'Authorization',
    })
    for (const [path, operations] of Object.entries(doc().paths))
      for (const [method, operation] of Object.entries(operations)) {
        const where = `${method} ${path}`
        const responses = operation.responses ?? {}
        for (const status of ['401', '403', '404', '429'])
          expect(Object.keys(responses[status]?.content ?? {}), `${where} ${status}`).toEqual([
            'application/problem+json',
          ])
        const parameters =
          (operation as { parameters?: { in: string; name: string }[] }).parameters ?? []
        if (method === 'post')
          expect(
            parameters.some((p) => p.in === 'header' && p.name === 'idempotency-key'),
            where,
          ).toBe(true)
      }
  })

  it('checks answers against the document: a wrong one fails', () => {
    const page = `/pages/${f.page.id}`
    const problem = JSON.stringify({
      type: 'about:blank',
      title: 'Not found',
      status: 404,
      detail: 'x',
      code: 'not_found',
      requestId: 'r',
    })
    expect(() => {
      api.contract.check('GET', page, fakeResponse(404, problem, 'application/problem+json'))
    }).not.toThrow()
    // a field missing, a status the document does not have, the wrong content type
    expect(() => {
      api.contract.check('GET', '/pages', fakeResponse(200, '[{"id":"x"}]', 'application/json'))
    }).toThrow()
    expect(() => {
      api.contract.check('GET', page, fakeResponse(418, problem, 'application/problem+json'))
    }).toThrow()
    expect(() => {
      api.contract.check('GET', page, fakeResponse(404, problem, 'application/json'))
    }).toThrow()
    expect(api.contract.templateOf(`/pages/${f.page.id}/incidents/unresolved?page=2`)).toBe(
      '/pages/{page_id}/incidents/unresolved',
    )
    expect(api.contract.templateOf(`/pages/${f.page.id}/incidents/abc`)).toBe(
      '/pages/{page_id}/incidents/{incident_id}',
    )
  })

  it('answers of documented routes match their schemas (pages and components)', async () => {
    const key = await api.key(f.actor, f.owner.accountId)
    for (const path of [
      '/pages',
      `/pages/${f.page.id}`,
      `/pages/${f.page.id}/components`,
      `/pages/${f.page.id}/component-groups`,
      `/pages/${f.page.id}/incidents`,
      `/pages/${f.page.id}/incident_templates`,
    ])
      expect((await api.get(key, path)).status).toBe(200)
    expect([...api.contract.seen]).toContain('GET /pages 200')
  })
})
