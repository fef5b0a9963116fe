import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { Type } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import QRCode from 'qrcode'
import { ENROL_FLOW } from '../../auth/two-factor-service.js'
import {
  ConflictError,
  RateLimitedError,
  UnauthenticatedError,
  ValidationError,
} from '../../domain/errors.js'
import type { App, ServerDeps } from '../app-type.js'
import { MessagePage } from '../views/auth-pages.js'
import { AccountSettingsPage } from '../views/dashboard-pages.js'
import {
  EnrolPage,
  ReauthenticatePage,
  RecoveryCodesPage,
  SecondFactorPage,
  SecurityPage,
  TotpSetupPage,
} from '../views/two-factor-pages.js'
import {
  isHttps,
  navFor,
  originOf,
  readSessionToken,
  requireActor,
  sendHtml,
  setSessionCookie,
} from './html.js'

const text = (maxLength: number) => Type.Optional(Type.String({ maxLength }))
const csrf = { _csrf: text(256) }
const CodeBody = Type.Object({ ...csrf, code: text(64) })
const EnrolmentBody = Type.Object({ ...csrf, enrolment: text(256), code: text(64) })
const NextQuery = Type.Object({ next: text(2048) })
const ReauthBody = Type.Object({
  ...csrf,
  next: text(2048),
  password: text(1024),
  code: text(64),
})
const NoticeQuery = Type.Object({ saved: text(16) })
const PasskeyParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 1024 }) })
const NameBody = Type.Object({ ...csrf, name: text(200) })
const AccountParams = Type.Object({ accountId: Type.String({ minLength: 1, maxLength: 64 }) })
const RequirementBody = Type.Object({
  ...csrf,
  required: Type.Optional(Type.Union([Type.Literal('on'), Type.Literal('off')])),
})
const RegistrationOptionsBody = Type.Object({
  ...csrf,
  purpose: Type.Union([Type.Literal('register'), Type.Literal('enrol')]),
})
const RegistrationBody = Type.Object({
  ...csrf,
  purpose: Type.Union([Type.Literal('register'), Type.Literal('enrol')]),
  flow: text(256),
  name: text(200),
  response: Type.Unknown(),
})
const AuthenticationPurpose = Type.Union([
  Type.Literal('sign_in'),
  Type.Literal('second_factor'),
  Type.Literal('reauthenticate'),
])
const AuthenticationOptionsBody = Type.Object({ ...csrf, purpose: AuthenticationPurpose })
const AuthenticationBody = Type.Object({
  ...csrf,
  purpose: AuthenticationPurpose,
  flow: text(256),
  next: text(2048),
  response: Type.Unknown(),
})

const SIGN_IN_COOKIE = 'candor_signin'
const SIGN_IN_COOKIE_MAX_AGE_SECONDS = 15 * 60
type PendingKind = 'second-factor' | 'enrol'

// The package exports only its modules; its browser bundle sits next to them.
const webauthnBrowser = readFileSync(
  join(
    dirname(createRequire(import.meta.url).resolve('@simplewebauthn/browser')),
    '..',
    'dist/bundle/index.umd.min.js',
  ),
)
const passkeyScript = readFileSync(new URL('../../../public/passkeys.js', import.meta.url))

const SECURITY_NOTICES: Record<string, string> = {
  'totp-off': 'The authenticator app is off.',
  passkey: 'Passkey added.',
  renamed: 'Passkey renamed.',
  removed: 'Passkey removed.',
}

function signInCookieName(deps: ServerDeps): string {
  return isHttps(deps) ? `__Host-${SIGN_IN_COOKIE}` : SIGN_IN_COOKIE
}

function setPending(deps: ServerDeps, reply: FastifyReply, kind: PendingKind, token: string) {
  void reply.setCookie(signInCookieName(deps), `${kind}.${token}`, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: isHttps(deps),
    maxAge: SIGN_IN_COOKIE_MAX_AGE_SECONDS,
  })
}

function clearPending(deps: ServerDeps, reply: FastifyReply) {
  void reply.clearCookie(signInCookieName(deps), {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: isHttps(deps),
  })
}

function readPending(deps: ServerDeps, request: FastifyRequest, kind: PendingKind): string {
  const value = request.cookies[signInCookieName(deps)] ?? ''
  const dot = value.indexOf('.')
  return dot > 0 && value.slice(0, dot) === kind ? value.slice(dot + 1) : ''
}

/**
 * After a correct password that needs a second step: the flow's token goes into a short-lived
 * HttpOnly cookie (never a URL), and the browser to the step's page.
 */
export function continueSignIn(
  deps: ServerDeps,
  reply: FastifyReply,
  pending: { status: 'second_factor' | 'enrol'; flowToken: string },
): FastifyReply {
  const kind: PendingKind = pending.status === 'enrol' ? 'enrol' : 'second-factor'
  setPending(deps, reply, kind, pending.flowToken)
  return reply.redirect(kind === 'enrol' ? '/login/enrol' : '/login/two-factor', 303)
}

/** A same-origin path to return to, or the dashboard: never another site. */
export function safeNext(value: string | undefined): string {
  if (value === undefined || !value.startsWith('/') || value.startsWith('//')) return '/dashboard'
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i)
    if (code < 0x20 || code >= 0x7f || code === 0x5c) return '/dashboard'
  }
  try {
    const base = 'http://candor.invalid'
    const url = new URL(value, base)
    if (url.origin !== base) return '/dashboard'
    // '/.//evil.com' normalises to '//evil.com', which a browser reads as another site.
    if (url.pathname.startsWith('//')) return '/dashboard'
    if (url.pathname.startsWith('/reauthenticate')) return '/dashboard'
    return url.pathname + url.search
  } catch {
    return '/dashboard'
  }
}

/**
 * Where a request refused for want of a recent proof of identity is sent: the re-authentication
 * page, coming back to the page itself (GET) or to the page the form was on (POST, from a
 * same-origin Referer).
 */
export function reauthenticationLocation(request: FastifyRequest): string {
  let next = '/dashboard'
  if (request.method === 'GET' || request.method === 'HEAD') next = safeNext(request.url)
  else {
    const referer = request.headers.referer
    if (typeof referer === 'string') {
      try {
        const url = new URL(referer)
        // Through URL both ways, so a default port written out (":80") compares equal.
        const own = new URL(`${url.protocol}//${request.host}`)
        if (url.host === own.host) next = safeNext(url.pathname + url.search)
      } catch {
        next = '/dashboard'
      }
    }
  }
  return `/reauthenticate?next=${encodeURIComponent(next)}`
}

async function qrCodeFor(uri: string): Promise<string> {
  return QRCode.toDataURL(uri, { errorCorrectionLevel: 'M', margin: 2, width: 200 })
}

export function registerTwoFactorRoutes(app: App, deps: ServerDeps): void {
  const { twoFactor, passkeys } = deps.services

  app.get('/assets/webauthn-browser.js', async (_request, reply) =>
    reply
      .header('Cache-Control', 'public, max-age=3600')
      .type('text/javascript; charset=utf-8')
      .send(webauthnBrowser),
  )
  app.get('/assets/passkeys.js', async (_request, reply) =>
    reply
      .header('Cache-Control', 'public, max-age=3600')
      .type('text/javascript; charset=utf-8')
      .send(passkeyScript),
  )

  // The second step of signing in

  function flowOver(reply: FastifyReply, status = 400) {
    clearPending(deps, reply)
    return sendHtml(
      reply,
      <MessagePage
        title="Sign in again"
        message="This sign-in has expired or had too many wrong codes."
        link={{ href: '/login', label: 'Sign in' }}
      />,
      status,
    )
  }

  app.get('/login/two-factor', async (request, reply) => {
    const choices = await twoFactor.secondFactorChoices(readPending(deps, request, 'second-factor'))
    if (choices === undefined) return flowOver(reply)
    return sendHtml(reply, <SecondFactorPage csrfToken={reply.generateCsrf()} choices={choices} />)
  })

  app.post('/login/two-factor', { schema: { body: CodeBody } }, async (request, reply) => {
    const flowToken = readPending(deps, request, 'second-factor')
    try {
      const { token } = await twoFactor.completeSecondFactor(
        flowToken,
        { code: request.body.code },
        originOf(request),
        readSessionToken(deps, request),
      )
      clearPending(deps, reply)
      setSessionCookie(deps, reply, token)
      return await reply.redirect('/dashboard', 303)
    } catch (error) {
      if (error instanceof UnauthenticatedError && error.code === 'flow_expired')
        return flowOver(reply, 401)
      if (error instanceof UnauthenticatedError || error instanceof RateLimitedError) {
        if (error instanceof RateLimitedError)
          void reply.header('Retry-After', String(error.retryAfterSeconds))
        const choices = await twoFactor.secondFactorChoices(flowToken)
        if (choices === undefined) return flowOver(reply, 401)
        return sendHtml(
          reply,
          <SecondFactorPage
            csrfToken={reply.generateCsrf()}
            choices={choices}
            error={error.message}
          />,
          error instanceof RateLimitedError ? 429 : 401,
        )
      }
      throw error
    }
  })

  // Enrolment during sign-in, when an account requires a second factor

  async function enrolPage(
    reply: FastifyReply,
    flowToken: string,
    enrolment: string | undefined,
    error?: string,
  ) {
    const pending =
      enrolment === undefined
        ? await twoFactor.startEnrolmentTotp(flowToken)
        : ((await twoFactor.pendingEnrolmentTotp(flowToken, enrolment)) ??
          (await twoFactor.startEnrolmentTotp(flowToken)))
    const userId = await twoFactor.flowUser(ENROL_FLOW, flowToken)
    if (pending === undefined || userId === undefined) return flowOver(reply)
    const requiredBy = await twoFactor.requiringAccountsOf(userId)
    return sendHtml(
      reply,
      <EnrolPage
        csrfToken={reply.generateCsrf()}
        action="/login/enrol"
        enrolment={pending.enrolment}
        secret={pending.secret}
        qrDataUrl={await qrCodeFor(pending.uri)}
        requiredBy={requiredBy.join(', ')}
        error={error}
      />,
      error === undefined ? 200 : 422,
    )
  }

  app.get('/login/enrol', async (request, reply) =>
    enrolPage(reply, readPending(deps, request, 'enrol'), undefined),
  )

  app.post('/login/enrol', { schema: { body: EnrolmentBody } }, async (request, reply) => {
    const flowToken = readPending(deps, request, 'enrol')
    try {
      const { token, recoveryCodes } = await twoFactor.completeEnrolmentWithTotp(
        flowToken,
        { enrolment: request.body.enrolment, code: request.body.code },
        originOf(request),
        readSessionToken(deps, request),
      )
      clearPending(deps, reply)
      setSessionCookie(deps, reply, token)
      return await sendHtml(
        reply,
        <RecoveryCodesPage
          codes={recoveryCodes}
          notice="Two-factor authentication is on and you are signed in."
          continueHref="/dashboard"
          continueLabel="Continue to the dashboard"
        />,
      )
    } catch (error) {
      if (error instanceof UnauthenticatedError) return flowOver(reply, 401)
      if (error instanceof ValidationError)
        return enrolPage(reply, flowToken, request.body.enrolment, error.fields['code'])
      throw error
    }
  })

  // The security page

  app.get('/profile/security', { schema: { querystring: NoticeQuery } }, async (request, reply) => {
    const actor = requireActor(request, reply)
    if (actor === undefined) return reply
    const saved = request.query.saved
    return sendHtml(
      reply,
      <SecurityPage
        nav={await navFor(deps, reply, actor)}
        status={await twoFactor.status(actor)}
        notice={saved === undefined ? undefined : SECURITY_NOTICES[saved]}
      />,
    )
  })

  app.get('/profile/security/totp', async (request, reply) => {
    const actor = requireActor(request, reply)
    if (actor === undefined) return reply
    const status = await twoFactor.status(actor)
    if (status.totpEnabled) return reply.redirect('/profile/security', 302)
    const pending = await twoFactor.beginTotpEnrolment(actor)
    return sendHtml(
      reply,
      <TotpSetupPage
        nav={await navFor(deps, reply, actor)}
        csrfToken={reply.generateCsrf()}
        action="/profile/security/totp"
        enrolment={pending.enrolment}
        secret={pending.secret}
        qrDataUrl={await qrCodeFor(pending.uri)}
      />,
    )
  })

  app.post(
    '/profile/security/totp',
    { schema: { body: EnrolmentBody } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      try {
        const { recoveryCodes } = await twoFactor.confirmTotpEnrolment(actor, {
          enrolment: request.body.enrolment,
          code: request.body.code,
        })
        return await sendHtml(
          reply,
          <RecoveryCodesPage
            nav={await navFor(deps, reply, actor)}
            codes={recoveryCodes}
            notice="The authenticator app is on."
            continueHref="/profile/security"
            continueLabel="Back to security"
          />,
        )
      } catch (error) {
        if (error instanceof ValidationError) {
          const pending =
            (await twoFactor.pendingTotpEnrolment(actor, request.body.enrolment ?? '')) ??
            (await twoFactor.beginTotpEnrolment(actor))
          return sendHtml(
            reply,
            <TotpSetupPage
              nav={await navFor(deps, reply, actor)}
              csrfToken={reply.generateCsrf()}
              action="/profile/security/totp"
              enrolment={pending.enrolment}
              secret={pending.secret}
              qrDataUrl={await qrCodeFor(pending.uri)}
              error={error.fields['code'] ?? error.message}
            />,
            422,
          )
        }
        throw error
      }
    },
  )

  async function securityError(
    request: FastifyRequest,
    reply: FastifyReply,
    error: unknown,
    field = 'form',
  ) {
    const actor = request.actor
    if (
      actor === undefined ||
      !(error instanceof ConflictError || error instanceof ValidationError)
    )
      throw error
    const message =
      error instanceof ValidationError ? (error.fields['name'] ?? error.message) : error.message
    return sendHtml(
      reply,
      <SecurityPage
        nav={await navFor(deps, reply, actor)}
        status={await twoFactor.status(actor)}
        errors={{ [field]: message }}
      />,
      error instanceof ConflictError ? 409 : 422,
    )
  }

  app.post('/profile/security/totp/disable', async (request, reply) => {
    const actor = requireActor(request, reply)
    if (actor === undefined) return reply
    try {
      await twoFactor.disableTotp(actor)
    } catch (error) {
      return securityError(request, reply, error)
    }
    return reply.redirect('/profile/security?saved=totp-off', 303)
  })

  app.post('/profile/security/recovery-codes', async (request, reply) => {
    const actor = requireActor(request, reply)
    if (actor === undefined) return reply
    let recoveryCodes: string[]
    try {
      recoveryCodes = (await twoFactor.regenerateRecoveryCodes(actor)).recoveryCodes
    } catch (error) {
      return securityError(request, reply, error)
    }
    return sendHtml(
      reply,
      <RecoveryCodesPage
        nav={await navFor(deps, reply, actor)}
        codes={recoveryCodes}
        notice="New recovery codes: the old ones no longer work."
        continueHref="/profile/security"
        continueLabel="Back to security"
      />,
    )
  })

  app.post(
    '/profile/security/passkeys/:id/rename',
    { schema: { params: PasskeyParams, body: NameBody } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      try {
        await passkeys.rename(actor, request.params.id, { name: request.body.name })
      } catch (error) {
        return securityError(request, reply, error, `passkey:${request.params.id}`)
      }
      return reply.redirect('/profile/security?saved=renamed', 303)
    },
  )

  app.post(
    '/profile/security/passkeys/:id/remove',
    { schema: { params: PasskeyParams } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      try {
        await passkeys.remove(actor, request.params.id)
      } catch (error) {
        return securityError(request, reply, error, `passkey:${request.params.id}`)
      }
      return reply.redirect('/profile/security?saved=removed', 303)
    },
  )

  // Re-authentication

  async function reauthenticatePage(
    request: FastifyRequest,
    reply: FastifyReply,
    next: string,
    errors?: Record<string, string>,
  ) {
    const actor = request.actor
    if (actor === undefined) return reply.redirect('/login', 302)
    const status = await twoFactor.status(actor)
    return sendHtml(
      reply,
      <ReauthenticatePage
        nav={await navFor(deps, reply, actor)}
        next={next}
        options={{
          password: status.hasPassword,
          totp: status.totpEnabled,
          passkeys: status.passkeys.length > 0,
        }}
        errors={errors}
      />,
      errors === undefined ? 200 : 422,
    )
  }

  app.get('/reauthenticate', { schema: { querystring: NextQuery } }, async (request, reply) => {
    const actor = requireActor(request, reply)
    if (actor === undefined) return reply
    return reauthenticatePage(request, reply, safeNext(request.query.next))
  })

  app.post('/reauthenticate', { schema: { body: ReauthBody } }, async (request, reply) => {
    const actor = requireActor(request, reply)
    if (actor === undefined) return reply
    const next = safeNext(request.body.next)
    try {
      await twoFactor.reauthenticate(actor, {
        password: request.body.password,
        code: request.body.code,
      })
    } catch (error) {
      if (error instanceof ValidationError)
        return reauthenticatePage(request, reply, next, { ...error.fields })
      throw error
    }
    return reply.redirect(next, 303)
  })

  // The account's requirement

  app.post(
    '/a/:accountId/settings/two-factor',
    {
      schema: { params: AccountParams, body: RequirementBody },
      config: { action: 'account.two-factor' },
    },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const accountId = request.params.accountId
      try {
        await twoFactor.setAccountRequirement(actor, accountId, request.body.required === 'on')
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error
        const { account, membership } = await deps.services.accounts.getAccount(actor, accountId)
        return sendHtml(
          reply,
          <AccountSettingsPage
            nav={await navFor(deps, reply, actor, accountId)}
            account={account}
            canEdit={membership.role === 'owner' || membership.role === 'admin'}
            twoFactor={{
              required: membership.accountRequiresTwoFactor,
              isOwner: membership.role === 'owner',
              error: error.message,
            }}
          />,
          409,
        )
      }
      return reply.redirect(`/a/${encodeURIComponent(accountId)}/settings?saved=1`, 303)
    },
  )

  // WebAuthn ceremonies, answered in JSON to the passkey script

  app.post(
    '/webauthn/registration/options',
    { schema: { body: RegistrationOptionsBody } },
    async (request, reply) => {
      if (request.body.purpose === 'enrol')
        return reply.send(await passkeys.enrolOptions(readPending(deps, request, 'enrol')))
      const actor = request.actor
      if (actor === undefined) throw new UnauthenticatedError()
      return reply.send(await passkeys.registrationOptions(actor))
    },
  )

  app.post(
    '/webauthn/registration',
    { schema: { body: RegistrationBody } },
    async (request, reply) => {
      const input = {
        flow: request.body.flow,
        name: request.body.name,
        response: request.body.response,
      }
      if (request.body.purpose === 'enrol') {
        const { token } = await passkeys.enrol(
          readPending(deps, request, 'enrol'),
          input,
          originOf(request),
          readSessionToken(deps, request),
        )
        clearPending(deps, reply)
        setSessionCookie(deps, reply, token)
        return reply.send({ redirect: '/dashboard' })
      }
      const actor = request.actor
      if (actor === undefined) throw new UnauthenticatedError()
      await passkeys.add(actor, input)
      return reply.send({ redirect: '/profile/security?saved=passkey' })
    },
  )

  app.post(
    '/webauthn/authentication/options',
    { schema: { body: AuthenticationOptionsBody } },
    async (request, reply) => {
      switch (request.body.purpose) {
        case 'sign_in':
          return reply.send(await passkeys.signInOptions())
        case 'second_factor':
          return reply.send(
            await passkeys.secondFactorOptions(readPending(deps, request, 'second-factor')),
          )
        case 'reauthenticate': {
          const actor = request.actor
          if (actor === undefined) throw new UnauthenticatedError()
          return reply.send(await passkeys.reauthenticationOptions(actor))
        }
      }
    },
  )

  app.post(
    '/webauthn/authentication',
    { schema: { body: AuthenticationBody } },
    async (request, reply) => {
      const input = { flow: request.body.flow, response: request.body.response }
      switch (request.body.purpose) {
        case 'sign_in': {
          const { token } = await passkeys.signIn(
            input,
            originOf(request),
            readSessionToken(deps, request),
          )
          clearPending(deps, reply)
          setSessionCookie(deps, reply, token)
          return reply.send({ redirect: '/dashboard' })
        }
        case 'second_factor': {
          const { token } = await passkeys.completeSecondFactor(
            readPending(deps, request, 'second-factor'),
            input,
            originOf(request),
            readSessionToken(deps, request),
          )
          clearPending(deps, reply)
          setSessionCookie(deps, reply, token)
          return reply.send({ redirect: '/dashboard' })
        }
        case 'reauthenticate': {
          const actor = request.actor
          if (actor === undefined) throw new UnauthenticatedError()
          await passkeys.reauthenticate(actor, input)
          return reply.send({ redirect: safeNext(request.body.next) })
        }
      }
    },
  )
}
