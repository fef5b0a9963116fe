import { Type } from '@sinclair/typebox'
import type { FastifyReply } from 'fastify'
import type { SamlConfig, SamlSettingsInput } from '../../auth/sso/saml.js'
import { hasControlCharacters } from '../../auth/sso/saml-metadata.js'
import type { SsoConnection } from '../../auth/sso/sso-connections.js'
import type { Actor } from '../../domain/actor.js'
import { ValidationError } from '../../domain/errors.js'
import type { App, ServerDeps } from '../app-type.js'
import { MessagePage } from '../views/auth-pages.js'
import { SamlConnectionPage, type SamlFormValues } from '../views/saml-views.js'
import {
  navFor,
  originOf,
  readSessionToken,
  requireActor,
  sendHtml,
  setSessionCookie,
} from './html.js'

const text = (maxLength: number) => Type.Optional(Type.String({ maxLength }))
const Id = Type.String({ minLength: 1, maxLength: 64 })
const ConnectionParams = Type.Object({ connectionId: Id })
const AccountParams = Type.Object({ accountId: Id })
const SettingsParams = Type.Object({ accountId: Id, connectionId: Id })
const StartQuery = Type.Object({ next: text(1024) })
const AcsBody = Type.Object({ SAMLResponse: text(400_000), RelayState: text(1024) })
const SloQuery = Type.Object({
  SAMLRequest: text(100_000),
  SAMLResponse: text(100_000),
  RelayState: text(1024),
  Signature: text(4096),
  SigAlg: text(256),
})
const SettingsBody = Type.Object({
  _csrf: text(256),
  name: text(200),
  enabled: text(8),
  allowedDomains: text(5000),
  jitEnabled: text(8),
  defaultRole: text(16),
  metadataXml: text(200_000),
  idpEntityId: text(2000),
  idpSsoUrl: text(4000),
  idpSloUrl: text(4000),
  idpCertificates: text(50_000),
  attributeEmail: text(300),
  attributeName: text(300),
})
const DeleteBody = Type.Object({ _csrf: text(256) })
const NoticeQuery = Type.Object({ saved: text(16) })

/** SAMLResponse and metadata XML are larger than the usual form. */
const SAML_BODY_LIMIT = 512 * 1024

const NOTICES: Record<string, string> = {
  created: 'SAML connection created. Give the values below to your identity provider.',
  updated: 'SAML connection saved.',
}

/**
 * Where a signed-in person may be sent after SSO: a path of this site only (not `//host`, not
 * `/\host`, which browsers read as another origin).
 */
export function safeRelayPath(value: string | undefined): string | undefined {
  if (value === undefined || value === '' || value.length > 1024) return undefined
  if (!value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return undefined
  if (value.includes('\\') || hasControlCharacters(value)) return undefined
  // Printable ASCII only: anything else cannot go into a Location header as it is.
  if (!/^[\x21-\x7e]+$/.test(value)) return undefined
  return value
}

/**
 * Single log-out started here: for a session an IdP signed in, the IdP URL with a LogoutRequest
 * to send the browser to once Candor's own session is ended; undefined otherwise.
 */
export async function samlLogoutRedirect(
  deps: ServerDeps,
  actor: Actor | undefined,
): Promise<string | undefined> {
  if (actor?.session?.ssoConnectionId == null) return undefined
  const { sessions, ssoSignIn, saml } = deps.services
  try {
    const link = await sessions.ssoLogoutDetails(actor.sessionIdHash)
    if (link?.logoutCiphertext == null) return undefined
    return await saml.logoutRequestUrl(
      link.connectionId,
      ssoSignIn.logoutDetails(link.logoutCiphertext),
    )
  } catch (error) {
    // Signing out of Candor never fails because the IdP's side cannot be reached.
    deps.logger.warn({ err: error }, 'SAML log-out request not built')
    return undefined
  }
}

/** SAML's public endpoints (metadata, sign-in, ACS, single log-out) and its settings pages. */
export function registerSamlRoutes(app: App, deps: ServerDeps): void {
  const { saml, ssoSignIn } = deps.services

  app.get(
    '/sso/saml/:connectionId/metadata',
    { schema: { params: ConnectionParams } },
    async (request, reply) => {
      const xml = await saml.metadata(request.params.connectionId)
      if (xml === undefined) return reply.callNotFound()
      return reply
        .header('Cache-Control', 'public, max-age=300')
        .type('application/samlmetadata+xml; charset=utf-8')
        .send(xml)
    },
  )

  app.get(
    '/sso/saml/:connectionId/start',
    { schema: { params: ConnectionParams, querystring: StartQuery } },
    async (request, reply) => {
      const url = await saml.startLogin(
        request.params.connectionId,
        safeRelayPath(request.query.next),
      )
      return reply.redirect(url, 302)
    },
  )

  // The IdP's page posts here from its own origin: the signed assertion is the proof, not a
  // CSRF token (which the IdP cannot have).
  app.post(
    '/sso/saml/:connectionId/acs',
    {
      config: { csrf: false },
      bodyLimit: SAML_BODY_LIMIT,
      schema: { params: ConnectionParams, body: AcsBody },
    },
    async (request, reply) => {
      const { connection, identity } = await saml.verifyResponse(
        request.params.connectionId,
        request.body.SAMLResponse ?? '',
      )
      const { token, accountId } = await ssoSignIn.signIn(connection, identity, originOf(request))
      // A new session at every sign-in: whatever session the browser had before is ended.
      const previous = readSessionToken(deps, request)
      if (previous !== undefined) await deps.services.auth.signOut(previous)
      setSessionCookie(deps, reply, token)
      const next = safeRelayPath(request.body.RelayState) ?? `/a/${encodeURIComponent(accountId)}`
      return reply.redirect(next, 303)
    },
  )

  app.get(
    '/sso/saml/:connectionId/slo',
    { schema: { params: ConnectionParams, querystring: SloQuery } },
    async (request, reply) => {
      const rawQuery = request.url.includes('?')
        ? request.url.slice(request.url.indexOf('?') + 1)
        : ''
      const message = await saml.verifyLogoutMessage(
        request.params.connectionId,
        request.query,
        rawQuery,
      )
      if (message.kind === 'response')
        return sendHtml(
          reply,
          <MessagePage
            title="Signed out"
            message="You are signed out of Candor and of your identity provider."
            link={{ href: '/login', label: 'Sign in again' }}
          />,
        )
      await ssoSignIn.logOutFromIdp(
        message.connection,
        message.nameID,
        message.sessionIndexes,
        originOf(request),
      )
      if (message.connection.config.idpSloUrl === null)
        return sendHtml(
          reply,
          <MessagePage
            title="Signed out"
            message="Your identity provider signed you out of Candor."
            link={{ href: '/login', label: 'Sign in again' }}
          />,
        )
      return reply.redirect(await message.respond(request.query.RelayState), 302)
    },
  )

  registerSamlSettingsRoutes(app, deps)
}

function registerSamlSettingsRoutes(app: App, deps: ServerDeps): void {
  const { saml, ssoSettings } = deps.services
  const settingsBase = (accountId: string) => `/a/${encodeURIComponent(accountId)}/settings/sso`

  async function render(
    reply: FastifyReply,
    actor: Actor,
    accountId: string,
    connection: SsoConnection<SamlConfig> | undefined,
    extra: {
      values?: SamlFormValues
      errors?: Readonly<Record<string, string>>
      notice?: string | undefined
    } = {},
    status = 200,
  ): Promise<FastifyReply> {
    return sendHtml(
      reply,
      <SamlConnectionPage
        nav={await navFor(deps, reply, actor, accountId)}
        accountId={accountId}
        connection={
          connection === undefined
            ? undefined
            : {
                id: connection.id,
                name: connection.name,
                configured: saml.isConfigured(connection.config),
              }
        }
        sp={connection === undefined ? undefined : saml.spUrls(connection.id)}
        values={extra.values ?? formValues(connection)}
        errors={extra.errors}
        notice={extra.notice}
        settingsUrl={settingsBase(accountId)}
      />,
      status,
    )
  }

  app.get(
    '/a/:accountId/settings/sso/saml/new',
    { config: { action: 'sso.read' }, schema: { params: AccountParams } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      // Admins and the owner only: editors get 403, other accounts 404.
      await ssoSettings.settings(actor, request.params.accountId)
      return render(reply, actor, request.params.accountId, undefined)
    },
  )

  app.post(
    '/a/:accountId/settings/sso/saml/new',
    {
      config: { action: 'sso.write' },
      bodyLimit: SAML_BODY_LIMIT,
      schema: { params: AccountParams, body: SettingsBody },
    },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { accountId } = request.params
      try {
        const created = await saml.save(actor, accountId, undefined, settingsInput(request.body))
        return await reply.redirect(
          `${settingsBase(accountId)}/saml/${encodeURIComponent(created.id)}?saved=created`,
          303,
        )
      } catch (error) {
        if (error instanceof ValidationError)
          return render(
            reply,
            actor,
            accountId,
            undefined,
            { values: postedValues(request.body), errors: error.fields },
            400,
          )
        throw error
      }
    },
  )

  app.get(
    '/a/:accountId/settings/sso/saml/:connectionId',
    {
      config: { action: 'sso.read-connection' },
      schema: { params: SettingsParams, querystring: NoticeQuery },
    },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { accountId, connectionId } = request.params
      const connection = await saml.get(actor, accountId, connectionId)
      const saved = request.query.saved
      return render(reply, actor, accountId, connection, {
        notice: saved === undefined ? undefined : NOTICES[saved],
      })
    },
  )

  app.post(
    '/a/:accountId/settings/sso/saml/:connectionId',
    {
      config: { action: 'sso.write' },
      bodyLimit: SAML_BODY_LIMIT,
      schema: { params: SettingsParams, body: SettingsBody },
    },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { accountId, connectionId } = request.params
      const connection = await saml.get(actor, accountId, connectionId)
      try {
        await saml.save(actor, accountId, connectionId, settingsInput(request.body))
        return await reply.redirect(
          `${settingsBase(accountId)}/saml/${encodeURIComponent(connectionId)}?saved=updated`,
          303,
        )
      } catch (error) {
        if (error instanceof ValidationError)
          return render(
            reply,
            actor,
            accountId,
            connection,
            { values: postedValues(request.body), errors: error.fields },
            400,
          )
        throw error
      }
    },
  )

  app.post(
    '/a/:accountId/settings/sso/saml/:connectionId/delete',
    { config: { action: 'sso.write' }, schema: { params: SettingsParams, body: DeleteBody } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { accountId, connectionId } = request.params
      await saml.get(actor, accountId, connectionId)
      await saml.remove(actor, accountId, connectionId)
      return reply.redirect(settingsBase(accountId), 303)
    },
  )
}

type SettingsForm = {
  [K in keyof SamlFormValues]?: string | undefined
}

function settingsInput(body: SettingsForm): SamlSettingsInput {
  return {
    name: body.name,
    enabled: body.enabled,
    allowedDomains: body.allowedDomains,
    jitEnabled: body.jitEnabled,
    defaultRole: body.defaultRole,
    metadataXml: body.metadataXml,
    idpEntityId: body.idpEntityId,
    idpSsoUrl: body.idpSsoUrl,
    idpSloUrl: body.idpSloUrl,
    idpCertificates: body.idpCertificates,
    attributeEmail: body.attributeEmail,
    attributeName: body.attributeName,
  }
}

function postedValues(body: SettingsForm): SamlFormValues {
  return {
    name: body.name ?? '',
    enabled: body.enabled ?? '',
    allowedDomains: body.allowedDomains ?? '',
    jitEnabled: body.jitEnabled ?? '',
    defaultRole: body.defaultRole ?? 'viewer',
    metadataXml: body.metadataXml ?? '',
    idpEntityId: body.idpEntityId ?? '',
    idpSsoUrl: body.idpSsoUrl ?? '',
    idpSloUrl: body.idpSloUrl ?? '',
    idpCertificates: body.idpCertificates ?? '',
    attributeEmail: body.attributeEmail ?? '',
    attributeName: body.attributeName ?? '',
  }
}

function formValues(connection: SsoConnection<SamlConfig> | undefined): SamlFormValues {
  if (connection === undefined)
    return {
      name: '',
      enabled: '',
      allowedDomains: '',
      jitEnabled: '',
      defaultRole: 'viewer',
      metadataXml: '',
      idpEntityId: '',
      idpSsoUrl: '',
      idpSloUrl: '',
      idpCertificates: '',
      attributeEmail: '',
      attributeName: '',
    }
  const config = connection.config
  return {
    name: connection.name,
    enabled: connection.enabled ? 'true' : '',
    allowedDomains: connection.allowedDomains.join(', '),
    jitEnabled: connection.jitEnabled ? 'true' : '',
    defaultRole: connection.defaultRole,
    metadataXml: '',
    idpEntityId: config.idpEntityId,
    idpSsoUrl: config.idpSsoUrl,
    idpSloUrl: config.idpSloUrl ?? '',
    idpCertificates: config.idpCertificates.join(''),
    attributeEmail: config.attributeEmail ?? '',
    attributeName: config.attributeName ?? '',
  }
}
