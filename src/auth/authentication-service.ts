import type { Kysely } from 'kysely'
import type { KeyRing } from '../crypto/key-ring.js'
import type { DatabaseSchema } from '../db/schema.js'
import {
  checkNewOwner,
  createAccountWithOwner,
  PERSON_NAME_MAX,
} from '../domain/accounts/account-service.js'
import type { Account } from '../domain/accounts/account-repository.js'
import { listMembershipsOfUser } from '../domain/accounts/membership-repository.js'
import {
  countUsers,
  emailIndex,
  findUserByEmail,
  findUserById,
  updateUserName,
  updateUserPassword,
  type User,
} from '../domain/accounts/user-repository.js'
import type { Actor, RequestOrigin } from '../domain/actor.js'
import { auditOrigin, type AuditLog } from '../domain/audit/audit-log.js'
import type { Clock } from '../domain/clock.js'
import { NotFoundError, UnauthenticatedError, ValidationError } from '../domain/errors.js'
import type { SendMail } from '../domain/mail.js'
import { InputChecker } from '../domain/validation.js'
import type { Defer } from '../jobs/background-tasks.js'
import {
  alreadyRegisteredEmail,
  passwordResetEmail,
  signupEmail,
} from '../notify/email-templates.js'
import { startAuthFlow } from './auth-flows.js'
import { consumeToken, findValidToken, issueToken, revokeTokens } from './auth-token-repository.js'
import {
  burnPasswordVerification,
  checkPasswordPolicy,
  hashPassword,
  PASSWORD_MAX_LENGTH,
  passwordLength,
  verifyPassword,
} from './passwords.js'
import type { SessionService } from './session-service.js'
import { accountsRequiringTwoFactor, hasSecondFactor } from './two-factor-repository.js'
import {
  ENROL_FLOW,
  ENROL_TTL_MS,
  SECOND_FACTOR_FLOW,
  SECOND_FACTOR_TTL_MS,
} from './two-factor-service.js'
import {
  ACCOUNT_RULE,
  IP_RULE,
  assertNotThrottled,
  clearThrottle,
  recordFailure,
  type ThrottleRule,
} from './throttle.js'

export interface AuthenticationServiceDeps {
  db: Kysely<DatabaseSchema>
  keyRing: KeyRing
  clock: Clock
  sessions: SessionService
  sendMail: SendMail
  defer: Defer
  baseUrl: URL
  allowSignup: boolean
  passwordResetTtlMs: number
  setupLinkTtlMs: number
  audit: AuditLog
}

export interface SignedIn {
  token: string
  user: User
}

/**
 * The answer to a correct password: a session, or (with a second factor, or an account that
 * requires one) a short-lived flow whose token leads to the second step.
 */
export type LoginResult =
  | (SignedIn & { status: 'signed_in' })
  | { status: 'second_factor' | 'enrol'; flowToken: string; user: User }

const INVALID_LINK = 'This link has expired or was already used. Ask for a new one.'
/** Password reset and sign-up emails per address per hour; more requests are silently dropped. */
const EMAIL_REQUEST_RULE: ThrottleRule = {
  maxFailures: 5,
  windowMs: 60 * 60_000,
  blockMs: 60 * 60_000,
  maxBlockMs: 60 * 60_000,
}
const IP_REQUEST_RULE: ThrottleRule = {
  maxFailures: 20,
  windowMs: 60 * 60_000,
  blockMs: 15 * 60_000,
  maxBlockMs: 60 * 60_000,
}

export type AuthenticationService = ReturnType<typeof createAuthenticationService>

export function createAuthenticationService(deps: AuthenticationServiceDeps) {
  const { db, keyRing, clock, sessions, sendMail, defer, baseUrl, audit } = deps

  function link(path: string, token: string): string {
    const url = new URL(path, baseUrl)
    url.searchParams.set('token', token)
    return url.toString()
  }

  function checkNewPassword(
    field: string,
    password: unknown,
    checker: InputChecker,
    email?: string,
  ): string {
    const value = typeof password === 'string' ? password : ''
    const problem = checkPasswordPolicy(value, email === undefined ? {} : { email })
    if (problem !== undefined) checker.add(field, problem)
    return value
  }

  /**
   * Unknown email and wrong password take the same path, cost the same Argon2 work and end in the
   * same error, so neither the answer nor its timing says which addresses have a login.
   */
  async function login(
    input: { email: unknown; password: unknown; previousToken?: string | undefined },
    origin: RequestOrigin,
  ): Promise<LoginResult> {
    const email =
      typeof input.email === 'string' ? input.email.trim().toLowerCase().slice(0, 254) : ''
    const password = typeof input.password === 'string' ? input.password : ''
    const now = clock.now()
    const accountKey = `login:email:${emailIndex(keyRing, email)}`
    const ipKey = `login:ip:${origin.ip}`
    await assertNotThrottled(db, [accountKey, ipKey], now)

    const user = email === '' ? undefined : await findUserByEmail(db, keyRing, email)
    const valid =
      user?.passwordHash != null && passwordLength(password) <= PASSWORD_MAX_LENGTH
        ? await verifyPassword(user.passwordHash, password)
        : await burnPasswordVerification(password.slice(0, PASSWORD_MAX_LENGTH))
    if (!valid || user === undefined) {
      await recordFailure(db, accountKey, ACCOUNT_RULE, now)
      await recordFailure(db, ipKey, IP_RULE, now)
      // In the background, like the emails: a known address writes an entry per account of its
      // user and an unknown one a single entry, and the answer must not take longer for either.
      const userId = user?.id
      defer('audit-sign-in-failed', () => recordFailedSignIn(userId, email, origin))
      throw new UnauthenticatedError('Incorrect email or password.', 'invalid_credentials')
    }
    await clearThrottle(db, accountKey)
    // A new id at every sign-in: a session id planted in the browser beforehand is worthless.
    if (input.previousToken !== undefined) await signOut(input.previousToken)
    // With a second factor, the password opens a short flow, not a session; a member of an
    // account that requires one and has none is led through setting one up first.
    if (await hasSecondFactor(db, user.id)) {
      const flowToken = await startAuthFlow(db, keyRing, {
        kind: SECOND_FACTOR_FLOW,
        userId: user.id,
        payload: {},
        now,
        ttlMs: SECOND_FACTOR_TTL_MS,
      })
      return { status: 'second_factor', flowToken, user: publicUser(user) }
    }
    if ((await accountsRequiringTwoFactor(db, user.id)).length > 0) {
      const flowToken = await startAuthFlow(db, keyRing, {
        kind: ENROL_FLOW,
        userId: user.id,
        payload: {},
        now,
        ttlMs: ENROL_TTL_MS,
      })
      return { status: 'enrol', flowToken, user: publicUser(user) }
    }
    const { token } = await sessions.create(user.id, origin, { method: 'password' })
    await audit.recordForUser(db, user.id, {
      actor: { type: 'user', userId: user.id },
      action: 'auth.signed_in',
      target: { type: 'user', id: user.id },
      ip: origin.ip,
      userAgent: origin.userAgent,
      details: { method: 'password' },
    })
    return { status: 'signed_in', token, user: publicUser(user) }
  }

  /** An unknown address is recorded by its blind index only, in the installation's chain. */
  async function recordFailedSignIn(
    userId: string | undefined,
    email: string,
    origin: RequestOrigin,
  ): Promise<void> {
    const entry = {
      actor: { type: 'anonymous' } as const,
      action: 'auth.sign_in_failed',
      ip: origin.ip,
      userAgent: origin.userAgent,
    }
    if (userId !== undefined)
      await audit.recordForUser(db, userId, { ...entry, target: { type: 'user', id: userId } })
    else
      await audit.record(db, {
        ...entry,
        accountId: null,
        details: email === '' ? { emailIndex: null } : { emailIndex: emailIndex(keyRing, email) },
      })
  }

  async function signOut(token: string): Promise<void> {
    const session = await sessions.authenticate(token)
    if (session !== undefined) await sessions.revoke(session.userId, session.idHash)
  }

  async function getUser(actor: Actor): Promise<User> {
    const user = await findUserById(db, keyRing, actor.userId)
    if (user === undefined) throw new UnauthenticatedError()
    return publicUser(user)
  }

  async function updateProfile(actor: Actor, input: { name: unknown }): Promise<void> {
    const checker = new InputChecker()
    const name = checker.text('name', input.name, { label: 'Name', max: PERSON_NAME_MAX })
    checker.assertValid()
    await db.transaction().execute(async (trx) => {
      await updateUserName(trx, keyRing, actor.userId, name, clock.now())
      await audit.recordForUser(trx, actor.userId, {
        ...auditOrigin(actor),
        action: 'user.profile_updated',
        target: { type: 'user', id: actor.userId },
        details: { fields: ['name'] },
      })
    })
  }

  /** Ends every other session and gives the current one a new id. */
  async function changePassword(
    actor: Actor,
    input: { currentPassword: unknown; newPassword: unknown },
  ): Promise<{ token: string }> {
    const user = await findUserById(db, keyRing, actor.userId)
    if (user === undefined) throw new UnauthenticatedError()
    const now = clock.now()
    const throttleKey = `password-change:${user.id}`
    await assertNotThrottled(db, [throttleKey], now)
    const checker = new InputChecker()
    const current = typeof input.currentPassword === 'string' ? input.currentPassword : ''
    const newPassword = checkNewPassword('newPassword', input.newPassword, checker, user.email)
    const currentValid =
      user.passwordHash !== null &&
      passwordLength(current) <= PASSWORD_MAX_LENGTH &&
      (await verifyPassword(user.passwordHash, current))
    if (!currentValid) {
      await recordFailure(db, throttleKey, ACCOUNT_RULE, now)
      checker.add('currentPassword', 'The current password is not correct.')
    }
    checker.assertValid()
    const passwordHash = await hashPassword(newPassword)
    await db.transaction().execute(async (trx) => {
      await updateUserPassword(trx, user.id, passwordHash, now)
      await revokeTokens(trx, 'password_reset', user.id, now)
      await trx
        .deleteFrom('sessions')
        .where('user_id', '=', user.id)
        .where('id_hash', '!=', actor.sessionIdHash)
        .execute()
      await audit.recordForUser(trx, user.id, {
        ...auditOrigin(actor),
        action: 'auth.password_changed',
        target: { type: 'user', id: user.id },
      })
    })
    await clearThrottle(db, throttleKey)
    return sessions.rotate(actor.sessionIdHash)
  }

  /** Always answers the same way; the email goes out in the background so timing does not tell either. */
  async function requestPasswordReset(
    input: { email: unknown },
    origin: RequestOrigin,
  ): Promise<void> {
    const checker = new InputChecker()
    const email = checker.email('email', input.email)
    checker.assertValid()
    const now = clock.now()
    await assertNotThrottled(db, [`reset:ip:${origin.ip}`], now)
    await recordFailure(db, `reset:ip:${origin.ip}`, IP_REQUEST_RULE, now)
    const emailKey = `reset:email:${emailIndex(keyRing, email)}`
    defer('password-reset-email', async () => {
      if (await isOverLimit(emailKey, EMAIL_REQUEST_RULE, now)) return
      const user = await findUserByEmail(db, keyRing, email)
      if (user === undefined) return
      const { token } = await issueToken(db, {
        purpose: 'password_reset',
        userId: user.id,
        now,
        ttlMs: deps.passwordResetTtlMs,
      })
      const memberships = await listMembershipsOfUser(db, user.id)
      // The account mailbox is the owner's: another member's reset link there would hand their
      // login to the owner. Only the owner's own reset mail is shown in it.
      const only = memberships.length === 1 ? memberships[0] : undefined
      await sendMail({
        to: user.email,
        ...passwordResetEmail({
          link: link('/reset-password', token),
          ttlMinutes: Math.round(deps.passwordResetTtlMs / 60_000),
        }),
        accountId: only?.role === 'owner' ? only.accountId : null,
      })
    })
  }

  async function isOverLimit(key: string, rule: ThrottleRule, now: Date): Promise<boolean> {
    try {
      await assertNotThrottled(db, [key], now)
    } catch {
      return true
    }
    await recordFailure(db, key, rule, now)
    return false
  }

  async function isPasswordResetTokenValid(token: string): Promise<boolean> {
    return (await findValidToken(db, 'password_reset', token, clock.now())) !== undefined
  }

  /** Sets the new password and ends every session of the user: whoever had the old password is out. */
  async function completePasswordReset(
    input: { token: unknown; password: unknown },
    origin?: RequestOrigin,
  ): Promise<void> {
    const token = typeof input.token === 'string' ? input.token : ''
    const now = clock.now()
    const pending = await findValidToken(db, 'password_reset', token, now)
    if (pending?.userId == null)
      throw new ValidationError({ token: INVALID_LINK }, INVALID_LINK, 'invalid_token')
    const user = await findUserById(db, keyRing, pending.userId)
    if (user === undefined)
      throw new ValidationError({ token: INVALID_LINK }, INVALID_LINK, 'invalid_token')
    const checker = new InputChecker()
    const password = checkNewPassword('password', input.password, checker, user.email)
    checker.assertValid()
    const passwordHash = await hashPassword(password)
    await db.transaction().execute(async (trx) => {
      const consumed = await consumeToken(trx, 'password_reset', token, now)
      if (consumed?.userId !== user.id)
        throw new ValidationError({ token: INVALID_LINK }, INVALID_LINK, 'invalid_token')
      await updateUserPassword(trx, user.id, passwordHash, now)
      await revokeTokens(trx, 'password_reset', user.id, now)
      await trx.deleteFrom('sessions').where('user_id', '=', user.id).execute()
      // Whoever holds the emailed link acts as the user.
      await audit.recordForUser(trx, user.id, {
        actor: { type: 'user', userId: user.id },
        action: 'auth.password_reset',
        target: { type: 'user', id: user.id },
        ip: origin?.ip,
        userAgent: origin?.userAgent,
      })
    })
  }

  /** On an empty installation, a one-time link that creates the first account and its owner. */
  async function createSetupLinkIfEmpty(): Promise<string | undefined> {
    if ((await countUsers(db)) > 0) return undefined
    const now = clock.now()
    const { token } = await db.transaction().execute(async (trx) => {
      await revokeTokens(trx, 'setup', null, now)
      return issueToken(trx, { purpose: 'setup', userId: null, now, ttlMs: deps.setupLinkTtlMs })
    })
    return link('/setup', token)
  }

  async function isSetupTokenValid(token: string): Promise<boolean> {
    return (
      (await findValidToken(db, 'setup', token, clock.now())) !== undefined &&
      (await countUsers(db)) === 0
    )
  }

  async function completeSetup(
    input: {
      token: unknown
      accountName: unknown
      name: unknown
      email: unknown
      password: unknown
    },
    origin: RequestOrigin,
  ): Promise<SignedIn & { account: Account }> {
    const token = typeof input.token === 'string' ? input.token : ''
    if (!(await isSetupTokenValid(token)))
      throw new ValidationError({ token: INVALID_LINK }, INVALID_LINK, 'invalid_token')
    return createOwner(input, origin, 'setup', async (trx, now) => {
      const consumed = await consumeToken(trx, 'setup', token, now)
      if (consumed === undefined || (await countUsers(trx)) > 0) {
        throw new ValidationError({ token: INVALID_LINK }, INVALID_LINK, 'invalid_token')
      }
    })
  }

  async function requestSignup(input: { email: unknown }, origin: RequestOrigin): Promise<void> {
    if (!deps.allowSignup) throw new NotFoundError('Sign-up')
    const checker = new InputChecker()
    const email = checker.email('email', input.email)
    checker.assertValid()
    const now = clock.now()
    await assertNotThrottled(db, [`signup:ip:${origin.ip}`], now)
    await recordFailure(db, `signup:ip:${origin.ip}`, IP_REQUEST_RULE, now)
    const emailKey = `signup:email:${emailIndex(keyRing, email)}`
    defer('signup-email', async () => {
      if (await isOverLimit(emailKey, EMAIL_REQUEST_RULE, now)) return
      const existing = await findUserByEmail(db, keyRing, email)
      if (existing !== undefined) {
        await sendMail({
          to: email,
          ...alreadyRegisteredEmail({
            loginLink: new URL('/login', baseUrl).toString(),
            resetLink: new URL('/forgot-password', baseUrl).toString(),
          }),
          accountId: null,
        })
        return
      }
      const ttlMs = deps.passwordResetTtlMs
      const { token } = await issueToken(db, {
        purpose: 'signup',
        userId: null,
        payloadCiphertext: keyRing.encrypt(email, 'auth_tokens.signup_email'),
        now,
        ttlMs,
      })
      await sendMail({
        to: email,
        ...signupEmail({
          link: link('/signup/complete', token),
          ttlMinutes: Math.round(ttlMs / 60_000),
        }),
        accountId: null,
      })
    })
  }

  async function signupEmailFor(token: string): Promise<string | undefined> {
    if (!deps.allowSignup) return undefined
    const pending = await findValidToken(db, 'signup', token, clock.now())
    return pending?.payloadCiphertext == null
      ? undefined
      : keyRing.decrypt(pending.payloadCiphertext, 'auth_tokens.signup_email')
  }

  async function completeSignup(
    input: { token: unknown; accountName: unknown; name: unknown; password: unknown },
    origin: RequestOrigin,
  ): Promise<SignedIn & { account: Account }> {
    if (!deps.allowSignup) throw new NotFoundError('Sign-up')
    const token = typeof input.token === 'string' ? input.token : ''
    const email = await signupEmailFor(token)
    if (email === undefined)
      throw new ValidationError({ token: INVALID_LINK }, INVALID_LINK, 'invalid_token')
    return createOwner({ ...input, email }, origin, 'signup', async (trx, now) => {
      if ((await consumeToken(trx, 'signup', token, now)) === undefined) {
        throw new ValidationError({ token: INVALID_LINK }, INVALID_LINK, 'invalid_token')
      }
    })
  }

  async function createOwner(
    input: { accountName: unknown; name: unknown; email: unknown; password: unknown },
    origin: RequestOrigin | undefined,
    via: 'setup' | 'signup' | 'command',
    guard: (trx: Kysely<DatabaseSchema>, now: Date) => Promise<void>,
  ): Promise<SignedIn & { account: Account }> {
    const checker = new InputChecker()
    const owner = checkNewOwner(input, checker)
    const password = checkNewPassword('password', input.password, checker, owner.email)
    checker.assertValid()
    const passwordHash = await hashPassword(password)
    const now = clock.now()
    const { account, user } = await db.transaction().execute(async (trx) => {
      await guard(trx, now)
      const created = await createAccountWithOwner(trx, keyRing, { ...owner, passwordHash }, now)
      await audit.record(trx, {
        accountId: created.account.id,
        actor:
          origin === undefined ? { type: 'system' } : { type: 'user', userId: created.user.id },
        action: 'account.created',
        target: { type: 'account', id: created.account.id },
        ip: origin?.ip,
        userAgent: origin?.userAgent,
        details: { via, ownerUserId: created.user.id },
      })
      return created
    })
    const token = origin === undefined ? '' : (await sessions.create(user.id, origin)).token
    return { token, user, account }
  }

  /** For `candor create-owner`: the same rules as the setup form, without a session. */
  async function createOwnerAccount(input: {
    accountName: string
    name: string
    email: string
    password: string
  }): Promise<{ account: Account; user: User }> {
    const { account, user } = await createOwner(input, undefined, 'command', async () => {})
    await revokeTokens(db, 'setup', null, clock.now())
    return { account, user }
  }

  /** Checks a new person's password against the policy (into `checker`) and hashes it. */
  async function hashNewPassword(
    password: unknown,
    email: string,
    checker: InputChecker,
  ): Promise<string> {
    const value = checkNewPassword('password', password, checker, email)
    return value === '' ? '' : hashPassword(value)
  }

  return {
    login,
    signOut,
    hashNewPassword,
    getUser,
    updateProfile,
    changePassword,
    requestPasswordReset,
    isPasswordResetTokenValid,
    completePasswordReset,
    createSetupLinkIfEmpty,
    isSetupTokenValid,
    completeSetup,
    requestSignup,
    signupEmailFor,
    completeSignup,
    createOwnerAccount,
    isSignupAllowed: () => deps.allowSignup,
  }
}

function publicUser(user: User): User {
  return { id: user.id, email: user.email, name: user.name, createdAt: user.createdAt }
}
