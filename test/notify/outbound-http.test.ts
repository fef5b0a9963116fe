import type { ServerResponse } from 'node:http'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  checkWebhookUrl,
  createOutboundHttp,
  isAddressAllowed,
  OutboundRequestError,
  parseAllowedRanges,
  type OutboundErrorCode,
  type OutboundHttp,
} from '../../src/notify/outbound-http.js'
import { closedPort, startReceiver, type Receiver } from './receiver.js'

const LOOPBACK_ONLY = ['127.0.0.1/32']

async function rejection(promise: Promise<unknown>): Promise<OutboundRequestError> {
  try {
    await promise
  } catch (error) {
    expect(error).toBeInstanceOf(OutboundRequestError)
    return error as OutboundRequestError
  }
  throw new Error('expected the request to be refused')
}

async function expectRefused(
  promise: Promise<unknown>,
  code: OutboundErrorCode,
): Promise<OutboundRequestError> {
  const error = await rejection(promise)
  expect(error.code, error.message).toBe(code)
  return error
}

const receivers: Receiver[] = []
const clients: OutboundHttp[] = []

async function receiver(...args: Parameters<typeof startReceiver>): Promise<Receiver> {
  const started = await startReceiver(...args)
  receivers.push(started)
  return started
}

function client(options: Parameters<typeof createOutboundHttp>[0] = {}): OutboundHttp {
  const created = createOutboundHttp(options)
  clients.push(created)
  return created
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()))
  await Promise.all(receivers.splice(0).map((r) => r.close()))
})

describe('outbound http: delivery', () => {
  it('posts the body and headers and returns the status and a snippet of the answer', async () => {
    const target = await receiver((_request, response) => {
      response.writeHead(202, { 'content-type': 'text/plain' })
      response.end('accepted')
    })
    const http = client({ allowedRanges: LOOPBACK_ONLY, userAgent: 'Candor-Test/1' })
    const body = JSON.stringify({ hello: 'world' })
    const result = await http.post(`${target.origin}/hooks/1?x=y`, {
      headers: { 'Content-Type': 'application/json', 'webhook-id': 'msg_1', Host: 'evil.test' },
      body,
    })
    expect(result).toEqual({ status: 202, bodySnippet: 'accepted' })
    const [request] = target.requests
    expect(request?.method).toBe('POST')
    expect(request?.path).toBe('/hooks/1?x=y')
    expect(request?.body).toBe(body)
    expect(request?.headers['content-type']).toBe('application/json')
    expect(request?.headers['webhook-id']).toBe('msg_1')
    expect(request?.headers['user-agent']).toBe('Candor-Test/1')
    expect(request?.headers['content-length']).toBe(String(Buffer.byteLength(body)))
    // A Host header from the caller is not forwarded: the URL decides.
    expect(request?.headers.host).toBe(`127.0.0.1:${String(target.port)}`)
  })

  it('keeps the connection alive between deliveries to the same receiver', async () => {
    const target = await receiver()
    const http = client({ allowedRanges: LOOPBACK_ONLY })
    await http.post(target.origin, { body: 'one' })
    await http.post(target.origin, { body: 'two' })
    expect(target.requests.map((r) => r.body)).toEqual(['one', 'two'])
    expect(target.requests[0]?.remotePort).toBe(target.requests[1]?.remotePort)
  })

  it('returns error statuses as results, for the caller to decide on retries', async () => {
    const target = await receiver((_request, response) => {
      response.writeHead(503)
      response.end('busy')
    })
    const http = client({ allowedRanges: LOOPBACK_ONLY })
    expect(await http.post(target.origin, { body: 'x' })).toEqual({
      status: 503,
      bodySnippet: 'busy',
    })
  })
})

describe('outbound http: refused addresses', () => {
  let target: Receiver
  let http: OutboundHttp

  beforeAll(async () => {
    target = await startReceiver()
    http = createOutboundHttp()
  })

  afterAll(async () => {
    await http.close()
    await target.close()
  })

  it.each([
    ['loopback', 'http://127.0.0.1:{port}/'],
    ['loopback, decimal form', 'http://2130706433:{port}/'],
    ['loopback, short form', 'http://127.1:{port}/'],
    ['RFC 1918', 'http://10.0.0.1/'],
    ['RFC 1918 172.16/12', 'http://172.16.5.4/'],
    ['RFC 1918 192.168/16', 'http://192.168.1.1/'],
    ['CGNAT', 'http://100.64.0.1/'],
    ['cloud metadata', 'http://169.254.169.254/latest/meta-data/'],
    ['unspecified', 'http://0.0.0.0:{port}/'],
    ['broadcast', 'http://255.255.255.255/'],
    ['multicast', 'http://224.0.0.1/'],
    ['reserved', 'http://240.0.0.1/'],
    ['documentation range', 'https://192.0.2.10/'],
    ['IPv6 loopback', 'http://[::1]:{port}/'],
    ['IPv4-mapped loopback', 'http://[::ffff:127.0.0.1]:{port}/'],
    ['IPv4-mapped metadata', 'http://[::ffff:169.254.169.254]/'],
    ['IPv6 link-local', 'http://[fe80::1]/'],
    ['IPv6 unique-local', 'http://[fd12:3456::1]/'],
    ['IPv6 unspecified', 'http://[::]/'],
    ['NAT64 of loopback', 'http://[64:ff9b::7f00:1]/'],
  ])('refuses %s (%s) before connecting', async (_name, template) => {
    const url = template.replace('{port}', String(target.port))
    const error = await expectRefused(http.post(url, { body: 'x' }), 'blocked_address')
    expect(error.retryable).toBe(false)
    expect(target.requests).toHaveLength(0)
  })

  it('refuses a DNS name that resolves to loopback (localhost), through the lookup', async () => {
    await expectRefused(
      http.post(`http://localhost:${String(target.port)}/`, { body: 'x' }),
      'blocked_address',
    )
    expect(target.requests).toHaveLength(0)
  })

  it.each([
    ['credentials', 'http://user:secret@example.com/'],
    ['a user name only', 'https://user@example.com/'],
    ['ftp', 'ftp://example.com/file'],
    ['file', 'file:///etc/passwd'],
    ['javascript', 'javascript:alert(1)'],
    ['data', 'data:text/plain,hello'],
    ['websocket', 'ws://example.com/'],
    ['not a URL', 'not a url'],
  ])('refuses a URL with %s as bad_url', async (_name, url) => {
    const error = await expectRefused(http.post(url, { body: 'x' }), 'bad_url')
    expect(error.retryable).toBe(false)
  })
})

describe('outbound http: redirects', () => {
  function redirectTo(location: (port: number) => string, status = 307) {
    return (_request: unknown, response: ServerResponse) => {
      const port = response.socket?.localPort ?? 0
      response.writeHead(status, { location: location(port) })
      response.end('moved')
    }
  }

  it('follows a 307 with the same method, body and headers', async () => {
    const final = await receiver()
    const first = await receiver(redirectTo(() => `${final.origin}/final`))
    const http = client({ allowedRanges: LOOPBACK_ONLY })
    const result = await http.post(`${first.origin}/start`, {
      headers: { 'content-type': 'application/json', 'webhook-id': 'msg_2' },
      body: '{"a":1}',
    })
    expect(result).toEqual({ status: 200, bodySnippet: 'ok' })
    expect(final.requests).toHaveLength(1)
    expect(final.requests[0]).toMatchObject({ method: 'POST', path: '/final', body: '{"a":1}' })
    expect(final.requests[0]?.headers['webhook-id']).toBe('msg_2')
  })

  it('does not carry credentials to another origin', async () => {
    const final = await receiver()
    const first = await receiver(redirectTo(() => `${final.origin}/`, 308))
    const http = client({ allowedRanges: LOOPBACK_ONLY })
    await http.post(first.origin, {
      headers: { authorization: 'Bearer secret', 'x-kept': 'yes' },
      body: 'x',
    })
    expect(first.requests[0]?.headers.authorization).toBe('Bearer secret')
    expect(final.requests[0]?.headers.authorization).toBeUndefined()
    expect(final.requests[0]?.headers['x-kept']).toBe('yes')
  })

  it('fetches the result of a 303 with GET and no body', async () => {
    const final = await receiver()
    const first = await receiver(redirectTo(() => `${final.origin}/result`, 303))
    const http = client({ allowedRanges: LOOPBACK_ONLY })
    await http.post(first.origin, { headers: { 'content-type': 'text/plain' }, body: 'x' })
    expect(final.requests[0]).toMatchObject({ method: 'GET', path: '/result', body: '' })
    expect(final.requests[0]?.headers['content-type']).toBeUndefined()
  })

  it('follows a relative Location', async () => {
    const target = await receiver((request, response) => {
      if (request.url === '/old') {
        response.writeHead(301, { location: '/new' })
        response.end()
      } else {
        response.end('new')
      }
    })
    const http = client({ allowedRanges: LOOPBACK_ONLY })
    expect(await http.post(`${target.origin}/old`, { body: 'x' })).toEqual({
      status: 200,
      bodySnippet: 'new',
    })
    expect(target.requests.map((r) => [r.method, r.path])).toEqual([
      ['POST', '/old'],
      ['POST', '/new'],
    ])
  })

  it('refuses a redirect from an allowed receiver to another loopback address', async () => {
    const hidden = await receiver(undefined, '127.0.0.2')
    const first = await receiver(redirectTo(() => `${hidden.origin}/admin`))
    const http = client({ allowedRanges: LOOPBACK_ONLY })
    await expectRefused(http.post(first.origin, { body: 'x' }), 'blocked_address')
    expect(first.requests).toHaveLength(1)
    expect(hidden.requests).toHaveLength(0)
  })

  it('refuses a redirect to IPv6 loopback', async () => {
    const hidden = await receiver(undefined, '::1')
    const first = await receiver(redirectTo(() => `${hidden.origin}/`))
    const http = client({ allowedRanges: LOOPBACK_ONLY })
    await expectRefused(http.post(first.origin, { body: 'x' }), 'blocked_address')
    expect(hidden.requests).toHaveLength(0)
  })

  it('refuses a redirect to a name that resolves to a refused address', async () => {
    const hidden = await receiver()
    const first = await receiver(
      redirectTo(() => `http://localhost:${String(hidden.port)}/`),
      '127.0.0.2',
    )
    const http = client({ allowedRanges: ['127.0.0.2/32'] })
    await expectRefused(http.post(first.origin, { body: 'x' }), 'blocked_address')
    expect(first.requests).toHaveLength(1)
    expect(hidden.requests).toHaveLength(0)
  })

  it('refuses a redirect to the metadata address and to another scheme', async () => {
    const toMetadata = await receiver(redirectTo(() => 'http://169.254.169.254/latest/'))
    const toFile = await receiver(redirectTo(() => 'file:///etc/passwd', 302))
    const http = client({ allowedRanges: LOOPBACK_ONLY })
    await expectRefused(http.post(toMetadata.origin, { body: 'x' }), 'blocked_address')
    await expectRefused(http.post(toFile.origin, { body: 'x' }), 'bad_url')
  })

  it('stops after three redirects', async () => {
    const loop = await receiver(redirectTo((port) => `http://127.0.0.1:${String(port)}/again`))
    const http = client({ allowedRanges: LOOPBACK_ONLY })
    const error = await expectRefused(http.post(loop.origin, { body: 'x' }), 'too_many_redirects')
    expect(error.retryable).toBe(false)
    expect(loop.requests).toHaveLength(4)
  })

  it('returns a 3xx that is not a redirect, or has no Location, as is', async () => {
    const notModified = await receiver((_request, response) => {
      response.writeHead(302)
      response.end('nowhere')
    })
    const http = client({ allowedRanges: LOOPBACK_ONLY })
    expect(await http.post(notModified.origin, { body: 'x' })).toEqual({
      status: 302,
      bodySnippet: 'nowhere',
    })
  })
})

describe('outbound http: slow, large and broken answers', () => {
  it('times out when the receiver never answers', async () => {
    const silent = await receiver(() => undefined)
    const http = client({ allowedRanges: LOOPBACK_ONLY, timeoutMs: 200 })
    const error = await expectRefused(http.post(silent.origin, { body: 'x' }), 'timeout')
    expect(error.retryable).toBe(true)
    expect(silent.requests).toHaveLength(1)
  })

  it('times out when the body stops half-way', async () => {
    const stalled = await receiver((_request, response) => {
      response.writeHead(200, { 'content-length': '100' })
      response.write('partial')
    })
    const http = client({ allowedRanges: LOOPBACK_ONLY, timeoutMs: 200 })
    await expectRefused(http.post(stalled.origin, { body: 'x' }), 'timeout')
  })

  it('stops reading a response beyond the size cap', async () => {
    const total = 16 * 1024 * 1024
    let written = 0
    let finished = false
    let closed: () => void = () => undefined
    const hasClosed = new Promise<void>((resolve) => (closed = resolve))
    const flood = await receiver((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' })
      const chunk = Buffer.alloc(64 * 1024, 'a')
      const pump = (): void => {
        while (written < total) {
          written += chunk.length
          if (!response.write(chunk)) {
            response.once('drain', pump)
            return
          }
        }
        response.end(() => (finished = true))
      }
      response.on('close', closed)
      pump()
    })
    const http = client({ allowedRanges: LOOPBACK_ONLY, maxResponseBytes: 4096 })
    const result = await http.post(flood.origin, { body: 'x' })
    expect(result.status).toBe(200)
    expect(result.bodySnippet).toBe(`${'a'.repeat(1024)}…`)
    await hasClosed
    expect(finished).toBe(false)
    expect(written).toBeLessThan(total)
  })

  it('reports a refused connection as a retryable network error', async () => {
    const port = await closedPort()
    const http = client({ allowedRanges: LOOPBACK_ONLY })
    const error = await expectRefused(
      http.post(`http://127.0.0.1:${String(port)}/`, { body: 'x' }),
      'network',
    )
    expect(error.retryable).toBe(true)
  })
})

describe('address policy', () => {
  it.each([
    ['8.8.8.8', true],
    ['1.1.1.1', true],
    ['2606:4700:4700::1111', true],
    ['::ffff:8.8.8.8', true],
    ['127.0.0.1', false],
    ['127.255.0.9', false],
    ['10.1.2.3', false],
    ['172.31.255.255', false],
    ['192.168.0.1', false],
    ['100.127.0.1', false],
    ['169.254.169.254', false],
    ['0.0.0.0', false],
    ['192.0.0.8', false],
    ['198.18.0.1', false],
    ['203.0.113.5', false],
    ['::', false],
    ['::1', false],
    ['::ffff:10.0.0.1', false],
    ['::7f00:1', false],
    ['64:ff9b::a00:1', false],
    ['2002:7f00:1::1', false],
    ['2001:db8::1', false],
    ['fe80::1', false],
    ['fc00::1', false],
    ['ff02::1', false],
    ['not-an-address', false],
  ])('%s allowed: %s', (address, allowed) => {
    expect(isAddressAllowed(address, [])).toBe(allowed)
  })

  it('lets the operator allow ranges, IPv4-mapped forms included', () => {
    const ranges = parseAllowedRanges(['10.0.0.0/8', 'fd00::/8', '192.168.1.5'])
    expect(isAddressAllowed('10.20.30.40', ranges)).toBe(true)
    expect(isAddressAllowed('::ffff:10.20.30.40', ranges)).toBe(true)
    expect(isAddressAllowed('fd12::1', ranges)).toBe(true)
    expect(isAddressAllowed('192.168.1.5', ranges)).toBe(true)
    expect(isAddressAllowed('192.168.1.6', ranges)).toBe(false)
    expect(isAddressAllowed('127.0.0.1', ranges)).toBe(false)
  })

  it('rejects a malformed allow-list at once', () => {
    expect(() => parseAllowedRanges(['10.0.0.0/33'])).toThrow(/Invalid allowed address range/)
    expect(() => createOutboundHttp({ allowedRanges: ['nonsense'] })).toThrow(TypeError)
  })
})

describe('checkWebhookUrl', () => {
  it('accepts public http and https URLs', () => {
    expect(checkWebhookUrl('https://example.com/hooks/candor')).toBeUndefined()
    expect(checkWebhookUrl('http://93.184.215.14:8080/x')).toBeUndefined()
  })

  it.each([
    ['ftp://example.com/', /http and https/],
    ['https://user:pw@example.com/', /user name or password/],
    ['http://127.0.0.1/', /private or reserved/],
    ['http://[::1]/', /private or reserved/],
    ['http://169.254.169.254/', /private or reserved/],
    ['http://localhost:3000/', /private or reserved/],
    ['http://api.localhost/', /private or reserved/],
    ['nonsense', /not valid/],
  ])('refuses %s', (url, message) => {
    expect(checkWebhookUrl(url)).toMatch(message)
  })

  it('accepts what the operator allows', () => {
    expect(checkWebhookUrl('http://10.1.2.3/hook', ['10.0.0.0/8'])).toBeUndefined()
    expect(checkWebhookUrl('http://localhost:9000/', ['127.0.0.0/8'])).toBeUndefined()
  })
})
