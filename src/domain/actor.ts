/** Where a request came from, recorded with sessions and (later) the audit log. */
export interface RequestOrigin {
  ip: string
  userAgent: string
}

/** A signed-in person acting through the dashboard. */
export interface UserActor extends RequestOrigin {
  type: 'user'
  userId: string
  sessionIdHash: string
}

export type Actor = UserActor
