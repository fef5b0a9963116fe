import type { Kysely } from 'kysely'
import type { DatabaseSchema } from '../../db/schema.js'
import type { ComponentStatus } from './types.js'

/** What happened, as told to subscribers; one notification event per change worth telling. */
export const NOTIFICATION_EVENT_TYPES = [
  'incident.created',
  'incident.updated',
  'maintenance.scheduled',
  'maintenance.reminder',
  'maintenance.started',
  'maintenance.updated',
  'maintenance.completed',
  'component.updated',
] as const
export type NotificationEventType = (typeof NOTIFICATION_EVENT_TYPES)[number]

/**
 * Told, inside the transaction of a change, that subscribers should hear about it. The
 * implementation records the event and queues its fan-out in that same transaction, so a change
 * that commits is always announced and one that rolls back never is.
 */
export interface PageNotifier {
  incidentUpdate(
    trx: Kysely<DatabaseSchema>,
    event: {
      pageId: string
      incidentId: string
      updateId: string | null
      type: NotificationEventType
      at: Date
    },
  ): Promise<void>
  componentChange(
    trx: Kysely<DatabaseSchema>,
    change: {
      pageId: string
      componentId: string
      changeId: string
      oldStatus: ComponentStatus
      newStatus: ComponentStatus
      at: Date
    },
  ): Promise<void>
}

/** For processes that publish nothing (tests of the page model alone, the CLI's demo seeding). */
export const silentNotifier: PageNotifier = {
  incidentUpdate: () => Promise.resolve(),
  componentChange: () => Promise.resolve(),
}
