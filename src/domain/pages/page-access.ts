import type { Kysely, Selectable } from 'kysely'
import type { DatabaseSchema, PagesTable } from '../../db/schema.js'
import { requireRole } from '../accounts/authorization.js'
import type { Actor } from '../actor.js'
import { NotFoundError } from '../errors.js'
import { POLICY, type RoleAction } from '../policy.js'
import { findPageRow } from './page-repository.js'

/** Loads a page and checks the actor's role in its account; outsiders learn nothing (404). */
export async function requirePageRole(
  db: Kysely<DatabaseSchema>,
  actor: Actor,
  pageId: string,
  action: RoleAction,
): Promise<Selectable<PagesTable>> {
  const page = await findPageRow(db, pageId)
  if (page === undefined) throw new NotFoundError('The status page')
  const pages = actor.apiKey?.pageIds
  if (pages !== undefined && pages !== null && !pages.includes(pageId))
    throw new NotFoundError('The status page')
  const membership = await requireRole(db, actor, page.account_id, POLICY[action].minimum)
  // A member limited to some pages does not see the others, as if they did not exist.
  if (membership.pageIds !== null && !membership.pageIds.includes(pageId))
    throw new NotFoundError('The status page')
  return page
}
