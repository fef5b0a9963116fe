import { Type, type TSchema } from '@sinclair/typebox'
import {
  COMPONENT_STATUSES,
  IMPACTS,
  INCIDENT_STATUSES,
  MAINTENANCE_STATUSES,
} from '../../domain/pages/types.js'
import { SUBSCRIBER_CHANNELS } from '../../domain/subscribers/types.js'

/** Schemas of the management API, named so the OpenAPI document refers to them. */

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])
const DateTime = Type.String({ format: 'date-time' })
const Id = Type.String({
  pattern: '^[a-z0-9]{12}$',
  description: '12 lowercase letters and digits',
})

/** One `enum` rather than a union of constants: one clear error ("must be equal to one of the allowed values"). */
export function StringEnum<const V extends readonly string[]>(values: V, description?: string) {
  const schema = Type.Unsafe<V[number]>({
    type: 'string',
    enum: [...values],
    ...(description === undefined ? {} : { description }),
  })
  // The route types come from the type provider's TypeBox, which infers `enum` from the schema's
  // shape and knows nothing of this TypeBox's Unsafe: the shape is spelt out for it.
  return schema as typeof schema & { type: 'string'; enum: [...V] }
}

export const ComponentStatusSchema = StringEnum(COMPONENT_STATUSES)
export const ImpactSchema = StringEnum(IMPACTS)
/** Incident statuses, then maintenance statuses; the service refuses one of the wrong kind. */
export const IncidentStatusSchema = StringEnum(
  [...INCIDENT_STATUSES, ...MAINTENANCE_STATUSES],
  'investigating, identified, monitoring, resolved, false_alarm; for maintenances scheduled, in_progress, verifying, completed',
)

export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String({ description: 'Stable, machine-readable error code' }),
    requestId: Type.String(),
    errors: Type.Optional(
      Type.Record(Type.String(), Type.String(), { description: 'Problems per field' }),
    ),
  },
  { $id: 'Problem', title: 'Problem (RFC 9457)' },
)

export const PageSchema = Type.Object(
  {
    id: Id,
    created_at: DateTime,
    updated_at: DateTime,
    name: Type.String(),
    subdomain: Type.String({ description: 'The slug: /p/<subdomain> and <subdomain>.<base host>' }),
    domain: Nullable(Type.String()),
    url: Type.String(),
    support_url: Nullable(Type.String()),
    homepage_url: Nullable(Type.String()),
    time_zone: Type.String(),
    locale: Type.String(),
    branding: Type.String({ description: 'Brand colour, #rrggbb' }),
    viewers_must_be_team_members: Type.Boolean(),
    ip_restrictions: Nullable(Type.String()),
    visibility: Type.String(),
  },
  { $id: 'Page' },
)

export const ComponentSchema = Type.Object(
  {
    id: Id,
    page_id: Id,
    group_id: Nullable(Id),
    created_at: DateTime,
    updated_at: DateTime,
    group: Type.Boolean(),
    name: Type.String(),
    description: Nullable(Type.String()),
    position: Type.Integer(),
    status: ComponentStatusSchema,
    showcase: Type.Boolean(),
    only_show_if_degraded: Type.Boolean(),
    automation_email: Type.Null(),
    start_date: Nullable(Type.String({ format: 'date' })),
  },
  { $id: 'Component' },
)

export const ComponentGroupSchema = Type.Object(
  {
    id: Id,
    page_id: Id,
    name: Type.String(),
    description: Nullable(Type.String()),
    components: Type.Array(Id),
    position: Type.Integer(),
    created_at: DateTime,
    updated_at: DateTime,
  },
  { $id: 'ComponentGroup' },
)

export const AffectedComponentSchema = Type.Object({
  code: Type.String(),
  name: Type.String(),
  old_status: ComponentStatusSchema,
  new_status: ComponentStatusSchema,
})

export const IncidentUpdateSchema = Type.Object(
  {
    id: Id,
    incident_id: Id,
    status: Type.String(),
    body: Type.String(),
    created_at: DateTime,
    updated_at: DateTime,
    display_at: DateTime,
    affected_components: Nullable(Type.Array(AffectedComponentSchema)),
    deliver_notifications: Type.Boolean(),
    custom_tweet: Type.Null(),
    tweet_id: Type.Null(),
  },
  { $id: 'IncidentUpdate' },
)

export const IncidentSchema = Type.Object(
  {
    id: Id,
    page_id: Id,
    name: Type.String(),
    status: Type.String({
      description:
        'investigating, identified, monitoring, resolved (false alarms read as resolved); for maintenances scheduled, in_progress, verifying, completed',
    }),
    impact: Type.String(),
    impact_override: Nullable(Type.String()),
    created_at: DateTime,
    updated_at: DateTime,
    started_at: DateTime,
    monitoring_at: Nullable(DateTime),
    resolved_at: Nullable(DateTime),
    shortlink: Type.String(),
    scheduled_for: Nullable(DateTime),
    scheduled_until: Nullable(DateTime),
    scheduled_auto_in_progress: Type.Boolean(),
    scheduled_auto_completed: Type.Boolean(),
    postmortem_body: Nullable(Type.String()),
    postmortem_published_at: Nullable(DateTime),
    incident_updates: Type.Array(IncidentUpdateSchema),
    components: Type.Array(ComponentSchema),
  },
  { $id: 'Incident' },
)

export const SubscriberModeSchema = StringEnum(
  SUBSCRIBER_CHANNELS,
  'The channel (google_chat and discord are Candor additions)',
)
export const SubscriberStateSchema = StringEnum(
  ['pending', 'active', 'unsubscribed'] as const,
  'Candor: pending until an email address is confirmed',
)
export const DeliveryStateSchema = StringEnum([
  'queued',
  'sending',
  'sent',
  'failed',
  'cancelled',
] as const)

const subscriberFields = {
  id: Id,
  mode: SubscriberModeSchema,
  email: Nullable(Type.String({ description: 'The address of an email subscriber' })),
  endpoint: Nullable(
    Type.String({
      description: 'The URL of a webhook, Slack, Teams, Google Chat or Discord subscriber',
    }),
  ),
  phone_number: Type.Null(),
  phone_country: Type.Null(),
  display_phone_number: Type.Null(),
  obfuscated_channel_name: Type.Null(),
  workspace_name: Type.Null(),
  skip_confirmation_notification: Type.Boolean({
    description: 'Always false: email subscribers always confirm their address (double opt-in)',
  }),
  quarantined_at: Type.Null(),
  purge_at: Type.Null(),
  components: Type.Array(Id, {
    description: 'Components and groups followed; empty when all_components is true',
  }),
  all_components: Type.Boolean({
    description: 'Candor: subscribed to every component, those added later included',
  }),
  page_access_user_id: Type.Null(),
  state: SubscriberStateSchema,
  confirmed_at: Nullable(DateTime),
  unsubscribed_at: Nullable(DateTime),
  created_at: DateTime,
  updated_at: DateTime,
}

export const SubscriberSchema = Type.Object(subscriberFields, { $id: 'Subscriber' })

export const NewSubscriberSchema = Type.Object(
  {
    ...subscriberFields,
    secret: Type.Optional(
      Type.String({
        description:
          'Webhook subscribers only: the Standard Webhooks signing secret (whsec_…), returned once, here',
      }),
    ),
  },
  { $id: 'NewSubscriber' },
)

export const DeliverySchema = Type.Object(
  {
    id: Id,
    event_id: Id,
    event_type: Type.String({ description: 'What was announced, e.g. incident.created' }),
    incident_id: Nullable(Id),
    subscriber_id: Nullable(Type.String({ description: 'null for a team member, or once erased' })),
    user_id: Nullable(Type.String({ description: 'The team member it went to, if any' })),
    mode: SubscriberModeSchema,
    state: DeliveryStateSchema,
    attempts: Type.Integer(),
    last_error: Nullable(Type.String()),
    next_attempt_at: Nullable(DateTime),
    sent_at: Nullable(DateTime),
    created_at: DateTime,
  },
  { $id: 'Delivery' },
)

export const NotificationEventSchema = Type.Object(
  {
    id: Id,
    type: Type.String(),
    incident_id: Nullable(Id),
    created_at: DateTime,
    fanout_done: Type.Boolean({
      description: 'Every delivery of the event has been created (they may still be queued)',
    }),
    deliveries: Type.Object({
      queued: Type.Integer(),
      sending: Type.Integer(),
      sent: Type.Integer(),
      failed: Type.Integer(),
      cancelled: Type.Integer(),
    }),
  },
  { $id: 'NotificationEvent' },
)

export const MemberRole = Type.Union([
  Type.Literal('admin'),
  Type.Literal('editor'),
  Type.Literal('viewer'),
])
export const PageIdsOrAll = Type.Union(
  [Type.Array(Type.String({ maxLength: 64 }), { maxItems: 500 }), Type.Null()],
  { description: 'The pages the person is limited to, or null for every page' },
)

export const TeamMemberSchema = Type.Object(
  {
    id: Id,
    name: Type.String(),
    email: Type.String(),
    role: Type.Union([Type.Literal('owner'), MemberRole]),
    can_invite: Type.Boolean({ description: 'May invite and remove people' }),
    page_ids: PageIdsOrAll,
    two_factor: Type.Boolean({ description: 'Uses an authenticator app or a passkey' }),
    created_at: Type.String({ format: 'date-time', description: 'When they joined the account' }),
  },
  { $id: 'TeamMember' },
)

export const InvitationSchema = Type.Object(
  {
    id: Id,
    email: Type.String(),
    role: MemberRole,
    can_invite: Type.Boolean(),
    page_ids: PageIdsOrAll,
    invited_by: Type.Union([Id, Type.Null()]),
    created_at: Type.String({ format: 'date-time' }),
    expires_at: Type.String({ format: 'date-time' }),
  },
  { $id: 'Invitation' },
)

export const SsoConnectionSchema = Type.Object(
  {
    id: Id,
    protocol: Type.Union([Type.Literal('google'), Type.Literal('oidc'), Type.Literal('saml')]),
    name: Type.String(),
    enabled: Type.Boolean(),
    allowed_domains: Type.Array(Type.String()),
    jit_enabled: Type.Boolean({
      description: 'Unknown people from an allowed domain join at their first sign-in',
    }),
    default_role: MemberRole,
    created_at: Type.String({ format: 'date-time' }),
    updated_at: Type.String({ format: 'date-time' }),
  },
  { $id: 'SsoConnection' },
)

export const AuditEntrySchema = Type.Object(
  {
    id: Id,
    seq: Type.Integer({ description: 'Position in the account’s hash chain' }),
    created_at: Type.String({ format: 'date-time' }),
    action: Type.String(),
    actor: Type.Object({
      type: Type.Union([
        Type.Literal('user'),
        Type.Literal('api_key'),
        Type.Literal('system'),
        Type.Literal('anonymous'),
      ]),
      user_id: Type.Union([Id, Type.Null()]),
      api_key_id: Type.Union([Id, Type.Null()]),
    }),
    target: Type.Union([Type.Object({ type: Type.String(), id: Type.String() }), Type.Null()]),
    ip: Type.Union([Type.String(), Type.Null()]),
    user_agent: Type.Union([Type.String(), Type.Null()]),
    details: Type.Record(Type.String(), Type.Unknown()),
    prev_hash: Type.String(),
    hash: Type.String(),
  },
  { $id: 'AuditEntry' },
)

/** Every named schema, added to the document's components in this order. */
export const NAMED_SCHEMAS = [
  ProblemSchema,
  PageSchema,
  ComponentSchema,
  ComponentGroupSchema,
  IncidentUpdateSchema,
  IncidentSchema,
  SubscriberSchema,
  NewSubscriberSchema,
  DeliverySchema,
  NotificationEventSchema,
  TeamMemberSchema,
  InvitationSchema,
  SsoConnectionSchema,
  AuditEntrySchema,
]

export const PageIdParams = Type.Object({ page_id: Type.String({ maxLength: 64 }) })
export const PageItemParams = (name: string) =>
  Type.Object({
    page_id: Type.String({ maxLength: 64 }),
    [name]: Type.String({ maxLength: 64 }),
  })

export const Pagination = Type.Object({
  page: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, default: 1 })),
  per_page: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 100 })),
})

/** Sent on POST: the same key and body within 24 hours get the first answer again. */
export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 255,
      description:
        'Any unique string: a retry with the same key and body gets the first answer again (header Idempotent-Replayed: true)',
    }),
  ),
})

const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: Type.Ref('Problem') } },
})

/** Errors are sent as application/problem+json, and documented so. */
export const problemResponses = {
  400: problem('Malformed request: `errors` names each field'),
  401: problem('No API key, or an unknown, revoked or expired one'),
  403: problem("The key's scope (insufficient_scope) or its creator's role does not allow this"),
  404: problem('No such resource for this API key'),
  409: problem('Conflict, or a request with this Idempotency-Key is still being answered'),
  422: problem('Refused input (`errors` names each field), or a reused Idempotency-Key'),
  429: problem('Rate limit reached: see Retry-After'),
  500: problem('Unexpected error, logged under the requestId; the Idempotency-Key may be retried'),
}
