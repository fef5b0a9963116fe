import type { Kysely } from 'kysely'
import type { KeyRing } from '../../crypto/key-ring.js'
import { generateId } from '../../crypto/tokens.js'
import type { DatabaseSchema, Role } from '../../db/schema.js'
import { authorize } from '../../domain/accounts/authorization.js'
import { requireRecentAuthentication } from '../../domain/accounts/reauthentication.js'
import type { Actor } from '../../domain/actor.js'
import { auditOrigin, type AuditLog } from '../../domain/audit/audit-log.js'
import type { Clock } from '../../domain/clock.js'
import { ConflictError, ForbiddenError, NotFoundError } from '../../domain/errors.js'
import { InputChecker, isChecked } from '../../domain/validation.js'
import {
  deleteSsoConnection,
  findSsoConnection,
  findSsoConnectionsForDomain,
  insertSsoConnection,
  listSsoConnections,
  updateSsoConnection,
  type SsoConnection,
  type SsoProtocol,
} from './sso-connections.js'

export interface SsoSettingsDeps {
  db: Kysely<DatabaseSchema>
  keyRing: KeyRing
  clock: Clock
  audit: AuditLog
}

/** The settings every protocol shares, as a form or the API sends them. */
export interface SsoCommonInput {
  name: unknown
  enabled: unknown
  /** Comma- or space-separated, or an array. */
  allowedDomains: unknown
  jitEnabled: unknown
  defaultRole: unknown
}

export interface SsoSettings {
  connections: SsoConnection[]
  ssoEnforced: boolean
}

const NAME_MAX = 100
const DOMAINS_MAX = 50
const DOMAIN_PATTERN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/
const MEMBER_ROLES: readonly Exclude<Role, 'owner'>[] = ['admin', 'editor', 'viewer']

export type SsoSettingsService = ReturnType<typeof createSsoSettingsService>

/**
 * An account's identity providers, configured by its admins and owner. Each protocol module
 * (OIDC, SAML) validates its own settings and hands them here with the shared ones; secrets are
 * kept encrypted by the repository and never shown back. When a connection is pointed at another
 * identity provider, the people it linked and the sessions it opened are forgotten: a new IdP
 * must not inherit the old one's subjects.
 */
export function createSsoSettingsService({ db, keyRing, clock, audit }: SsoSettingsDeps) {
  async function settings(actor: Actor, accountId: string): Promise<SsoSettings> {
    await authorize(db, actor, accountId, 'sso.read')
    const account = await db
      .selectFrom('accounts')
      .select('sso_enforced')
      .where('id', '=', accountId)
      .executeTakeFirstOrThrow()
    return {
      connections: await listSsoConnections(db, keyRing, accountId),
      ssoEnforced: Boolean(account.sso_enforced),
    }
  }

  async function get(actor: Actor, accountId: string, id: string): Promise<SsoConnection> {
    await authorize(db, actor, accountId, 'sso.read-connection')
    const connection = await findSsoConnection(db, keyRing, id)
    if (connection?.accountId !== accountId) throw new NotFoundError('The SSO connection')
    return connection
  }

  function checkCommon(input: SsoCommonInput, checker: InputChecker) {
    const name = checker.text('name', input.name, { label: 'Name', max: NAME_MAX })
    const domains = parseDomains(input.allowedDomains)
    if (domains.length > DOMAINS_MAX)
      checker.add('allowedDomains', `At most ${String(DOMAINS_MAX)} domains.`)
    const bad = domains.find((domain) => !DOMAIN_PATTERN.test(domain))
    if (bad !== undefined)
      checker.add('allowedDomains', `"${bad.slice(0, 60)}" is not a domain like example.com.`)
    const role = typeof input.defaultRole === 'string' ? input.defaultRole : 'viewer'
    const defaultRole = MEMBER_ROLES.find((candidate) => candidate === role)
    if (defaultRole === undefined)
      checker.add('defaultRole', 'The default role is admin, editor or viewer.')
    return {
      name,
      enabled: isChecked(input.enabled),
      allowedDomains: domains,
      jitEnabled: isChecked(input.jitEnabled),
      defaultRole: defaultRole ?? 'viewer',
    }
  }

  /**
   * Creates (no id) or updates a connection. `checkConfig` validates the protocol's own settings
   * into `checker` (given the previous ones, so a secret left blank is kept) and says whether the
   * identity provider itself changed.
   */
  async function save<C>(
    actor: Actor,
    accountId: string,
    input: {
      id?: string | undefined
      protocol: SsoProtocol
      common: SsoCommonInput
      checkConfig: (
        checker: InputChecker,
        previous: C | undefined,
      ) => { config: C; identityChanged: boolean }
    },
  ): Promise<SsoConnection<C>> {
    await authorize(db, actor, accountId, 'sso.write')
    const previous = input.id === undefined ? undefined : await get(actor, accountId, input.id)
    if (previous !== undefined && previous.protocol !== input.protocol)
      throw new NotFoundError('The SSO connection')
    const checker = new InputChecker()
    const common = checkCommon(input.common, checker)
    const { config, identityChanged } = input.checkConfig(
      checker,
      // The connection's config was written by this protocol's checkConfig.
      previous?.config as C | undefined,
    )
    if (common.jitEnabled && common.allowedDomains.length === 0)
      checker.add(
        'allowedDomains',
        'Just-in-time provisioning needs at least one allowed email domain.',
      )
    checker.assertValid()
    const now = clock.now()
    const connection: SsoConnection<C> = {
      id: previous?.id ?? generateId(),
      accountId,
      protocol: input.protocol,
      ...common,
      config,
      createdAt: previous?.createdAt ?? now,
      updatedAt: now,
    }
    await db.transaction().execute(async (trx) => {
      if (previous === undefined) await insertSsoConnection(trx, keyRing, connection)
      else {
        if (previous.enabled && !connection.enabled)
          await assertNotLastEnforced(trx, accountId, connection.id)
        await updateSsoConnection(trx, keyRing, connection)
        if (identityChanged) await forgetLinks(trx, connection.id)
        if (!connection.enabled)
          await trx.deleteFrom('sessions').where('sso_connection_id', '=', connection.id).execute()
      }
      await audit.record(trx, {
        accountId,
        ...auditOrigin(actor),
        action: previous === undefined ? 'sso.connection_created' : 'sso.connection_updated',
        target: { type: 'sso_connection', id: connection.id },
        details: {
          protocol: connection.protocol,
          enabled: connection.enabled,
          jitEnabled: connection.jitEnabled,
          defaultRole: connection.defaultRole,
          allowedDomains: connection.allowedDomains,
          identityProviderChanged: previous !== undefined && identityChanged,
        },
      })
    })
    return connection
  }

  async function forgetLinks(trx: Kysely<DatabaseSchema>, connectionId: string): Promise<void> {
    await trx.deleteFrom('sso_identities').where('connection_id', '=', connectionId).execute()
    await trx.deleteFrom('sessions').where('sso_connection_id', '=', connectionId).execute()
  }

  /** Removing the last enabled connection while SSO is enforced would lock the team out. */
  async function remove(actor: Actor, accountId: string, id: string): Promise<void> {
    await get(actor, accountId, id)
    await db.transaction().execute(async (trx) => {
      await assertNotLastEnforced(trx, accountId, id)
      await forgetLinks(trx, id)
      if (!(await deleteSsoConnection(trx, accountId, id)))
        throw new NotFoundError('The SSO connection')
      await audit.record(trx, {
        accountId,
        ...auditOrigin(actor),
        action: 'sso.connection_deleted',
        target: { type: 'sso_connection', id },
      })
    })
  }

  async function assertNotLastEnforced(
    trx: Kysely<DatabaseSchema>,
    accountId: string,
    removedId: string,
  ): Promise<void> {
    const account = await trx
      .selectFrom('accounts')
      .select('sso_enforced')
      .where('id', '=', accountId)
      .executeTakeFirstOrThrow()
    if (!account.sso_enforced) return
    const others = await trx
      .selectFrom('sso_connections')
      .select('id')
      .where('account_id', '=', accountId)
      .where('enabled', '=', true)
      .where('id', '!=', removedId)
      .execute()
    if (others.length === 0)
      throw new ConflictError(
        'sso_enforced',
        'Single sign-on is enforced and this is the last enabled connection. Turn enforcement off first.',
      )
  }

  /**
   * Enforcing SSO (admins and the owner) needs an enabled connection; turning it off weakens every
   * member's sign-in, so only the owner may, after proving who they are again.
   */
  async function setEnforced(actor: Actor, accountId: string, enforced: boolean): Promise<void> {
    const membership = await authorize(db, actor, accountId, 'sso.write')
    if (!enforced) {
      if (membership.role !== 'owner')
        throw new ForbiddenError('Only the owner can turn single sign-on enforcement off.')
      requireRecentAuthentication(actor, clock)
    }
    await db.transaction().execute(async (trx) => {
      if (enforced) {
        const enabled = await trx
          .selectFrom('sso_connections')
          .select('id')
          .where('account_id', '=', accountId)
          .where('enabled', '=', true)
          .execute()
        if (enabled.length === 0)
          throw new ConflictError(
            'no_sso_connection',
            'Add and enable an identity provider before enforcing single sign-on.',
          )
      }
      await trx
        .updateTable('accounts')
        .set({ sso_enforced: enforced, updated_at: clock.now() })
        .where('id', '=', accountId)
        .execute()
      await audit.record(trx, {
        accountId,
        ...auditOrigin(actor),
        action: enforced ? 'sso.enforcement_enabled' : 'sso.enforcement_disabled',
        target: { type: 'account', id: accountId },
      })
    })
  }

  /**
   * "Sign in with single sign-on" by email: the enabled connections of the email's domain, only
   * what the sign-in page needs (no account). Undefined when the text is not an email address.
   */
  async function connectionsForEmail(
    email: string,
  ): Promise<{ id: string; name: string; protocol: SsoProtocol }[] | undefined> {
    const normalized = email.trim().toLowerCase()
    const at = normalized.lastIndexOf('@')
    if (at < 1 || normalized.length > 254 || /\s/.test(normalized)) return undefined
    const domain = normalized.slice(at + 1)
    if (!DOMAIN_PATTERN.test(domain)) return undefined
    const found = await findSsoConnectionsForDomain(db, keyRing, domain)
    return found.map(({ id, name, protocol }) => ({ id, name, protocol }))
  }

  return { settings, get, save, remove, setEnforced, connectionsForEmail }
}

function parseDomains(value: unknown): string[] {
  const items = Array.isArray(value)
    ? value.filter((item): item is string => typeof item === 'string')
    : typeof value === 'string'
      ? value.split(/[\s,]+/)
      : []
  return [
    ...new Set(
      items.map((item) => item.trim().toLowerCase().replace(/^@/, '')).filter((d) => d !== ''),
    ),
  ]
}
