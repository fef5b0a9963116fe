import type { Kysely } from 'kysely'
import type { DatabaseSchema } from '../../db/schema.js'
import type { Actor } from '../actor.js'
import { ForbiddenError, NotFoundError } from '../errors.js'
import { hasRoleAtLeast, type Role } from '../roles.js'
import { findMembership, type Membership } from './membership-repository.js'

/**
 * The first line of every account-scoped service call. Someone outside the account learns nothing,
 * not even that it exists (404); a member with too small a role is told so (403).
 */
export async function requireRole(
  db: Kysely<DatabaseSchema>,
  actor: Actor,
  accountId: string,
  minimum: Role,
): Promise<Membership> {
  const key = actor.apiKey
  if (key !== undefined) {
    if (key.accountId !== accountId) throw new NotFoundError('The account')
    const cap: Role = key.scope === 'read' ? 'viewer' : 'admin'
    if (!hasRoleAtLeast(cap, minimum))
      throw new ForbiddenError(
        key.scope === 'read'
          ? 'This API key has the read scope; this needs a key with the write scope.'
          : 'This needs the account owner in person; API keys cannot do it.',
        'insufficient_scope',
      )
  }
  const membership = await findMembership(db, accountId, actor.userId)
  if (membership === undefined) throw new NotFoundError('The account')
  if (!hasRoleAtLeast(membership.role, minimum)) {
    throw new ForbiddenError(
      `This needs the ${minimum} role or higher; you are ${membership.role}.`,
    )
  }
  return membership
}
