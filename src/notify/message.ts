import {
  NOTIFICATION_EVENT_TYPES,
  type NotificationEventType,
} from '../domain/pages/page-notifier.js'
import type { ComponentStatus, Incident, Indicator, Locale, Page } from '../domain/pages/types.js'

export { NOTIFICATION_EVENT_TYPES, type NotificationEventType }

export interface NotificationPage {
  id: string
  name: string
  /** The public page's absolute URL (custom domain when there is one). */
  url: string
  locale: Locale
  timeZone: string
  brandColor: string
  statusIndicator: Indicator
  statusDescription: string
}

export interface NotificationComponentChange {
  /** Id of this change in the component's status history (Statuspage's component_update.id). */
  id: string
  componentId: string
  componentName: string
  oldStatus: ComponentStatus
  newStatus: ComponentStatus
  createdAt: Date
}

/**
 * Everything every channel needs to tell one subscriber about one event. Built once per event by
 * the notification service; per-recipient parts (links) are added when a delivery is sent.
 */
export interface NotificationMessage {
  /** The notification event's id: stable across retries, used as the webhook-id. */
  eventId: string
  type: NotificationEventType
  createdAt: Date
  page: NotificationPage
  /** Set for incident.* and maintenance.* events: the incident with every update, newest first. */
  incident?: Incident
  /** The absolute URL of the incident page. */
  incidentUrl?: string
  /** Set for component.updated events. */
  componentChange?: NotificationComponentChange
  /** Per recipient: one-click unsubscribe and manage-preferences links. */
  links: { unsubscribe: string; manage: string }
}

export type { Page }
