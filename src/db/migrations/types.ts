import { PostgresAdapter, type Kysely } from 'kysely'

/**
 * The column types that differ between the two dialects. Kept deliberately tiny and stable,
 * because every migration (frozen once landed) goes through it.
 */
export function columnTypes(db: Kysely<unknown>) {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter
  return {
    timestamp: postgres ? ('timestamptz' as const) : ('text' as const),
    boolean: postgres ? ('boolean' as const) : ('integer' as const),
    binary: postgres ? ('bytea' as const) : ('blob' as const),
  }
}
