import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import { signIn, TestBrowser, type BrowserResponse } from '../helpers/browser.js'
import { createOwner, type CreatedOwner } from '../helpers/factories.js'
import { accountName, uniqueIp } from '../helpers/http.js'
import { testDialects } from '../helpers/test-db.js'

const SECRET = 'secret internal detail'

function expectClientError(response: BrowserResponse): void {
  expect(response.status).toBeGreaterThanOrEqual(400)
  expect(response.status).toBeLessThan(500)
}

function problemOf(response: BrowserResponse): Record<string, unknown> {
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/)
  return JSON.parse(response.body) as Record<string, unknown>
}

describe.each(testDialects)('input handling (%s)', (dialect) => {
  let t: TestApp
  let owner: CreatedOwner
  let browser: TestBrowser
  let settingsUrl: string

  beforeAll(async () => {
    t = await buildTestApp(dialect, {
      beforeReady: (app) => {
        app.get('/test/boom', () => {
          throw new Error(SECRET)
        })
        app.get('/test/boom-async', async () => {
          await Promise.resolve()
          throw Object.assign(new Error(`${SECRET} at /srv/candor/db.ts:12`), {
            statusCode: 503,
            code: 'ECONNREFUSED',
          })
        })
      },
    })
    owner = await createOwner(t, { accountName: 'Original Name' })
    browser = new TestBrowser(t.app, { ip: uniqueIp() })
    await signIn(browser, owner.email, owner.password)
    settingsUrl = `/a/${owner.accountId}/settings`
    await browser.get(settingsUrl)
  })
  afterAll(async () => {
    await t.close()
  })

  function post(payload: string, contentType: string, accept = 'text/html') {
    return browser.request('POST', settingsUrl, payload, {
      'content-type': contentType,
      accept,
    })
  }

  describe('request size', () => {
    it('refuses a body over 64 KiB with 413 and writes nothing', async () => {
      const form = new URLSearchParams({
        _csrf: browser.csrfToken!,
        name: 'Too Big Inc',
        padding: 'x'.repeat(65 * 1024),
      })
      const response = await post(form.toString(), 'application/x-www-form-urlencoded')
      expect(response.status).toBe(413)
      expect(response.body).not.toContain('Error:')
      expect(await accountName(t, owner.accountId)).toBe('Original Name')
    })

    it('accepts a form just under the limit', async () => {
      const form = new URLSearchParams({
        _csrf: browser.csrfToken!,
        name: 'Original Name',
        padding: 'x'.repeat(60 * 1024),
      })
      const response = await post(form.toString(), 'application/x-www-form-urlencoded')
      expect(response.status).toBe(303)
    })
  })

  describe('malformed bodies', () => {
    it.each([
      ['broken percent-encoding', 'application/x-www-form-urlencoded', 'name=%E0%A4%A&_csrf=%'],
      [
        'binary garbage as a form',
        'application/x-www-form-urlencoded',
        '\u0000\u00ff\u0001=\u0002',
      ],
      ['a repeated field', 'application/x-www-form-urlencoded', 'name=a&name=b'],
      ['an unknown charset', 'application/x-www-form-urlencoded; charset=utf-7', 'name=%2B'],
      ['invalid JSON', 'application/json', '{"name": '],
      ['a JSON array', 'application/json', '[1,2,3]'],
      ['JSON null', 'application/json', 'null'],
      ['a JSON string', 'application/json', '"name"'],
      ['a JSON prototype pollution attempt', 'application/json', '{"__proto__": {"x": 1}}'],
      ['an empty JSON body', 'application/json', ''],
      ['JSON without a token', 'application/json', '{"name": "Via JSON"}'],
      ['plain text', 'text/plain', 'name=Via text'],
      [
        'multipart',
        'multipart/form-data; boundary=x',
        '--x\r\nContent-Disposition: form-data; name="name"\r\n\r\nM\r\n--x--',
      ],
      ['an unknown media type', 'application/x-candor', 'name=x'],
    ])('answers %s with 4xx and writes nothing', async (_label, contentType, payload) => {
      const response = await post(payload, contentType)
      expectClientError(response)
      expect(response.body).not.toContain('stack')
      expect(await accountName(t, owner.accountId)).toBe('Original Name')
    })

    it('does not let form field names reach the object prototype', async () => {
      const token = encodeURIComponent(browser.csrfToken!)
      const response = await post(
        `__proto__[polluted]=yes&constructor[prototype][polluted]=yes&__proto__=x&_csrf=${token}&name=Original%20Name`,
        'application/x-www-form-urlencoded',
      )
      expect(response.status).toBeLessThan(500)
      expect((Object.prototype as Record<string, unknown>)['polluted']).toBeUndefined()
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined()
    })

    it('answers JSON fields of the wrong type with 400, even with a valid token', async () => {
      const response = await post(
        JSON.stringify({ _csrf: browser.csrfToken, name: { $ne: 'x' } }),
        'application/json',
      )
      expect(response.status).toBe(400)
      expect(await accountName(t, owner.accountId)).toBe('Original Name')
    })

    it('answers a repeated CSRF field with 403', async () => {
      const token = encodeURIComponent(browser.csrfToken!)
      const response = await post(
        `_csrf=${token}&_csrf=${token}&name=Twice`,
        'application/x-www-form-urlencoded',
      )
      expect(response.status).toBe(403)
      expect(await accountName(t, owner.accountId)).toBe('Original Name')
    })
  })

  describe('validation', () => {
    it('answers a field longer than the schema allows with 400', async () => {
      const anonymous = new TestBrowser(t.app, { ip: uniqueIp() })
      await anonymous.get('/login')
      const response = await anonymous.post('/login', {
        email: `${'a'.repeat(400)}@example.com`,
        password: 'whatever',
      })
      expect(response.status).toBe(400)
      expect(response.headers['content-type']).toMatch(/^text\/html/)

      const longName = await browser.post(settingsUrl, { name: 'n'.repeat(201) })
      expect(longName.status).toBe(400)
      expect(await accountName(t, owner.accountId)).toBe('Original Name')
    })

    it('answers a name over the domain maximum with 422', async () => {
      const response = await browser.post(settingsUrl, { name: 'n'.repeat(101) })
      expect(response.status).toBe(422)
      expect(response.body).toContain('Account name must be at most 100 characters.')
      expect(await accountName(t, owner.accountId)).toBe('Original Name')
    })

    it.each([
      ['a bell', 'Acme\u0007Corp'],
      ['a newline', 'Acme\nCorp'],
      ['a NUL', 'Acme\u0000Corp'],
      ['a DEL', 'Acme\u007fCorp'],
      ['a C1 control (CSI, a terminal escape)', 'Acme\u009b31mCorp'],
      ['a C1 next-line', 'Acme\u0085Corp'],
    ])('refuses an account name with %s (422, with a message)', async (_label, name) => {
      const response = await browser.post(settingsUrl, { name })
      expect(response.status).toBe(422)
      expect(response.body).toContain('Account name must not contain control characters.')
      expect(response.body).toMatch(/name="name"[^>]*aria-invalid="true"/)
      expect(await accountName(t, owner.accountId)).toBe('Original Name')
    })

    it('refuses an empty account name (422)', async () => {
      const response = await browser.post(settingsUrl, { name: '   ' })
      expect(response.status).toBe(422)
      expect(response.body).toContain('Account name is required.')
      expect(await accountName(t, owner.accountId)).toBe('Original Name')
    })
  })

  describe('problem details', () => {
    it('answers in application/problem+json when the client asks for JSON', async () => {
      const response = await browser.request('GET', '/no/such/page', undefined, {
        accept: 'application/json',
      })
      expect(response.status).toBe(404)
      const problem = problemOf(response)
      expect(problem).toEqual({
        type: 'https://candor.dev/problems/not_found',
        title: 'Not found',
        status: 404,
        detail: 'There is nothing at this address.',
        code: 'not_found',
        requestId: response.headers['x-request-id'],
      })
    })

    it('gives each kind of failure its status and code', async () => {
      const csrf = await post('name=x', 'application/x-www-form-urlencoded', 'application/json')
      expect(csrf.status).toBe(403)
      expect(problemOf(csrf)).toMatchObject({
        status: 403,
        code: 'csrf_failed',
        title: 'Forbidden',
      })

      const invalid = await post(
        JSON.stringify({ _csrf: browser.csrfToken, name: 'n'.repeat(201) }),
        'application/json',
        'application/json',
      )
      expect(invalid.status).toBe(400)
      expect(problemOf(invalid)).toMatchObject({ status: 400, code: 'invalid_request' })

      const anonymous = new TestBrowser(t.app, { ip: uniqueIp() })
      await anonymous.get('/login')
      const unauthenticated = await anonymous.request(
        'POST',
        settingsUrl,
        new URLSearchParams({ _csrf: anonymous.csrfToken!, name: 'x' }).toString(),
        { accept: 'application/json' },
      )
      expect(unauthenticated.status).toBe(401)
      const problem = problemOf(unauthenticated)
      expect(problem).toMatchObject({
        type: 'https://candor.dev/problems/unauthenticated',
        title: 'Sign-in required',
        status: 401,
        code: 'unauthenticated',
        requestId: unauthenticated.headers['x-request-id'],
      })
      expect(typeof problem['detail']).toBe('string')
    })

    it('answers an unknown route with a 404 HTML page', async () => {
      const response = await browser.get('/definitely/not/here')
      expect(response.status).toBe(404)
      expect(response.headers['content-type']).toBe('text/html; charset=utf-8')
      expect(response.body).toMatch(/^<!doctype html>/)
      expect(response.body).toContain('<title>Not found · Candor</title>')
      expect(response.body).toContain('There is nothing at this address.')
      expect(response.body).toContain(`Reference: ${String(response.headers['x-request-id'])}`)
    })

    it('answers an unknown method on a known path with the 404 page', async () => {
      const response = await browser.post('/healthz', { x: '1' })
      expect(response.status).toBe(404)
      expect(response.body).toContain('There is nothing at this address.')
    })
  })

  describe('internal errors', () => {
    it.each(['/test/boom', '/test/boom-async'])(
      'never show internals (%s) in HTML',
      async (path) => {
        const response = await browser.get(path)
        expect(response.status).toBe(500)
        expect(response.headers['content-type']).toMatch(/^text\/html/)
        expect(response.body).not.toContain('secret')
        expect(response.body).not.toContain('/srv/candor')
        expect(response.body).not.toContain('ECONNREFUSED')
        expect(response.body).not.toMatch(/at .*\.(ts|js):\d+/)
        expect(response.body).toContain('Something went wrong on our side.')
        expect(response.body).toContain(`Reference: ${String(response.headers['x-request-id'])}`)
      },
    )

    it.each(['/test/boom', '/test/boom-async'])(
      'never show internals (%s) as problem+json',
      async (path) => {
        const response = await browser.request('GET', path, undefined, {
          accept: 'application/json',
        })
        expect(response.status).toBe(500)
        expect(response.body).not.toContain('secret')
        expect(response.body).not.toContain('ECONNREFUSED')
        expect(problemOf(response)).toEqual({
          type: 'https://candor.dev/problems/internal_error',
          title: 'Internal error',
          status: 500,
          detail: 'Something went wrong on our side. It has been logged; try again in a moment.',
          code: 'internal_error',
          requestId: response.headers['x-request-id'],
        })
      },
    )
  })
})
