import type {
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hashPassword } from '../../src/auth/passwords.js'
import { generateId } from '../../src/crypto/tokens.js'
import {
  findAccount,
  insertAccount,
  type Account,
} from '../../src/domain/accounts/account-repository.js'
import { createAccountWithOwner } from '../../src/domain/accounts/account-service.js'
import {
  findMembership,
  insertMembership,
  listMembershipsOfUser,
} from '../../src/domain/accounts/membership-repository.js'
import {
  countUsers,
  findUserByEmail,
  findUserById,
  insertUser,
} from '../../src/domain/accounts/user-repository.js'
import { ConflictError } from '../../src/domain/errors.js'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import { DEFAULT_PASSWORD } from '../helpers/factories.js'
import { testDialects } from '../helpers/test-db.js'

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

describe.each(testDialects)('repositories (%s)', (dialect) => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp(dialect)
  })
  afterAll(async () => {
    await t.close()
  })

  const db = () => t.runtime.database.db

  async function newAccount(createdAt = new Date()): Promise<Account> {
    const account = { id: generateId(), name: `Account ${generateId()}`, createdAt }
    await insertAccount(db(), account)
    return account
  }

  async function newUser(createdAt = new Date()): Promise<string> {
    const id = generateId()
    await insertUser(db(), t.runtime.keyRing, {
      id,
      email: `${id}@example.com`,
      name: `User ${id}`,
      passwordHash: null,
      createdAt,
    })
    return id
  }

  async function countMemberships(column: 'account_id' | 'user_id', value: string) {
    const rows = await db()
      .selectFrom('memberships')
      .select('role')
      .where(column, '=', value)
      .execute()
    return rows.length
  }

  describe('timestamps', () => {
    it('come back as the same instant, as ISO 8601 UTC strings', async () => {
      const createdAt = new Date('2031-02-03T04:05:06.789Z')
      const account = await newAccount(createdAt)
      const row = await db()
        .selectFrom('accounts')
        .select(['created_at', 'updated_at'])
        .where('id', '=', account.id)
        .executeTakeFirstOrThrow()
      expect(row.created_at).toBe('2031-02-03T04:05:06.789Z')
      expect(row.updated_at).toBe('2031-02-03T04:05:06.789Z')
      expect((await findAccount(db(), account.id))?.createdAt.getTime()).toBe(createdAt.getTime())
    })

    it('keep null for a missing timestamp', async () => {
      const userId = await newUser(new Date('2030-01-01T00:00:00.000Z'))
      const row = await db()
        .selectFrom('users')
        .select(['password_changed_at', 'created_at'])
        .where('id', '=', userId)
        .executeTakeFirstOrThrow()
      expect(row.password_changed_at).toBeNull()
      expect(row.created_at).toMatch(ISO)
      expect(row.created_at).toBe('2030-01-01T00:00:00.000Z')
    })

    it('compare and sort as instants', async () => {
      const base = Date.UTC(2040, 0, 1)
      const early = await newAccount(new Date(base + 999))
      const late = await newAccount(new Date(base + 1000))
      const later = await newAccount(new Date(base + 10 * 60_000))
      const rows = await db()
        .selectFrom('accounts')
        .select('id')
        .where('created_at', '>', new Date(base + 999).toISOString())
        .where('created_at', '<=', new Date(base + 10 * 60_000).toISOString())
        .orderBy('created_at', 'desc')
        .execute()
      expect(rows.map((r) => r.id)).toEqual([later.id, late.id])
      expect(rows.map((r) => r.id)).not.toContain(early.id)
    })

    it('round-trip through an update', async () => {
      const account = await newAccount()
      const updatedAt = new Date('2035-06-07T08:09:10.011Z')
      await db()
        .updateTable('accounts')
        .set({ updated_at: updatedAt })
        .where('id', '=', account.id)
        .execute()
      const row = await db()
        .selectFrom('accounts')
        .select('updated_at')
        .where('id', '=', account.id)
        .executeTakeFirstOrThrow()
      expect(row.updated_at).toBe('2035-06-07T08:09:10.011Z')
    })
  })

  describe('booleans', () => {
    it('read back as true and false, and filter on both values', async () => {
      const account = await newAccount()
      const inviter = await newUser()
      const viewer = await newUser()
      const now = new Date()
      const accountId = account.id
      await insertMembership(db(), {
        accountId,
        userId: inviter,
        role: 'admin',
        canInvite: true,
        createdAt: now,
      })
      await insertMembership(db(), {
        accountId,
        userId: viewer,
        role: 'viewer',
        canInvite: false,
        createdAt: now,
      })

      expect((await findMembership(db(), account.id, inviter))?.canInvite).toBe(true)
      expect((await findMembership(db(), account.id, viewer))?.canInvite).toBe(false)

      const raw = await db()
        .selectFrom('memberships')
        .select(['user_id', 'can_invite'])
        .where('account_id', '=', account.id)
        .execute()
      const byUser = new Map(raw.map((r) => [r.user_id, r.can_invite]))
      expect(Boolean(byUser.get(inviter))).toBe(true)
      expect(Boolean(byUser.get(viewer))).toBe(false)

      const canInvite = await db()
        .selectFrom('memberships')
        .select('user_id')
        .where('account_id', '=', account.id)
        .where('can_invite', '=', true)
        .execute()
      expect(canInvite.map((r) => r.user_id)).toEqual([inviter])
      const cannot = await db()
        .selectFrom('memberships')
        .select('user_id')
        .where('account_id', '=', account.id)
        .where('can_invite', '=', false)
        .execute()
      expect(cannot.map((r) => r.user_id)).toEqual([viewer])
    })
  })

  describe('memberships', () => {
    it('allow one owner per account', async () => {
      const account = await newAccount()
      const first = await newUser()
      const second = await newUser()
      const now = new Date()
      await insertMembership(db(), {
        accountId: account.id,
        userId: first,
        role: 'owner',
        canInvite: true,
        createdAt: now,
      })
      await expect(
        insertMembership(db(), {
          accountId: account.id,
          userId: second,
          role: 'owner',
          canInvite: true,
          createdAt: now,
        }),
      ).rejects.toThrow()
      // Other roles are not limited, and one person may own several accounts.
      await insertMembership(db(), {
        accountId: account.id,
        userId: second,
        role: 'admin',
        canInvite: true,
        createdAt: now,
      })
      const other = await newAccount()
      await insertMembership(db(), {
        accountId: other.id,
        userId: first,
        role: 'owner',
        canInvite: true,
        createdAt: now,
      })
      const owners = await db()
        .selectFrom('memberships')
        .select('user_id')
        .where('account_id', '=', account.id)
        .where('role', '=', 'owner')
        .execute()
      expect(owners).toEqual([{ user_id: first }])
      expect((await listMembershipsOfUser(db(), first)).map((m) => m.role)).toEqual([
        'owner',
        'owner',
      ])
    })

    it('refuse an unknown role and a membership of a missing account', async () => {
      const userId = await newUser()
      const account = await newAccount()
      await expect(
        insertMembership(db(), {
          accountId: account.id,
          userId,
          role: 'superuser' as 'admin',
          canInvite: false,
          createdAt: new Date(),
        }),
      ).rejects.toThrow()
      await expect(
        insertMembership(db(), {
          accountId: 'nosuchaccount',
          userId,
          role: 'viewer',
          canInvite: false,
          createdAt: new Date(),
        }),
      ).rejects.toThrow()
      expect(await countMemberships('user_id', userId)).toBe(0)
    })

    it('go away with their account, and the people stay', async () => {
      const account = await newAccount()
      const owner = await newUser()
      const viewer = await newUser()
      const now = new Date()
      await insertMembership(db(), {
        accountId: account.id,
        userId: owner,
        role: 'owner',
        canInvite: true,
        createdAt: now,
      })
      await insertMembership(db(), {
        accountId: account.id,
        userId: viewer,
        role: 'viewer',
        canInvite: false,
        createdAt: now,
      })
      expect(await countMemberships('account_id', account.id)).toBe(2)

      await db().deleteFrom('accounts').where('id', '=', account.id).execute()

      expect(await countMemberships('account_id', account.id)).toBe(0)
      expect(await findUserById(db(), t.runtime.keyRing, owner)).toBeDefined()
      expect(await findUserById(db(), t.runtime.keyRing, viewer)).toBeDefined()
    })

    it('and sessions go away with their user', async () => {
      const account = await newAccount()
      const userId = await newUser()
      await insertMembership(db(), {
        accountId: account.id,
        userId,
        role: 'owner',
        canInvite: true,
        createdAt: new Date(),
      })
      await t.runtime.services.sessions.create(userId, { ip: '192.0.2.1', userAgent: 'vitest' })
      await db().deleteFrom('users').where('id', '=', userId).execute()
      expect(await countMemberships('user_id', userId)).toBe(0)
      const sessions = await db()
        .selectFrom('sessions')
        .select('id_hash')
        .where('user_id', '=', userId)
        .execute()
      expect(sessions).toEqual([])
      expect(await findAccount(db(), account.id)).toBeDefined()
    })
  })

  describe('one login per email', () => {
    it('refuses the same email again, whatever its case and surrounding spaces', async () => {
      const email = `Grace.${generateId()}@Example.com`
      const first = await t.runtime.services.auth.createOwnerAccount({
        accountName: 'First',
        name: 'Grace',
        email,
        password: DEFAULT_PASSWORD,
      })
      expect(first.user.email).toBe(email.toLowerCase())
      const usersBefore = await countUsers(db())
      const accountsBefore = await db().selectFrom('accounts').select('id').execute()

      for (const variant of [email, email.toUpperCase(), `  ${email.toLowerCase()}\t`]) {
        const attempt = t.runtime.services.auth.createOwnerAccount({
          accountName: 'Second',
          name: 'Grace again',
          email: variant,
          password: DEFAULT_PASSWORD,
        })
        await expect(attempt).rejects.toBeInstanceOf(ConflictError)
        await expect(attempt).rejects.toMatchObject({ code: 'email_taken' })
      }
      expect(await countUsers(db())).toBe(usersBefore)
      // The account of a refused owner is not left behind.
      expect(await db().selectFrom('accounts').select('id').execute()).toHaveLength(
        accountsBefore.length,
      )
    })

    it('creates exactly one login when the same email signs up twice at once', async () => {
      const email = `race.${generateId()}@example.com`
      const usersBefore = await countUsers(db())
      const accountsBefore = (await db().selectFrom('accounts').select('id').execute()).length
      const results = await Promise.allSettled(
        [email, email.toUpperCase(), ` ${email} `].map((variant, i) =>
          t.runtime.services.auth.createOwnerAccount({
            accountName: `Race ${String(i)}`,
            name: 'Racer',
            email: variant,
            password: DEFAULT_PASSWORD,
          }),
        ),
      )
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
      for (const result of results) {
        if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(ConflictError)
      }
      expect(await countUsers(db())).toBe(usersBefore + 1)
      expect((await db().selectFrom('accounts').select('id').execute()).length).toBe(
        accountsBefore + 1,
      )
      expect((await findUserByEmail(db(), t.runtime.keyRing, email))?.name).toBe('Racer')
    })

    it('lets the unique index refuse a duplicate that the lookup missed', async () => {
      // What a concurrent sign-up sees: its lookup ran before the other one's insert.
      const email = `missed.${generateId()}@example.com`
      const passwordHash = await hashPassword(DEFAULT_PASSWORD)
      await t.runtime.services.auth.createOwnerAccount({
        accountName: 'Existing',
        name: 'Existing',
        email,
        password: DEFAULT_PASSWORD,
      })
      const accountsBefore = (await db().selectFrom('accounts').select('id').execute()).length
      const blind = db().withPlugin(new EmptyFirstSelect())
      const attempt = blind
        .transaction()
        .execute((trx) =>
          createAccountWithOwner(
            trx,
            t.runtime.keyRing,
            { accountName: 'Duplicate', name: 'Duplicate', email, passwordHash },
            new Date(),
          ),
        )
      await expect(attempt).rejects.toBeInstanceOf(ConflictError)
      await expect(attempt).rejects.toMatchObject({ code: 'email_taken' })
      expect((await db().selectFrom('accounts').select('id').execute()).length).toBe(accountsBefore)
    })
  })
})

/** Answers the first SELECT with no rows, as if it had run before another transaction's insert. */
class EmptyFirstSelect implements KyselyPlugin {
  #first: string | undefined

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    if (args.node.kind === 'SelectQueryNode') this.#first ??= args.queryId.queryId
    return args.node
  }

  transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return Promise.resolve(
      args.queryId.queryId === this.#first ? { ...args.result, rows: [] } : args.result,
    )
  }
}

/**
 * Holds the first SELECT of each transaction until `parties` transactions have run theirs, so
 * every one of them checks for the email before any inserts it: the race, every time.
 */
class CheckThenInsertBarrier implements KyselyPlugin {
  readonly #waiting = new Set<string>()
  #arrived = 0
  #release!: () => void
  readonly #released = new Promise<void>((resolve) => {
    this.#release = resolve
  })

  constructor(private readonly parties: number) {}

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    if (args.node.kind === 'SelectQueryNode') this.#waiting.add(args.queryId.queryId)
    return args.node
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    if (this.#waiting.delete(args.queryId.queryId)) {
      this.#arrived++
      if (this.#arrived >= this.parties) this.#release()
      await this.#released
    }
    return args.result
  }
}

// Transactions on the embedded database run one at a time, so this race exists on PostgreSQL only.
describe.each(testDialects.filter((dialect) => dialect === 'postgres'))(
  'concurrent owner creation (%s)',
  (dialect) => {
    let t: TestApp
    beforeAll(async () => {
      t = await buildTestApp(dialect)
    })
    afterAll(async () => {
      await t.close()
    })

    it('refuses the loser with a ConflictError, not a database error', async () => {
      const email = `race.${generateId()}@example.com`
      const passwordHash = await hashPassword(DEFAULT_PASSWORD)
      const barrier = t.runtime.database.db.withPlugin(new CheckThenInsertBarrier(2))
      const results = await Promise.allSettled(
        ['One', 'Two'].map((accountName) =>
          barrier
            .transaction()
            .execute((trx) =>
              createAccountWithOwner(
                trx,
                t.runtime.keyRing,
                { accountName, name: 'Racer', email, passwordHash },
                new Date(),
              ),
            ),
        ),
      )
      expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected'])
      const rejected = results.find((r) => r.status === 'rejected')
      expect(rejected?.reason).toBeInstanceOf(ConflictError)
      expect(rejected?.reason).toMatchObject({ code: 'email_taken' })
      const accounts = await t.runtime.database.db
        .selectFrom('accounts')
        .select('name')
        .where('name', 'in', ['One', 'Two'])
        .execute()
      expect(accounts).toHaveLength(1)
    })
  },
)
