import type { LightMyRequestResponse } from 'fastify'
import type { App } from '../../src/http/server.js'

export interface BrowserResponse {
  status: number
  headers: LightMyRequestResponse['headers']
  body: string
  location: string | undefined
}

/**
 * A cookie-keeping client over app.inject(), like a browser without JavaScript: it remembers the
 * CSRF token of the last page it loaded and sends it with the next form.
 */
export class TestBrowser {
  readonly cookies = new Map<string, string>()
  csrfToken: string | undefined

  constructor(
    private readonly app: App,
    private readonly options: { ip?: string; userAgent?: string } = {},
  ) {}

  async get(url: string): Promise<BrowserResponse> {
    return this.request('GET', url)
  }

  /** Posts a form. `_csrf` is the last token seen unless the fields set it (or set it to undefined via omitCsrf). */
  async post(
    url: string,
    fields: Record<string, string>,
    options: { omitCsrf?: boolean } = {},
  ): Promise<BrowserResponse> {
    const form = new URLSearchParams(fields)
    if (options.omitCsrf !== true && !form.has('_csrf') && this.csrfToken !== undefined)
      form.set('_csrf', this.csrfToken)
    return this.request('POST', url, form.toString())
  }

  async request(
    method: 'GET' | 'POST',
    url: string,
    payload?: string,
    headers: Record<string, string> = {},
  ): Promise<BrowserResponse> {
    const response = await this.app.inject({
      method,
      url,
      remoteAddress: this.options.ip ?? '127.0.0.1',
      headers: {
        'user-agent': this.options.userAgent ?? 'TestBrowser/1.0',
        accept: 'text/html',
        ...(payload === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }),
        ...(this.cookies.size === 0
          ? {}
          : { cookie: [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ') }),
        ...headers,
      },
      ...(payload === undefined ? {} : { payload }),
    })
    for (const cookie of response.cookies as {
      name: string
      value: string
      maxAge?: number
      expires?: Date
    }[]) {
      const expired =
        cookie.value === '' ||
        cookie.maxAge === 0 ||
        (cookie.expires !== undefined && cookie.expires.getTime() <= Date.now())
      if (expired) this.cookies.delete(cookie.name)
      else this.cookies.set(cookie.name, cookie.value)
    }
    const token = /name="_csrf" value="([^"]+)"/.exec(response.body)?.[1]
    if (token !== undefined) this.csrfToken = token
    const location = response.headers.location
    return {
      status: response.statusCode,
      headers: response.headers,
      body: response.body,
      location: typeof location === 'string' ? location : undefined,
    }
  }
}

export async function signIn(
  browser: TestBrowser,
  email: string,
  password: string,
): Promise<BrowserResponse> {
  await browser.get('/login')
  return browser.post('/login', { email, password })
}
