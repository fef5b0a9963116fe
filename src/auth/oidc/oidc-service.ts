import type { Kysely } from 'kysely'
import * as client from 'openid-client'
import { fetch as undiciFetch, type Agent } from 'undici'
import type { KeyRing } from '../../crypto/key-ring.js'
import { generateToken, hashToken, safeEqual } from '../../crypto/tokens.js'
import type { DatabaseSchema } from '../../db/schema.js'
import type { RequestOrigin } from '../../domain/actor.js'
import type { AuditLog } from '../../domain/audit/audit-log.js'
import type { Clock } from '../../domain/clock.js'
import { DomainError } from '../../domain/errors.js'
import { createGuardedAgent } from '../../notify/outbound-http.js'
import { consumeAuthFlow, startAuthFlow } from '../auth-flows.js'
import { findSsoConnection, type SsoConnection } from '../sso/sso-connections.js'
import type { SsoSignIn } from '../sso/sso-sign-in.js'
import {
  GOOGLE_ISSUER,
  isOidcProtocol,
  oidcConfigChecker,
  type OidcConfigInput,
  type OidcConnectionConfig,
  type OidcProtocol,
} from './oidc-config.js'

/** Test-only wiring: a local OpenID provider stands in for Google, over plain HTTP. */
export interface OidcOverrides {
  googleIssuer?: string | undefined
  allowInsecureRequests?: boolean | undefined
  /** A shorter limit per request to the provider, to test a provider that never answers. */
  timeoutMs?: number | undefined
}

export interface OidcDeps {
  db: Kysely<DatabaseSchema>
  keyRing: KeyRing
  clock: Clock
  audit: AuditLog
  ssoSignIn: SsoSignIn
  baseUrl: URL
  /** Private ranges an identity provider may be reached at (the operator's outbound allow-list). */
  allowedRanges: readonly string[]
  overrides?: OidcOverrides | undefined
  discoveryTtlMs?: number
  timeoutMs?: number
}

export const OIDC_FLOW_KIND = 'oidc'
export const OIDC_FLOW_TTL_MS = 10 * 60_000
const DEFAULT_DISCOVERY_TTL_MS = 15 * 60_000
const DEFAULT_TIMEOUT_MS = 10_000
/** Discovery documents, key sets and token answers are a few kilobytes. */
const MAX_RESPONSE_BYTES = 1024 * 1024

export type OidcFailureReason =
  | 'connection_unavailable'
  | 'state_invalid'
  | 'browser_mismatch'
  | 'idp_error'
  | 'code_rejected'
  | 'id_token_invalid'
  | 'idp_unavailable'
  | 'email_not_verified'
  | 'email_missing'
  | 'hosted_domain_mismatch'
  | 'not_a_member'
  | 'owner_uses_password'
  | 'sso_disabled'

/**
 * A sign-in through an identity provider that did not succeed. The message is written for the
 * person signing in; `status` is the HTTP status of the page that says so (502 when the provider
 * could not be reached or answered nonsense).
 */
export class OidcSignInError extends Error {
  override readonly name = 'OidcSignInError'
  constructor(
    readonly reason: OidcFailureReason,
    readonly status: 400 | 401 | 403 | 404 | 502,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

interface OidcFlowPayload {
  connectionId: string
  nonce: string
  codeVerifier: string
  /** Hash of the random value in the browser's flow cookie: a state from another browser fails. */
  browserHash: string
}

interface CachedDiscovery {
  fingerprint: string
  configuration: client.Configuration
  expiresAt: number
}

export type OidcService = ReturnType<typeof createOidcService>

/**
 * The relying party of "Sign in with Google" and any OpenID Connect provider: authorization code
 * with PKCE (S256), random state and nonce kept server-side for ten minutes and bound to the
 * browser, ID token checked by openid-client (issuer, audience, signature, expiry, nonce), then a
 * verified email handed to the shared SSO sign-in. Requests to the provider go through the same
 * address checks as webhooks, as its URL is typed by an account's admin.
 */
export function createOidcService(deps: OidcDeps) {
  const { db, keyRing, clock, audit, ssoSignIn } = deps
  const allowInsecure = deps.overrides?.allowInsecureRequests === true
  const googleIssuer = deps.overrides?.googleIssuer ?? GOOGLE_ISSUER
  const discoveryTtlMs = deps.discoveryTtlMs ?? DEFAULT_DISCOVERY_TTL_MS
  const timeoutMs = deps.overrides?.timeoutMs ?? deps.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const agent: Agent = createGuardedAgent({
    allowedRanges: deps.allowedRanges,
    connectTimeoutMs: Math.min(5_000, timeoutMs),
    timeoutMs,
  })
  const discoveries = new Map<string, CachedDiscovery>()

  const guardedFetch: client.CustomFetch = async (url, options) => {
    const response = await undiciFetch(url, {
      method: options.method,
      headers: options.headers,
      redirect: 'manual',
      dispatcher: agent,
      ...(options.body === undefined || options.body === null
        ? {}
        : {
            body:
              options.body instanceof ReadableStream
                ? await new Response(options.body).arrayBuffer()
                : options.body,
          }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    })
    // Read here, with a cap, so a provider cannot make Candor hold an endless answer in memory.
    const bytes = await readCapped(response.body, MAX_RESPONSE_BYTES)
    return new Response(bytes.length === 0 ? null : bytes, {
      status: response.status,
      statusText: response.statusText,
      headers: [...response.headers],
    })
  }

  function redirectUri(connectionId: string): string {
    return new URL(`/sso/oidc/${encodeURIComponent(connectionId)}/callback`, deps.baseUrl).href
  }

  function issuerOf(connection: SsoConnection<OidcConnectionConfig>): string {
    return connection.protocol === 'google' ? googleIssuer : (connection.config.issuer ?? '')
  }

  async function loadConnection(
    connectionId: string,
  ): Promise<SsoConnection<OidcConnectionConfig>> {
    const connection = await findSsoConnection(db, keyRing, connectionId)
    if (connection === undefined || !isOidcProtocol(connection.protocol) || !connection.enabled)
      throw new OidcSignInError(
        'connection_unavailable',
        404,
        'This single sign-on connection does not exist or is turned off.',
      )
    // The config was written by oidcConfigChecker for this protocol.
    return connection as SsoConnection<OidcConnectionConfig>
  }

  /** The provider's metadata, discovered once per connection and kept for a while. */
  async function configurationFor(
    connection: SsoConnection<OidcConnectionConfig>,
  ): Promise<client.Configuration> {
    const issuer = issuerOf(connection)
    const fingerprint = hashToken(
      [issuer, connection.config.clientId, connection.config.clientSecret].join('\u0000'),
    )
    const now = clock.now().getTime()
    const cached = discoveries.get(connection.id)
    if (cached !== undefined && cached.fingerprint === fingerprint && cached.expiresAt > now)
      return cached.configuration
    let configuration: client.Configuration
    try {
      configuration = await client.discovery(
        new URL(issuer),
        connection.config.clientId,
        connection.config.clientSecret,
        client.ClientSecretPost(connection.config.clientSecret),
        {
          [client.customFetch]: guardedFetch,
          timeout: Math.ceil(timeoutMs / 1000),
          // openid-client trusts TLS for ID tokens from the token endpoint; checking their
          // signature too means a forged or altered token is refused whatever carried it.
          execute: allowInsecure
            ? // Only the tests' local provider speaks plain HTTP (OidcOverrides).
              // eslint-disable-next-line @typescript-eslint/no-deprecated
              [client.enableNonRepudiationChecks, client.allowInsecureRequests]
            : [client.enableNonRepudiationChecks],
        },
      )
    } catch (error) {
      throw unavailable(error)
    }
    discoveries.set(connection.id, { fingerprint, configuration, expiresAt: now + discoveryTtlMs })
    return configuration
  }

  /**
   * Starts a sign-in: the address of the provider's authorization endpoint. `browserToken` is the
   * random value of the browser's flow cookie (the caller sets it).
   */
  async function start(connectionId: string, browserToken: string): Promise<URL> {
    const connection = await loadConnection(connectionId)
    const configuration = await configurationFor(connection)
    const state = client.randomState()
    const nonce = client.randomNonce()
    const codeVerifier = client.randomPKCECodeVerifier()
    const payload: OidcFlowPayload = {
      connectionId: connection.id,
      nonce,
      codeVerifier,
      browserHash: hashToken(browserToken),
    }
    await startAuthFlow(
      db,
      keyRing,
      {
        kind: OIDC_FLOW_KIND,
        accountId: connection.accountId,
        payload,
        now: clock.now(),
        ttlMs: OIDC_FLOW_TTL_MS,
      },
      state,
    )
    const parameters: Record<string, string> = {
      redirect_uri: redirectUri(connection.id),
      scope: connection.config.scopes.join(' '),
      response_type: 'code',
      state,
      nonce,
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
    }
    if (connection.protocol === 'google' && connection.config.hostedDomain !== null)
      parameters['hd'] = connection.config.hostedDomain
    return client.buildAuthorizationUrl(configuration, parameters)
  }

  /**
   * Finishes a sign-in from the provider's redirect: the flow is used up whatever happens next,
   * then the code is exchanged and the ID token checked. Failures past the state check are
   * audited (with a reason, never a token or a secret).
   */
  async function finish(
    connectionId: string,
    callback: { query: string; browserToken: string | undefined },
    origin: RequestOrigin,
  ): Promise<{ token: string; accountId: string; provisioned: boolean }> {
    const connection = await loadConnection(connectionId)
    const params = new URLSearchParams(callback.query)
    const state = params.get('state') ?? ''
    const flow = await consumeAuthFlow<OidcFlowPayload>(
      db,
      keyRing,
      OIDC_FLOW_KIND,
      state,
      clock.now(),
    )
    if (flow?.payload.connectionId !== connection.id)
      throw new OidcSignInError(
        'state_invalid',
        400,
        'This sign-in has expired or was already used. Start again from the sign-in page.',
      )
    if (
      callback.browserToken === undefined ||
      !safeEqual(hashToken(callback.browserToken), flow.payload.browserHash)
    )
      throw new OidcSignInError(
        'browser_mismatch',
        400,
        'This sign-in was started in another browser. Start again from the sign-in page.',
      )
    try {
      const identity = await verify(connection, flow.payload, state, callback.query)
      return await ssoSignIn.signIn(connection, identity, origin)
    } catch (error) {
      const failure = toFailure(error)
      await audit.record(db, {
        accountId: connection.accountId,
        actor: { type: 'anonymous' },
        action: 'auth.sso_failed',
        target: { type: 'sso_connection', id: connection.id },
        ip: origin.ip,
        userAgent: origin.userAgent,
        details: {
          protocol: connection.protocol,
          reason: failure.reason,
          ...(failure.reason === 'idp_error' ? { idpError: idpErrorCode(error) } : {}),
        },
      })
      throw failure
    }
  }

  async function verify(
    connection: SsoConnection<OidcConnectionConfig>,
    flow: OidcFlowPayload,
    state: string,
    query: string,
  ) {
    const configuration = await configurationFor(connection)
    const currentUrl = new URL(redirectUri(connection.id))
    currentUrl.search = query
    let claims: client.IDToken | undefined
    try {
      const tokens = await client.authorizationCodeGrant(configuration, currentUrl, {
        pkceCodeVerifier: flow.codeVerifier,
        expectedState: state,
        expectedNonce: flow.nonce,
        idTokenExpected: true,
      })
      claims = tokens.claims()
    } catch (error) {
      throw classifyGrantError(error)
    }
    // expectedNonce makes openid-client compare it; checked again so that a change there cannot
    // silently drop the check.
    if (claims?.nonce !== flow.nonce)
      throw new OidcSignInError(
        'id_token_invalid',
        401,
        'The identity provider’s answer could not be verified. Try again.',
      )
    if (connection.protocol === 'google' && connection.config.hostedDomain !== null) {
      if (claims['hd'] !== connection.config.hostedDomain)
        throw new OidcSignInError(
          'hosted_domain_mismatch',
          403,
          `Sign in with your ${connection.config.hostedDomain} Google account.`,
        )
    }
    const email = typeof claims['email'] === 'string' ? claims['email'] : ''
    if (email === '')
      throw new OidcSignInError(
        'email_missing',
        403,
        'Your identity provider did not share your email address with Candor.',
      )
    if (claims['email_verified'] !== true)
      throw new OidcSignInError(
        'email_not_verified',
        403,
        'Your identity provider has not verified your email address.',
      )
    const name = typeof claims['name'] === 'string' ? claims['name'] : null
    return { subject: claims.sub, email, emailVerified: true, name }
  }

  /** The settings form's validator for this protocol, with this installation's rules. */
  function configChecker(protocol: OidcProtocol, input: OidcConfigInput) {
    return oidcConfigChecker(protocol, input, { allowInsecureIssuers: allowInsecure })
  }

  return {
    start,
    finish,
    redirectUri,
    configChecker,
    /** A fresh random value for the browser's flow cookie. */
    newBrowserToken: generateToken,
    close: () => agent.close(),
  }
}

function unavailable(error: unknown): OidcSignInError {
  return new OidcSignInError(
    'idp_unavailable',
    502,
    'The identity provider could not be reached or gave an answer Candor cannot use. Try again in a moment, or tell your administrator.',
    { cause: error },
  )
}

const ID_TOKEN_CODES = new Set([
  'OAUTH_JWT_CLAIM_COMPARISON_FAILED',
  'OAUTH_JWT_TIMESTAMP_CHECK_FAILED',
  'OAUTH_INVALID_RESPONSE',
  'OAUTH_KEY_SELECTION_FAILED',
  'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED',
])

function classifyGrantError(error: unknown): OidcSignInError {
  if (error instanceof client.AuthorizationResponseError)
    return new OidcSignInError(
      'idp_error',
      error.error === 'access_denied' ? 403 : 400,
      error.error === 'access_denied'
        ? 'The sign-in was cancelled or refused at the identity provider.'
        : 'The identity provider could not sign you in. Try again, or tell your administrator.',
      { cause: error },
    )
  if (error instanceof client.ResponseBodyError) {
    if (error.error === 'invalid_grant')
      return new OidcSignInError(
        'code_rejected',
        400,
        'The identity provider did not accept this sign-in any more. Start again.',
        { cause: error },
      )
    return unavailable(error)
  }
  if (
    error instanceof client.ClientError &&
    error.code !== undefined &&
    ID_TOKEN_CODES.has(error.code)
  )
    return new OidcSignInError(
      'id_token_invalid',
      401,
      'The identity provider’s answer could not be verified. Try again.',
      { cause: error },
    )
  return unavailable(error)
}

const SIGN_IN_STATUS: Partial<Record<string, 401 | 403>> = {
  email_not_verified: 403,
  email_missing: 403,
  not_a_member: 403,
  owner_uses_password: 403,
  sso_disabled: 403,
}

/** The shared SSO sign-in speaks in domain errors; they become failures with their own reason. */
function toFailure(error: unknown): OidcSignInError {
  if (error instanceof OidcSignInError) return error
  if (error instanceof DomainError) {
    const status = SIGN_IN_STATUS[error.code]
    if (status !== undefined && isReason(error.code))
      return new OidcSignInError(error.code, status, error.message, { cause: error })
    return new OidcSignInError('not_a_member', 403, error.message, { cause: error })
  }
  throw error
}

function isReason(code: string): code is OidcFailureReason {
  return code in SIGN_IN_STATUS
}

function idpErrorCode(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined
  const code = cause instanceof client.AuthorizationResponseError ? cause.error : 'unknown'
  return code.replace(/[^a-z0-9_]/gi, '').slice(0, 40)
}

async function readCapped(
  body: AsyncIterable<Uint8Array> | null,
  maxBytes: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const chunks: Uint8Array[] = []
  let total = 0
  if (body !== null)
    for await (const chunk of body) {
      total += chunk.length
      if (total > maxBytes) throw new Error(`The answer is larger than ${String(maxBytes)} bytes`)
      chunks.push(chunk)
    }
  const bytes = new Uint8Array(total)
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.length
  }
  return bytes
}
