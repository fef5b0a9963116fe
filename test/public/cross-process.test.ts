import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import { createPageFixture, type PageFixture } from '../helpers/page-factories.js'
import { testDialects } from '../helpers/test-db.js'

/** Polls until the condition holds or the bound passes: notifications cross processes asynchronously. */
async function eventually(check: () => Promise<boolean>, boundMs = 5000): Promise<boolean> {
  const deadline = Date.now() + boundMs
  while (Date.now() < deadline) {
    if (await check()) return true
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return false
}

describe.runIf(testDialects.includes('postgres'))(
  'page cache across processes on PostgreSQL',
  () => {
    let first: TestApp & { masterKeyHex: string; databaseUrl: string | undefined }
    let second: TestApp
    let f: PageFixture
    beforeAll(async () => {
      first = await buildTestApp('postgres')
      second = await buildTestApp('postgres', {
        reuse: {
          dataDir: first.dataDir,
          masterKey: first.masterKeyHex,
          ...(first.databaseUrl === undefined ? {} : { databaseUrl: first.databaseUrl }),
        },
      })
      f = await createPageFixture(first)
    })
    afterAll(async () => {
      await second.close()
      await first.close()
    })

    const status = async (t: TestApp) => {
      const response = await t.app.inject({
        method: 'GET',
        url: `/p/${f.page.slug}/api/v2/status.json`,
      })
      return (JSON.parse(response.body) as { status: { indicator: string } }).status.indicator
    }

    it('a change made through one instance reaches the other one’s cached page through LISTEN/NOTIFY', async () => {
      expect(await status(first)).toBe('none')
      expect(await status(second)).toBe('none')
      const html = await second.app.inject({ method: 'GET', url: `/p/${f.page.slug}` })
      expect(html.body).not.toContain('Replica lag')

      await first.runtime.services.incidents.create(f.actor, f.page.id, {
        name: 'Replica lag',
        status: 'identified',
        impact: 'major',
        body: 'Reads may be stale.',
        components: { [f.components.eu.id]: 'partial_outage' },
      })
      expect(await status(first)).toBe('major')
      expect(await eventually(async () => (await status(second)) === 'major')).toBe(true)
      const refreshed = await second.app.inject({ method: 'GET', url: `/p/${f.page.slug}` })
      expect(refreshed.body).toContain('Replica lag')
    })

    it('a lost notice is caught by the periodic version check', async () => {
      expect(await status(second)).toBe('major')
      // Write behind the services' back: no notice is sent, only the version moves.
      await first.runtime.database.db
        .updateTable('components')
        .set({ status: 'operational' })
        .where('page_id', '=', f.page.id)
        .execute()
      await first.runtime.database.db
        .updateTable('pages')
        .set((eb) => ({ version: eb('version', '+', 1) }))
        .where('id', '=', f.page.id)
        .execute()
      await first.runtime.database.db
        .updateTable('incidents')
        .set({ status: 'resolved' })
        .where('page_id', '=', f.page.id)
        .execute()
      await first.runtime.database.db
        .updateTable('pages')
        .set((eb) => ({ version: eb('version', '+', 1) }))
        .where('id', '=', f.page.id)
        .execute()
      expect(await eventually(async () => (await status(second)) === 'none', 12_000)).toBe(true)
    })
  },
)
