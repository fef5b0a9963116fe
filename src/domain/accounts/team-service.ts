import type { Kysely } from 'kysely'
import { AUTH_FLOW_CONTEXT, startAuthFlow } from '../../auth/auth-flows.js'
import type { KeyRing } from '../../crypto/key-ring.js'
import { generateId, generateToken, hashToken } from '../../crypto/tokens.js'
import type { DatabaseSchema, Role } from '../../db/schema.js'
import { invitationEmail, ownershipTransferEmail } from '../../notify/email-templates.js'
import type { Actor, RequestOrigin } from '../actor.js'
import { auditOrigin, type AuditLog } from '../audit/audit-log.js'
import type { Clock } from '../clock.js'
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  RateLimitedError,
  ValidationError,
} from '../errors.js'
import type { SendMail } from '../mail.js'
import { hasRoleAtLeast } from '../roles.js'
import { InputChecker, isChecked } from '../validation.js'
import { findAccount } from './account-repository.js'
import { authorize, reachablePageIds } from './authorization.js'
import { meetsRequirement } from '../policy.js'
import { findMembership, insertMembership, type Membership } from './membership-repository.js'
import { requireRecentAuthentication } from './reauthentication.js'
import {
  emailIndex,
  findUserByEmail,
  findUserById,
  findUsersByIds,
  insertUser,
  normalizeEmail,
} from './user-repository.js'
import { PERSON_NAME_MAX } from './account-service.js'

type Db = Kysely<DatabaseSchema>
export type MemberRole = Exclude<Role, 'owner'>

export interface TeamMember {
  userId: string
  name: string
  email: string
  role: Role
  canInvite: boolean
  /** Null: every page of the account. */
  pageIds: readonly string[] | null
  twoFactor: boolean
  joinedAt: Date
}

export interface PendingInvitation {
  id: string
  email: string
  role: MemberRole
  canInvite: boolean
  pageIds: readonly string[] | null
  invitedBy: string | null
  createdAt: Date
  expiresAt: Date
}

export interface OwnershipTransfer {
  fromUserId: string
  toUserId: string
  requestedAt: Date
  expiresAt: Date
}

export interface Team {
  me: Membership
  members: TeamMember[]
  /** Shown to those who may invite and remove people; empty for the others. */
  invitations: PendingInvitation[]
  pendingTransfer: OwnershipTransfer | null
}

/** What the invitation page shows to whoever holds the link. */
export interface InvitationPreview {
  accountName: string
  email: string
  role: MemberRole
  inviterName: string | null
  expiresAt: Date
  /** The address already has a Candor login: its owner signs in and accepts. */
  hasLogin: boolean
}

export interface TeamServiceDeps {
  db: Db
  keyRing: KeyRing
  clock: Clock
  audit: AuditLog
  sendMail: SendMail
  defer: (name: string, task: () => Promise<void>) => void
  baseUrl: URL
  invitationTtlMs: number
  /** Checks and hashes a new person's password (the password policy lives in auth). */
  hashNewPassword: (password: unknown, email: string, checker: InputChecker) => Promise<string>
}

const MEMBER_ROLES: readonly MemberRole[] = ['admin', 'editor', 'viewer']
const EMAIL_CONTEXT = 'invitations.email'
const TRANSFER_KIND = 'ownership_transfer'
const TRANSFER_TTL_MS = 7 * 24 * 60 * 60_000
const INVITATIONS_PER_HOUR = 50
const INVALID_INVITATION =
  'This invitation has expired, was revoked or was already used. Ask for a new one.'

/** Only the owner and members nominated with "can invite" may invite or remove people. */
export function canManagePeople(membership: Membership): boolean {
  return meetsRequirement(membership, 'team.invite')
}

export type TeamService = ReturnType<typeof createTeamService>

/**
 * The people of an account: invitations (single-use, expiring, hashed tokens), roles, the
 * "can invite" nomination, members limited to some pages, removal and ownership transfer.
 */
export function createTeamService(deps: TeamServiceDeps) {
  const { db, keyRing, clock, audit } = deps

  async function team(actor: Actor, accountId: string): Promise<Team> {
    const me = await authorize(db, actor, accountId, 'team.read')
    const rows = await db
      .selectFrom('memberships')
      .innerJoin('users', 'users.id', 'memberships.user_id')
      .select([
        'memberships.user_id',
        'memberships.role',
        'memberships.can_invite',
        'memberships.created_at',
        'users.totp_enabled_at',
      ])
      .where('memberships.account_id', '=', accountId)
      .orderBy('memberships.created_at')
      .orderBy('memberships.user_id')
      .execute()
    const users = await findUsersByIds(
      db,
      keyRing,
      rows.map((row) => row.user_id),
    )
    const limits = await db
      .selectFrom('membership_pages')
      .select(['user_id', 'page_id'])
      .where('account_id', '=', accountId)
      .orderBy('page_id')
      .execute()
    const passkeys = new Set(
      (
        await db
          .selectFrom('webauthn_credentials')
          .select('user_id')
          .where('user_id', 'in', rows.length === 0 ? [''] : rows.map((row) => row.user_id))
          .execute()
      ).map((row) => row.user_id),
    )
    const members = rows.flatMap((row): TeamMember[] => {
      const user = users.get(row.user_id)
      if (user === undefined) return []
      const pageIds = limits.filter((l) => l.user_id === row.user_id).map((l) => l.page_id)
      return [
        {
          userId: row.user_id,
          name: user.name,
          email: user.email,
          role: row.role,
          canInvite: Boolean(row.can_invite),
          pageIds: pageIds.length === 0 ? null : pageIds,
          twoFactor: row.totp_enabled_at !== null || passkeys.has(row.user_id),
          joinedAt: new Date(row.created_at),
        },
      ]
    })
    return {
      me,
      members,
      invitations: canManagePeople(me) ? await pendingInvitations(accountId) : [],
      pendingTransfer: await findTransfer(accountId),
    }
  }

  async function pendingInvitations(accountId: string): Promise<PendingInvitation[]> {
    const now = clock.now()
    const rows = await db
      .selectFrom('invitations')
      .selectAll()
      .where('account_id', '=', accountId)
      .where('accepted_at', 'is', null)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now.toISOString())
      .orderBy('created_at', 'desc')
      .execute()
    return rows.map((row) => ({
      id: row.id,
      email: keyRing.decrypt(row.email_ciphertext, EMAIL_CONTEXT),
      role: row.role,
      canInvite: Boolean(row.can_invite),
      pageIds: parsePageIds(row.page_ids),
      invitedBy: row.invited_by,
      createdAt: new Date(row.created_at),
      expiresAt: new Date(row.expires_at),
    }))
  }

  async function requireManager(actor: Actor, accountId: string): Promise<Membership> {
    return authorize(db, actor, accountId, 'team.invite')
  }

  /** The pages asked for exist in the account, and stay within the limits of whoever grants them. */
  async function checkPageIds(
    accountId: string,
    value: unknown,
    role: MemberRole | undefined,
    granter: Membership,
    checker: InputChecker,
    actor: Actor,
  ): Promise<string[] | null> {
    // What the granter may hand out: the pages they (and their API key, if any) can reach.
    const limit = reachablePageIds(granter, actor)
    const items = Array.isArray(value) ? value : typeof value === 'string' ? [value] : []
    const wanted = [
      ...new Set(items.filter((item): item is string => typeof item === 'string' && item !== '')),
    ]
    if (wanted.length === 0) {
      if (limit !== null)
        checker.add('pageIds', 'Choose the pages: you can only grant pages you have access to.')
      return null
    }
    if (role === 'admin') {
      checker.add('pageIds', 'Admins manage the whole account; limit editors and viewers only.')
      return null
    }
    const pages = await db
      .selectFrom('pages')
      .select('id')
      .where('account_id', '=', accountId)
      .where('id', 'in', wanted.slice(0, 500))
      .execute()
    if (pages.length !== wanted.length) checker.add('pageIds', 'Some of these pages do not exist.')
    if (limit !== null && wanted.some((id) => !limit.includes(id)))
      checker.add('pageIds', 'You can only grant pages you have access to.')
    return wanted.sort()
  }

  function checkRole(value: unknown, granter: Membership, checker: InputChecker) {
    const role = MEMBER_ROLES.find((candidate) => candidate === value)
    if (role === undefined) checker.add('role', 'The role is admin, editor or viewer.')
    else if (!hasRoleAtLeast(granter.role, role))
      checker.add('role', `You can grant at most your own role (${granter.role}).`)
    return role
  }

  async function invite(
    actor: Actor,
    accountId: string,
    input: { email: unknown; role: unknown; canInvite: unknown; pageIds: unknown },
  ): Promise<PendingInvitation> {
    const me = await requireManager(actor, accountId)
    const checker = new InputChecker()
    const email = normalizeEmail(checker.email('email', input.email))
    const role = checkRole(input.role, me, checker)
    const pageIds = await checkPageIds(accountId, input.pageIds, role, me, checker, actor)
    checker.assertValid()
    if (role === undefined) throw new ValidationError({ role: 'The role is required.' })
    const canInvite = isChecked(input.canInvite)
    // Only the owner nominates: a nominated member cannot mint more nominated members.
    if (canInvite && me.role !== 'owner')
      throw new ValidationError(
        { canInvite: 'Only the owner decides who may invite and remove people.' },
        'Only the owner decides who may invite and remove people.',
      )
    const now = clock.now()
    const existing = await findUserByEmail(db, keyRing, email)
    if (existing !== undefined && (await findMembership(db, accountId, existing.id)) !== undefined)
      throw new ValidationError(
        { email: 'This person is already a member of the team.' },
        'This person is already a member of the team.',
        'already_member',
      )
    const recent = await db
      .selectFrom('invitations')
      .select((eb) => eb.fn.countAll<number | string>().as('count'))
      .where('account_id', '=', accountId)
      .where('created_at', '>', new Date(now.getTime() - 60 * 60_000).toISOString())
      .executeTakeFirstOrThrow()
    if (Number(recent.count) >= INVITATIONS_PER_HOUR) throw new RateLimitedError(15 * 60)

    const token = generateToken()
    const invitation: PendingInvitation = {
      id: generateId(),
      email,
      role,
      canInvite,
      pageIds,
      invitedBy: actor.userId,
      createdAt: now,
      expiresAt: new Date(now.getTime() + deps.invitationTtlMs),
    }
    const index = emailIndex(keyRing, email)
    await db.transaction().execute(async (trx) => {
      // Inviting the same address again replaces the earlier link.
      await trx
        .updateTable('invitations')
        .set({ revoked_at: now })
        .where('account_id', '=', accountId)
        .where('email_index', '=', index)
        .where('accepted_at', 'is', null)
        .where('revoked_at', 'is', null)
        .execute()
      await trx
        .insertInto('invitations')
        .values({
          id: invitation.id,
          account_id: accountId,
          email_ciphertext: keyRing.encrypt(email, EMAIL_CONTEXT),
          email_index: index,
          role,
          can_invite: canInvite,
          page_ids: pageIds === null ? null : JSON.stringify(pageIds),
          token_hash: hashToken(token),
          invited_by: actor.userId,
          created_at: now,
          expires_at: invitation.expiresAt,
        })
        .execute()
      await audit.record(trx, {
        accountId,
        ...auditOrigin(actor),
        action: 'member.invited',
        target: { type: 'invitation', id: invitation.id },
        details: { emailIndex: index, role, canInvite, pageIds },
      })
    })
    const account = await findAccount(db, accountId)
    const inviter = await findUserById(db, keyRing, actor.userId)
    const link = new URL('/invitations/accept', deps.baseUrl)
    link.searchParams.set('token', token)
    deps.defer('invitation-email', () =>
      deps.sendMail({
        to: email,
        ...invitationEmail({
          accountName: account?.name ?? 'a Candor account',
          inviterName: inviter?.name ?? 'Someone',
          role,
          link: link.toString(),
          expiresAt: invitation.expiresAt,
        }),
        // Never in the owner's mailbox: whoever reads the link can create a login for the address.
        accountId: null,
      }),
    )
    return invitation
  }

  async function revokeInvitation(
    actor: Actor,
    accountId: string,
    invitationId: string,
  ): Promise<void> {
    await requireManager(actor, accountId)
    await db.transaction().execute(async (trx) => {
      const result = await trx
        .updateTable('invitations')
        .set({ revoked_at: clock.now() })
        .where('id', '=', invitationId)
        .where('account_id', '=', accountId)
        .where('accepted_at', 'is', null)
        .where('revoked_at', 'is', null)
        .executeTakeFirst()
      if (Number(result.numUpdatedRows) !== 1) throw new NotFoundError('The invitation')
      await audit.record(trx, {
        accountId,
        ...auditOrigin(actor),
        action: 'member.invitation_revoked',
        target: { type: 'invitation', id: invitationId },
      })
    })
  }

  async function findLiveInvitation(db: Db, token: string) {
    if (token.length === 0 || token.length > 128) return undefined
    return db
      .selectFrom('invitations')
      .selectAll()
      .where('token_hash', '=', hashToken(token))
      .where('accepted_at', 'is', null)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', clock.now().toISOString())
      .executeTakeFirst()
  }

  async function previewInvitation(token: string): Promise<InvitationPreview | undefined> {
    const row = await findLiveInvitation(db, token)
    if (row === undefined) return undefined
    const account = await findAccount(db, row.account_id)
    if (account === undefined) return undefined
    const inviter =
      row.invited_by === null ? undefined : await findUserById(db, keyRing, row.invited_by)
    const email = keyRing.decrypt(row.email_ciphertext, EMAIL_CONTEXT)
    return {
      accountName: account.name,
      email,
      role: row.role,
      inviterName: inviter?.name ?? null,
      expiresAt: new Date(row.expires_at),
      hasLogin: (await findUserByEmail(db, keyRing, email)) !== undefined,
    }
  }

  /**
   * Accepting uses the invitation up atomically. Whoever holds the link proved they read the
   * invited address, so a new person gets a login for it; an address that already has a login
   * must be signed in as that login (a link must not attach someone else's login to a team).
   */
  async function acceptInvitation(
    token: string,
    input: { actor?: Actor | undefined; name?: unknown; password?: unknown },
    origin: RequestOrigin,
  ): Promise<{ accountId: string; userId: string; createdLogin: boolean }> {
    const row = await findLiveInvitation(db, token)
    if (row === undefined)
      throw new ValidationError({ token: INVALID_INVITATION }, INVALID_INVITATION, 'invalid_token')
    const email = keyRing.decrypt(row.email_ciphertext, EMAIL_CONTEXT)
    const existing = await findUserByEmail(db, keyRing, email)
    let passwordHash: string | undefined
    let name = ''
    if (existing === undefined) {
      const checker = new InputChecker()
      name = checker.text('name', input.name, { label: 'Your name', max: PERSON_NAME_MAX })
      passwordHash = await deps.hashNewPassword(input.password, email, checker)
      checker.assertValid()
    } else if (input.actor?.userId !== existing.id) {
      throw new ForbiddenError(
        `This invitation is for ${email}, which already has a Candor login. Sign in as ${email} to accept it.`,
        'sign_in_to_accept',
      )
    }
    const now = clock.now()
    return db.transaction().execute(async (trx) => {
      const used = await trx
        .updateTable('invitations')
        .set({ accepted_at: now })
        .where('id', '=', row.id)
        .where('accepted_at', 'is', null)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now.toISOString())
        .executeTakeFirst()
      if (Number(used.numUpdatedRows) !== 1)
        throw new ValidationError(
          { token: INVALID_INVITATION },
          INVALID_INVITATION,
          'invalid_token',
        )
      let userId = existing?.id
      if (userId === undefined) {
        if (passwordHash === undefined) throw new Error('a new login needs a password')
        userId = generateId()
        await insertUser(trx, keyRing, { id: userId, email, name, passwordHash, createdAt: now })
      }
      if ((await findMembership(trx, row.account_id, userId)) !== undefined)
        throw new ConflictError('already_member', 'You are already a member of this team.')
      await insertMembership(trx, {
        accountId: row.account_id,
        userId,
        role: row.role,
        canInvite: Boolean(row.can_invite),
        createdAt: now,
      })
      const pageIds = await existingPages(trx, row.account_id, parsePageIds(row.page_ids))
      for (const pageId of pageIds ?? [])
        await trx
          .insertInto('membership_pages')
          .values({ account_id: row.account_id, user_id: userId, page_id: pageId })
          .execute()
      await trx
        .updateTable('invitations')
        .set({ accepted_by: userId })
        .where('id', '=', row.id)
        .execute()
      await audit.record(trx, {
        accountId: row.account_id,
        actor: { type: 'user', userId },
        action: 'member.joined',
        target: { type: 'user', id: userId },
        ip: origin.ip,
        userAgent: origin.userAgent,
        details: { invitationId: row.id, role: row.role, newLogin: existing === undefined },
      })
      return { accountId: row.account_id, userId, createdLogin: existing === undefined }
    })
  }

  /** Pages deleted since the invitation was sent are dropped; if none is left, none is granted. */
  async function existingPages(
    trx: Db,
    accountId: string,
    pageIds: string[] | null,
  ): Promise<string[] | null> {
    if (pageIds === null) return null
    const rows = await trx
      .selectFrom('pages')
      .select('id')
      .where('account_id', '=', accountId)
      .where('id', 'in', pageIds.length === 0 ? [''] : pageIds)
      .execute()
    if (rows.length === 0)
      throw new ConflictError(
        'pages_gone',
        'The pages this invitation gave access to were deleted. Ask for a new invitation.',
      )
    return rows.map((r) => r.id)
  }

  /**
   * Admins and the owner change members' roles and page limits; only the owner nominates who may
   * invite. Nobody changes their own role here, and the owner's role changes only by transfer.
   */
  async function updateMember(
    actor: Actor,
    accountId: string,
    userId: string,
    /** canInvite left out keeps the member's nomination as it is. */
    input: { role: unknown; canInvite?: unknown; pageIds: unknown },
  ): Promise<void> {
    const me = await authorize(db, actor, accountId, 'team.update-member')
    const target = await findMembership(db, accountId, userId)
    if (target === undefined) throw new NotFoundError('The member')
    if (target.role === 'owner')
      throw new ForbiddenError(
        "The owner's role changes only by transferring ownership.",
        'owner_role',
      )
    if (userId === actor.userId)
      throw new ForbiddenError('You cannot change your own role.', 'own_role')
    const checker = new InputChecker()
    const role = checkRole(input.role, me, checker)
    const pageIds = await checkPageIds(accountId, input.pageIds, role, me, checker, actor)
    checker.assertValid()
    if (role === undefined) throw new ValidationError({ role: 'The role is required.' })
    const canInvite = input.canInvite === undefined ? target.canInvite : isChecked(input.canInvite)
    if (canInvite !== target.canInvite && me.role !== 'owner')
      throw new ForbiddenError(
        'Only the owner decides who may invite and remove people.',
        'owner_only',
      )
    await db.transaction().execute(async (trx) => {
      await trx
        .updateTable('memberships')
        .set({ role, can_invite: canInvite })
        .where('account_id', '=', accountId)
        .where('user_id', '=', userId)
        .execute()
      await trx
        .deleteFrom('membership_pages')
        .where('account_id', '=', accountId)
        .where('user_id', '=', userId)
        .execute()
      for (const pageId of pageIds ?? [])
        await trx
          .insertInto('membership_pages')
          .values({ account_id: accountId, user_id: userId, page_id: pageId })
          .execute()
      await audit.record(trx, {
        accountId,
        ...auditOrigin(actor),
        action: 'member.updated',
        target: { type: 'user', id: userId },
        details: {
          from: { role: target.role, canInvite: target.canInvite, pageIds: target.pageIds },
          to: { role, canInvite, pageIds },
        },
      })
    })
  }

  /**
   * The owner and nominated members remove people (never the owner, never someone above
   * themselves); anyone but the owner may leave. Their sessions signed in by this account's IdP
   * end, and a transfer of ownership to them is called off.
   */
  async function removeMember(actor: Actor, accountId: string, userId: string): Promise<void> {
    const me = await authorize(db, actor, accountId, 'team.leave')
    const leaving = userId === actor.userId
    const target = leaving ? me : await findMembership(db, accountId, userId)
    if (target === undefined) throw new NotFoundError('The member')
    if (target.role === 'owner')
      throw new ForbiddenError(
        leaving
          ? 'The owner cannot leave: transfer the ownership first, or delete the account.'
          : 'The owner cannot be removed.',
        'owner_role',
      )
    if (!leaving) {
      if (!meetsRequirement(me, 'team.remove'))
        throw new ForbiddenError(
          'Only the owner and members allowed to invite people can remove people.',
          'cannot_invite',
        )
      if (!hasRoleAtLeast(me.role, target.role))
        throw new ForbiddenError(
          `You cannot remove someone with a higher role than yours (${target.role}).`,
        )
    }
    await db.transaction().execute(async (trx) => {
      // Never the owner, even one who became owner since the check above.
      const removed = await trx
        .deleteFrom('memberships')
        .where('account_id', '=', accountId)
        .where('user_id', '=', userId)
        .where('role', '!=', 'owner')
        .executeTakeFirst()
      if (Number(removed.numDeletedRows) !== 1) throw new NotFoundError('The member')
      await trx
        .deleteFrom('sessions')
        .where('user_id', '=', userId)
        .where('sso_account_id', '=', accountId)
        .execute()
      await trx
        .deleteFrom('auth_flows')
        .where('kind', '=', TRANSFER_KIND)
        .where('account_id', '=', accountId)
        .where('user_id', '=', userId)
        .execute()
      await audit.record(trx, {
        accountId,
        ...auditOrigin(actor),
        action: leaving ? 'member.left' : 'member.removed',
        target: { type: 'user', id: userId },
        details: { role: target.role },
      })
    })
  }

  async function findTransfer(accountId: string): Promise<OwnershipTransfer | null> {
    const row = await db
      .selectFrom('auth_flows')
      .select(['user_id', 'created_at', 'expires_at', 'payload_ciphertext'])
      .where('kind', '=', TRANSFER_KIND)
      .where('account_id', '=', accountId)
      .where('consumed_at', 'is', null)
      .where('expires_at', '>', clock.now().toISOString())
      .orderBy('created_at', 'desc')
      .executeTakeFirst()
    if (row?.user_id == null || row.payload_ciphertext === null) return null
    const payload = JSON.parse(keyRing.decrypt(row.payload_ciphertext, AUTH_FLOW_CONTEXT)) as {
      fromUserId: string
    }
    return {
      fromUserId: payload.fromUserId,
      toUserId: row.user_id,
      requestedAt: new Date(row.created_at),
      expiresAt: new Date(row.expires_at),
    }
  }

  /**
   * The owner names an existing member as the next owner; nothing changes until that member
   * confirms. Asking again replaces an earlier request.
   */
  async function requestOwnershipTransfer(
    actor: Actor,
    accountId: string,
    input: { userId: unknown },
  ): Promise<void> {
    await authorize(db, actor, accountId, 'team.transfer')
    requireRecentAuthentication(actor, clock)
    const toUserId = typeof input.userId === 'string' ? input.userId : ''
    const target = toUserId === '' ? undefined : await findMembership(db, accountId, toUserId)
    if (target === undefined || toUserId === actor.userId)
      throw new ValidationError(
        { userId: 'Choose another member of the team.' },
        'The new owner must be another member of the team.',
      )
    const now = clock.now()
    await db.transaction().execute(async (trx) => {
      await cancelPendingTransfers(trx, accountId, now)
      await startAuthFlow(trx, keyRing, {
        kind: TRANSFER_KIND,
        userId: toUserId,
        accountId,
        payload: { fromUserId: actor.userId },
        now,
        ttlMs: TRANSFER_TTL_MS,
      })
      await audit.record(trx, {
        accountId,
        ...auditOrigin(actor),
        action: 'account.ownership_transfer_requested',
        target: { type: 'user', id: toUserId },
      })
    })
    const [account, owner, next] = await Promise.all([
      findAccount(db, accountId),
      findUserById(db, keyRing, actor.userId),
      findUserById(db, keyRing, toUserId),
    ])
    if (next !== undefined)
      deps.defer('ownership-transfer-email', () =>
        deps.sendMail({
          to: next.email,
          ...ownershipTransferEmail({
            accountName: account?.name ?? 'a Candor account',
            ownerName: owner?.name ?? 'The owner',
            link: new URL(`/a/${encodeURIComponent(accountId)}/team`, deps.baseUrl).toString(),
          }),
          accountId: null,
        }),
      )
  }

  async function cancelPendingTransfers(trx: Db, accountId: string, now: Date): Promise<number> {
    const result = await trx
      .updateTable('auth_flows')
      .set({ consumed_at: now })
      .where('kind', '=', TRANSFER_KIND)
      .where('account_id', '=', accountId)
      .where('consumed_at', 'is', null)
      .executeTakeFirst()
    return Number(result.numUpdatedRows)
  }

  /** The owner calls it off, or the named member declines. */
  async function cancelOwnershipTransfer(actor: Actor, accountId: string): Promise<void> {
    const me = await authorize(db, actor, accountId, 'team.transfer-answer')
    const pending = await findTransfer(accountId)
    if (pending === null) throw new NotFoundError('The ownership transfer')
    if (me.role !== 'owner' && pending.toUserId !== actor.userId)
      throw new ForbiddenError('Only the owner or the named member can call this off.')
    await db.transaction().execute(async (trx) => {
      await cancelPendingTransfers(trx, accountId, clock.now())
      await audit.record(trx, {
        accountId,
        ...auditOrigin(actor),
        action: 'account.ownership_transfer_cancelled',
        target: { type: 'user', id: pending.toUserId },
      })
    })
  }

  /**
   * The named member confirms, having proved who they are again. The previous owner becomes an
   * admin (who may still invite), the new owner gets every page; one statement order keeps the
   * "one owner per account" index satisfied throughout.
   */
  async function confirmOwnershipTransfer(actor: Actor, accountId: string): Promise<void> {
    await authorize(db, actor, accountId, 'team.transfer-answer')
    requireRecentAuthentication(actor, clock)
    const pending = await findTransfer(accountId)
    if (pending?.toUserId !== actor.userId) throw new NotFoundError('The ownership transfer')
    const now = clock.now()
    await db.transaction().execute(async (trx) => {
      const used = await trx
        .updateTable('auth_flows')
        .set({ consumed_at: now })
        .where('kind', '=', TRANSFER_KIND)
        .where('account_id', '=', accountId)
        .where('user_id', '=', actor.userId)
        .where('consumed_at', 'is', null)
        .where('expires_at', '>', now.toISOString())
        .executeTakeFirst()
      if (Number(used.numUpdatedRows) !== 1) throw new NotFoundError('The ownership transfer')
      const payload = { fromUserId: pending.fromUserId }
      const demoted = await trx
        .updateTable('memberships')
        .set({ role: 'admin', can_invite: true })
        .where('account_id', '=', accountId)
        .where('user_id', '=', payload.fromUserId)
        .where('role', '=', 'owner')
        .executeTakeFirst()
      if (Number(demoted.numUpdatedRows) !== 1)
        throw new ConflictError(
          'owner_changed',
          'The account has another owner now; ask them to start again.',
        )
      await trx
        .updateTable('memberships')
        .set({ role: 'owner', can_invite: true })
        .where('account_id', '=', accountId)
        .where('user_id', '=', actor.userId)
        .execute()
      await trx
        .deleteFrom('membership_pages')
        .where('account_id', '=', accountId)
        .where('user_id', '=', actor.userId)
        .execute()
      await audit.record(trx, {
        accountId,
        ...auditOrigin(actor),
        action: 'account.ownership_transferred',
        target: { type: 'account', id: accountId },
        details: { fromUserId: payload.fromUserId, toUserId: actor.userId },
      })
    })
  }

  /**
   * Deletes the account with its pages, subscribers and history; the audit log keeps its entries.
   * The owner only, freshly re-authenticated, typing the account's name.
   */
  async function deleteAccount(
    actor: Actor,
    accountId: string,
    input: { confirmName: unknown },
  ): Promise<void> {
    await authorize(db, actor, accountId, 'account.delete')
    requireRecentAuthentication(actor, clock)
    const account = await findAccount(db, accountId)
    if (account === undefined) throw new NotFoundError('The account')
    if (input.confirmName !== account.name)
      throw new ValidationError(
        { confirmName: 'Type the account name exactly to confirm.' },
        'Type the account name exactly to confirm.',
      )
    await db.transaction().execute(async (trx) => {
      await audit.record(trx, {
        accountId,
        ...auditOrigin(actor),
        action: 'account.deleted',
        target: { type: 'account', id: accountId },
        details: { name: account.name },
      })
      await trx.deleteFrom('sessions').where('sso_account_id', '=', accountId).execute()
      await trx.deleteFrom('accounts').where('id', '=', accountId).execute()
    })
  }

  return {
    team,
    invite,
    revokeInvitation,
    previewInvitation,
    acceptInvitation,
    updateMember,
    removeMember,
    requestOwnershipTransfer,
    cancelOwnershipTransfer,
    confirmOwnershipTransfer,
    deleteAccount,
  }
}

function parsePageIds(json: string | null): string[] | null {
  if (json === null) return null
  const value: unknown = JSON.parse(json)
  return Array.isArray(value)
    ? value.filter((item): item is string => typeof item === 'string')
    : null
}
