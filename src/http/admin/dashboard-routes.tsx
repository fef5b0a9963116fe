import { Type } from '@sinclair/typebox'
import { ValidationError } from '../../domain/errors.js'
import type { App, ServerDeps } from '../app-type.js'
import {
  AccountOverviewPage,
  AccountSettingsPage,
  MailboxPage,
  MailMessagePage,
  NoAccountPage,
  ProfilePage,
  SessionsPage,
} from '../views/dashboard-pages.js'
import { clearSessionCookie, navFor, requireActor, sendHtml, setSessionCookie } from './html.js'

const text = (maxLength: number) => Type.Optional(Type.String({ maxLength }))
const csrf = { _csrf: text(256) }
const AccountParams = Type.Object({ accountId: Type.String({ minLength: 1, maxLength: 64 }) })
const MessageParams = Type.Object({
  accountId: Type.String({ maxLength: 64 }),
  messageId: Type.String({ maxLength: 64 }),
})
const NameBody = Type.Object({ ...csrf, name: text(200) })
const PasswordBody = Type.Object({ ...csrf, currentPassword: text(1024), newPassword: text(1024) })
const SessionBody = Type.Object({ ...csrf, session: Type.String({ minLength: 1, maxLength: 128 }) })
const NoticeQuery = Type.Object({ saved: text(8) })

export function registerDashboardRoutes(app: App, deps: ServerDeps): void {
  const { accounts, auth, sessions, mailbox } = deps.services

  app.get('/dashboard', async (request, reply) => {
    const actor = requireActor(request, reply)
    if (actor === undefined) return reply
    const memberships = await accounts.listMyAccounts(actor)
    const first = memberships[0]
    if (first === undefined)
      return sendHtml(reply, <NoAccountPage nav={await navFor(deps, reply, actor)} />)
    return reply.redirect(`/a/${encodeURIComponent(first.accountId)}`, 302)
  })

  app.get(
    '/a/:accountId',
    { config: { action: 'account.read' }, schema: { params: AccountParams } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { account, membership } = await accounts.getAccount(actor, request.params.accountId)
      return sendHtml(
        reply,
        <AccountOverviewPage
          nav={await navFor(deps, reply, actor, account.id)}
          account={account}
          membership={membership}
          pages={await deps.services.pages.list(actor, account.id)}
        />,
      )
    },
  )

  app.get(
    '/a/:accountId/settings',
    {
      config: { action: 'account.read' },
      schema: { params: AccountParams, querystring: NoticeQuery },
    },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { account, membership } = await accounts.getAccount(actor, request.params.accountId)
      const canEdit = membership.role === 'owner' || membership.role === 'admin'
      return sendHtml(
        reply,
        <AccountSettingsPage
          nav={await navFor(deps, reply, actor, account.id)}
          account={account}
          canEdit={canEdit}
          saved={request.query.saved !== undefined}
          twoFactor={{
            required: membership.accountRequiresTwoFactor,
            isOwner: membership.role === 'owner',
          }}
        />,
      )
    },
  )

  app.post(
    '/a/:accountId/settings',
    { config: { action: 'account.rename' }, schema: { params: AccountParams, body: NameBody } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const accountId = request.params.accountId
      try {
        await accounts.rename(actor, accountId, { name: request.body.name })
      } catch (error) {
        if (error instanceof ValidationError) {
          const { account } = await accounts.getAccount(actor, accountId)
          return sendHtml(
            reply,
            <AccountSettingsPage
              nav={await navFor(deps, reply, actor, accountId)}
              account={account}
              canEdit
              errors={error.fields}
              value={request.body.name ?? ''}
            />,
            422,
          )
        }
        throw error
      }
      return reply.redirect(`/a/${encodeURIComponent(accountId)}/settings?saved=1`, 303)
    },
  )

  app.get(
    '/a/:accountId/mail',
    { config: { action: 'mailbox.read' }, schema: { params: AccountParams } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const messages = await mailbox.list(actor, request.params.accountId)
      return sendHtml(
        reply,
        <MailboxPage
          nav={await navFor(deps, reply, actor, request.params.accountId)}
          accountId={request.params.accountId}
          messages={messages}
        />,
      )
    },
  )

  app.get(
    '/a/:accountId/mail/:messageId',
    { config: { action: 'mailbox.read' }, schema: { params: MessageParams } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { entry, raw } = await mailbox.read(
        actor,
        request.params.accountId,
        request.params.messageId,
      )
      return sendHtml(
        reply,
        <MailMessagePage
          nav={await navFor(deps, reply, actor, request.params.accountId)}
          entry={entry}
          raw={raw}
        />,
      )
    },
  )

  app.get('/profile', { schema: { querystring: NoticeQuery } }, async (request, reply) => {
    const actor = requireActor(request, reply)
    if (actor === undefined) return reply
    const user = await auth.getUser(actor)
    const notice =
      request.query.saved === 'password'
        ? 'Password changed. Every other session was signed out.'
        : request.query.saved !== undefined
          ? 'Saved.'
          : undefined
    return sendHtml(
      reply,
      <ProfilePage
        nav={await navFor(deps, reply, actor)}
        name={user.name}
        email={user.email}
        {...(notice === undefined ? {} : { notice })}
      />,
    )
  })

  app.post('/profile', { schema: { body: NameBody } }, async (request, reply) => {
    const actor = requireActor(request, reply)
    if (actor === undefined) return reply
    try {
      await auth.updateProfile(actor, { name: request.body.name })
    } catch (error) {
      if (error instanceof ValidationError) {
        const user = await auth.getUser(actor)
        return sendHtml(
          reply,
          <ProfilePage
            nav={await navFor(deps, reply, actor)}
            name={request.body.name ?? ''}
            email={user.email}
            errors={error.fields}
          />,
          422,
        )
      }
      throw error
    }
    return reply.redirect('/profile?saved=1', 303)
  })

  app.post('/profile/password', { schema: { body: PasswordBody } }, async (request, reply) => {
    const actor = requireActor(request, reply)
    if (actor === undefined) return reply
    try {
      const { token } = await auth.changePassword(actor, {
        currentPassword: request.body.currentPassword,
        newPassword: request.body.newPassword,
      })
      setSessionCookie(deps, reply, token)
    } catch (error) {
      if (error instanceof ValidationError) {
        const user = await auth.getUser(actor)
        return sendHtml(
          reply,
          <ProfilePage
            nav={await navFor(deps, reply, actor)}
            name={user.name}
            email={user.email}
            errors={error.fields}
          />,
          422,
        )
      }
      throw error
    }
    return reply.redirect('/profile?saved=password', 303)
  })

  app.get('/profile/sessions', { schema: { querystring: NoticeQuery } }, async (request, reply) => {
    const actor = requireActor(request, reply)
    if (actor === undefined) return reply
    const list = await sessions.listForUser(actor.userId)
    return sendHtml(
      reply,
      <SessionsPage
        nav={await navFor(deps, reply, actor)}
        sessions={list}
        currentIdHash={actor.sessionIdHash}
        {...(request.query.saved === undefined ? {} : { notice: 'Signed out.' })}
      />,
    )
  })

  app.post(
    '/profile/sessions/revoke',
    { schema: { body: SessionBody } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      await sessions.revoke(actor.userId, request.body.session, actor)
      if (request.body.session === actor.sessionIdHash) {
        clearSessionCookie(deps, reply)
        return reply.redirect('/login', 303)
      }
      return reply.redirect('/profile/sessions?saved=1', 303)
    },
  )

  app.post('/profile/sessions/revoke-others', async (request, reply) => {
    const actor = requireActor(request, reply)
    if (actor === undefined) return reply
    await sessions.revokeAll(actor.userId, { except: actor.sessionIdHash, by: actor })
    return reply.redirect('/profile/sessions?saved=1', 303)
  })

  app.post('/profile/sessions/revoke-all', async (request, reply) => {
    const actor = requireActor(request, reply)
    if (actor === undefined) return reply
    await sessions.revokeAll(actor.userId, { by: actor })
    clearSessionCookie(deps, reply)
    return reply.redirect('/login', 303)
  })
}
