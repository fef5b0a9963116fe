import type { IncomingMessage, ServerResponse } from 'node:http'
import { performance } from 'node:perf_hooks'
import type { Logger } from 'pino'
import { answerBody, answerForm, answerHeaders, type AnswerForm } from './artifact-answer.js'
import type { Artifact } from './page-cache.js'
import type { PeekPublic } from './public-routes.js'

export interface FastPathOptions {
  /** The headers every response carries, as the server's onRequest hook sets them. */
  securityHeaders: Readonly<Record<string, string>>
  /** The server's request id generator (the same one Fastify's genReqId uses). */
  nextRequestId: () => string
  /** The URL as the router sees it: the server's host routing applied to Host and the URL. */
  route: (host: string | undefined, url: string) => string
  peek: PeekPublic
  /** Cookies that make Fastify do work for the request (a session to authenticate). */
  needsFastify: (cookieHeader: string) => boolean
  /** Set when Fastify logs every request: the fast path then logs the same two lines. */
  requestLogger: Logger | undefined
}

/** One answer's status, headers (a flat name/value list) and body; only the request id varies. */
interface Wire {
  status: 200 | 304
  headers: string[]
  idSlot: number
  body: Buffer | undefined
}

/** HEAD has its own 304: Fastify's HEAD routes say Content-Length: 0 there. */
type WireForm = AnswerForm | 'not-modified-head'
type Wires = Partial<Record<WireForm, Wire>>

/**
 * Answers a GET or HEAD of a public page's rendered artifact straight from memory, without
 * Fastify's per-request machinery (routing, hooks, request and reply objects, header merging),
 * which cost more CPU than the answer itself. It answers with exactly the status, headers and
 * body the Fastify route gives (both build them with artifact-answer.ts), and returns false,
 * touching nothing, for every request it does not answer, which then goes to Fastify.
 */
export function createFastPath(
  options: FastPathOptions,
): (request: IncomingMessage, response: ServerResponse) => boolean {
  const { securityHeaders, nextRequestId, route, peek, needsFastify, requestLogger } = options
  const security = Object.entries(securityHeaders)
  /** Per artifact, per CORS policy: the headers are built once per version, not per request. */
  const wiresOf = new WeakMap<Artifact, { plain?: Wires; cors?: Wires }>()

  function wireFor(artifact: Artifact, cors: boolean, form: WireForm): Wire {
    let byPolicy = wiresOf.get(artifact)
    if (byPolicy === undefined) {
      byPolicy = {}
      wiresOf.set(artifact, byPolicy)
    }
    const wires = cors ? (byPolicy.cors ??= {}) : (byPolicy.plain ??= {})
    let wire = wires[form]
    if (wire === undefined) {
      wire = buildWire(artifact, cors, form)
      wires[form] = wire
    }
    return wire
  }

  /** The header list Fastify ends up with: security headers, the request id, then the answer's. */
  function buildWire(artifact: Artifact, cors: boolean, wireForm: WireForm): Wire {
    const form = wireForm === 'not-modified-head' ? 'not-modified' : wireForm
    const merged = new Map<string, string>(security)
    merged.set('x-request-id', '')
    for (const [name, value] of answerHeaders(artifact, { isPublic: true, cors }, form))
      merged.set(name, value)
    const body = answerBody(artifact, form)
    // Fastify sets Content-Length from the body; its HEAD routes always set it (0 for a 304).
    if (body !== undefined) merged.set('content-length', String(body.length))
    else if (wireForm === 'not-modified-head') merged.set('content-length', '0')
    const headers = [...merged].flat()
    return {
      status: body === undefined ? 304 : 200,
      headers,
      idSlot: headers.indexOf('x-request-id') + 1,
      body,
    }
  }

  return function answerFromMemory(request, response) {
    const method = request.method
    if (method !== 'GET' && method !== 'HEAD') return false
    const { headers } = request
    if (headers.cookie !== undefined && needsFastify(headers.cookie)) return false
    const url = route(headers.host, request.url ?? '/')
    const hit = peek(url)
    if (hit === undefined) return false
    const form = answerForm(hit.artifact, headers['if-none-match'], headers['accept-encoding'])
    const wire = wireFor(
      hit.artifact,
      hit.cors,
      form === 'not-modified' && method === 'HEAD' ? 'not-modified-head' : form,
    )
    const id = nextRequestId()
    if (requestLogger !== undefined) logRequest(requestLogger, request, response, id, url)
    // The list is shared by every answer of this form; writeHead copies it before returning.
    wire.headers[wire.idSlot] = id
    response.writeHead(wire.status, wire.headers)
    if (wire.body === undefined || method === 'HEAD') response.end()
    else response.end(wire.body)
    return true
  }
}

/** The two lines Fastify logs for a request, with the same fields. */
function logRequest(
  logger: Logger,
  request: IncomingMessage,
  response: ServerResponse,
  id: string,
  url: string,
): void {
  const startedAt = performance.now()
  logger.info(
    {
      reqId: id,
      req: { id, method: request.method, url, ip: request.socket.remoteAddress },
    },
    'incoming request',
  )
  const done = (error?: Error) => {
    response.removeListener('finish', done)
    response.removeListener('error', done)
    const res = { statusCode: response.statusCode }
    const responseTime = performance.now() - startedAt
    if (error === undefined) logger.info({ reqId: id, res, responseTime }, 'request completed')
    else logger.error({ reqId: id, res, err: error, responseTime }, 'request errored')
  }
  response.on('finish', done)
  response.on('error', done)
}
