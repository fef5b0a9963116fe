import { sql, type Kysely } from 'kysely'
import type { DatabaseSchema } from '../db/schema.js'
import { RateLimitedError } from '../domain/errors.js'

export interface ThrottleRule {
  maxFailures: number
  windowMs: number
  /** First block; each further failure while over the limit doubles it, up to maxBlockMs. */
  blockMs: number
  maxBlockMs: number
}

/** Brute force against one address, from anywhere: slows a targeted guess without locking anyone out for long. */
export const ACCOUNT_RULE: ThrottleRule = {
  maxFailures: 5,
  windowMs: 15 * 60_000,
  blockMs: 60_000,
  maxBlockMs: 60 * 60_000,
}
/** Credential stuffing from one address across many accounts. */
export const IP_RULE: ThrottleRule = {
  maxFailures: 30,
  windowMs: 15 * 60_000,
  blockMs: 5 * 60_000,
  maxBlockMs: 60 * 60_000,
}

type Db = Kysely<DatabaseSchema>

/** Throws RateLimitedError when any of the keys is blocked at `now`. */
export async function assertNotThrottled(
  db: Db,
  keys: readonly string[],
  now: Date,
): Promise<void> {
  const rows = await db
    .selectFrom('auth_throttles')
    .select('blocked_until')
    .where('key', 'in', keys)
    .where('blocked_until', '>', now.toISOString())
    .execute()
  const until = Math.max(
    0,
    ...rows.map((row) => (row.blocked_until === null ? 0 : Date.parse(row.blocked_until))),
  )
  if (until > now.getTime()) throw new RateLimitedError((until - now.getTime()) / 1000)
}

/** Counts a failure atomically (concurrent failures on several processes all count). */
export async function recordFailure(
  db: Db,
  key: string,
  rule: ThrottleRule,
  now: Date,
): Promise<void> {
  const windowStart = new Date(now.getTime() - rule.windowMs)
  const row = await db
    .insertInto('auth_throttles')
    .values({ key, failures: 1, window_started_at: now, blocked_until: null })
    .onConflict((oc) =>
      oc.column('key').doUpdateSet({
        failures: sql<number>`CASE WHEN auth_throttles.window_started_at < ${windowStart} THEN 1 ELSE auth_throttles.failures + 1 END`,
        window_started_at: sql<Date>`CASE WHEN auth_throttles.window_started_at < ${windowStart} THEN ${now} ELSE auth_throttles.window_started_at END`,
      }),
    )
    .returning('failures')
    .executeTakeFirstOrThrow()
  if (row.failures >= rule.maxFailures) {
    const over = row.failures - rule.maxFailures
    const blockMs = Math.min(rule.maxBlockMs, rule.blockMs * 2 ** Math.min(over, 20))
    await db
      .updateTable('auth_throttles')
      .set({ blocked_until: new Date(now.getTime() + blockMs) })
      .where('key', '=', key)
      .execute()
  }
}

export async function clearThrottle(db: Db, key: string): Promise<void> {
  await db.deleteFrom('auth_throttles').where('key', '=', key).execute()
}

export async function pruneThrottles(db: Db, now: Date, olderThanMs: number): Promise<number> {
  const cutoff = new Date(now.getTime() - olderThanMs)
  const result = await db
    .deleteFrom('auth_throttles')
    .where('window_started_at', '<', cutoff.toISOString())
    .where((eb) =>
      eb.or([eb('blocked_until', 'is', null), eb('blocked_until', '<', now.toISOString())]),
    )
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}
