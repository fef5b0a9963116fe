import { ValidationError, type DomainError, type DomainErrorKind } from '../domain/errors.js'

/** Exhaustive: a new kind of domain error does not compile until it has a status here. */
export const STATUS_BY_KIND: Record<DomainErrorKind, number> = {
  not_found: 404,
  conflict: 409,
  validation: 422,
  forbidden: 403,
  unauthenticated: 401,
  rate_limited: 429,
}

export interface Problem {
  type: string
  title: string
  status: number
  detail: string
  code: string
  requestId: string
  errors?: Record<string, string>
}

const TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Sign-in required',
  403: 'Forbidden',
  404: 'Not found',
  405: 'Method not allowed',
  409: 'Conflict',
  413: 'Request too large',
  415: 'Unsupported media type',
  422: 'Invalid input',
  429: 'Too many requests',
  500: 'Internal error',
  503: 'Service unavailable',
}

export function titleFor(status: number): string {
  return TITLES[status] ?? (status >= 500 ? 'Internal error' : 'Request error')
}

export function problemFromDomainError(error: DomainError, requestId: string): Problem {
  const status = STATUS_BY_KIND[error.kind]
  return {
    type: `https://candor.dev/problems/${error.code}`,
    title: titleFor(status),
    status,
    detail: error.message,
    code: error.code,
    requestId,
    ...(error instanceof ValidationError ? { errors: { ...error.fields } } : {}),
  }
}

export function genericProblem(
  status: number,
  code: string,
  detail: string,
  requestId: string,
): Problem {
  return {
    type: `https://candor.dev/problems/${code}`,
    title: titleFor(status),
    status,
    detail,
    code,
    requestId,
  }
}
