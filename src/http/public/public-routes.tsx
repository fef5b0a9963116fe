import { createHash } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { ForbiddenError, UnauthenticatedError } from '../../domain/errors.js'
import type { PageAddress } from '../../domain/pages/public-page-service.js'
import { LOCALES, type Locale, type PageSnapshot } from '../../domain/pages/types.js'
import type { App, ServerDeps } from '../app-type.js'
import { answerBody, answerForm, answerHeaders } from './artifact-answer.js'
import { componentBadge, pageBadge } from './badges.js'
import { atomFeed, icalFeed, rssFeed } from './feeds.js'
import { t } from './i18n.js'
import type { Artifact, Loader, PageCache, Render } from './page-cache.js'
import {
  activeMaintenancesJson,
  componentsJson,
  incidentsJson,
  renderJson,
  scheduledMaintenancesJson,
  statusJson,
  summaryJson,
  unresolvedIncidentsJson,
  upcomingMaintenancesJson,
} from './statuspage-json.js'
import {
  HISTORY_MONTHS,
  renderHistoryPage,
  renderIncidentPage,
  renderPasswordPage,
  renderStatusPage,
} from './views/index.js'
import { publicPageUrl } from '../../domain/pages/page-url.js'

interface ServeOptions {
  cors?: boolean
  load?: (surface: Surface) => Loader
}

/** Requests on a page's own host (slug subdomain or custom domain) are routed under this prefix. */
export const PAGE_HOST_PREFIX = '/_host'
const HOST_PATH = `${PAGE_HOST_PREFIX}/`
const SLUG_KEY = 'slug:'
const DOMAIN_KEY = 'domain:'

interface Surface {
  address: PageAddress
  /** Prefix of every link on this surface: '/p/<slug>' on the main host, '' on the page's host. */
  basePath: string
}

interface CachedAddress {
  address: PageAddress | undefined
  passwordFingerprint: string | undefined
  at: number
}

const ADDRESS_TTL_MS = 5000
const JSON_TYPE = 'application/json; charset=utf-8'

type PageContext = { pageUrl: string; now: Date }

/** An artifact that the raw fast path may send as it is: a public page's, fresh, in memory. */
export interface MemoryAnswer {
  artifact: Artifact
  cors: boolean
}

/**
 * Looks up the answer to a GET of a URL as the router sees it (after the host routing in
 * server.tsx), without any I/O; undefined for anything that needs Fastify's routes.
 */
export type PeekPublic = (routedUrl: string) => MemoryAnswer | undefined

/**
 * The page a request under /p/:slug or /_host/:host names, behind the same visibility gate as the
 * page itself, for routes outside this module (the subscribe form). Undefined when the gate has
 * answered (404, the password form) or thrown (sign-in, network not allowed).
 */
export type OpenPage = (
  request: FastifyRequest,
  reply: FastifyReply,
  kind: 'html' | 'resource',
) => Promise<{ address: PageAddress; basePath: string } | undefined>

export interface PublicRoutes {
  peek: PeekPublic
  openPage: OpenPage
}

/**
 * Cache keys of the rendered surfaces, built alike by the routes and the fast path. A page asked
 * for without `?lang=` is rendered in the page's own language, so it has its own key ('').
 */
const keys = {
  page: (basePath: string, locale: Locale | undefined) => `html:${basePath}:${locale ?? ''}`,
  incident: (incidentId: string, basePath: string, locale: Locale | undefined) =>
    `incident:${incidentId}:${basePath}:${locale ?? ''}`,
  history: (month: string | undefined, basePath: string, locale: Locale | undefined) =>
    `history:${month ?? ''}:${basePath}:${locale ?? ''}`,
  componentBadge: (componentId: string) => `badge:${componentId}`,
}

const ID_PATTERN = /^[a-z0-9]{12}$/
const MONTH_PATTERN = /^\d{4}-(0[1-9]|1[0-2])$/

/** The locale a request names with `?lang=`, when it is one we have. */
function requestedLocale(query: { lang?: unknown }): Locale | undefined {
  return typeof query.lang === 'string' && (LOCALES as readonly string[]).includes(query.lang)
    ? (query.lang as Locale)
    : undefined
}

function monthOf(query: { month?: unknown }): string | undefined {
  return typeof query.month === 'string' && MONTH_PATTERN.test(query.month)
    ? query.month
    : undefined
}

/** Where a URL of a public surface points: its page (address cache key) and its render. */
interface Location {
  pageKey: string
  /** The slug in the path on the main host, which the page found must have. */
  slug: string | undefined
  key: string
  cors: boolean
}

/** URLs whose location is kept; more distinct ones (a crawler, an attack) start the list afresh. */
const MAX_LOCATED = 1000

/** The path parameter forms the fast path answers: exactly what the router passes on unchanged. */
const PLAIN_PARAM = /^[a-z0-9._-]{1,200}$/i
const PLAIN_QUERY_PART = /^[\w.~-]+=[\w.~-]*$/

/**
 * A query string of plain `name=value` pairs (no escapes, no repeated names), read the way
 * Fastify's parser reads it; undefined for anything else, which the fast path leaves to Fastify.
 */
function plainQuery(search: string): { lang?: string; month?: string } | undefined {
  if (search === '') return {}
  const query = new Map<string, string>()
  for (const part of search.split('&')) {
    if (!PLAIN_QUERY_PART.test(part)) return undefined
    const equals = part.indexOf('=')
    const name = part.slice(0, equals)
    if (query.has(name)) return undefined
    query.set(name, part.slice(equals + 1))
  }
  const lang = query.get('lang')
  const month = query.get('month')
  return { ...(lang === undefined ? {} : { lang }), ...(month === undefined ? {} : { month }) }
}

const json =
  (builder: (snapshot: PageSnapshot, ctx: PageContext) => unknown) =>
  (snapshot: PageSnapshot, ctx: PageContext) =>
    renderJson(builder(snapshot, ctx))

/**
 * The resources made from the whole page, by path under the page's base: one table, one route
 * each. `cors` marks what other sites may embed (widgets, feed readers, badges in READMEs).
 */
const PAGE_RESOURCES: Record<
  string,
  {
    render: (snapshot: PageSnapshot, ctx: PageContext) => string
    contentType: string
    cors: boolean
  }
> = {
  'api/v2/summary.json': { render: json(summaryJson), contentType: JSON_TYPE, cors: true },
  'api/v2/status.json': { render: json(statusJson), contentType: JSON_TYPE, cors: true },
  'api/v2/components.json': { render: json(componentsJson), contentType: JSON_TYPE, cors: true },
  'api/v2/incidents.json': { render: json(incidentsJson), contentType: JSON_TYPE, cors: true },
  'api/v2/incidents/unresolved.json': {
    render: json(unresolvedIncidentsJson),
    contentType: JSON_TYPE,
    cors: true,
  },
  'api/v2/scheduled-maintenances.json': {
    render: json(scheduledMaintenancesJson),
    contentType: JSON_TYPE,
    cors: true,
  },
  'api/v2/scheduled-maintenances/upcoming.json': {
    render: json(upcomingMaintenancesJson),
    contentType: JSON_TYPE,
    cors: true,
  },
  'api/v2/scheduled-maintenances/active.json': {
    render: json(activeMaintenancesJson),
    contentType: JSON_TYPE,
    cors: true,
  },
  'history.atom': {
    render: atomFeed,
    contentType: 'application/atom+xml; charset=utf-8',
    cors: true,
  },
  'history.rss': { render: rssFeed, contentType: 'application/rss+xml; charset=utf-8', cors: true },
  'maintenance.ics': { render: icalFeed, contentType: 'text/calendar; charset=utf-8', cors: true },
  'badge.svg': {
    render: (snapshot) => pageBadge(snapshot),
    contentType: 'image/svg+xml',
    cors: true,
  },
  'theme.css': {
    render: (snapshot) => themeCss(snapshot),
    contentType: 'text/css; charset=utf-8',
    cors: false,
  },
}

/**
 * Registers the public page routes; returns the lookup the raw fast path in server.tsx answers
 * from, which shares the address cache, the cache keys and the page cache with these routes, and
 * the visibility gate for the page's other routes (subscriptions).
 */
export function registerPublicRoutes(app: App, deps: ServerDeps, cache: PageCache): PublicRoutes {
  const { publicPages } = deps.services
  const https = deps.config.baseUrl.protocol === 'https:'
  const pageHostSuffix = `.${deps.config.baseUrl.hostname.toLowerCase()}`
  const addresses = new Map<string, CachedAddress>()
  const lookups = new Map<string, Promise<CachedAddress>>()
  let addressGeneration = 0

  deps.pageEvents.subscribe((pageId) => {
    // Forget this page's addresses (its slug or domain may have changed) and every "no such
    // page" answer (it may exist now); other pages' addresses stay, so a busy page's change
    // does not send every visitor of every page back to the database at once.
    addressGeneration++
    lookups.clear()
    for (const [key, entry] of addresses) {
      if (pageId === '*' || entry.address === undefined || entry.address.pageId === pageId)
        addresses.delete(key)
    }
    cache.invalidate(pageId)
  })

  async function lookup(key: string): Promise<CachedAddress> {
    const cached = addresses.get(key)
    if (cached !== undefined && Date.now() - cached.at < ADDRESS_TTL_MS) return cached
    // Visitors arriving together share one query.
    let pending = lookups.get(key)
    if (pending === undefined) {
      const generation = addressGeneration
      pending = load(key, generation).finally(() => lookups.delete(key))
      lookups.set(key, pending)
    }
    return pending
  }

  async function load(key: string, generation: number): Promise<CachedAddress> {
    const address = await (key.startsWith(SLUG_KEY)
      ? publicPages.findBySlug(key.slice(SLUG_KEY.length))
      : publicPages.findByDomain(key.slice(DOMAIN_KEY.length)))
    const fingerprint =
      address?.visibility === 'password'
        ? await publicPages
            .passwordFingerprint(address.pageId)
            .then((hash) => (hash === undefined ? undefined : fingerprintOf(hash)))
        : undefined
    const entry = { address, passwordFingerprint: fingerprint, at: Date.now() }
    if (generation !== addressGeneration) return entry
    if (addresses.size > 10_000) addresses.clear()
    addresses.set(key, entry)
    return entry
  }

  /**
   * The address cache's key for the page a request names, worked out without any I/O: its slug
   * in the path on the main host, or its host (a slug under the base host, or a custom domain).
   */
  function addressKey(slug: string | undefined, host: string | undefined): string {
    if (slug !== undefined) return SLUG_KEY + slug.toLowerCase()
    const name = (host ?? '').toLowerCase()
    if (name.endsWith(pageHostSuffix)) {
      const sub = name.slice(0, -pageHostSuffix.length)
      if (!sub.includes('.')) return SLUG_KEY + sub
    }
    return DOMAIN_KEY + name
  }

  function target(request: FastifyRequest): { key: string; onPageHost: boolean } {
    const params = request.params as { slug?: string; host?: string }
    return { key: addressKey(params.slug, params.host), onPageHost: params.slug === undefined }
  }

  function surfaceOf(
    found: CachedAddress,
    onPageHost: boolean,
  ): (Surface & { fingerprint: string | undefined }) | undefined {
    if (found.address === undefined) return undefined
    return {
      address: found.address,
      basePath: onPageHost ? '' : `/p/${found.address.slug}`,
      fingerprint: found.passwordFingerprint,
    }
  }

  async function resolve(
    request: FastifyRequest,
  ): Promise<(Surface & { fingerprint: string | undefined }) | undefined> {
    const { key, onPageHost } = target(request)
    return surfaceOf(await lookup(key), onPageHost)
  }

  /** A public page's address, when it is in memory and fresh; undefined otherwise. */
  function publicAddress(key: string): PageAddress | undefined {
    const found = addresses.get(key)
    if (found === undefined || Date.now() - found.at >= ADDRESS_TTL_MS) return undefined
    return found.address?.visibility === 'public' ? found.address : undefined
  }

  /**
   * The hot path of an outage: a public page whose address and render are both in memory is
   * answered without touching a promise, the database or the renderer.
   */
  function fromMemory(
    request: FastifyRequest,
    key: (surface: Surface) => string,
  ): { artifact: Artifact; address: PageAddress } | undefined {
    const { key: pageKey, onPageHost } = target(request)
    const address = publicAddress(pageKey)
    if (address === undefined) return undefined
    const artifact = cache.peek(
      address.pageId,
      key({ address, basePath: onPageHost ? '' : `/p/${address.slug}` }),
    )
    return artifact === undefined ? undefined : { artifact, address }
  }

  /**
   * For the raw fast path: which page and render a URL names, from the URL alone. It knows only
   * the forms the router and the query parser pass on unchanged (plain parameters and query, at
   * most one trailing slash, which ignoreTrailingSlash strips); anything else is left to Fastify.
   */
  function locate(routedUrl: string): Location | undefined {
    const queryAt = routedUrl.indexOf('?')
    let path = queryAt === -1 ? routedUrl : routedUrl.slice(0, queryAt)
    if (path.endsWith('/')) path = path.slice(0, -1)
    let onPageHost: boolean
    let start: number
    if (path.startsWith('/p/')) {
      onPageHost = false
      start = 3
    } else if (path.startsWith(HOST_PATH)) {
      onPageHost = true
      start = HOST_PATH.length
    } else {
      return undefined
    }
    const end = path.indexOf('/', start)
    const param = end === -1 ? path.slice(start) : path.slice(start, end)
    if (!PLAIN_PARAM.test(param)) return undefined
    const rest = end === -1 ? '' : path.slice(end + 1)
    // A second trailing slash: the router does not strip it, and finds nothing.
    if (end !== -1 && rest === '') return undefined
    const query = plainQuery(queryAt === -1 ? '' : routedUrl.slice(queryAt + 1))
    if (query === undefined) return undefined
    const pageKey = onPageHost ? addressKey(undefined, param) : addressKey(param, undefined)
    // On the main host, the page found by a slug has that slug (the surface's base path).
    const slug = onPageHost ? undefined : param.toLowerCase()
    const resource = Object.hasOwn(PAGE_RESOURCES, rest) ? PAGE_RESOURCES[rest] : undefined
    if (resource !== undefined) return { pageKey, slug, key: rest, cors: resource.cors }
    if (rest.startsWith('components/') && rest.endsWith('/badge.svg')) {
      const componentId = rest.slice('components/'.length, -'/badge.svg'.length)
      if (!ID_PATTERN.test(componentId)) return undefined
      return { pageKey, slug, key: keys.componentBadge(componentId), cors: true }
    }
    const basePath = slug === undefined ? '' : `/p/${slug}`
    const locale = requestedLocale(query)
    let key: string
    if (rest === '') key = keys.page(basePath, locale)
    else if (rest === 'history') key = keys.history(monthOf(query), basePath, locale)
    else if (rest.startsWith('incidents/') && ID_PATTERN.test(rest.slice('incidents/'.length)))
      key = keys.incident(rest.slice('incidents/'.length), basePath, locale)
    else return undefined
    return { pageKey, slug, key, cors: false }
  }

  /** locate() depends on the URL alone: its answers are kept for the URLs visitors repeat. */
  const located = new Map<string, Location>()

  function peekPublic(routedUrl: string): MemoryAnswer | undefined {
    let location = located.get(routedUrl)
    if (location === undefined) {
      location = locate(routedUrl)
      if (location === undefined) return undefined
      if (located.size >= MAX_LOCATED) located.clear()
      located.set(routedUrl, location)
    }
    const address = publicAddress(location.pageKey)
    if (address === undefined || (location.slug !== undefined && address.slug !== location.slug))
      return undefined
    const artifact = cache.peek(address.pageId, location.key)
    return artifact === undefined ? undefined : { artifact, cors: location.cors }
  }

  function pageUrl(snapshot: PageSnapshot): string {
    return publicPageUrl(deps.config.baseUrl, snapshot.page)
  }

  function accessCookieName(pageId: string): string {
    return `candor_page_${pageId}`
  }

  type Gate = 'allowed' | 'denied'

  /**
   * Private pages tell an outsider nothing about their content on any surface: resources answer
   * 404; the HTML page asks for the password, a sign-in, or says the network is not allowed.
   */
  async function gate(
    request: FastifyRequest,
    reply: FastifyReply,
    surface: Surface & { fingerprint: string | undefined },
    kind: 'html' | 'resource',
  ): Promise<Gate> {
    const { address } = surface
    let allowed: boolean
    switch (address.visibility) {
      case 'public':
        return 'allowed'
      case 'ip':
        allowed = publicPages.isAddressAllowed(address, request.ip)
        break
      case 'team':
        allowed =
          request.actor !== undefined &&
          (await publicPages.isTeamMember(request.actor.userId, address.accountId))
        break
      case 'password': {
        const raw = request.cookies[accessCookieName(address.pageId)]
        const unsigned = raw === undefined ? undefined : request.unsignCookie(raw)
        allowed =
          surface.fingerprint !== undefined &&
          unsigned?.valid === true &&
          unsigned.value === surface.fingerprint
        break
      }
    }
    if (allowed) return 'allowed'
    if (kind === 'resource') {
      notFound(reply)
      return 'denied'
    }
    const locale = localeOf(request, 'en')
    if (address.visibility === 'password') {
      await reply
        .code(401)
        .header('Cache-Control', 'no-store')
        .type('text/html; charset=utf-8')
        .send(
          renderPasswordPage('', {
            basePath: surface.basePath,
            locale,
            now: new Date(),
            csrfToken: reply.generateCsrf(),
          }),
        )
    } else {
      throw address.visibility === 'team'
        ? new UnauthenticatedError(
            'This status page is private. Sign in with an account that can see it.',
            'private_page',
          )
        : new ForbiddenError('This status page is not available from your network.', 'private_page')
    }
    return 'denied'
  }

  function notFound(reply: FastifyReply): FastifyReply {
    reply.callNotFound()
    return reply
  }

  const openPage: OpenPage = async (request, reply, kind) => {
    const surface = await resolve(request)
    if (surface === undefined) {
      notFound(reply)
      return undefined
    }
    if ((await gate(request, reply, surface, kind)) === 'denied') return undefined
    return { address: surface.address, basePath: surface.basePath }
  }

  function send(
    request: FastifyRequest,
    reply: FastifyReply,
    artifact: Artifact,
    address: PageAddress,
    options: { cors?: boolean } = {},
  ): FastifyReply {
    const form = answerForm(
      artifact,
      request.headers['if-none-match'],
      request.headers['accept-encoding'],
    )
    const policy = { isPublic: address.visibility === 'public', cors: options.cors === true }
    for (const [name, value] of answerHeaders(artifact, policy, form))
      void reply.header(name, value)
    const body = answerBody(artifact, form)
    return body === undefined ? reply.code(304).send() : reply.send(body)
  }

  /** Answers from memory synchronously when it can (no promise at all), else goes the long way. */
  function serve(
    request: FastifyRequest,
    reply: FastifyReply,
    kind: 'html' | 'resource',
    key: (surface: Surface) => string,
    render: (surface: Surface) => Render,
    options: ServeOptions = {},
  ): Promise<FastifyReply> | undefined {
    const hit = fromMemory(request, key)
    if (hit === undefined) return serveFromCache(request, reply, kind, key, render, options)
    send(request, reply, hit.artifact, hit.address, options)
    return undefined
  }

  async function serveFromCache(
    request: FastifyRequest,
    reply: FastifyReply,
    kind: 'html' | 'resource',
    key: (surface: Surface) => string,
    render: (surface: Surface) => Render,
    options: ServeOptions,
  ): Promise<FastifyReply> {
    const surface = await resolve(request)
    if (surface === undefined) return notFound(reply)
    if ((await gate(request, reply, surface, kind)) === 'denied') return reply
    const artifact = await cache.get(
      surface.address.pageId,
      key(surface),
      render(surface),
      options.load?.(surface),
    )
    if (artifact === undefined) return notFound(reply)
    return send(request, reply, artifact, surface.address, options)
  }

  function localeOf(request: FastifyRequest, fallback: Locale): Locale {
    return requestedLocale(request.query as { lang?: unknown }) ?? fallback
  }

  function requested(request: FastifyRequest): Locale | undefined {
    return requestedLocale(request.query as { lang?: unknown })
  }

  const html = (body: string) => ({ body, contentType: 'text/html; charset=utf-8' })

  for (const prefix of ['/p/:slug', `${PAGE_HOST_PREFIX}/:host`]) {
    // The renders are kept to re-render after each change: they hold the locale, not the request.
    app.get(prefix === '/p/:slug' ? prefix : `${prefix}/`, (request, reply) => {
      const locale = requested(request)
      return serve(
        request,
        reply,
        'html',
        (s) => keys.page(s.basePath, locale),
        (s) => (snapshot) =>
          html(
            renderStatusPage(snapshot, {
              basePath: s.basePath,
              locale: locale ?? snapshot.page.locale,
              now: snapshot.generatedAt,
            }),
          ),
      )
    })

    app.get(`${prefix}/incidents/:incidentId`, async (request, reply) => {
      const { incidentId } = request.params as { incidentId: string }
      if (!ID_PATTERN.test(incidentId)) return notFound(reply)
      const locale = requested(request)
      return serve(
        request,
        reply,
        'html',
        (s) => keys.incident(incidentId, s.basePath, locale),
        (s) => (snapshot) => {
          const body = renderIncidentPage(snapshot, incidentId, {
            basePath: s.basePath,
            locale: locale ?? snapshot.page.locale,
            now: snapshot.generatedAt,
          })
          return body === undefined ? undefined : html(body)
        },
      )
    })

    app.get(`${prefix}/history`, async (request, reply) => {
      const month = monthOf(request.query as { month?: unknown })
      const locale = requested(request)
      return serve(
        request,
        reply,
        'html',
        (s) => keys.history(month, s.basePath, locale),
        (s) => (snapshot) =>
          html(
            renderHistoryPage(
              snapshot,
              {
                basePath: s.basePath,
                locale: locale ?? snapshot.page.locale,
                now: snapshot.generatedAt,
              },
              month,
            ),
          ),
        { load: (s) => () => publicPages.archive(s.address.pageId, month, HISTORY_MONTHS) },
      )
    })

    for (const [path, resource] of Object.entries(PAGE_RESOURCES)) {
      app.get(`${prefix}/${path}`, (request, reply) =>
        serve(
          request,
          reply,
          'resource',
          () => path,
          () => (snapshot) => ({
            body: resource.render(snapshot, {
              pageUrl: pageUrl(snapshot),
              now: snapshot.generatedAt,
            }),
            contentType: resource.contentType,
          }),
          { cors: resource.cors },
        ),
      )
    }
    app.get(`${prefix}/components/:componentId/badge.svg`, async (request, reply) => {
      const { componentId } = request.params as { componentId: string }
      if (!ID_PATTERN.test(componentId)) return notFound(reply)
      return serve(
        request,
        reply,
        'resource',
        () => keys.componentBadge(componentId),
        () => (snapshot) => {
          const svg = componentBadge(snapshot, componentId)
          return svg === undefined ? undefined : { body: svg, contentType: 'image/svg+xml' }
        },
        { cors: true },
      )
    })
    app.get(`${prefix}/logo`, async (request, reply) => {
      const surface = await resolve(request)
      if (surface === undefined) return notFound(reply)
      if ((await gate(request, reply, surface, 'resource')) === 'denied') return reply
      const logo = await publicPages.logo(surface.address.pageId)
      if (logo === undefined) return notFound(reply)
      const etag = `"logo-${String(surface.address.version)}"`
      void reply
        .header('ETag', etag)
        .header(
          'Cache-Control',
          surface.address.visibility === 'public' ? 'public, no-cache' : 'private, no-cache',
        )
      if (request.headers['if-none-match'] === etag) return reply.code(304).send()
      return reply
        .type(logo.contentType)
        .header('Content-Security-Policy', "default-src 'none'; sandbox")
        .send(logo.data)
    })

    app.post(`${prefix}/access`, async (request, reply) => {
      const surface = await resolve(request)
      if (surface?.address.visibility !== 'password') return notFound(reply)
      const body = request.body as { password?: unknown } | undefined
      const password = typeof body?.password === 'string' ? body.password : ''
      const locale = localeOf(request, 'en')
      if (!(await publicPages.checkPassword(surface.address.pageId, password, request.ip))) {
        return reply
          .code(401)
          .header('Cache-Control', 'no-store')
          .type('text/html; charset=utf-8')
          .send(
            renderPasswordPage('', {
              basePath: surface.basePath,
              locale,
              now: new Date(),
              csrfToken: reply.generateCsrf(),
              error: t(locale, 'password.wrong'),
            }),
          )
      }
      const fingerprint = fingerprintOf(
        (await publicPages.passwordFingerprint(surface.address.pageId)) ?? '',
      )
      void reply.setCookie(accessCookieName(surface.address.pageId), fingerprint, {
        signed: true,
        httpOnly: true,
        sameSite: 'lax',
        secure: https,
        path: surface.basePath === '' ? '/' : surface.basePath,
        maxAge: 30 * 24 * 3600,
      })
      return reply.redirect(surface.basePath === '' ? '/' : surface.basePath, 303)
    })
  }

  return { peek: peekPublic, openPage }
}

/** The page's brand colour and its sanitised custom CSS, served as a stylesheet (the CSP forbids inline styles). */
function themeCss(snapshot: PageSnapshot): string {
  const colour = /^#[0-9a-f]{6}$/i.test(snapshot.page.brandColor)
    ? snapshot.page.brandColor
    : '#0a5bd3'
  return `:root { --brand: ${colour}; --brand-text: ${readableOnWhite(colour)}; --on-brand: ${textOn(colour)}; }\n${snapshot.page.customCss}\n`
}

const DARK_TEXT = '#1f2328'

function luminance(hex: string): number {
  const channel = (offset: number) => {
    const value = Number.parseInt(hex.slice(offset, offset + 2), 16) / 255
    return value <= 0.039_28 ? value / 12.92 : ((value + 0.055) / 1.055) ** 2.4
  }
  return 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5)
}

function contrast(a: string, b: string): number {
  const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number]
  return (light + 0.05) / (dark + 0.05)
}

/** The brand colour, darkened until it reads as text on white at WCAG AA (4.5:1). */
function readableOnWhite(hex: string): string {
  let colour = hex
  for (let step = 0; step < 20 && contrast(colour, '#ffffff') < 4.5; step++) {
    colour = `#${[1, 3, 5]
      .map((offset) =>
        Math.floor(Number.parseInt(colour.slice(offset, offset + 2), 16) * 0.85)
          .toString(16)
          .padStart(2, '0'),
      )
      .join('')}`
  }
  return colour
}

/** White or dark text on the brand colour, whichever contrasts more. */
function textOn(hex: string): string {
  return contrast('#ffffff', hex) >= contrast(DARK_TEXT, hex) ? '#ffffff' : DARK_TEXT
}

/** Changing the page password changes this, so access granted with the old one ends. */
function fingerprintOf(passwordHash: string): string {
  return createHash('sha256').update(passwordHash).digest('base64url').slice(0, 32)
}
