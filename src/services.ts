import type { Logger } from 'pino'
import { createAuthenticationService } from './auth/authentication-service.js'
import { createOidcService, type OidcOverrides } from './auth/oidc/oidc-service.js'
import { createPasskeyService } from './auth/passkey-service.js'
import { createSessionService } from './auth/session-service.js'
import { createSamlService } from './auth/sso/saml.js'
import { createSsoSettingsService } from './auth/sso/sso-settings-service.js'
import { createSsoSignIn } from './auth/sso/sso-sign-in.js'
import { createTwoFactorService } from './auth/two-factor-service.js'
import type { Config } from './config.js'
import type { KeyRing } from './crypto/key-ring.js'
import type { Database } from './db/database.js'
import { hasPendingMigrations } from './db/migrator.js'
import { createApiKeyService } from './domain/api-keys/api-key-service.js'
import { createIdempotencyStore } from './domain/api-keys/idempotency.js'
import { createAccountService } from './domain/accounts/account-service.js'
import { createTeamService } from './domain/accounts/team-service.js'
import { createAlertService } from './domain/alerts/alert-service.js'
import { createMailboxService } from './domain/accounts/mailbox-service.js'
import { createAuditLog } from './domain/audit/audit-log.js'
import { createAuditService } from './domain/audit/audit-service.js'
import type { Clock } from './domain/clock.js'
import type { BackgroundTasks } from './jobs/background-tasks.js'
import type { EmailSender } from './notify/email-sender.js'
import { createComponentService } from './domain/pages/component-service.js'
import { createIncidentService } from './domain/pages/incident-service.js'
import type { PageEvents } from './domain/pages/page-events.js'
import { createPageService } from './domain/pages/page-service.js'
import { createPublicPageService } from './domain/pages/public-page-service.js'
import { createLinkSigner } from './domain/subscribers/links.js'
import {
  createNotificationService,
  type JobEnqueuer,
} from './domain/subscribers/notification-service.js'
import { createSubscriberService } from './domain/subscribers/subscriber-service.js'
import { createDispatcher } from './notify/dispatcher.js'
import type { OutboundHttp } from './notify/outbound-http.js'

export interface ServiceDeps {
  config: Config
  database: Database
  keyRing: KeyRing
  clock: Clock
  logger: Logger
  emailSender: EmailSender
  background: BackgroundTasks
  pageEvents: PageEvents
  queue: JobEnqueuer
  outbound: OutboundHttp
  /** Tests only: a local OpenID provider in Google's place. */
  oidc?: OidcOverrides | undefined
}

export type Services = ReturnType<typeof createServices>

/** Wires the domain services together; the web server and the worker receive the result. */
export function createServices(deps: ServiceDeps) {
  const { config, database, keyRing, clock, emailSender, background, pageEvents } = deps
  const db = database.db
  const links = createLinkSigner(keyRing)
  const audit = createAuditLog({ db, clock })
  const notifications = createNotificationService({
    db,
    keyRing,
    clock,
    queue: deps.queue,
    links,
    logger: deps.logger,
    audit,
    dispatcher: createDispatcher({
      sendMail: emailSender.send,
      outbound: deps.outbound,
      messageIdDomain: config.baseUrl.hostname,
    }),
    settings: {
      baseUrl: config.baseUrl,
      maxAttempts: config.notify.maxAttempts,
      retryBaseMs: config.notify.retryBaseMs,
      linkTtlMs: config.notify.linkTtlMs,
      reminderMs: config.notify.reminderMs,
    },
  })
  const sessions = createSessionService({
    db,
    clock,
    idleTimeoutMs: config.sessionIdleTimeoutMs,
    absoluteTimeoutMs: config.sessionAbsoluteTimeoutMs,
    audit,
  })
  const ssoSignIn = createSsoSignIn({ db, keyRing, clock, sessions, audit })
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
    audit,
  })
  const twoFactor = createTwoFactorService({ db, keyRing, clock, sessions, audit })
  const components = createComponentService({
    db,
    clock,
    events: pageEvents,
    notifier: notifications.notifier,
    audit,
  })
  const incidents = createIncidentService({
    db,
    clock,
    events: pageEvents,
    notifier: notifications.notifier,
    audit,
  })
  const ssoSettings = createSsoSettingsService({ db, keyRing, clock, audit })
  return {
    sessions,
    auth,
    /** TOTP, recovery codes, the second step of sign-in, re-authentication, the account rule. */
    twoFactor,
    passkeys: createPasskeyService({
      db,
      keyRing,
      clock,
      audit,
      twoFactor,
      baseUrl: config.baseUrl,
    }),
    /** Turns an identity an SSO protocol verified into a session (JIT provisioning, SLO). */
    ssoSignIn,
    ssoSettings,
    /** SAML 2.0 with an account's identity provider. */
    saml: createSamlService({
      db,
      keyRing,
      clock,
      baseUrl: config.baseUrl,
      settings: ssoSettings,
      logger: deps.logger,
    }),
    /** Sign in with Google and other OpenID Connect providers. */
    oidc: createOidcService({
      db,
      keyRing,
      clock,
      audit,
      ssoSignIn,
      baseUrl: config.baseUrl,
      allowedRanges: config.notify.webhookAllowedRanges,
      overrides: deps.oidc,
    }),
    accounts: createAccountService({ db, keyRing, clock, audit }),
    team: createTeamService({
      db,
      keyRing,
      clock,
      audit,
      sendMail: emailSender.send,
      defer: background.defer,
      baseUrl: config.baseUrl,
      invitationTtlMs: config.invitationTtlMs,
      hashNewPassword: auth.hashNewPassword,
    }),
    mailbox: createMailboxService({ db, mailDir: emailSender.mailDir }),
    pages: createPageService({ db, clock, events: pageEvents, audit }),
    components,
    incidents,
    alerts: createAlertService({
      db,
      clock,
      events: pageEvents,
      keyRing,
      components,
      incidents,
      outbound: deps.outbound,
      settings: { allowedRanges: config.notify.webhookAllowedRanges },
      audit,
    }),
    notifications,
    apiKeys: createApiKeyService({ db, keyRing, clock, audit }),
    apiIdempotency: createIdempotencyStore({ db, clock, ttlMs: 24 * 60 * 60_000 }),
    subscribers: createSubscriberService({
      db,
      keyRing,
      clock,
      links,
      sendMail: emailSender.send,
      defer: background.defer,
      settings: {
        baseUrl: config.baseUrl,
        confirmTtlMs: config.notify.confirmTtlMs,
        linkTtlMs: config.notify.linkTtlMs,
        webhookAllowedRanges: config.notify.webhookAllowedRanges,
      },
      audit,
    }),
    /** The audit log's writer, for features that record their own events. */
    audit,
    auditLog: createAuditService({ db, keyRing, audit }),
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
