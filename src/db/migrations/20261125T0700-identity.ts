import { sql, type Kysely } from 'kysely'
import { PostgresAdapter } from 'kysely'
import { columnTypes } from './types.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are frozen in time and must not follow today's schema types
type AnyDb = Kysely<any>

/**
 * Team and identity: invitations, members limited to some pages, two-factor (TOTP, recovery codes,
 * passkeys), single sign-on (OIDC and SAML) with just-in-time provisioning and single log-out, and
 * the short-lived state of multi-step sign-ins.
 */
export async function up(db: AnyDb): Promise<void> {
  const t = columnTypes(db)
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter
  const no = sql.raw(postgres ? 'false' : '0')

  // How a session was established, when its user last proved who they are (for actions that ask
  // again), and for single sign-on the IdP's session, so a log-out from the IdP ends it.
  await db.schema
    .alterTable('sessions')
    .addColumn('auth_method', 'text', (c) => c.notNull().defaultTo('password'))
    .execute()
  await db.schema.alterTable('sessions').addColumn('authenticated_at', t.timestamp).execute()
  await db.schema.alterTable('sessions').addColumn('sso_connection_id', 'text').execute()
  await db.schema.alterTable('sessions').addColumn('sso_account_id', 'text').execute()
  await db.schema.alterTable('sessions').addColumn('sso_subject_hash', 'text').execute()
  await db.schema.alterTable('sessions').addColumn('sso_session_index', 'text').execute()
  await db.schema.alterTable('sessions').addColumn('sso_logout_ciphertext', 'text').execute()
  await db.schema
    .createIndex('sessions_sso_subject_idx')
    .on('sessions')
    .columns(['sso_connection_id', 'sso_subject_hash'])
    .execute()

  await db.schema.alterTable('users').addColumn('totp_secret_ciphertext', 'text').execute()
  await db.schema.alterTable('users').addColumn('totp_enabled_at', t.timestamp).execute()
  await db.schema.alterTable('users').addColumn('totp_last_step', 'integer').execute()

  await db.schema
    .alterTable('accounts')
    .addColumn('require_two_factor', t.boolean, (c) => c.notNull().defaultTo(no))
    .execute()
  await db.schema
    .alterTable('accounts')
    .addColumn('sso_enforced', t.boolean, (c) => c.notNull().defaultTo(no))
    .execute()

  // A member with rows here sees and acts on those pages only; without rows, on every page.
  await db.schema
    .createTable('membership_pages')
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('page_id', 'text', (c) => c.notNull().references('pages.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('membership_pages_pkey', ['account_id', 'user_id', 'page_id'])
    .addForeignKeyConstraint(
      'membership_pages_membership_fkey',
      ['account_id', 'user_id'],
      'memberships',
      ['account_id', 'user_id'],
      (c) => c.onDelete('cascade'),
    )
    .execute()
  await db.schema
    .createIndex('membership_pages_page_idx')
    .on('membership_pages')
    .column('page_id')
    .execute()

  await db.schema
    .createTable('invitations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) =>
      c.notNull().references('accounts.id').onDelete('cascade'),
    )
    .addColumn('email_ciphertext', 'text', (c) => c.notNull())
    .addColumn('email_index', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('admin', 'editor', 'viewer')`))
    .addColumn('can_invite', t.boolean, (c) => c.notNull())
    /** JSON array of page ids, or null for every page. */
    .addColumn('page_ids', 'text')
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('invited_by', 'text', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('expires_at', t.timestamp, (c) => c.notNull())
    .addColumn('accepted_at', t.timestamp)
    .addColumn('accepted_by', 'text', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('revoked_at', t.timestamp)
    .execute()
  await db.schema
    .createIndex('invitations_account_idx')
    .on('invitations')
    .columns(['account_id', 'created_at'])
    .execute()

  await db.schema
    .createTable('recovery_codes')
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('code_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('used_at', t.timestamp)
    .addPrimaryKeyConstraint('recovery_codes_pkey', ['user_id', 'code_hash'])
    .execute()

  await db.schema
    .createTable('webauthn_credentials')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('counter', 'integer', (c) => c.notNull())
    /** JSON array of transports reported at registration. */
    .addColumn('transports', 'text', (c) => c.notNull())
    .addColumn('device_type', 'text', (c) => c.notNull())
    .addColumn('backed_up', t.boolean, (c) => c.notNull())
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('last_used_at', t.timestamp)
    .execute()
  await db.schema
    .createIndex('webauthn_credentials_user_idx')
    .on('webauthn_credentials')
    .column('user_id')
    .execute()

  // The state between two requests of a multi-step sign-in (a pending second factor, a WebAuthn
  // challenge, an OIDC state/nonce/verifier, a SAML request id), found by the hash of a random
  // token and used once.
  await db.schema
    .createTable('auth_flows')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.references('users.id').onDelete('cascade'))
    .addColumn('account_id', 'text', (c) => c.references('accounts.id').onDelete('cascade'))
    .addColumn('payload_ciphertext', 'text')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('expires_at', t.timestamp, (c) => c.notNull())
    .addColumn('consumed_at', t.timestamp)
    .execute()
  await db.schema
    .createIndex('auth_flows_expires_idx')
    .on('auth_flows')
    .column('expires_at')
    .execute()

  await db.schema
    .createTable('sso_connections')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) =>
      c.notNull().references('accounts.id').onDelete('cascade'),
    )
    .addColumn('protocol', 'text', (c) =>
      c.notNull().check(sql`protocol in ('google', 'oidc', 'saml')`),
    )
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('enabled', t.boolean, (c) => c.notNull())
    /** Encrypted JSON: issuer, client id and secret, IdP certificate, SP key pair… */
    .addColumn('config_ciphertext', 'text', (c) => c.notNull())
    /** JSON array of lower-case email domains allowed to sign in (and to be provisioned). */
    .addColumn('allowed_domains', 'text', (c) => c.notNull())
    .addColumn('jit_enabled', t.boolean, (c) => c.notNull())
    .addColumn('default_role', 'text', (c) =>
      c.notNull().check(sql`default_role in ('admin', 'editor', 'viewer')`),
    )
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('updated_at', t.timestamp, (c) => c.notNull())
    .execute()
  await db.schema
    .createIndex('sso_connections_account_idx')
    .on('sso_connections')
    .column('account_id')
    .execute()

  // Who an IdP's subject (OIDC sub, SAML NameID) is here, by a blind index of the subject.
  await db.schema
    .createTable('sso_identities')
    .addColumn('connection_id', 'text', (c) =>
      c.notNull().references('sso_connections.id').onDelete('cascade'),
    )
    .addColumn('subject_hash', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('last_used_at', t.timestamp, (c) => c.notNull())
    .addPrimaryKeyConstraint('sso_identities_pkey', ['connection_id', 'subject_hash'])
    .execute()
  await db.schema
    .createIndex('sso_identities_user_idx')
    .on('sso_identities')
    .column('user_id')
    .execute()

  // Assertion and message ids already accepted, kept until they would have expired anyway.
  await db.schema
    .createTable('sso_replay_cache')
    .addColumn('connection_id', 'text', (c) =>
      c.notNull().references('sso_connections.id').onDelete('cascade'),
    )
    .addColumn('message_id', 'text', (c) => c.notNull())
    .addColumn('expires_at', t.timestamp, (c) => c.notNull())
    .addPrimaryKeyConstraint('sso_replay_cache_pkey', ['connection_id', 'message_id'])
    .execute()
}

export async function down(db: AnyDb): Promise<void> {
  for (const table of [
    'sso_replay_cache',
    'sso_identities',
    'sso_connections',
    'auth_flows',
    'webauthn_credentials',
    'recovery_codes',
    'invitations',
    'membership_pages',
  ])
    await db.schema.dropTable(table).execute()
  await db.schema.alterTable('accounts').dropColumn('sso_enforced').execute()
  await db.schema.alterTable('accounts').dropColumn('require_two_factor').execute()
  for (const column of ['totp_last_step', 'totp_enabled_at', 'totp_secret_ciphertext'])
    await db.schema.alterTable('users').dropColumn(column).execute()
  await db.schema.dropIndex('sessions_sso_subject_idx').execute()
  for (const column of [
    'sso_logout_ciphertext',
    'sso_session_index',
    'sso_subject_hash',
    'sso_account_id',
    'sso_connection_id',
    'authenticated_at',
    'auth_method',
  ])
    await db.schema.alterTable('sessions').dropColumn(column).execute()
}
