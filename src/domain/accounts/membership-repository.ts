import type { Kysely } from 'kysely'
import type { DatabaseSchema, Role } from '../../db/schema.js'

export interface Membership {
  accountId: string
  accountName: string
  userId: string
  role: Role
  canInvite: boolean
  /** The pages the member is limited to, or null for every page of the account. */
  pageIds: readonly string[] | null
  /** The account's sign-in rules, read with the membership so each request checks them. */
  accountRequiresTwoFactor: boolean
  accountEnforcesSso: boolean
}

type Db = Kysely<DatabaseSchema>

export async function findMembership(
  db: Db,
  accountId: string,
  userId: string,
): Promise<Membership | undefined> {
  const row = await db
    .selectFrom('memberships')
    .innerJoin('accounts', 'accounts.id', 'memberships.account_id')
    .select([
      'memberships.account_id',
      'accounts.name',
      'memberships.user_id',
      'memberships.role',
      'memberships.can_invite',
      'accounts.require_two_factor',
      'accounts.sso_enforced',
    ])
    .where('memberships.account_id', '=', accountId)
    .where('memberships.user_id', '=', userId)
    .executeTakeFirst()
  if (row === undefined) return undefined
  const pages = await db
    .selectFrom('membership_pages')
    .select('page_id')
    .where('account_id', '=', accountId)
    .where('user_id', '=', userId)
    .orderBy('page_id')
    .execute()
  return toMembership(row, pages.length === 0 ? null : pages.map((page) => page.page_id))
}

export async function listMembershipsOfUser(db: Db, userId: string): Promise<Membership[]> {
  const rows = await db
    .selectFrom('memberships')
    .innerJoin('accounts', 'accounts.id', 'memberships.account_id')
    .select([
      'memberships.account_id',
      'accounts.name',
      'memberships.user_id',
      'memberships.role',
      'memberships.can_invite',
      'accounts.require_two_factor',
      'accounts.sso_enforced',
    ])
    .where('memberships.user_id', '=', userId)
    .orderBy('accounts.name')
    .orderBy('accounts.id')
    .execute()
  const limits = await db
    .selectFrom('membership_pages')
    .select(['account_id', 'page_id'])
    .where('user_id', '=', userId)
    .orderBy('page_id')
    .execute()
  return rows.map((row) => {
    const pageIds = limits
      .filter((limit) => limit.account_id === row.account_id)
      .map((limit) => limit.page_id)
    return toMembership(row, pageIds.length === 0 ? null : pageIds)
  })
}

/** Every member of an account, in the order they joined. */
export async function listMembershipsOfAccount(
  db: Db,
  accountId: string,
): Promise<{ userId: string; role: Role; createdAt: Date }[]> {
  const rows = await db
    .selectFrom('memberships')
    .select(['user_id', 'role', 'created_at'])
    .where('account_id', '=', accountId)
    .orderBy('created_at')
    .orderBy('user_id')
    .execute()
  return rows.map((row) => ({
    userId: row.user_id,
    role: row.role,
    createdAt: new Date(row.created_at),
  }))
}

export async function insertMembership(
  db: Db,
  membership: {
    accountId: string
    userId: string
    role: Role
    canInvite: boolean
    createdAt: Date
  },
): Promise<void> {
  await db
    .insertInto('memberships')
    .values({
      account_id: membership.accountId,
      user_id: membership.userId,
      role: membership.role,
      can_invite: membership.canInvite,
      created_at: membership.createdAt,
    })
    .execute()
}

function toMembership(
  row: {
    account_id: string
    name: string
    user_id: string
    role: Role
    can_invite: boolean | 0 | 1
    require_two_factor: boolean | 0 | 1
    sso_enforced: boolean | 0 | 1
  },
  pageIds: readonly string[] | null,
): Membership {
  return {
    accountId: row.account_id,
    accountName: row.name,
    userId: row.user_id,
    role: row.role,
    canInvite: Boolean(row.can_invite),
    pageIds,
    accountRequiresTwoFactor: Boolean(row.require_two_factor),
    accountEnforcesSso: Boolean(row.sso_enforced),
  }
}
