import { randomInt } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { KeyRing } from '../crypto/key-ring.js'
import type { AuthMethod, DatabaseSchema } from '../db/schema.js'
import { authorize } from '../domain/accounts/authorization.js'
import { requireRecentAuthentication } from '../domain/accounts/reauthentication.js'
import { findUserById } from '../domain/accounts/user-repository.js'
import type { Actor, RequestOrigin } from '../domain/actor.js'
import { auditOrigin, type AuditLog } from '../domain/audit/audit-log.js'
import type { Clock } from '../domain/clock.js'
import {
  ConflictError,
  NotFoundError,
  UnauthenticatedError,
  ValidationError,
} from '../domain/errors.js'
import {
  consumeAuthFlow,
  findAuthFlow,
  recordAuthFlowFailure,
  startAuthFlow,
  type AuthFlow,
} from './auth-flows.js'
import { PASSWORD_MAX_LENGTH, passwordLength, verifyPassword } from './passwords.js'
import type { SessionService } from './session-service.js'
import {
  ACCOUNT_RULE,
  IP_RULE,
  assertNotThrottled,
  clearThrottle,
  recordFailure,
} from './throttle.js'
import { generateTotpSecret, matchTotpStep, totpUri } from './totp.js'
import {
  accountsRequiringTwoFactor,
  claimTotpStep,
  countPasskeys,
  countUnusedRecoveryCodes,
  deleteRecoveryCodes,
  disableTotp as clearTotp,
  enableTotp,
  findTotpState,
  hasSecondFactor,
  listPasskeys,
  replaceRecoveryCodes,
  setAccountRequiresTwoFactor,
  useRecoveryCode,
  type Passkey,
} from './two-factor-repository.js'

type Db = Kysely<DatabaseSchema>

/** The kinds of auth_flows rows of the two-step sign-in. */
export const SECOND_FACTOR_FLOW = 'second_factor'
export const ENROL_FLOW = 'enrol_second_factor'
const TOTP_ENROLMENT_FLOW = 'totp_enrolment'

export const SECOND_FACTOR_TTL_MS = 5 * 60_000
/** Long enough to install an authenticator app in the middle of signing in. */
export const ENROL_TTL_MS = 15 * 60_000
export const MAX_SECOND_FACTOR_ATTEMPTS = 5
export const RECOVERY_CODE_COUNT = 10

const SECRET_CONTEXT = 'users.totp_secret'
const RECOVERY_CONTEXT = 'recovery_codes.code'
/** No 0/o, 1/l/i: codes are read off paper. */
const RECOVERY_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789'

const WRONG_CODE = 'That code is not correct.'
const FLOW_OVER = 'This sign-in has expired or had too many wrong codes. Sign in again.'

export interface TotpEnrolment {
  /** Names the pending secret in the confirming form; the secret itself stays on the server. */
  enrolment: string
  secret: string
  uri: string
}

export interface TwoFactorStatus {
  hasPassword: boolean
  totpEnabled: boolean
  recoveryCodesLeft: number
  passkeys: Passkey[]
  /** Accounts of the person that require a second factor. */
  requiredBy: string[]
}

export interface TwoFactorServiceDeps {
  db: Db
  keyRing: KeyRing
  clock: Clock
  sessions: SessionService
  audit: AuditLog
}

export type TwoFactorService = ReturnType<typeof createTwoFactorService>

/**
 * TOTP (RFC 6238) with single-use recovery codes, the second step of a sign-in, the enrolment an
 * account's requirement leads a member through, re-authentication for sensitive actions, and the
 * owner's switch that requires a second factor of every member.
 */
export function createTwoFactorService(deps: TwoFactorServiceDeps) {
  const { db, keyRing, clock, sessions, audit } = deps
  // A keyed hash, so a copy of the table cannot be brute-forced offline (10 characters of 31 are
  // about 50 bits).
  const hashRecoveryCode = (code: string) =>
    keyRing.blindIndex(normalizeRecoveryCode(code), RECOVERY_CONTEXT)

  async function status(actor: Actor): Promise<TwoFactorStatus> {
    const user = await findUserById(db, keyRing, actor.userId)
    if (user === undefined) throw new UnauthenticatedError()
    const totp = await findTotpState(db, actor.userId)
    return {
      hasPassword: user.passwordHash !== null,
      totpEnabled: totp?.enabledAt != null,
      recoveryCodesLeft: await countUnusedRecoveryCodes(db, actor.userId),
      passkeys: await listPasskeys(db, actor.userId),
      requiredBy: await accountsRequiringTwoFactor(db, actor.userId),
    }
  }

  // TOTP enrolment: a pending secret lives in an auth flow until a code from it confirms it.

  async function startTotpEnrolment(userId: string): Promise<TotpEnrolment> {
    const user = await findUserById(db, keyRing, userId)
    if (user === undefined) throw new UnauthenticatedError()
    const totp = await findTotpState(db, userId)
    if (totp?.enabledAt != null)
      throw new ConflictError('already_enabled', 'An authenticator app is already set up.')
    const secret = generateTotpSecret()
    const enrolment = await startAuthFlow(db, keyRing, {
      kind: TOTP_ENROLMENT_FLOW,
      userId,
      payload: { secret },
      now: clock.now(),
      ttlMs: ENROL_TTL_MS,
    })
    return { enrolment, secret, uri: totpUri(secret, user.email) }
  }

  /**
   * Adding a factor asks for a fresh proof too: whoever holds a stolen session must not be able to
   * bind their own authenticator to the login (and lock its owner out of it).
   */
  async function beginTotpEnrolment(actor: Actor): Promise<TotpEnrolment> {
    requireRecentAuthentication(actor, clock)
    return startTotpEnrolment(actor.userId)
  }

  /** The pending secret behind an enrolment (to show the same QR code again after a typo). */
  async function pendingTotpEnrolment(
    userId: string,
    enrolment: string,
  ): Promise<TotpEnrolment | undefined> {
    const flow = await findAuthFlow<{ secret: string }>(
      db,
      keyRing,
      TOTP_ENROLMENT_FLOW,
      enrolment,
      clock.now(),
    )
    if (flow?.userId !== userId) return undefined
    const user = await findUserById(db, keyRing, userId)
    if (user === undefined) return undefined
    return { enrolment, secret: flow.payload.secret, uri: totpUri(flow.payload.secret, user.email) }
  }

  /**
   * Checks a code against the pending secret and turns TOTP on, with fresh recovery codes (the
   * only time they are shown). Runs in the caller's transaction when `trx` is given.
   */
  async function confirmTotp(
    userId: string,
    input: { enrolment: unknown; code: unknown },
    origin: Actor | { ip: string; userAgent: string; userId: string },
    trxWork?: (trx: Db) => Promise<void>,
  ): Promise<string[]> {
    const enrolment = typeof input.enrolment === 'string' ? input.enrolment : ''
    const code = typeof input.code === 'string' ? input.code : ''
    const now = clock.now()
    const throttleKey = `totp-enrol:${userId}`
    await assertNotThrottled(db, [throttleKey], now)
    const flow = await findAuthFlow<{ secret: string }>(
      db,
      keyRing,
      TOTP_ENROLMENT_FLOW,
      enrolment,
      now,
    )
    if (flow?.userId !== userId)
      throw new ValidationError(
        { code: 'This setup has expired. Start again.' },
        'This setup has expired. Start again.',
        'enrolment_expired',
      )
    const step = matchTotpStep(flow.payload.secret, code, now)
    if (step === undefined) {
      await recordAuthFlowFailure(
        db,
        TOTP_ENROLMENT_FLOW,
        enrolment,
        MAX_SECOND_FACTOR_ATTEMPTS,
        now,
      )
      await recordFailure(db, throttleKey, ACCOUNT_RULE, now)
      throw new ValidationError(
        { code: `${WRONG_CODE} Check the time on your phone and enter the current code.` },
        WRONG_CODE,
        'invalid_code',
      )
    }
    const codes = generateRecoveryCodes()
    await db.transaction().execute(async (trx) => {
      if ((await consumeAuthFlow(trx, keyRing, TOTP_ENROLMENT_FLOW, enrolment, now)) === undefined)
        throw new ValidationError(
          { code: 'This setup has expired. Start again.' },
          'This setup has expired. Start again.',
          'enrolment_expired',
        )
      const enabled = await enableTotp(
        trx,
        userId,
        keyRing.encrypt(flow.payload.secret, SECRET_CONTEXT),
        step,
        now,
      )
      if (!enabled)
        throw new ConflictError('already_enabled', 'An authenticator app is already set up.')
      await replaceRecoveryCodes(trx, userId, codes.map(hashRecoveryCode), now)
      const who = 'type' in origin ? auditOrigin(origin) : undefined
      await audit.recordForUser(trx, userId, {
        actor: who?.actor ?? { type: 'user', userId },
        ip: origin.ip,
        userAgent: origin.userAgent,
        action: 'auth.totp_enabled',
        target: { type: 'user', id: userId },
        details: { recoveryCodes: codes.length },
      })
      if (trxWork !== undefined) await trxWork(trx)
    })
    await clearThrottle(db, throttleKey)
    return codes
  }

  /**
   * Turns TOTP on for the signed-in person. Their session has just proven the second factor, so
   * it counts as one signed in with it (an account that requires it lets them in at once).
   */
  async function confirmTotpEnrolment(
    actor: Actor,
    input: { enrolment: unknown; code: unknown },
  ): Promise<{ recoveryCodes: string[] }> {
    requireRecentAuthentication(actor, clock)
    const recoveryCodes = await confirmTotp(actor.userId, input, actor)
    await upgradeSession(actor)
    return { recoveryCodes }
  }

  async function upgradeSession(actor: Actor): Promise<void> {
    if (actor.session?.method === 'password')
      await sessions.markAuthenticated(actor.sessionIdHash, 'password_2fa')
  }

  /**
   * Turns TOTP off after a fresh proof of identity. Recovery codes stay while passkeys remain
   * (they stand in for a lost passkey); with no second factor left they go too. A member of an
   * account that requires a second factor cannot remove their last one.
   */
  async function disableTotp(actor: Actor): Promise<void> {
    requireRecentAuthentication(actor, clock)
    const now = clock.now()
    await db.transaction().execute(async (trx) => {
      const passkeys = await countPasskeys(trx, actor.userId)
      if (passkeys === 0) await assertMayDropLastFactor(trx, actor.userId)
      if (!(await clearTotp(trx, actor.userId, now)))
        throw new NotFoundError('An authenticator app')
      if (passkeys === 0) await deleteRecoveryCodes(trx, actor.userId)
      await audit.recordForUser(trx, actor.userId, {
        ...auditOrigin(actor),
        action: 'auth.totp_disabled',
        target: { type: 'user', id: actor.userId },
        details: { recoveryCodesKept: passkeys > 0 },
      })
    })
  }

  async function assertMayDropLastFactor(executor: Db, userId: string): Promise<void> {
    const requiring = await accountsRequiringTwoFactor(executor, userId)
    if (requiring.length > 0)
      throw new ConflictError(
        'two_factor_required',
        `${requiring.join(', ')} requires two-factor authentication: add another passkey or an authenticator app before removing this one.`,
      )
  }

  /** New recovery codes, shown once; the old ones stop working. Needs a second factor. */
  async function regenerateRecoveryCodes(actor: Actor): Promise<{ recoveryCodes: string[] }> {
    requireRecentAuthentication(actor, clock)
    const now = clock.now()
    const codes = generateRecoveryCodes()
    await db.transaction().execute(async (trx) => {
      if (!(await hasSecondFactor(trx, actor.userId)))
        throw new ConflictError(
          'no_second_factor',
          'Set up an authenticator app or a passkey first: recovery codes stand in for them.',
        )
      await replaceRecoveryCodes(trx, actor.userId, codes.map(hashRecoveryCode), now)
      await audit.recordForUser(trx, actor.userId, {
        ...auditOrigin(actor),
        action: 'auth.recovery_codes_regenerated',
        target: { type: 'user', id: actor.userId },
        details: { recoveryCodes: codes.length },
      })
    })
    return { recoveryCodes: codes }
  }

  /** A TOTP code of the user's app, accepted once (see claimTotpStep). */
  async function verifyTotpCode(userId: string, code: string, now: Date): Promise<boolean> {
    const totp = await findTotpState(db, userId)
    if (totp?.secretCiphertext == null) return false
    const secret = keyRing.decrypt(totp.secretCiphertext, SECRET_CONTEXT)
    const step = matchTotpStep(secret, code, now)
    return step !== undefined && (await claimTotpStep(db, userId, step))
  }

  // The second step of a sign-in.

  async function startSecondFactor(userId: string, now: Date): Promise<string> {
    return startAuthFlow(db, keyRing, {
      kind: SECOND_FACTOR_FLOW,
      userId,
      payload: {},
      now,
      ttlMs: SECOND_FACTOR_TTL_MS,
    })
  }

  async function startEnrolment(userId: string, now: Date): Promise<string> {
    return startAuthFlow(db, keyRing, {
      kind: ENROL_FLOW,
      userId,
      payload: {},
      now,
      ttlMs: ENROL_TTL_MS,
    })
  }

  /** What the second step's page offers, or undefined when the flow is over. */
  async function secondFactorChoices(
    flowToken: string,
  ): Promise<{ totp: boolean; passkeys: boolean; recoveryCodes: boolean } | undefined> {
    const flow = await findAuthFlow(db, keyRing, SECOND_FACTOR_FLOW, flowToken, clock.now())
    if (flow?.userId == null) return undefined
    const totp = await findTotpState(db, flow.userId)
    return {
      totp: totp?.enabledAt != null,
      passkeys: (await countPasskeys(db, flow.userId)) > 0,
      recoveryCodes: (await countUnusedRecoveryCodes(db, flow.userId)) > 0,
    }
  }

  /** The live flow's user, for the passkey step. */
  async function flowUser(kind: string, flowToken: string): Promise<string | undefined> {
    const flow = await findAuthFlow(db, keyRing, kind, flowToken, clock.now())
    return flow?.userId ?? undefined
  }

  /**
   * Answers the second step with a TOTP code or a recovery code. Wrong answers count against
   * the flow (5 and it is used up) and against the same throttles as passwords.
   */
  async function completeSecondFactor(
    flowToken: string,
    input: { code: unknown },
    origin: RequestOrigin,
    previousToken?: string,
  ): Promise<{ token: string }> {
    const code = typeof input.code === 'string' ? input.code.trim().slice(0, 64) : ''
    const now = clock.now()
    const flow = await findAuthFlow(db, keyRing, SECOND_FACTOR_FLOW, flowToken, now)
    if (flow?.userId == null) throw new UnauthenticatedError(FLOW_OVER, 'flow_expired')
    const userId = flow.userId
    const userKey = `second-factor:${userId}`
    const ipKey = `login:ip:${origin.ip}`
    await assertNotThrottled(db, [userKey, ipKey], now)
    let factor: 'totp' | 'recovery_code' | undefined
    if (/^\d{6}$/.test(code.replace(/\s+/g, ''))) {
      if (await verifyTotpCode(userId, code, now)) factor = 'totp'
    } else if (code !== '' && (await useRecoveryCode(db, userId, hashRecoveryCode(code), now)))
      factor = 'recovery_code'
    if (factor === undefined) {
      await failSecondFactor(flow, SECOND_FACTOR_FLOW, flowToken, origin, now)
      throw new UnauthenticatedError(WRONG_CODE, 'invalid_code')
    }
    if ((await consumeAuthFlow(db, keyRing, SECOND_FACTOR_FLOW, flowToken, now)) === undefined)
      throw new UnauthenticatedError(FLOW_OVER, 'flow_expired')
    await clearThrottle(db, userKey)
    if (factor === 'recovery_code')
      await audit.recordForUser(db, userId, {
        actor: { type: 'user', userId },
        action: 'auth.recovery_code_used',
        target: { type: 'user', id: userId },
        ip: origin.ip,
        userAgent: origin.userAgent,
        details: { remaining: await countUnusedRecoveryCodes(db, userId) },
      })
    return signIn(userId, 'password_2fa', origin, previousToken, { factor })
  }

  async function failSecondFactor(
    flow: AuthFlow<unknown>,
    kind: string,
    flowToken: string,
    origin: RequestOrigin,
    now: Date,
  ): Promise<void> {
    const userId = flow.userId
    if (userId === null) return
    const attempts = await recordAuthFlowFailure(
      db,
      kind,
      flowToken,
      MAX_SECOND_FACTOR_ATTEMPTS,
      now,
    )
    await recordFailure(db, `second-factor:${userId}`, ACCOUNT_RULE, now)
    await recordFailure(db, `login:ip:${origin.ip}`, IP_RULE, now)
    await audit.recordForUser(db, userId, {
      actor: { type: 'anonymous' },
      action: 'auth.second_factor_failed',
      target: { type: 'user', id: userId },
      ip: origin.ip,
      userAgent: origin.userAgent,
      details: { attempts },
    })
    if (attempts >= MAX_SECOND_FACTOR_ATTEMPTS)
      throw new UnauthenticatedError(FLOW_OVER, 'flow_expired')
  }

  /** A passkey answered the second step (the passkey service verified it for this user). */
  async function completeSecondFactorWithPasskey(
    flowToken: string,
    userId: string,
    origin: RequestOrigin,
    previousToken?: string,
  ): Promise<{ token: string }> {
    const now = clock.now()
    const flow = await consumeAuthFlow(db, keyRing, SECOND_FACTOR_FLOW, flowToken, now)
    if (flow?.userId !== userId) throw new UnauthenticatedError(FLOW_OVER, 'flow_expired')
    return signIn(userId, 'password_2fa', origin, previousToken, { factor: 'passkey' })
  }

  /** Records a failed passkey answer against a second-step flow. */
  async function recordSecondFactorFailure(
    flowToken: string,
    origin: RequestOrigin,
  ): Promise<void> {
    const now = clock.now()
    const flow = await findAuthFlow(db, keyRing, SECOND_FACTOR_FLOW, flowToken, now)
    if (flow !== undefined) await failSecondFactor(flow, SECOND_FACTOR_FLOW, flowToken, origin, now)
  }

  // Enrolment during sign-in, for members of accounts that require a second factor.

  async function startEnrolmentTotp(flowToken: string): Promise<TotpEnrolment | undefined> {
    const userId = await flowUser(ENROL_FLOW, flowToken)
    return userId === undefined ? undefined : startTotpEnrolment(userId)
  }

  async function pendingEnrolmentTotp(
    flowToken: string,
    enrolment: string,
  ): Promise<TotpEnrolment | undefined> {
    const userId = await flowUser(ENROL_FLOW, flowToken)
    return userId === undefined ? undefined : pendingTotpEnrolment(userId, enrolment)
  }

  /** The member confirmed their new app: TOTP on, the enrol flow used up, a session opened. */
  async function completeEnrolmentWithTotp(
    flowToken: string,
    input: { enrolment: unknown; code: unknown },
    origin: RequestOrigin,
    previousToken?: string,
  ): Promise<{ token: string; recoveryCodes: string[] }> {
    const now = clock.now()
    const userId = await flowUser(ENROL_FLOW, flowToken)
    if (userId === undefined) throw new UnauthenticatedError(FLOW_OVER, 'flow_expired')
    const recoveryCodes = await confirmTotp(userId, input, { ...origin, userId }, async (trx) => {
      if ((await consumeAuthFlow(trx, keyRing, ENROL_FLOW, flowToken, now)) === undefined)
        throw new UnauthenticatedError(FLOW_OVER, 'flow_expired')
    })
    const { token } = await signIn(userId, 'password_2fa', origin, previousToken, {
      factor: 'totp',
      enrolled: true,
    })
    return { token, recoveryCodes }
  }

  /** A passkey was registered in an enrol flow: use the flow up and open a session. */
  async function completeEnrolmentWithPasskey(
    flowToken: string,
    userId: string,
    origin: RequestOrigin,
    previousToken?: string,
  ): Promise<{ token: string }> {
    const flow = await consumeAuthFlow(db, keyRing, ENROL_FLOW, flowToken, clock.now())
    if (flow?.userId !== userId) throw new UnauthenticatedError(FLOW_OVER, 'flow_expired')
    return signIn(userId, 'password_2fa', origin, previousToken, {
      factor: 'passkey',
      enrolled: true,
    })
  }

  /**
   * The last step of every sign-in: a session with a new id (one planted in the browser before is
   * ended) and its audit entry.
   */
  async function signIn(
    userId: string,
    method: AuthMethod,
    origin: RequestOrigin,
    previousToken: string | undefined,
    details: Record<string, unknown> = {},
  ): Promise<{ token: string }> {
    if (previousToken !== undefined) {
      const previous = await sessions.authenticate(previousToken)
      if (previous !== undefined) await sessions.revoke(previous.userId, previous.idHash)
    }
    const { token } = await sessions.create(userId, origin, { method })
    await audit.recordForUser(db, userId, {
      actor: { type: 'user', userId },
      action: 'auth.signed_in',
      target: { type: 'user', id: userId },
      ip: origin.ip,
      userAgent: origin.userAgent,
      details: { method, ...details },
    })
    return { token }
  }

  // Re-authentication.

  /**
   * The signed-in person proves who they are again, with their password or a TOTP code. A code
   * on a password session upgrades it: password and second factor have both been shown.
   */
  async function reauthenticate(
    actor: Actor,
    input: { password?: unknown; code?: unknown },
  ): Promise<void> {
    const now = clock.now()
    const throttleKey = `reauth:${actor.userId}`
    await assertNotThrottled(db, [throttleKey], now)
    const user = await findUserById(db, keyRing, actor.userId)
    if (user === undefined) throw new UnauthenticatedError()
    const code = typeof input.code === 'string' ? input.code.trim() : ''
    const password = typeof input.password === 'string' ? input.password : ''
    if (code !== '') {
      if (!(await verifyTotpCode(user.id, code, now))) {
        await recordFailure(db, throttleKey, ACCOUNT_RULE, now)
        throw new ValidationError({ code: WRONG_CODE }, WRONG_CODE, 'invalid_code')
      }
      await clearThrottle(db, throttleKey)
      await sessions.markAuthenticated(
        actor.sessionIdHash,
        actor.session?.method === 'password' ? 'password_2fa' : undefined,
      )
      return
    }
    const valid =
      user.passwordHash !== null &&
      password !== '' &&
      passwordLength(password) <= PASSWORD_MAX_LENGTH &&
      (await verifyPassword(user.passwordHash, password))
    if (!valid) {
      await recordFailure(db, throttleKey, ACCOUNT_RULE, now)
      throw new ValidationError(
        { password: 'The password is not correct.' },
        'The password is not correct.',
        'invalid_credentials',
      )
    }
    await clearThrottle(db, throttleKey)
    await sessions.markAuthenticated(actor.sessionIdHash)
  }

  /** A passkey proved the person again (verified by the passkey service). */
  async function reauthenticatedWithPasskey(actor: Actor): Promise<void> {
    await sessions.markAuthenticated(
      actor.sessionIdHash,
      actor.session?.method === 'password' ? 'password_2fa' : undefined,
    )
  }

  // The account's requirement.

  /**
   * Only the owner decides. Turning it on needs the owner to have a second factor themselves (or
   * they would lock themselves out); turning it off is a weakening and needs a fresh proof.
   */
  async function setAccountRequirement(
    actor: Actor,
    accountId: string,
    required: boolean,
  ): Promise<void> {
    const membership = await authorize(db, actor, accountId, 'account.two-factor')
    if (!required) requireRecentAuthentication(actor, clock)
    if (membership.accountRequiresTwoFactor === required) return
    if (required && !(await hasSecondFactor(db, actor.userId)))
      throw new ConflictError(
        'owner_needs_two_factor',
        'Set up an authenticator app or a passkey for yourself first (on your security page).',
      )
    const now = clock.now()
    await db.transaction().execute(async (trx) => {
      await setAccountRequiresTwoFactor(trx, accountId, required, now)
      await audit.record(trx, {
        accountId,
        ...auditOrigin(actor),
        action: required
          ? 'account.two_factor_requirement_enabled'
          : 'account.two_factor_requirement_disabled',
        target: { type: 'account', id: accountId },
        details: { required },
      })
    })
  }

  return {
    status,
    beginTotpEnrolment,
    pendingTotpEnrolment: (actor: Actor, enrolment: string) =>
      pendingTotpEnrolment(actor.userId, enrolment),
    confirmTotpEnrolment,
    disableTotp,
    regenerateRecoveryCodes,
    startSecondFactor,
    startEnrolment,
    secondFactorChoices,
    flowUser,
    completeSecondFactor,
    completeSecondFactorWithPasskey,
    recordSecondFactorFailure,
    startEnrolmentTotp,
    pendingEnrolmentTotp,
    completeEnrolmentWithTotp,
    completeEnrolmentWithPasskey,
    signIn,
    reauthenticate,
    reauthenticatedWithPasskey,
    upgradeSession,
    assertMayDropLastFactor,
    requiringAccountsOf: (userId: string) => accountsRequiringTwoFactor(db, userId),
    setAccountRequirement,
  }
}

function generateRecoveryCodes(): string[] {
  const codes: string[] = []
  for (let n = 0; n < RECOVERY_CODE_COUNT; n++) {
    let code = ''
    for (let i = 0; i < 10; i++)
      code += RECOVERY_ALPHABET.charAt(randomInt(RECOVERY_ALPHABET.length))
    codes.push(`${code.slice(0, 5)}-${code.slice(5)}`)
  }
  return codes
}

/** Recovery codes are typed by hand: case, spaces and dashes do not matter. */
export function normalizeRecoveryCode(code: string): string {
  return code.toLowerCase().replace(/[^a-z0-9]/g, '')
}
