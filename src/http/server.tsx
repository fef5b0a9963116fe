import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import fastifyCookie from '@fastify/cookie'
import fastifyCsrf from '@fastify/csrf-protection'
import fastifyFormbody from '@fastify/formbody'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify'
import type { Actor } from '../domain/actor.js'
import { DomainError, RateLimitedError } from '../domain/errors.js'
import { registerAuthRoutes } from './admin/auth-routes.js'
import { clearSessionCookie } from './admin/html.js'
import { registerDashboardRoutes } from './admin/dashboard-routes.js'
import { registerIncidentRoutes } from './admin/incident-routes.js'
import { registerPageRoutes } from './admin/page-routes.js'
import { genericProblem, problemFromDomainError, type Problem } from './problem.js'
import { createPageCache } from './public/page-cache.js'
import { PAGE_HOST_PREFIX, registerPublicRoutes } from './public/public-routes.js'
import { sessionCookieName } from './session-cookie.js'
import type { App, ServerDeps } from './app-type.js'
import { ErrorPage } from './views/error-page.js'
import { renderDocument } from './views/layout.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated actor, set by the session hook; the only request decoration. */
    actor: Actor | undefined
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

  const app = Fastify({
    loggerInstance: deps.logger,
    trustProxy: config.trustProxy,
    bodyLimit: BODY_LIMIT_BYTES,
    genReqId: createRequestIds(),
    // A child logger per request costs more than serving a cached status page; at the default
    // level nothing is logged per request, so requests share the root logger.
    childLoggerFactory: (logger, bindings, options) =>
      requestLogging ? logger.child(bindings, options) : logger,
    requestIdHeader: false,
    routerOptions: { maxParamLength: 200, ignoreTrailingSlash: true },
    rewriteUrl: (request) => routeByHost(request.headers.host, request.url ?? '/', mainHosts),
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
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    if (methods.every((method) => method === 'GET' || method === 'HEAD' || method === 'OPTIONS'))
      return
    const existing = route.preValidation
    route.preValidation =
      existing === undefined
        ? [checkCsrf]
        : [checkCsrf, ...(Array.isArray(existing) ? existing : [existing])]
  })

  app.setErrorHandler((error: FastifyError | Error, request, reply) => {
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
  registerPublicRoutes(app, deps, pageCache)

  registerAuthRoutes(app, deps)
  registerDashboardRoutes(app, deps)
  registerPageRoutes(app, deps)
  registerIncidentRoutes(app, deps)

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
