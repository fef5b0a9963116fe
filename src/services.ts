import type { Logger } from 'pino'
import { createAuthenticationService } from './auth/authentication-service.js'
import { createSessionService } from './auth/session-service.js'
import type { Config } from './config.js'
import type { KeyRing } from './crypto/key-ring.js'
import type { Database } from './db/database.js'
import { hasPendingMigrations } from './db/migrator.js'
import { createAccountService } from './domain/accounts/account-service.js'
import { createMailboxService } from './domain/accounts/mailbox-service.js'
import type { Clock } from './domain/clock.js'
import type { BackgroundTasks } from './jobs/background-tasks.js'
import type { EmailSender } from './notify/email-sender.js'
import { createComponentService } from './domain/pages/component-service.js'
import { createIncidentService } from './domain/pages/incident-service.js'
import type { PageEvents } from './domain/pages/page-events.js'
import { createPageService } from './domain/pages/page-service.js'
import { createPublicPageService } from './domain/pages/public-page-service.js'

export interface ServiceDeps {
  config: Config
  database: Database
  keyRing: KeyRing
  clock: Clock
  logger: Logger
  emailSender: EmailSender
  background: BackgroundTasks
  pageEvents: PageEvents
}

export type Services = ReturnType<typeof createServices>

/** Wires the domain services together; the web server and the worker receive the result. */
export function createServices(deps: ServiceDeps) {
  const { config, database, keyRing, clock, emailSender, background, pageEvents } = deps
  const db = database.db
  const sessions = createSessionService({
    db,
    clock,
    idleTimeoutMs: config.sessionIdleTimeoutMs,
    absoluteTimeoutMs: config.sessionAbsoluteTimeoutMs,
  })
  const auth = createAuthenticationService({
    db,
    keyRing,
    clock,
    sessions,
    sendMail: emailSender.send,
    defer: background.defer,
    baseUrl: config.baseUrl,
    allowSignup: config.allowSignup,
    passwordResetTtlMs: config.passwordResetTtlMs,
    setupLinkTtlMs: config.setupLinkTtlMs,
  })
  return {
    sessions,
    auth,
    accounts: createAccountService({ db, keyRing, clock }),
    mailbox: createMailboxService({ db, mailDir: emailSender.mailDir }),
    pages: createPageService({ db, clock, events: pageEvents }),
    components: createComponentService({ db, clock, events: pageEvents }),
    incidents: createIncidentService({ db, clock, events: pageEvents }),
    publicPages: createPublicPageService({ db, clock }),
    health: {
      async readiness(): Promise<{ database: boolean; migrations: boolean }> {
        try {
          await database.ping()
        } catch {
          return { database: false, migrations: false }
        }
        return { database: true, migrations: !(await hasPendingMigrations(database)) }
      },
    },
  }
}
