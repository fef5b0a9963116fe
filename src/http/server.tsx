import type { PolicyAction } from '../domain/policy.js'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import fastifyCookie from '@fastify/cookie'
import fastifyCsrf from '@fastify/csrf-protection'
import fastifyFormbody from '@fastify/formbody'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify'
import type { Actor } from '../domain/actor.js'
import { REAUTHENTICATION_REQUIRED } from '../domain/accounts/reauthentication.js'
import { DomainError, ForbiddenError, RateLimitedError } from '../domain/errors.js'
import { registerApiAdminRoutes } from './admin/api-admin-routes.js'
import { registerAuditRoutes } from './admin/audit-routes.js'
import { registerAuthRoutes } from './admin/auth-routes.js'
import { registerSsoRoutes } from './admin/sso-routes.js'
import { registerSsoSettingsRoutes } from './admin/sso-settings-routes.js'
import { registerApi } from './api/api-plugin.js'
import { registerIncidentResources } from './api/api-incidents.js'
import { registerPageResources } from './api/api-pages.js'
import { registerAccountResources } from './api/api-account.js'
import { registerTeamResources } from './api/api-team.js'
import { registerSubscriberResources } from './api/api-subscribers.js'
import { clearSessionCookie } from './admin/html.js'
import { registerDashboardRoutes } from './admin/dashboard-routes.js'
import { registerIncidentRoutes } from './admin/incident-routes.js'
import { registerPageRoutes } from './admin/page-routes.js'
import { registerSamlRoutes } from './admin/saml-routes.js'
import { registerSubscriberAdminRoutes } from './admin/subscriber-routes.js'
import { registerTeamRoutes } from './admin/team-routes.js'
import { reauthenticationLocation, registerTwoFactorRoutes } from './admin/two-factor-routes.js'
import { registerAlerts } from './alerts/index.js'
import { genericProblem, problemFromDomainError, type Problem } from './problem.js'
import { createFastPath } from './public/fast-path.js'
import { createPageCache } from './public/page-cache.js'
import { PAGE_HOST_PREFIX, registerPublicRoutes } from './public/public-routes.js'
import { registerSubscriptionRoutes } from './public/subscription-routes.js'
import { sessionCookieName } from './session-cookie.js'
import type { App, ServerDeps } from './app-type.js'
import { ErrorPage } from './views/error-page.js'
import { renderDocument } from './views/layout.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated actor, set by the session hook; the only request decoration. */
    actor: Actor | undefined
  }
  interface FastifyContextConfig {
    /** false only where a signed URL is the authorization (RFC 8058 one-click unsubscribe). */
    csrf?: false
    /**
     * What an account-scoped route does, in the policy's words (src/domain/policy.ts); the
     * permission matrix test reads it to check the route for every role and another account.
     */
    action?: PolicyAction
  }
}

const BODY_LIMIT_BYTES = 64 * 1024
const stylesheet = readFileSync(new URL('../../public/app.css', import.meta.url))
const statusStylesheet = readFileSync(new URL('../../public/status.css', import.meta.url))
const favicon = readFileSync(new URL('../../public/favicon.svg', import.meta.url))

/** Builds the web application without listening, so tests drive it through inject(). */
export async function buildServer(deps: ServerDeps): Promise<App> {
  const { config, services } = deps
  const https = config.baseUrl.protocol === 'https:'
  const requestLogging = deps.logger.isLevelEnabled('info')
  const mainHosts = new Set([
    config.baseUrl.hostname.toLowerCase(),
    'localhost',
    '127.0.0.1',
    '[::1]',
    '::1',
  ])

  const requestIds = createRequestIds()
  /** Set once the routes exist; until then, and while closing, every request goes to Fastify. */
  let fastPath: ((request: IncomingMessage, response: ServerResponse) => boolean) | undefined

  const app = Fastify({
    loggerInstance: deps.logger,
    trustProxy: config.trustProxy,
    bodyLimit: BODY_LIMIT_BYTES,
    genReqId: requestIds,
    // A child logger per request costs more than serving a cached status page; below the info
    // level (LOG_LEVEL=warn and up) nothing is logged per request, so requests share the root logger.
    childLoggerFactory: (logger, bindings, options) =>
      requestLogging ? logger.child(bindings, options) : logger,
    requestIdHeader: false,
    routerOptions: { maxParamLength: 200, ignoreTrailingSlash: true },
    rewriteUrl: (request) => routeByHost(request.headers.host, request.url ?? '/', mainHosts),
    // Cached public pages are answered before Fastify sees the request (public/fast-path.ts).
    // app.inject() does not come through here: it always exercises the Fastify routes.
    serverFactory: (handler, options) =>
      createHttpServer(options, (request, response) => {
        if (fastPath?.(request, response) !== true) handler(request, response)
      }),
  }).withTypeProvider<TypeBoxTypeProvider>()

  app.decorateRequest('actor', undefined)

  await app.register(fastifyCookie, { secret: deps.cookieSecret, hook: 'onRequest' })
  await app.register(fastifyFormbody, { bodyLimit: BODY_LIMIT_BYTES })
  await app.register(fastifyCsrf, {
    sessionPlugin: '@fastify/cookie',
    cookieKey: https ? '__Host-candor_csrf' : 'candor_csrf',
    cookieOpts: { path: '/', httpOnly: true, sameSite: 'lax', secure: https, signed: true },
    getToken: (request: FastifyRequest) => {
      const body = request.body
      if (
        typeof body === 'object' &&
        body !== null &&
        '_csrf' in body &&
        typeof body._csrf === 'string'
      )
        return body._csrf
      // Multipart bodies are read by the handler, after this check: their forms put it in the URL.
      const query = request.query
      if (
        typeof query === 'object' &&
        query !== null &&
        '_csrf' in query &&
        typeof query._csrf === 'string'
      )
        return query._csrf
      const header = request.headers['x-csrf-token']
      return typeof header === 'string' ? header : undefined
    },
  })

  const securityHeaders = securityHeadersFor(https)
  const sessionCookie = sessionCookieName(https)
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(securityHeaders)
    reply.header('X-Request-Id', request.id)
    const token = request.cookies[sessionCookie]
    if (token === undefined || token === '') {
      done()
      return
    }
    authenticate(request, reply, token).then(() => done(), done)
  })

  async function authenticate(
    request: FastifyRequest,
    reply: FastifyReply,
    token: string,
  ): Promise<void> {
    const session = await services.sessions.authenticate(token)
    if (session === undefined) {
      // With the same attributes it was set with: a __Host- cookie is only deleted with Secure.
      clearSessionCookie(deps, reply)
      return
    }
    request.actor = {
      type: 'user',
      userId: session.userId,
      sessionIdHash: session.idHash,
      session: {
        method: session.method,
        authenticatedAt: session.authenticatedAt,
        ssoConnectionId: session.ssoConnectionId,
        ssoAccountId: session.ssoAccountId,
      },
      ip: request.ip,
      userAgent: request.headers['user-agent'] ?? '',
    }
  }

  // Every state-changing request carries the CSRF token; body parsing happens before preValidation.
  // Every state-changing route checks the CSRF token (after the body is parsed). Attached per
  // route rather than as a global hook, so reading a status page does not pay for it.
  const checkCsrf = (
    request: FastifyRequest,
    reply: FastifyReply,
    done: (error?: Error) => void,
  ) => {
    app.csrfProtection(request, reply, (error?: Error) => {
      done(error)
    })
  }
  // The server skips the body stream of a request that has none (optimizeEmptyRequests in
  // createHttpServer): it never emits 'end'. A body parser still waits for one when such a
  // request names a Content-Type; it gets the empty body the request has (RFC 9112, 6.3).
  app.addHook('preParsing', (request, _reply, payload, done) => {
    if (request.raw.readableEnded && request.headers['content-type'] !== undefined)
      done(null, Readable.from([]))
    else done(null, payload)
  })

  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    if (methods.every((method) => method === 'GET' || method === 'HEAD' || method === 'OPTIONS'))
      return
    if (route.config?.csrf === false) return
    // The management API authenticates with API keys only and ignores the session cookie there
    // (src/http/api/api-plugin.ts), so a cross-site form cannot act through it.
    if (route.url.startsWith('/api/v1/')) return
    const existing = route.preValidation
    route.preValidation =
      existing === undefined
        ? [checkCsrf]
        : [checkCsrf, ...(Array.isArray(existing) ? existing : [existing])]
  })

  app.setErrorHandler((error: FastifyError | Error, request, reply) => {
    // A person in the dashboard confirms who they are, then comes back to try again.
    if (
      error instanceof ForbiddenError &&
      error.code === REAUTHENTICATION_REQUIRED &&
      !wantsJson(request)
    )
      return reply.redirect(reauthenticationLocation(request), 303)
    let problem: Problem
    if (error instanceof DomainError) {
      problem = problemFromDomainError(error, request.id)
      if (error instanceof RateLimitedError)
        void reply.header('Retry-After', String(error.retryAfterSeconds))
    } else if ('validation' in error) {
      problem = genericProblem(400, 'invalid_request', error.message, request.id)
    } else if (
      'code' in error &&
      typeof error.code === 'string' &&
      error.code.startsWith('FST_CSRF')
    ) {
      problem = genericProblem(
        403,
        'csrf_failed',
        'The form has expired or did not come from this site. Reload the page and try again.',
        request.id,
      )
    } else if (
      'statusCode' in error &&
      typeof error.statusCode === 'number' &&
      error.statusCode >= 400 &&
      error.statusCode < 500
    ) {
      problem = genericProblem(
        error.statusCode,
        typeof error.code === 'string' ? error.code.toLowerCase() : 'bad_request',
        error.message,
        request.id,
      )
    } else {
      request.log.error({ err: error, reqId: request.id }, 'request failed')
      problem = genericProblem(
        500,
        'internal_error',
        'Something went wrong on our side. It has been logged; try again in a moment.',
        request.id,
      )
    }
    return sendProblem(request, reply, problem)
  })

  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      request,
      reply,
      genericProblem(404, 'not_found', 'There is nothing at this address.', request.id),
    ),
  )

  app.get('/healthz', () => ({ status: 'ok' }))
  app.get('/readyz', async (_request, reply) => {
    const state = await services.health.readiness()
    const ready = state.database && state.migrations
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', ...state })
  })
  app.get('/assets/app.css', async (_request, reply) =>
    reply
      .header('Cache-Control', 'public, max-age=3600')
      .type('text/css; charset=utf-8')
      .send(stylesheet),
  )
  app.get('/assets/status.css', async (_request, reply) =>
    reply
      .header('Cache-Control', 'public, max-age=3600')
      .type('text/css; charset=utf-8')
      .send(statusStylesheet),
  )
  app.get('/_host-forbidden', (_request, reply) => reply.callNotFound())
  app.get('/favicon.ico', async (_request, reply) =>
    reply.header('Cache-Control', 'public, max-age=86400').type('image/svg+xml').send(favicon),
  )

  const pageCache = createPageCache({
    loadSnapshot: (pageId) => services.publicPages.snapshot(pageId),
    loadVersions: (pageIds) => services.publicPages.versions(pageIds),
    logger: deps.logger,
  })
  app.addHook('onClose', () => {
    pageCache.close()
  })
  const { peek: peekPublic, openPage } = registerPublicRoutes(app, deps, pageCache)
  const answerFromMemory = createFastPath({
    securityHeaders,
    nextRequestId: requestIds,
    route: (host, url) => routeByHost(host, url, mainHosts),
    peek: peekPublic,
    // A session cookie makes Fastify authenticate (and maybe clear) it, whatever the page.
    needsFastify: (cookies) => cookies.includes(sessionCookie),
    requestLogger: requestLogging ? deps.logger : undefined,
  })
  // Fastify's log line carries the client address it works out from X-Forwarded-For and the
  // trusted proxies; the fast path does not repeat that work, so it stays out of logged requests then.
  if (!requestLogging || config.trustProxy === false) fastPath = answerFromMemory
  app.addHook('preClose', (done) => {
    // Fastify answers 503 (and closes the connection) to requests that arrive while it closes.
    fastPath = undefined
    done()
  })

  registerAuthRoutes(app, deps)
  registerSamlRoutes(app, deps)
  registerSsoRoutes(app, deps)
  registerSsoSettingsRoutes(app, deps)
  registerTwoFactorRoutes(app, deps)
  registerDashboardRoutes(app, deps)
  registerTeamRoutes(app, deps)
  registerAuditRoutes(app, deps)
  registerApiAdminRoutes(app, deps)
  registerPageRoutes(app, deps)
  registerIncidentRoutes(app, deps)
  await registerApi(app, deps, [
    registerPageResources,
    registerIncidentResources,
    registerSubscriberResources,
    registerAccountResources,
    registerTeamResources,
  ])
  registerSubscriptionRoutes(app, deps, openPage)
  registerSubscriberAdminRoutes(app, deps)
  registerAlerts(app, deps)

  return app
}

const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "object-src 'none'",
].join(';')

/**
 * The security headers of every response, built once: building them per request (as a helmet
 * middleware does) cost more CPU than serving a cached status page. A route may still replace one
 * (the logo's sandboxing CSP, public badges' cross-origin resource policy).
 */
function securityHeadersFor(https: boolean): Record<string, string> {
  return {
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'origin-agent-cluster': '?1',
    'referrer-policy': 'same-origin',
    'x-content-type-options': 'nosniff',
    'x-dns-prefetch-control': 'off',
    'x-download-options': 'noopen',
    'x-frame-options': 'SAMEORIGIN',
    'x-permitted-cross-domain-policies': 'none',
    'x-xss-protection': '0',
    // Private by default; public pages and assets say otherwise when they answer.
    'cache-control': 'no-store',
    ...(https ? { 'strict-transport-security': 'max-age=31536000; includeSubDomains' } : {}),
  }
}

/**
 * The HTTP/1.1 server Fastify would create (the same timeouts and limits from its options),
 * with a request listener of our own in front of its handler.
 */
function createHttpServer(
  options: Record<string, unknown>,
  listener: (request: IncomingMessage, response: ServerResponse) => void,
): Server {
  const numberOption = (name: string, fallback: number) => {
    const value = options[name]
    return typeof value === 'number' ? value : fallback
  }
  // A request without Content-Length or Transfer-Encoding has no body: Node then skips its
  // stream's life cycle ('end', 'close' and the dump after the answer), about a tenth of the CPU
  // time of a status page answered from memory. See the preParsing hook for body parsers.
  const server = createServer({ optimizeEmptyRequests: true }, listener)
  server.keepAliveTimeout = numberOption('keepAliveTimeout', 72_000)
  server.requestTimeout = numberOption('requestTimeout', 0)
  server.setTimeout(numberOption('connectionTimeout', 0))
  const maxRequestsPerSocket = numberOption('maxRequestsPerSocket', 0)
  if (maxRequestsPerSocket > 0) server.maxRequestsPerSocket = maxRequestsPerSocket
  return server
}

/** Request ids unique across processes (a random prefix) and cheap to make (a counter). */
function createRequestIds(): () => string {
  const prefix = randomBytes(6).toString('hex')
  let next = 0
  return () => `${prefix}-${(next++).toString(36)}`
}

/** Paths that answer the same on every host (health checks, shared assets). */
const HOST_INDEPENDENT = /^\/(healthz|readyz|favicon\.ico|assets\/)/

/**
 * A request for a page's own host (its slug under the base host, or its custom domain) is routed
 * to the public page routes; the dashboard only answers on the main host.
 */
function routeByHost(
  hostHeader: string | undefined,
  url: string,
  mainHosts: ReadonlySet<string>,
): string {
  const host = (hostHeader ?? '').toLowerCase().replace(/:\d+$/, '')
  const isMain =
    host === '' ||
    mainHosts.has(host) ||
    /^\d{1,3}(\.\d{1,3}){3}$/.test(host) ||
    host.startsWith('[')
  if (isMain) return url.startsWith(`${PAGE_HOST_PREFIX}/`) ? '/_host-forbidden' : url
  if (HOST_INDEPENDENT.test(url)) return url
  return `${PAGE_HOST_PREFIX}/${encodeURIComponent(host)}${url}`
}

function wantsJson(request: FastifyRequest): boolean {
  if (request.url.startsWith('/api/')) return true
  const accept = request.headers.accept ?? ''
  return accept.includes('json') && !accept.includes('text/html')
}

function sendProblem(request: FastifyRequest, reply: FastifyReply, problem: Problem): FastifyReply {
  void reply.code(problem.status)
  if (wantsJson(request)) return reply.type('application/problem+json').send(problem)
  return reply
    .type('text/html; charset=utf-8')
    .send(renderDocument(<ErrorPage problem={problem} />))
}

export type { App, ServerDeps }
