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
