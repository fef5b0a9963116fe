import { PostgresAdapter, sql, type Kysely } from 'kysely'
import { columnTypes } from './types.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are frozen in time and must not follow today's schema types
type AnyDb = Kysely<any>

export async function up(db: AnyDb): Promise<void> {
  const t = columnTypes(db)
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter

  await db.schema.alterTable('pages').addColumn('privacy_notice', 'text').execute()
  await db.schema
    .alterTable('pages')
    .addColumn('notify_team', t.boolean, (c) =>
      c.notNull().defaultTo(sql.raw(postgres ? 'true' : '1')),
    )
    .execute()
  await db.schema.alterTable('incidents').addColumn('reminder_sent_at', t.timestamp).execute()

  // Every text shown at a subscribe form, kept once by its hash so a consent names what was read.
  await db.schema
    .createTable('consent_texts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('text', 'text', (c) => c.notNull())
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .execute()

  await db.schema
    .createTable('subscribers')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('page_id', 'text', (c) => c.notNull().references('pages.id').onDelete('cascade'))
    .addColumn('channel', 'text', (c) =>
      c
        .notNull()
        .check(sql`channel in ('email', 'webhook', 'slack', 'teams', 'google_chat', 'discord')`),
    )
    .addColumn('address_ciphertext', 'text', (c) => c.notNull())
    .addColumn('address_index', 'text', (c) => c.notNull())
    .addColumn('secret_ciphertext', 'text')
    .addColumn('state', 'text', (c) =>
      c.notNull().check(sql`state in ('pending', 'active', 'unsubscribed')`),
    )
    .addColumn('all_components', t.boolean, (c) => c.notNull())
    .addColumn('confirm_token_hash', 'text', (c) => c.unique())
    .addColumn('confirm_expires_at', t.timestamp)
    .addColumn('confirmed_at', t.timestamp)
    .addColumn('unsubscribed_at', t.timestamp)
    .addColumn('consent_at', t.timestamp, (c) => c.notNull())
    .addColumn('consent_source', 'text', (c) =>
      c.notNull().check(sql`consent_source in ('form', 'import', 'dashboard', 'api')`),
    )
    .addColumn('consent_text_id', 'text', (c) => c.references('consent_texts.id'))
    .addColumn('consent_ip_ciphertext', 'text')
    .addColumn('consent_user_agent_ciphertext', 'text')
    .addColumn('consent_actor_user_id', 'text')
    .addColumn('manage_generation', 'integer', (c) => c.notNull())
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('updated_at', t.timestamp, (c) => c.notNull())
    .addUniqueConstraint('subscribers_address_unique', ['page_id', 'channel', 'address_index'])
    .execute()
  await db.schema
    .createIndex('subscribers_page_state_idx')
    .on('subscribers')
    .columns(['page_id', 'state', 'id'])
    .execute()

  await db.schema
    .createTable('subscriber_components')
    .addColumn('subscriber_id', 'text', (c) =>
      c.notNull().references('subscribers.id').onDelete('cascade'),
    )
    .addColumn('component_id', 'text', (c) =>
      c.notNull().references('components.id').onDelete('cascade'),
    )
    .addPrimaryKeyConstraint('subscriber_components_pk', ['subscriber_id', 'component_id'])
    .execute()
  await db.schema
    .createIndex('subscriber_components_component_idx')
    .on('subscriber_components')
    .column('component_id')
    .execute()

  // Team members hear about their pages unless they opt out of one.
  await db.schema
    .createTable('member_notification_optouts')
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('page_id', 'text', (c) => c.notNull().references('pages.id').onDelete('cascade'))
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addPrimaryKeyConstraint('member_notification_optouts_pk', ['user_id', 'page_id'])
    .execute()

  await db.schema
    .createTable('notification_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('page_id', 'text', (c) => c.notNull().references('pages.id').onDelete('cascade'))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('incident_id', 'text')
    .addColumn('update_id', 'text')
    .addColumn('component_change_id', 'text')
    /** JSON array of the component ids the event is about (empty: the whole page). */
    .addColumn('component_ids', 'text', (c) => c.notNull())
    /** The message as sent, frozen at the time of the event (JSON). */
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('fanout_cursor', 'text')
    .addColumn('fanout_done_at', t.timestamp)
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .execute()
  await db.schema
    .createIndex('notification_events_page_idx')
    .on('notification_events')
    .columns(['page_id', 'created_at'])
    .execute()
  await db.schema
    .createIndex('notification_events_incident_idx')
    .on('notification_events')
    .column('incident_id')
    .execute()

  await db.schema
    .createTable('deliveries')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('event_id', 'text', (c) =>
      c.notNull().references('notification_events.id').onDelete('cascade'),
    )
    .addColumn('page_id', 'text', (c) => c.notNull())
    /** 'subscriber:<id>' or 'member:<user id>': one delivery per recipient per event. */
    .addColumn('recipient_key', 'text', (c) => c.notNull())
    .addColumn('subscriber_id', 'text', (c) => c.references('subscribers.id').onDelete('set null'))
    .addColumn('user_id', 'text', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) =>
      c.notNull().check(sql`state in ('queued', 'sending', 'sent', 'failed', 'cancelled')`),
    )
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('last_error', 'text')
    .addColumn('next_attempt_at', t.timestamp)
    .addColumn('sent_at', t.timestamp)
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('updated_at', t.timestamp, (c) => c.notNull())
    .addUniqueConstraint('deliveries_event_recipient_unique', ['event_id', 'recipient_key'])
    .execute()
  await db.schema
    .createIndex('deliveries_event_state_idx')
    .on('deliveries')
    .columns(['event_id', 'state'])
    .execute()
  await db.schema
    .createIndex('deliveries_subscriber_idx')
    .on('deliveries')
    .column('subscriber_id')
    .execute()
  await db.schema
    .createIndex('deliveries_created_idx')
    .on('deliveries')
    .columns(['page_id', 'created_at'])
    .execute()

  // The embedded queue; PostgreSQL uses graphile-worker's own schema instead.
  if (!postgres) {
    await db.schema
      .createTable('jobs')
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('task', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('job_key', 'text', (c) => c.unique())
      .addColumn('run_at', t.timestamp, (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('max_attempts', 'integer', (c) => c.notNull())
      .addColumn('locked_at', t.timestamp)
      .addColumn('locked_by', 'text')
      .addColumn('last_error', 'text')
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .execute()
    await db.schema.createIndex('jobs_run_at_idx').on('jobs').columns(['run_at', 'id']).execute()
  }
}

export async function down(db: AnyDb): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter
  if (!postgres) await db.schema.dropTable('jobs').ifExists().execute()
  for (const table of [
    'deliveries',
    'notification_events',
    'member_notification_optouts',
    'subscriber_components',
    'subscribers',
    'consent_texts',
  ])
    await db.schema.dropTable(table).execute()
  await db.schema.alterTable('incidents').dropColumn('reminder_sent_at').execute()
  await db.schema.alterTable('pages').dropColumn('notify_team').execute()
  await db.schema.alterTable('pages').dropColumn('privacy_notice').execute()
}
