import { Type } from '@sinclair/typebox'
import type { Delivery, FanoutProgress } from '../../domain/subscribers/types.js'
import type { ServerDeps } from '../app-type.js'
import { actorOf } from './api-pages.js'
import { paginate, type ApiInstance } from './api-plugin.js'
import { DeliveryStateSchema, PageIdParams, Pagination, problemResponses } from './api-schemas.js'

/** Lists of deliveries and events are read newest first, up to this many, then paginated. */
const MAX_LISTED = 1000

const iso = (date: Date | null) => (date === null ? null : date.toISOString())

function serializeDelivery(delivery: Delivery) {
  return {
    id: delivery.id,
    event_id: delivery.eventId,
    event_type: delivery.eventType,
    incident_id: delivery.incidentId,
    subscriber_id: delivery.subscriberId,
    user_id: delivery.userId,
    mode: delivery.channel,
    state: delivery.state,
    attempts: delivery.attempts,
    last_error: delivery.lastError,
    next_attempt_at: iso(delivery.nextAttemptAt),
    sent_at: iso(delivery.sentAt),
    created_at: delivery.createdAt.toISOString(),
  }
}

function serializeEvent(event: FanoutProgress) {
  return {
    id: event.eventId,
    type: event.type,
    incident_id: event.incidentId,
    created_at: event.createdAt.toISOString(),
    fanout_done: event.fanoutDone,
    deliveries: { ...event.counts },
  }
}

const IdFilter = (description: string) => Type.Optional(Type.String({ maxLength: 64, description }))

const DeliveriesQuery = Type.Composite([
  Pagination,
  Type.Object({
    subscriber_id: IdFilter('Only the deliveries to this subscriber'),
    event_id: IdFilter('Only the deliveries of this notification event'),
    state: Type.Optional(DeliveryStateSchema),
  }),
])

const EventsQuery = Type.Composite([
  Pagination,
  Type.Object({ incident_id: IdFilter('Only the events of this incident or maintenance') }),
])

const RetryBody = Type.Object(
  {
    event_id: IdFilter('Only the failed deliveries of this event'),
    delivery_id: IdFilter('Only this failed delivery (404 if it is not failed)'),
  },
  { additionalProperties: false },
)

const RetryResult = Type.Object({
  retried: Type.Integer({ description: 'How many failed deliveries were queued again' }),
})

/** Candor's own resources beyond Statuspage's: notification delivery. */
export function registerAccountResources(api: ApiInstance, deps: ServerDeps): void {
  const { notifications } = deps.services
  const tags = ['Notifications']

  api.get(
    '/pages/:page_id/deliveries',
    {
      schema: {
        tags,
        summary: `Deliveries of notifications, newest first (the latest ${String(MAX_LISTED)})`,
        params: PageIdParams,
        querystring: DeliveriesQuery,
        response: { 200: Type.Array(Type.Ref('Delivery')), ...problemResponses },
      },
    },
    async (request, reply) => {
      const query = request.query
      const list = await notifications.listDeliveries(actorOf(request), request.params.page_id, {
        ...(query.subscriber_id === undefined ? {} : { subscriberId: query.subscriber_id }),
        ...(query.event_id === undefined ? {} : { eventId: query.event_id }),
        ...(query.state === undefined ? {} : { state: query.state }),
        limit: MAX_LISTED,
      })
      return paginate(request, reply, list).map(serializeDelivery)
    },
  )

  api.post(
    '/pages/:page_id/deliveries/retry',
    {
      schema: {
        tags,
        summary: 'Queue failed deliveries again (all of the page, one event’s or one delivery)',
        params: PageIdParams,
        body: RetryBody,
        response: { 200: RetryResult, ...problemResponses },
      },
      // A bare `POST …/retry` (no body) retries everything failed on the page.
      preValidation: (request, _reply, done) => {
        const body: unknown = request.body
        if (body === undefined || body === null) request.body = {}
        done()
      },
    },
    async (request) => {
      const body = request.body
      const retried = await notifications.retryFailed(actorOf(request), request.params.page_id, {
        ...(body.event_id === undefined ? {} : { eventId: body.event_id }),
        ...(body.delivery_id === undefined ? {} : { deliveryId: body.delivery_id }),
      })
      return { retried }
    },
  )

  api.get(
    '/pages/:page_id/notification-events',
    {
      schema: {
        tags,
        summary: `Notification events and their fan-out, newest first (the latest ${String(MAX_LISTED)})`,
        params: PageIdParams,
        querystring: EventsQuery,
        response: { 200: Type.Array(Type.Ref('NotificationEvent')), ...problemResponses },
      },
    },
    async (request, reply) => {
      const { incident_id: incidentId } = request.query
      const events = await notifications.progress(actorOf(request), request.params.page_id, {
        ...(incidentId === undefined ? {} : { incidentId }),
        limit: MAX_LISTED,
      })
      return paginate(request, reply, events).map(serializeEvent)
    },
  )
}
