import { createHash } from 'node:crypto'
import type { Kysely, Selectable } from 'kysely'
import type { KeyRing } from '../../crypto/key-ring.js'
import type { DatabaseSchema, SubscriberChannel, SubscribersTable } from '../../db/schema.js'
import type { Subscriber } from './types.js'

type Db = Kysely<DatabaseSchema>

/** Encryption contexts (AAD) of the subscriber columns: a value cannot be moved to another column. */
export const SUBSCRIBER_CONTEXTS = {
  address: 'subscribers.address',
  secret: 'subscribers.secret',
  ip: 'subscribers.consent_ip',
  userAgent: 'subscribers.consent_user_agent',
} as const

export function normalizeAddress(channel: SubscriberChannel, address: string): string {
  return channel === 'email' ? address.trim().toLowerCase() : address.trim()
}

/** The blind index that finds a subscriber by address without decrypting every row. */
export function subscriberAddressIndex(
  keyRing: KeyRing,
  channel: SubscriberChannel,
  address: string,
): string {
  return keyRing.blindIndex(normalizeAddress(channel, address), `subscribers.address:${channel}`)
}

/** The id (version) of a consent text: its hash, so the same text always has the same id. */
export function consentTextId(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 32)
}

/** Stores a consent text once, by its hash, and returns its id (the version a consent names). */
export async function storeConsentText(db: Db, text: string, now: Date): Promise<string> {
  const id = consentTextId(text)
  await db
    .insertInto('consent_texts')
    .values({ id, text, created_at: now })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute()
  return id
}

export async function loadSubscribers(
  db: Db,
  keyRing: KeyRing,
  rows: Selectable<SubscribersTable>[],
): Promise<Subscriber[]> {
  if (rows.length === 0) return []
  const ids = rows.map((r) => r.id)
  const [links, texts] = await Promise.all([
    db
      .selectFrom('subscriber_components')
      .select(['subscriber_id', 'component_id'])
      .where('subscriber_id', 'in', ids)
      .execute(),
    db
      .selectFrom('consent_texts')
      .select(['id', 'text'])
      .where(
        'id',
        'in',
        [...new Set(rows.map((r) => r.consent_text_id ?? ''))].filter((id) => id !== ''),
      )
      .execute(),
  ])
  const textById = new Map(texts.map((t) => [t.id, t.text]))
  const date = (value: string | null) => (value === null ? null : new Date(value))
  const decrypt = (value: string | null, context: string) =>
    value === null ? null : keyRing.decrypt(value, context)
  return rows.map((row) => ({
    id: row.id,
    pageId: row.page_id,
    channel: row.channel,
    address: keyRing.decrypt(row.address_ciphertext, SUBSCRIBER_CONTEXTS.address),
    state: row.state,
    allComponents: Boolean(row.all_components),
    componentIds: links.filter((l) => l.subscriber_id === row.id).map((l) => l.component_id),
    confirmedAt: date(row.confirmed_at),
    unsubscribedAt: date(row.unsubscribed_at),
    consent: {
      at: new Date(row.consent_at),
      source: row.consent_source,
      text: row.consent_text_id === null ? null : (textById.get(row.consent_text_id) ?? null),
      ip: decrypt(row.consent_ip_ciphertext, SUBSCRIBER_CONTEXTS.ip),
      userAgent: decrypt(row.consent_user_agent_ciphertext, SUBSCRIBER_CONTEXTS.userAgent),
      actorUserId: row.consent_actor_user_id,
    },
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  }))
}

export async function replaceSubscriberComponents(
  db: Db,
  subscriberId: string,
  componentIds: readonly string[],
): Promise<void> {
  await db.deleteFrom('subscriber_components').where('subscriber_id', '=', subscriberId).execute()
  if (componentIds.length > 0)
    await db
      .insertInto('subscriber_components')
      .values(componentIds.map((id) => ({ subscriber_id: subscriberId, component_id: id })))
      .execute()
}
