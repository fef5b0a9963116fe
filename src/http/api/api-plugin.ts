import { createHash } from 'node:crypto'
import fastifyRateLimit from '@fastify/rate-limit'
import fastifySwagger from '@fastify/swagger'
import { Ajv, type ValidateFunction } from 'ajv'
import ajvFormats from 'ajv-formats'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { DomainError, RateLimitedError, ValidationError } from '../../domain/errors.js'
import type { App, ServerDeps } from '../app-type.js'
import { genericProblem, problemFromDomainError, type Problem } from '../problem.js'
import { IdempotencyHeaders, NAMED_SCHEMAS } from './api-schemas.js'

const IDEMPOTENCY_KEY_MAX = 255

declare module 'fastify' {
  interface FastifyRequest {
    /** Set while a POST with an Idempotency-Key is being answered for the first time. */
    idempotency?: { apiKeyId: string; key: string } | undefined
  }
}

/** The plugin-scoped Fastify instance the resource modules add routes to. */
export type ApiInstance = App

function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  return reply.code(problem.status).type('application/problem+json').send(problem)
}

/**
 * The API's own Ajv: Fastify's default coerces types (`{"name": 5}` became "5") and silently
 * drops unknown properties, so a misspelt field was accepted and ignored. Bodies are taken as
 * sent; only the path and query strings, which are text by nature, are converted.
 */
function createValidatorCompiler() {
  const addFormats = ajvFormats.default
  const options = { allErrors: true, removeAdditional: false, strict: true } as const
  const bodies = addFormats(new Ajv({ ...options, coerceTypes: false, useDefaults: false }))
  const strings = addFormats(new Ajv({ ...options, coerceTypes: 'array', useDefaults: true }))
  return ({ schema, httpPart }: { schema: object; httpPart?: string }): ValidateFunction =>
    (httpPart === 'body' ? bodies : strings).compile(schema)
}

/** Field names from Ajv's paths: "/incident/name" → "incident.name". */
function fieldOf(instancePath: string, params: Record<string, unknown>): string {
  const path = instancePath.replace(/^\//, '').replaceAll('/', '.')
  const named = params['missingProperty'] ?? params['additionalProperty']
  const property = typeof named === 'string' ? named : undefined
  if (property === undefined) return path === '' ? 'body' : path
  return path === '' ? property : `${path}.${property}`
}

/** Domain field names that are not the API's name in snake_case, per wrapper object. */
const API_FIELD_NAMES: Record<string, Record<string, string>> = {
  page: { slug: 'subdomain', brandColor: 'branding', customDomain: 'domain' },
  incident: { impact: 'impact_override' },
  template: { status: 'update_status' },
}

/**
 * The services name fields as the dashboard does (`componentIds`); an API client sent
 * `incident.component_ids` and should be told about that.
 */
function apiFieldNames(fields: Readonly<Record<string, string>>, body: unknown) {
  const wrappers = typeof body === 'object' && body !== null ? Object.keys(body) : []
  const wrapper = wrappers.length === 1 ? wrappers[0] : undefined
  if (wrapper === undefined) return { ...fields }
  const renames = API_FIELD_NAMES[wrapper] ?? {}
  return Object.fromEntries(
    Object.entries(fields).map(([field, message]) => [
      // A route's own checks already use the API's names.
      field.startsWith(`${wrapper}.`)
        ? field
        : `${wrapper}.${renames[field] ?? field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`,
      message,
    ]),
  )
}

/** Fastify's body parser errors, with codes that do not name the framework. */
const PARSER_ERRORS = new Map<string, { code: string; field?: string; message?: string }>([
  [
    'FST_ERR_CTP_INVALID_JSON_BODY',
    { code: 'invalid_json', field: 'body', message: 'is not valid JSON' },
  ],
  ['FST_ERR_CTP_EMPTY_JSON_BODY', { code: 'invalid_json', field: 'body', message: 'is empty' }],
  ['FST_ERR_CTP_INVALID_MEDIA_TYPE', { code: 'unsupported_media_type' }],
  ['FST_ERR_CTP_BODY_TOO_LARGE', { code: 'body_too_large' }],
])

function parserProblem(error: Partial<FastifyError>, requestId: string): Problem | undefined {
  const known = error.code === undefined ? undefined : PARSER_ERRORS.get(error.code)
  if (known === undefined) return undefined
  const problem = genericProblem(
    error.statusCode ?? 400,
    known.code,
    error.message ?? '',
    requestId,
  )
  if (known.field !== undefined) problem.errors = { [known.field]: known.message ?? 'is not valid' }
  return problem
}

function validationProblem(error: FastifyError, requestId: string): Problem {
  const errors: Record<string, string> = {}
  for (const item of error.validation ?? []) {
    const field = fieldOf(item.instancePath, item.params)
    const where = error.validationContext ?? 'body'
    errors[where === 'body' ? field : `${where}.${field}`] ??= item.message ?? 'is not valid'
  }
  return {
    ...genericProblem(
      400,
      'invalid_request',
      `Some fields are not valid: ${Object.entries(errors)
        .map(([field, message]) => `${field} ${message}`)
        .join('; ')}`,
      requestId,
    ),
    errors,
  }
}

/**
 * `/api/v1`: the management API, compatible with Statuspage's REST API v1 (the same resources,
 * field names and `Authorization: OAuth <key>`), over the same domain services as the dashboard.
 * Every route takes an API key; a session cookie is never enough, so no CSRF applies.
 */
export async function registerApi(
  app: App,
  deps: ServerDeps,
  resources: readonly ((api: ApiInstance, deps: ServerDeps) => void)[],
): Promise<void> {
  const { services, config } = deps
  await app.register(
    async (api) => {
      for (const schema of NAMED_SCHEMAS) api.addSchema(schema)
      api.setValidatorCompiler(createValidatorCompiler())
      // Every POST takes an Idempotency-Key (the hook below): documented and checked on each one.
      // Added before the swagger plugin's own onRoute hook, so the document sees it.
      api.addHook('onRoute', (route) => {
        const methods = Array.isArray(route.method) ? route.method : [route.method]
        if (methods.includes('POST') && route.schema !== undefined)
          route.schema.headers ??= IdempotencyHeaders
      })
      await api.register(fastifySwagger, {
        openapi: {
          openapi: '3.1.0',
          info: {
            title: 'Candor management API',
            version: '1.0.0',
            description:
              'Compatible with the Statuspage REST API v1: change the base URL and keep your client. Authenticate with `Authorization: OAuth <key>` or `Authorization: Bearer <key>`; errors are `application/problem+json` with a stable `code`.',
          },
          servers: [{ url: new URL('/api/v1', config.baseUrl).toString() }],
          components: {
            securitySchemes: {
              apiKey: {
                type: 'apiKey',
                in: 'header',
                name: 'Authorization',
                description: '`OAuth <key>` (as Statuspage) or `Bearer <key>`',
              },
            },
          },
          security: [{ apiKey: [] }],
        },
        refResolver: {
          buildLocalReference: (json, _baseUri, _fragment, i) =>
            typeof json['$id'] === 'string' ? json['$id'] : `def-${String(i)}`,
        },
      })

      api.addHook('onRequest', async (request, reply) => {
        reply.header('Cache-Control', 'no-store')
        // The dashboard's session never authorises the API: only a key does.
        request.actor = undefined
        if (request.routeOptions.url === '/api/v1/openapi.json') return
        const header = request.headers.authorization ?? ''
        const match = /^(?:OAuth|Bearer)\s+(\S+)\s*$/i.exec(header)
        const actor =
          match?.[1] === undefined
            ? undefined
            : await services.apiKeys.authenticate(match[1], {
                ip: request.ip,
                userAgent: (request.headers['user-agent'] ?? '').slice(0, 500),
              })
        if (actor === undefined) {
          reply.header('WWW-Authenticate', 'Bearer realm="candor"')
          return sendProblem(
            reply,
            genericProblem(
              401,
              match === null ? 'missing_api_key' : 'invalid_api_key',
              match === null
                ? 'Send an API key: Authorization: OAuth <key> (or Bearer <key>).'
                : 'This API key is unknown, revoked or expired.',
              request.id,
            ),
          )
        }
        request.actor = actor
        return undefined
      })

      await api.register(fastifyRateLimit, {
        // A route's onRequest hooks run after the key is authenticated above and before the
        // Idempotency-Key is claimed, so a refused request never becomes the key's answer.
        hook: 'onRequest',
        max: config.apiRateLimitPerMinute,
        timeWindow: 60_000,
        enableDraftSpec: true,
        keyGenerator: (request) => request.actor?.apiKey?.id ?? request.ip,
        // Thrown by the plugin and answered by the error handler below, which needs an Error.
        errorResponseBuilder: (_request, context) =>
          Object.assign(
            new Error(
              `This API key made more than ${String(context.max)} requests in a minute. Wait ${String(Math.ceil(context.ttl / 1000))} s.`,
            ),
            { statusCode: 429, code: 'rate_limited' },
          ),
      })

      // Idempotency-Key (POST): the same key and body replay the first answer, another body is
      // refused, a concurrent duplicate waits for nothing and is told so.
      api.addHook('preHandler', async (request, reply) => {
        if (request.method !== 'POST') return undefined
        const key = request.headers['idempotency-key']
        const apiKeyId = request.actor?.apiKey?.id
        if (typeof key !== 'string' || apiKeyId === undefined) return undefined
        if (key === '' || key.length > IDEMPOTENCY_KEY_MAX)
          return sendProblem(
            reply,
            genericProblem(
              400,
              'invalid_idempotency_key',
              `Idempotency-Key must be 1 to ${String(IDEMPOTENCY_KEY_MAX)} characters.`,
              request.id,
            ),
          )
        const hash = createHash('sha256')
          .update(`${request.method} ${request.url}\n${JSON.stringify(request.body ?? null)}`)
          .digest('base64url')
        const outcome = await services.apiIdempotency.begin(apiKeyId, key, hash)
        if (outcome.kind === 'new') {
          request.idempotency = { apiKeyId, key }
          return undefined
        }
        if (outcome.kind === 'mismatch')
          return sendProblem(
            reply,
            genericProblem(
              422,
              'idempotency_key_reused',
              'This Idempotency-Key was used with another request body.',
              request.id,
            ),
          )
        if (outcome.kind === 'in_progress')
          return sendProblem(
            reply,
            genericProblem(
              409,
              'idempotency_in_progress',
              'A request with this Idempotency-Key is still being answered; retry in a moment.',
              request.id,
            ),
          )
        reply.header('Idempotent-Replayed', 'true')
        return reply
          .code(outcome.status)
          .type(outcome.status >= 400 ? 'application/problem+json' : 'application/json')
          .send(outcome.body)
      })

      api.addHook('onSend', async (request, reply, payload) => {
        const pending = request.idempotency
        if (pending === undefined) return payload
        request.idempotency = undefined
        // A server error or a rate limit is not an answer: the client may retry with the same key.
        if (reply.statusCode >= 500 || reply.statusCode === 429)
          await services.apiIdempotency.forget(pending.apiKeyId, pending.key)
        else
          await services.apiIdempotency.complete(
            pending.apiKeyId,
            pending.key,
            reply.statusCode,
            typeof payload === 'string' ? payload : '',
          )
        return payload
      })

      api.setErrorHandler((error: FastifyError | Error, request, reply) => {
        let problem: Problem
        const parsed = parserProblem(error, request.id)
        if (error instanceof DomainError) {
          problem = problemFromDomainError(error, request.id)
          if (error instanceof ValidationError)
            problem.errors = apiFieldNames(error.fields, request.body)
          if (error instanceof RateLimitedError)
            void reply.header('Retry-After', String(error.retryAfterSeconds))
        } else if ('validation' in error) {
          problem = validationProblem(error, request.id)
        } else if (parsed !== undefined) {
          problem = parsed
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
          request.log.error({ err: error, reqId: request.id }, 'API request failed')
          problem = genericProblem(
            500,
            'internal_error',
            'Something went wrong on our side. It has been logged; try again in a moment.',
            request.id,
          )
        }
        return sendProblem(reply, problem)
      })
      api.setNotFoundHandler((request, reply) =>
        sendProblem(
          reply,
          genericProblem(404, 'not_found', 'There is no such API resource.', request.id),
        ),
      )

      api.get('/openapi.json', { schema: { hide: true } }, () => api.swagger())
      for (const register of resources) register(api as unknown as App, deps)
    },
    { prefix: '/api/v1' },
  )
}

/** Sends one page of a list with RFC 8288 Link headers (first, prev, next) and the total. */
export function paginate<T>(
  request: FastifyRequest,
  reply: FastifyReply,
  items: readonly T[],
): T[] {
  const { offset, limit } = pageWindow(request)
  setPaginationHeaders(request, reply, items.length)
  return items.slice(offset, offset + limit)
}

/** The rows the `page` and `per_page` query parameters ask for. */
export function pageWindow(request: FastifyRequest): { offset: number; limit: number } {
  const query = request.query as { page?: number; per_page?: number }
  const perPage = query.per_page ?? 100
  return { offset: ((query.page ?? 1) - 1) * perPage, limit: perPage }
}

/** Link and X-Total-Count headers for a list read one page at a time from the database. */
export function setPaginationHeaders(
  request: FastifyRequest,
  reply: FastifyReply,
  total: number,
): void {
  const query = request.query as { page?: number; per_page?: number }
  const page = query.page ?? 1
  const perPage = query.per_page ?? 100
  const start = (page - 1) * perPage
  const url = new URL(request.url, 'http://x')
  const link = (n: number, rel: string) => {
    url.searchParams.set('page', String(n))
    url.searchParams.set('per_page', String(perPage))
    return `<${url.pathname}${url.search}>; rel="${rel}"`
  }
  const links = [link(1, 'first')]
  if (page > 1) links.push(link(page - 1, 'prev'))
  if (start + perPage < total) links.push(link(page + 1, 'next'))
  reply.header('Link', links.join(', '))
  reply.header('X-Total-Count', String(total))
}
