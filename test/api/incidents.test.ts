import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import { createPageFixture, type PageFixture } from '../helpers/page-factories.js'
import { testDialects } from '../helpers/test-db.js'
import {
  ApiClient,
  COMPONENT_FIELDS,
  eventually,
  expectInvalid,
  expectProblem,
  expectRefused,
  type ApiIncident,
  type ApiIncidentUpdate,
  type ApiTemplate,
} from './harness.js'

const INCIDENT_FIELDS = [
  'id',
  'page_id',
  'name',
  'status',
  'impact',
  'impact_override',
  'created_at',
  'updated_at',
  'started_at',
  'monitoring_at',
  'resolved_at',
  'shortlink',
  'scheduled_for',
  'scheduled_until',
  'scheduled_auto_in_progress',
  'scheduled_auto_completed',
  'postmortem_body',
  'postmortem_published_at',
  'incident_updates',
  'components',
]
const UPDATE_FIELDS = [
  'id',
  'incident_id',
  'status',
  'body',
  'created_at',
  'updated_at',
  'display_at',
  'affected_components',
  'deliver_notifications',
  'custom_tweet',
  'tweet_id',
]
const MINUTE = 60_000

interface PublicComponent {
  id: string
  status: string
}
interface PublicIncident {
  id: string
  name: string
  status: string
  impact: string
  resolved_at: string | null
  incident_updates: { status: string; body: string; affected_components?: unknown }[]
  components: PublicComponent[]
}
interface PublicMaintenance extends PublicIncident {
  scheduled_for: string
  scheduled_until: string
}

describe.each(testDialects)('management API: incidents (%s)', (dialect) => {
  let t: TestApp
  let api: ApiClient
  let f: PageFixture
  let key: string
  let page: string

  beforeAll(async () => {
    t = await buildTestApp(dialect)
    api = await ApiClient.open(t)
  })
  beforeEach(async () => {
    f = await createPageFixture(t)
    key = await api.key(f.actor, f.owner.accountId)
    page = `/pages/${f.page.id}`
  })
  afterAll(async () => {
    await t.close()
  })

  /** A public Statuspage v2 document of the page, once it shows what `ready` waits for. */
  async function publicJson<T>(file: string, ready: (json: T) => boolean): Promise<T> {
    return eventually(async () => {
      const response = await t.app.inject({
        method: 'GET',
        url: `/p/${f.page.slug}/api/v2/${file}`,
      })
      expect(response.statusCode).toBe(200)
      const json = JSON.parse(response.body) as T
      return ready(json) ? json : undefined
    })
  }

  async function createIncident(body: Record<string, unknown> = {}): Promise<ApiIncident> {
    const response = await api.post(key, `${page}/incidents`, {
      incident: { name: 'API errors', body: 'We are looking into it.', ...body },
    })
    expect(response.status, response.text).toBe(201)
    return response.json<ApiIncident>()
  }

  it('a Statuspage client: create, two updates by PATCH, resolve; the public JSON follows', async () => {
    const { api: apiC, web, eu } = f.components
    const created = await api.post(key, `${page}/incidents`, {
      incident: {
        name: 'Elevated API errors',
        status: 'investigating',
        impact_override: 'major',
        body: 'We are investigating errors on the API.',
        components: { [apiC.id]: 'major_outage' },
        component_ids: [apiC.id, web.id],
        deliver_notifications: true,
      },
    })
    expect(created.status).toBe(201)
    const incident = created.json<ApiIncident>()
    expect(Object.keys(incident)).toEqual(INCIDENT_FIELDS)
    expect(incident).toMatchObject({
      page_id: f.page.id,
      name: 'Elevated API errors',
      status: 'investigating',
      impact: 'major',
      resolved_at: null,
      shortlink: `http://candor.test/p/${f.page.slug}/incidents/${incident.id}`,
    })
    expect(incident.incident_updates).toHaveLength(1)
    expect(Object.keys(incident.incident_updates[0]!)).toEqual(UPDATE_FIELDS)
    expect(incident.incident_updates[0]).toMatchObject({
      incident_id: incident.id,
      status: 'investigating',
      body: 'We are investigating errors on the API.',
      affected_components: [
        {
          code: apiC.id,
          name: 'Core - API',
          old_status: 'operational',
          new_status: 'major_outage',
        },
      ],
    })
    for (const component of incident.components)
      expect(Object.keys(component)).toEqual(COMPONENT_FIELDS)
    expect(
      incident.components.map((c) => [c.id, c.status]).sort((a, b) => a[0]!.localeCompare(b[0]!)),
    ).toEqual(
      [
        [apiC.id, 'major_outage'],
        [web.id, 'operational'],
      ].sort((a, b) => a[0]!.localeCompare(b[0]!)),
    )

    const opened = await publicJson<{ incidents: PublicIncident[]; components: PublicComponent[] }>(
      'summary.json',
      (s) => s.incidents.some((i) => i.id === incident.id),
    )
    expect(opened.components.find((c) => c.id === apiC.id)?.status).toBe('major_outage')
    expect(opened.incidents[0]).toMatchObject({ name: 'Elevated API errors', impact: 'major' })

    const path = `${page}/incidents/${incident.id}`
    t.clock.advance(5 * MINUTE)
    const identified = await api.patch(key, path, {
      incident: { status: 'identified', body: 'A bad deploy; rolling back.' },
    })
    expect(identified.status).toBe(200)
    expect(identified.json<ApiIncident>().incident_updates.map((u) => u.status)).toEqual([
      'identified',
      'investigating',
    ])
    t.clock.advance(5 * MINUTE)
    const monitoring = await api.patch(key, path, {
      incident: {
        status: 'monitoring',
        body: 'Rolled back; watching.',
        components: { [apiC.id]: 'degraded_performance', [eu.id]: 'partial_outage' },
      },
    })
    const watched = monitoring.json<ApiIncident>()
    expect(watched).toMatchObject({ status: 'monitoring' })
    expect(watched.monitoring_at).not.toBeNull()
    expect(watched.components.find((c) => c.id === apiC.id)?.status).toBe('degraded_performance')
    expect(watched.components.map((c) => c.id)).toContain(eu.id)

    t.clock.advance(5 * MINUTE)
    const resolved = await api.patch(key, path, {
      incident: { status: 'resolved', body: 'All systems normal.' },
    })
    expect(resolved.status).toBe(200)
    const done = resolved.json<ApiIncident>()
    expect(done.status).toBe('resolved')
    expect(done.resolved_at).toBe(t.clock.now().toISOString())
    expect(done.incident_updates.map((u) => u.status)).toEqual([
      'resolved',
      'monitoring',
      'identified',
      'investigating',
    ])
    expect(done.components.every((c) => c.status === 'operational')).toBe(true)

    // the public Statuspage JSON: no open incident, every component operational again
    const summary = await publicJson<{
      incidents: PublicIncident[]
      components: PublicComponent[]
    }>('summary.json', (s) => s.incidents.length === 0)
    for (const id of [apiC.id, web.id, eu.id])
      expect(summary.components.find((c) => c.id === id)?.status).toBe('operational')
    const history = await publicJson<{ incidents: PublicIncident[] }>('incidents.json', (h) =>
      h.incidents.some((i) => i.id === incident.id && i.status === 'resolved'),
    )
    const published = history.incidents.find((i) => i.id === incident.id)!
    expect(published).toMatchObject({ name: 'Elevated API errors', impact: 'major' })
    expect(published.resolved_at).toBe(done.resolved_at)
    expect(published.incident_updates.map((u) => [u.status, u.body])).toEqual([
      ['resolved', 'All systems normal.'],
      ['monitoring', 'Rolled back; watching.'],
      ['identified', 'A bad deploy; rolling back.'],
      ['investigating', 'We are investigating errors on the API.'],
    ])
    expect(published.components.map((c) => c.id).sort()).toEqual([apiC.id, web.id, eu.id].sort())
    // and the API's lists agree
    const unresolved = await api.get(key, `${page}/incidents/unresolved`)
    expect(unresolved.json<ApiIncident[]>().map((i) => i.id)).not.toContain(incident.id)
    const all = await api.get(key, `${page}/incidents`)
    expect(all.json<ApiIncident[]>().map((i) => i.id)).toContain(incident.id)
  })

  it('a maintenance with scheduled_* fields is upcoming, then active, then completed', async () => {
    const start = new Date(t.clock.now().getTime() + 24 * 60 * MINUTE)
    const end = new Date(start.getTime() + 2 * 60 * MINUTE)
    const created = await api.post(key, `${page}/incidents`, {
      incident: {
        name: 'Database upgrade',
        status: 'scheduled',
        body: 'We will upgrade the database.',
        scheduled_for: start.toISOString(),
        scheduled_until: end.toISOString(),
        scheduled_auto_in_progress: true,
        scheduled_auto_completed: true,
        component_ids: [f.components.api.id],
      },
    })
    expect(created.status, created.text).toBe(201)
    const maintenance = created.json<ApiIncident>()
    expect(maintenance).toMatchObject({
      status: 'scheduled',
      impact: 'maintenance',
      impact_override: null,
      scheduled_for: start.toISOString(),
      scheduled_until: end.toISOString(),
      scheduled_auto_in_progress: true,
      scheduled_auto_completed: true,
    })
    expect(maintenance.components.map((c) => c.id)).toEqual([f.components.api.id])
    const ids = async (suffix: string) =>
      (await api.get(key, `${page}/incidents${suffix}`)).json<ApiIncident[]>().map((i) => i.id)
    expect(await ids('/upcoming')).toEqual([maintenance.id])
    expect(await ids('/scheduled')).toEqual([maintenance.id])
    expect(await ids('/active_maintenance')).toEqual([])
    expect(await ids('/unresolved')).toEqual([])

    const upcoming = await publicJson<{ scheduled_maintenances: PublicMaintenance[] }>(
      'scheduled-maintenances/upcoming.json',
      (u) => u.scheduled_maintenances.length > 0,
    )
    expect(upcoming.scheduled_maintenances).toHaveLength(1)
    expect(upcoming.scheduled_maintenances[0]).toMatchObject({
      id: maintenance.id,
      name: 'Database upgrade',
      status: 'scheduled',
      scheduled_for: start.toISOString(),
      scheduled_until: end.toISOString(),
    })

    // the window opens: the worker starts it and the component is under maintenance
    t.clock.set(new Date(start.getTime() + MINUTE))
    await t.runtime.services.incidents.runMaintenanceTransitions()
    expect(await ids('/active_maintenance')).toEqual([maintenance.id])
    expect(await ids('/upcoming')).toEqual([])
    const path = `${page}/incidents/${maintenance.id}`
    const active = (await api.get(key, path)).json<ApiIncident>()
    expect(active.status).toBe('in_progress')
    expect(active.components[0]?.status).toBe('under_maintenance')

    const completed = await api.patch(key, path, {
      incident: { status: 'completed', body: 'Upgrade done.' },
    })
    expect(completed.json<ApiIncident>()).toMatchObject({ status: 'completed' })
    expect(completed.json<ApiIncident>().components[0]?.status).toBe('operational')
  })

  it('reads, filters, updates with PUT and deletes incidents', async () => {
    const first = await createIncident({ name: 'Login failures' })
    t.clock.advance(MINUTE)
    const second = await createIncident({ name: 'Slow dashboard', impact_override: 'minor' })
    const list = await api.get(key, `${page}/incidents`)
    expect(list.json<ApiIncident[]>().map((i) => i.id)).toEqual([second.id, first.id])
    const found = await api.get(key, `${page}/incidents?q=login`)
    expect(found.json<ApiIncident[]>().map((i) => i.id)).toEqual([first.id])
    expect(found.header('x-total-count')).toBe('1')

    const path = `${page}/incidents/${first.id}`
    const one = await api.get(key, path)
    expect(one.json<ApiIncident>()).toMatchObject({ id: first.id, name: 'Login failures' })

    const put = await api.put(key, path, {
      incident: { name: 'Login failures (SSO)', impact_override: 'critical' },
    })
    expect(put.status).toBe(200)
    expect(put.json<ApiIncident>()).toMatchObject({
      name: 'Login failures (SSO)',
      impact: 'critical',
      status: 'investigating',
    })
    // a rename adds no update
    expect(put.json<ApiIncident>().incident_updates).toHaveLength(1)

    const deleted = await api.delete(key, path)
    expect(deleted.status).toBe(204)
    expectProblem(await api.get(key, path), 404, 'not_found')
    expectProblem(await api.get(key, `${page}/incidents/nosuchincid0`), 404, 'not_found')
  })

  it('lists, posts and edits incident updates', async () => {
    const incident = await createIncident()
    const path = `${page}/incidents/${incident.id}/incident_updates`
    t.clock.advance(10 * MINUTE)
    const backdated = new Date(t.clock.now().getTime() - 2 * MINUTE).toISOString()
    const posted = await api.post(key, path, {
      incident_update: {
        status: 'identified',
        body: 'Found the cause.',
        display_at: backdated,
        components: { [f.components.web.id]: 'partial_outage' },
        deliver_notifications: false,
      },
    })
    expect(posted.status).toBe(201)
    const update = posted.json<ApiIncidentUpdate>()
    expect(Object.keys(update)).toEqual(UPDATE_FIELDS)
    expect(update).toMatchObject({
      incident_id: incident.id,
      status: 'identified',
      body: 'Found the cause.',
      display_at: backdated,
      deliver_notifications: false,
    })
    expect(update.affected_components?.[0]).toMatchObject({
      code: f.components.web.id,
      new_status: 'partial_outage',
    })

    const list = await api.get(key, path)
    expect(list.json<ApiIncidentUpdate[]>().map((u) => u.id)).toEqual([
      update.id,
      incident.incident_updates[0]!.id,
    ])

    const edited = await api.patch(key, `${path}/${update.id}`, {
      incident_update: { body: 'Found the cause: a full disk.' },
    })
    expect(edited.status).toBe(200)
    expect(edited.json<ApiIncidentUpdate>()).toMatchObject({
      id: update.id,
      body: 'Found the cause: a full disk.',
      status: 'identified',
    })
    const put = await api.put(key, `${path}/${update.id}`, {
      incident_update: { body: 'A full disk.' },
    })
    expect(put.json<ApiIncidentUpdate>().body).toBe('A full disk.')
    expectProblem(
      await api.patch(key, `${path}/nosuchupdat0`, { incident_update: { body: 'x' } }),
      404,
      'not_found',
    )
    // an update of another incident, under this one
    const otherIncident = await createIncident({ name: 'Other' })
    expectProblem(
      await api.patch(key, `${path}/${otherIncident.incident_updates[0]!.id}`, {
        incident_update: { body: 'x' },
      }),
      404,
      'not_found',
    )
  })

  it('lists and creates incident templates', async () => {
    const created = await api.post(key, `${page}/incident_templates`, {
      template: {
        name: 'Database down',
        title: 'Database unavailable',
        body: 'We are looking into database errors.',
        update_status: 'identified',
        impact: 'major',
      },
    })
    expect(created.status).toBe(201)
    const template = created.json<ApiTemplate>()
    expect(Object.keys(template)).toEqual([
      'id',
      'page_id',
      'name',
      'title',
      'body',
      'update_status',
      'impact',
    ])
    expect(template).toMatchObject({
      page_id: f.page.id,
      name: 'Database down',
      update_status: 'identified',
      impact: 'major',
    })
    const list = await api.get(key, `${page}/incident_templates`)
    expect(list.json<ApiTemplate[]>()).toEqual([template])

    const post = (body: unknown) => api.post(key, `${page}/incident_templates`, { template: body })
    expectInvalid(await post({ name: 'T', body: 'B' }), 'template.title')
    expectInvalid(
      await post({ name: 'T', title: 'T', body: 'B', update_status: 'scheduled' }),
      'template.update_status',
    )
    expectInvalid(
      await post({ name: 'T', title: 'T', body: 'B', impact: 'huge' }),
      'template.impact',
    )
    expectInvalid(await post({ name: 'n'.repeat(101), title: 'T', body: 'B' }), 'template.name')
    expectRefused(await post({ name: ' ', title: 'T', body: 'B' }), 'template.name')
    expect((await api.get(key, `${page}/incident_templates`)).json<ApiTemplate[]>()).toHaveLength(1)
  })

  it('refuses bad incident input with the fields named', async () => {
    const post = (incident: unknown) => api.post(key, `${page}/incidents`, { incident })
    const valid = { name: 'N', body: 'B' }
    expectInvalid(await post({ ...valid, status: 'bogus' }), 'incident.status')
    expectInvalid(await post({ ...valid, impact_override: 'huge' }), 'incident.impact_override')
    expectInvalid(await post({ ...valid, name: 'n'.repeat(201) }), 'incident.name')
    expectInvalid(await post({ ...valid, body: 'b'.repeat(20_001) }), 'incident.body')
    expectInvalid(await post({ ...valid, name: 42 }), 'incident.name')
    expectInvalid(await post({ ...valid, severity: 'high' }), 'incident.severity')
    expectInvalid(await post({ ...valid, component_ids: 'abc' }), 'incident.component_ids')
    expectInvalid(
      await post({ ...valid, components: { [f.components.api.id]: 'down' } }),
      `incident.components.${f.components.api.id}`,
    )
    expectInvalid(
      await post({ ...valid, deliver_notifications: 'no' }),
      'incident.deliver_notifications',
    )
    expectInvalid(
      await post({ ...valid, scheduled_for: 'tomorrow', scheduled_until: 'later' }),
      'incident.scheduled_for',
      'incident.scheduled_until',
    )
    const malformed = await api.request({
      method: 'POST',
      path: `${page}/incidents`,
      key,
      rawBody: '{"incident": ',
    })
    expect(expectInvalid(malformed, 'body').code).toBe('invalid_json')
    // the service's own checks, named as the client sent them
    expectRefused(await post({ body: 'No name' }), 'incident.name')
    expectRefused(await post({ name: 'No body' }), 'incident.body')
    expectRefused(
      await post({ ...valid, components: { nosuchcompo0: 'major_outage' } }),
      'incident.components',
    )
    expectRefused(
      await post({ ...valid, component_ids: [f.groups.core.id] }),
      'incident.component_ids',
    )
    expectRefused(await post({ ...valid, status: 'in_progress' }), 'incident.status')
    const start = new Date(t.clock.now().getTime() + 60 * MINUTE).toISOString()
    expectRefused(
      await post({ ...valid, scheduled_for: start, scheduled_until: start }),
      'incident.scheduled_until',
    )
    expectRefused(
      await post({ ...valid, scheduled_for: start, status: 'investigating' }),
      'incident.status',
    )
    expect((await api.get(key, `${page}/incidents`)).json<ApiIncident[]>()).toEqual([])
    expect(
      (await t.runtime.services.components.list(f.actor, f.page.id)).every(
        (c) => c.status === 'operational',
      ),
    ).toBe(true)

    const incident = await createIncident()
    const path = `${page}/incidents/${incident.id}`
    expectInvalid(await api.patch(key, path, { incident: { status: 'down' } }), 'incident.status')
    expectRefused(
      await api.patch(key, path, { incident: { status: 'completed', body: 'x' } }),
      'incident.status',
    )
    expectRefused(
      await api.post(key, `${path}/incident_updates`, {
        incident_update: { status: 'identified', body: 'x', display_at: '2999-01-01T00:00:00Z' },
      }),
      'incident_update.display_at',
    )
    expectInvalid(
      await api.post(key, `${path}/incident_updates`, {
        incident_update: { status: 'identified', body: 'x', display_at: 'now' },
      }),
      'incident_update.display_at',
    )
    expect((await api.get(key, path)).json<ApiIncident>().incident_updates).toHaveLength(1)
  })
})
