import type { ColumnType, SqlBool } from 'kysely'

/** Timestamps are written as Date and read back as ISO 8601 UTC strings on both dialects. */
export type Timestamp = ColumnType<string, Date, Date>
export type NullableTimestamp = ColumnType<string | null, Date | null | undefined, Date | null>
export type Bool = ColumnType<SqlBool, boolean, boolean>

export type Role = 'owner' | 'admin' | 'editor' | 'viewer'

export interface MetaTable {
  key: string
  value: string
}

export interface DataKeysTable {
  id: number
  wrapped_key: string
  created_at: Timestamp
}

export interface AccountsTable {
  id: string
  name: string
  require_two_factor: ColumnType<SqlBool, boolean | undefined, boolean>
  sso_enforced: ColumnType<SqlBool, boolean | undefined, boolean>
  created_at: Timestamp
  updated_at: Timestamp
}

export interface UsersTable {
  id: string
  email_ciphertext: string
  email_index: string
  name_ciphertext: string
  password_hash: string | null
  password_changed_at: NullableTimestamp
  totp_secret_ciphertext: ColumnType<string | null, string | null | undefined, string | null>
  totp_enabled_at: NullableTimestamp
  /** The last TOTP time step accepted, so a code is refused the second time. */
  totp_last_step: ColumnType<number | null, number | null | undefined, number | null>
  created_at: Timestamp
  updated_at: Timestamp
}

export interface MembershipsTable {
  account_id: string
  user_id: string
  role: Role
  can_invite: Bool
  created_at: Timestamp
}

export interface SessionsTable {
  id_hash: string
  user_id: string
  created_at: Timestamp
  last_seen_at: Timestamp
  expires_at: Timestamp
  ip: string
  user_agent: string
  auth_method: ColumnType<AuthMethod, AuthMethod | undefined, AuthMethod>
  /** When the user last proved who they are in this session (sign-in or re-authentication). */
  authenticated_at: NullableTimestamp
  sso_connection_id: ColumnType<string | null, string | null | undefined, string | null>
  /** A session signed in by an account's IdP reaches that account only. */
  sso_account_id: ColumnType<string | null, string | null | undefined, string | null>
  /** Blind index of the IdP's subject (SAML NameID, OIDC sub): a log-out from the IdP finds it. */
  sso_subject_hash: ColumnType<string | null, string | null | undefined, string | null>
  sso_session_index: ColumnType<string | null, string | null | undefined, string | null>
  /** Encrypted JSON of what an SP-initiated log-out must send back to the IdP. */
  sso_logout_ciphertext: ColumnType<string | null, string | null | undefined, string | null>
}

/**
 * How a session was established. `password_2fa` and `passkey` mean a second factor (or a passkey,
 * which is one by itself) was proven; `sso` means the account's identity provider vouched.
 */
export type AuthMethod = 'password' | 'password_2fa' | 'passkey' | 'sso'

export type AuthTokenPurpose = 'password_reset' | 'setup' | 'signup'

export interface AuthTokensTable {
  token_hash: string
  purpose: AuthTokenPurpose
  user_id: string | null
  payload_ciphertext: string | null
  created_at: Timestamp
  expires_at: Timestamp
  used_at: NullableTimestamp
}

export interface AuthThrottlesTable {
  key: string
  failures: number
  window_started_at: Timestamp
  blocked_until: NullableTimestamp
}

export interface MailMessagesTable {
  id: string
  account_id: string | null
  recipient_index: string
  subject: string
  transport: 'smtp' | 'file'
  file_name: string | null
  created_at: Timestamp
}

export interface MembershipPagesTable {
  account_id: string
  user_id: string
  page_id: string
}

export interface InvitationsTable {
  id: string
  account_id: string
  email_ciphertext: string
  email_index: string
  role: Exclude<Role, 'owner'>
  can_invite: Bool
  /** JSON array of page ids, or null for every page. */
  page_ids: string | null
  token_hash: string
  invited_by: string | null
  created_at: Timestamp
  expires_at: Timestamp
  accepted_at: NullableTimestamp
  accepted_by: ColumnType<string | null, string | null | undefined, string | null>
  revoked_at: NullableTimestamp
}

export interface RecoveryCodesTable {
  user_id: string
  code_hash: string
  created_at: Timestamp
  used_at: NullableTimestamp
}

export interface WebauthnCredentialsTable {
  /** The credential id, base64url. */
  id: string
  user_id: string
  name: string
  /** The COSE public key, base64url. */
  public_key: string
  counter: number
  /** JSON array of transports. */
  transports: string
  device_type: string
  backed_up: Bool
  created_at: Timestamp
  last_used_at: NullableTimestamp
}

export interface AuthFlowsTable {
  token_hash: string
  kind: string
  user_id: string | null
  account_id: string | null
  payload_ciphertext: string | null
  attempts: ColumnType<number, number | undefined, number>
  created_at: Timestamp
  expires_at: Timestamp
  consumed_at: NullableTimestamp
}

export type SsoProtocol = 'google' | 'oidc' | 'saml'

export interface SsoConnectionsTable {
  id: string
  account_id: string
  protocol: SsoProtocol
  name: string
  enabled: Bool
  config_ciphertext: string
  /** JSON array of lower-case email domains. */
  allowed_domains: string
  jit_enabled: Bool
  default_role: Exclude<Role, 'owner'>
  created_at: Timestamp
  updated_at: Timestamp
}

export interface SsoIdentitiesTable {
  connection_id: string
  subject_hash: string
  user_id: string
  created_at: Timestamp
  last_used_at: Timestamp
}

export interface SsoReplayCacheTable {
  connection_id: string
  message_id: string
  expires_at: Timestamp
}

export interface PagesTable {
  id: string
  account_id: string
  name: string
  slug: string
  time_zone: string
  locale: string
  visibility: 'public' | 'team' | 'password' | 'ip'
  password_hash: string | null
  /** JSON array of CIDR ranges. */
  ip_allowlist: string
  brand_color: string
  custom_css: string
  support_url: string | null
  homepage_url: string | null
  custom_domain: string | null
  privacy_notice: ColumnType<string | null, string | null | undefined, string | null>
  notify_team: ColumnType<SqlBool, boolean | undefined, boolean>
  version: number
  created_at: Timestamp
  updated_at: Timestamp
}

export interface PageLogosTable {
  page_id: string
  content_type: string
  data: Buffer
  updated_at: Timestamp
}

export interface ComponentsTable {
  id: string
  page_id: string
  group_id: string | null
  is_group: Bool
  name: string
  description: string | null
  status: string
  position: number
  only_show_if_degraded: Bool
  showcase: Bool
  start_date: string | null
  created_at: Timestamp
  updated_at: Timestamp
}

export interface ComponentStatusChangesTable {
  id: string
  component_id: string
  status: string
  incident_id: string | null
  /** null for people and incidents; 'alert' or 'check' when monitoring set the status. */
  origin: ColumnType<string | null, string | null | undefined, string | null>
  changed_at: Timestamp
}

export interface IncidentsTable {
  id: string
  page_id: string
  kind: 'incident' | 'maintenance'
  name: string
  status: string
  impact: string
  started_at: Timestamp
  monitoring_at: NullableTimestamp
  resolved_at: NullableTimestamp
  scheduled_for: NullableTimestamp
  scheduled_until: NullableTimestamp
  auto_start: Bool
  auto_complete: Bool
  /** JSON {componentId: status} to restore when an automatic maintenance completes. */
  maintenance_restore: string | null
  postmortem_body: string | null
  postmortem_published_at: NullableTimestamp
  reminder_sent_at: NullableTimestamp
  created_at: Timestamp
  updated_at: Timestamp
}

export interface IncidentComponentsTable {
  incident_id: string
  component_id: string
}

export interface IncidentUpdatesTable {
  id: string
  incident_id: string
  status: string
  body: string
  display_at: Timestamp
  deliver_notifications: Bool
  /** JSON array of {code, name, old_status, new_status}, or null. */
  affected_components: string | null
  created_by: string | null
  created_at: Timestamp
  updated_at: Timestamp
}

export interface IncidentUpdateRevisionsTable {
  id: string
  incident_id: string
  update_id: string
  action: 'edited' | 'deleted'
  previous_status: string
  previous_body: string
  previous_display_at: Timestamp
  actor_user_id: string
  created_at: Timestamp
}

export interface IncidentTemplatesTable {
  id: string
  page_id: string
  name: string
  title: string
  body: string
  status: string
  impact: string
  created_at: Timestamp
  updated_at: Timestamp
}

export type SubscriberChannel = 'email' | 'webhook' | 'slack' | 'teams' | 'google_chat' | 'discord'
export type SubscriberState = 'pending' | 'active' | 'unsubscribed'
export type ConsentSource = 'form' | 'import' | 'dashboard' | 'api'
export type DeliveryState = 'queued' | 'sending' | 'sent' | 'failed' | 'cancelled'

export interface ConsentTextsTable {
  id: string
  text: string
  created_at: Timestamp
}

export interface SubscribersTable {
  id: string
  page_id: string
  channel: SubscriberChannel
  address_ciphertext: string
  address_index: string
  secret_ciphertext: string | null
  state: SubscriberState
  all_components: Bool
  confirm_token_hash: string | null
  confirm_expires_at: NullableTimestamp
  confirmed_at: NullableTimestamp
  unsubscribed_at: NullableTimestamp
  consent_at: Timestamp
  consent_source: ConsentSource
  consent_text_id: string | null
  consent_ip_ciphertext: string | null
  consent_user_agent_ciphertext: string | null
  consent_actor_user_id: string | null
  /** Bumped to invalidate every manage link sent so far. */
  manage_generation: number
  created_at: Timestamp
  updated_at: Timestamp
}

export interface SubscriberComponentsTable {
  subscriber_id: string
  component_id: string
}

export interface MemberNotificationOptoutsTable {
  user_id: string
  page_id: string
  created_at: Timestamp
}

export interface NotificationEventsTable {
  id: string
  page_id: string
  type: string
  incident_id: string | null
  update_id: string | null
  component_change_id: string | null
  /** JSON array of component ids; empty means the whole page. */
  component_ids: string
  /** JSON of the NotificationMessage, frozen when the event happened. */
  message: string
  fanout_cursor: string | null
  fanout_done_at: NullableTimestamp
  created_at: Timestamp
}

export interface DeliveriesTable {
  id: string
  event_id: string
  page_id: string
  recipient_key: string
  subscriber_id: string | null
  user_id: string | null
  channel: SubscriberChannel
  state: DeliveryState
  attempts: number
  last_error: string | null
  next_attempt_at: NullableTimestamp
  sent_at: NullableTimestamp
  created_at: Timestamp
  updated_at: Timestamp
}

/** The embedded (SQLite) job queue; PostgreSQL uses graphile-worker. */
export interface JobsTable {
  id: ColumnType<number, never, never>
  task: string
  payload: string
  job_key: string | null
  run_at: Timestamp
  attempts: number
  max_attempts: number
  locked_at: NullableTimestamp
  locked_by: string | null
  last_error: string | null
  created_at: Timestamp
}

export type ApiKeyScope = 'read' | 'write'

export interface ApiKeysTable {
  id: string
  account_id: string
  name: string
  prefix: string
  key_hash: string
  scope: ApiKeyScope
  /** JSON array of page ids, or null for every page of the account. */
  page_ids: string | null
  created_by: string
  created_at: Timestamp
  expires_at: NullableTimestamp
  revoked_at: NullableTimestamp
  last_used_at: NullableTimestamp
  last_used_ip_ciphertext: string | null
}

export interface IdempotencyKeysTable {
  api_key_id: string
  idempotency_key: string
  request_hash: string
  /** Null while the first request is still being answered. */
  status: number | null
  response_body: string | null
  created_at: Timestamp
}

export type AlertFormat =
  | 'alertmanager'
  | 'grafana'
  | 'pingdom'
  | 'newrelic'
  | 'datadog'
  | 'pagerduty'
  | 'opsgenie'
  | 'generic'

export interface AlertEndpointsTable {
  id: string
  page_id: string
  name: string
  format: AlertFormat
  component_id: string | null
  /** JSON {key sent by the source: component id}. */
  component_map: string
  firing_status: string
  map_severity: Bool
  create_drafts: Bool
  token_hash: string
  secret_ciphertext: string | null
  last_received_at: NullableTimestamp
  last_error: string | null
  last_error_at: NullableTimestamp
  created_at: Timestamp
  updated_at: Timestamp
}

export interface HttpChecksTable {
  id: string
  page_id: string
  component_id: string
  url: string
  interval_seconds: number
  timeout_ms: number
  expected_status: number
  failure_threshold: number
  firing_status: string
  enabled: Bool
  consecutive_failures: number
  last_checked_at: NullableTimestamp
  last_status_code: number | null
  last_ok: ColumnType<SqlBool | null, boolean | null | undefined, boolean | null>
  last_error: string | null
  next_run_at: Timestamp
  created_at: Timestamp
  updated_at: Timestamp
}

export interface AlertStatesTable {
  source_id: string
  source_kind: 'endpoint' | 'check'
  alert_key: string
  page_id: string
  component_id: string
  state: 'firing' | 'resolved'
  status: string
  title: string
  source_at: Timestamp
  updated_at: Timestamp
}

export interface IncidentDraftsTable {
  id: string
  page_id: string
  title: string
  body: string
  impact: string
  /** JSON {component id: status}. */
  component_statuses: string
  source_endpoint_id: string | null
  created_at: Timestamp
}

export type AuditActorType = 'user' | 'api_key' | 'system' | 'anonymous'

/** Append-only (refused by triggers); each row is chained to the previous one of its chain by hash. */
export interface AuditEntriesTable {
  id: string
  /** `account:<id>`, or `installation` for events without an account. */
  chain: string
  seq: number
  account_id: string | null
  created_at: Timestamp
  actor_type: AuditActorType
  actor_user_id: string | null
  actor_api_key_id: string | null
  action: string
  target_type: string | null
  target_id: string | null
  ip: string | null
  user_agent: string | null
  /** Canonical JSON. */
  details: string
  prev_hash: string
  hash: string
}

export interface AuditChainHeadsTable {
  chain: string
  seq: number
  hash: string
  updated_at: Timestamp
}

export interface DatabaseSchema {
  meta: MetaTable
  data_keys: DataKeysTable
  accounts: AccountsTable
  users: UsersTable
  memberships: MembershipsTable
  sessions: SessionsTable
  auth_tokens: AuthTokensTable
  auth_throttles: AuthThrottlesTable
  mail_messages: MailMessagesTable
  pages: PagesTable
  page_logos: PageLogosTable
  components: ComponentsTable
  component_status_changes: ComponentStatusChangesTable
  incidents: IncidentsTable
  incident_components: IncidentComponentsTable
  incident_updates: IncidentUpdatesTable
  incident_update_revisions: IncidentUpdateRevisionsTable
  incident_templates: IncidentTemplatesTable
  consent_texts: ConsentTextsTable
  subscribers: SubscribersTable
  subscriber_components: SubscriberComponentsTable
  member_notification_optouts: MemberNotificationOptoutsTable
  notification_events: NotificationEventsTable
  deliveries: DeliveriesTable
  jobs: JobsTable
  api_keys: ApiKeysTable
  idempotency_keys: IdempotencyKeysTable
  alert_endpoints: AlertEndpointsTable
  http_checks: HttpChecksTable
  alert_states: AlertStatesTable
  incident_drafts: IncidentDraftsTable
  audit_entries: AuditEntriesTable
  audit_chain_heads: AuditChainHeadsTable
  membership_pages: MembershipPagesTable
  invitations: InvitationsTable
  recovery_codes: RecoveryCodesTable
  webauthn_credentials: WebauthnCredentialsTable
  auth_flows: AuthFlowsTable
  sso_connections: SsoConnectionsTable
  sso_identities: SsoIdentitiesTable
  sso_replay_cache: SsoReplayCacheTable
}
