import type {
  ConsentSource,
  DeliveryState,
  SubscriberChannel,
  SubscriberState,
} from '../../db/schema.js'

export type { ConsentSource, DeliveryState, SubscriberChannel, SubscriberState }

export const SUBSCRIBER_CHANNELS = [
  'email',
  'webhook',
  'slack',
  'teams',
  'google_chat',
  'discord',
] as const satisfies readonly SubscriberChannel[]

export interface Subscriber {
  id: string
  pageId: string
  channel: SubscriberChannel
  /** The email address or the webhook URL. */
  address: string
  state: SubscriberState
  /** True when subscribed to everything; otherwise componentIds lists components and groups. */
  allComponents: boolean
  componentIds: string[]
  confirmedAt: Date | null
  unsubscribedAt: Date | null
  consent: {
    at: Date
    source: ConsentSource
    text: string | null
    ip: string | null
    userAgent: string | null
    actorUserId: string | null
  }
  createdAt: Date
  updatedAt: Date
}

export interface Delivery {
  id: string
  eventId: string
  eventType: string
  incidentId: string | null
  subscriberId: string | null
  userId: string | null
  channel: SubscriberChannel
  state: DeliveryState
  attempts: number
  lastError: string | null
  nextAttemptAt: Date | null
  sentAt: Date | null
  createdAt: Date
}

/** What the dashboard shows of one notification event's fan-out. */
export interface FanoutProgress {
  eventId: string
  type: string
  incidentId: string | null
  createdAt: Date
  fanoutDone: boolean
  counts: Record<DeliveryState, number>
}

/** A delivery that failed for good reasons a retry would not fix is not retried. */
export class DeliveryFailure extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message)
    this.name = 'DeliveryFailure'
  }
}
