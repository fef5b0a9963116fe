import type { Kysely } from 'kysely'
import type { DatabaseSchema } from '../db/schema.js'
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
  ): Promise<{ token: string; session: Session }> {
    const now = clock.now()
    const token = generateToken()
    const session: Session = {
      idHash: hashToken(token),
      userId,
      createdAt: now,
      lastSeenAt: now,
      expiresAt: new Date(now.getTime() + absoluteTimeoutMs),
      ip: origin.ip,
      userAgent: origin.userAgent.slice(0, USER_AGENT_MAX),
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
}): Session {
  return {
    idHash: row.id_hash,
    userId: row.user_id,
    createdAt: new Date(row.created_at),
    lastSeenAt: new Date(row.last_seen_at),
    expiresAt: new Date(row.expires_at),
    ip: row.ip,
    userAgent: row.user_agent,
  }
}
