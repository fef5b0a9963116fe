import pg from 'pg'

/**
 * CI sets CANDOR_TEST_REQUIRE_POSTGRES=1 together with TEST_DATABASE_URL: then an unreachable
 * PostgreSQL fails the run at once instead of silently testing SQLite only.
 */
export default async function globalSetup(): Promise<void> {
  const url = process.env['TEST_DATABASE_URL']
  if (url === undefined || url === '') {
    if (process.env['CANDOR_TEST_REQUIRE_POSTGRES'] === '1') {
      throw new Error('CANDOR_TEST_REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set.')
    }
    return
  }
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 })
  try {
    await client.connect()
    await client.query('SELECT 1')
  } catch (error) {
    throw new Error(
      `PostgreSQL at TEST_DATABASE_URL cannot be reached: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    )
  } finally {
    await client.end().catch(() => undefined)
  }
}
