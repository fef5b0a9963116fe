export type DomainErrorKind =
  'not_found' | 'conflict' | 'validation' | 'forbidden' | 'unauthenticated' | 'rate_limited'

/**
 * Errors a user can cause and understand. Their messages are written for the person on the other
 * end and are safe to show; anything else that is thrown is an internal error and is never shown.
 */
export abstract class DomainError extends Error {
  abstract readonly kind: DomainErrorKind
  /** A stable, machine-readable code such as `invalid_credentials`. */
  readonly code: string

  constructor(code: string, message: string) {
    super(message)
    this.code = code
    this.name = new.target.name
  }
}

export class NotFoundError extends DomainError {
  readonly kind = 'not_found'
  constructor(what = 'The resource', code = 'not_found') {
    super(code, `${what} was not found.`)
  }
}

export class ConflictError extends DomainError {
  readonly kind = 'conflict'
}

export class ValidationError extends DomainError {
  readonly kind = 'validation'
  /** Field name → what is wrong with it. */
  readonly fields: Readonly<Record<string, string>>

  constructor(
    fields: Record<string, string>,
    message = 'Some fields are not valid.',
    code = 'validation_failed',
  ) {
    super(code, message)
    this.fields = fields
  }
}

export class ForbiddenError extends DomainError {
  readonly kind = 'forbidden'
  constructor(message = 'You are not allowed to do this.', code = 'forbidden') {
    super(code, message)
  }
}

export class UnauthenticatedError extends DomainError {
  readonly kind = 'unauthenticated'
  constructor(message = 'Sign in to continue.', code = 'unauthenticated') {
    super(code, message)
  }
}

export class RateLimitedError extends DomainError {
  readonly kind = 'rate_limited'
  readonly retryAfterSeconds: number
  constructor(
    retryAfterSeconds: number,
    message = 'Too many attempts. Wait a moment and try again.',
  ) {
    super('rate_limited', message)
    this.retryAfterSeconds = Math.max(1, Math.ceil(retryAfterSeconds))
  }
}
