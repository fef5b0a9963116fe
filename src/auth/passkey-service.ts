import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server'
import type { Kysely } from 'kysely'
import type { KeyRing } from '../crypto/key-ring.js'
import type { DatabaseSchema } from '../db/schema.js'
import { requireRecentAuthentication } from '../domain/accounts/reauthentication.js'
import { findUserById } from '../domain/accounts/user-repository.js'
import type { Actor, RequestOrigin } from '../domain/actor.js'
import { auditOrigin, type AuditLog, type AuditEntryInput } from '../domain/audit/audit-log.js'
import type { Clock } from '../domain/clock.js'
import { NotFoundError, UnauthenticatedError, ValidationError } from '../domain/errors.js'
import { InputChecker } from '../domain/validation.js'
import { consumeAuthFlow, startAuthFlow } from './auth-flows.js'
import { assertNotThrottled, IP_RULE, recordFailure } from './throttle.js'
import {
  advancePasskeyCounter,
  countPasskeys,
  deletePasskey,
  deleteRecoveryCodes,
  findPasskey,
  findTotpState,
  insertPasskey,
  listPasskeys,
  renamePasskey,
  type Passkey,
} from './two-factor-repository.js'
import { ENROL_FLOW, SECOND_FACTOR_FLOW, type TwoFactorService } from './two-factor-service.js'

type Db = Kysely<DatabaseSchema>

const REGISTRATION_FLOW = 'webauthn_registration'
const AUTHENTICATION_FLOW = 'webauthn_authentication'
const CHALLENGE_TTL_MS = 5 * 60_000
export const PASSKEY_NAME_MAX = 60
/** COSE algorithm ids (RFC 9053): Ed25519, P-256 with SHA-256, RSASSA-PKCS1-v1_5 with SHA-256. */
const EDDSA = -8
const ES256 = -7
const RS256 = -257
const REFUSED = 'This passkey was not accepted. Try again, or use another way to sign in.'

export interface PasskeyServiceDeps {
  db: Db
  keyRing: KeyRing
  clock: Clock
  audit: AuditLog
  twoFactor: TwoFactorService
  /** The dashboard's origin and host (from BASE_URL): a passkey is bound to them. */
  baseUrl: URL
}

export interface Challenge<O> {
  /** Names the challenge when the browser answers; the challenge itself is kept on the server. */
  flow: string
  options: O
}

export type PasskeyService = ReturnType<typeof createPasskeyService>

/**
 * WebAuthn passkeys: registered by a signed-in person (or during the enrolment an account's
 * requirement asks for), used as a second factor after the password, on their own (discoverable
 * credentials, no email typed), and to re-authenticate. Challenges live in auth_flows and are
 * used once; signature counters must grow.
 */
export function createPasskeyService(deps: PasskeyServiceDeps) {
  const { db, keyRing, clock, audit, twoFactor } = deps
  const rpID = deps.baseUrl.hostname
  const expectedOrigin = deps.baseUrl.origin

  async function registrationOptions(
    userId: string,
  ): Promise<Challenge<PublicKeyCredentialCreationOptionsJSON>> {
    const user = await findUserById(db, keyRing, userId)
    if (user === undefined) throw new UnauthenticatedError()
    const existing = await listPasskeys(db, userId)
    const options = await generateRegistrationOptions({
      rpName: 'Candor',
      rpID,
      userName: user.email,
      userDisplayName: user.name,
      userID: new TextEncoder().encode(user.id),
      attestationType: 'none',
      excludeCredentials: existing.map((passkey) => ({
        id: passkey.id,
        transports: passkey.transports,
      })),
      authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
      // Named, so the library does not probe the runtime for experimental algorithms.
      supportedAlgorithmIDs: [EDDSA, ES256, RS256],
    })
    const flow = await startAuthFlow(db, keyRing, {
      kind: REGISTRATION_FLOW,
      userId,
      payload: { challenge: options.challenge },
      now: clock.now(),
      ttlMs: CHALLENGE_TTL_MS,
    })
    return { flow, options }
  }

  async function register(
    userId: string,
    input: { flow: unknown; name: unknown; response: unknown },
    entry: Pick<AuditEntryInput, 'actor' | 'ip' | 'userAgent'>,
  ): Promise<Passkey> {
    const checker = new InputChecker()
    const name =
      typeof input.name === 'string' && input.name.trim() !== ''
        ? checker.text('name', input.name, { label: 'Name', max: PASSKEY_NAME_MAX })
        : `Passkey ${String((await countPasskeys(db, userId)) + 1)}`
    checker.assertValid()
    const now = clock.now()
    const flow = await consumeAuthFlow<{ challenge: string }>(
      db,
      keyRing,
      REGISTRATION_FLOW,
      typeof input.flow === 'string' ? input.flow : '',
      now,
    )
    const response = asRegistrationResponse(input.response)
    if (flow?.userId !== userId || response === undefined) throw refusedRegistration()
    let verification
    try {
      verification = await verifyRegistrationResponse({
        response,
        expectedChallenge: flow.payload.challenge,
        expectedOrigin,
        expectedRPID: rpID,
        requireUserVerification: false,
        supportedAlgorithmIDs: [EDDSA, ES256, RS256],
      })
    } catch {
      throw refusedRegistration()
    }
    if (!verification.verified) throw refusedRegistration()
    const info = verification.registrationInfo
    if ((await findPasskey(db, info.credential.id)) !== undefined) throw refusedRegistration()
    const passkey: Passkey = {
      id: info.credential.id,
      userId,
      name,
      publicKey: Buffer.from(info.credential.publicKey).toString('base64url'),
      counter: info.credential.counter,
      transports: info.credential.transports ?? [],
      deviceType: info.credentialDeviceType,
      backedUp: info.credentialBackedUp,
      createdAt: now,
      lastUsedAt: null,
    }
    await db.transaction().execute(async (trx) => {
      await insertPasskey(trx, passkey)
      await audit.recordForUser(trx, userId, {
        ...entry,
        action: 'auth.passkey_added',
        target: { type: 'passkey', id: passkey.id },
        details: { name, deviceType: passkey.deviceType, backedUp: passkey.backedUp },
      })
    })
    return passkey
  }

  /** A signed-in person adds a passkey; the session has just shown a second factor. */
  async function add(
    actor: Actor,
    input: { flow: unknown; name: unknown; response: unknown },
  ): Promise<Passkey> {
    requireRecentAuthentication(actor, clock)
    const passkey = await register(actor.userId, input, auditOrigin(actor))
    await twoFactor.upgradeSession(actor)
    return passkey
  }

  /** The passkey registered during sign-in completes it (an account required a second factor). */
  async function enrol(
    enrolFlow: string,
    input: { flow: unknown; name: unknown; response: unknown },
    origin: RequestOrigin,
    previousToken?: string,
  ): Promise<{ token: string }> {
    const userId = await twoFactor.flowUser(ENROL_FLOW, enrolFlow)
    if (userId === undefined) throw new UnauthenticatedError(REFUSED, 'flow_expired')
    await register(userId, input, { actor: { type: 'user', userId }, ...origin })
    return twoFactor.completeEnrolmentWithPasskey(enrolFlow, userId, origin, previousToken)
  }

  async function enrolOptions(
    enrolFlow: string,
  ): Promise<Challenge<PublicKeyCredentialCreationOptionsJSON>> {
    const userId = await twoFactor.flowUser(ENROL_FLOW, enrolFlow)
    if (userId === undefined) throw new UnauthenticatedError(REFUSED, 'flow_expired')
    return registrationOptions(userId)
  }

  /**
   * A challenge for one user's passkeys (second factor, re-authentication) or, with no user, for
   * any discoverable passkey of this site (passwordless sign-in).
   */
  async function authenticationOptions(
    userId: string | null,
  ): Promise<Challenge<PublicKeyCredentialRequestOptionsJSON>> {
    const allowed = userId === null ? [] : await listPasskeys(db, userId)
    const options = await generateAuthenticationOptions({
      rpID,
      allowCredentials: allowed.map((passkey) => ({
        id: passkey.id,
        transports: passkey.transports,
      })),
      userVerification: userId === null ? 'required' : 'preferred',
    })
    const flow = await startAuthFlow(db, keyRing, {
      kind: AUTHENTICATION_FLOW,
      userId,
      payload: { challenge: options.challenge },
      now: clock.now(),
      ttlMs: CHALLENGE_TTL_MS,
    })
    return { flow, options }
  }

  /**
   * Checks an assertion against its challenge (used up either way), the site's origin and RP id,
   * the stored public key, the expected user, and a signature counter that must have grown.
   * Returns the passkey's user.
   */
  async function verifyAssertion(
    challengeFlow: unknown,
    rawResponse: unknown,
    expectedUserId: string | null,
  ): Promise<string> {
    const now = clock.now()
    const flow = await consumeAuthFlow<{ challenge: string }>(
      db,
      keyRing,
      AUTHENTICATION_FLOW,
      typeof challengeFlow === 'string' ? challengeFlow : '',
      now,
    )
    const response = asAuthenticationResponse(rawResponse)
    if (flow === undefined || response === undefined || flow.userId !== expectedUserId)
      throw refused()
    const passkey = await findPasskey(db, response.id)
    if (passkey === undefined) throw refused()
    if (expectedUserId !== null && passkey.userId !== expectedUserId) throw refused()
    const userHandle = response.response.userHandle
    if (
      expectedUserId === null &&
      (userHandle === undefined ||
        Buffer.from(userHandle, 'base64url').toString('utf8') !== passkey.userId)
    )
      throw refused()
    let verification
    try {
      verification = await verifyAuthenticationResponse({
        response,
        expectedChallenge: flow.payload.challenge,
        expectedOrigin,
        expectedRPID: rpID,
        credential: {
          id: passkey.id,
          publicKey: new Uint8Array(Buffer.from(passkey.publicKey, 'base64url')),
          counter: passkey.counter,
          transports: passkey.transports,
        },
        requireUserVerification: expectedUserId === null,
      })
    } catch {
      throw refused()
    }
    if (!verification.verified) throw refused()
    const advanced = await advancePasskeyCounter(
      db,
      passkey.id,
      passkey.counter,
      verification.authenticationInfo.newCounter,
      now,
    )
    if (!advanced) throw refused()
    return passkey.userId
  }

  /** "Sign in with a passkey": no email, no password; the passkey names its user. */
  async function signIn(
    input: { flow: unknown; response: unknown },
    origin: RequestOrigin,
    previousToken?: string,
  ): Promise<{ token: string }> {
    const ipKey = `login:ip:${origin.ip}`
    const now = clock.now()
    await assertNotThrottled(db, [ipKey], now)
    let userId: string
    try {
      userId = await verifyAssertion(input.flow, input.response, null)
    } catch (error) {
      await recordFailure(db, ipKey, IP_RULE, now)
      throw error
    }
    return twoFactor.signIn(userId, 'passkey', origin, previousToken)
  }

  async function secondFactorOptions(
    secondFactorFlow: string,
  ): Promise<Challenge<PublicKeyCredentialRequestOptionsJSON>> {
    const userId = await twoFactor.flowUser(SECOND_FACTOR_FLOW, secondFactorFlow)
    if (userId === undefined) throw new UnauthenticatedError(REFUSED, 'flow_expired')
    return authenticationOptions(userId)
  }

  /** A passkey as the second step after the password. */
  async function completeSecondFactor(
    secondFactorFlow: string,
    input: { flow: unknown; response: unknown },
    origin: RequestOrigin,
    previousToken?: string,
  ): Promise<{ token: string }> {
    const userId = await twoFactor.flowUser(SECOND_FACTOR_FLOW, secondFactorFlow)
    if (userId === undefined) throw new UnauthenticatedError(REFUSED, 'flow_expired')
    try {
      await verifyAssertion(input.flow, input.response, userId)
    } catch (error) {
      await twoFactor.recordSecondFactorFailure(secondFactorFlow, origin)
      throw error
    }
    return twoFactor.completeSecondFactorWithPasskey(
      secondFactorFlow,
      userId,
      origin,
      previousToken,
    )
  }

  async function reauthenticationOptions(
    actor: Actor,
  ): Promise<Challenge<PublicKeyCredentialRequestOptionsJSON>> {
    return authenticationOptions(actor.userId)
  }

  async function reauthenticate(
    actor: Actor,
    input: { flow: unknown; response: unknown },
  ): Promise<void> {
    await verifyAssertion(input.flow, input.response, actor.userId)
    await twoFactor.reauthenticatedWithPasskey(actor)
  }

  async function rename(actor: Actor, id: string, input: { name: unknown }): Promise<void> {
    const checker = new InputChecker()
    const name = checker.text('name', input.name, { label: 'Name', max: PASSKEY_NAME_MAX })
    checker.assertValid()
    await db.transaction().execute(async (trx) => {
      const previous = await findPasskey(trx, id)
      if (previous?.userId !== actor.userId || !(await renamePasskey(trx, actor.userId, id, name)))
        throw new NotFoundError('The passkey')
      await audit.recordForUser(trx, actor.userId, {
        ...auditOrigin(actor),
        action: 'auth.passkey_renamed',
        target: { type: 'passkey', id },
        details: { name },
      })
    })
  }

  /**
   * Removing a passkey needs a fresh proof of identity. The last second factor of a member of an
   * account that requires one stays; with no second factor left, recovery codes go too.
   */
  async function remove(actor: Actor, id: string): Promise<void> {
    requireRecentAuthentication(actor, clock)
    await db.transaction().execute(async (trx) => {
      const passkey = await findPasskey(trx, id)
      if (passkey?.userId !== actor.userId) throw new NotFoundError('The passkey')
      const totp = await findTotpState(trx, actor.userId)
      const lastFactor = totp?.enabledAt == null && (await countPasskeys(trx, actor.userId)) === 1
      if (lastFactor) await twoFactor.assertMayDropLastFactor(trx, actor.userId)
      if (!(await deletePasskey(trx, actor.userId, id))) throw new NotFoundError('The passkey')
      if (lastFactor) await deleteRecoveryCodes(trx, actor.userId)
      await audit.recordForUser(trx, actor.userId, {
        ...auditOrigin(actor),
        action: 'auth.passkey_removed',
        target: { type: 'passkey', id },
        details: { name: passkey.name },
      })
    })
  }

  return {
    /** A passkey signs in without a password: adding one asks for a fresh proof of identity. */
    registrationOptions: (actor: Actor) => {
      requireRecentAuthentication(actor, clock)
      return registrationOptions(actor.userId)
    },
    add,
    enrolOptions,
    enrol,
    signInOptions: () => authenticationOptions(null),
    signIn,
    secondFactorOptions,
    completeSecondFactor,
    reauthenticationOptions,
    reauthenticate,
    rename,
    remove,
  }
}

function refused(): UnauthenticatedError {
  return new UnauthenticatedError(REFUSED, 'passkey_refused')
}

function refusedRegistration(): ValidationError {
  const message = 'The passkey could not be registered. Start again.'
  return new ValidationError({ passkey: message }, message, 'passkey_refused')
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function hasStrings(value: Record<string, unknown>, keys: readonly string[]): boolean {
  return keys.every((key) => typeof value[key] === 'string')
}

/**
 * The browser's JSON, once its shape is the one the library reads; the library then checks every
 * value (signatures, challenge, origin), so the cast only names what was already checked.
 */
function asRegistrationResponse(value: unknown): RegistrationResponseJSON | undefined {
  if (!isRecord(value) || !hasStrings(value, ['id', 'rawId', 'type'])) return undefined
  const response = value['response']
  if (!isRecord(response) || !hasStrings(response, ['clientDataJSON', 'attestationObject']))
    return undefined
  if (!isRecord(value['clientExtensionResults'])) value['clientExtensionResults'] = {}
  return value as unknown as RegistrationResponseJSON
}

function asAuthenticationResponse(value: unknown): AuthenticationResponseJSON | undefined {
  if (!isRecord(value) || !hasStrings(value, ['id', 'rawId', 'type'])) return undefined
  const response = value['response']
  if (
    !isRecord(response) ||
    !hasStrings(response, ['clientDataJSON', 'authenticatorData', 'signature'])
  )
    return undefined
  if (response['userHandle'] === null) delete response['userHandle']
  if (response['userHandle'] !== undefined && typeof response['userHandle'] !== 'string')
    return undefined
  if (!isRecord(value['clientExtensionResults'])) value['clientExtensionResults'] = {}
  return value as unknown as AuthenticationResponseJSON
}
