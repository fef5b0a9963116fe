import type { Kysely } from 'kysely'
import type { DatabaseSchema } from '../../db/schema.js'
import type { Clock } from '../clock.js'

type Db = Kysely<DatabaseSchema>

export type IdempotencyOutcome =
  | { kind: 'new' }
  | { kind: 'mismatch' }
  | { kind: 'in_progress' }
  | { kind: 'replay'; status: number; body: string }

export type IdempotencyStore = ReturnType<typeof createIdempotencyStore>

/**
 * Idempotency-Key records per API key. The first request claims the key with an insert that only
 * one of several concurrent requests can win; its answer is stored and replayed afterwards.
 */
export function createIdempotencyStore(deps: { db: Db; clock: Clock; ttlMs: number }) {
  const { db, clock, ttlMs } = deps

  async function begin(
    apiKeyId: string,
    key: string,
    requestHash: string,
  ): Promise<IdempotencyOutcome> {
    const now = clock.now()
    // An expired record is a new request.
    await db
      .deleteFrom('idempotency_keys')
      .where('api_key_id', '=', apiKeyId)
      .where('idempotency_key', '=', key)
      .where('created_at', '<', new Date(now.getTime() - ttlMs).toISOString())
      .execute()
    const inserted = await db
      .insertInto('idempotency_keys')
      .values({
        api_key_id: apiKeyId,
        idempotency_key: key,
        request_hash: requestHash,
        status: null,
        response_body: null,
        created_at: now,
      })
      .onConflict((oc) => oc.columns(['api_key_id', 'idempotency_key']).doNothing())
      .executeTakeFirst()
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 1) return { kind: 'new' }
    const existing = await db
      .selectFrom('idempotency_keys')
      .selectAll()
      .where('api_key_id', '=', apiKeyId)
      .where('idempotency_key', '=', key)
      .executeTakeFirst()
    if (existing === undefined) return begin(apiKeyId, key, requestHash)
    if (existing.request_hash !== requestHash) return { kind: 'mismatch' }
    if (existing.status === null || existing.response_body === null) return { kind: 'in_progress' }
    return { kind: 'replay', status: existing.status, body: existing.response_body }
  }

  async function complete(
    apiKeyId: string,
    key: string,
    status: number,
    body: string,
  ): Promise<void> {
    await db
      .updateTable('idempotency_keys')
      .set({ status, response_body: body })
      .where('api_key_id', '=', apiKeyId)
      .where('idempotency_key', '=', key)
      .execute()
  }

  async function forget(apiKeyId: string, key: string): Promise<void> {
    await db
      .deleteFrom('idempotency_keys')
      .where('api_key_id', '=', apiKeyId)
      .where('idempotency_key', '=', key)
      .execute()
  }

  async function prune(): Promise<number> {
    const result = await db
      .deleteFrom('idempotency_keys')
      .where('created_at', '<', new Date(clock.now().getTime() - ttlMs).toISOString())
      .executeTakeFirst()
    return Number(result.numDeletedRows)
  }

  return { begin, complete, forget, prune }
}
