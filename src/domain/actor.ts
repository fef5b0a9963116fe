import type { AuthMethod } from '../db/schema.js'

export type { AuthMethod }

/** Where a request came from, recorded with sessions and (later) the audit log. */
export interface RequestOrigin {
  ip: string
  userAgent: string
}

/**
 * A person acting through the dashboard, or through one of their API keys: a key acts with the
 * role its creator has now, further limited by the key's scope and pages.
 */
export interface UserActor extends RequestOrigin {
  type: 'user'
  userId: string
  sessionIdHash: string
  apiKey?: ApiKeyGrant
  /** Set for a person signed in through the dashboard; absent for API keys and Candor's own work. */
  session?: SessionGrant
}

export interface SessionGrant {
  method: AuthMethod
  /** When the person last proved who they are: at sign-in, or by re-authenticating. */
  authenticatedAt: Date
  /** The SSO connection that signed the session in, when it was single sign-on. */
  ssoConnectionId: string | null
  /** A session signed in by an account's identity provider reaches that account only. */
  ssoAccountId: string | null
}

export interface ApiKeyGrant {
  id: string
  accountId: string
  /** read: viewer at most; write: up to admin (owner-only actions need the owner in person). */
  scope: 'read' | 'write'
  /** The pages the key may touch; null for every page of its account. */
  pageIds: readonly string[] | null
}

export type Actor = UserActor
