import { PostgresAdapter, sql, type Kysely } from 'kysely'
import { columnTypes } from './types.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are frozen in time and must not follow today's schema types
type AnyDb = Kysely<any>

export async function up(db: AnyDb): Promise<void> {
  const t = columnTypes(db)
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter
  const yes = sql.raw(postgres ? 'true' : '1')
  const no = sql.raw(postgres ? 'false' : '0')

  // Who set a status: null for people and incidents (as before), 'alert' or 'check' for monitoring.
  await db.schema.alterTable('component_status_changes').addColumn('origin', 'text').execute()

  await db.schema
    .createTable('alert_endpoints')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('page_id', 'text', (c) => c.notNull().references('pages.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('format', 'text', (c) =>
      c
        .notNull()
        .check(
          sql`format in ('alertmanager', 'grafana', 'pingdom', 'newrelic', 'datadog', 'pagerduty', 'opsgenie', 'generic')`,
        ),
    )
    /** Set for an endpoint of one component; null for a page endpoint with a mapping. */
    .addColumn('component_id', 'text', (c) => c.references('components.id').onDelete('set null'))
    /** JSON {key sent by the source: component id}. */
    .addColumn('component_map', 'text', (c) => c.notNull())
    .addColumn('firing_status', 'text', (c) =>
      c
        .notNull()
        .check(sql`firing_status in ('degraded_performance', 'partial_outage', 'major_outage')`),
    )
    .addColumn('map_severity', t.boolean, (c) => c.notNull().defaultTo(yes))
    .addColumn('create_drafts', t.boolean, (c) => c.notNull().defaultTo(no))
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    /** A signing secret the source gives (PagerDuty), encrypted with the key ring. */
    .addColumn('secret_ciphertext', 'text')
    .addColumn('last_received_at', t.timestamp)
    .addColumn('last_error', 'text')
    .addColumn('last_error_at', t.timestamp)
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('updated_at', t.timestamp, (c) => c.notNull())
    .execute()
  await db.schema
    .createIndex('alert_endpoints_page_idx')
    .on('alert_endpoints')
    .column('page_id')
    .execute()

  await db.schema
    .createTable('http_checks')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('page_id', 'text', (c) => c.notNull().references('pages.id').onDelete('cascade'))
    .addColumn('component_id', 'text', (c) =>
      c.notNull().references('components.id').onDelete('cascade'),
    )
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('interval_seconds', 'integer', (c) => c.notNull().check(sql`interval_seconds >= 30`))
    .addColumn('timeout_ms', 'integer', (c) => c.notNull())
    .addColumn('expected_status', 'integer', (c) => c.notNull())
    .addColumn('failure_threshold', 'integer', (c) => c.notNull())
    .addColumn('firing_status', 'text', (c) =>
      c
        .notNull()
        .check(sql`firing_status in ('degraded_performance', 'partial_outage', 'major_outage')`),
    )
    .addColumn('enabled', t.boolean, (c) => c.notNull())
    .addColumn('consecutive_failures', 'integer', (c) => c.notNull())
    .addColumn('last_checked_at', t.timestamp)
    .addColumn('last_status_code', 'integer')
    .addColumn('last_ok', t.boolean)
    .addColumn('last_error', 'text')
    /** Claimed with a conditional update, so each due run happens in one worker only. */
    .addColumn('next_run_at', t.timestamp, (c) => c.notNull())
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('updated_at', t.timestamp, (c) => c.notNull())
    .execute()
  await db.schema
    .createIndex('http_checks_due_idx')
    .on('http_checks')
    .columns(['enabled', 'next_run_at'])
    .execute()
  await db.schema.createIndex('http_checks_page_idx').on('http_checks').column('page_id').execute()

  // The latest state of every alert a source told us about, open or resolved: duplicates and
  // events older than the one applied are recognised here.
  await db.schema
    .createTable('alert_states')
    /** The endpoint or HTTP check the alert came from. */
    .addColumn('source_id', 'text', (c) => c.notNull())
    .addColumn('source_kind', 'text', (c) =>
      c.notNull().check(sql`source_kind in ('endpoint', 'check')`),
    )
    /** The source's own id of the alert (fingerprint, incident id, check id…). */
    .addColumn('alert_key', 'text', (c) => c.notNull())
    .addColumn('page_id', 'text', (c) => c.notNull().references('pages.id').onDelete('cascade'))
    .addColumn('component_id', 'text', (c) =>
      c.notNull().references('components.id').onDelete('cascade'),
    )
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('firing', 'resolved')`))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('title', 'text', (c) => c.notNull())
    /** The source's time of the event applied last. */
    .addColumn('source_at', t.timestamp, (c) => c.notNull())
    .addColumn('updated_at', t.timestamp, (c) => c.notNull())
    .addPrimaryKeyConstraint('alert_states_pk', ['source_id', 'alert_key'])
    .execute()
  await db.schema
    .createIndex('alert_states_component_idx')
    .on('alert_states')
    .columns(['component_id', 'state'])
    .execute()
  await db.schema
    .createIndex('alert_states_updated_idx')
    .on('alert_states')
    .columns(['state', 'updated_at'])
    .execute()

  await db.schema
    .createTable('incident_drafts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('page_id', 'text', (c) => c.notNull().references('pages.id').onDelete('cascade'))
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('impact', 'text', (c) => c.notNull())
    /** JSON {component id: status}. */
    .addColumn('component_statuses', 'text', (c) => c.notNull())
    .addColumn('source_endpoint_id', 'text', (c) =>
      c.references('alert_endpoints.id').onDelete('set null'),
    )
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .execute()
  await db.schema
    .createIndex('incident_drafts_page_idx')
    .on('incident_drafts')
    .columns(['page_id', 'created_at'])
    .execute()
}

export async function down(db: AnyDb): Promise<void> {
  for (const table of ['incident_drafts', 'alert_states', 'http_checks', 'alert_endpoints'])
    await db.schema.dropTable(table).execute()
  await db.schema.alterTable('component_status_changes').dropColumn('origin').execute()
}
