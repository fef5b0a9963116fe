import {
  request as httpRequest,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { brotliDecompressSync, gunzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildServer } from '../../src/http/server.js'
import { createLogger } from '../../src/logger.js'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import { createPageFixture, type PageFixture } from '../helpers/page-factories.js'
import { testDialects } from '../helpers/test-db.js'

/**
 * The raw fast path (src/http/public/fast-path.ts) answers cached public pages before Fastify
 * sees the request; app.inject() never goes through it, so these tests listen on a real port and
 * hold every answer of the fast path against the Fastify route's answer to the same request.
 */

const RESOURCES = [
  '/api/v2/summary.json',
  '/api/v2/status.json',
  '/api/v2/components.json',
  '/api/v2/incidents.json',
  '/api/v2/incidents/unresolved.json',
  '/api/v2/scheduled-maintenances.json',
  '/api/v2/scheduled-maintenances/upcoming.json',
  '/api/v2/scheduled-maintenances/active.json',
  '/history.atom',
  '/history.rss',
  '/maintenance.ics',
  '/badge.svg',
  '/theme.css',
]

const ENCODINGS = [undefined, 'gzip', 'br, gzip', 'gzip, deflate, br', 'identity']

interface Answer {
  status: number
  headers: IncomingHttpHeaders | OutgoingHttpHeaders
  body: Buffer
}

/** Headers that differ between any two answers (the clock, the request id). */
const PER_ANSWER = new Set(['date', 'x-request-id'])
/** Headers only a real connection has, that inject() does not simulate. */
const CONNECTION = new Set(['connection', 'keep-alive', 'transfer-encoding'])

function comparable(headers: Answer['headers'], skip: ReadonlySet<string>) {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !skip.has(name)))
}

describe.each(testDialects)('public pages answered from memory on a real port (%s)', (dialect) => {
  let t: TestApp
  let f: PageFixture
  let port: number
  let incidentId: string
  /** The raw URL of every request that reached Fastify's hooks (the fast path's never do). */
  const reachedFastify: string[] = []

  beforeAll(async () => {
    t = await buildTestApp(dialect, {
      beforeReady: (app) => {
        app.addHook('onRequest', (request, _reply, done) => {
          reachedFastify.push(request.originalUrl)
          done()
        })
      },
    })
    f = await createPageFixture(t)
    const incident = await t.runtime.services.incidents.create(f.actor, f.page.id, {
      name: 'Checkout is slow',
      status: 'investigating',
      impact: 'minor',
      body: 'Payments take **seconds**.',
      components: { [f.components.web.id]: 'degraded_performance' },
    })
    incidentId = incident.id
    await t.app.listen({ port: 0, host: '127.0.0.1' })
    port = (t.app.server.address() as AddressInfo).port
  })
  afterAll(async () => {
    await t.close()
  })

  function call(
    path: string,
    headers: Record<string, string> = {},
    method: 'GET' | 'HEAD' = 'GET',
    onPort = port,
  ): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port: onPort, path, method, headers, agent: false },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (chunk: Buffer) => chunks.push(chunk))
          res.on('end', () => {
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks),
            })
          })
          res.on('error', reject)
        },
      )
      req.on('error', reject)
      req.end()
    })
  }

  async function inject(
    path: string,
    headers: Record<string, string> = {},
    method: 'GET' | 'HEAD' = 'GET',
  ): Promise<Answer> {
    const response = await t.app.inject({ method, url: path, headers })
    return { status: response.statusCode, headers: response.headers, body: response.rawPayload }
  }

  /** Calls the real port; says whether Fastify saw the request. */
  async function callCounted(
    path: string,
    headers: Record<string, string> = {},
    method: 'GET' | 'HEAD' = 'GET',
  ): Promise<Answer & { viaFastify: boolean }> {
    const before = reachedFastify.length
    const answer = await call(path, headers, method)
    return { ...answer, viaFastify: reachedFastify.length > before }
  }

  /**
   * The same request through Fastify on the same port: an escaped query parameter is something the
   * fast path leaves to Fastify, and these routes ignore it.
   */
  function throughFastify(
    path: string,
    headers: Record<string, string> = {},
    method: 'GET' | 'HEAD' = 'GET',
  ) {
    return callCounted(`${path}${path.includes('?') ? '&' : '?'}via=fastify%21`, headers, method)
  }

  async function expectSameAnswer(
    path: string,
    headers: Record<string, string> = {},
    method: 'GET' | 'HEAD' = 'GET',
  ) {
    const label = `${method} ${path} ${JSON.stringify(headers)}`
    // Twice through Fastify first: the first request renders and caches the page.
    await inject(path, headers, method)
    const expected = await inject(path, headers, method)
    const fast = await callCounted(path, headers, method)
    expect(fast.viaFastify, `${label} was answered by Fastify`).toBe(false)
    expect(fast.status, label).toBe(expected.status)
    expect(comparable(fast.headers, new Set([...PER_ANSWER, ...CONNECTION])), label).toEqual(
      comparable(expected.headers, new Set([...PER_ANSWER, ...CONNECTION])),
    )
    expect(fast.body.equals(expected.body), `${label} body`).toBe(true)
    const slow = await throughFastify(path, headers, method)
    expect(slow.viaFastify, label).toBe(true)
    expect(fast.status, label).toBe(slow.status)
    expect(comparable(fast.headers, PER_ANSWER), label).toEqual(
      comparable(slow.headers, PER_ANSWER),
    )
    expect(fast.body.equals(slow.body), `${label} body`).toBe(true)
    return fast
  }

  function surfacesOf(slug: string): string[] {
    return [
      `/p/${slug}`,
      `/p/${slug}/`,
      `/p/${slug}?lang=fr`,
      `/p/${slug}?lang=en`,
      `/p/${slug}?lang=xx&utm_source=mail`,
      `/p/${slug}/history`,
      `/p/${slug}/history?lang=fr`,
      `/p/${slug}/incidents/${incidentId}`,
      `/p/${slug}/components/${f.components.api.id}/badge.svg`,
      ...RESOURCES.map((path) => `/p/${slug}${path}`),
      `/p/${slug.toUpperCase()}`,
      `/p/${slug.toUpperCase()}/api/v2/summary.json`,
      `/p/${slug}/api/v2/summary.json/`,
      `/p/${slug}/api/v2/summary.json?_=1732500000`,
    ]
  }

  it('answers every surface of a public page exactly as the Fastify route does', async () => {
    for (const path of surfacesOf(f.page.slug)) {
      for (const encoding of ENCODINGS) {
        const headers = encoding === undefined ? {} : { 'accept-encoding': encoding }
        const fast = await expectSameAnswer(path, headers)
        expect(fast.status, path).toBe(200)
        expect(fast.headers.etag, path).toMatch(/^"\d+-[\w-]+"$/)
        expect(fast.headers['cache-control'], path).toBe('public, no-cache')
        expect(fast.headers['content-security-policy'], path).toContain("default-src 'self'")
        expect(fast.headers['x-content-type-options'], path).toBe('nosniff')
        expect(Number(fast.headers['content-length']), path).toBe(fast.body.length)
      }
    }
  })

  it('negotiates the encoding, answers 304 and HEAD like the route', async () => {
    const path = `/p/${f.page.slug}/api/v2/summary.json`
    const plain = await expectSameAnswer(path)
    expect(plain.headers['content-encoding']).toBeUndefined()
    expect(plain.headers['access-control-allow-origin']).toBe('*')
    expect(plain.headers['cross-origin-resource-policy']).toBe('cross-origin')
    const gzip = await expectSameAnswer(path, { 'accept-encoding': 'gzip' })
    expect(gzip.headers['content-encoding']).toBe('gzip')
    expect(gunzipSync(gzip.body).equals(plain.body)).toBe(true)
    const br = await expectSameAnswer(path, { 'accept-encoding': 'gzip, br' })
    expect(br.headers['content-encoding']).toBe('br')
    expect(brotliDecompressSync(br.body).equals(plain.body)).toBe(true)
    expect(br.headers.vary).toBe('Accept-Encoding')

    const etag = String(plain.headers.etag)
    for (const ifNoneMatch of [etag, `"other", ${etag}`, `W/"x",${etag} `]) {
      const notModified = await expectSameAnswer(path, {
        'if-none-match': ifNoneMatch,
        'accept-encoding': 'br',
      })
      expect(notModified.status).toBe(304)
      expect(notModified.body.length).toBe(0)
      expect(notModified.headers.etag).toBe(etag)
      expect(notModified.headers['content-type']).toBeUndefined()
      expect(notModified.headers['content-length']).toBeUndefined()
    }
    expect((await expectSameAnswer(path, { 'if-none-match': '"stale"' })).status).toBe(200)

    for (const encoding of ENCODINGS) {
      const headers = encoding === undefined ? {} : { 'accept-encoding': encoding }
      const head = await expectSameAnswer(path, headers, 'HEAD')
      expect(head.status).toBe(200)
      expect(head.body.length).toBe(0)
      const get = await call(path, headers)
      expect(head.headers['content-length']).toBe(String(get.body.length))
    }
    const headPage = await expectSameAnswer(
      `/p/${f.page.slug}`,
      { 'if-none-match': String((await call(`/p/${f.page.slug}`)).headers.etag) },
      'HEAD',
    )
    expect(headPage.status).toBe(304)
  })

  it('takes request ids from the same sequence as Fastify', async () => {
    const path = `/p/${f.page.slug}/api/v2/status.json`
    await expectSameAnswer(path)
    const fast = await callCounted(path)
    const slow = await throughFastify(path)
    const again = await callCounted(path)
    expect([fast.viaFastify, slow.viaFastify, again.viaFastify]).toEqual([false, true, false])
    const ids = [fast, slow, again].map((answer) => String(answer.headers['x-request-id']))
    const [prefix] = ids[0]?.split('-') ?? []
    expect(ids.map((id) => id.split('-')[0])).toEqual([prefix, prefix, prefix])
    const counters = ids.map((id) => Number.parseInt(id.split('-')[1] ?? '', 36))
    expect(counters[1]).toBe((counters[0] ?? 0) + 1)
    expect(counters[2]).toBe((counters[1] ?? 0) + 1)
  })

  it("answers on the page's own host and custom domain as the route does", async () => {
    const g = await createPageFixture(t)
    await t.runtime.services.pages.update(g.actor, g.page.id, {
      customDomain: 'status.fast-path.example',
    })
    for (const host of [
      `${g.page.slug}.candor.test`,
      'status.fast-path.example',
      'STATUS.fast-path.example:8080',
    ]) {
      for (const path of [
        '/',
        '/?lang=fr',
        '/api/v2/summary.json',
        '/api/v2/components.json/',
        '/history.rss',
        '/badge.svg',
      ]) {
        for (const encoding of ['gzip', undefined]) {
          const headers = {
            host,
            ...(encoding === undefined ? {} : { 'accept-encoding': encoding }),
          }
          const fast = await expectSameAnswer(path, headers)
          expect(fast.status, `${host}${path}`).toBe(200)
        }
      }
    }
    // Other hosts and paths on a page's host are still Fastify's.
    const dashboard = await callCounted('/login', { host: 'status.fast-path.example' })
    expect(dashboard.viaFastify).toBe(true)
    expect(dashboard.status).toBe(404)
    const unknown = await callCounted('/', { host: 'nobody.example.net' })
    expect(unknown.viaFastify).toBe(true)
    expect(unknown.status).toBe(404)
  })

  it('leaves everything it does not answer exactly to Fastify', async () => {
    const slug = f.page.slug
    await expectSameAnswer(`/p/${slug}`)
    const cases: [path: string, status: number][] = [
      [`/p/${slug}//`, 404],
      [`/p/${slug}/api/v2/nothing.json`, 404],
      [`/p/${slug}/incidents/zzzzzzzzzzzz`, 404],
      [`/p/${slug}/incidents/short`, 404],
      [`/p/${slug}/components/zzzzzzzzzzzz/badge.svg`, 404],
      [`/p/${slug}?lang=fr&lang=en`, 200],
      [`/p/${slug}?lang=%66r`, 200],
      [`/p/no-such-page-anywhere`, 404],
      [`/p/${slug}/logo`, 404],
      [`/_host/${slug}.candor.test/`, 404],
    ]
    for (const [path, status] of cases) {
      const answer = await callCounted(path)
      expect(answer.viaFastify, path).toBe(true)
      expect(answer.status, path).toBe(status)
    }
    const escaped = await callCounted(`/p/${slug}?lang=%66r`)
    expect(escaped.body.toString('utf8')).toContain('<html lang="fr">')
  })

  it('leaves a request with a session cookie to Fastify, which clears a stale session', async () => {
    const path = `/p/${f.page.slug}/api/v2/summary.json`
    await expectSameAnswer(path)
    const answer = await callCounted(path, { cookie: 'candor_session=not-a-session' })
    expect(answer.viaFastify).toBe(true)
    expect(answer.status).toBe(200)
    expect(String(answer.headers['set-cookie'])).toContain('candor_session=;')
    const other = await callCounted(path, { cookie: 'theme=dark; _ga=GA1.2.3' })
    expect(other.viaFastify).toBe(false)
    expect(other.headers['set-cookie']).toBeUndefined()
  })

  it('never answers a private page, even after it was public and cached', async () => {
    const g = await createPageFixture(t)
    const path = `/p/${g.page.slug}`
    await expectSameAnswer(path)
    await expectSameAnswer(`${path}/api/v2/summary.json`)
    await t.runtime.services.pages.updateAccess(g.actor, g.page.id, {
      visibility: 'password',
      password: 'open sesame please',
    })
    for (let i = 0; i < 2; i++) {
      const page = await callCounted(path)
      expect(page.viaFastify).toBe(true)
      expect(page.status).toBe(401)
      expect(page.body.toString('utf8')).toContain('name="password"')
      expect(page.body.toString('utf8')).not.toContain(g.components.api.name)
      const json = await callCounted(`${path}/api/v2/summary.json`)
      expect(json.viaFastify).toBe(true)
      expect(json.status).toBe(404)
    }
    await t.runtime.services.pages.updateAccess(g.actor, g.page.id, {
      visibility: 'ip',
      ipAllowlist: '127.0.0.0/8',
    })
    for (let i = 0; i < 2; i++) {
      const allowed = await callCounted(`${path}/api/v2/summary.json`)
      expect(allowed.viaFastify).toBe(true)
      expect(allowed.status).toBe(200)
      expect(allowed.headers['cache-control']).toBe('private, no-cache')
      expect(allowed.headers['access-control-allow-origin']).toBeUndefined()
    }
  })

  it('shows a change at once, then answers from memory again', async () => {
    const g = await createPageFixture(t)
    const path = `/p/${g.page.slug}/api/v2/status.json`
    const before = await expectSameAnswer(path)
    const page = await expectSameAnswer(`/p/${g.page.slug}`)
    expect(before.body.toString('utf8')).toContain('"indicator":"none"')
    await t.runtime.services.incidents.create(g.actor, g.page.id, {
      name: 'Everything is down',
      status: 'investigating',
      impact: 'critical',
      body: 'All of it.',
      components: { [g.components.api.id]: 'major_outage' },
    })
    const after = await callCounted(path)
    expect(after.body.toString('utf8')).toContain('"indicator":"critical"')
    expect(after.headers.etag).not.toBe(before.headers.etag)
    const fresh = await callCounted(`/p/${g.page.slug}`, {
      'if-none-match': String(page.headers.etag),
    })
    expect(fresh.status).toBe(200)
    expect(fresh.body.toString('utf8')).toContain('Everything is down')
    const cached = await expectSameAnswer(path)
    expect(cached.headers.etag).toBe(after.headers.etag)
  })

  it('follows a renamed slug at once: the old address is gone, the new one is served', async () => {
    const g = await createPageFixture(t)
    const old = `/p/${g.page.slug}`
    await expectSameAnswer(old)
    await expectSameAnswer(`${old}/api/v2/summary.json`)
    const renamed = `${g.page.slug}-renamed`
    await t.runtime.services.pages.update(g.actor, g.page.id, { slug: renamed })
    for (const path of [old, `${old}/api/v2/summary.json`]) {
      const gone = await callCounted(path)
      expect(gone.viaFastify, path).toBe(true)
      expect(gone.status, path).toBe(404)
    }
    const page = await expectSameAnswer(`/p/${renamed}`)
    expect(page.body.toString('utf8')).toContain(`href="/p/${renamed}/history"`)
    await expectSameAnswer(`/p/${renamed}/api/v2/summary.json`)
  })

  it('renders a page asked for without ?lang= in its own language, and ?lang=en in English', async () => {
    const g = await createPageFixture(t, { locale: 'fr' })
    for (let i = 0; i < 2; i++) {
      const own = await call(`/p/${g.page.slug}`)
      expect(own.body.toString('utf8')).toContain('<html lang="fr">')
      const english = await call(`/p/${g.page.slug}?lang=en`)
      expect(english.body.toString('utf8')).toContain('<html lang="en">')
    }
  })

  /** A second server on the same installation, logging at `info` into a list. */
  async function loggingServer(trustProxy: boolean) {
    const lines: Record<string, unknown>[] = []
    const logger = createLogger('info', {
      write: (line: string) => {
        lines.push(JSON.parse(line) as Record<string, unknown>)
      },
    })
    const app = await buildServer({
      config: { ...t.config, trustProxy },
      services: t.runtime.services,
      logger,
      cookieSecret: t.runtime.keyRing.cookieSecret,
      pageEvents: t.runtime.pageFeed,
    })
    const reached: string[] = []
    app.addHook('onRequest', (request, _reply, done) => {
      reached.push(request.url)
      done()
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    /** The per-request lines, without what differs between any two (time, duration). */
    const requests = () =>
      lines
        .filter((line) => line.msg === 'incoming request' || line.msg === 'request completed')
        .map((line) => {
          const { time, responseTime, ...rest } = line
          expect(typeof time).toBe('string')
          expect(rest.msg === 'incoming request' || typeof responseTime === 'number').toBe(true)
          return rest
        })
    return { app, port: (app.server.address() as AddressInfo).port, reached, requests }
  }

  it('logs the same two lines per request as Fastify when LOG_LEVEL is info', async () => {
    const server = await loggingServer(false)
    try {
      const path = `/p/${f.page.slug}/api/v2/summary.json?lang=fr`
      // The first renders through Fastify, the second comes from memory.
      await call(path, {}, 'GET', server.port)
      await call(path, {}, 'GET', server.port)
      expect(server.reached).toEqual([path])
      const [slowIn, slowDone, fastIn, fastDone] = server.requests()
      const id = (line: unknown) => (line as { reqId: string }).reqId
      expect(fastIn).toEqual({
        ...slowIn,
        reqId: id(fastIn),
        req: { ...(slowIn?.req as object), id: id(fastIn) },
      })
      expect(fastIn?.req).toEqual({ id: id(fastIn), method: 'GET', url: path, ip: '127.0.0.1' })
      expect(fastDone).toEqual({ ...slowDone, reqId: id(fastIn) })
      expect(fastDone?.res).toEqual({ statusCode: 200 })
    } finally {
      await server.app.close()
    }
  })

  it('leaves logged requests to Fastify behind a trusted proxy, which reads X-Forwarded-For', async () => {
    const server = await loggingServer(true)
    try {
      const path = `/p/${f.page.slug}/api/v2/summary.json`
      for (let i = 0; i < 2; i++)
        await call(path, { 'x-forwarded-for': '198.51.100.7' }, 'GET', server.port)
      expect(server.reached).toEqual([path, path])
      const incoming = server.requests().filter((line) => line.msg === 'incoming request')
      expect(incoming.map((line) => (line.req as { ip: string }).ip)).toEqual([
        '198.51.100.7',
        '198.51.100.7',
      ])
    } finally {
      await server.app.close()
    }
  })

  /** One raw HTTP/1.1 exchange on a fresh connection: the status line, or a timeout. */
  function rawExchange(head: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.write(head))
      let received = ''
      const timer = setTimeout(() => {
        socket.destroy()
        reject(new Error(`no answer to ${head.split('\r\n')[0] ?? ''}`))
      }, 5000)
      socket.setEncoding('latin1')
      socket.on('data', (chunk: string) => {
        received += chunk
      })
      socket.on('end', () => {
        clearTimeout(timer)
        resolve(received.split('\r\n')[0] ?? '')
      })
      socket.on('error', reject)
    })
  }

  it('gives body parsers the empty body of a request that has no Content-Length', async () => {
    const form = (method: string) =>
      `${method} /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nConnection: close\r\n\r\n`
    // No CSRF cookie or token: refused, after the (empty) body was read.
    expect(await rawExchange(form('POST'))).toBe('HTTP/1.1 403 Forbidden')
    const withLength = form('POST').replace('\r\n\r\n', '\r\nContent-Length: 0\r\n\r\n')
    expect(await rawExchange(withLength)).toBe('HTTP/1.1 403 Forbidden')
    const json = `POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n`
    expect(await rawExchange(json)).toMatch(/^HTTP\/1\.1 4\d\d /)
    const page = `GET /p/${f.page.slug} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n`
    expect(await rawExchange(page)).toBe('HTTP/1.1 200 OK')
  })
})
