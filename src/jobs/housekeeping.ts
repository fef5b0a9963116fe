import type { Kysely } from 'kysely'
import { pruneTokens } from '../auth/auth-token-repository.js'
import type { SessionService } from '../auth/session-service.js'
import { pruneThrottles } from '../auth/throttle.js'
import type { DatabaseSchema } from '../db/schema.js'
import type { Clock } from '../domain/clock.js'
import type { PeriodicJob } from './worker.js'

const DAY_MS = 24 * 60 * 60_000

/** Expired sessions, spent links and old throttle counters are deleted rather than kept forever. */
export function housekeepingJobs(deps: {
  db: Kysely<DatabaseSchema>
  sessions: SessionService
  clock: Clock
}): PeriodicJob[] {
  return [
    { name: 'prune-sessions', intervalMs: 15 * 60_000, run: () => deps.sessions.pruneExpired() },
    {
      name: 'prune-auth-tokens',
      intervalMs: 60 * 60_000,
      run: () => pruneTokens(deps.db, deps.clock.now()),
    },
    {
      name: 'prune-throttles',
      intervalMs: 60 * 60_000,
      run: () => pruneThrottles(deps.db, deps.clock.now(), DAY_MS),
    },
  ]
}
