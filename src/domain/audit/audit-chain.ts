import { createHash } from 'node:crypto'
import type { AuditActorType } from '../../db/schema.js'

/** The prev_hash of the first entry of every chain. */
export const GENESIS_HASH = '0'.repeat(64)
export const INSTALLATION_CHAIN = 'installation'

/** One chain per account, and one for events that belong to no account. */
export function chainOf(accountId: string | null): string {
  return accountId === null ? INSTALLATION_CHAIN : `account:${accountId}`
}

/** Every field of an entry that its hash covers, as stored (timestamps as ISO 8601 UTC text). */
export interface HashedFields {
  id: string
  chain: string
  seq: number
  accountId: string | null
  createdAt: string
  actorType: AuditActorType
  actorUserId: string | null
  actorApiKeyId: string | null
  action: string
  targetType: string | null
  targetId: string | null
  ip: string | null
  userAgent: string | null
  /** The canonical JSON text of the details, as stored. */
  details: string
}

/**
 * JSON with object keys sorted at every level and no whitespace, so the same value always gives
 * the same text (and the same hash), whichever order its keys were written in.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value) as string | undefined
    if (text === undefined) throw new TypeError('canonicalJson: value cannot be represented')
    return text
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
}

/** hash = SHA-256(prev_hash + canonical JSON of the entry's fields), in hex. */
export function entryHash(prevHash: string, fields: HashedFields): string {
  return createHash('sha256')
    .update(prevHash, 'utf8')
    .update(canonicalJson(fields), 'utf8')
    .digest('hex')
}
