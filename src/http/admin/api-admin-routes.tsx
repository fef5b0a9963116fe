import { Type } from '@sinclair/typebox'
import type { FastifyReply } from 'fastify'
import type { ApiKey } from '../../domain/api-keys/api-key-service.js'
import type { Actor } from '../../domain/actor.js'
import { NotFoundError, ValidationError } from '../../domain/errors.js'
import type { App, ServerDeps } from '../app-type.js'
import { ApiReferencePage } from '../views/api-reference-views.js'
import { ApiKeysPage, type ApiKeyFormValues } from '../views/api-key-views.js'
import { buildApiReference, type ApiReference } from './api-reference.js'
import { navFor, requireActor, sendHtml } from './html.js'

const text = (maxLength: number) => Type.Optional(Type.String({ maxLength }))
const Id = Type.String({ minLength: 1, maxLength: 64 })
const AccountParams = Type.Object({ accountId: Id })
const KeyParams = Type.Object({ accountId: Id, keyId: Id })
const CreateBody = Type.Object({
  _csrf: text(256),
  name: text(200),
  scope: text(16),
  pageIds: Type.Optional(
    Type.Union([
      Type.String({ maxLength: 64 }),
      Type.Array(Type.String({ maxLength: 64 }), { maxItems: 100 }),
    ]),
  ),
  expiresAt: text(32),
})
const RevokeBody = Type.Object({ _csrf: text(256) })
const NoticeQuery = Type.Object({ saved: text(16) })

const NOTICES: Record<string, string> = {
  revoked: 'API key revoked: requests with it are refused from now on.',
}

/** The dashboard's API keys page (admins and owners) and the API reference (every member). */
export function registerApiAdminRoutes(app: App, deps: ServerDeps): void {
  const { apiKeys, accounts, pages } = deps.services
  const apiUrl = new URL('/api/v1', deps.config.baseUrl).toString()

  async function renderKeys(
    reply: FastifyReply,
    actor: Actor,
    accountId: string,
    extra: {
      values?: ApiKeyFormValues
      errors?: Readonly<Record<string, string>>
      created?: { key: ApiKey; secret: string }
      notice?: string | undefined
    } = {},
    status = 200,
  ): Promise<FastifyReply> {
    // The list checks the role first: viewers and editors get 403, other accounts 404.
    const keys = await apiKeys.list(actor, accountId)
    const [pageList, members] = await Promise.all([
      pages.list(actor, accountId),
      accounts.listMembers(actor, accountId),
    ])
    return sendHtml(
      reply,
      <ApiKeysPage
        nav={await navFor(deps, reply, actor, accountId)}
        accountId={accountId}
        keys={keys}
        pages={pageList.map((p) => ({ id: p.id, name: p.name }))}
        people={new Map(members.map((m) => [m.userId, m.name]))}
        now={new Date()}
        apiUrl={apiUrl}
        values={extra.values}
        errors={extra.errors}
        created={extra.created}
        notice={extra.notice}
      />,
      status,
    )
  }

  app.get(
    '/a/:accountId/api-keys',
    {
      config: { action: 'api-key.manage' },
      schema: { params: AccountParams, querystring: NoticeQuery },
    },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const saved = request.query.saved
      return renderKeys(reply, actor, request.params.accountId, {
        notice: saved === undefined ? undefined : NOTICES[saved],
      })
    },
  )

  app.post(
    '/a/:accountId/api-keys',
    { config: { action: 'api-key.manage' }, schema: { params: AccountParams, body: CreateBody } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { accountId } = request.params
      const body = request.body
      const pageIds =
        body.pageIds === undefined
          ? []
          : Array.isArray(body.pageIds)
            ? body.pageIds
            : [body.pageIds]
      const values: ApiKeyFormValues = {
        name: body.name ?? '',
        scope: body.scope ?? '',
        pageIds,
        expiresAt: body.expiresAt ?? '',
      }
      const expiresAt = values.expiresAt.trim()
      try {
        const created = await apiKeys.create(actor, accountId, {
          name: values.name,
          scope: values.scope,
          pageIds: pageIds.length === 0 ? null : pageIds,
          // A date alone is midnight UTC of that day.
          expiresAt: /^\d{4}-\d{2}-\d{2}$/.test(expiresAt)
            ? `${expiresAt}T00:00:00Z`
            : expiresAt === ''
              ? null
              : expiresAt,
        })
        // The secret is in this answer only: never in a redirect, a log line or a later page.
        return await renderKeys(reply, actor, accountId, { created }, 201)
      } catch (error) {
        if (error instanceof ValidationError)
          return renderKeys(reply, actor, accountId, { values, errors: error.fields }, 422)
        throw error
      }
    },
  )

  app.post(
    '/a/:accountId/api-keys/:keyId/revoke',
    { config: { action: 'api-key.manage' }, schema: { params: KeyParams, body: RevokeBody } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { accountId, keyId } = request.params
      const keys = await apiKeys.list(actor, accountId)
      if (!keys.some((key) => key.id === keyId)) throw new NotFoundError('The API key')
      await apiKeys.revoke(actor, keyId)
      return reply.redirect(`/a/${encodeURIComponent(accountId)}/api-keys?saved=revoked`, 303)
    },
  )

  // The document is generated once, when the routes are ready, and does not change afterwards.
  let reference: Promise<ApiReference> | undefined
  const loadReference = async (): Promise<ApiReference> => {
    const response = await app.inject({ method: 'GET', url: '/api/v1/openapi.json' })
    if (response.statusCode !== 200)
      throw new Error(`The OpenAPI document answered ${String(response.statusCode)}`)
    return buildApiReference(response.json())
  }

  app.get(
    '/a/:accountId/api-reference',
    { config: { action: 'account.read' }, schema: { params: AccountParams } },
    async (request, reply) => {
      const actor = requireActor(request, reply)
      if (actor === undefined) return reply
      const { account } = await accounts.getAccount(actor, request.params.accountId)
      reference ??= loadReference().catch((error: unknown) => {
        reference = undefined
        throw error
      })
      return sendHtml(
        reply,
        <ApiReferencePage
          nav={await navFor(deps, reply, actor, account.id)}
          reference={await reference}
          accountId={account.id}
        />,
      )
    },
  )
}
