import type { OidcProtocol } from '../../src/auth/oidc/oidc-config.js'
import type { Actor } from '../../src/domain/actor.js'
import type { TestApp } from '../helpers/build-app.js'
import type { TestOidcProvider } from './oidc-test-provider.js'

export const BASE_URL = 'http://candor.test'
export const REDIRECT_PREFIX = `${BASE_URL}/sso/oidc/`

/** The actor of a person acting outside a dashboard session (no sign-in rules apply). */
export function actorFor(userId: string): Actor {
  return { type: 'user', userId, sessionIdHash: 'test', ip: '127.0.0.1', userAgent: 'test' }
}

export async function createOidcConnection(
  t: TestApp,
  provider: TestOidcProvider,
  ownerId: string,
  accountId: string,
  options: {
    protocol?: OidcProtocol
    hostedDomain?: string
    jitEnabled?: boolean
    defaultRole?: 'admin' | 'editor' | 'viewer'
    allowedDomains?: string
    issuer?: string
  } = {},
): Promise<string> {
  const protocol = options.protocol ?? 'oidc'
  const connection = await t.runtime.services.ssoSettings.save(actorFor(ownerId), accountId, {
    protocol,
    common: {
      name: protocol === 'google' ? 'Google' : 'Test IdP',
      enabled: 'on',
      allowedDomains: options.allowedDomains ?? 'example.com',
      jitEnabled: options.jitEnabled === false ? undefined : 'on',
      defaultRole: options.defaultRole ?? 'editor',
    },
    checkConfig: t.runtime.services.oidc.configChecker(protocol, {
      issuer: options.issuer ?? provider.issuer,
      clientId: provider.clientId,
      clientSecret: provider.clientSecret,
      hostedDomain: options.hostedDomain,
    }),
  })
  return connection.id
}

/** The path and query of an absolute URL of the application. */
export function pathOf(url: string): string {
  const parsed = new URL(url)
  return `${parsed.pathname}${parsed.search}`
}

export async function auditEntries(
  t: TestApp,
  accountId: string,
  action: string,
): Promise<Record<string, unknown>[]> {
  const rows = await t.runtime.database.db
    .selectFrom('audit_entries')
    .select(['details'])
    .where('account_id', '=', accountId)
    .where('action', '=', action)
    .orderBy('seq')
    .execute()
  return rows.map((row) => {
    const details: unknown = row.details
    const value: unknown = typeof details === 'string' ? JSON.parse(details) : details
    return typeof value === 'object' && value !== null ? { ...value } : {}
  })
}
