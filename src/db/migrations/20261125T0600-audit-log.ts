import { PostgresAdapter, sql, type Kysely } from 'kysely'
import { columnTypes } from './types.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are frozen in time and must not follow today's schema types
type AnyDb = Kysely<any>

export async function up(db: AnyDb): Promise<void> {
  const t = columnTypes(db)
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter

  // One hash chain per account and one for the installation. No foreign keys: entries outlive
  // the accounts, users, pages and keys they name, and nothing may cascade into this table.
  await db.schema
    .createTable('audit_entries')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('chain', 'text', (c) => c.notNull())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('account_id', 'text')
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('actor_type', 'text', (c) =>
      c.notNull().check(sql`actor_type in ('user', 'api_key', 'system', 'anonymous')`),
    )
    .addColumn('actor_user_id', 'text')
    .addColumn('actor_api_key_id', 'text')
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('target_type', 'text')
    .addColumn('target_id', 'text')
    .addColumn('ip', 'text')
    .addColumn('user_agent', 'text')
    /** Canonical JSON (sorted keys), hashed as stored. */
    .addColumn('details', 'text', (c) => c.notNull())
    .addColumn('prev_hash', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addUniqueConstraint('audit_entries_chain_seq_unique', ['chain', 'seq'])
    .execute()
  await db.schema
    .createIndex('audit_entries_chain_actor_idx')
    .on('audit_entries')
    .columns(['chain', 'actor_user_id'])
    .execute()
  await db.schema
    .createIndex('audit_entries_chain_target_idx')
    .on('audit_entries')
    .columns(['chain', 'target_id'])
    .execute()

  // The latest entry of each chain. Appending updates this row first, which locks it until the
  // appending transaction ends: concurrent appends to one chain queue up instead of forking it.
  await db.schema
    .createTable('audit_chain_heads')
    .addColumn('chain', 'text', (c) => c.primaryKey())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('updated_at', t.timestamp, (c) => c.notNull())
    .execute()

  // Append-only, enforced by the database. The role that owns the tables (or a superuser) can
  // still drop or disable these triggers; the hash chain is what detects changes made that way.
  if (postgres) {
    await sql`
      CREATE FUNCTION audit_entries_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit entries are append-only: % refused', TG_OP
          USING ERRCODE = 'insufficient_privilege';
      END
      $$`.execute(db)
    await sql`
      CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries
      FOR EACH ROW EXECUTE FUNCTION audit_entries_refuse_change()`.execute(db)
    await sql`
      CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries
      FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_refuse_change()`.execute(db)
    await sql`
      CREATE FUNCTION audit_chain_heads_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP <> 'UPDATE' OR NEW.chain <> OLD.chain OR NEW.seq < OLD.seq THEN
          RAISE EXCEPTION 'audit chain heads only move forward: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
      END
      $$`.execute(db)
    await sql`
      CREATE TRIGGER audit_chain_heads_forward_only BEFORE UPDATE OR DELETE ON audit_chain_heads
      FOR EACH ROW EXECUTE FUNCTION audit_chain_heads_forward_only()`.execute(db)
  } else {
    await sql`
      CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
      BEGIN SELECT RAISE(ABORT, 'audit entries are append-only: UPDATE refused'); END`.execute(db)
    await sql`
      CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries
      BEGIN SELECT RAISE(ABORT, 'audit entries are append-only: DELETE refused'); END`.execute(db)
    await sql`
      CREATE TRIGGER audit_chain_heads_no_delete BEFORE DELETE ON audit_chain_heads
      BEGIN SELECT RAISE(ABORT, 'audit chain heads only move forward: DELETE refused'); END`.execute(
      db,
    )
    await sql`
      CREATE TRIGGER audit_chain_heads_no_rewind BEFORE UPDATE ON audit_chain_heads
      WHEN NEW.chain <> OLD.chain OR NEW.seq < OLD.seq
      BEGIN SELECT RAISE(ABORT, 'audit chain heads only move forward: UPDATE refused'); END`.execute(
      db,
    )
  }
}

export async function down(db: AnyDb): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter
  // Dropping a table drops its triggers; the functions go separately on PostgreSQL.
  await db.schema.dropTable('audit_chain_heads').execute()
  await db.schema.dropTable('audit_entries').execute()
  if (postgres) {
    await sql`DROP FUNCTION audit_chain_heads_forward_only()`.execute(db)
    await sql`DROP FUNCTION audit_entries_refuse_change()`.execute(db)
  }
}
