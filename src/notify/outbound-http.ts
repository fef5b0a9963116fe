import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns'
import { isIP, type LookupFunction } from 'node:net'
import { setImmediate as nextTurn } from 'node:timers/promises'
import ipaddr from 'ipaddr.js'
import { Agent, buildConnector, type Dispatcher } from 'undici'

/**
 * The one way Candor sends HTTP requests to addresses typed by users (webhooks, chat channels).
 * The address check runs inside the connection itself (undici's connector and its DNS lookup), so
 * the address that is checked is the address that is connected to: no DNS rebinding between check
 * and use, and every redirect hop opens its connection through the same check.
 */

export type OutboundErrorCode =
  'blocked_address' | 'bad_url' | 'timeout' | 'too_many_redirects' | 'network'

export class OutboundRequestError extends Error {
  override readonly name = 'OutboundRequestError'
  /** Whether the same request may succeed later: timeouts and network failures only. */
  readonly retryable: boolean

  constructor(
    readonly code: OutboundErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.retryable = code === 'timeout' || code === 'network'
  }
}

export interface OutboundHttpOptions {
  /** CIDRs (or single addresses) the operator allows although they are private or reserved. */
  allowedRanges?: readonly string[]
  connectTimeoutMs?: number
  /** Limit for the response headers and for the body, each; a hop never lasts longer than connect + this. */
  timeoutMs?: number
  /** Response bytes read at most; the rest is not read and the connection is dropped. */
  maxResponseBytes?: number
  maxRedirects?: number
  userAgent?: string
}

export interface OutboundResponse {
  status: number
  /** The start of the response body as text, for logs and the delivery log. */
  bodySnippet: string
}

export interface OutboundHttp {
  post(
    url: string,
    request: { headers?: Readonly<Record<string, string>>; body: string | Uint8Array },
  ): Promise<OutboundResponse>
  /**
   * A GET through the same checks (HTTP checks of components). timeoutMs bounds the whole
   * exchange, redirects included, when it is shorter than the client's own limits.
   */
  get(
    url: string,
    request?: { headers?: Readonly<Record<string, string>>; timeoutMs?: number },
  ): Promise<OutboundResponse>
  close(): Promise<void>
}

export const OUTBOUND_DEFAULTS = {
  connectTimeoutMs: 5_000,
  timeoutMs: 10_000,
  maxResponseBytes: 64 * 1024,
  maxRedirects: 3,
  userAgent: 'Candor-Webhooks/1',
} as const

const SNIPPET_BYTES = 1024
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308])
/** Headers that are not sent to another origin after a redirect, as fetch does. */
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization']

type Address = ipaddr.IPv4 | ipaddr.IPv6
type Range = [Address, number]

const GLOBAL_UNICAST_V6: Range = ipaddr.parseCIDR('2000::/3')

/** Parses the operator's allow-list; a wrong entry is a configuration error, thrown at once. */
export function parseAllowedRanges(entries: readonly string[]): Range[] {
  return entries.map((entry) => {
    const text = entry.trim()
    try {
      if (text.includes('/')) return ipaddr.parseCIDR(text)
      const address = ipaddr.parse(text)
      return [address, address.kind() === 'ipv4' ? 32 : 128]
    } catch (error) {
      throw new TypeError(`Invalid allowed address range: ${JSON.stringify(entry)}`, {
        cause: error,
      })
    }
  })
}

function inRange(address: Address, [network, bits]: Range): boolean {
  if (address instanceof ipaddr.IPv4 && network instanceof ipaddr.IPv4) {
    return address.match(network, bits)
  }
  if (address instanceof ipaddr.IPv6 && network instanceof ipaddr.IPv6) {
    return address.match(network, bits)
  }
  return false
}

/**
 * Only globally routable unicast addresses pass, unless the operator allows the range: an
 * allow-list of what is public is safer than a list of what is private, which always misses one.
 * IPv6 must also be in 2000::/3, which leaves out IPv4-compatible, NAT64 and other forms that can
 * reach IPv4 space through a translator.
 */
export function isAddressAllowed(address: string, ranges: readonly Range[]): boolean {
  let parsed: Address
  try {
    parsed = ipaddr.parse(address)
  } catch {
    return false
  }
  const candidates: Address[] = [parsed]
  if (parsed instanceof ipaddr.IPv6 && parsed.isIPv4MappedAddress()) {
    parsed = parsed.toIPv4Address()
    candidates.push(parsed)
  }
  if (ranges.some((range) => candidates.some((candidate) => inRange(candidate, range)))) {
    return true
  }
  if (parsed instanceof ipaddr.IPv4) return parsed.range() === 'unicast'
  return parsed.range() === 'unicast' && inRange(parsed, GLOBAL_UNICAST_V6)
}

function blockedAddress(host: string, address: string): OutboundRequestError {
  const shown = host === address ? address : `${host} (${address})`
  return new OutboundRequestError(
    'blocked_address',
    `The address ${shown} is private or reserved and not allowed`,
  )
}

/** URL hostnames keep IPv6 literals in brackets; everything else wants them bare. */
function bareHost(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname
}

function isLocalhostName(host: string): boolean {
  const name = host.toLowerCase().replace(/\.$/, '')
  return name === 'localhost' || name.endsWith('.localhost')
}

/**
 * Checks what can be checked without DNS; the address check proper happens when connecting.
 * isTyped adds the names that are loopback by definition, for a clear message while typing.
 */
function parseTarget(
  raw: string | URL,
  ranges: readonly Range[],
  isTyped = false,
): URL | OutboundRequestError {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return new OutboundRequestError('bad_url', 'The URL is not valid')
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return new OutboundRequestError('bad_url', 'Only http and https URLs are allowed')
  }
  if (url.username !== '' || url.password !== '') {
    return new OutboundRequestError('bad_url', 'URLs with a user name or password are not allowed')
  }
  const host = bareHost(url.hostname)
  if (host === '') return new OutboundRequestError('bad_url', 'The URL has no host')
  if (isIP(host) !== 0) {
    if (!isAddressAllowed(host, ranges)) return blockedAddress(host, host)
  } else if (isTyped && isLocalhostName(host) && !isAddressAllowed('127.0.0.1', ranges)) {
    // RFC 6761: these names are loopback whatever DNS says.
    return blockedAddress(host, '127.0.0.1')
  }
  return url
}

/**
 * Synchronous check of a URL a subscriber typed: syntax, scheme, credentials and literal
 * addresses. Returns a message to show, or undefined when the URL may be tried.
 */
export function checkWebhookUrl(
  url: string,
  allowedRanges: readonly string[] = [],
): string | undefined {
  const target = parseTarget(url, parseAllowedRanges(allowedRanges), true)
  return target instanceof URL ? undefined : target.message
}

/** A DNS lookup that resolves every address of the name and refuses the name if any is blocked. */
function guardedLookup(ranges: readonly Range[]): LookupFunction {
  return (hostname, options, callback) => {
    const lookupOptions: LookupAllOptions = { all: true, family: options.family ?? 0 }
    if (options.hints !== undefined) lookupOptions.hints = options.hints
    dnsLookup(hostname, lookupOptions, (error, addresses: LookupAddress[]) => {
      if (error !== null) {
        callback(error, [])
        return
      }
      // A name with one private address among public ones is a rebinding trick, not an accident.
      const blocked = addresses.find((entry) => !isAddressAllowed(entry.address, ranges))
      if (blocked !== undefined) {
        callback(blockedAddress(hostname, blocked.address), [])
        return
      }
      const first = addresses[0]
      if (first === undefined) {
        callback(Object.assign(new Error(`No address for ${hostname}`), { code: 'ENOTFOUND' }), [])
      } else if (options.all === true) {
        callback(null, addresses)
      } else {
        callback(null, first.address, first.family)
      }
    })
  }
}

/** undici's connector, with literal addresses checked first (Node skips the lookup for them). */
function guardedConnector(
  ranges: readonly Range[],
  connectTimeoutMs: number,
): buildConnector.connector {
  const connect = buildConnector({ timeout: connectTimeoutMs, lookup: guardedLookup(ranges) })
  return (options, callback) => {
    const host = bareHost(options.hostname)
    if (isIP(host) !== 0 && !isAddressAllowed(host, ranges)) {
      callback(blockedAddress(host, host), null)
      return
    }
    connect(options, callback)
  }
}

const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
])

function errorCode(error: unknown): unknown {
  return typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined
}

/** Finds our own error when undici or net wrapped it (cause, AggregateError of attempts). */
function findOwnError(error: unknown, depth = 0): OutboundRequestError | undefined {
  if (error instanceof OutboundRequestError) return error
  if (depth > 3 || !(error instanceof Error)) return undefined
  if (error instanceof AggregateError) {
    for (const inner of error.errors) {
      const found = findOwnError(inner, depth + 1)
      if (found !== undefined) return found
    }
  }
  return findOwnError(error.cause, depth + 1)
}

function toOutboundError(error: unknown, url: URL): OutboundRequestError {
  const own = findOwnError(error)
  if (own !== undefined) return own
  const code = errorCode(error)
  const name = error instanceof Error ? error.name : ''
  const detail = error instanceof Error ? error.message : String(error)
  if (name === 'TimeoutError' || (typeof code === 'string' && TIMEOUT_CODES.has(code))) {
    return new OutboundRequestError('timeout', `${url.host} did not answer in time`, {
      cause: error,
    })
  }
  return new OutboundRequestError('network', `Request to ${url.host} failed: ${detail}`, {
    cause: error,
  })
}

/** Reads at most maxBytes of the body, keeps the first bytes as text, drops the connection past the cap. */
async function readCapped(
  body: Dispatcher.ResponseData['body'],
  maxBytes: number,
): Promise<string> {
  const kept: Buffer[] = []
  let keptBytes = 0
  let total = 0
  let truncated = false
  // A Readable without an encoding yields Buffers; its iterator is typed any.
  for await (const chunk of body as AsyncIterable<Buffer>) {
    total += chunk.length
    if (keptBytes < SNIPPET_BYTES) {
      const part = chunk.subarray(0, SNIPPET_BYTES - keptBytes)
      kept.push(part)
      keptBytes += part.length
    }
    if (total > maxBytes) {
      truncated = true
      break // leaving the loop destroys the stream: nothing more is read
    }
  }
  const text = Buffer.concat(kept).toString('utf8')
  return truncated || total > keptBytes ? `${text}…` : text
}

function normalizeHeaders(
  headers: Readonly<Record<string, string>> | undefined,
  userAgent: string,
): Record<string, string> {
  const result: Record<string, string> = { 'user-agent': userAgent }
  for (const [name, value] of Object.entries(headers ?? {})) {
    const key = name.toLowerCase()
    if (key === 'host' || key === 'content-length' || key === 'transfer-encoding') continue
    result[key] = value
  }
  return result
}

interface Hop {
  url: URL
  method: 'POST' | 'GET'
  headers: Record<string, string>
  body: string | Uint8Array | undefined
}

/**
 * The next hop of a redirect, or an error. 307/308 repeat the POST with its body. 301/302 also
 * repeat it (RFC 9110 allows it, and a webhook without its body would be a false success). 303
 * means "accepted, see the result over there": it is fetched with GET, as every client does.
 */
function nextHop(hop: Hop, status: number, location: string, ranges: readonly Range[]): Hop {
  let resolved: URL
  try {
    resolved = new URL(location, hop.url)
  } catch {
    throw new OutboundRequestError('bad_url', 'The redirect location is not a valid URL')
  }
  const target = parseTarget(resolved, ranges)
  if (target instanceof OutboundRequestError) throw target
  if (hop.url.protocol === 'https:' && target.protocol === 'http:') {
    throw new OutboundRequestError('bad_url', 'A redirect from https to http is not followed')
  }
  const headers = { ...hop.headers }
  if (target.origin !== hop.url.origin) {
    for (const name of CREDENTIAL_HEADERS) Reflect.deleteProperty(headers, name)
  }
  if (status === 303) {
    Reflect.deleteProperty(headers, 'content-type')
    return { url: target, method: 'GET', headers, body: undefined }
  }
  return { url: target, method: hop.method, headers, body: hop.body }
}

function locationOf(headers: Dispatcher.ResponseData['headers']): string | undefined {
  const value = headers['location']
  return Array.isArray(value) ? value[0] : value
}

/**
 * An undici dispatcher with the same address checks, for clients that bring their own fetch
 * (OpenID Connect discovery, keys and tokens).
 */
export function createGuardedAgent(options: OutboundHttpOptions = {}): Agent {
  return new Agent({
    connect: guardedConnector(
      parseAllowedRanges(options.allowedRanges ?? []),
      options.connectTimeoutMs ?? OUTBOUND_DEFAULTS.connectTimeoutMs,
    ),
    headersTimeout: options.timeoutMs ?? OUTBOUND_DEFAULTS.timeoutMs,
    bodyTimeout: options.timeoutMs ?? OUTBOUND_DEFAULTS.timeoutMs,
    keepAliveTimeout: 4_000,
  })
}

export function createOutboundHttp(options: OutboundHttpOptions = {}): OutboundHttp {
  const ranges = parseAllowedRanges(options.allowedRanges ?? [])
  const connectTimeoutMs = options.connectTimeoutMs ?? OUTBOUND_DEFAULTS.connectTimeoutMs
  const timeoutMs = options.timeoutMs ?? OUTBOUND_DEFAULTS.timeoutMs
  const maxResponseBytes = options.maxResponseBytes ?? OUTBOUND_DEFAULTS.maxResponseBytes
  const maxRedirects = options.maxRedirects ?? OUTBOUND_DEFAULTS.maxRedirects
  const userAgent = options.userAgent ?? OUTBOUND_DEFAULTS.userAgent

  const agent = new Agent({
    connect: guardedConnector(ranges, connectTimeoutMs),
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    keepAliveTimeout: 4_000,
    connections: 32,
  })

  let closing: Promise<void> | undefined

  async function send(
    hop: Hop,
    signal: AbortSignal,
  ): Promise<{ status: number; location?: string; text: string }> {
    try {
      const response = await agent.request({
        origin: hop.url.origin,
        path: `${hop.url.pathname}${hop.url.search}`,
        method: hop.method,
        headers: hop.headers,
        body: hop.body ?? null,
        signal,
      })
      const location = REDIRECT_STATUSES.has(response.statusCode)
        ? locationOf(response.headers)
        : undefined
      const limit = location === undefined ? maxResponseBytes : SNIPPET_BYTES
      const text = await readCapped(response.body, limit)
      return location === undefined
        ? { status: response.statusCode, text }
        : { status: response.statusCode, location, text }
    } catch (error) {
      throw toOutboundError(error, hop.url)
    }
  }

  /** Sends a request and follows its redirects; deadlineMs (if any) bounds all of it. */
  async function exchange(first: Hop, deadlineMs?: number): Promise<OutboundResponse> {
    const deadline = deadlineMs === undefined ? undefined : AbortSignal.timeout(deadlineMs)
    let hop = first
    for (let redirects = 0; ; redirects++) {
      const perHop = AbortSignal.timeout(connectTimeoutMs + timeoutMs)
      const result = await send(
        hop,
        deadline === undefined ? perHop : AbortSignal.any([perHop, deadline]),
      )
      if (result.location === undefined) {
        // undici marks the connection idle just after the body ends: without this turn, a
        // caller posting in sequence would open a new connection (and TLS handshake) each time.
        await nextTurn()
        return { status: result.status, bodySnippet: result.text }
      }
      if (redirects >= maxRedirects) {
        throw new OutboundRequestError(
          'too_many_redirects',
          `More than ${maxRedirects} redirects, last to ${hop.url.host}`,
        )
      }
      hop = nextHop(hop, result.status, result.location, ranges)
    }
  }

  return {
    async get(url, request = {}) {
      const target = parseTarget(url, ranges)
      if (target instanceof OutboundRequestError) throw target
      return exchange(
        {
          url: target,
          method: 'GET',
          headers: normalizeHeaders(request.headers, userAgent),
          body: undefined,
        },
        request.timeoutMs,
      )
    },
    async post(url, request) {
      const target = parseTarget(url, ranges)
      if (target instanceof OutboundRequestError) throw target
      return exchange({
        url: target,
        method: 'POST',
        headers: normalizeHeaders(request.headers, userAgent),
        body: request.body,
      })
    },
    close() {
      closing ??= agent.close()
      return closing
    },
  }
}
