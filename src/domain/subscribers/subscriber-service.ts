import { parse as parseCsv } from 'csv-parse/sync'
import type { Kysely, Selectable } from 'kysely'
import { assertNotThrottled, recordFailure, type ThrottleRule } from '../../auth/throttle.js'
import type { KeyRing } from '../../crypto/key-ring.js'
import { generateId, generateToken, hashToken } from '../../crypto/tokens.js'
import type {
  ConsentSource,
  DatabaseSchema,
  PagesTable,
  SubscriberChannel,
  SubscribersTable,
} from '../../db/schema.js'
import {
  alreadySubscribedEmail,
  manageLinkEmail,
  subscriptionConfirmationEmail,
} from '../../notify/subscriber-emails.js'
import { isChatChannel, validateChatUrl } from '../../notify/channel-payloads.js'
import { checkWebhookUrl } from '../../notify/outbound-http.js'
import { generateWebhookSecret } from '../../notify/webhook-signature.js'
import type { Defer } from '../../jobs/background-tasks.js'
import type { Actor, RequestOrigin } from '../actor.js'
import { auditOrigin, type AuditLog } from '../audit/audit-log.js'
import type { Clock } from '../clock.js'
import { NotFoundError, ValidationError } from '../errors.js'
import type { SendMail } from '../mail.js'
import { requirePageRole } from '../pages/page-access.js'
import { findPageRow } from '../pages/page-repository.js'
import type { Locale } from '../pages/types.js'
import { InputChecker } from '../validation.js'
import type { LinkSigner, LinkSubject } from './links.js'
import {
  SUBSCRIBER_CONTEXTS,
  loadSubscribers,
  normalizeAddress,
  replaceSubscriberComponents,
  consentTextId,
  storeConsentText,
  subscriberAddressIndex,
} from './subscriber-repository.js'
import { SUBSCRIBER_CHANNELS, type Subscriber } from './types.js'
import { publicPageUrl } from '../pages/page-url.js'

type Db = Kysely<DatabaseSchema>

/** Subscribe requests from one address: a person subscribes a few times, a script many. */
const SUBSCRIBE_IP_RULE: ThrottleRule = {
  maxFailures: 10,
  windowMs: 60 * 60_000,
  blockMs: 15 * 60_000,
  maxBlockMs: 24 * 60 * 60_000,
}
/** All subscribe requests to one page, whatever their origin: bounds what a botnet can send. */
const SUBSCRIBE_PAGE_RULE: ThrottleRule = {
  maxFailures: 300,
  windowMs: 60 * 60_000,
  blockMs: 5 * 60_000,
  maxBlockMs: 60 * 60_000,
}
export const MAX_IMPORT_ROWS = 10_000
export const MAX_IMPORT_BYTES = 2 * 1024 * 1024
export const PRIVACY_NOTICE_MAX = 5_000

const CONSENT_SENTENCE: Record<Locale, (page: string) => string> = {
  en: (page) =>
    `I agree to receive email notifications about the status of ${page}. My email address, the components I pick, and the time, IP address and browser of this request are kept to send them and to prove this consent; I can unsubscribe, download or erase my data from a link in every message.`,
  fr: (page) =>
    `J'accepte de recevoir des notifications par e-mail sur l'état de ${page}. Mon adresse e-mail, les composants choisis, ainsi que l'heure, l'adresse IP et le navigateur de cette demande sont conservés pour les envoyer et prouver ce consentement ; je peux me désabonner, télécharger ou effacer mes données depuis un lien dans chaque message.`,
}

export interface SubscriberSettings {
  baseUrl: URL
  confirmTtlMs: number
  linkTtlMs: number
  /** Ranges the operator lets webhooks reach although private (WEBHOOK_ALLOWED_RANGES). */
  webhookAllowedRanges: readonly string[]
}

/** What the manage page shows to the holder of a link. */
export type ManageView =
  | {
      kind: 'subscriber'
      page: { id: string; name: string; slug: string; locale: Locale }
      subscriber: Subscriber
    }
  | {
      kind: 'member'
      page: { id: string; name: string; slug: string; locale: Locale }
      optedOut: boolean
    }

export type SubscriberService = ReturnType<typeof createSubscriberService>

export function createSubscriberService(deps: {
  db: Db
  keyRing: KeyRing
  clock: Clock
  links: LinkSigner
  sendMail: SendMail
  defer: Defer
  settings: SubscriberSettings
  audit: AuditLog
}) {
  const { db, keyRing, clock, links, sendMail, defer, settings, audit } = deps

  /** Recorded last in each transaction, after the rows it describes. */
  function recordChange(
    trx: Db,
    actor: Actor,
    accountId: string,
    action: string,
    target: { type: string; id: string },
    details?: Record<string, unknown>,
  ) {
    return audit.record(trx, { accountId, ...auditOrigin(actor), action, target, details })
  }

  function pageUrl(page: Pick<Selectable<PagesTable>, 'slug' | 'custom_domain'>): string {
    return publicPageUrl(settings.baseUrl, { slug: page.slug, customDomain: page.custom_domain })
  }

  function manageUrl(subject: LinkSubject): string {
    const token = links.sign(subject, new Date(clock.now().getTime() + settings.linkTtlMs))
    return new URL(`/subscriptions/${token}`, settings.baseUrl).toString()
  }

  /** The exact text shown beside the subscribe form: the consent sentence and the page's notice. */
  function consentText(page: Pick<Selectable<PagesTable>, 'name' | 'locale' | 'privacy_notice'>) {
    const locale: Locale = page.locale === 'fr' ? 'fr' : 'en'
    const sentence = CONSENT_SENTENCE[locale](page.name)
    const notice = page.privacy_notice?.trim() ?? ''
    return notice === '' ? sentence : `${sentence}\n\n${notice}`
  }

  async function publicPage(pageId: string): Promise<Selectable<PagesTable>> {
    const page = await findPageRow(db, pageId)
    if (page === undefined) throw new NotFoundError('The status page')
    return page
  }

  /** Components and groups of the page, checked; duplicates removed. */
  async function checkComponentIds(
    checker: InputChecker,
    pageId: string,
    value: unknown,
  ): Promise<string[]> {
    const raw = value === undefined || value === null || value === '' ? [] : value
    const list = Array.isArray(raw) ? raw : [raw]
    if (list.length > 500 || list.some((v) => typeof v !== 'string')) {
      checker.add('componentIds', 'Pick components from the list.')
      return []
    }
    const ids = [...new Set(list as string[])]
    if (ids.length === 0) return []
    const known = await db
      .selectFrom('components')
      .select('id')
      .where('page_id', '=', pageId)
      .where('id', 'in', ids)
      .execute()
    if (known.length !== ids.length) checker.add('componentIds', 'Pick components from the list.')
    return known.map((k) => k.id)
  }

  /**
   * An email address, or a URL that the SSRF-safe client could ever reach (checked again at every
   * send, after DNS). Chat URLs must be their platform's; Slack's format is also spoken by
   * self-hosted servers (Mattermost, Rocket.Chat), so a Slack URL may be on any https host.
   */
  function checkAddress(checker: InputChecker, channel: SubscriberChannel, value: unknown): string {
    if (channel === 'email') return checker.email('address', value)
    const url = typeof value === 'string' ? value.trim() : ''
    if (url === '' || url.length > 2000) {
      checker.add('address', 'Enter the URL to send to (at most 2,000 characters).')
      return url
    }
    const problem =
      checkWebhookUrl(url, settings.webhookAllowedRanges) ??
      (isChatChannel(channel)
        ? validateChatUrl(channel, url, { allowAnyHost: channel === 'slack' })
        : undefined)
    if (problem !== undefined) checker.add('address', `${problem.replace(/\.$/, '')}.`)
    return url
  }

  async function findByAddress(
    pageId: string,
    channel: SubscriberChannel,
    address: string,
  ): Promise<Selectable<SubscribersTable> | undefined> {
    return db
      .selectFrom('subscribers')
      .selectAll()
      .where('page_id', '=', pageId)
      .where('channel', '=', channel)
      .where('address_index', '=', subscriberAddressIndex(keyRing, channel, address))
      .executeTakeFirst()
  }

  /**
   * Email subscription from the public page (double opt-in). The answer is the same whether the
   * address is new, pending or already subscribed; only the email that follows differs, and it
   * is sent in the background so the response time does not tell either.
   */
  async function subscribe(
    pageId: string,
    input: { email?: unknown; componentIds?: unknown; consentVersion?: unknown; website?: unknown },
    origin: RequestOrigin,
  ): Promise<void> {
    const page = await publicPage(pageId)
    const now = clock.now()
    const ipKey = `subscribe:ip:${origin.ip}`
    const pageKey = `subscribe:page:${pageId}`
    await assertNotThrottled(db, [ipKey, pageKey], now)
    await recordFailure(db, ipKey, SUBSCRIBE_IP_RULE, now)
    await recordFailure(db, pageKey, SUBSCRIBE_PAGE_RULE, now)
    // The honeypot field is hidden from people; a bot that fills it is told "check your inbox".
    if (typeof input.website === 'string' && input.website.trim() !== '') return
    const checker = new InputChecker()
    const email = checker.email('email', input.email)
    const componentIds = await checkComponentIds(checker, pageId, input.componentIds)
    const text = consentText(page)
    const consentTextId = await storeConsentText(db, text, now)
    if (input.consentVersion !== undefined && input.consentVersion !== consentTextId)
      checker.add(
        'consentVersion',
        'The privacy notice changed since the form was shown: read it again and send the form once more.',
      )
    checker.assertValid()
    const existing = await findByAddress(pageId, 'email', email)
    const url = pageUrl(page)
    const locale: Locale = page.locale === 'fr' ? 'fr' : 'en'
    if (existing?.state === 'active') {
      const link = manageUrl({
        kind: 'subscriber',
        subscriberId: existing.id,
        generation: existing.manage_generation,
      })
      defer('subscriber-already-email', () =>
        sendMail({
          to: email,
          accountId: page.account_id,
          ...alreadySubscribedEmail({ pageName: page.name, pageUrl: url, locale, manageUrl: link }),
        }),
      )
      return
    }
    const token = generateToken()
    const consent = {
      consent_at: now,
      consent_source: 'form' as const,
      consent_text_id: consentTextId,
      consent_ip_ciphertext: keyRing.encrypt(origin.ip, SUBSCRIBER_CONTEXTS.ip),
      consent_user_agent_ciphertext: keyRing.encrypt(
        origin.userAgent.slice(0, 500),
        SUBSCRIBER_CONTEXTS.userAgent,
      ),
      consent_actor_user_id: null,
    }
    const written = await db.transaction().execute(async (trx) => {
      let id = existing?.id
      if (id === undefined) {
        id = generateId()
        await trx
          .insertInto('subscribers')
          .values({
            id,
            page_id: pageId,
            channel: 'email',
            address_ciphertext: keyRing.encrypt(email, SUBSCRIBER_CONTEXTS.address),
            address_index: subscriberAddressIndex(keyRing, 'email', email),
            secret_ciphertext: null,
            state: 'pending',
            all_components: componentIds.length === 0,
            confirm_token_hash: hashToken(token),
            confirm_expires_at: new Date(now.getTime() + settings.confirmTtlMs),
            confirmed_at: null,
            unsubscribed_at: null,
            ...consent,
            manage_generation: 1,
            created_at: now,
            updated_at: now,
          })
          // Two requests for the same new address at once: the second one's row is not added.
          .onConflict((oc) => oc.columns(['page_id', 'channel', 'address_index']).doNothing())
          .execute()
        const stored = await trx
          .selectFrom('subscribers')
          .select(['id', 'confirm_token_hash'])
          .where('page_id', '=', pageId)
          .where('channel', '=', 'email')
          .where('address_index', '=', subscriberAddressIndex(keyRing, 'email', email))
          .executeTakeFirstOrThrow()
        if (stored.id !== id) return false
      } else {
        await trx
          .updateTable('subscribers')
          .set({
            state: 'pending',
            all_components: componentIds.length === 0,
            confirm_token_hash: hashToken(token),
            confirm_expires_at: new Date(now.getTime() + settings.confirmTtlMs),
            unsubscribed_at: null,
            ...consent,
            updated_at: now,
          })
          .where('id', '=', id)
          .execute()
      }
      await replaceSubscriberComponents(trx, id, componentIds)
      return true
    })
    if (!written) return
    const confirmUrl = new URL(`/subscriptions/confirm/${token}`, settings.baseUrl).toString()
    defer('subscriber-confirmation-email', () =>
      sendMail({
        to: email,
        accountId: page.account_id,
        ...subscriptionConfirmationEmail({
          pageName: page.name,
          pageUrl: url,
          locale,
          confirmUrl,
          ttlHours: Math.round(settings.confirmTtlMs / 3_600_000),
        }),
      }),
    )
  }

  /** The page a pending confirmation link is for, without using the link up. */
  async function pendingConfirmation(
    token: string,
  ): Promise<{ id: string; name: string; slug: string; locale: Locale }> {
    const row = await db
      .selectFrom('subscribers')
      .select(['page_id', 'state', 'confirm_expires_at'])
      .where('confirm_token_hash', '=', hashToken(token))
      .executeTakeFirst()
    if (
      row === undefined ||
      row.state !== 'pending' ||
      row.confirm_expires_at === null ||
      Date.parse(row.confirm_expires_at) < clock.now().getTime()
    )
      throw new NotFoundError('The confirmation link', 'link_expired')
    return pageSummary(await publicPage(row.page_id))
  }

  /** Confirms a pending subscription; the link works once. Returns a manage link's token. */
  async function confirm(token: string): Promise<{ pageId: string; manageToken: string }> {
    const now = clock.now()
    const row = await db
      .selectFrom('subscribers')
      .selectAll()
      .where('confirm_token_hash', '=', hashToken(token))
      .executeTakeFirst()
    if (
      row === undefined ||
      row.state !== 'pending' ||
      row.confirm_expires_at === null ||
      Date.parse(row.confirm_expires_at) < now.getTime()
    )
      throw new NotFoundError('The confirmation link', 'link_expired')
    const result = await db
      .updateTable('subscribers')
      .set({
        state: 'active',
        confirmed_at: now,
        confirm_token_hash: null,
        confirm_expires_at: null,
        updated_at: now,
      })
      .where('id', '=', row.id)
      .where('confirm_token_hash', '=', hashToken(token))
      .executeTakeFirst()
    if (Number(result.numUpdatedRows) !== 1)
      throw new NotFoundError('The confirmation link', 'link_expired')
    const manageToken = links.sign(
      { kind: 'subscriber', subscriberId: row.id, generation: row.manage_generation },
      new Date(now.getTime() + settings.linkTtlMs),
    )
    return { pageId: row.page_id, manageToken }
  }

  /** The holder of a valid manage or unsubscribe link: a subscriber or a team member. */
  async function fromLink(token: string): Promise<ManageView> {
    const subject = links.verify(token, clock.now())
    const invalid = () => new NotFoundError('The subscription link', 'link_expired')
    if (subject === undefined) throw invalid()
    if (subject.kind === 'member') {
      const page = await findPageRow(db, subject.pageId)
      const member =
        page === undefined
          ? undefined
          : await db
              .selectFrom('memberships')
              .select('user_id')
              .where('account_id', '=', page.account_id)
              .where('user_id', '=', subject.userId)
              .executeTakeFirst()
      if (page === undefined || member === undefined) throw invalid()
      const optout = await db
        .selectFrom('member_notification_optouts')
        .select('user_id')
        .where('user_id', '=', subject.userId)
        .where('page_id', '=', page.id)
        .executeTakeFirst()
      return { kind: 'member', page: pageSummary(page), optedOut: optout !== undefined }
    }
    const row = await db
      .selectFrom('subscribers')
      .selectAll()
      .where('id', '=', subject.subscriberId)
      .executeTakeFirst()
    if (row === undefined || row.manage_generation !== subject.generation) throw invalid()
    const page = await publicPage(row.page_id)
    const [subscriber] = await loadSubscribers(db, keyRing, [row])
    if (subscriber === undefined) throw invalid()
    return { kind: 'subscriber', page: pageSummary(page), subscriber }
  }

  async function updateByLink(token: string, input: { componentIds?: unknown }): Promise<void> {
    const view = await fromLink(token)
    if (view.kind !== 'subscriber') throw new NotFoundError('The subscription')
    const checker = new InputChecker()
    const componentIds = await checkComponentIds(checker, view.page.id, input.componentIds)
    checker.assertValid()
    await db.transaction().execute(async (trx) => {
      await trx
        .updateTable('subscribers')
        .set({ all_components: componentIds.length === 0, updated_at: clock.now() })
        .where('id', '=', view.subscriber.id)
        .execute()
      await replaceSubscriberComponents(trx, view.subscriber.id, componentIds)
    })
  }

  /** One-click unsubscribe (RFC 8058) and the manage page's button; idempotent. */
  async function unsubscribeByLink(token: string): Promise<ManageView> {
    const view = await fromLink(token)
    const now = clock.now()
    if (view.kind === 'member') {
      const subject = links.verify(token, now)
      if (subject?.kind !== 'member') throw new NotFoundError('The subscription')
      await db
        .insertInto('member_notification_optouts')
        .values({ user_id: subject.userId, page_id: subject.pageId, created_at: now })
        .onConflict((oc) => oc.columns(['user_id', 'page_id']).doNothing())
        .execute()
      return { ...view, optedOut: true }
    }
    await db
      .updateTable('subscribers')
      .set({ state: 'unsubscribed', unsubscribed_at: now, updated_at: now })
      .where('id', '=', view.subscriber.id)
      .where('state', '!=', 'unsubscribed')
      .execute()
    return fromLink(token)
  }

  async function resubscribeMemberByLink(token: string): Promise<void> {
    const subject = links.verify(token, clock.now())
    if (subject?.kind !== 'member') throw new NotFoundError('The subscription')
    await fromLink(token)
    await db
      .deleteFrom('member_notification_optouts')
      .where('user_id', '=', subject.userId)
      .where('page_id', '=', subject.pageId)
      .execute()
  }

  /** Everything kept about one subscriber, as they may download it (GDPR art. 15 and 20). */
  async function exportOne(subscriber: Subscriber): Promise<Record<string, unknown>> {
    const deliveries = await db
      .selectFrom('deliveries as d')
      .innerJoin('notification_events as e', 'e.id', 'd.event_id')
      .select([
        'd.id',
        'e.type',
        'e.incident_id',
        'd.channel',
        'd.state',
        'd.attempts',
        'd.sent_at',
        'd.created_at',
      ])
      .where('d.subscriber_id', '=', subscriber.id)
      .orderBy('d.created_at')
      .execute()
    return {
      id: subscriber.id,
      page_id: subscriber.pageId,
      channel: subscriber.channel,
      address: subscriber.address,
      state: subscriber.state,
      components: subscriber.allComponents ? 'all' : subscriber.componentIds,
      created_at: subscriber.createdAt.toISOString(),
      confirmed_at: subscriber.confirmedAt?.toISOString() ?? null,
      unsubscribed_at: subscriber.unsubscribedAt?.toISOString() ?? null,
      consent: {
        at: subscriber.consent.at.toISOString(),
        source: subscriber.consent.source,
        text: subscriber.consent.text,
        ip: subscriber.consent.ip,
        user_agent: subscriber.consent.userAgent,
      },
      deliveries: deliveries.map((d) => ({
        id: d.id,
        event: d.type,
        incident_id: d.incident_id,
        channel: d.channel,
        state: d.state,
        attempts: d.attempts,
        sent_at: d.sent_at,
        created_at: d.created_at,
      })),
    }
  }

  async function exportByLink(token: string): Promise<Record<string, unknown>> {
    const view = await fromLink(token)
    if (view.kind !== 'subscriber') throw new NotFoundError('The subscription')
    return exportOne(view.subscriber)
  }

  /**
   * Erasure (GDPR art. 17): the subscriber row, its components and its consent record go; its
   * deliveries stay as anonymous counts (no subscriber, no error text that could name them).
   */
  async function eraseRow(
    subscriberId: string,
    andThen?: (trx: Db) => Promise<unknown>,
  ): Promise<void> {
    await db.transaction().execute(async (trx) => {
      await trx
        .updateTable('deliveries')
        .set({ subscriber_id: null, last_error: null, recipient_key: `erased:${generateId()}` })
        .where('subscriber_id', '=', subscriberId)
        .execute()
      await trx.deleteFrom('subscribers').where('id', '=', subscriberId).execute()
      await andThen?.(trx)
    })
  }

  async function eraseByLink(token: string): Promise<void> {
    const view = await fromLink(token)
    if (view.kind !== 'subscriber') throw new NotFoundError('The subscription')
    const page = await findPageRow(db, view.page.id)
    const { id, channel } = view.subscriber
    // The account keeps a record that an erasure was asked for and done (who asked: a link holder).
    await eraseRow(id, (trx) =>
      page === undefined
        ? Promise.resolve()
        : audit.record(trx, {
            accountId: page.account_id,
            actor: { type: 'anonymous' },
            action: 'subscriber.erased',
            target: subscriberTarget(id),
            details: { pageId: page.id, channel, via: 'link' },
          }),
    )
  }

  /** Emails a fresh manage link to an active subscriber; answers the same for anyone else. */
  async function requestManageLink(
    pageId: string,
    input: { email?: unknown },
    origin: RequestOrigin,
  ): Promise<void> {
    const page = await publicPage(pageId)
    const now = clock.now()
    const ipKey = `subscribe:ip:${origin.ip}`
    await assertNotThrottled(db, [ipKey], now)
    await recordFailure(db, ipKey, SUBSCRIBE_IP_RULE, now)
    const checker = new InputChecker()
    const email = checker.email('email', input.email)
    checker.assertValid()
    const existing = await findByAddress(pageId, 'email', email)
    if (existing?.state !== 'active') return
    const link = manageUrl({
      kind: 'subscriber',
      subscriberId: existing.id,
      generation: existing.manage_generation,
    })
    defer('subscriber-manage-link-email', () =>
      sendMail({
        to: email,
        accountId: page.account_id,
        ...manageLinkEmail({
          pageName: page.name,
          pageUrl: pageUrl(page),
          locale: page.locale === 'fr' ? 'fr' : 'en',
          manageUrl: link,
        }),
      }),
    )
  }

  // ---- Dashboard (editor and up) ----

  async function list(
    actor: Actor,
    pageId: string,
    filter: { state?: string; channel?: string; limit?: number; offset?: number } = {},
  ): Promise<{ subscribers: Subscriber[]; total: number }> {
    await requirePageRole(db, actor, pageId, 'subscriber.read')
    let query = db.selectFrom('subscribers').where('page_id', '=', pageId)
    if (filter.state === 'pending' || filter.state === 'active' || filter.state === 'unsubscribed')
      query = query.where('state', '=', filter.state)
    if (SUBSCRIBER_CHANNELS.includes(filter.channel as SubscriberChannel))
      query = query.where('channel', '=', filter.channel as SubscriberChannel)
    const total = await query
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .executeTakeFirstOrThrow()
    const rows = await query
      .selectAll()
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .limit(Math.min(Math.max(filter.limit ?? 100, 1), 1000))
      .offset(Math.max(filter.offset ?? 0, 0))
      .execute()
    return { subscribers: await loadSubscribers(db, keyRing, rows), total: Number(total.n) }
  }

  async function loadForActor(
    actor: Actor,
    subscriberId: string,
  ): Promise<{ row: Selectable<SubscribersTable>; subscriber: Subscriber; accountId: string }> {
    const row = await db
      .selectFrom('subscribers')
      .selectAll()
      .where('id', '=', subscriberId)
      .executeTakeFirst()
    if (row === undefined) throw new NotFoundError('The subscriber')
    const page = await requirePageRole(db, actor, row.page_id, 'subscriber.write')
    const [subscriber] = await loadSubscribers(db, keyRing, [row])
    if (subscriber === undefined) throw new NotFoundError('The subscriber')
    return { row, subscriber, accountId: page.account_id }
  }

  async function get(actor: Actor, subscriberId: string): Promise<Subscriber> {
    return (await loadForActor(actor, subscriberId)).subscriber
  }

  /**
   * Adds a subscriber from the dashboard. An email address still confirms by email (double
   * opt-in); webhook and chat URLs belong to the team and are active at once. A webhook gets a
   * signing secret, returned here once.
   */
  async function add(
    actor: Actor,
    pageId: string,
    input: { channel?: unknown; address?: unknown; componentIds?: unknown },
  ): Promise<{ subscriber: Subscriber; secret: string | null }> {
    const page = await requirePageRole(db, actor, pageId, 'subscriber.write')
    const checker = new InputChecker()
    const channel = SUBSCRIBER_CHANNELS.includes(input.channel as SubscriberChannel)
      ? (input.channel as SubscriberChannel)
      : undefined
    if (channel === undefined)
      checker.add('channel', `Choose one of: ${SUBSCRIBER_CHANNELS.join(', ')}.`)
    const address = checkAddress(checker, channel ?? 'email', input.address)
    const componentIds = await checkComponentIds(checker, pageId, input.componentIds)
    checker.assertValid()
    if (channel === undefined) throw new ValidationError({})
    if ((await findByAddress(pageId, channel, address)) !== undefined)
      throw new ValidationError({ address: 'This address is already a subscriber of this page.' })
    const now = clock.now()
    const id = generateId()
    const secret = channel === 'webhook' ? generateWebhookSecret() : null
    const token = channel === 'email' ? generateToken() : null
    const consentTextId = await storeConsentText(
      db,
      actor.apiKey === undefined
        ? `Added from the dashboard by a member of the account (${channel}).`
        : `Added through the management API with a key of the account (${channel}).`,
      now,
    )
    await db.transaction().execute(async (trx) => {
      await trx
        .insertInto('subscribers')
        .values({
          id,
          page_id: pageId,
          channel,
          address_ciphertext: keyRing.encrypt(
            normalizeAddress(channel, address),
            SUBSCRIBER_CONTEXTS.address,
          ),
          address_index: subscriberAddressIndex(keyRing, channel, address),
          secret_ciphertext:
            secret === null ? null : keyRing.encrypt(secret, SUBSCRIBER_CONTEXTS.secret),
          state: token === null ? 'active' : 'pending',
          all_components: componentIds.length === 0,
          confirm_token_hash: token === null ? null : hashToken(token),
          confirm_expires_at:
            token === null ? null : new Date(now.getTime() + settings.confirmTtlMs),
          confirmed_at: token === null ? now : null,
          unsubscribed_at: null,
          consent_at: now,
          consent_source: actor.apiKey === undefined ? 'dashboard' : 'api',
          consent_text_id: consentTextId,
          consent_ip_ciphertext: keyRing.encrypt(actor.ip, SUBSCRIBER_CONTEXTS.ip),
          consent_user_agent_ciphertext: keyRing.encrypt(
            actor.userAgent.slice(0, 500),
            SUBSCRIBER_CONTEXTS.userAgent,
          ),
          consent_actor_user_id: actor.userId,
          manage_generation: 1,
          created_at: now,
          updated_at: now,
        })
        .execute()
      await replaceSubscriberComponents(trx, id, componentIds)
      await recordChange(trx, actor, page.account_id, 'subscriber.added', subscriberTarget(id), {
        pageId,
        channel,
      })
    })
    if (token !== null) {
      const confirmUrl = new URL(`/subscriptions/confirm/${token}`, settings.baseUrl).toString()
      defer('subscriber-confirmation-email', () =>
        sendMail({
          to: address,
          accountId: page.account_id,
          ...subscriptionConfirmationEmail({
            pageName: page.name,
            pageUrl: pageUrl(page),
            locale: page.locale === 'fr' ? 'fr' : 'en',
            confirmUrl,
            ttlHours: Math.round(settings.confirmTtlMs / 3_600_000),
          }),
        }),
      )
    }
    return { subscriber: await get(actor, id), secret }
  }

  async function setComponents(
    actor: Actor,
    subscriberId: string,
    componentIds: unknown,
  ): Promise<Subscriber> {
    const { row, accountId } = await loadForActor(actor, subscriberId)
    const checker = new InputChecker()
    const ids = await checkComponentIds(checker, row.page_id, componentIds)
    checker.assertValid()
    await db.transaction().execute(async (trx) => {
      await trx
        .updateTable('subscribers')
        .set({ all_components: ids.length === 0, updated_at: clock.now() })
        .where('id', '=', subscriberId)
        .execute()
      await replaceSubscriberComponents(trx, subscriberId, ids)
      await recordChange(
        trx,
        actor,
        accountId,
        'subscriber.components_changed',
        subscriberTarget(subscriberId),
        { pageId: row.page_id, components: ids.length },
      )
    })
    return get(actor, subscriberId)
  }

  async function rotateSecret(actor: Actor, subscriberId: string): Promise<string> {
    const { row, accountId } = await loadForActor(actor, subscriberId)
    if (row.channel !== 'webhook')
      throw new ValidationError({ channel: 'Only webhook subscribers have a signing secret.' })
    const secret = generateWebhookSecret()
    await db.transaction().execute(async (trx) => {
      await trx
        .updateTable('subscribers')
        .set({
          secret_ciphertext: keyRing.encrypt(secret, SUBSCRIBER_CONTEXTS.secret),
          updated_at: clock.now(),
        })
        .where('id', '=', subscriberId)
        .execute()
      await recordChange(
        trx,
        actor,
        accountId,
        'subscriber.webhook_key_rotated',
        subscriberTarget(subscriberId),
        { pageId: row.page_id },
      )
    })
    return secret
  }

  async function erase(actor: Actor, subscriberId: string): Promise<void> {
    const { row, accountId } = await loadForActor(actor, subscriberId)
    await eraseRow(subscriberId, (trx) =>
      recordChange(trx, actor, accountId, 'subscriber.erased', subscriberTarget(subscriberId), {
        pageId: row.page_id,
        channel: row.channel,
      }),
    )
  }

  async function exportForActor(
    actor: Actor,
    subscriberId: string,
  ): Promise<Record<string, unknown>> {
    const { row, subscriber, accountId } = await loadForActor(actor, subscriberId)
    const data = await exportOne(subscriber)
    await recordChange(db, actor, accountId, 'subscriber.data_exported', subscriberTarget(row.id), {
      pageId: row.page_id,
    })
    return data
  }

  /** Every subscriber of a page, for CSV or JSON export (recorded in the audit log). */
  async function exportAll(
    actor: Actor,
    pageId: string,
    format: 'csv' | 'json' = 'json',
  ): Promise<Subscriber[]> {
    const page = await requirePageRole(db, actor, pageId, 'subscriber.read')
    const rows = await db
      .selectFrom('subscribers')
      .selectAll()
      .where('page_id', '=', pageId)
      .orderBy('created_at')
      .orderBy('id')
      .execute()
    const list = await loadSubscribers(db, keyRing, rows)
    await recordChange(
      db,
      actor,
      page.account_id,
      'subscriber.exported',
      { type: 'page', id: pageId },
      { format, subscribers: list.length },
    )
    return list
  }

  /**
   * Imports email subscribers from CSV (a column named "email", or the first column; an optional
   * "components" column of component ids separated by spaces or semicolons). The importer must
   * assert that every person consented; that assertion is recorded as each row's consent. Every
   * row is checked before anything is written: one bad row writes nothing.
   */
  async function importCsv(
    actor: Actor,
    pageId: string,
    input: { csv?: unknown; consentAssertion?: unknown; consentConfirmed?: unknown },
  ): Promise<{ imported: number; alreadySubscribed: number }> {
    const page = await requirePageRole(db, actor, pageId, 'subscriber.write')
    const checker = new InputChecker()
    const assertion = checker.text('consentAssertion', input.consentAssertion, {
      label: 'The consent statement',
      min: 10,
      max: 2000,
      multiline: true,
    })
    if (
      input.consentConfirmed !== true &&
      input.consentConfirmed !== 'on' &&
      input.consentConfirmed !== 'true'
    )
      checker.add(
        'consentConfirmed',
        'Confirm that every person in the file agreed to receive these notifications.',
      )
    const csv = typeof input.csv === 'string' ? input.csv : ''
    if (csv.trim() === '') checker.add('csv', 'Choose a CSV file with one email address per row.')
    if (Buffer.byteLength(csv, 'utf8') > MAX_IMPORT_BYTES)
      checker.add('csv', `The file must be at most ${String(MAX_IMPORT_BYTES / 1024 / 1024)} MiB.`)
    checker.assertValid()
    let records: string[][]
    try {
      const parsed: unknown = parseCsv(csv, {
        skip_empty_lines: true,
        trim: true,
        relax_column_count: true,
        bom: true,
      })
      records = parsed as string[][]
    } catch (error) {
      throw new ValidationError({
        csv: `The file is not valid CSV: ${error instanceof Error ? error.message : 'unreadable'}.`,
      })
    }
    const header = records[0]?.map((h) => h.toLowerCase()) ?? []
    const hasHeader = header.includes('email')
    const emailColumn = hasHeader ? header.indexOf('email') : 0
    const componentsColumn = hasHeader ? header.indexOf('components') : -1
    const rows = hasHeader ? records.slice(1) : records
    if (rows.length > MAX_IMPORT_ROWS)
      throw new ValidationError({ csv: `At most ${String(MAX_IMPORT_ROWS)} rows per import.` })
    const known = new Set(
      (await db.selectFrom('components').select('id').where('page_id', '=', pageId).execute()).map(
        (c) => c.id,
      ),
    )
    const problems: string[] = []
    const entries = new Map<string, string[]>()
    rows.forEach((row, index) => {
      const line = index + (hasHeader ? 2 : 1)
      const rowChecker = new InputChecker()
      const email = rowChecker.email('email', row[emailColumn])
      try {
        rowChecker.assertValid()
      } catch {
        problems.push(
          `Line ${String(line)}: "${(row[emailColumn] ?? '').slice(0, 80)}" is not an email address.`,
        )
        return
      }
      const components =
        componentsColumn < 0
          ? []
          : (row[componentsColumn] ?? '').split(/[\s;]+/).filter((c) => c !== '')
      const unknown = components.filter((c) => !known.has(c))
      if (unknown.length > 0) {
        problems.push(
          `Line ${String(line)}: unknown component id ${unknown.join(', ').slice(0, 80)}.`,
        )
        return
      }
      entries.set(email, [...new Set(components)])
    })
    if (problems.length > 0)
      throw new ValidationError({
        csv: `Nothing was imported. ${problems.slice(0, 10).join(' ')}${problems.length > 10 ? ` (and ${String(problems.length - 10)} more)` : ''}`,
      })
    const now = clock.now()
    const consentTextId = await storeConsentText(db, assertion, now)
    let imported = 0
    let alreadySubscribed = 0
    await db.transaction().execute(async (trx) => {
      for (const [email, components] of entries) {
        const index = subscriberAddressIndex(keyRing, 'email', email)
        const existing = await trx
          .selectFrom('subscribers')
          .select(['id', 'state'])
          .where('page_id', '=', pageId)
          .where('channel', '=', 'email')
          .where('address_index', '=', index)
          .executeTakeFirst()
        if (existing?.state === 'active') {
          alreadySubscribed++
          continue
        }
        const consent = {
          state: 'active' as const,
          all_components: components.length === 0,
          confirm_token_hash: null,
          confirm_expires_at: null,
          confirmed_at: now,
          unsubscribed_at: null,
          consent_at: now,
          consent_source: 'import' as ConsentSource,
          consent_text_id: consentTextId,
          consent_ip_ciphertext: keyRing.encrypt(actor.ip, SUBSCRIBER_CONTEXTS.ip),
          consent_user_agent_ciphertext: keyRing.encrypt(
            actor.userAgent.slice(0, 500),
            SUBSCRIBER_CONTEXTS.userAgent,
          ),
          consent_actor_user_id: actor.userId,
          updated_at: now,
        }
        let id = existing?.id
        if (id === undefined) {
          id = generateId()
          await trx
            .insertInto('subscribers')
            .values({
              id,
              page_id: pageId,
              channel: 'email',
              address_ciphertext: keyRing.encrypt(email, SUBSCRIBER_CONTEXTS.address),
              address_index: index,
              secret_ciphertext: null,
              manage_generation: 1,
              created_at: now,
              ...consent,
            })
            .execute()
        } else {
          await trx.updateTable('subscribers').set(consent).where('id', '=', id).execute()
        }
        await replaceSubscriberComponents(trx, id, components)
        imported++
      }
      await recordChange(
        trx,
        actor,
        page.account_id,
        'subscriber.imported',
        { type: 'page', id: pageId },
        { imported, alreadySubscribed, consentTextId },
      )
    })
    return { imported, alreadySubscribed }
  }

  /** The current subscription settings of a page, for the dashboard's form (editor and up). */
  async function getSettings(
    actor: Actor,
    pageId: string,
  ): Promise<{ privacyNotice: string | null; notifyTeam: boolean }> {
    const page = await requirePageRole(db, actor, pageId, 'subscriber.read')
    return { privacyNotice: page.privacy_notice, notifyTeam: Boolean(page.notify_team) }
  }

  /** The subscribe form's settings for a page: privacy notice and team notifications (admin). */
  async function updateSettings(
    actor: Actor,
    pageId: string,
    input: { privacyNotice?: unknown; notifyTeam?: unknown },
  ): Promise<void> {
    const page = await requirePageRole(db, actor, pageId, 'subscriber.settings')
    const checker = new InputChecker()
    const notice =
      input.privacyNotice === undefined
        ? undefined
        : typeof input.privacyNotice === 'string' && input.privacyNotice.trim() === ''
          ? null
          : checker.text('privacyNotice', input.privacyNotice, {
              label: 'Privacy notice',
              max: PRIVACY_NOTICE_MAX,
              multiline: true,
            })
    checker.assertValid()
    const notifyTeam =
      input.notifyTeam === undefined
        ? undefined
        : input.notifyTeam === true || input.notifyTeam === 'on' || input.notifyTeam === 'true'
    await db.transaction().execute(async (trx) => {
      await trx
        .updateTable('pages')
        .set({
          ...(notice === undefined ? {} : { privacy_notice: notice }),
          ...(notifyTeam === undefined ? {} : { notify_team: notifyTeam }),
          updated_at: clock.now(),
        })
        .where('id', '=', pageId)
        .execute()
      await recordChange(
        trx,
        actor,
        page.account_id,
        'page.subscription_settings_changed',
        { type: 'page', id: pageId },
        {
          ...(notice === undefined ? {} : { privacyNoticeChanged: true }),
          ...(notifyTeam === undefined ? {} : { notifyTeam }),
        },
      )
    })
  }

  /** A member's own choice to hear, or not, about one page of their account. */
  async function setMemberOptOut(actor: Actor, pageId: string, optedOut: boolean): Promise<void> {
    await requirePageRole(db, actor, pageId, 'notification.opt-out')
    if (optedOut)
      await db
        .insertInto('member_notification_optouts')
        .values({ user_id: actor.userId, page_id: pageId, created_at: clock.now() })
        .onConflict((oc) => oc.columns(['user_id', 'page_id']).doNothing())
        .execute()
    else
      await db
        .deleteFrom('member_notification_optouts')
        .where('user_id', '=', actor.userId)
        .where('page_id', '=', pageId)
        .execute()
  }

  async function memberOptedOut(actor: Actor, pageId: string): Promise<boolean> {
    await requirePageRole(db, actor, pageId, 'notification.read')
    const row = await db
      .selectFrom('member_notification_optouts')
      .select('user_id')
      .where('user_id', '=', actor.userId)
      .where('page_id', '=', pageId)
      .executeTakeFirst()
    return row !== undefined
  }

  /** What the public subscribe form shows: the consent text and its version. */
  async function subscribeForm(
    pageId: string,
  ): Promise<{ consentText: string; consentVersion: string }> {
    const page = await publicPage(pageId)
    const text = consentText(page)
    // Showing the form writes nothing: the text is stored when a consent names it.
    return { consentText: text, consentVersion: consentTextId(text) }
  }

  /** Retention: unconfirmed subscriptions and unsubscribed rows older than the period go. */
  async function purgeInactive(retentionMs: number): Promise<number> {
    const cutoff = new Date(clock.now().getTime() - retentionMs).toISOString()
    const stale = await db
      .selectFrom('subscribers')
      .select('id')
      .where((eb) =>
        eb.or([
          eb.and([eb('state', '=', 'pending'), eb('created_at', '<', cutoff)]),
          eb.and([eb('state', '=', 'unsubscribed'), eb('unsubscribed_at', '<', cutoff)]),
        ]),
      )
      .execute()
    for (const s of stale) await eraseRow(s.id)
    return stale.length
  }

  return {
    consentText,
    subscribeForm,
    subscribe,
    pendingConfirmation,
    confirm,
    fromLink,
    updateByLink,
    unsubscribeByLink,
    resubscribeMemberByLink,
    exportByLink,
    eraseByLink,
    requestManageLink,
    list,
    get,
    add,
    setComponents,
    rotateSecret,
    erase,
    exportForActor,
    exportAll,
    importCsv,
    getSettings,
    updateSettings,
    setMemberOptOut,
    memberOptedOut,
    purgeInactive,
  }
}

function pageSummary(page: Selectable<PagesTable>) {
  return {
    id: page.id,
    name: page.name,
    slug: page.slug,
    locale: page.locale === 'fr' ? ('fr' as const) : ('en' as const),
  }
}

function subscriberTarget(id: string) {
  return { type: 'subscriber', id }
}
