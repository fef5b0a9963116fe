import { Type } from '@sinclair/typebox'
import { RateLimitedError, UnauthenticatedError, ValidationError } from '../../domain/errors.js'
import type { App, ServerDeps } from '../app-type.js'
import {
  ForgotPasswordPage,
  LoginPage,
  MessagePage,
  ResetPasswordPage,
  SetupPage,
  SignupCompletePage,
  SignupPage,
} from '../views/auth-pages.js'
import {
  clearSessionCookie,
  originOf,
  queryToken,
  readSessionToken,
  sendHtml,
  setSessionCookie,
} from './html.js'
import { samlLogoutRedirect } from './saml-routes.js'
import { continueSignIn } from './two-factor-routes.js'

const text = (maxLength: number) => Type.Optional(Type.String({ maxLength }))
const csrf = { _csrf: text(256) }
const TokenQuery = Type.Object({ token: text(128) })
const LoginBody = Type.Object({ ...csrf, email: text(320), password: text(1024) })
const EmailBody = Type.Object({ ...csrf, email: text(320) })
const ResetBody = Type.Object({ ...csrf, token: text(128), password: text(1024) })
const OwnerBody = Type.Object({
  ...csrf,
  token: text(128),
  accountName: text(200),
  name: text(200),
  email: text(320),
  password: text(1024),
})

const EXPIRED_LINK = {
  title: 'Link expired',
  message: 'This link has expired or was already used.',
}

export function registerAuthRoutes(app: App, deps: ServerDeps): void {
  const { auth } = deps.services

  app.get('/', async (request, reply) =>
    reply.redirect(request.actor === undefined ? '/login' : '/dashboard', 302),
  )

  app.get('/login', async (request, reply) => {
    if (request.actor !== undefined) return reply.redirect('/dashboard', 302)
    const reset =
      typeof request.query === 'object' && request.query !== null && 'reset' in request.query
    return sendHtml(
      reply,
      <LoginPage
        csrfToken={reply.generateCsrf()}
        allowSignup={auth.isSignupAllowed()}
        {...(reset
          ? {
              notice:
                'Your password was changed and every session was signed out. Sign in with the new password.',
            }
          : {})}
      />,
    )
  })

  app.post('/login', { schema: { body: LoginBody } }, async (request, reply) => {
    try {
      const result = await auth.login(
        {
          email: request.body.email,
          password: request.body.password,
          previousToken: readSessionToken(deps, request),
        },
        originOf(request),
      )
      if (result.status !== 'signed_in') return await continueSignIn(deps, reply, result)
      setSessionCookie(deps, reply, result.token)
      return await reply.redirect('/dashboard', 303)
    } catch (error) {
      if (error instanceof UnauthenticatedError || error instanceof RateLimitedError) {
        if (error instanceof RateLimitedError)
          void reply.header('Retry-After', String(error.retryAfterSeconds))
        return sendHtml(
          reply,
          <LoginPage
            csrfToken={reply.generateCsrf()}
            allowSignup={auth.isSignupAllowed()}
            email={request.body.email?.slice(0, 254)}
            error={error.message}
          />,
          error instanceof RateLimitedError ? 429 : 401,
        )
      }
      throw error
    }
  })

  app.post('/logout', async (request, reply) => {
    const token = readSessionToken(deps, request)
    const idpLogout = await samlLogoutRedirect(deps, request.actor)
    if (token !== undefined) await auth.signOut(token)
    clearSessionCookie(deps, reply)
    return reply.redirect(idpLogout ?? '/login', 303)
  })

  app.get('/forgot-password', async (_request, reply) =>
    sendHtml(reply, <ForgotPasswordPage csrfToken={reply.generateCsrf()} />),
  )

  app.post('/forgot-password', { schema: { body: EmailBody } }, async (request, reply) => {
    try {
      await auth.requestPasswordReset({ email: request.body.email }, originOf(request))
      return await sendHtml(reply, <ForgotPasswordPage csrfToken={reply.generateCsrf()} sent />)
    } catch (error) {
      if (error instanceof ValidationError) {
        return sendHtml(
          reply,
          <ForgotPasswordPage
            csrfToken={reply.generateCsrf()}
            email={request.body.email}
            errors={error.fields}
          />,
          422,
        )
      }
      throw error
    }
  })

  app.get('/reset-password', { schema: { querystring: TokenQuery } }, async (request, reply) => {
    const token = queryToken(request)
    if (!(await auth.isPasswordResetTokenValid(token))) {
      return sendHtml(
        reply,
        <MessagePage
          {...EXPIRED_LINK}
          link={{ href: '/forgot-password', label: 'Ask for a new link' }}
        />,
        400,
      )
    }
    return sendHtml(reply, <ResetPasswordPage csrfToken={reply.generateCsrf()} token={token} />)
  })

  app.post('/reset-password', { schema: { body: ResetBody } }, async (request, reply) => {
    const token = request.body.token ?? ''
    try {
      await auth.completePasswordReset(
        { token, password: request.body.password },
        originOf(request),
      )
      clearSessionCookie(deps, reply)
      return await reply.redirect('/login?reset=1', 303)
    } catch (error) {
      if (error instanceof ValidationError) {
        if (error.code === 'invalid_token') {
          return sendHtml(
            reply,
            <MessagePage
              {...EXPIRED_LINK}
              link={{ href: '/forgot-password', label: 'Ask for a new link' }}
            />,
            400,
          )
        }
        return sendHtml(
          reply,
          <ResetPasswordPage
            csrfToken={reply.generateCsrf()}
            token={token}
            errors={error.fields}
          />,
          422,
        )
      }
      throw error
    }
  })

  app.get('/setup', { schema: { querystring: TokenQuery } }, async (request, reply) => {
    const token = queryToken(request)
    if (!(await auth.isSetupTokenValid(token))) {
      return sendHtml(
        reply,
        <MessagePage
          title="Setup link not valid"
          message="This setup link has expired, was already used, or Candor is already set up."
          link={{ href: '/login', label: 'Sign in' }}
        />,
        400,
      )
    }
    return sendHtml(reply, <SetupPage csrfToken={reply.generateCsrf()} token={token} />)
  })

  app.post('/setup', { schema: { body: OwnerBody } }, async (request, reply) => {
    const { body } = request
    try {
      const { token } = await auth.completeSetup(ownerInput(body), originOf(request))
      setSessionCookie(deps, reply, token)
      return await reply.redirect('/dashboard', 303)
    } catch (error) {
      if (error instanceof ValidationError && error.code !== 'invalid_token') {
        const values = {
          accountName: body.accountName ?? '',
          name: body.name ?? '',
          email: body.email ?? '',
        }
        return sendHtml(
          reply,
          <SetupPage
            csrfToken={reply.generateCsrf()}
            token={body.token ?? ''}
            values={values}
            errors={error.fields}
          />,
          422,
        )
      }
      throw error
    }
  })

  app.get('/signup', async (_request, reply) => {
    if (!auth.isSignupAllowed()) return reply.callNotFound()
    return sendHtml(reply, <SignupPage csrfToken={reply.generateCsrf()} />)
  })

  app.post('/signup', { schema: { body: EmailBody } }, async (request, reply) => {
    try {
      await auth.requestSignup({ email: request.body.email }, originOf(request))
      return await sendHtml(reply, <SignupPage csrfToken={reply.generateCsrf()} sent />)
    } catch (error) {
      if (error instanceof ValidationError) {
        return sendHtml(
          reply,
          <SignupPage
            csrfToken={reply.generateCsrf()}
            email={request.body.email}
            errors={error.fields}
          />,
          422,
        )
      }
      throw error
    }
  })

  app.get('/signup/complete', { schema: { querystring: TokenQuery } }, async (request, reply) => {
    if (!auth.isSignupAllowed()) return reply.callNotFound()
    const token = queryToken(request)
    const email = await auth.signupEmailFor(token)
    if (email === undefined)
      return sendHtml(
        reply,
        <MessagePage {...EXPIRED_LINK} link={{ href: '/signup', label: 'Start again' }} />,
        400,
      )
    return sendHtml(
      reply,
      <SignupCompletePage csrfToken={reply.generateCsrf()} token={token} fixedEmail={email} />,
    )
  })

  app.post('/signup/complete', { schema: { body: OwnerBody } }, async (request, reply) => {
    const { body } = request
    try {
      const { token } = await auth.completeSignup(ownerInput(body), originOf(request))
      setSessionCookie(deps, reply, token)
      return await reply.redirect('/dashboard', 303)
    } catch (error) {
      if (error instanceof ValidationError && error.code !== 'invalid_token') {
        const email = await auth.signupEmailFor(body.token ?? '')
        const values = { accountName: body.accountName ?? '', name: body.name ?? '' }
        return sendHtml(
          reply,
          <SignupCompletePage
            csrfToken={reply.generateCsrf()}
            token={body.token ?? ''}
            values={values}
            errors={error.fields}
            {...(email === undefined ? {} : { fixedEmail: email })}
          />,
          422,
        )
      }
      throw error
    }
  })
}

function ownerInput(body: {
  token?: string
  accountName?: string
  name?: string
  email?: string
  password?: string
}) {
  return {
    token: body.token ?? '',
    accountName: body.accountName,
    name: body.name,
    email: body.email,
    password: body.password,
  }
}
