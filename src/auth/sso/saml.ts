import { randomBytes } from 'node:crypto'
import { inflateRawSync } from 'node:zlib'
import { SAML, ValidateInResponseTo, type CacheProvider, type Profile } from '@node-saml/node-saml'
import type { Kysely } from 'kysely'
import type { Logger } from 'pino'
import type { KeyRing } from '../../crypto/key-ring.js'
import type { DatabaseSchema } from '../../db/schema.js'
import type { Actor } from '../../domain/actor.js'
import type { Clock } from '../../domain/clock.js'
import { NotFoundError, UnauthenticatedError } from '../../domain/errors.js'
import type { InputChecker } from '../../domain/validation.js'
import { consumeAuthFlow, startAuthFlow } from '../auth-flows.js'
import { findSsoConnection, type SsoConnection } from './sso-connections.js'
import type { SsoIdentity } from './sso-sign-in.js'
import type { SsoCommonInput, SsoSettingsService } from './sso-settings-service.js'
import {
  childElements,
  escapeXml,
  fingerprints,
  hasControlCharacters,
  parseCertificates,
  parseIdpMetadata,
  parseUntrustedXml,
  POST_BINDING,
  REDIRECT_BINDING,
  XmlInputError,
} from './saml-metadata.js'
import { generateKeyPairWithCertificate } from './self-signed-certificate.js'

/** A SAML connection's settings, kept encrypted with the connection. */
export interface SamlConfig {
  idpEntityId: string
  idpSsoUrl: string
  idpSloUrl: string | null
  /** PEM; any of them may sign (several while the IdP rolls its key over). */
  idpCertificates: string[]
  /** Candor's key pair for this connection (PKCS#8 and X.509 PEM), made when it was created. */
  spPrivateKey: string
  spCertificate: string
  /** Attribute names to read; null for the usual ones. */
  attributeEmail: string | null
  attributeName: string | null
  wantAssertionsSigned: true
}

/** The SAML settings form, as posted. */
export interface SamlSettingsInput extends SsoCommonInput {
  metadataXml: unknown
  idpEntityId: unknown
  idpSsoUrl: unknown
  idpSloUrl: unknown
  idpCertificates: unknown
  attributeEmail: unknown
  attributeName: unknown
}

/** Candor's side of a connection: what an IdP administrator is given. */
export interface SamlServiceProviderUrls {
  entityId: string
  metadataUrl: string
  acsUrl: string
  sloUrl: string
  startUrl: string
}

export interface SamlLogoutDetails {
  nameID: string
  nameIDFormat: string | null
  nameQualifier: string | null
  spNameQualifier: string | null
  sessionIndex: string | null
}

export type SamlLogoutMessage =
  | {
      kind: 'request'
      connection: SsoConnection<SamlConfig>
      nameID: string
      sessionIndexes: string[]
      /** The signed LogoutResponse to send the browser back to the IdP with. */
      respond: (relayState: string | undefined) => Promise<string>
    }
  | { kind: 'response'; connection: SsoConnection<SamlConfig> }

export interface SamlServiceDeps {
  db: Kysely<DatabaseSchema>
  keyRing: KeyRing
  clock: Clock
  baseUrl: URL
  settings: SsoSettingsService
  logger: Logger
}

/** Clocks of Candor and the IdP may differ this much. */
const CLOCK_SKEW_MS = 60_000
/** How long a sign-in or log-out started here waits for the IdP's answer. */
const REQUEST_TTL_MS = 10 * 60_000
/** How old an IdP's LogoutRequest may be. */
const LOGOUT_REQUEST_MAX_AGE_MS = 10 * 60_000
const MAX_INFLATED_BYTES = 256 * 1024
const METADATA_MAX = 200_000
const ATTRIBUTE_MAX = 256
const ENTITY_ID_MAX = 1024
const URL_MAX = 2048

const FLOW_AUTHN = 'saml_authn'
const FLOW_LOGOUT = 'saml_logout'
const ASSERTION_NS = 'urn:oasis:names:tc:SAML:2.0:assertion'
const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer'
const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress'
const UNSPECIFIED_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified'

export const DEFAULT_EMAIL_ATTRIBUTES = [
  'email',
  'mail',
  'emailAddress',
  'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress',
  'urn:oid:0.9.2342.19200300.100.1.3',
] as const
export const DEFAULT_NAME_ATTRIBUTES = [
  'name',
  'displayName',
  'http://schemas.microsoft.com/identity/claims/displayname',
  'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name',
  'urn:oid:2.16.840.1.113730.3.1.241',
  'cn',
] as const

/**
 * node-saml keeps request ids in a cache to check InResponseTo; Candor keeps them in auth_flows
 * instead (shared by every process, used once, atomically), so node-saml's cache stays empty.
 */
const NO_CACHE: CacheProvider = {
  saveAsync: () => Promise.resolve(null),
  getAsync: () => Promise.resolve(null),
  removeAsync: () => Promise.resolve(null),
}

export type SamlService = ReturnType<typeof createSamlService>

/**
 * SAML 2.0 single sign-on with an account's identity provider, Candor being the service
 * provider. node-saml checks the XML signatures (a signed assertion is always required), the
 * audience and the IdP's issuer on log-out messages; Candor adds what node-saml leaves to its
 * caller: the assertion's issuer, the recipient and destination, the validity window on Candor's
 * own clock, InResponseTo against the requests it sent (each answered once), and a replay cache
 * of assertion ids, so an IdP-initiated assertion is accepted once too.
 */
export function createSamlService({
  db,
  keyRing,
  clock,
  baseUrl,
  settings,
  logger,
}: SamlServiceDeps) {
  function spUrls(connectionId: string): SamlServiceProviderUrls {
    const base = new URL(`/sso/saml/${encodeURIComponent(connectionId)}/`, baseUrl)
    const url = (path: string) => new URL(path, base).toString()
    return {
      entityId: url('metadata'),
      metadataUrl: url('metadata'),
      acsUrl: url('acs'),
      sloUrl: url('slo'),
      startUrl: url('start'),
    }
  }

  async function findConnection(
    connectionId: string,
  ): Promise<SsoConnection<SamlConfig> | undefined> {
    const connection = await findSsoConnection(db, keyRing, connectionId)
    if (connection?.protocol !== 'saml') return undefined
    // Written by checkConfig below.
    return connection as SsoConnection<SamlConfig>
  }

  async function usableConnection(connectionId: string): Promise<SsoConnection<SamlConfig>> {
    const connection = await findConnection(connectionId)
    if (connection === undefined || !connection.enabled || !isConfigured(connection.config))
      throw new NotFoundError('This sign-in method')
    return connection
  }

  function samlFor(connection: SsoConnection<SamlConfig>, messageId?: string): SAML {
    const urls = spUrls(connection.id)
    const config = connection.config
    return new SAML({
      issuer: urls.entityId,
      audience: urls.entityId,
      callbackUrl: urls.acsUrl,
      entryPoint: config.idpSsoUrl,
      logoutUrl: config.idpSloUrl ?? config.idpSsoUrl,
      idpIssuer: config.idpEntityId,
      idpCert: config.idpCertificates,
      privateKey: config.spPrivateKey,
      publicCert: config.spCertificate,
      signatureAlgorithm: 'sha256',
      digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
      wantAssertionsSigned: true,
      wantAuthnResponseSigned: false,
      acceptedClockSkewMs: CLOCK_SKEW_MS,
      validateInResponseTo: ValidateInResponseTo.never,
      cacheProvider: NO_CACHE,
      identifierFormat: null,
      disableRequestedAuthnContext: true,
      generateUniqueId: () => messageId ?? newMessageId(),
    })
  }

  function refused(
    connection: { id: string },
    reason: string,
    message = 'The answer of your identity provider could not be verified. Try signing in again.',
  ): UnauthenticatedError {
    logger.warn({ connectionId: connection.id, reason }, 'SAML message refused')
    return new UnauthenticatedError(message, 'saml_invalid')
  }

  /** Candor's SAML metadata for the IdP: entity id, ACS, SLO, the certificate it signs with. */
  async function metadata(connectionId: string): Promise<string | undefined> {
    const connection = await findConnection(connectionId)
    if (connection === undefined) return undefined
    const urls = spUrls(connection.id)
    const certificate = connection.config.spCertificate
      .replace(/-----(BEGIN|END) CERTIFICATE-----/g, '')
      .replace(/\s+/g, '')
    return [
      '<?xml version="1.0" encoding="UTF-8"?>',
      `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="${escapeXml(urls.entityId)}">`,
      '<md:SPSSODescriptor AuthnRequestsSigned="true" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">',
      `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${certificate}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`,
      `<md:SingleLogoutService Binding="${REDIRECT_BINDING}" Location="${escapeXml(urls.sloUrl)}"/>`,
      `<md:NameIDFormat>${EMAIL_FORMAT}</md:NameIDFormat>`,
      '<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>',
      `<md:AssertionConsumerService Binding="${POST_BINDING}" Location="${escapeXml(urls.acsUrl)}" index="0" isDefault="true"/>`,
      '</md:SPSSODescriptor>',
      '</md:EntityDescriptor>',
      '',
    ].join('\n')
  }

  /** SP-initiated sign-in: the IdP URL with a signed AuthnRequest, whose id is remembered. */
  async function startLogin(connectionId: string, relayState: string | undefined): Promise<string> {
    const connection = await usableConnection(connectionId)
    const id = newMessageId()
    const url = await samlFor(connection, id).getAuthorizeUrlAsync(relayState ?? '', undefined, {})
    await startAuthFlow(
      db,
      keyRing,
      {
        kind: FLOW_AUTHN,
        accountId: connection.accountId,
        payload: { connectionId: connection.id },
        now: clock.now(),
        ttlMs: REQUEST_TTL_MS,
      },
      id,
    )
    return url
  }

  /** The person a SAMLResponse posted to the ACS vouches for, after every check. */
  async function verifyResponse(
    connectionId: string,
    samlResponse: string,
  ): Promise<{ connection: SsoConnection<SamlConfig>; identity: SsoIdentity }> {
    const connection = await usableConnection(connectionId)
    const urls = spUrls(connection.id)
    if (samlResponse === '' || !/^[A-Za-z0-9+/=\s]+$/.test(samlResponse))
      throw refused(connection, 'SAMLResponse is missing or not base64')
    let profile: Profile | null
    try {
      ;({ profile } = await samlFor(connection).validatePostResponseAsync({
        SAMLResponse: samlResponse,
      }))
    } catch (error) {
      throw refused(connection, error instanceof Error ? error.message : 'invalid response')
    }
    const assertionXml = profile?.getAssertionXml?.()
    if (profile === null || assertionXml === undefined)
      throw refused(connection, 'no assertion in the response')

    // The response element itself may be unsigned: its Destination is checked, its InResponseTo
    // only together with the signed one in the assertion.
    let response: ReturnType<typeof parseUntrustedXml>
    let assertion: ReturnType<typeof parseUntrustedXml>
    try {
      response = parseUntrustedXml(Buffer.from(samlResponse, 'base64').toString('utf8'))
      assertion = parseUntrustedXml(assertionXml)
    } catch (error) {
      throw refused(connection, error instanceof Error ? error.message : 'unreadable XML')
    }
    const destination = response.getAttribute('Destination')
    if (destination !== null && destination !== '' && destination !== urls.acsUrl)
      throw refused(connection, `Destination ${destination.slice(0, 200)} is not the ACS URL`)

    const issuer = child(assertion, 'Issuer')?.textContent.trim()
    if (issuer !== connection.config.idpEntityId)
      throw refused(connection, `assertion issuer ${String(issuer).slice(0, 200)} is not the IdP`)
    const assertionId = assertion.getAttribute('ID') ?? ''
    if (assertionId === '' || assertionId.length > 256)
      throw refused(connection, 'assertion without a usable ID')

    const now = clock.now().getTime()
    const conditions = child(assertion, 'Conditions')
    if (conditions === undefined) throw refused(connection, 'assertion without Conditions')
    const conditionsEnd = checkWindow(connection, conditions, now, 'Conditions')

    const confirmations = childrenNamed(child(assertion, 'Subject'), 'SubjectConfirmation')
      .filter((c) => c.getAttribute('Method') === BEARER)
      .map((c) => child(c, 'SubjectConfirmationData'))
      .filter((data): data is Element => data !== undefined)
    const confirmation = confirmations.find(
      (data) => data.getAttribute('Recipient') === urls.acsUrl,
    )
    if (confirmation === undefined)
      throw refused(connection, 'no bearer SubjectConfirmation for this ACS URL')
    if (!confirmation.getAttribute('NotOnOrAfter'))
      throw refused(connection, 'SubjectConfirmationData without NotOnOrAfter')
    const confirmationEnd = checkWindow(connection, confirmation, now, 'SubjectConfirmationData')

    const signedInResponseTo = confirmation.getAttribute('InResponseTo') || undefined
    const responseInResponseTo = response.getAttribute('InResponseTo') || undefined
    if (
      signedInResponseTo !== undefined &&
      responseInResponseTo !== undefined &&
      signedInResponseTo !== responseInResponseTo
    )
      throw refused(connection, 'InResponseTo differs between the response and the assertion')
    const inResponseTo = signedInResponseTo ?? responseInResponseTo
    if (inResponseTo !== undefined) {
      const flow = await consumeAuthFlow<{ connectionId: string }>(
        db,
        keyRing,
        FLOW_AUTHN,
        inResponseTo,
        clock.now(),
      )
      if (flow?.payload.connectionId !== connection.id)
        throw refused(
          connection,
          'InResponseTo names no pending request (unknown, expired or already answered)',
          'This sign-in has expired or was already used. Start again.',
        )
    }

    const end = Math.min(
      Math.max(conditionsEnd ?? 0, confirmationEnd ?? 0, now) + CLOCK_SKEW_MS,
      now + 24 * 3_600_000,
    )
    if (!(await remember(connection.id, `assertion:${assertionId}`, new Date(end))))
      throw refused(
        connection,
        `assertion ${assertionId.slice(0, 100)} was already used`,
        'This sign-in was already used. Start again.',
      )

    const nameID = typeof profile.nameID === 'string' ? profile.nameID.trim() : ''
    if (nameID === '') throw refused(connection, 'assertion without a NameID')
    const attributes = isRecord(profile['attributes']) ? profile['attributes'] : {}
    const config = connection.config
    const nameIDFormat = typeof profile.nameIDFormat === 'string' ? profile.nameIDFormat : null
    const email =
      pick(
        attributes,
        config.attributeEmail === null ? DEFAULT_EMAIL_ATTRIBUTES : [config.attributeEmail],
      ) ??
      // A transient or persistent NameID is an opaque id, even when it looks like an address.
      ((nameIDFormat === EMAIL_FORMAT ||
        nameIDFormat === null ||
        nameIDFormat === UNSPECIFIED_FORMAT) &&
      /^[^@\s]+@[^@\s]+$/.test(nameID)
        ? nameID
        : '')
    const name = pick(
      attributes,
      config.attributeName === null ? DEFAULT_NAME_ATTRIBUTES : [config.attributeName],
    )
    const sessionIndex = typeof profile.sessionIndex === 'string' ? profile.sessionIndex : null
    const logout: SamlLogoutDetails = {
      nameID,
      nameIDFormat,
      nameQualifier: typeof profile.nameQualifier === 'string' ? profile.nameQualifier : null,
      spNameQualifier: typeof profile.spNameQualifier === 'string' ? profile.spNameQualifier : null,
      sessionIndex,
    }
    return {
      connection,
      identity: {
        subject: nameID,
        email,
        emailVerified: true,
        name: name ?? null,
        sessionIndex,
        logout: { ...logout },
      },
    }
  }

  /**
   * NotBefore / NotOnOrAfter of an element on Candor's clock (the one tests move); the end
   * (ms) when there is one. node-saml has checked them on the system clock already.
   */
  function checkWindow(
    connection: { id: string },
    element: Element,
    now: number,
    what: string,
  ): number | undefined {
    const notBefore = element.getAttribute('NotBefore')
    const notOnOrAfter = element.getAttribute('NotOnOrAfter')
    if (notBefore) {
      const start = Date.parse(notBefore)
      if (Number.isNaN(start)) throw refused(connection, `${what} NotBefore is not a date`)
      if (now + CLOCK_SKEW_MS < start) throw refused(connection, `${what} is not valid yet`)
    }
    if (!notOnOrAfter) return undefined
    const end = Date.parse(notOnOrAfter)
    if (Number.isNaN(end)) throw refused(connection, `${what} NotOnOrAfter is not a date`)
    if (now - CLOCK_SKEW_MS >= end)
      throw refused(
        connection,
        `${what} expired at ${notOnOrAfter}`,
        'The answer of your identity provider has expired. Try signing in again.',
      )
    return end
  }

  /** Records a message id as seen; false when it already was (a replay). */
  async function remember(
    connectionId: string,
    messageId: string,
    expiresAt: Date,
  ): Promise<boolean> {
    const now = clock.now()
    await db
      .deleteFrom('sso_replay_cache')
      .where('connection_id', '=', connectionId)
      .where('expires_at', '<=', now.toISOString())
      .execute()
    const result = await db
      .insertInto('sso_replay_cache')
      .values({ connection_id: connectionId, message_id: messageId, expires_at: expiresAt })
      .onConflict((oc) => oc.columns(['connection_id', 'message_id']).doNothing())
      .executeTakeFirst()
    return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1
  }

  /**
   * A log-out message from the IdP on the redirect binding: a LogoutRequest (IdP-initiated
   * log-out) or the LogoutResponse to Candor's own request. Both must carry a valid signature:
   * node-saml accepts an unsigned redirect message, so the signature's presence is checked here.
   */
  async function verifyLogoutMessage(
    connectionId: string,
    query: Readonly<Record<string, string | undefined>>,
    rawQuery: string,
  ): Promise<SamlLogoutMessage> {
    const connection = await findConnection(connectionId)
    if (connection === undefined || !isConfigured(connection.config))
      throw new NotFoundError('This sign-in method')
    const {
      SAMLRequest: request,
      SAMLResponse: response,
      Signature: signature,
      SigAlg: sigAlg,
    } = query
    if ((request === undefined) === (response === undefined))
      throw refused(connection, 'neither or both of SAMLRequest and SAMLResponse')
    if (signature === undefined || signature === '' || sigAlg === undefined || sigAlg === '')
      throw refused(connection, 'unsigned log-out message')
    const message = inflate(connection, request ?? response ?? '')
    const container: Record<string, string> = { Signature: signature, SigAlg: sigAlg }
    if (request !== undefined) container['SAMLRequest'] = request
    if (response !== undefined) container['SAMLResponse'] = response
    if (query['RelayState'] !== undefined) container['RelayState'] = query['RelayState']
    const saml = samlFor(connection)
    let profile: Profile | null
    try {
      ;({ profile } = await saml.validateRedirectAsync(container, rawQuery))
    } catch (error) {
      throw refused(connection, error instanceof Error ? error.message : 'invalid log-out message')
    }

    if (response !== undefined) {
      if (message.localName !== 'LogoutResponse')
        throw refused(connection, 'SAMLResponse is not a LogoutResponse')
      const inResponseTo = message.getAttribute('InResponseTo') ?? ''
      const flow = await consumeAuthFlow<{ connectionId: string }>(
        db,
        keyRing,
        FLOW_LOGOUT,
        inResponseTo,
        clock.now(),
      )
      if (flow?.payload.connectionId !== connection.id)
        throw refused(connection, 'LogoutResponse answers no pending log-out')
      return { kind: 'response', connection }
    }

    if (message.localName !== 'LogoutRequest' || profile === null)
      throw refused(connection, 'SAMLRequest is not a LogoutRequest')
    const now = clock.now().getTime()
    const issued = Date.parse(message.getAttribute('IssueInstant') ?? '')
    if (Number.isNaN(issued) || Math.abs(now - issued) > LOGOUT_REQUEST_MAX_AGE_MS + CLOCK_SKEW_MS)
      throw refused(connection, 'LogoutRequest IssueInstant missing or too far from now')
    const requestId = typeof profile.ID === 'string' ? profile.ID : ''
    if (requestId === '' || requestId.length > 256)
      throw refused(connection, 'LogoutRequest without a usable ID')
    if (
      !(await remember(
        connection.id,
        `logout:${requestId}`,
        new Date(now + 2 * (LOGOUT_REQUEST_MAX_AGE_MS + CLOCK_SKEW_MS)),
      ))
    )
      throw refused(connection, 'LogoutRequest replayed')
    const nameID = typeof profile.nameID === 'string' ? profile.nameID : ''
    if (nameID === '') throw refused(connection, 'LogoutRequest without a NameID')
    const sessionIndexes = childrenNamed(
      message,
      'SessionIndex',
      'urn:oasis:names:tc:SAML:2.0:protocol',
    )
      .map((e) => e.textContent.trim())
      .filter((index) => index !== '')
    const answered = profile
    return {
      kind: 'request',
      connection,
      nameID,
      sessionIndexes,
      respond: (relayState) =>
        samlFor(connection).getLogoutResponseUrlAsync(answered, relayState ?? '', {}, true),
    }
  }

  function inflate(connection: { id: string }, base64: string): Element {
    try {
      const xml = inflateRawSync(Buffer.from(base64, 'base64'), {
        maxOutputLength: MAX_INFLATED_BYTES,
      }).toString('utf8')
      return parseUntrustedXml(xml)
    } catch (error) {
      throw refused(
        connection,
        `log-out message unreadable: ${error instanceof Error ? error.message : 'unknown'}`,
      )
    }
  }

  /**
   * SP-initiated log-out: the IdP URL with a signed LogoutRequest for the session that is ending,
   * or undefined when the connection has no log-out URL (or is gone).
   */
  async function logoutRequestUrl(
    connectionId: string,
    details: Readonly<Record<string, unknown>>,
  ): Promise<string | undefined> {
    const connection = await findConnection(connectionId)
    if (connection === undefined || !isConfigured(connection.config)) return undefined
    if (connection.config.idpSloUrl === null) return undefined
    const text = (key: string) => {
      const value = details[key]
      return typeof value === 'string' && value !== '' ? value : undefined
    }
    const nameID = text('nameID')
    if (nameID === undefined) return undefined
    const id = newMessageId()
    const user: Profile = {
      issuer: connection.config.idpEntityId,
      nameID,
      nameIDFormat: text('nameIDFormat') ?? UNSPECIFIED_FORMAT,
    }
    const nameQualifier = text('nameQualifier')
    const spNameQualifier = text('spNameQualifier')
    const sessionIndex = text('sessionIndex')
    if (nameQualifier !== undefined) user.nameQualifier = nameQualifier
    if (spNameQualifier !== undefined) user.spNameQualifier = spNameQualifier
    if (sessionIndex !== undefined) user.sessionIndex = sessionIndex
    const url = await samlFor(connection, id).getLogoutUrlAsync(user, '', {})
    await startAuthFlow(
      db,
      keyRing,
      {
        kind: FLOW_LOGOUT,
        accountId: connection.accountId,
        payload: { connectionId: connection.id },
        now: clock.now(),
        ttlMs: REQUEST_TTL_MS,
      },
      id,
    )
    return url
  }

  /** A SAML connection of the account, for its settings page (admins and the owner). */
  async function get(
    actor: Actor,
    accountId: string,
    id: string,
  ): Promise<SsoConnection<SamlConfig>> {
    const connection = await settings.get(actor, accountId, id)
    if (connection.protocol !== 'saml') throw new NotFoundError('The SSO connection')
    return connection as SsoConnection<SamlConfig>
  }

  /**
   * Creates (no id) or updates a SAML connection. A new one gets its own key pair; the IdP is
   * described by its metadata XML or by entity id, URLs and certificate. A connection may be
   * saved turned off before the IdP is set up, so its URLs can be given to the IdP first.
   */
  async function save(
    actor: Actor,
    accountId: string,
    id: string | undefined,
    input: SamlSettingsInput,
  ): Promise<SsoConnection<SamlConfig>> {
    // Authorised before the key pair costs anything.
    if (id === undefined) await settings.settings(actor, accountId)
    else await get(actor, accountId, id)
    const keys =
      id === undefined
        ? await generateKeyPairWithCertificate(`Candor SAML ${baseUrl.hostname}`, clock.now())
        : undefined
    return settings.save<SamlConfig>(actor, accountId, {
      id,
      protocol: 'saml',
      common: input,
      checkConfig: (checker, previous) => {
        const spPrivateKey = previous?.spPrivateKey ?? keys?.privateKey
        const spCertificate = previous?.spCertificate ?? keys?.certificate
        if (spPrivateKey === undefined || spCertificate === undefined)
          throw new Error('A SAML connection is saved without its key pair.')
        const idp = checkIdpSettings(checker, input)
        const config: SamlConfig = {
          ...idp,
          spPrivateKey,
          spCertificate,
          attributeEmail: optionalText(checker, 'attributeEmail', input.attributeEmail),
          attributeName: optionalText(checker, 'attributeName', input.attributeName),
          wantAssertionsSigned: true,
        }
        const identityChanged =
          previous !== undefined &&
          (previous.idpEntityId !== config.idpEntityId ||
            safeFingerprints(previous.idpCertificates).join() !==
              safeFingerprints(config.idpCertificates).join())
        return { config, identityChanged }
      },
    })
  }

  return {
    spUrls,
    metadata,
    startLogin,
    verifyResponse,
    verifyLogoutMessage,
    logoutRequestUrl,
    get,
    save,
    remove: settings.remove,
    isConfigured,
  }
}

export function isConfigured(config: SamlConfig): boolean {
  return config.idpEntityId !== '' && config.idpSsoUrl !== '' && config.idpCertificates.length > 0
}

function checkIdpSettings(
  checker: InputChecker,
  input: SamlSettingsInput,
): Pick<SamlConfig, 'idpEntityId' | 'idpSsoUrl' | 'idpSloUrl' | 'idpCertificates'> {
  const enabled = input.enabled === true || input.enabled === 'on' || input.enabled === 'true'
  const text = (value: unknown) => (typeof value === 'string' ? value.trim() : '')
  let entityId = text(input.idpEntityId)
  let ssoUrl = text(input.idpSsoUrl)
  let sloUrl = text(input.idpSloUrl)
  let certificates: string[] = []
  const metadataXml = text(input.metadataXml)
  if (metadataXml !== '') {
    if (metadataXml.length > METADATA_MAX)
      checker.add('metadataXml', `The metadata must be at most ${String(METADATA_MAX)} characters.`)
    else
      try {
        const parsed = parseIdpMetadata(metadataXml)
        entityId = parsed.entityId
        ssoUrl = parsed.ssoUrl ?? ''
        sloUrl = parsed.sloUrl ?? ''
        const checked = parseCertificates(parsed.certificates.join('\n'))
        if ('error' in checked) checker.add('metadataXml', `In the metadata: ${checked.error}`)
        else if (checked.certificates.length > 5)
          checker.add('metadataXml', 'The metadata names more than 5 signing certificates.')
        else certificates = checked.certificates
        if (parsed.ssoUrl === undefined)
          checker.add(
            'metadataXml',
            'The metadata has no SingleSignOnService with the HTTP-Redirect binding.',
          )
        else if (certificates.length === 0 && !('error' in checked))
          checker.add('metadataXml', 'The metadata has no signing certificate.')
      } catch (error) {
        if (!(error instanceof XmlInputError)) throw error
        checker.add('metadataXml', `The metadata could not be read. ${error.message}`)
      }
  } else {
    const certificateText = text(input.idpCertificates)
    if (certificateText.length > 50_000)
      checker.add('idpCertificates', 'The certificates must be at most 50000 characters.')
    else if (certificateText !== '') {
      const checked = parseCertificates(certificateText)
      if ('error' in checked) checker.add('idpCertificates', checked.error)
      else if (checked.certificates.length > 5)
        checker.add('idpCertificates', 'At most 5 certificates.')
      else certificates = checked.certificates
    }
  }
  const anyGiven = metadataXml !== '' || entityId !== '' || ssoUrl !== '' || certificates.length > 0
  if (enabled || anyGiven) {
    if (entityId === '') checker.add('idpEntityId', 'The identity provider entity id is required.')
    else if (entityId.length > ENTITY_ID_MAX || hasControlCharacters(entityId))
      checker.add(
        'idpEntityId',
        'The entity id is at most 1024 characters, without control characters.',
      )
    if (ssoUrl === '') checker.add('idpSsoUrl', 'The sign-in (SSO) URL is required.')
    else if (!isUsableUrl(ssoUrl))
      checker.add('idpSsoUrl', 'The sign-in URL must be an https:// address.')
    if (certificates.length === 0 && metadataXml === '')
      checker.add(
        'idpCertificates',
        'At least one signing certificate of the identity provider is required.',
      )
  }
  if (sloUrl !== '' && !isUsableUrl(sloUrl))
    checker.add('idpSloUrl', 'The log-out URL must be an https:// address.')
  return {
    idpEntityId: entityId,
    idpSsoUrl: ssoUrl,
    idpSloUrl: sloUrl === '' ? null : sloUrl,
    idpCertificates: certificates,
  }
}

/** https://, or http:// to this machine (an IdP running next to Candor). */
function isUsableUrl(value: string): boolean {
  if (value.length > URL_MAX) return false
  try {
    const url = new URL(value)
    if (url.username !== '' || url.password !== '') return false
    if (url.protocol === 'https:') return true
    return url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname)
  } catch {
    return false
  }
}

function optionalText(checker: InputChecker, field: string, value: unknown): string | null {
  const text = typeof value === 'string' ? value.trim() : ''
  if (text === '') return null
  if (text.length > ATTRIBUTE_MAX || hasControlCharacters(text))
    checker.add(field, `At most ${String(ATTRIBUTE_MAX)} characters, without control characters.`)
  return text
}

function safeFingerprints(certificates: readonly string[]): string[] {
  try {
    return fingerprints(certificates)
  } catch {
    return [...certificates].sort()
  }
}

function newMessageId(): string {
  // An xs:ID starts with a letter or underscore.
  return `_${randomBytes(20).toString('hex')}`
}

function child(element: Element | undefined, localName: string): Element | undefined {
  if (element === undefined) return undefined
  return childElements(element).find(
    (e) => e.localName === localName && e.namespaceURI === ASSERTION_NS,
  )
}

function childrenNamed(
  element: Element | undefined,
  localName: string,
  namespace = ASSERTION_NS,
): Element[] {
  if (element === undefined) return []
  return childElements(element).filter(
    (e) => e.localName === localName && e.namespaceURI === namespace,
  )
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The first text value of the first of these attributes the assertion has. */
function pick(attributes: Record<string, unknown>, names: readonly string[]): string | undefined {
  for (const name of names) {
    const value = attributes[name]
    const first = Array.isArray(value) ? (value as unknown[])[0] : value
    if (typeof first === 'string' && first.trim() !== '') return first.trim()
  }
  return undefined
}
