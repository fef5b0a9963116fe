import { randomBytes } from 'node:crypto'
import {
  constants,
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import SqliteDatabase from 'better-sqlite3-multiple-ciphers'
import {
  Kysely,
  OperationNodeTransformer,
  PostgresDialect,
  SqliteDialect,
  sql,
  type KyselyPlugin,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryResult,
  type RootOperationNode,
  type UnknownRow,
  type ValueNode,
  type PrimitiveValueListNode,
} from 'kysely'
import pg from 'pg'
import { deriveKey, WrongMasterKeyError } from '../crypto/key-ring.js'
import type { DatabaseSchema } from './schema.js'

export type Dialect = 'sqlite' | 'postgres'

export interface Database {
  readonly db: Kysely<DatabaseSchema>
  readonly dialect: Dialect
  /** Where the data lives, without credentials, for logs. */
  readonly description: string
  /** On PostgreSQL: the URL and the pool, for graphile-worker's queue. */
  readonly postgres?: { url: string; pool: pg.Pool }
  ping(): Promise<void>
  close(): Promise<void>
}

export interface DatabaseOptions {
  databaseUrl: string | undefined
  dataDir: string
  masterKey: Buffer
  poolSize?: number
  /** Overrides DATA_DIR/candor.db, for tests. */
  sqliteFile?: string
}

export function createDatabase(options: DatabaseOptions): Database {
  return options.databaseUrl === undefined
    ? createSqlite(options)
    : createPostgres(options.databaseUrl, options.poolSize ?? 10)
}

/**
 * Opens the embedded database, encrypted with a SQLCipher-compatible cipher whose raw key is
 * derived from the master key. A wrong key surfaces here as "file is not a database".
 */
export function openSqliteFile(file: string, masterKey: Buffer): SqliteDatabase.Database {
  if (!existsSync(file)) createSqliteFile(file, masterKey)
  const handle = new SqliteDatabase(file)
  try {
    setKey(handle, masterKey)
    handle.prepare('SELECT count(*) FROM sqlite_master').get()
  } catch (error) {
    handle.close()
    if (error instanceof Error && /not a database/i.test(error.message))
      throw new WrongMasterKeyError()
    throw error
  }
  handle.pragma('journal_mode = WAL')
  handle.pragma('synchronous = NORMAL')
  handle.pragma('foreign_keys = ON')
  handle.pragma('busy_timeout = 5000')
  return handle
}

function setKey(handle: SqliteDatabase.Database, masterKey: Buffer): void {
  handle.pragma(`cipher='sqlcipher'`)
  handle.pragma('legacy=4')
  handle.pragma(`key="x'${deriveKey(masterKey, 'sqlite-file/v1').toString('hex')}'"`)
}

/**
 * The cipher reads its salt from the file header when the key is set: a process that sets its key
 * while another is still creating the file picks a salt of its own and then fails as if the key
 * were wrong (web and worker starting together on a new data folder). So a new file is written
 * complete, header included, under a private name and linked into place, which only one can win.
 */
function createSqliteFile(file: string, masterKey: Buffer): void {
  const draft = `${file}.${randomBytes(6).toString('hex')}.new`
  try {
    // Owner-only from the first byte; SQLite gives the WAL and shared-memory files the same mode.
    writeFileSync(draft, '', { mode: 0o600, flag: 'wx' })
    const handle = new SqliteDatabase(draft)
    try {
      setKey(handle, masterKey)
      handle.pragma('journal_mode = WAL')
    } finally {
      handle.close()
    }
    try {
      linkSync(draft, file)
    } catch (error) {
      if (fsErrorCode(error) === 'EEXIST') throw error
      // A volume without hard links: an exclusive copy of the one-page file comes close.
      copyFileSync(draft, file, constants.COPYFILE_EXCL)
    }
  } catch (error) {
    // Another process created it first: open theirs.
    if (fsErrorCode(error) !== 'EEXIST') throw error
  } finally {
    rmSync(draft, { force: true })
  }
}

function fsErrorCode(error: unknown): unknown {
  return error instanceof Error && 'code' in error ? error.code : undefined
}

function createSqlite(options: DatabaseOptions): Database {
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 })
  const file = options.sqliteFile ?? join(options.dataDir, 'candor.db')
  const handle = openSqliteFile(file, options.masterKey)
  const db = new Kysely<DatabaseSchema>({
    dialect: new SqliteDialect({ database: handle }),
    plugins: [new SqliteValuesPlugin()],
  })
  return {
    db,
    dialect: 'sqlite',
    description: `SQLite (encrypted) at ${file}`,
    async ping() {
      await sql`SELECT 1`.execute(db)
    },
    async close() {
      await db.destroy()
    },
  }
}

const TIMESTAMP_OID = 1114
const TIMESTAMPTZ_OID = 1184
const INT8_OID = 20
/** pg's typings want its TypeId enum, but OIDs arrive as plain numbers. */
const defaultTypeParser = pg.types.getTypeParser as (
  oid: number,
  format?: 'text' | 'binary',
) => unknown
const parsePgTimestamp = defaultTypeParser(TIMESTAMPTZ_OID) as (value: string) => Date

/** Timestamps come back as ISO 8601 strings and counts as numbers, the same shapes SQLite gives. */
const pgTypes = {
  getTypeParser: (oid: number, format?: 'text' | 'binary') => {
    if (oid === TIMESTAMPTZ_OID || oid === TIMESTAMP_OID)
      return (value: string) => parsePgTimestamp(value).toISOString()
    if (oid === INT8_OID) return (value: string) => Number(value)
    return defaultTypeParser(oid, format)
  },
}

function createPostgres(databaseUrl: string, poolSize: number): Database {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: poolSize,
    connectionTimeoutMillis: 10_000,
    types: pgTypes,
  })
  // An idle connection that the server ends (a PostgreSQL restart or failover) is an 'error'
  // event on the pool; unhandled, it would crash the process. The pool drops that client and
  // the next query opens a new connection, so there is nothing else to do.
  pool.on('error', () => undefined)
  // A client whose connection drops while checked out emits 'error' on itself; the query in flight
  // fails with that error already, so the event needs no further handling (but must be handled).
  pool.on('connect', (client) => {
    client.on('error', () => undefined)
  })
  const db = new Kysely<DatabaseSchema>({ dialect: new PostgresDialect({ pool }) })
  const url = new URL(databaseUrl)
  return {
    db,
    dialect: 'postgres',
    postgres: { url: databaseUrl, pool },
    description: `PostgreSQL at ${url.hostname}:${url.port || '5432'}${url.pathname}`,
    async ping() {
      await sql`SELECT 1`.execute(db)
    },
    async close() {
      await db.destroy()
    },
  }
}

/** better-sqlite3 binds neither Date nor boolean: store ISO 8601 text and 0/1, as PostgreSQL would read them. */
class SqliteValuesPlugin implements KyselyPlugin {
  readonly #transformer = new SqliteValuesTransformer()

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return this.#transformer.transformNode(args.node)
  }

  transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return Promise.resolve(args.result)
  }
}

class SqliteValuesTransformer extends OperationNodeTransformer {
  protected override transformValue(node: ValueNode): ValueNode {
    return { ...super.transformValue(node), value: toSqliteValue(node.value) }
  }

  protected override transformPrimitiveValueList(
    node: PrimitiveValueListNode,
  ): PrimitiveValueListNode {
    return { ...super.transformPrimitiveValueList(node), values: node.values.map(toSqliteValue) }
  }
}

function toSqliteValue(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString()
  if (typeof value === 'boolean') return value ? 1 : 0
  return value
}
