import type { Kysely } from 'kysely'
import type { AuthMethod, DatabaseSchema } from '../db/schema.js'
import { generateToken, hashToken } from '../crypto/tokens.js'
import type { Actor, RequestOrigin } from '../domain/actor.js'
import { auditOrigin, type AuditLog } from '../domain/audit/audit-log.js'
import type { Clock } from '../domain/clock.js'
import { NotFoundError } from '../domain/errors.js'

export interface Session {
  idHash: string
  userId: string
  createdAt: Date
  lastSeenAt: Date
  expiresAt: Date
  ip: string
  userAgent: string
  method: AuthMethod
  authenticatedAt: Date
  ssoConnectionId: string | null
  ssoAccountId: string | null
}

/** What single log-out needs to find and end a session signed in through an identity provider. */
export interface SsoSessionLink {
  connectionId: string
  accountId: string
  /** A blind index of the IdP's subject (NameID or sub). */
  subjectHash: string
  sessionIndex: string | null
  /** Encrypted details an SP-initiated log-out sends back to the IdP. */
  logoutCiphertext: string | null
}

export interface SessionServiceOptions {
  db: Kysely<DatabaseSchema>
  clock: Clock
  idleTimeoutMs: number
  absoluteTimeoutMs: number
  audit: AuditLog
}

/** last_seen_at is refreshed at most this often, so reading a page is not a write every time. */
const TOUCH_INTERVAL_MS = 60_000
const USER_AGENT_MAX = 512

export type SessionService = ReturnType<typeof createSessionService>

/**
 * Server-side sessions. The cookie carries a 256-bit random token; the database keeps only its
 * SHA-256, so a copy of the database cannot be replayed as a cookie.
 */
export function createSessionService({
  db,
  clock,
  idleTimeoutMs,
  absoluteTimeoutMs,
  audit,
}: SessionServiceOptions) {
  async function create(
    userId: string,
    origin: RequestOrigin,
    options: { method?: AuthMethod; sso?: SsoSessionLink } = {},
  ): Promise<{ token: string; session: Session }> {
    const now = clock.now()
    const sso = options.sso
    const token = generateToken()
    const session: Session = {
      idHash: hashToken(token),
      userId,
      createdAt: now,
      lastSeenAt: now,
      expiresAt: new Date(now.getTime() + absoluteTimeoutMs),
      ip: origin.ip,
      userAgent: origin.userAgent.slice(0, USER_AGENT_MAX),
      method: options.method ?? 'password',
      authenticatedAt: now,
      ssoConnectionId: sso?.connectionId ?? null,
      ssoAccountId: sso?.accountId ?? null,
    }
    await db
      .insertInto('sessions')
      .values({
        id_hash: session.idHash,
        user_id: userId,
        created_at: now,
        last_seen_at: now,
        expires_at: session.expiresAt,
        ip: session.ip,
        user_agent: session.userAgent,
        auth_method: session.method,
        authenticated_at: now,
        sso_connection_id: sso?.connectionId ?? null,
        sso_account_id: sso?.accountId ?? null,
        sso_subject_hash: sso?.subjectHash ?? null,
        sso_session_index: sso?.sessionIndex ?? null,
        sso_logout_ciphertext: sso?.logoutCiphertext ?? null,
      })
      .execute()
    return { token, session }
  }

  /** The live session behind a cookie token, or undefined when it is unknown, idle too long or past its end. */
  async function authenticate(token: string): Promise<Session | undefined> {
    if (token.length === 0 || token.length > 128) return undefined
    const idHash = hashToken(token)
    const row = await db
      .selectFrom('sessions')
      .selectAll()
      .where('id_hash', '=', idHash)
      .executeTakeFirst()
    if (row === undefined) return undefined
    const session = toSession(row)
    const now = clock.now()
    if (session.expiresAt <= now || session.lastSeenAt.getTime() + idleTimeoutMs <= now.getTime()) {
      await db.deleteFrom('sessions').where('id_hash', '=', idHash).execute()
      return undefined
    }
    if (now.getTime() - session.lastSeenAt.getTime() >= TOUCH_INTERVAL_MS) {
      await db
        .updateTable('sessions')
        .set({ last_seen_at: now })
        .where('id_hash', '=', idHash)
        .execute()
      session.lastSeenAt = now
    }
    return session
  }

  /**
   * Replaces a session's id, keeping its user and absolute end: used when privileges change, so a
   * token captured before the change is worthless after it.
   */
  async function rotate(idHash: string): Promise<{ token: string; session: Session }> {
    const token = generateToken()
    const newIdHash = hashToken(token)
    const now = clock.now()
    const result = await db
      .updateTable('sessions')
      .set({ id_hash: newIdHash, last_seen_at: now })
      .where('id_hash', '=', idHash)
      .executeTakeFirst()
    if (Number(result.numUpdatedRows) !== 1) throw new NotFoundError('The session')
    const row = await db
      .selectFrom('sessions')
      .selectAll()
      .where('id_hash', '=', newIdHash)
      .executeTakeFirstOrThrow()
    return { token, session: toSession(row) }
  }

  /**
   * The person proved who they are again (password, second factor or passkey): actions that ask
   * for a recent proof are allowed for a few minutes. A stronger method upgrades the session.
   */
  async function markAuthenticated(idHash: string, method?: AuthMethod): Promise<void> {
    const now = clock.now()
    await db
      .updateTable('sessions')
      .set(
        method === undefined
          ? { authenticated_at: now }
          : { authenticated_at: now, auth_method: method },
      )
      .where('id_hash', '=', idHash)
      .execute()
  }

  /** What an SP-initiated single log-out must send to the IdP, or undefined for other sessions. */
  async function ssoLogoutDetails(
    idHash: string,
  ): Promise<{ connectionId: string; logoutCiphertext: string | null } | undefined> {
    const row = await db
      .selectFrom('sessions')
      .select(['sso_connection_id', 'sso_logout_ciphertext'])
      .where('id_hash', '=', idHash)
      .executeTakeFirst()
    if (row?.sso_connection_id == null) return undefined
    return { connectionId: row.sso_connection_id, logoutCiphertext: row.sso_logout_ciphertext }
  }

  /**
   * An IdP-initiated log-out: ends the sessions this connection signed in for the subject, only
   * those of the IdP session named when it names one. Returns the user ids whose sessions ended.
   */
  async function revokeSsoSessions(
    connectionId: string,
    subjectHash: string,
    sessionIndexes: readonly string[] = [],
  ): Promise<{ userId: string; idHash: string }[]> {
    return db.transaction().execute(async (trx) => {
      let query = trx
        .selectFrom('sessions')
        .select(['id_hash', 'user_id'])
        .where('sso_connection_id', '=', connectionId)
        .where('sso_subject_hash', '=', subjectHash)
      if (sessionIndexes.length > 0)
        query = query.where('sso_session_index', 'in', [...sessionIndexes])
      const rows = await query.execute()
      if (rows.length > 0)
        await trx
          .deleteFrom('sessions')
          .where(
            'id_hash',
            'in',
            rows.map((row) => row.id_hash),
          )
          .execute()
      return rows.map((row) => ({ userId: row.user_id, idHash: row.id_hash }))
    })
  }

  async function listForUser(userId: string): Promise<Session[]> {
    const now = clock.now()
    const rows = await db
      .selectFrom('sessions')
      .selectAll()
      .where('user_id', '=', userId)
      .where('expires_at', '>', now.toISOString())
      .where('last_seen_at', '>', new Date(now.getTime() - idleTimeoutMs).toISOString())
      .orderBy('last_seen_at', 'desc')
      .execute()
    return rows.map(toSession)
  }

  /**
   * Ends one of the user's own sessions; another user's session id is simply not found. With
   * `by` (the person in the dashboard), it is recorded in the audit log.
   */
  async function revoke(userId: string, idHash: string, by?: Actor): Promise<void> {
    await db.transaction().execute(async (trx) => {
      const result = await trx
        .deleteFrom('sessions')
        .where('id_hash', '=', idHash)
        .where('user_id', '=', userId)
        .executeTakeFirst()
      if (Number(result.numDeletedRows) === 0) throw new NotFoundError('The session')
      if (by !== undefined)
        await audit.recordForUser(trx, userId, {
          ...auditOrigin(by),
          action: 'auth.session_revoked',
          target: { type: 'user', id: userId },
          details: { current: idHash === by.sessionIdHash },
        })
    })
  }

  /** "Sign out everywhere" (or every other session, with `except`); audited when `by` is given. */
  async function revokeAll(
    userId: string,
    options: { except?: string; by?: Actor } = {},
  ): Promise<number> {
    return db.transaction().execute(async (trx) => {
      let query = trx.deleteFrom('sessions').where('user_id', '=', userId)
      if (options.except !== undefined) query = query.where('id_hash', '!=', options.except)
      const result = await query.executeTakeFirst()
      const ended = Number(result.numDeletedRows)
      if (options.by !== undefined)
        await audit.recordForUser(trx, userId, {
          ...auditOrigin(options.by),
          action:
            options.except === undefined
              ? 'auth.signed_out_everywhere'
              : 'auth.signed_out_other_sessions',
          target: { type: 'user', id: userId },
          details: { sessions: ended },
        })
      return ended
    })
  }

  async function pruneExpired(): Promise<number> {
    const now = clock.now()
    const result = await db
      .deleteFrom('sessions')
      .where((eb) =>
        eb.or([
          eb('expires_at', '<=', now.toISOString()),
          eb('last_seen_at', '<=', new Date(now.getTime() - idleTimeoutMs).toISOString()),
        ]),
      )
      .executeTakeFirst()
    return Number(result.numDeletedRows)
  }

  return {
    create,
    authenticate,
    rotate,
    markAuthenticated,
    ssoLogoutDetails,
    revokeSsoSessions,
    listForUser,
    revoke,
    revokeAll,
    pruneExpired,
    absoluteTimeoutMs,
  }
}

function toSession(row: {
  id_hash: string
  user_id: string
  created_at: string
  last_seen_at: string
  expires_at: string
  ip: string
  user_agent: string
  auth_method: AuthMethod
  authenticated_at: string | null
  sso_connection_id: string | null
  sso_account_id: string | null
}): Session {
  return {
    idHash: row.id_hash,
    userId: row.user_id,
    createdAt: new Date(row.created_at),
    lastSeenAt: new Date(row.last_seen_at),
    expiresAt: new Date(row.expires_at),
    ip: row.ip,
    userAgent: row.user_agent,
    method: row.auth_method,
    authenticatedAt: new Date(row.authenticated_at ?? row.created_at),
    ssoConnectionId: row.sso_connection_id,
    ssoAccountId: row.sso_account_id,
  }
}
