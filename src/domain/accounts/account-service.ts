import type { Kysely } from 'kysely'
import type { KeyRing } from '../../crypto/key-ring.js'
import { generateId } from '../../crypto/tokens.js'
import type { DatabaseSchema } from '../../db/schema.js'
import type { Actor } from '../actor.js'
import { auditOrigin, type AuditLog } from '../audit/audit-log.js'
import type { Clock } from '../clock.js'
import { ConflictError } from '../errors.js'
import { InputChecker } from '../validation.js'
import { findAccount, insertAccount, renameAccount, type Account } from './account-repository.js'
import { authorize } from './authorization.js'
import {
  insertMembership,
  listMembershipsOfAccount,
  listMembershipsOfUser,
  type Membership,
} from './membership-repository.js'
import { findUserByEmail, findUsersByIds, insertUser, type User } from './user-repository.js'
import type { Role } from '../roles.js'

export const ACCOUNT_NAME_MAX = 100
export const PERSON_NAME_MAX = 100

export interface NewOwner {
  accountName: string
  name: string
  email: string
  /** An Argon2id hash: callers check the password policy and hash before opening a transaction. */
  passwordHash: string
}

export interface AccountServiceDeps {
  db: Kysely<DatabaseSchema>
  keyRing: KeyRing
  clock: Clock
  audit: AuditLog
}

export type AccountService = ReturnType<typeof createAccountService>

/** A member of an account as the team list shows them. */
export interface AccountMember {
  userId: string
  name: string
  email: string
  role: Role
  joinedAt: Date
}

export function checkNewOwner(
  input: { accountName: unknown; name: unknown; email: unknown },
  checker = new InputChecker(),
) {
  return {
    accountName: checker.text('accountName', input.accountName, {
      label: 'Account name',
      max: ACCOUNT_NAME_MAX,
    }),
    name: checker.text('name', input.name, { label: 'Your name', max: PERSON_NAME_MAX }),
    email: checker.email('email', input.email),
  }
}

/**
 * Creates an account and its owner in the caller's transaction. The email's blind index is
 * unique, so two concurrent sign-ups with one address cannot both succeed.
 */
export async function createAccountWithOwner(
  trx: Kysely<DatabaseSchema>,
  keyRing: KeyRing,
  owner: NewOwner,
  now: Date,
): Promise<{ account: Account; user: User }> {
  if ((await findUserByEmail(trx, keyRing, owner.email)) !== undefined) throw emailTaken()
  const account: Account = { id: generateId(), name: owner.accountName, createdAt: now }
  const user: User = { id: generateId(), email: owner.email, name: owner.name, createdAt: now }
  await insertAccount(trx, account)
  try {
    await insertUser(trx, keyRing, { ...user, passwordHash: owner.passwordHash })
  } catch (error) {
    // A concurrent sign-up with the same address passed the check above first.
    if (isUniqueViolation(error, 'email_index')) throw emailTaken()
    throw error
  }
  await insertMembership(trx, {
    accountId: account.id,
    userId: user.id,
    role: 'owner',
    canInvite: true,
    createdAt: now,
  })
  return { account, user }
}

function emailTaken(): ConflictError {
  return new ConflictError('email_taken', 'A person with this email already has a Candor login.')
}

/** PostgreSQL (23505) and SQLite both name the violated index or column in the message. */
function isUniqueViolation(error: unknown, column: string): boolean {
  return (
    error instanceof Error &&
    'code' in error &&
    (error.code === '23505' || error.code === 'SQLITE_CONSTRAINT_UNIQUE') &&
    error.message.includes(column)
  )
}

export function createAccountService({ db, keyRing, clock, audit }: AccountServiceDeps) {
  async function listMyAccounts(actor: Actor): Promise<Membership[]> {
    return listMembershipsOfUser(db, actor.userId)
  }

  async function getAccount(
    actor: Actor,
    accountId: string,
  ): Promise<{ account: Account; membership: Membership }> {
    const membership = await authorize(db, actor, accountId, 'account.read')
    const account = await findAccount(db, accountId)
    if (account === undefined) throw new ConflictError('account_gone', 'The account was deleted.')
    return { account, membership }
  }

  async function rename(actor: Actor, accountId: string, input: { name: unknown }): Promise<void> {
    await authorize(db, actor, accountId, 'account.rename')
    const checker = new InputChecker()
    const name = checker.text('name', input.name, { label: 'Account name', max: ACCOUNT_NAME_MAX })
    checker.assertValid()
    await db.transaction().execute(async (trx) => {
      await renameAccount(trx, accountId, name, clock.now())
      await audit.record(trx, {
        accountId,
        ...auditOrigin(actor),
        action: 'account.renamed',
        target: { type: 'account', id: accountId },
        details: { name },
      })
    })
  }

  /** The account's team, for any member (and any key of the account). */
  async function listMembers(actor: Actor, accountId: string): Promise<AccountMember[]> {
    await authorize(db, actor, accountId, 'team.read')
    const memberships = await listMembershipsOfAccount(db, accountId)
    const users = await findUsersByIds(
      db,
      keyRing,
      memberships.map((m) => m.userId),
    )
    return memberships.flatMap((m) => {
      const user = users.get(m.userId)
      return user === undefined
        ? []
        : [
            {
              userId: m.userId,
              name: user.name,
              email: user.email,
              role: m.role,
              joinedAt: m.createdAt,
            },
          ]
    })
  }

  return { listMyAccounts, getAccount, rename, listMembers }
}
