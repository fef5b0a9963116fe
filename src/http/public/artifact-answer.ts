import type { Artifact } from './page-cache.js'

/** Which of an artifact's bodies a request gets, or a 304 when it already has this version. */
export type AnswerForm = 'br' | 'gzip' | 'identity' | 'not-modified'

export interface AnswerPolicy {
  /** Public pages may be kept by shared caches; private ones only by the visitor's browser. */
  isPublic: boolean
  /** Embeddable elsewhere: badges in READMEs, JSON in widgets, feeds in readers. */
  cors: boolean
}

/**
 * The form of an artifact a request asks for. The Fastify routes and the raw fast path both
 * answer through this and answerHeaders(), so the two can never disagree.
 */
export function answerForm(
  artifact: Artifact,
  ifNoneMatch: string | undefined,
  acceptEncoding: string | undefined,
): AnswerForm {
  if (ifNoneMatch !== undefined && etagListed(ifNoneMatch, artifact.etag)) return 'not-modified'
  const accepted = acceptEncoding ?? ''
  if (/\bbr\b/.test(accepted)) return 'br'
  if (/\bgzip\b/.test(accepted)) return 'gzip'
  return 'identity'
}

function etagListed(ifNoneMatch: string, etag: string): boolean {
  // The common case (a browser revalidating) without splitting the header.
  if (ifNoneMatch === etag) return true
  return ifNoneMatch.split(',').some((tag) => tag.trim() === etag)
}

/** The body of one form; undefined for a 304. */
export function answerBody(artifact: Artifact, form: AnswerForm): Buffer | undefined {
  switch (form) {
    case 'br':
      return artifact.br
    case 'gzip':
      return artifact.gzip
    case 'identity':
      return artifact.body
    case 'not-modified':
      return undefined
  }
}

/**
 * The headers an artifact's answer sets on top of the security headers, in order, with names in
 * lower case as Fastify sends them. Content-Length is not here: Fastify adds it from the body.
 */
export function answerHeaders(
  artifact: Artifact,
  policy: AnswerPolicy,
  form: AnswerForm,
): [name: string, value: string][] {
  const headers: [string, string][] = [
    ['etag', artifact.etag],
    ['vary', 'Accept-Encoding'],
    ['cache-control', policy.isPublic ? 'public, no-cache' : 'private, no-cache'],
  ]
  if (policy.cors && policy.isPublic) {
    headers.push(
      ['access-control-allow-origin', '*'],
      ['cross-origin-resource-policy', 'cross-origin'],
    )
  }
  if (form === 'not-modified') return headers
  headers.push(['content-type', artifact.contentType])
  if (form !== 'identity') headers.push(['content-encoding', form])
  return headers
}
