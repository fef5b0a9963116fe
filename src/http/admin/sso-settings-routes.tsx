import { Type } from '@sinclair/typebox'
import type { FastifyReply } from 'fastify'
import type { OidcConnectionConfig, OidcProtocol } from '../../auth/oidc/oidc-config.js'
import { isOidcProtocol } from '../../auth/oidc/oidc-config.js'
import type { SsoConnection } from '../../auth/sso/sso-connections.js'
import type { Actor } from '../../domain/actor.js'
import { REAUTHENTICATION_REQUIRED } from '../../domain/accounts/reauthentication.js'
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  ValidationError,
} from '../../domain/errors.js'
import type { App, ServerDeps } from '../app-type.js'
import {
  OidcConnectionFormPage,
  SsoSettingsPage,
  type OidcFormValues,
  type SsoConnectionRow,
} from '../views/sso-views.js'
import { navFor, requireActor, sendHtml } from './html.js'

const text = (maxLength: number) => Type.Optional(Type.String({ maxLength }))
const AccountParams = Type.Object({ accountId: Type.String({ minLength: 1, maxLength: 64 }) })
const ConnectionParams = Type.Object({
  accountId: Type.String({ minLength: 1, maxLength: 64 }),
  connectionId: Type.String({ minLength: 1, maxLength: 64 }),
})
const ListQuery = Type.Object({ saved: text(16) })
const NewQuery = Type.Object({ protocol: text(16) })
const OidcBody = Type.Object({
  _csrf: text(256),
  protocol: text(16),
  name: text(300),
  enabled: text(8),
  issuer: text(1000),
  clientId: text(1000),
  clientSecret: text(4096),
  hostedDomain: text(300),
  scopes: text(1000),
  allowedDomains: text(4000),
  jitEnabled: text(8),
  defaultRole: text(16),
})
const EnforceBody = Type.Object({ _csrf: text(256), enforced: text(8) })

const NOTICES: Readonly<Record<string, string>> = {
  created: 'Identity provider added.',
  updated: 'Identity provider saved.',
  deleted: 'Identity provider deleted.',
  enforced: 'Single sign-on is now enforced.',
  unenforced: 'Single sign-on is no longer enforced.',
}

type OidcBodyValues = {
  [K in keyof OidcFormValues]?: string | undefined
}

export function registerSsoSettingsRoutes(app: App, deps: ServerDeps): void {
  const { ssoSettings, oidc, accounts } = deps.services
  const basePath = (accountId: string) => `/a/${encodeURIComponent(accountId)}/settings/sso`

  function rowOf(accountId: string, connection: SsoConnection): SsoConnectionRow {
    const id = encodeURIComponent(connection.id)
    return {
      id: connection.id,
      name: connection.name,
      protocol: connection.protocol,
      enabled: connection.enabled,
      allowedDomains: connection.allowedDomains,
      jitEnabled: connection.jitEnabled,
      defaultRole: connection.defaultRole,
      registration:
        connection.protocol === 'saml'
          ? new URL(`/sso/saml/${id}/metadata`, deps.config.baseUrl).href
          : oidc.redirectUri(connection.id),
      editHref: isOidcProtocol(connection.protocol)
        ? `${basePath(accountId)}/oidc/${id}`
        : `${basePath(accountId)}/saml/${id}`,
    }
  }

  async function sendList(
    reply: FastifyReply,
    actor: Actor,
    accountId: string,
    extra: { notice?: string | undefined; error?: string | undefined; reauthenticate?: boolean },
    status = 200,
  ): Promise<FastifyReply> {
    const settings = await ssoSettings.settings(actor, accountId)
    const { membership } = await accounts.getAccount(actor, accountId)
    const base = basePath(accountId)
    return sendHtml(
      reply,
      <SsoSettingsPage
        nav={await navFor(deps, reply, actor, accountId)}
        accountId={accountId}
        connections={settings.connections.map((connection) => rowOf(accountId, connection))}
        ssoEnforced={settings.ssoEnforced}
        isOwner={membership.role === 'owner'}
        notice={extra.notice}
        error={extra.error}
        reauthenticateHref={
          extra.reauthenticate === true
            ? `/reauthenticate?next=${encodeURIComponent(base)}`
            : undefined
        }
      />,
      status,
    )
  }

  async function sendForm(
    reply: FastifyReply,
    actor: Actor,
    accountId: string,
    form: {
      protocol: OidcProtocol
      connectionId?: string | undefined
      values: OidcFormValues
      hasSecret: boolean
      errors?: Readonly<Record<string, string>> | undefined
    },
    status = 200,
  ): Promise<FastifyReply> {
    return sendHtml(
      reply,
      <OidcConnectionFormPage
        nav={await navFor(deps, reply, actor, accountId)}
        accountId={accountId}
        protocol={form.protocol}
        connectionId={form.connectionId}
        values={form.values}
        hasSecret={form.hasSecret}
        redirectUri={
          form.connectionId === undefined ? undefined : oidc.redirectUri(form.connectionId)
        }
        errors={form.errors}
      />,
      status,
    )
  }

  async function oidcConnection(
    actor: Actor,
    accountId: string,
    connectionId: string,
  ): Promise<SsoConnection<OidcConnectionConfig>> {
    const connection = await ssoSettings.get(actor, accountId, connectionId)
    if (!isOidcProtocol(connection.protocol)) throw new NotFoundError('The SSO connection')
    // The config of an OpenID Connect connection was written by oidcConfigChecker.
    return connection as SsoConnection<OidcConnectionConfig>
  }

  /** Saves the form; a validation problem shows the form again, without the secret. */
  async function saveForm(
    reply: FastifyReply,
    actor: Actor,
    accountId: string,
    protocol: OidcProtocol,
    body: OidcBodyValues & { clientSecret?: string | undefined },
    previous: SsoConnection<OidcConnectionConfig> | undefined,
  ): Promise<FastifyReply> {
    try {
      await ssoSettings.save(actor, accountId, {
        id: previous?.id,
        protocol,
        common: {
          name: body.name,
          enabled: body.enabled,
          allowedDomains: body.allowedDomains,
          jitEnabled: body.jitEnabled,
          defaultRole: body.defaultRole,
        },
        checkConfig: oidc.configChecker(protocol, {
          issuer: body.issuer,
          clientId: body.clientId,
          clientSecret: body.clientSecret,
          hostedDomain: body.hostedDomain,
          scopes: body.scopes,
        }),
      })
    } catch (error) {
      if (error instanceof ValidationError)
        return sendForm(
          reply,
          actor,
          accountId,
          {
            protocol,
            connectionId: previous?.id,
            values: {
              name: body.name ?? '',
              enabled: body.enabled !== undefined,
              clientId: body.clientId ?? '',
              issuer: body.issuer ?? '',
              hostedDomain: body.hostedDomain ?? '',
              scopes: body.scopes ?? '',
              allowedDomains: body.allowedDomains ?? '',
              jitEnabled: body.jitEnabled !== undefined,
              defaultRole: body.defaultRole ?? 'viewer',
            },
            hasSecret: previous !== undefined,
            errors: error.fields,
          },
          422,
        )
      throw error
    }
    return reply.redirect(
      `${basePath(accountId)}?saved=${previous === undefined ? 'created' : 'updated'}`,
      303,
    )
  }

  app.get(
    '/a/:accountId/settings/sso',
    { config: { action: 'sso.read' }, schema: { params: AccountParams, querystring: ListQuery } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const saved = request.query.saved
      return sendList(reply, actor, request.params.accountId, {
        notice: saved === undefined ? undefined : NOTICES[saved],
      })
    },
  )

  app.get(
    '/a/:accountId/settings/sso/oidc/new',
    { config: { action: 'sso.read' }, schema: { params: AccountParams, querystring: NewQuery } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { accountId } = request.params
      await ssoSettings.settings(actor, accountId)
      const protocol = request.query.protocol === 'oidc' ? 'oidc' : 'google'
      return sendForm(reply, actor, accountId, {
        protocol,
        values: {
          name: protocol === 'google' ? 'Google' : '',
          enabled: true,
          clientId: '',
          issuer: '',
          hostedDomain: '',
          scopes: 'openid email profile',
          allowedDomains: '',
          jitEnabled: false,
          defaultRole: 'viewer',
        },
        hasSecret: false,
      })
    },
  )

  app.post(
    '/a/:accountId/settings/sso/oidc',
    { config: { action: 'sso.write' }, schema: { params: AccountParams, body: OidcBody } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { accountId } = request.params
      const protocol = request.body.protocol
      if (protocol === undefined || !isOidcProtocol(protocol)) {
        // Authorised before the form is judged: someone outside the account learns nothing.
        await ssoSettings.settings(actor, accountId)
        throw new ValidationError({ protocol: 'Choose Google or OpenID Connect.' })
      }
      return saveForm(reply, actor, accountId, protocol, request.body, undefined)
    },
  )

  app.get(
    '/a/:accountId/settings/sso/oidc/:connectionId',
    { config: { action: 'sso.read-connection' }, schema: { params: ConnectionParams } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { accountId, connectionId } = request.params
      const connection = await oidcConnection(actor, accountId, connectionId)
      const protocol = connection.protocol === 'google' ? 'google' : 'oidc'
      return sendForm(reply, actor, accountId, {
        protocol,
        connectionId: connection.id,
        values: {
          name: connection.name,
          enabled: connection.enabled,
          clientId: connection.config.clientId,
          issuer: connection.config.issuer ?? '',
          hostedDomain: connection.config.hostedDomain ?? '',
          scopes: connection.config.scopes.join(' '),
          allowedDomains: connection.allowedDomains.join(', '),
          jitEnabled: connection.jitEnabled,
          defaultRole: connection.defaultRole,
        },
        hasSecret: true,
      })
    },
  )

  app.post(
    '/a/:accountId/settings/sso/oidc/:connectionId',
    { config: { action: 'sso.write' }, schema: { params: ConnectionParams, body: OidcBody } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { accountId, connectionId } = request.params
      const previous = await oidcConnection(actor, accountId, connectionId)
      const protocol = previous.protocol === 'google' ? 'google' : 'oidc'
      return saveForm(reply, actor, accountId, protocol, request.body, previous)
    },
  )

  app.post(
    '/a/:accountId/settings/sso/:connectionId/delete',
    { config: { action: 'sso.write' }, schema: { params: ConnectionParams } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { accountId, connectionId } = request.params
      try {
        await ssoSettings.remove(actor, accountId, connectionId)
      } catch (error) {
        if (error instanceof ConflictError)
          return sendList(reply, actor, accountId, { error: error.message }, 409)
        throw error
      }
      return reply.redirect(`${basePath(accountId)}?saved=deleted`, 303)
    },
  )

  app.post(
    '/a/:accountId/settings/sso/enforcement',
    { config: { action: 'sso.write' }, schema: { params: AccountParams, body: EnforceBody } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { accountId } = request.params
      const enforced = request.body.enforced === 'true'
      try {
        await ssoSettings.setEnforced(actor, accountId, enforced)
      } catch (error) {
        if (error instanceof ConflictError)
          return sendList(reply, actor, accountId, { error: error.message }, 409)
        // A member below admin is refused again (403) when the page is drawn.
        if (error instanceof ForbiddenError)
          return sendList(
            reply,
            actor,
            accountId,
            {
              error: error.message,
              reauthenticate: error.code === REAUTHENTICATION_REQUIRED,
            },
            403,
          )
        throw error
      }
      return reply.redirect(
        `${basePath(accountId)}?saved=${enforced ? 'enforced' : 'unenforced'}`,
        303,
      )
    },
  )
}
