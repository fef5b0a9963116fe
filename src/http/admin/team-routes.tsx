import { Type } from '@sinclair/typebox'
import type { FastifyReply } from 'fastify'
import type { Actor } from '../../domain/actor.js'
import { DomainError, ForbiddenError, ValidationError } from '../../domain/errors.js'
import { meetsRequirement } from '../../domain/policy.js'
import type { App, ServerDeps } from '../app-type.js'
import {
  DeleteAccountPage,
  InvitationPage,
  TeamPage,
  type InviteFormValues,
} from '../views/team-views.js'
import { navFor, originOf, queryToken, requireActor, sendHtml, setSessionCookie } from './html.js'

const text = (maxLength: number) => Type.Optional(Type.String({ maxLength }))
const Id = Type.String({ minLength: 1, maxLength: 64 })
const csrf = { _csrf: text(256) }
const PageIds = Type.Optional(
  Type.Union([
    Type.String({ maxLength: 64 }),
    Type.Array(Type.String({ maxLength: 64 }), { maxItems: 500 }),
  ]),
)
const AccountParams = Type.Object({ accountId: Id })
const MemberParams = Type.Object({ accountId: Id, userId: Id })
const InvitationParams = Type.Object({ accountId: Id, invitationId: Id })
const InviteBody = Type.Object({
  ...csrf,
  email: text(320),
  role: text(16),
  canInvite: text(8),
  pageIds: PageIds,
})
const MemberBody = Type.Object({ ...csrf, role: text(16), canInvite: text(8), pageIds: PageIds })
const CsrfBody = Type.Object(csrf)
const TransferBody = Type.Object({ ...csrf, userId: text(64) })
const DeleteBody = Type.Object({ ...csrf, confirmName: text(200) })
const AcceptBody = Type.Object({ ...csrf, name: text(200), password: text(1024) })
const NoticeQuery = Type.Object({ done: text(32) })
const TokenQuery = Type.Object({ token: text(128) })

const NOTICES: Record<string, string> = {
  invited: 'Invitation sent.',
  revoked: 'Invitation revoked: its link no longer works.',
  updated: 'Member updated.',
  removed: 'Member removed.',
  transfer_requested: 'Transfer requested: the new owner must confirm it.',
  transfer_cancelled: 'The ownership transfer was called off.',
  transferred: 'You are now the owner of this account.',
  joined: 'Welcome to the team.',
}

function asList(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value]
}

/**
 * The team page (members, roles, page limits, invitations, ownership transfer), the public
 * invitation page, and account deletion.
 */
export function registerTeamRoutes(app: App, deps: ServerDeps): void {
  const { team, accounts, pages } = deps.services

  async function renderTeam(
    reply: FastifyReply,
    actor: Actor,
    accountId: string,
    extra: {
      values?: InviteFormValues
      errors?: Readonly<Record<string, string>>
      notice?: string | undefined
      error?: string | undefined
    } = {},
    status = 200,
  ): Promise<FastifyReply> {
    const current = await team.team(actor, accountId)
    const pageList = await pages.list(actor, accountId)
    return sendHtml(
      reply,
      <TeamPage
        nav={await navFor(deps, reply, actor, accountId)}
        accountId={accountId}
        userId={actor.userId}
        team={current}
        pages={pageList.map((page) => ({ id: page.id, name: page.name }))}
        {...extra}
      />,
      status,
    )
  }

  const teamPath = (accountId: string, done: string) =>
    `/a/${encodeURIComponent(accountId)}/team?done=${done}`

  app.get(
    '/a/:accountId/team',
    {
      config: { action: 'team.read' },
      schema: { params: AccountParams, querystring: NoticeQuery },
    },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const done = request.query.done
      return renderTeam(reply, actor, request.params.accountId, {
        notice: done === undefined ? undefined : NOTICES[done],
      })
    },
  )

  app.post(
    '/a/:accountId/team/invitations',
    { config: { action: 'team.invite' }, schema: { params: AccountParams, body: InviteBody } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { accountId } = request.params
      const body = request.body
      const pageIds = asList(body.pageIds)
      try {
        await team.invite(actor, accountId, {
          email: body.email,
          role: body.role,
          canInvite: body.canInvite,
          pageIds,
        })
      } catch (error) {
        if (error instanceof ValidationError)
          return renderTeam(
            reply,
            actor,
            accountId,
            {
              values: {
                email: body.email ?? '',
                role: body.role ?? 'viewer',
                canInvite: body.canInvite !== undefined,
                pageIds,
              },
              errors: error.fields,
            },
            422,
          )
        throw error
      }
      return reply.redirect(teamPath(accountId, 'invited'), 303)
    },
  )

  app.post(
    '/a/:accountId/team/invitations/:invitationId/revoke',
    { config: { action: 'team.invite' }, schema: { params: InvitationParams, body: CsrfBody } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { accountId, invitationId } = request.params
      await team.revokeInvitation(actor, accountId, invitationId)
      return reply.redirect(teamPath(accountId, 'revoked'), 303)
    },
  )

  app.post(
    '/a/:accountId/team/members/:userId',
    {
      config: { action: 'team.update-member' },
      schema: { params: MemberParams, body: MemberBody },
    },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { accountId, userId } = request.params
      try {
        await team.updateMember(actor, accountId, userId, {
          role: request.body.role,
          canInvite: request.body.canInvite,
          pageIds: asList(request.body.pageIds),
        })
      } catch (error) {
        if (error instanceof ValidationError)
          return renderTeam(
            reply,
            actor,
            accountId,
            { error: Object.values(error.fields).join(' ') || error.message },
            422,
          )
        throw error
      }
      return reply.redirect(teamPath(accountId, 'updated'), 303)
    },
  )

  app.post(
    '/a/:accountId/team/members/:userId/remove',
    { config: { action: 'team.remove' }, schema: { params: MemberParams, body: CsrfBody } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { accountId, userId } = request.params
      await team.removeMember(actor, accountId, userId)
      return reply.redirect(teamPath(accountId, 'removed'), 303)
    },
  )

  app.post(
    '/a/:accountId/team/leave',
    { config: { action: 'team.leave' }, schema: { params: AccountParams, body: CsrfBody } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      await team.removeMember(actor, request.params.accountId, actor.userId)
      return reply.redirect('/dashboard', 303)
    },
  )

  app.post(
    '/a/:accountId/team/transfer',
    { config: { action: 'team.transfer' }, schema: { params: AccountParams, body: TransferBody } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { accountId } = request.params
      try {
        await team.requestOwnershipTransfer(actor, accountId, { userId: request.body.userId })
      } catch (error) {
        if (error instanceof ValidationError)
          return renderTeam(reply, actor, accountId, { error: error.message }, 422)
        throw error
      }
      return reply.redirect(teamPath(accountId, 'transfer_requested'), 303)
    },
  )

  app.post(
    '/a/:accountId/team/transfer/cancel',
    {
      config: { action: 'team.transfer-answer' },
      schema: { params: AccountParams, body: CsrfBody },
    },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      await team.cancelOwnershipTransfer(actor, request.params.accountId)
      return reply.redirect(teamPath(request.params.accountId, 'transfer_cancelled'), 303)
    },
  )

  app.post(
    '/a/:accountId/team/transfer/confirm',
    {
      config: { action: 'team.transfer-answer' },
      schema: { params: AccountParams, body: CsrfBody },
    },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      await team.confirmOwnershipTransfer(actor, request.params.accountId)
      // A privilege change: the session gets a new id, so a token captured before is worthless.
      const { token } = await deps.services.sessions.rotate(actor.sessionIdHash)
      setSessionCookie(deps, reply, token)
      return reply.redirect(teamPath(request.params.accountId, 'transferred'), 303)
    },
  )

  app.get(
    '/a/:accountId/delete',
    { config: { action: 'account.delete' }, schema: { params: AccountParams } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { account, membership } = await accounts.getAccount(actor, request.params.accountId)
      if (!meetsRequirement(membership, 'account.delete'))
        throw new ForbiddenError('Only the owner can delete the account.', 'owner_only')
      return sendHtml(
        reply,
        <DeleteAccountPage
          nav={await navFor(deps, reply, actor, account.id)}
          accountId={account.id}
          accountName={account.name}
        />,
      )
    },
  )

  app.post(
    '/a/:accountId/delete',
    { config: { action: 'account.delete' }, schema: { params: AccountParams, body: DeleteBody } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { accountId } = request.params
      try {
        await team.deleteAccount(actor, accountId, { confirmName: request.body.confirmName })
      } catch (error) {
        if (error instanceof ValidationError) {
          const { account } = await accounts.getAccount(actor, accountId)
          return sendHtml(
            reply,
            <DeleteAccountPage
              nav={await navFor(deps, reply, actor, accountId)}
              accountId={accountId}
              accountName={account.name}
              error={error.fields['confirmName'] ?? error.message}
            />,
            422,
          )
        }
        throw error
      }
      return reply.redirect('/dashboard', 303)
    },
  )

  async function signedInEmail(actor: Actor | undefined): Promise<string | undefined> {
    if (actor === undefined) return undefined
    return (await deps.services.auth.getUser(actor)).email
  }

  app.get(
    '/invitations/accept',
    { schema: { querystring: TokenQuery } },
    async (request, reply) => {
      const token = queryToken(request)
      // The link carries a secret: keep it out of Referer headers and caches.
      void reply.header('Referrer-Policy', 'no-referrer').header('Cache-Control', 'no-store')
      const preview = await team.previewInvitation(token)
      return sendHtml(
        reply,
        <InvitationPage
          preview={preview}
          token={token}
          csrfToken={reply.generateCsrf()}
          signedInAs={await signedInEmail(request.actor)}
        />,
        preview === undefined ? 410 : 200,
      )
    },
  )

  app.post(
    '/invitations/accept',
    { schema: { querystring: TokenQuery, body: AcceptBody } },
    async (request, reply) => {
      const token = queryToken(request)
      void reply.header('Referrer-Policy', 'no-referrer').header('Cache-Control', 'no-store')
      const origin = originOf(request)
      let accepted
      try {
        accepted = await team.acceptInvitation(
          token,
          { actor: request.actor, name: request.body.name, password: request.body.password },
          origin,
        )
      } catch (error) {
        if (error instanceof DomainError && error.kind !== 'rate_limited') {
          const preview = await team.previewInvitation(token)
          return sendHtml(
            reply,
            <InvitationPage
              preview={preview}
              token={token}
              csrfToken={reply.generateCsrf()}
              signedInAs={await signedInEmail(request.actor)}
              errors={error instanceof ValidationError ? error.fields : undefined}
              name={request.body.name}
              error={error instanceof ValidationError ? undefined : error.message}
            />,
            error instanceof ValidationError
              ? preview === undefined
                ? 410
                : 422
              : error.kind === 'forbidden'
                ? 403
                : 409,
          )
        }
        throw error
      }
      if (request.actor === undefined || accepted.createdLogin) {
        // A new login is signed in as itself, replacing whichever session the browser had.
        if (request.actor !== undefined)
          await deps.services.sessions.revoke(request.actor.userId, request.actor.sessionIdHash)
        const { token: sessionToken } = await deps.services.sessions.create(accepted.userId, origin)
        setSessionCookie(deps, reply, sessionToken)
      } else {
        const { token: sessionToken } = await deps.services.sessions.rotate(
          request.actor.sessionIdHash,
        )
        setSessionCookie(deps, reply, sessionToken)
      }
      return reply.redirect(teamPath(accepted.accountId, 'joined'), 303)
    },
  )
}
