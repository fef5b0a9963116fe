import { sql, type Kysely } from 'kysely'
import { columnTypes } from './types.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are frozen in time and must not follow today's schema types
type AnyDb = Kysely<any>

export async function up(db: AnyDb): Promise<void> {
  const t = columnTypes(db)

  await db.schema
    .createTable('pages')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) =>
      c.notNull().references('accounts.id').onDelete('cascade'),
    )
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('slug', 'text', (c) => c.notNull().unique())
    .addColumn('time_zone', 'text', (c) => c.notNull())
    .addColumn('locale', 'text', (c) => c.notNull())
    .addColumn('visibility', 'text', (c) =>
      c.notNull().check(sql`visibility in ('public', 'team', 'password', 'ip')`),
    )
    .addColumn('password_hash', 'text')
    .addColumn('ip_allowlist', 'text', (c) => c.notNull())
    .addColumn('brand_color', 'text', (c) => c.notNull())
    .addColumn('custom_css', 'text', (c) => c.notNull())
    .addColumn('support_url', 'text')
    .addColumn('homepage_url', 'text')
    .addColumn('custom_domain', 'text', (c) => c.unique())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('updated_at', t.timestamp, (c) => c.notNull())
    .execute()
  await db.schema.createIndex('pages_account_id_idx').on('pages').column('account_id').execute()

  await db.schema
    .createTable('page_logos')
    .addColumn('page_id', 'text', (c) => c.primaryKey().references('pages.id').onDelete('cascade'))
    .addColumn('content_type', 'text', (c) => c.notNull())
    .addColumn('data', t.binary, (c) => c.notNull())
    .addColumn('updated_at', t.timestamp, (c) => c.notNull())
    .execute()

  await db.schema
    .createTable('components')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('page_id', 'text', (c) => c.notNull().references('pages.id').onDelete('cascade'))
    .addColumn('group_id', 'text', (c) => c.references('components.id').onDelete('set null'))
    .addColumn('is_group', t.boolean, (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .check(
          sql`status in ('operational', 'degraded_performance', 'partial_outage', 'major_outage', 'under_maintenance')`,
        ),
    )
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('only_show_if_degraded', t.boolean, (c) => c.notNull())
    .addColumn('showcase', t.boolean, (c) => c.notNull())
    .addColumn('start_date', 'text')
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('updated_at', t.timestamp, (c) => c.notNull())
    .execute()
  await db.schema
    .createIndex('components_page_id_idx')
    .on('components')
    .columns(['page_id', 'position'])
    .execute()

  await db.schema
    .createTable('component_status_changes')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('component_id', 'text', (c) =>
      c.notNull().references('components.id').onDelete('cascade'),
    )
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('incident_id', 'text')
    .addColumn('changed_at', t.timestamp, (c) => c.notNull())
    .execute()
  await db.schema
    .createIndex('component_status_changes_component_idx')
    .on('component_status_changes')
    .columns(['component_id', 'changed_at'])
    .execute()

  await db.schema
    .createTable('incidents')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('page_id', 'text', (c) => c.notNull().references('pages.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('incident', 'maintenance')`))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('impact', 'text', (c) => c.notNull())
    .addColumn('started_at', t.timestamp, (c) => c.notNull())
    .addColumn('monitoring_at', t.timestamp)
    .addColumn('resolved_at', t.timestamp)
    .addColumn('scheduled_for', t.timestamp)
    .addColumn('scheduled_until', t.timestamp)
    .addColumn('auto_start', t.boolean, (c) => c.notNull())
    .addColumn('auto_complete', t.boolean, (c) => c.notNull())
    .addColumn('maintenance_restore', 'text')
    .addColumn('postmortem_body', 'text')
    .addColumn('postmortem_published_at', t.timestamp)
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('updated_at', t.timestamp, (c) => c.notNull())
    .execute()
  await db.schema
    .createIndex('incidents_page_idx')
    .on('incidents')
    .columns(['page_id', 'kind', 'started_at'])
    .execute()
  await db.schema
    .createIndex('incidents_schedule_idx')
    .on('incidents')
    .columns(['kind', 'status', 'scheduled_for'])
    .execute()

  await db.schema
    .createTable('incident_components')
    .addColumn('incident_id', 'text', (c) =>
      c.notNull().references('incidents.id').onDelete('cascade'),
    )
    .addColumn('component_id', 'text', (c) =>
      c.notNull().references('components.id').onDelete('cascade'),
    )
    .addPrimaryKeyConstraint('incident_components_pkey', ['incident_id', 'component_id'])
    .execute()

  await db.schema
    .createTable('incident_updates')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('incident_id', 'text', (c) =>
      c.notNull().references('incidents.id').onDelete('cascade'),
    )
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('display_at', t.timestamp, (c) => c.notNull())
    .addColumn('deliver_notifications', t.boolean, (c) => c.notNull())
    .addColumn('affected_components', 'text')
    .addColumn('created_by', 'text')
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('updated_at', t.timestamp, (c) => c.notNull())
    .execute()
  await db.schema
    .createIndex('incident_updates_incident_idx')
    .on('incident_updates')
    .columns(['incident_id', 'display_at'])
    .execute()

  await db.schema
    .createTable('incident_update_revisions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('incident_id', 'text', (c) =>
      c.notNull().references('incidents.id').onDelete('cascade'),
    )
    .addColumn('update_id', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull().check(sql`action in ('edited', 'deleted')`))
    .addColumn('previous_status', 'text', (c) => c.notNull())
    .addColumn('previous_body', 'text', (c) => c.notNull())
    .addColumn('previous_display_at', t.timestamp, (c) => c.notNull())
    .addColumn('actor_user_id', 'text', (c) => c.notNull())
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .execute()
  await db.schema
    .createIndex('incident_update_revisions_idx')
    .on('incident_update_revisions')
    .column('incident_id')
    .execute()

  await db.schema
    .createTable('incident_templates')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('page_id', 'text', (c) => c.notNull().references('pages.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('impact', 'text', (c) => c.notNull())
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('updated_at', t.timestamp, (c) => c.notNull())
    .execute()
  await db.schema
    .createIndex('incident_templates_page_idx')
    .on('incident_templates')
    .column('page_id')
    .execute()
}

export async function down(db: AnyDb): Promise<void> {
  for (const table of [
    'incident_templates',
    'incident_update_revisions',
    'incident_updates',
    'incident_components',
    'incidents',
    'component_status_changes',
    'components',
    'page_logos',
    'pages',
  ]) {
    await db.schema.dropTable(table).execute()
  }
}
