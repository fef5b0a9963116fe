import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import { createPageFixture } from '../helpers/page-factories.js'
import { testDialects } from '../helpers/test-db.js'

describe.each(testDialects)('status page domain (%s)', (dialect) => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp(dialect)
  })
  afterAll(async () => {
    await t.close()
  })

  it('opens an incident, updates and resolves it, and the snapshot follows', async () => {
    const f = await createPageFixture(t)
    const { incidents, publicPages } = t.runtime.services
    const incident = await incidents.create(f.actor, f.page.id, {
      name: 'API errors',
      status: 'investigating',
      impact: 'major',
      body: 'We are looking into **elevated errors**.\n\n- EU first\n- then US\r\n\tDetails follow.',
      components: { [f.components.api.id]: 'partial_outage' },
    })
    let snapshot = await publicPages.snapshot(f.page.id)
    expect(snapshot?.incidents[0]?.updates[0]?.body).toContain('- EU first\n- then US')
    await expect(
      incidents.addUpdate(f.actor, incident.id, {
        status: 'identified',
        body: 'bell \u0007 character',
      }),
    ).rejects.toThrow('Some fields are not valid')
    expect(snapshot?.status.indicator).toBe('major')
    expect(snapshot?.components.find((c) => c.id === f.groups.core.id)?.status).toBe(
      'partial_outage',
    )
    expect(snapshot?.incidents[0]?.updates[0]?.affectedComponents).toEqual([
      {
        code: f.components.api.id,
        name: 'Core - API',
        oldStatus: 'operational',
        newStatus: 'partial_outage',
      },
    ])
    t.clock.advance(60_000)
    await incidents.addUpdate(f.actor, incident.id, { status: 'resolved', body: 'Fixed.' })
    snapshot = await publicPages.snapshot(f.page.id)
    expect(snapshot?.status.indicator).toBe('none')
    expect(snapshot?.components.find((c) => c.id === f.components.api.id)?.status).toBe(
      'operational',
    )
    expect(snapshot?.incidents[0]?.status).toBe('resolved')
    expect(snapshot?.incidents[0]?.updates).toHaveLength(2)
    const uptime = snapshot?.uptime.find((u) => u.componentId === f.components.api.id)
    expect(uptime?.days).toHaveLength(90)
    expect(uptime?.days.at(-1)?.worst).toBe('partial_outage')
    expect(uptime?.percent).toBeLessThan(100)
  })

  it('starts and completes an automatic maintenance on time', async () => {
    const f = await createPageFixture(t)
    const { incidents, publicPages } = t.runtime.services
    const start = new Date(t.clock.now().getTime() + 3_600_000)
    const end = new Date(start.getTime() + 7_200_000)
    const maintenance = await incidents.scheduleMaintenance(f.actor, f.page.id, {
      name: 'Database upgrade',
      body: 'We will upgrade the database.',
      scheduledFor: start.toISOString(),
      scheduledUntil: end.toISOString(),
      componentIds: [f.components.eu.id],
    })
    expect(maintenance.status).toBe('scheduled')
    t.clock.set(new Date(start.getTime() + 1000))
    expect(await incidents.runMaintenanceTransitions()).toBe(1)
    let snapshot = await publicPages.snapshot(f.page.id)
    expect(snapshot?.components.find((c) => c.id === f.components.eu.id)?.status).toBe(
      'under_maintenance',
    )
    expect(snapshot?.status.indicator).toBe('maintenance')
    t.clock.set(new Date(end.getTime() + 1000))
    expect(await incidents.runMaintenanceTransitions()).toBe(1)
    expect(await incidents.runMaintenanceTransitions()).toBe(0)
    snapshot = await publicPages.snapshot(f.page.id)
    expect(snapshot?.components.find((c) => c.id === f.components.eu.id)?.status).toBe(
      'operational',
    )
    expect(snapshot?.maintenances[0]?.status).toBe('completed')
    expect(snapshot?.maintenances[0]?.updates.map((u) => u.status)).toEqual([
      'completed',
      'in_progress',
      'scheduled',
    ])
  })

  it('catches up a window that opened and closed while no worker ran, in order, in the page language', async () => {
    const f = await createPageFixture(t, { locale: 'fr' })
    const { incidents, publicPages } = t.runtime.services
    const start = new Date(t.clock.now().getTime() + 60_000)
    await incidents.scheduleMaintenance(f.actor, f.page.id, {
      name: 'Mise à jour',
      body: 'Maintenance prévue.',
      scheduledFor: start.toISOString(),
      scheduledUntil: new Date(start.getTime() + 60_000).toISOString(),
      componentIds: [f.components.us.id],
    })
    t.clock.advance(10 * 60_000)
    expect(await incidents.runMaintenanceTransitions()).toBe(2)
    const snapshot = await publicPages.snapshot(f.page.id)
    const maintenance = snapshot?.maintenances[0]
    expect(maintenance?.updates.map((u) => u.status)).toEqual([
      'completed',
      'in_progress',
      'scheduled',
    ])
    expect(maintenance?.updates[0]?.body).toBe('La maintenance programmée est terminée.')
    expect(snapshot?.components.find((c) => c.id === f.components.us.id)?.status).toBe(
      'operational',
    )
  })
})
