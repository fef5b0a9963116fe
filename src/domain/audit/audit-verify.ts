import type { Kysely, Selectable } from 'kysely'
import type { AuditEntriesTable, DatabaseSchema } from '../../db/schema.js'
import { chainOf, entryHash, GENESIS_HASH, type HashedFields } from './audit-chain.js'

type Db = Kysely<DatabaseSchema>

export interface ChainBreak {
  /** The seq and id of the first entry that does not fit; null when the break is at the head. */
  seq: number | null
  id: string | null
  reason: string
}

export interface ChainReport {
  chain: string
  entries: number
  /** The hash of the last entry (what an operator notes down to detect a rewrite later). */
  headHash: string
  broken: ChainBreak | null
}

const BATCH = 1000

export function hashedFieldsOf(row: Selectable<AuditEntriesTable>): HashedFields {
  return {
    id: row.id,
    chain: row.chain,
    seq: row.seq,
    accountId: row.account_id,
    createdAt: row.created_at,
    actorType: row.actor_type,
    actorUserId: row.actor_user_id,
    actorApiKeyId: row.actor_api_key_id,
    action: row.action,
    targetType: row.target_type,
    targetId: row.target_id,
    ip: row.ip,
    userAgent: row.user_agent,
    details: row.details,
  }
}

/**
 * Walks every chain (or one account's) from its first entry: seq must count 1, 2, 3… without a
 * gap, each prev_hash must be the previous entry's hash, each hash must match the entry's content,
 * and the chain's head row must name the last entry. An edit, a deletion, an insertion or a
 * reordering breaks one of these; a rewrite of a whole chain suffix from the database alone is
 * caught by comparing the head hash with one noted earlier.
 */
export async function verifyAuditChains(
  db: Db,
  options: { accountId?: string | undefined } = {},
): Promise<ChainReport[]> {
  const only = options.accountId === undefined ? undefined : chainOf(options.accountId)
  let chainsQuery = db.selectFrom('audit_entries').select('chain').distinct()
  let headsQuery = db.selectFrom('audit_chain_heads').selectAll()
  if (only !== undefined) {
    chainsQuery = chainsQuery.where('chain', '=', only)
    headsQuery = headsQuery.where('chain', '=', only)
  }
  const heads = new Map((await headsQuery.execute()).map((h) => [h.chain, h]))
  const chains = [
    ...new Set([...(await chainsQuery.execute()).map((c) => c.chain), ...heads.keys()]),
  ].sort()
  const reports: ChainReport[] = []
  for (const chain of chains) {
    const head = heads.get(chain)
    let expectedSeq = 1
    let prevHash = GENESIS_HASH
    let broken: ChainBreak | null = null
    let entries = 0
    // Paged by the last seq read, from the very first row: a forged seq 0 or -1 is read too.
    let after: number | undefined
    walk: for (;;) {
      let query = db.selectFrom('audit_entries').selectAll().where('chain', '=', chain)
      if (after !== undefined) query = query.where('seq', '>', after)
      const rows = await query.orderBy('seq').limit(BATCH).execute()
      for (const row of rows) {
        const seq = row.seq
        after = seq
        const at = { seq, id: row.id }
        if (seq !== expectedSeq)
          broken = {
            ...at,
            reason: `seq ${String(seq)} where ${String(expectedSeq)} was expected (an entry is missing or was inserted)`,
          }
        else if (row.prev_hash !== prevHash)
          broken = {
            ...at,
            reason: `prev_hash does not match the hash of entry ${String(seq - 1)} (an entry before it was removed, replaced or reordered)`,
          }
        else if (entryHash(row.prev_hash, hashedFieldsOf(row)) !== row.hash)
          broken = { ...at, reason: 'hash does not match the entry (its content was changed)' }
        if (broken !== null) break walk
        prevHash = row.hash
        expectedSeq++
        entries++
      }
      if (rows.length < BATCH) break
    }
    if (broken === null && head === undefined)
      broken = { seq: null, id: null, reason: 'the chain has entries but no head row' }
    else if (broken === null && head !== undefined && head.seq !== entries)
      broken = {
        seq: null,
        id: null,
        reason: `the head names entry ${String(head.seq)} but the chain ends at entry ${String(entries)} (entries at the end were removed or added)`,
      }
    else if (broken === null && head !== undefined && head.hash !== prevHash)
      broken = {
        seq: null,
        id: null,
        reason: 'the head hash does not match the last entry (the last entry was replaced)',
      }
    reports.push({ chain, entries, headHash: prevHash, broken })
  }
  return reports
}
