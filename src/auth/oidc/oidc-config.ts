import type { InputChecker } from '../../domain/validation.js'

export type OidcProtocol = 'google' | 'oidc'

/** The OpenID Connect settings of one connection, kept encrypted with the connection. */
export interface OidcConnectionConfig {
  /** The issuer identifier (discovery at `<issuer>/.well-known/openid-configuration`); null for Google. */
  issuer: string | null
  clientId: string
  clientSecret: string
  /** Google Workspace domain whose accounts alone may sign in (the `hd` claim); null for any. */
  hostedDomain: string | null
  scopes: readonly string[]
}

/** What the settings form sends for an OpenID Connect connection. */
export interface OidcConfigInput {
  issuer?: unknown
  clientId?: unknown
  /** Blank keeps the secret already stored. */
  clientSecret?: unknown
  hostedDomain?: unknown
  scopes?: unknown
}

export const GOOGLE_ISSUER = 'https://accounts.google.com'
export const DEFAULT_SCOPES: readonly string[] = ['openid', 'email', 'profile']

const CLIENT_ID_MAX = 255
const SECRET_MAX = 1024
const ISSUER_MAX = 500
const SCOPE_PATTERN = /^[\x21\x23-\x5b\x5d-\x7e]{1,64}$/
const DOMAIN_PATTERN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/

export function isOidcProtocol(protocol: string): protocol is OidcProtocol {
  return protocol === 'google' || protocol === 'oidc'
}

/**
 * Validates the form's OpenID Connect settings for `SsoSettingsService.save`. A blank secret keeps
 * the stored one; pointing the connection at another issuer or client counts as another identity
 * provider, so the subjects it linked are forgotten.
 */
export function oidcConfigChecker(
  protocol: OidcProtocol,
  input: OidcConfigInput,
  options: { allowInsecureIssuers: boolean },
) {
  return (
    checker: InputChecker,
    previous: OidcConnectionConfig | undefined,
  ): { config: OidcConnectionConfig; identityChanged: boolean } => {
    let issuer: string | null = null
    if (protocol === 'oidc') {
      issuer = checker.text('issuer', input.issuer, { label: 'Issuer URL', max: ISSUER_MAX })
      const problem = issuer === '' ? undefined : issuerProblem(issuer, options)
      if (problem !== undefined) checker.add('issuer', problem)
      issuer = normalizeIssuer(issuer)
    }
    const clientId = checker.text('clientId', input.clientId, {
      label: 'Client ID',
      max: CLIENT_ID_MAX,
    })
    const typedSecret = typeof input.clientSecret === 'string' ? input.clientSecret.trim() : ''
    let clientSecret = previous?.clientSecret ?? ''
    if (typedSecret !== '') {
      clientSecret = checker.text('clientSecret', typedSecret, {
        label: 'Client secret',
        max: SECRET_MAX,
      })
    } else if (clientSecret === '') checker.add('clientSecret', 'Client secret is required.')

    let hostedDomain: string | null = null
    if (protocol === 'google') {
      const raw =
        typeof input.hostedDomain === 'string'
          ? input.hostedDomain.trim().toLowerCase().replace(/^@/, '')
          : ''
      if (raw !== '') {
        if (DOMAIN_PATTERN.test(raw)) hostedDomain = raw
        else checker.add('hostedDomain', 'Enter a domain like example.com, or leave it blank.')
      }
    }

    const scopes = parseScopes(input.scopes)
    if (scopes.some((scope) => !SCOPE_PATTERN.test(scope)) || scopes.length > 20)
      checker.add('scopes', 'Scopes are up to 20 words separated by spaces.')

    const config: OidcConnectionConfig = { issuer, clientId, clientSecret, hostedDomain, scopes }
    const identityChanged =
      previous !== undefined &&
      (previous.issuer !== config.issuer || previous.clientId !== config.clientId)
    return { config, identityChanged }
  }
}

function parseScopes(value: unknown): string[] {
  const words = typeof value === 'string' ? value.split(/[\s,]+/).filter((w) => w !== '') : []
  return [...new Set(['openid', 'email', ...(words.length === 0 ? DEFAULT_SCOPES : words)])]
}

function issuerProblem(
  issuer: string,
  options: { allowInsecureIssuers: boolean },
): string | undefined {
  let url: URL
  try {
    url = new URL(issuer)
  } catch {
    return 'Enter the issuer URL, like https://login.example.com.'
  }
  if (url.protocol !== 'https:' && !(options.allowInsecureIssuers && url.protocol === 'http:'))
    return 'The issuer URL must start with https://.'
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '')
    return 'The issuer URL has no user name, query or fragment.'
  return undefined
}

/** Admins often paste the discovery document's address; the issuer is the part before it. */
function normalizeIssuer(issuer: string): string {
  return issuer.replace(/\/\.well-known\/openid-configuration\/?$/, '')
}
