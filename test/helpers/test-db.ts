import { randomBytes } from 'node:crypto'
import pg from 'pg'

export type TestDialect = 'sqlite' | 'postgres'

const postgresUrl = process.env['TEST_DATABASE_URL']

/** Every suite runs on SQLite, and on PostgreSQL too when TEST_DATABASE_URL is set (CI sets it). */
export const testDialects: TestDialect[] =
  postgresUrl === undefined || postgresUrl === '' ? ['sqlite'] : ['sqlite', 'postgres']

export interface ThrowawayDatabase {
  url: string
  drop(): Promise<void>
}

/** A fresh PostgreSQL database per test app, so suites never see each other's rows. */
export async function createPostgresDatabase(): Promise<ThrowawayDatabase> {
  if (postgresUrl === undefined || postgresUrl === '')
    throw new Error('TEST_DATABASE_URL is not set')
  const name = `candor_test_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: postgresUrl })
  await admin.connect()
  try {
    await admin.query(`CREATE DATABASE ${name}`)
  } finally {
    await admin.end()
  }
  const url = new URL(postgresUrl)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: postgresUrl })
      await client.connect()
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      } finally {
        await client.end()
      }
    },
  }
}
