import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { RequestOrigin } from '../../domain/actor.js'
import { NotFoundError, RateLimitedError, ValidationError } from '../../domain/errors.js'
import { LOCALES, type Component, type Locale } from '../../domain/pages/types.js'
import type { ManageView } from '../../domain/subscribers/subscriber-service.js'
import type { App, ServerDeps } from '../app-type.js'
import {
  localizedErrors,
  renderConfirmSubscriptionPage,
  renderConfirmedPage,
  renderConfirmUnsubscribePage,
  renderErasedPage,
  renderLinkExpiredPage,
  renderManagePage,
  renderMemberPage,
  renderRateLimitedPage,
  renderSubscribePage,
  renderSubscribeSentPage,
  renderUnsubscribedPage,
  say,
  subscriptionPath,
  type FieldErrors,
  type SurfacePage,
} from '../views/subscription-pages.js'
import { PAGE_HOST_PREFIX, type OpenPage } from './public-routes.js'
import type { PublicRenderContext } from './views/context.js'

const text = (maxLength: number) => Type.Optional(Type.String({ maxLength }))
const componentIds = Type.Optional(
  Type.Union([
    Type.String({ maxLength: 64 }),
    Type.Array(Type.String({ maxLength: 64 }), { maxItems: 500 }),
  ]),
)
const LangQuery = Type.Object({ lang: text(8), saved: text(16) })
const SubscribeBody = Type.Object({
  _csrf: text(256),
  email: text(320),
  componentIds,
  consentVersion: text(64),
  website: text(500),
})
const EmailBody = Type.Object({ _csrf: text(256), email: text(320) })
const TokenParams = Type.Object({ token: Type.String({ minLength: 1, maxLength: 512 }) })
const UpdateBody = Type.Object({ _csrf: text(256), componentIds })
const EraseBody = Type.Object({ _csrf: text(256), confirm: text(8) })

const HTML = 'text/html; charset=utf-8'

function asList(value: string | readonly string[] | undefined): string[] {
  if (value === undefined) return []
  return typeof value === 'string' ? [value] : [...value]
}

function requestedLocale(request: FastifyRequest): Locale | undefined {
  const lang = (request.query as { lang?: unknown } | undefined)?.lang
  return typeof lang === 'string' && (LOCALES as readonly string[]).includes(lang)
    ? (lang as Locale)
    : undefined
}

/** For a link that names no page (expired, tampered): the address's ?lang, else the browser's. */
function browserLocale(request: FastifyRequest): Locale {
  const requested = requestedLocale(request)
  if (requested !== undefined) return requested
  const accept = request.headers['accept-language'] ?? ''
  return /^\s*fr\b/i.test(accept) ? 'fr' : 'en'
}

function originOf(request: FastifyRequest): RequestOrigin {
  const userAgent = request.headers['user-agent']
  return { ip: request.ip, userAgent: typeof userAgent === 'string' ? userAgent.slice(0, 512) : '' }
}

function sendPage(reply: FastifyReply, html: string, status = 200): FastifyReply {
  return reply.code(status).type(HTML).send(html)
}

/**
 * The subscriber's routes. On each page's surfaces (/p/<slug>/subscribe and /subscribe on the
 * page's own host), behind the page's visibility gate: the subscribe form and the "email me a
 * manage link" form. On the main host, the links of our emails, whose signed token is the only
 * authorization: confirm, manage, one-click unsubscribe (RFC 8058), export and erase.
 */
export function registerSubscriptionRoutes(app: App, deps: ServerDeps, openPage: OpenPage): void {
  const { subscribers, publicPages } = deps.services

  // -------------------------------------------------------------------------------------------
  // The subscribe form, on the page's surfaces
  // -------------------------------------------------------------------------------------------

  interface Opened {
    pageId: string
    ctx: PublicRenderContext
    lang: Locale | undefined
    surface: SurfacePage
    components: Component[]
  }

  /** The page behind its gate, with what the forms show; undefined when the gate answered. */
  async function open(
    request: FastifyRequest,
    reply: FastifyReply,
    kind: 'html' | 'resource',
  ): Promise<Opened | undefined> {
    const opened = await openPage(request, reply, kind)
    if (opened === undefined) return undefined
    const snapshot = await publicPages.snapshot(opened.address.pageId)
    if (snapshot === undefined) {
      reply.callNotFound()
      return undefined
    }
    const lang = requestedLocale(request)
    return {
      pageId: snapshot.page.id,
      lang,
      ctx: { basePath: opened.basePath, locale: lang ?? snapshot.page.locale, now: new Date() },
      surface: { page: snapshot.page, version: snapshot.version },
      components: snapshot.components,
    }
  }

  async function renderForm(
    reply: FastifyReply,
    page: Opened,
    form: {
      values?: { email?: string | undefined; componentIds?: readonly string[] }
      errors?: FieldErrors
      manageErrors?: FieldErrors
      manageEmail?: string | undefined
    },
    status = 200,
  ): Promise<FastifyReply> {
    const { consentText, consentVersion } = await subscribers.subscribeForm(page.pageId)
    return sendPage(
      reply,
      renderSubscribePage({
        ctx: page.ctx,
        lang: page.lang,
        surface: page.surface,
        components: page.components,
        consentText,
        consentVersion,
        csrfToken: reply.generateCsrf(),
        ...form,
      }),
      status,
    )
  }

  function rateLimited(reply: FastifyReply, page: Opened, error: RateLimitedError): FastifyReply {
    void reply.header('Retry-After', String(error.retryAfterSeconds))
    return sendPage(
      reply,
      renderRateLimitedPage(page.ctx, page.surface, error.retryAfterSeconds),
      429,
    )
  }

  for (const prefix of ['/p/:slug', `${PAGE_HOST_PREFIX}/:host`]) {
    app.get(
      `${prefix}/subscribe`,
      { schema: { querystring: LangQuery } },
      async (request, reply) => {
        const page = await open(request, reply, 'html')
        if (page === undefined) return reply
        return renderForm(reply, page, {})
      },
    )

    app.post(
      `${prefix}/subscribe`,
      { schema: { querystring: LangQuery, body: SubscribeBody } },
      async (request, reply) => {
        // A visitor the page's gate would stop learns nothing here, not even that it exists.
        const page = await open(request, reply, 'resource')
        if (page === undefined) return reply
        const body = request.body
        const selected = asList(body.componentIds)
        try {
          await subscribers.subscribe(
            page.pageId,
            {
              email: body.email,
              componentIds: selected,
              consentVersion: body.consentVersion,
              website: body.website,
            },
            originOf(request),
          )
        } catch (error) {
          if (error instanceof ValidationError)
            return renderForm(
              reply,
              page,
              {
                values: { email: body.email, componentIds: selected },
                errors: localizedErrors(page.ctx.locale, error.fields),
              },
              400,
            )
          if (error instanceof RateLimitedError) return rateLimited(reply, page, error)
          throw error
        }
        return sendPage(reply, renderSubscribeSentPage(page.ctx, page.surface, 'subscribe'))
      },
    )

    app.post(
      `${prefix}/subscribe/manage-link`,
      { schema: { querystring: LangQuery, body: EmailBody } },
      async (request, reply) => {
        const page = await open(request, reply, 'resource')
        if (page === undefined) return reply
        try {
          await subscribers.requestManageLink(
            page.pageId,
            { email: request.body.email },
            originOf(request),
          )
        } catch (error) {
          if (error instanceof ValidationError)
            return renderForm(
              reply,
              page,
              {
                manageErrors: localizedErrors(page.ctx.locale, error.fields),
                manageEmail: request.body.email,
              },
              400,
            )
          if (error instanceof RateLimitedError) return rateLimited(reply, page, error)
          throw error
        }
        return sendPage(reply, renderSubscribeSentPage(page.ctx, page.surface, 'manage-link'))
      },
    )
  }

  // -------------------------------------------------------------------------------------------
  // Links from emails, on the main host
  // -------------------------------------------------------------------------------------------

  /** Runs a link's action; an expired, used or tampered link gets a readable 404 page. */
  async function withLink(
    request: FastifyRequest,
    reply: FastifyReply,
    action: () => Promise<FastifyReply>,
  ): Promise<FastifyReply> {
    // Nothing behind a token belongs in a search engine, whoever follows the link.
    void reply.header('X-Robots-Tag', 'noindex, nofollow')
    try {
      return await action()
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error
      return sendPage(reply, renderLinkExpiredPage(browserLocale(request)), 404)
    }
  }

  function localeFor(request: FastifyRequest, view: ManageView): Locale {
    return requestedLocale(request) ?? view.page.locale
  }

  async function renderManage(
    request: FastifyRequest,
    reply: FastifyReply,
    token: string,
    view: ManageView,
    form: { saved?: boolean; selected?: readonly string[]; errors?: FieldErrors } = {},
    status = 200,
  ): Promise<FastifyReply> {
    const locale = localeFor(request, view)
    if (view.kind === 'member')
      return sendPage(
        reply,
        renderMemberPage({
          locale,
          token,
          csrfToken: reply.generateCsrf(),
          page: view.page,
          optedOut: view.optedOut,
          saved: form.saved,
        }),
        status,
      )
    const snapshot = await publicPages.snapshot(view.page.id)
    return sendPage(
      reply,
      renderManagePage({
        locale,
        token,
        csrfToken: reply.generateCsrf(),
        page: view.page,
        subscriber: view.subscriber,
        components: snapshot?.components ?? [],
        ...form,
      }),
      status,
    )
  }

  // GET only asks: mail scanners and link previews follow every link in a message, and a
  // subscription they confirmed would not be the person's consent. The button POSTs.
  app.get(
    '/subscriptions/confirm/:token',
    { schema: { params: TokenParams, querystring: LangQuery } },
    async (request, reply) =>
      withLink(request, reply, async () => {
        const page = await subscribers.pendingConfirmation(request.params.token)
        return sendPage(
          reply,
          renderConfirmSubscriptionPage({
            locale: requestedLocale(request) ?? page.locale,
            token: request.params.token,
            csrfToken: reply.generateCsrf(),
            page,
          }),
        )
      }),
  )

  app.post(
    '/subscriptions/confirm/:token',
    { schema: { params: TokenParams, body: Type.Object({ _csrf: text(256) }) } },
    async (request, reply) =>
      withLink(request, reply, async () => {
        const { manageToken } = await subscribers.confirm(request.params.token)
        const view = await subscribers.fromLink(manageToken)
        return sendPage(
          reply,
          renderConfirmedPage(localeFor(request, view), view.page, manageToken),
        )
      }),
  )

  app.get(
    '/subscriptions/:token',
    { schema: { params: TokenParams, querystring: LangQuery } },
    async (request, reply) =>
      withLink(request, reply, async () => {
        const { token } = request.params
        const view = await subscribers.fromLink(token)
        const saved = request.query.saved
        return renderManage(request, reply, token, view, {
          saved: saved === 'components' || saved === 'optin',
        })
      }),
  )

  app.post(
    '/subscriptions/:token',
    { schema: { params: TokenParams, querystring: LangQuery, body: UpdateBody } },
    async (request, reply) =>
      withLink(request, reply, async () => {
        const { token } = request.params
        const selected = asList(request.body.componentIds)
        try {
          await subscribers.updateByLink(token, { componentIds: selected })
        } catch (error) {
          if (!(error instanceof ValidationError)) throw error
          const view = await subscribers.fromLink(token)
          return renderManage(
            request,
            reply,
            token,
            view,
            { selected, errors: localizedErrors(localeFor(request, view), error.fields) },
            400,
          )
        }
        return reply.redirect(subscriptionPath(token, '?saved=components'), 303)
      }),
  )

  app.get(
    '/subscriptions/:token/unsubscribe',
    { schema: { params: TokenParams, querystring: LangQuery } },
    async (request, reply) =>
      withLink(request, reply, async () => {
        // Never unsubscribes: mail scanners and link previews follow every link they see.
        const { token } = request.params
        const view = await subscribers.fromLink(token)
        return sendPage(
          reply,
          renderConfirmUnsubscribePage({
            locale: localeFor(request, view),
            token,
            csrfToken: reply.generateCsrf(),
            page: view.page,
          }),
        )
      }),
  )

  // RFC 8058 one-click unsubscribe: mail providers POST "List-Unsubscribe=One-Click" without
  // cookies, so without a CSRF token; the signed token in the address is the authorization. The
  // body says nothing more, so whatever form it comes in (urlencoded or multipart) is not read.
  void app.register((scope, _options, registered) => {
    scope.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: 16 * 1024 },
      (_request, _body, done) => {
        done(null, undefined)
      },
    )
    scope
      .withTypeProvider<TypeBoxTypeProvider>()
      .post(
        '/subscriptions/:token/unsubscribe',
        { schema: { params: TokenParams }, config: { csrf: false } },
        async (request, reply) =>
          withLink(request, reply, async () => {
            const { token } = request.params
            const view = await subscribers.unsubscribeByLink(token)
            if (view.kind === 'member')
              return renderManage(request, reply, token, view, { saved: true })
            return sendPage(
              reply,
              renderUnsubscribedPage(localeFor(request, view), view.page, token),
            )
          }),
      )
    registered()
  })

  app.post(
    '/subscriptions/:token/resubscribe',
    { schema: { params: TokenParams, body: Type.Object({ _csrf: text(256) }) } },
    async (request, reply) =>
      withLink(request, reply, async () => {
        const { token } = request.params
        await subscribers.resubscribeMemberByLink(token)
        return reply.redirect(subscriptionPath(token, '?saved=optin'), 303)
      }),
  )

  app.get(
    '/subscriptions/:token/export',
    { schema: { params: TokenParams } },
    async (request, reply) =>
      withLink(request, reply, async () => {
        const data = await subscribers.exportByLink(request.params.token)
        return reply
          .type('application/json; charset=utf-8')
          .header('Content-Disposition', 'attachment; filename="my-subscription.json"')
          .send(JSON.stringify(data, null, 2))
      }),
  )

  app.post(
    '/subscriptions/:token/erase',
    { schema: { params: TokenParams, querystring: LangQuery, body: EraseBody } },
    async (request, reply) =>
      withLink(request, reply, async () => {
        const { token } = request.params
        const view = await subscribers.fromLink(token)
        const locale = localeFor(request, view)
        if (view.kind !== 'subscriber') throw new NotFoundError('The subscription')
        if (request.body.confirm === undefined || request.body.confirm === '')
          return renderManage(
            request,
            reply,
            token,
            view,
            { errors: { confirm: say(locale, 'manage.eraseRequired') } },
            400,
          )
        await subscribers.eraseByLink(token)
        return sendPage(reply, renderErasedPage(locale, view.page))
      }),
  )
}
