import type { Kysely } from 'kysely'
import type { KeyRing } from '../../crypto/key-ring.js'
import type { DatabaseSchema, Role, SsoProtocol } from '../../db/schema.js'

export type { SsoProtocol }

type Db = Kysely<DatabaseSchema>

/**
 * One identity provider an account signs in with. The protocol's settings (issuer, client id and
 * secret, IdP certificate, SP key pair…) are kept as encrypted JSON: each protocol module defines
 * and validates its own shape.
 */
export interface SsoConnection<C = unknown> {
  id: string
  accountId: string
  protocol: SsoProtocol
  name: string
  enabled: boolean
  config: C
  /** Lower-case email domains whose people may sign in and be provisioned; empty for none. */
  allowedDomains: readonly string[]
  /** Unknown people from an allowed domain become members at their first sign-in. */
  jitEnabled: boolean
  defaultRole: Exclude<Role, 'owner'>
  createdAt: Date
  updatedAt: Date
}

const CONFIG_CONTEXT = 'sso_connections.config'

export async function insertSsoConnection(
  db: Db,
  keyRing: KeyRing,
  connection: SsoConnection,
): Promise<void> {
  await db
    .insertInto('sso_connections')
    .values({
      id: connection.id,
      account_id: connection.accountId,
      protocol: connection.protocol,
      name: connection.name,
      enabled: connection.enabled,
      config_ciphertext: keyRing.encrypt(JSON.stringify(connection.config), CONFIG_CONTEXT),
      allowed_domains: JSON.stringify(connection.allowedDomains),
      jit_enabled: connection.jitEnabled,
      default_role: connection.defaultRole,
      created_at: connection.createdAt,
      updated_at: connection.updatedAt,
    })
    .execute()
}

export async function updateSsoConnection(
  db: Db,
  keyRing: KeyRing,
  connection: SsoConnection,
): Promise<void> {
  await db
    .updateTable('sso_connections')
    .set({
      name: connection.name,
      enabled: connection.enabled,
      config_ciphertext: keyRing.encrypt(JSON.stringify(connection.config), CONFIG_CONTEXT),
      allowed_domains: JSON.stringify(connection.allowedDomains),
      jit_enabled: connection.jitEnabled,
      default_role: connection.defaultRole,
      updated_at: connection.updatedAt,
    })
    .where('id', '=', connection.id)
    .where('account_id', '=', connection.accountId)
    .execute()
}

export async function deleteSsoConnection(db: Db, accountId: string, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom('sso_connections')
    .where('id', '=', id)
    .where('account_id', '=', accountId)
    .executeTakeFirst()
  return Number(result.numDeletedRows) === 1
}

/** By id alone: the public sign-in and metadata routes name a connection, not an account. */
export async function findSsoConnection(
  db: Db,
  keyRing: KeyRing,
  id: string,
): Promise<SsoConnection | undefined> {
  if (id.length === 0 || id.length > 64) return undefined
  const row = await db
    .selectFrom('sso_connections')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirst()
  return row === undefined ? undefined : toConnection(keyRing, row)
}

export async function listSsoConnections(
  db: Db,
  keyRing: KeyRing,
  accountId: string,
): Promise<SsoConnection[]> {
  const rows = await db
    .selectFrom('sso_connections')
    .selectAll()
    .where('account_id', '=', accountId)
    .orderBy('created_at')
    .orderBy('id')
    .execute()
  return rows.map((row) => toConnection(keyRing, row))
}

/** The enabled connections whose allowed domains include the email's: "sign in with SSO" by email. */
export async function findSsoConnectionsForDomain(
  db: Db,
  keyRing: KeyRing,
  domain: string,
): Promise<SsoConnection[]> {
  const needle = domain.trim().toLowerCase()
  if (needle === '' || needle.length > 253) return []
  const rows = await db
    .selectFrom('sso_connections')
    .selectAll()
    .where('enabled', '=', true)
    .where('allowed_domains', 'like', `%${JSON.stringify(needle).replace(/[%_\\]/g, '')}%`)
    .execute()
  return rows
    .map((row) => toConnection(keyRing, row))
    .filter((connection) => connection.allowedDomains.includes(needle))
}

function toConnection(
  keyRing: KeyRing,
  row: {
    id: string
    account_id: string
    protocol: SsoProtocol
    name: string
    enabled: boolean | 0 | 1
    config_ciphertext: string
    allowed_domains: string
    jit_enabled: boolean | 0 | 1
    default_role: Exclude<Role, 'owner'>
    created_at: string
    updated_at: string
  },
): SsoConnection {
  return {
    id: row.id,
    accountId: row.account_id,
    protocol: row.protocol,
    name: row.name,
    enabled: Boolean(row.enabled),
    config: JSON.parse(keyRing.decrypt(row.config_ciphertext, CONFIG_CONTEXT)) as unknown,
    allowedDomains: parseDomains(row.allowed_domains),
    jitEnabled: Boolean(row.jit_enabled),
    defaultRole: row.default_role,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  }
}

function parseDomains(json: string): string[] {
  const value: unknown = JSON.parse(json)
  return Array.isArray(value)
    ? value.filter((item): item is string => typeof item === 'string')
    : []
}
