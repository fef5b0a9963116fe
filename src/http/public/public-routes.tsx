import { createHash } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { ForbiddenError, UnauthenticatedError } from '../../domain/errors.js'
import type { PageAddress } from '../../domain/pages/public-page-service.js'
import { LOCALES, type Locale, type PageSnapshot } from '../../domain/pages/types.js'
import type { App, ServerDeps } from '../app-type.js'
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

interface ServeOptions {
  cors?: boolean
  load?: (surface: Surface) => Loader
}

/** Requests on a page's own host (slug subdomain or custom domain) are routed under this prefix. */
export const PAGE_HOST_PREFIX = '/_host'

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

export function registerPublicRoutes(app: App, deps: ServerDeps, cache: PageCache): void {
  const { publicPages } = deps.services
  const https = deps.config.baseUrl.protocol === 'https:'
  const baseHost = deps.config.baseUrl.hostname.toLowerCase()
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

  async function lookup(
    key: string,
    find: () => Promise<PageAddress | undefined>,
  ): Promise<CachedAddress> {
    const cached = addresses.get(key)
    if (cached !== undefined && Date.now() - cached.at < ADDRESS_TTL_MS) return cached
    // Visitors arriving together share one query.
    let pending = lookups.get(key)
    if (pending === undefined) {
      const generation = addressGeneration
      pending = load(key, find, generation).finally(() => lookups.delete(key))
      lookups.set(key, pending)
    }
    return pending
  }

  async function load(
    key: string,
    find: () => Promise<PageAddress | undefined>,
    generation: number,
  ): Promise<CachedAddress> {
    const address = await find()
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

  /** Which address a request asks for, worked out without any I/O. */
  function target(request: FastifyRequest): {
    key: string
    onPageHost: boolean
    find: () => Promise<PageAddress | undefined>
  } {
    const params = request.params as { slug?: string; host?: string }
    if (params.slug !== undefined) {
      const slug = params.slug.toLowerCase()
      return { key: `slug:${slug}`, onPageHost: false, find: () => publicPages.findBySlug(slug) }
    }
    const host = (params.host ?? '').toLowerCase()
    const suffix = `.${baseHost}`
    if (host.endsWith(suffix) && !host.slice(0, -suffix.length).includes('.')) {
      const slug = host.slice(0, -suffix.length)
      return { key: `slug:${slug}`, onPageHost: true, find: () => publicPages.findBySlug(slug) }
    }
    return { key: `domain:${host}`, onPageHost: true, find: () => publicPages.findByDomain(host) }
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
    const { key, onPageHost, find } = target(request)
    return surfaceOf(await lookup(key, find), onPageHost)
  }

  /**
   * The hot path of an outage: a public page whose address and render are both in memory is
   * answered without touching a promise, the database or the renderer.
   */
  function fromMemory(
    request: FastifyRequest,
    key: (surface: Surface) => string,
  ): { artifact: Artifact; address: PageAddress } | undefined {
    const { key: addressKey, onPageHost } = target(request)
    const found = addresses.get(addressKey)
    if (found === undefined || Date.now() - found.at >= ADDRESS_TTL_MS) return undefined
    const surface = surfaceOf(found, onPageHost)
    if (surface?.address.visibility !== 'public') return undefined
    const artifact = cache.peek(surface.address.pageId, key(surface))
    return artifact === undefined ? undefined : { artifact, address: surface.address }
  }

  function pageUrl(snapshot: PageSnapshot): string {
    if (snapshot.page.customDomain !== null) return `https://${snapshot.page.customDomain}`
    return new URL(`/p/${snapshot.page.slug}`, deps.config.baseUrl).toString()
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

  function send(
    request: FastifyRequest,
    reply: FastifyReply,
    artifact: Artifact,
    address: PageAddress,
    options: { cors?: boolean } = {},
  ): FastifyReply {
    const isPublic = address.visibility === 'public'
    void reply
      .header('ETag', artifact.etag)
      .header('Vary', 'Accept-Encoding')
      .header('Cache-Control', isPublic ? 'public, no-cache' : 'private, no-cache')
    if (options.cors === true && isPublic) {
      // Embeddable elsewhere: badges in READMEs, JSON in widgets, feeds in readers.
      void reply
        .header('Access-Control-Allow-Origin', '*')
        .header('Cross-Origin-Resource-Policy', 'cross-origin')
    }
    const ifNoneMatch = request.headers['if-none-match']
    if (
      ifNoneMatch !== undefined &&
      ifNoneMatch.split(',').some((tag) => tag.trim() === artifact.etag)
    )
      return reply.code(304).send()
    void reply.type(artifact.contentType)
    const accepted = request.headers['accept-encoding'] ?? ''
    if (/\bbr\b/.test(accepted)) return reply.header('Content-Encoding', 'br').send(artifact.br)
    if (/\bgzip\b/.test(accepted))
      return reply.header('Content-Encoding', 'gzip').send(artifact.gzip)
    return reply.send(artifact.body)
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
    const query = request.query as { lang?: unknown }
    return typeof query.lang === 'string' && (LOCALES as readonly string[]).includes(query.lang)
      ? (query.lang as Locale)
      : fallback
  }

  const html = (body: string) => ({ body, contentType: 'text/html; charset=utf-8' })

  for (const prefix of ['/p/:slug', `${PAGE_HOST_PREFIX}/:host`]) {
    app.get(prefix === '/p/:slug' ? prefix : `${prefix}/`, (request, reply) => {
      return serve(
        request,
        reply,
        'html',
        (s) => `html:${s.basePath}:${localeOf(request, 'en')}`,
        (s) => (snapshot) =>
          html(
            renderStatusPage(snapshot, {
              basePath: s.basePath,
              locale: localeOf(request, snapshot.page.locale),
              now: snapshot.generatedAt,
            }),
          ),
      )
    })

    app.get(`${prefix}/incidents/:incidentId`, async (request, reply) => {
      const { incidentId } = request.params as { incidentId: string }
      if (!/^[a-z0-9]{12}$/.test(incidentId)) return notFound(reply)
      return serve(
        request,
        reply,
        'html',
        (s) => `incident:${incidentId}:${s.basePath}:${localeOf(request, 'en')}`,
        (s) => (snapshot) => {
          const body = renderIncidentPage(snapshot, incidentId, {
            basePath: s.basePath,
            locale: localeOf(request, snapshot.page.locale),
            now: snapshot.generatedAt,
          })
          return body === undefined ? undefined : html(body)
        },
      )
    })

    app.get(`${prefix}/history`, async (request, reply) => {
      const query = request.query as { month?: unknown }
      const month =
        typeof query.month === 'string' && /^\d{4}-(0[1-9]|1[0-2])$/.test(query.month)
          ? query.month
          : undefined
      return serve(
        request,
        reply,
        'html',
        (s) => `history:${month ?? ''}:${s.basePath}:${localeOf(request, 'en')}`,
        (s) => (snapshot) =>
          html(
            renderHistoryPage(
              snapshot,
              {
                basePath: s.basePath,
                locale: localeOf(request, snapshot.page.locale),
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
      if (!/^[a-z0-9]{12}$/.test(componentId)) return notFound(reply)
      return serve(
        request,
        reply,
        'resource',
        () => `badge:${componentId}`,
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
