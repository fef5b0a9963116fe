import { Type } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { OidcSignInError } from '../../auth/oidc/oidc-service.js'
import type { App, ServerDeps } from '../app-type.js'
import { SsoDiscoveryPage, SsoErrorPage } from '../views/sso-views.js'
import { isHttps, originOf, readSessionToken, sendHtml, setSessionCookie } from './html.js'

const ConnectionParams = Type.Object({
  connectionId: Type.String({ minLength: 1, maxLength: 64 }),
})
const EmailBody = Type.Object({
  _csrf: Type.Optional(Type.String({ maxLength: 256 })),
  email: Type.Optional(Type.String({ maxLength: 320 })),
})

/** The browser's side of an OpenID Connect sign-in in progress (see OidcService.start). */
const FLOW_COOKIE = 'candor_oidc_flow'
const FLOW_COOKIE_MAX_AGE_S = 10 * 60
const BROWSER_TOKEN = /^[A-Za-z0-9_-]{43}$/

const FAILURE_TITLES: Readonly<Record<number, string>> = {
  400: 'Sign-in did not complete',
  401: 'Sign-in could not be verified',
  403: 'Sign-in refused',
  404: 'Single sign-on not available',
  502: 'Identity provider unavailable',
}

/** The start path of a connection's sign-in, by protocol. */
export function ssoStartPath(connection: { id: string; protocol: string }): string {
  const id = encodeURIComponent(connection.id)
  return connection.protocol === 'saml' ? `/sso/saml/${id}/start` : `/sso/oidc/${id}/start`
}

export function registerSsoRoutes(app: App, deps: ServerDeps): void {
  const { oidc, auth, ssoSettings } = deps.services
  const https = isHttps(deps)
  const flowCookie = https ? `__Host-${FLOW_COOKIE}` : FLOW_COOKIE

  function browserToken(request: FastifyRequest): string | undefined {
    const value = request.cookies[flowCookie]
    return value !== undefined && BROWSER_TOKEN.test(value) ? value : undefined
  }

  function sendFailure(reply: FastifyReply, error: OidcSignInError): FastifyReply {
    return sendHtml(
      reply,
      <SsoErrorPage
        title={FAILURE_TITLES[error.status] ?? 'Sign-in did not complete'}
        message={error.message}
      />,
      error.status,
    )
  }

  app.get(
    '/sso/oidc/:connectionId/start',
    { schema: { params: ConnectionParams } },
    async (request, reply) => {
      // One value per browser, kept while it lasts: two sign-ins started in two tabs both work.
      const token = browserToken(request) ?? oidc.newBrowserToken()
      try {
        const url = await oidc.start(request.params.connectionId, token)
        void reply.setCookie(flowCookie, token, {
          path: '/',
          httpOnly: true,
          // Lax: the provider's redirect back is a top-level GET from another site.
          sameSite: 'lax',
          secure: https,
          maxAge: FLOW_COOKIE_MAX_AGE_S,
        })
        return await reply.redirect(url.href, 302)
      } catch (error) {
        if (error instanceof OidcSignInError) {
          if (error.status === 502)
            request.log.warn({ err: error.cause }, 'OpenID provider unavailable')
          return sendFailure(reply, error)
        }
        throw error
      }
    },
  )

  app.get(
    '/sso/oidc/:connectionId/callback',
    { schema: { params: ConnectionParams } },
    async (request, reply) => {
      const at = request.url.indexOf('?')
      const query = at === -1 ? '' : request.url.slice(at + 1)
      try {
        const { token, accountId } = await oidc.finish(
          request.params.connectionId,
          { query, browserToken: browserToken(request) },
          originOf(request),
        )
        const previous = readSessionToken(deps, request)
        if (previous !== undefined) await auth.signOut(previous)
        setSessionCookie(deps, reply, token)
        return await reply.redirect(`/a/${encodeURIComponent(accountId)}`, 303)
      } catch (error) {
        if (error instanceof OidcSignInError) {
          if (error.status === 502)
            request.log.warn({ err: error.cause }, 'OpenID provider unavailable')
          return sendFailure(reply, error)
        }
        throw error
      }
    },
  )

  app.get('/login/sso', async (_request, reply) =>
    sendHtml(reply, <SsoDiscoveryPage csrfToken={reply.generateCsrf()} />),
  )

  app.post('/login/sso', { schema: { body: EmailBody } }, async (request, reply) => {
    const email = (request.body.email ?? '').trim().slice(0, 254)
    const found = await ssoSettings.connectionsForEmail(email)
    if (found === undefined)
      return sendHtml(
        reply,
        <SsoDiscoveryPage
          csrfToken={reply.generateCsrf()}
          email={email}
          error="Enter your work email address, like name@example.com."
        />,
        422,
      )
    const [only, ...others] = found
    if (only !== undefined && others.length === 0) return reply.redirect(ssoStartPath(only), 303)
    if (only === undefined)
      return sendHtml(
        reply,
        <SsoDiscoveryPage
          csrfToken={reply.generateCsrf()}
          email={email}
          error="Single sign-on is not set up for this email domain. Sign in with your password, or ask your administrator."
        />,
        404,
      )
    return sendHtml(
      reply,
      <SsoDiscoveryPage
        csrfToken={reply.generateCsrf()}
        email={email}
        choices={found.map((connection) => ({
          name: connection.name,
          href: ssoStartPath(connection),
        }))}
      />,
    )
  })
}
