import type { Kysely } from 'kysely'
import type { DatabaseSchema } from '../../db/schema.js'
import type { Actor, SessionGrant } from '../actor.js'
import { ForbiddenError, NotFoundError } from '../errors.js'
import { baseRole, meetsRequirement, ruleOf, type PolicyAction } from '../policy.js'
import { hasRoleAtLeast, type Role } from '../roles.js'
import { findMembership, type Membership } from './membership-repository.js'

/**
 * The first line of every account-scoped service call: the action's requirement in the policy
 * (src/domain/policy.ts), the one place that says who may do what.
 */
export async function authorize(
  db: Kysely<DatabaseSchema>,
  actor: Actor,
  accountId: string,
  action: PolicyAction,
): Promise<Membership> {
  const rule = ruleOf(action)
  const membership = await requireRole(db, actor, accountId, baseRole(action), rule.access)
  if (!meetsRequirement(membership, action))
    throw new ForbiddenError(
      'Only the owner and members allowed to invite people can do this.',
      'cannot_invite',
    )
  return membership
}

/**
 * Checks a role in an account. Someone outside the account learns nothing,
 * not even that it exists (404); a member with too small a role is told so (403).
 */
export async function requireRole(
  db: Kysely<DatabaseSchema>,
  actor: Actor,
  accountId: string,
  minimum: Role,
  /**
   * What the call does, when the role alone does not say it: `read` lets a read key read what its
   * creator's role may (the audit log, for an admin's key); `write` refuses read keys even where
   * a viewer may act (a nominated viewer inviting someone).
   */
  access?: 'read' | 'write',
): Promise<Membership> {
  const key = actor.apiKey
  if (key !== undefined) {
    if (key.accountId !== accountId) throw new NotFoundError('The account')
    const cap: Role = key.scope === 'read' ? (access === 'read' ? 'admin' : 'viewer') : 'admin'
    if (key.scope === 'read' && access === 'write')
      throw new ForbiddenError(
        'This API key has the read scope; this needs a key with the write scope.',
        'insufficient_scope',
      )
    if (!hasRoleAtLeast(cap, minimum))
      throw new ForbiddenError(
        key.scope === 'read'
          ? 'This API key has the read scope; this needs a key with the write scope.'
          : 'This needs the account owner in person; API keys cannot do it.',
        'insufficient_scope',
      )
  }
  // A session an account's identity provider signed in reaches that account only: another
  // account's IdP must not vouch for anyone here.
  const session = actor.session
  if (session?.ssoAccountId != null && session.ssoAccountId !== accountId)
    throw new NotFoundError('The account')
  const membership = await findMembership(db, accountId, actor.userId)
  if (membership === undefined) throw new NotFoundError('The account')
  if (session !== undefined) assertSignInRules(membership, session)
  if (!hasRoleAtLeast(membership.role, minimum)) {
    throw new ForbiddenError(
      `This needs the ${minimum} role or higher; you are ${membership.role}.`,
    )
  }
  return membership
}

/**
 * The account's sign-in rules, checked on every request so a rule turned on takes effect at once
 * for sessions already open. With SSO enforced, only sessions from the account's own identity
 * provider get in; the owner keeps a break-glass path, password with a second factor, so a broken
 * IdP cannot lock the account out. With two-factor required, a password alone is not enough.
 */
function assertSignInRules(membership: Membership, session: SessionGrant): void {
  // Admins configure identity providers: an IdP never vouches for the owner, even for a member
  // who became owner while signed in through it.
  if (membership.role === 'owner' && session.ssoAccountId === membership.accountId)
    throw new ForbiddenError(
      'The account owner signs in with their password, not through single sign-on. Sign out and sign in with your password.',
      'owner_uses_password',
    )
  const strong = session.method === 'password_2fa' || session.method === 'passkey'
  if (membership.accountEnforcesSso && session.ssoAccountId !== membership.accountId) {
    if (membership.role === 'owner' && strong) return
    throw new ForbiddenError(
      membership.role === 'owner'
        ? `${membership.accountName} requires single sign-on. As its owner you may also sign in with your password and a second factor.`
        : `${membership.accountName} requires single sign-on. Sign out and sign in through your identity provider.`,
      'sso_required',
    )
  }
  if (membership.accountRequiresTwoFactor && session.method === 'password')
    throw new ForbiddenError(
      `${membership.accountName} requires two-factor authentication. Set up an authenticator app or a passkey, then sign in again.`,
      'two_factor_required',
    )
}

/**
 * The pages an actor may reach in an account: the member's page limits, narrowed further by an
 * API key limited to some pages; null for every page.
 */
export function reachablePageIds(membership: Membership, actor: Actor): readonly string[] | null {
  const keyPages = actor.apiKey?.pageIds ?? null
  if (membership.pageIds === null) return keyPages
  return membership.pageIds.filter((id) => keyPages === null || keyPages.includes(id))
}
