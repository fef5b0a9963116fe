import type { EndpointInput } from '../../src/domain/alerts/alert-service.js'
import type { TestApp } from '../helpers/build-app.js'
import type { PageFixture } from '../helpers/page-factories.js'

/** An endpoint made through the service, as an owner; its token. */
export async function endpointToken(
  t: TestApp,
  f: PageFixture,
  input: EndpointInput,
): Promise<{ id: string; token: string }> {
  const { endpoint, token } = await t.runtime.services.alerts.createEndpoint(f.actor, f.page.id, {
    name: 'Monitoring',
    ...input,
  })
  return { id: endpoint.id, token }
}

export interface AlertAnswer {
  status: number
  contentType: string
  json: Record<string, unknown>
}

/** Sends a body the way a monitoring tool does: a JSON POST, no cookie, no CSRF token. */
export async function sendAlert(
  t: TestApp,
  token: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<AlertAnswer> {
  const response = await t.app.inject({
    method: 'POST',
    url: `/api/alerts/${token}`,
    remoteAddress: '198.51.100.20',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'Alertmanager/0.28.0',
      ...headers,
    },
    payload: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
  })
  return {
    status: response.statusCode,
    contentType: response.headers['content-type'] ?? '',
    json: response.body === '' ? {} : (JSON.parse(response.body) as Record<string, unknown>),
  }
}

export async function componentStatus(t: TestApp, componentId: string): Promise<string> {
  const row = await t.runtime.database.db
    .selectFrom('components')
    .select('status')
    .where('id', '=', componentId)
    .executeTakeFirstOrThrow()
  return row.status
}

/** The component's status as visitors see it, in the public summary.json. */
export async function publicStatus(
  t: TestApp,
  f: PageFixture,
  componentId: string,
): Promise<string | undefined> {
  const response = await t.app.inject({
    method: 'GET',
    url: `/p/${f.page.slug}/api/v2/summary.json`,
    remoteAddress: '203.0.113.9',
  })
  const summary = JSON.parse(response.body) as { components: { id: string; status: string }[] }
  return summary.components.find((c) => c.id === componentId)?.status
}

/** Both views at once: the stored status and the public one must agree. */
export async function statusOf(t: TestApp, f: PageFixture, componentId: string) {
  const stored = await componentStatus(t, componentId)
  const shown = await publicStatus(t, f, componentId)
  return { stored, shown }
}

export async function statusChanges(t: TestApp, componentId: string) {
  return t.runtime.database.db
    .selectFrom('component_status_changes')
    .select(['status', 'origin'])
    .where('component_id', '=', componentId)
    .orderBy('changed_at')
    .orderBy('id')
    .execute()
}
