import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { ALERT_BODY_MAX_BYTES } from '../../domain/alerts/alert-service.js'
import type { App, ServerDeps } from '../app-type.js'
import { genericProblem } from '../problem.js'

const TokenParams = Type.Object({ token: Type.String({ minLength: 1, maxLength: 128 }) })

/**
 * `POST /api/alerts/<token>`, where monitoring tools send alerts. No session and no CSRF token:
 * the unguessable token in the path is the authorization (and PagerDuty's signature when the
 * endpoint has a secret). Its scope reads every body as raw bytes, whatever the Content-Type a
 * tool sends, because a signature is computed over the exact bytes; the domain parses the JSON.
 */
export function registerInboundAlertRoutes(app: App, deps: ServerDeps): void {
  const { alerts } = deps.services
  void app.register((scope, _options, done) => {
    scope.removeAllContentTypeParsers()
    scope.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: ALERT_BODY_MAX_BYTES },
      (_request, body, parsed) => {
        parsed(null, body)
      },
    )
    const typed = scope.withTypeProvider<TypeBoxTypeProvider>()
    typed.post(
      '/api/alerts/:token',
      {
        config: { csrf: false },
        bodyLimit: ALERT_BODY_MAX_BYTES,
        schema: { params: TokenParams },
      },
      async (request, reply) => {
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)
        const signature = request.headers['x-pagerduty-signature']
        const result = await alerts.receive(request.params.token, {
          body,
          signature: typeof signature === 'string' ? signature : undefined,
        })
        return reply.code(200).send({ status: 'accepted', ...result })
      },
    )
    // GET (and with it HEAD) and the other methods: the address exists for POST only.
    typed.route({
      method: ['GET', 'PUT', 'PATCH', 'DELETE'],
      url: '/api/alerts/:token',
      config: { csrf: false },
      handler: (request, reply) =>
        reply
          .code(405)
          .header('Allow', 'POST')
          .type('application/problem+json')
          .send(
            genericProblem(
              405,
              'method_not_allowed',
              'Alerts are sent to this address with POST and a JSON body.',
              request.id,
            ),
          ),
    })
    done()
  })
}
