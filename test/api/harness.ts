import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js'
import ajvFormats from 'ajv-formats'
import type { LightMyRequestResponse } from 'fastify'
import { expect } from 'vitest'
import type { Actor } from '../../src/domain/actor.js'
import type { TestApp } from '../helpers/build-app.js'

export const API = '/api/v1'

/** The fields of a component, in Statuspage's order. */
export const COMPONENT_FIELDS = [
  'id',
  'page_id',
  'group_id',
  'created_at',
  'updated_at',
  'group',
  'name',
  'description',
  'position',
  'status',
  'showcase',
  'only_show_if_degraded',
  'automation_email',
  'start_date',
]

export interface ApiPage {
  id: string
  name: string
  subdomain: string
  url: string
  time_zone: string
  branding: string
  support_url: string | null
  homepage_url: string | null
  domain: string | null
}

export interface ApiComponent {
  id: string
  page_id: string
  group_id: string | null
  group: boolean
  name: string
  description: string | null
  position: number
  status: string
  showcase: boolean
  only_show_if_degraded: boolean
  start_date: string | null
  created_at: string
  updated_at: string
}

export interface ApiGroup {
  id: string
  page_id: string
  name: string
  description: string | null
  components: string[]
  position: number
}

export interface ApiAffected {
  code: string
  name: string
  old_status: string
  new_status: string
}

export interface ApiIncidentUpdate {
  id: string
  incident_id: string
  status: string
  body: string
  display_at: string
  created_at: string
  affected_components: ApiAffected[] | null
  deliver_notifications: boolean
}

export interface ApiIncident {
  id: string
  page_id: string
  name: string
  status: string
  impact: string
  impact_override: string | null
  started_at: string
  monitoring_at: string | null
  resolved_at: string | null
  shortlink: string
  scheduled_for: string | null
  scheduled_until: string | null
  scheduled_auto_in_progress: boolean
  scheduled_auto_completed: boolean
  incident_updates: ApiIncidentUpdate[]
  components: ApiComponent[]
}

export interface ApiTemplate {
  id: string
  page_id: string
  name: string
  title: string
  body: string
  update_status: string
  impact: string
}

export interface ApiProblem {
  type: string
  title: string
  status: number
  detail: string
  code: string
  requestId: string
  errors?: Record<string, string>
}

export type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE'

export interface ApiRequest {
  method: Method
  /** Under /api/v1, e.g. `/pages/abc/components`. */
  path: string
  /** The secret of an API key; without it the request carries no Authorization header. */
  key?: string | undefined
  scheme?: 'OAuth' | 'Bearer'
  body?: unknown
  /** Sent as is, with Content-Type application/json (malformed JSON). */
  rawBody?: string
  headers?: Record<string, string>
}

export class ApiResponse {
  constructor(readonly raw: LightMyRequestResponse) {}

  get status(): number {
    return this.raw.statusCode
  }

  get text(): string {
    return this.raw.body
  }

  header(name: string): string | undefined {
    const value = this.raw.headers[name.toLowerCase()]
    return value === undefined ? undefined : String(value)
  }

  /**
   * The parsed body, as the type the test expects: every response of a documented route has
   * already been checked against the OpenAPI document's schema (see Contract).
   */
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the type it expects
  json<T>(): T {
    return JSON.parse(this.raw.body) as T
  }

  problem(): ApiProblem {
    expect(this.header('content-type')).toMatch(/^application\/problem\+json/)
    return this.json<ApiProblem>()
  }
}

/** A response that no server sent, to show that the contract check refuses a wrong one. */
export function fakeResponse(statusCode: number, body: string, contentType: string): ApiResponse {
  const raw: Pick<LightMyRequestResponse, 'statusCode' | 'body' | 'headers'> = {
    statusCode,
    body,
    headers: { 'content-type': contentType },
  }
  // ApiResponse reads only these three fields.
  return new ApiResponse(raw as LightMyRequestResponse)
}

/** Expects a problem+json answer with this status and code; returns it. */
export function expectProblem(response: ApiResponse, status: number, code: string): ApiProblem {
  expect(response.status, response.text).toBe(status)
  const problem = response.problem()
  expect(problem.status).toBe(status)
  expect(problem.code).toBe(code)
  return problem
}

/** Expects a 400 whose `errors` name these fields (and possibly others). */
export function expectInvalid(response: ApiResponse, ...fields: string[]): ApiProblem {
  expect(response.status, response.text).toBe(400)
  const problem = response.problem()
  expect(['invalid_request', 'invalid_json']).toContain(problem.code)
  for (const field of fields) expect(problem.errors ?? {}, response.text).toHaveProperty([field])
  return problem
}

/** Expects a 422 from a service's checks, with `errors` naming these fields by their API names. */
export function expectRefused(response: ApiResponse, ...fields: string[]): ApiProblem {
  const problem = expectProblem(response, 422, 'validation_failed')
  for (const field of fields) expect(problem.errors ?? {}, response.text).toHaveProperty([field])
  return problem
}

interface Operation {
  responses?: Record<
    string,
    { content?: Record<string, { schema?: unknown }> | undefined } | undefined
  >
}

export interface OpenApiDocument {
  openapi: string
  paths: Record<string, Record<string, Operation>>
  components?: { schemas?: Record<string, unknown> }
}

const DOCUMENT_ID = 'https://candor.test/openapi.json'

const escapePointer = (segment: string) => segment.replaceAll('~', '~0').replaceAll('/', '~1')

/**
 * The OpenAPI document as a contract: each response of a documented operation must be one of its
 * documented statuses, with a documented content type, and match its schema. Schemas are compiled
 * by Ajv (JSON Schema 2020-12, the dialect of OpenAPI 3.1) as pointers into the whole document,
 * so `#/components/schemas/...` references resolve as they do for a client.
 */
export class Contract {
  readonly #ajv: Ajv2020
  readonly #validators = new Map<string, ValidateFunction>()
  readonly #templates: { template: string; pattern: RegExp; params: number }[]
  /** "METHOD /template STATUS" of every checked response. */
  readonly seen = new Set<string>()

  constructor(readonly document: OpenApiDocument) {
    this.#ajv = new Ajv2020({ strict: false, allErrors: true })
    ajvFormats.default(this.#ajv)
    this.#ajv.addSchema({ ...document, $id: DOCUMENT_ID })
    this.#templates = Object.keys(document.paths)
      .map((template) => ({
        template,
        pattern: new RegExp(
          `^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`,
        ),
        params: (template.match(/\{/g) ?? []).length,
      }))
      // A literal segment wins over a parameter: /incidents/unresolved is not /incidents/{id}.
      .sort((a, b) => a.params - b.params)
  }

  /** The documented path template a request path (under /api/v1) falls under. */
  templateOf(path: string): string | undefined {
    const bare = path.split('?')[0] ?? path
    return this.#templates.find((t) => t.pattern.test(bare))?.template
  }

  check(method: Method, path: string, response: ApiResponse): void {
    const template = this.templateOf(path)
    const operation =
      template === undefined ? undefined : this.document.paths[template]?.[method.toLowerCase()]
    if (template === undefined || operation === undefined) return
    const where = `${method} ${template} → ${String(response.status)}`
    this.seen.add(`${method} ${template} ${String(response.status)}`)
    const documented = operation.responses?.[String(response.status)]
    expect(documented, `${where} is not a documented response: ${response.text}`).toBeDefined()
    const content = documented?.content
    if (content === undefined || Object.keys(content).length === 0) {
      expect(response.text, `${where} documents no body`).toBe('')
      return
    }
    const mediaType = (response.header('content-type') ?? '').split(';')[0]?.trim() ?? ''
    expect(Object.keys(content), `${where}: content type`).toContain(mediaType)
    const validate = this.#validator(template, method, response.status, mediaType)
    const body: unknown = JSON.parse(response.text)
    if (!validate(body))
      expect.fail(
        `${where} does not match the document: ${formatErrors(validate.errors)}\n${response.text.slice(0, 2000)}`,
      )
  }

  #validator(template: string, method: Method, status: number, mediaType: string) {
    const pointer = [
      'paths',
      template,
      method.toLowerCase(),
      'responses',
      String(status),
      'content',
      mediaType,
      'schema',
    ]
      .map(escapePointer)
      .join('/')
    let validate = this.#validators.get(pointer)
    if (validate === undefined) {
      validate = this.#ajv.compile({ $ref: `${DOCUMENT_ID}#/${pointer}` })
      this.#validators.set(pointer, validate)
    }
    return validate
  }
}

function formatErrors(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .slice(0, 8)
    .map((e) => `${e.instancePath || '(root)'} ${e.message ?? ''} ${JSON.stringify(e.params)}`)
    .join('; ')
}

/** Calls the API through app.inject() and checks every answer against the OpenAPI document. */
export class ApiClient {
  private constructor(
    readonly t: TestApp,
    readonly contract: Contract,
  ) {}

  static async open(t: TestApp): Promise<ApiClient> {
    const response = await t.app.inject({ method: 'GET', url: `${API}/openapi.json` })
    expect(response.statusCode).toBe(200)
    return new ApiClient(t, new Contract(JSON.parse(response.body) as OpenApiDocument))
  }

  async request(request: ApiRequest): Promise<ApiResponse> {
    const headers: Record<string, string> = { ...request.headers }
    if (request.key !== undefined)
      headers['authorization'] = `${request.scheme ?? 'OAuth'} ${request.key}`
    let payload: string | undefined
    if (request.rawBody !== undefined) payload = request.rawBody
    else if (request.body !== undefined) payload = JSON.stringify(request.body)
    if (payload !== undefined) headers['content-type'] ??= 'application/json'
    const raw = await this.t.app.inject({
      method: request.method,
      url: `${API}${request.path}`,
      headers,
      ...(payload === undefined ? {} : { payload }),
    })
    const response = new ApiResponse(raw)
    this.contract.check(request.method, request.path, response)
    return response
  }

  get(key: string | undefined, path: string, headers?: Record<string, string>) {
    return this.request({ method: 'GET', path, key, ...(headers === undefined ? {} : { headers }) })
  }

  post(key: string | undefined, path: string, body: unknown, headers?: Record<string, string>) {
    return this.request({
      method: 'POST',
      path,
      key,
      body,
      ...(headers === undefined ? {} : { headers }),
    })
  }

  patch(key: string | undefined, path: string, body: unknown) {
    return this.request({ method: 'PATCH', path, key, body })
  }

  put(key: string | undefined, path: string, body: unknown) {
    return this.request({ method: 'PUT', path, key, body })
  }

  delete(key: string | undefined, path: string) {
    return this.request({ method: 'DELETE', path, key })
  }

  /** A new API key of the account, created by `actor` (an admin or the owner); its secret. */
  async key(
    actor: Actor,
    accountId: string,
    options: { scope?: 'read' | 'write'; pageIds?: string[]; expiresAt?: Date } = {},
  ): Promise<string> {
    const { secret } = await this.t.runtime.services.apiKeys.create(actor, accountId, {
      name: `key ${String(Math.random()).slice(2, 8)}`,
      scope: options.scope ?? 'write',
      ...(options.pageIds === undefined ? {} : { pageIds: options.pageIds }),
      ...(options.expiresAt === undefined ? {} : { expiresAt: options.expiresAt }),
    })
    return secret
  }
}

/**
 * Every route of the application with its methods, read from Fastify's route tree: the routes
 * exist before buildTestApp's beforeReady runs (each plugin is awaited), so an onRoute hook added
 * there would see none of them.
 */
export function registeredRoutes(app: TestApp['app']): { method: string; url: string }[] {
  const routes: { method: string; url: string }[] = []
  const stack: string[] = []
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^((?:[│ ] {3})*)[├└]── (.+?)(?: \(([A-Z, ]+)\))?$/.exec(line)
    if (match === null) continue
    const depth = (match[1] ?? '').length / 4
    stack.length = depth
    const url = `${stack[depth - 1] ?? ''}${match[2] ?? ''}`.replace(/^\/\//, '/')
    stack.push(url)
    for (const method of (match[3] ?? '').split(', ').filter(Boolean)) routes.push({ method, url })
  }
  return routes
}

/** Polls until the check passes: public pages are re-rendered in the background after a change. */
export async function eventually<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  ms = 10_000,
): Promise<T> {
  const deadline = Date.now() + ms
  let last: unknown
  for (;;) {
    try {
      const value = await check()
      if (value !== undefined && value !== false) return value
    } catch (error) {
      last = error
    }
    if (Date.now() > deadline) throw last instanceof Error ? last : new Error('not in time')
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}
