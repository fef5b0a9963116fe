import type { Kysely } from 'kysely'
import { pruneAuthFlows } from '../auth/auth-flows.js'
import { pruneTokens } from '../auth/auth-token-repository.js'
import type { SessionService } from '../auth/session-service.js'
import { pruneThrottles } from '../auth/throttle.js'
import type { DatabaseSchema } from '../db/schema.js'
import type { NotifyConfig } from '../config.js'
import type { IdempotencyStore } from '../domain/api-keys/idempotency.js'
import type { Clock } from '../domain/clock.js'
import type { IncidentService } from '../domain/pages/incident-service.js'
import type { NotificationService } from '../domain/subscribers/notification-service.js'
import type { SubscriberService } from '../domain/subscribers/subscriber-service.js'
import type { PeriodicJob } from './worker.js'

const DAY_MS = 24 * 60 * 60_000

/** Expired sessions, spent links and old throttle counters are deleted rather than kept forever. */
export function housekeepingJobs(deps: {
  db: Kysely<DatabaseSchema>
  sessions: SessionService
  clock: Clock
  notifications: NotificationService
  subscribers: SubscriberService
  incidents: Pick<IncidentService, 'runMaintenanceTransitions'>
  apiIdempotency: Pick<IdempotencyStore, 'prune'>
  notify: NotifyConfig
}): PeriodicJob[] {
  return [
    {
      // Starts and completes maintenances on time; after downtime it catches up on the first run.
      name: 'maintenance-transitions',
      intervalMs: 15_000,
      run: () => deps.incidents.runMaintenanceTransitions(),
    },
    ...(deps.notify.reminderMs > 0
      ? [
          {
            name: 'maintenance-reminders',
            intervalMs: 60_000,
            run: () => deps.notifications.sendMaintenanceReminders(),
          },
        ]
      : []),
    {
      name: 'purge-inactive-subscribers',
      intervalMs: 60 * 60_000,
      run: () => deps.subscribers.purgeInactive(deps.notify.unconfirmedRetentionMs),
    },
    {
      name: 'prune-deliveries',
      intervalMs: 60 * 60_000,
      run: () => deps.notifications.pruneDeliveries(deps.notify.deliveryRetentionMs),
    },
    { name: 'prune-sessions', intervalMs: 15 * 60_000, run: () => deps.sessions.pruneExpired() },
    {
      name: 'prune-auth-tokens',
      intervalMs: 60 * 60_000,
      run: () => pruneTokens(deps.db, deps.clock.now()),
    },
    {
      // Second steps of sign-ins, pending TOTP set-ups and WebAuthn challenges past their end.
      name: 'prune-auth-flows',
      intervalMs: 15 * 60_000,
      run: () => pruneAuthFlows(deps.db, deps.clock.now()),
    },
    {
      // Answers kept for Idempotency-Key replays (24 hours).
      name: 'prune-idempotency-keys',
      intervalMs: 60 * 60_000,
      run: () => deps.apiIdempotency.prune(),
    },
    {
      name: 'prune-throttles',
      intervalMs: 60 * 60_000,
      run: () => pruneThrottles(deps.db, deps.clock.now(), DAY_MS),
    },
  ]
}
