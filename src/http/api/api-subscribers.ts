import { Type } from '@sinclair/typebox'
import type { Actor } from '../../domain/actor.js'
import { NotFoundError, ValidationError } from '../../domain/errors.js'
import { SUBSCRIBER_CHANNELS, type Subscriber } from '../../domain/subscribers/types.js'
import type { ServerDeps } from '../app-type.js'
import { actorOf } from './api-pages.js'
import { pageWindow, setPaginationHeaders, type ApiInstance } from './api-plugin.js'
import {
  PageIdParams,
  PageItemParams,
  Pagination,
  problemResponses,
  StringEnum,
  SubscriberModeSchema,
} from './api-schemas.js'

const iso = (date: Date | null) => (date === null ? null : date.toISOString())

export function serializeSubscriber(subscriber: Subscriber) {
  const isEmail = subscriber.channel === 'email'
  return {
    id: subscriber.id,
    mode: subscriber.channel,
    email: isEmail ? subscriber.address : null,
    endpoint: isEmail ? null : subscriber.address,
    phone_number: null,
    phone_country: null,
    display_phone_number: null,
    obfuscated_channel_name: null,
    workspace_name: null,
    skip_confirmation_notification: false,
    quarantined_at: null,
    purge_at: null,
    components: subscriber.allComponents ? [] : subscriber.componentIds,
    all_components: subscriber.allComponents,
    page_access_user_id: null,
    state: subscriber.state,
    confirmed_at: iso(subscriber.confirmedAt),
    unsubscribed_at: iso(subscriber.unsubscribedAt),
    created_at: subscriber.createdAt.toISOString(),
    updated_at: subscriber.updatedAt.toISOString(),
  }
}

const ComponentIds = Type.Array(Type.String({ maxLength: 64 }), {
  maxItems: 500,
  description: 'Components or groups to follow; empty or left out: every component',
})

const ListQuery = Type.Composite([
  Pagination,
  Type.Object({
    state: Type.Optional(
      StringEnum(
        ['active', 'unconfirmed', 'pending', 'unsubscribed', 'quarantined', 'all'] as const,
        'active (the default, as on Statuspage), unconfirmed (or pending: waiting for the email confirmation), unsubscribed, quarantined (always empty: Candor does not quarantine) or all',
      ),
    ),
    type: Type.Optional(SubscriberModeSchema),
  }),
])

const CreateBody = Type.Object({
  subscriber: Type.Object(
    {
      email: Type.Optional(
        Type.String({
          maxLength: 320,
          description:
            'An email subscriber\'s address. It always gets a confirmation email first (double opt-in) and is "pending" until confirmed. Ignored when endpoint is given (Statuspage sends a contact address with webhooks).',
        }),
      ),
      endpoint: Type.Optional(
        Type.String({
          maxLength: 2000,
          description:
            'The URL of a webhook (or of the chat channel named by mode); active at once',
        }),
      ),
      mode: Type.Optional(
        StringEnum(
          SUBSCRIBER_CHANNELS,
          'Candor: the channel; by default email with email, webhook with endpoint. slack, teams, google_chat and discord take the incoming-webhook URL of that platform as endpoint',
        ),
      ),
      component_ids: Type.Optional(ComponentIds),
      skip_confirmation_notification: Type.Optional(
        Type.Boolean({
          description:
            'Accepted for compatibility and ignored: Candor always asks an email subscriber to confirm',
        }),
      ),
    },
    { additionalProperties: false },
  ),
})

const UpdateBody = Type.Object({
  subscriber: Type.Object({ component_ids: ComponentIds }, { additionalProperties: false }),
})

const SubscriberParams = PageItemParams('subscriber_id')
type SubscriberParamsType = { page_id: string; subscriber_id: string }

/** The service's field names, as the API's clients know them. */
function apiFields(error: unknown, addressField: string): unknown {
  if (!(error instanceof ValidationError)) return error
  const names: Record<string, string> = {
    address: addressField,
    componentIds: 'subscriber.component_ids',
    channel: 'subscriber.mode',
  }
  const fields = Object.fromEntries(
    Object.entries(error.fields).map(([field, message]) => [names[field] ?? field, message]),
  )
  return new ValidationError(fields, error.message, error.code)
}

export function registerSubscriberResources(api: ApiInstance, deps: ServerDeps): void {
  const { subscribers } = deps.services
  const tags = ['Subscribers']

  /** The subscriber, if it belongs to the page in the path. */
  async function subscriberOfPage(actor: Actor, pageId: string, subscriberId: string) {
    const subscriber = await subscribers.get(actor, subscriberId)
    if (subscriber.pageId !== pageId) throw new NotFoundError('The subscriber')
    return subscriber
  }

  api.get(
    '/pages/:page_id/subscribers',
    {
      schema: {
        tags,
        summary: 'List subscribers (needs a write-scoped key: addresses are personal data)',
        params: PageIdParams,
        querystring: ListQuery,
        response: { 200: Type.Array(Type.Ref('Subscriber')), ...problemResponses },
      },
    },
    async (request, reply) => {
      const actor = actorOf(request)
      const { state = 'active', type } = request.query
      const { offset, limit } = pageWindow(request)
      const filterState = state === 'unconfirmed' ? 'pending' : state === 'all' ? undefined : state
      const { subscribers: list, total } = await subscribers.list(actor, request.params.page_id, {
        ...(filterState === undefined ? {} : { state: filterState }),
        ...(type === undefined ? {} : { channel: type }),
        limit,
        offset,
      })
      // Candor never quarantines: the page is checked above, and the list is empty.
      const quarantined = filterState === 'quarantined'
      setPaginationHeaders(request, reply, quarantined ? 0 : total)
      return quarantined ? [] : list.map(serializeSubscriber)
    },
  )

  api.post(
    '/pages/:page_id/subscribers',
    {
      schema: {
        tags,
        summary: 'Create a subscriber (an email address confirms first; a webhook gets its secret)',
        params: PageIdParams,
        body: CreateBody,
        response: { 201: Type.Ref('NewSubscriber'), ...problemResponses },
      },
    },
    async (request, reply) => {
      const body = request.body.subscriber
      const channel = body.mode ?? (body.endpoint === undefined ? 'email' : 'webhook')
      const addressField = channel === 'email' ? 'subscriber.email' : 'subscriber.endpoint'
      const address = channel === 'email' ? body.email : body.endpoint
      if (address === undefined)
        throw new ValidationError({
          [addressField]:
            channel === 'email'
              ? 'Give the email address to subscribe.'
              : 'Give the URL to send to.',
        })
      let created: Awaited<ReturnType<typeof subscribers.add>>
      try {
        created = await subscribers.add(actorOf(request), request.params.page_id, {
          channel,
          address,
          componentIds: body.component_ids ?? [],
        })
      } catch (error) {
        throw apiFields(error, addressField)
      }
      return reply.code(201).send({
        ...serializeSubscriber(created.subscriber),
        ...(created.secret === null ? {} : { secret: created.secret }),
      })
    },
  )

  api.get(
    '/pages/:page_id/subscribers/:subscriber_id',
    {
      schema: {
        tags,
        summary: 'Get a subscriber',
        params: SubscriberParams,
        response: { 200: Type.Ref('Subscriber'), ...problemResponses },
      },
    },
    async (request) => {
      const params = request.params as SubscriberParamsType
      return serializeSubscriber(
        await subscriberOfPage(actorOf(request), params.page_id, params.subscriber_id),
      )
    },
  )

  for (const method of ['patch', 'put'] as const)
    api[method](
      '/pages/:page_id/subscribers/:subscriber_id',
      {
        schema: {
          tags,
          summary: 'Change the components a subscriber follows',
          params: SubscriberParams,
          body: UpdateBody,
          response: { 200: Type.Ref('Subscriber'), ...problemResponses },
        },
      },
      async (request) => {
        const params = request.params as SubscriberParamsType
        const body = request.body
        const actor = actorOf(request)
        await subscriberOfPage(actor, params.page_id, params.subscriber_id)
        try {
          return serializeSubscriber(
            await subscribers.setComponents(
              actor,
              params.subscriber_id,
              body.subscriber.component_ids,
            ),
          )
        } catch (error) {
          throw apiFields(error, 'subscriber.endpoint')
        }
      },
    )

  api.delete(
    '/pages/:page_id/subscribers/:subscriber_id',
    {
      schema: {
        tags,
        summary:
          'Erase a subscriber (GDPR erasure: the row goes, its deliveries stay as anonymous counts)',
        params: SubscriberParams,
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (request, reply) => {
      const params = request.params as SubscriberParamsType
      const actor = actorOf(request)
      await subscriberOfPage(actor, params.page_id, params.subscriber_id)
      await subscribers.erase(actor, params.subscriber_id)
      return reply.code(204).send(null)
    },
  )
}
