import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migrateDown, migrateToLatest } from '../../src/db/migrator.js'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import { signIn, TestBrowser, type BrowserResponse } from '../helpers/browser.js'
import { createOwner, type CreatedOwner } from '../helpers/factories.js'
import { uniqueIp } from '../helpers/http.js'
import { testDialects } from '../helpers/test-db.js'

/** A random per-process prefix and a counter. */
const REQUEST_ID = /^[0-9a-f]{12}-[0-9a-z]+$/

function cspDirectives(response: BrowserResponse): Map<string, string[]> {
  const header = response.headers['content-security-policy']
  expect(typeof header).toBe('string')
  const directives = new Map<string, string[]>()
  for (const part of String(header).split(';')) {
    const [name, ...values] = part.trim().split(/\s+/)
    if (name !== undefined && name !== '') directives.set(name, values)
  }
  return directives
}

describe.each(testDialects)('security headers and health (%s)', (dialect) => {
  let t: TestApp
  let owner: CreatedOwner
  let browser: TestBrowser
  beforeAll(async () => {
    t = await buildTestApp(dialect)
    owner = await createOwner(t)
    browser = new TestBrowser(t.app, { ip: uniqueIp() })
    await signIn(browser, owner.email, owner.password)
  })
  afterAll(async () => {
    await t.close()
  })

  describe('security headers', () => {
    it('sends a strict Content-Security-Policy', async () => {
      for (const path of ['/login', `/a/${owner.accountId}`, '/nowhere']) {
        const directives = cspDirectives(await browser.get(path))
        expect(directives.get('script-src')).toEqual(["'self'"])
        expect(directives.get('frame-ancestors')).toEqual(["'none'"])
        expect(directives.get('object-src')).toEqual(["'none'"])
        expect(directives.get('base-uri')).toEqual(["'none'"])
        expect(directives.get('default-src')).toEqual(["'self'"])
        for (const values of directives.values()) {
          expect(values).not.toContain("'unsafe-inline'")
          expect(values).not.toContain("'unsafe-eval'")
        }
      }
    })

    it('forbids sniffing and framing and limits the referrer', async () => {
      const response = await browser.get('/login')
      expect(response.headers['x-content-type-options']).toBe('nosniff')
      expect(response.headers['referrer-policy']).toBe('same-origin')
      expect(response.headers['x-frame-options']).toBe('SAMEORIGIN')
      expect(response.headers['x-powered-by']).toBeUndefined()
    })

    it('sends no HSTS over http', async () => {
      const response = await browser.get('/login')
      expect(response.headers['strict-transport-security']).toBeUndefined()
    })

    it('sends HSTS when BASE_URL is https', async () => {
      const https = await buildTestApp(dialect, { env: { BASE_URL: 'https://status.example.com' } })
      try {
        const response = await new TestBrowser(https.app).get('/login')
        const hsts = String(response.headers['strict-transport-security'])
        const maxAge = Number(/max-age=(\d+)/.exec(hsts)?.[1])
        expect(maxAge).toBeGreaterThanOrEqual(31_536_000)
        expect(hsts).toContain('includeSubDomains')
      } finally {
        await https.close()
      }
    })
  })

  describe('request ids', () => {
    it('puts a fresh X-Request-Id on every response', async () => {
      const anonymous = new TestBrowser(t.app, { ip: uniqueIp() })
      const responses = [
        await anonymous.get('/login'),
        await anonymous.get('/healthz'),
        await anonymous.get('/readyz'),
        await anonymous.get('/assets/app.css'),
        await anonymous.get('/dashboard'),
        await anonymous.get('/nowhere'),
        await anonymous.post(
          '/login',
          { email: 'x@example.com', password: 'x' },
          { omitCsrf: true },
        ),
        await browser.get(`/a/${owner.accountId}`),
        await browser.request('POST', '/profile', 'x'.repeat(70 * 1024)),
      ]
      const ids = responses.map((response) => response.headers['x-request-id'])
      for (const id of ids) expect(id).toMatch(REQUEST_ID)
      expect(new Set(ids).size).toBe(ids.length)
      expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 302, 404, 403, 200, 413])
    })

    it('ignores a request id sent by the client', async () => {
      const response = await browser.request('GET', '/login', undefined, {
        'x-request-id': 'attacker-chosen-id',
      })
      expect(response.headers['x-request-id']).toMatch(REQUEST_ID)
    })
  })

  describe('caching', () => {
    it('marks signed-in pages and forms as no-store', async () => {
      for (const path of [
        '/dashboard',
        `/a/${owner.accountId}`,
        `/a/${owner.accountId}/settings`,
        '/profile',
        '/profile/sessions',
        '/login',
      ]) {
        const response = await browser.get(path)
        expect(response.status).toBeLessThan(400)
        expect(response.headers['cache-control']).toBe('no-store')
      }
    })

    it('lets the stylesheet be cached', async () => {
      const response = await browser.get('/assets/app.css')
      expect(response.status).toBe(200)
      expect(response.headers['content-type']).toBe('text/css; charset=utf-8')
      expect(response.headers['cache-control']).toBe('public, max-age=3600')
    })
  })

  describe('health', () => {
    it('answers /healthz with 200', async () => {
      const response = await browser.get('/healthz')
      expect(response.status).toBe(200)
      expect(JSON.parse(response.body)).toEqual({ status: 'ok' })
    })

    it('answers /readyz with 200 when the database is reachable and migrated', async () => {
      const response = await browser.get('/readyz')
      expect(response.status).toBe(200)
      expect(JSON.parse(response.body)).toEqual({
        status: 'ready',
        database: true,
        migrations: true,
      })
    })

    it('answers /readyz with 503 while migrations are pending', async () => {
      const other = await buildTestApp(dialect)
      try {
        const reverted = await migrateDown(other.runtime.database, 1)
        expect(reverted).toHaveLength(1)
        const down = await new TestBrowser(other.app).get('/readyz')
        expect(down.status).toBe(503)
        expect(JSON.parse(down.body)).toEqual({
          status: 'not_ready',
          database: true,
          migrations: false,
        })

        await migrateToLatest(other.runtime.database)
        expect((await new TestBrowser(other.app).get('/readyz')).status).toBe(200)
      } finally {
        await other.close()
      }
    })
  })
})
