import type { Kysely } from 'kysely'
import type { KeyRing } from '../../crypto/key-ring.js'
import { generateId } from '../../crypto/tokens.js'
import type { DatabaseSchema } from '../../db/schema.js'
import { findMembership, insertMembership } from '../../domain/accounts/membership-repository.js'
import {
  findUserByEmail,
  findUserById,
  insertUser,
  normalizeEmail,
  type User,
} from '../../domain/accounts/user-repository.js'
import type { RequestOrigin } from '../../domain/actor.js'
import type { AuditLog } from '../../domain/audit/audit-log.js'
import type { Clock } from '../../domain/clock.js'
import { ForbiddenError, UnauthenticatedError } from '../../domain/errors.js'
import type { SessionService } from '../session-service.js'
import type { SsoConnection } from './sso-connections.js'

/** What an identity provider vouched for, after the protocol module checked its signature. */
export interface SsoIdentity {
  /** The IdP's stable id for the person: SAML NameID, OIDC `sub`. */
  subject: string
  email: string
  /** OIDC's email_verified; a SAML IdP's signed assertion is taken as verified. */
  emailVerified: boolean
  name: string | null
  /** SAML SessionIndex, so an IdP-initiated log-out can end exactly this session. */
  sessionIndex?: string | null | undefined
  /** What an SP-initiated log-out must send back (SAML NameID format and qualifiers), kept encrypted. */
  logout?: Readonly<Record<string, unknown>> | undefined
}

export interface SsoSignInDeps {
  db: Kysely<DatabaseSchema>
  keyRing: KeyRing
  clock: Clock
  sessions: SessionService
  audit: AuditLog
}

export const SSO_SUBJECT_CONTEXT = 'sso_identities.subject'
export const SSO_LOGOUT_CONTEXT = 'sessions.sso_logout'
const NAME_MAX = 100

export type SsoSignIn = ReturnType<typeof createSsoSignIn>

/**
 * Turns a verified identity into a session, shared by every SSO protocol:
 * - a subject seen before signs in as the same person, while they are still a member;
 * - otherwise a member of the account with that (verified) email in one of the connection's
 *   allowed domains is linked to the subject;
 * - otherwise, with just-in-time provisioning on and the email's domain allowed, a person without
 *   a Candor login is created (without a password) with the connection's default role;
 * - anyone else (including someone who has a login but is not a member) is refused, and told to
 *   ask for an invitation.
 * The session reaches only the connection's account (see requireRole), so an account's IdP can
 * never vouch for anyone in another account; and never for the account's owner.
 */
export function createSsoSignIn({ db, keyRing, clock, sessions, audit }: SsoSignInDeps) {
  function subjectHash(connection: SsoConnection, subject: string): string {
    return keyRing.blindIndex(`${connection.id}\u0000${subject}`, SSO_SUBJECT_CONTEXT)
  }

  async function signIn(
    connection: SsoConnection,
    identity: SsoIdentity,
    origin: RequestOrigin,
  ): Promise<{ token: string; user: User; accountId: string; provisioned: boolean }> {
    if (!connection.enabled)
      throw new ForbiddenError('This sign-in method is turned off.', 'sso_disabled')
    const email = normalizeEmail(identity.email)
    if (!identity.emailVerified)
      throw new UnauthenticatedError(
        'Your identity provider has not verified this email address.',
        'email_not_verified',
      )
    if (!/^[^@\s]+@[^@\s]+$/.test(email) || email.length > 254)
      throw new UnauthenticatedError(
        'Your identity provider did not send a usable email address.',
        'email_missing',
      )
    const domain = email.slice(email.lastIndexOf('@') + 1)
    const domainAllowed = connection.allowedDomains.includes(domain)
    const hash = subjectHash(connection, identity.subject)
    const now = clock.now()

    const outcome = await db.transaction().execute(async (trx) => {
      const known = await trx
        .selectFrom('sso_identities')
        .select('user_id')
        .where('connection_id', '=', connection.id)
        .where('subject_hash', '=', hash)
        .executeTakeFirst()
      let user =
        known === undefined
          ? await findUserByEmail(trx, keyRing, email)
          : await findUserById(trx, keyRing, known.user_id)
      let provisioned = false
      const member =
        user === undefined ? undefined : await findMembership(trx, connection.accountId, user.id)
      // Admins configure identity providers, so an IdP must not vouch for the one person above
      // them: the owner signs in with their own password (and second factor), never through SSO.
      if (member?.role === 'owner')
        throw new ForbiddenError(
          'The account owner signs in with their password, not through single sign-on.',
          'owner_uses_password',
        )
      // An admin chooses the IdP and its allowed domains, so an IdP's word about an email is only
      // taken for the account's own domains: a member is linked by email only when the domain is
      // allowed, and provisioning creates new logins only. A login that already exists elsewhere
      // joins by invitation, never because an account's IdP named its address.
      if (known === undefined && member !== undefined && !domainAllowed)
        throw new ForbiddenError(
          'Your email domain is not allowed for this sign-in method. Ask an administrator.',
          'domain_not_allowed',
        )
      if (member === undefined) {
        if (!connection.jitEnabled || !domainAllowed || user !== undefined)
          throw new ForbiddenError(
            'You are not a member of this team. Ask an administrator for an invitation.',
            'not_a_member',
          )
        const id = generateId()
        const name = (identity.name ?? '').trim().slice(0, NAME_MAX) || email
        await insertUser(trx, keyRing, { id, email, name, passwordHash: null, createdAt: now })
        user = { id, email, name, createdAt: now, passwordHash: null }
        await insertMembership(trx, {
          accountId: connection.accountId,
          userId: user.id,
          role: connection.defaultRole,
          canInvite: false,
          createdAt: now,
        })
        provisioned = true
        await audit.record(trx, {
          accountId: connection.accountId,
          actor: { type: 'system' },
          action: 'member.provisioned',
          target: { type: 'user', id: user.id },
          ip: origin.ip,
          userAgent: origin.userAgent,
          details: { connectionId: connection.id, role: connection.defaultRole },
        })
      }
      if (user === undefined) throw new UnauthenticatedError()
      if (known === undefined)
        // Two first sign-ins of one person at once: the second links nothing new.
        await trx
          .insertInto('sso_identities')
          .values({
            connection_id: connection.id,
            subject_hash: hash,
            user_id: user.id,
            created_at: now,
            last_used_at: now,
          })
          .onConflict((oc) => oc.columns(['connection_id', 'subject_hash']).doNothing())
          .execute()
      else
        await trx
          .updateTable('sso_identities')
          .set({ last_used_at: now })
          .where('connection_id', '=', connection.id)
          .where('subject_hash', '=', hash)
          .execute()
      return { user, provisioned }
    })

    const { token } = await sessions.create(outcome.user.id, origin, {
      method: 'sso',
      sso: {
        connectionId: connection.id,
        accountId: connection.accountId,
        subjectHash: hash,
        sessionIndex: identity.sessionIndex ?? null,
        logoutCiphertext:
          identity.logout === undefined
            ? null
            : keyRing.encrypt(JSON.stringify(identity.logout), SSO_LOGOUT_CONTEXT),
      },
    })
    await audit.record(db, {
      accountId: connection.accountId,
      actor: { type: 'user', userId: outcome.user.id },
      action: 'auth.signed_in',
      target: { type: 'user', id: outcome.user.id },
      ip: origin.ip,
      userAgent: origin.userAgent,
      details: { method: 'sso', protocol: connection.protocol, connectionId: connection.id },
    })
    const user: User = {
      id: outcome.user.id,
      email: outcome.user.email,
      name: outcome.user.name,
      createdAt: outcome.user.createdAt,
    }
    return { token, user, accountId: connection.accountId, provisioned: outcome.provisioned }
  }

  /** An IdP-initiated log-out: ends the sessions of that subject (and IdP session) here. */
  async function logOutFromIdp(
    connection: SsoConnection,
    subject: string,
    sessionIndexes: readonly string[],
    origin: RequestOrigin,
  ): Promise<number> {
    const ended = await sessions.revokeSsoSessions(
      connection.id,
      subjectHash(connection, subject),
      sessionIndexes,
    )
    for (const userId of new Set(ended.map((session) => session.userId)))
      await audit.record(db, {
        accountId: connection.accountId,
        actor: { type: 'system' },
        action: 'auth.sso_logged_out',
        target: { type: 'user', id: userId },
        ip: origin.ip,
        userAgent: origin.userAgent,
        details: {
          connectionId: connection.id,
          sessions: ended.filter((s) => s.userId === userId).length,
        },
      })
    return ended.length
  }

  /** What an SP-initiated log-out sends to the IdP for the session, decrypted. */
  function logoutDetails(ciphertext: string): Record<string, unknown> {
    return JSON.parse(keyRing.decrypt(ciphertext, SSO_LOGOUT_CONTEXT)) as Record<string, unknown>
  }

  return { signIn, logOutFromIdp, logoutDetails, subjectHash }
}
