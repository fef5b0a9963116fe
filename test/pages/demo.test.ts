import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEMO_SLUG, seedDemo } from '../../src/domain/pages/demo.js'
import { isIncidentOpen } from '../../src/domain/pages/status.js'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import { testDialects } from '../helpers/test-db.js'

describe.each(testDialects)('candor demo (%s)', (dialect) => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp(dialect)
  })
  afterAll(async () => {
    await t.close()
  })

  it('creates the demo page once, with its groups, incidents, maintenance and 90 days of history', async () => {
    const { services, database, keyRing, clock } = t.runtime
    const deps = {
      db: database.db,
      keyRing,
      clock,
      pages: services.pages,
      components: services.components,
      incidents: services.incidents,
    }
    const first = await seedDemo(deps)
    const second = await seedDemo(deps)
    expect(first.created).toBe(true)
    expect(second).toEqual({ pageId: first.pageId, created: false })

    const address = await services.publicPages.findBySlug(DEMO_SLUG)
    expect(address?.visibility).toBe('public')
    const snapshot = await services.publicPages.snapshot(first.pageId)
    if (snapshot === undefined) throw new Error('no snapshot')
    expect(snapshot.components.filter((c) => c.isGroup)).toHaveLength(2)
    expect(snapshot.components.filter((c) => !c.isGroup)).toHaveLength(6)
    const open = snapshot.incidents.filter(isIncidentOpen)
    expect(open).toHaveLength(1)
    expect(open[0]?.updates).toHaveLength(2)
    expect(snapshot.incidents.filter((i) => i.status === 'resolved')).toHaveLength(1)
    expect(snapshot.maintenances.filter((m) => m.status === 'scheduled')).toHaveLength(1)
    expect(snapshot.status.indicator).toBe('major')
    for (const uptime of snapshot.uptime) {
      expect(uptime.days.filter((d) => d.hasData)).toHaveLength(90)
    }
    expect(
      snapshot.uptime.some((u) =>
        u.days.some(
          (d) => d.worst !== 'operational' && d.date < snapshot.uptime[0]!.days.at(-2)!.date,
        ),
      ),
    ).toBe(true)
    const accounts = await database.db
      .selectFrom('accounts')
      .select('name')
      .where('name', '=', 'Demo')
      .execute()
    expect(accounts).toHaveLength(1)
  })
})
