import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type {
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify'
import type { Config } from '../config.js'
import type { Services } from '../services.js'
import type { Logger } from 'pino'
import type { PageEventSource, PageEvents } from '../domain/pages/page-events.js'

export type App = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  Logger,
  TypeBoxTypeProvider
>

export interface ServerDeps {
  config: Config
  services: Services
  logger: Logger
  cookieSecret: Buffer
  pageEvents: PageEvents & PageEventSource
}
