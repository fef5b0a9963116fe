import type { FastifyReply, FastifyRequest } from 'fastify'
import type { ComponentChildren } from 'preact'
import type { Actor, RequestOrigin } from '../../domain/actor.js'
import { UnauthenticatedError } from '../../domain/errors.js'
import type { ServerDeps } from '../app-type.js'
import { sessionCookieName } from '../session-cookie.js'
import { renderDocument, type NavContext } from '../views/layout.js'

export function sendHtml(reply: FastifyReply, node: ComponentChildren, status = 200): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').send(renderDocument(node))
}

export function originOf(request: FastifyRequest): RequestOrigin {
  const userAgent = request.headers['user-agent']
  return { ip: request.ip, userAgent: typeof userAgent === 'string' ? userAgent.slice(0, 512) : '' }
}

export function isHttps(deps: ServerDeps): boolean {
  return deps.config.baseUrl.protocol === 'https:'
}

export function readSessionToken(deps: ServerDeps, request: FastifyRequest): string | undefined {
  const token = request.cookies[sessionCookieName(isHttps(deps))]
  return token === undefined || token === '' ? undefined : token
}

export function setSessionCookie(deps: ServerDeps, reply: FastifyReply, token: string): void {
  void reply.setCookie(sessionCookieName(isHttps(deps)), token, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: isHttps(deps),
    maxAge: Math.floor(deps.config.sessionAbsoluteTimeoutMs / 1000),
  })
}

export function clearSessionCookie(deps: ServerDeps, reply: FastifyReply): void {
  void reply.clearCookie(sessionCookieName(isHttps(deps)), {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: isHttps(deps),
  })
}

/** The signed-in actor; a page view without one goes to the sign-in form, anything else gets a 401. */
export function requireActor(request: FastifyRequest, reply: FastifyReply): Actor | undefined {
  if (request.actor !== undefined) return request.actor
  if (request.method === 'GET' || request.method === 'HEAD') {
    void reply.redirect('/login', 302)
    return undefined
  }
  throw new UnauthenticatedError()
}

export async function navFor(
  deps: ServerDeps,
  reply: FastifyReply,
  actor: Actor,
  currentAccountId?: string,
): Promise<NavContext> {
  const [user, memberships] = await Promise.all([
    deps.services.auth.getUser(actor),
    deps.services.accounts.listMyAccounts(actor),
  ])
  const current = memberships.find((m) => m.accountId === currentAccountId)
  return {
    userName: user.name,
    csrfToken: reply.generateCsrf(),
    accounts: memberships.map((m) => ({ id: m.accountId, name: m.accountName, role: m.role })),
    currentAccountId: current?.accountId,
    showMailbox: deps.services.mailbox.isEnabled && current?.role === 'owner',
  }
}

export function queryToken(request: FastifyRequest): string {
  const query = request.query
  if (
    typeof query === 'object' &&
    query !== null &&
    'token' in query &&
    typeof query.token === 'string'
  )
    return query.token
  return ''
}
