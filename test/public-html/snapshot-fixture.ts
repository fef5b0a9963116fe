import { addDays, zonedDate } from '../../src/domain/pages/time-zone.js'
import type {
  Component,
  ComponentStatus,
  ComponentUptime,
  Incident,
  IncidentUpdate,
  Page,
  PageSnapshot,
  UptimeDay,
} from '../../src/domain/pages/types.js'
import type { PublicRenderContext } from '../../src/http/public/views/index.js'

/** Hand-built snapshots for pure rendering tests: no database, every field under control. */

export const NOW = new Date('2026-11-20T15:00:00Z')

export function ctxFor(overrides: Partial<PublicRenderContext> = {}): PublicRenderContext {
  return { basePath: '/p/acme', locale: 'en', now: NOW, ...overrides }
}

export function makePage(overrides: Partial<Page> = {}): Page {
  return {
    id: 'page00000001',
    accountId: 'acct00000001',
    name: 'Acme Status',
    slug: 'acme',
    timeZone: 'UTC',
    locale: 'en',
    visibility: 'public',
    hasPassword: false,
    ipAllowlist: [],
    brandColor: '#0a5bd3',
    customCss: '',
    hasLogo: false,
    supportUrl: null,
    homepageUrl: null,
    customDomain: null,
    createdAt: new Date('2025-01-01T00:00:00Z'),
    updatedAt: new Date('2025-01-01T00:00:00Z'),
    ...overrides,
  }
}

let position = 0

export function makeComponent(
  id: string,
  name: string,
  overrides: Partial<Component> = {},
): Component {
  position++
  return {
    id,
    pageId: 'page00000001',
    groupId: null,
    isGroup: false,
    name,
    description: null,
    status: 'operational',
    position,
    onlyShowIfDegraded: false,
    showcase: true,
    startDate: null,
    createdAt: new Date('2025-01-01T00:00:00Z'),
    updatedAt: new Date('2025-01-01T00:00:00Z'),
    ...overrides,
  }
}

export function makeUpdate(
  id: string,
  status: IncidentUpdate['status'],
  body: string,
  displayAt: Date,
  overrides: Partial<IncidentUpdate> = {},
): IncidentUpdate {
  return {
    id,
    incidentId: 'incident0001',
    status,
    body,
    displayAt,
    deliverNotifications: true,
    affectedComponents: null,
    createdAt: displayAt,
    updatedAt: displayAt,
    ...overrides,
  }
}

export function makeIncident(
  id: string,
  name: string,
  overrides: Partial<Incident> = {},
): Incident {
  const startedAt = overrides.startedAt ?? new Date(NOW.getTime() - 3_600_000)
  return {
    id,
    pageId: 'page00000001',
    kind: 'incident',
    name,
    status: 'investigating',
    impact: 'minor',
    startedAt,
    monitoringAt: null,
    resolvedAt: null,
    scheduledFor: null,
    scheduledUntil: null,
    autoStart: false,
    autoComplete: false,
    postmortemBody: null,
    postmortemPublishedAt: null,
    componentIds: [],
    updates: [makeUpdate(`${id}-u1`, 'investigating', 'We are looking into it.', startedAt)],
    createdAt: startedAt,
    updatedAt: startedAt,
    ...overrides,
  }
}

/** 90 days of uptime ending on NOW's date, all operational unless `worst` says otherwise. */
export function makeUptime(
  componentId: string,
  options: {
    percent?: number | null
    worst?: Record<number, { status: ComponentStatus; seconds: number; incidentIds?: string[] }>
    timeZone?: string
  } = {},
): ComponentUptime {
  const today = zonedDate(NOW, options.timeZone ?? 'UTC')
  const days: UptimeDay[] = []
  for (let i = 89; i >= 0; i--) {
    const date = addDays(today, -i)
    const special = options.worst?.[i]
    days.push({
      date,
      outageSeconds: special === undefined ? {} : { [special.status]: special.seconds },
      worst: special?.status ?? 'operational',
      incidentIds: special?.incidentIds ?? [],
      hasData: i < 80,
    })
  }
  return {
    componentId,
    percent: options.percent === undefined ? 99.95 : options.percent,
    days,
  }
}

/**
 * A page with a group "Core" (API, Website), a top-level "CDN", an "only if degraded" component
 * "Legacy", one active incident on the API, a resolved incident yesterday and an upcoming
 * maintenance on the CDN.
 */
export function makeSnapshot(overrides: Partial<PageSnapshot> = {}): PageSnapshot {
  const core = makeComponent('grpcore00001', 'Core', { isGroup: true, status: 'partial_outage' })
  const api = makeComponent('compapi00001', 'API', {
    groupId: core.id,
    status: 'partial_outage',
    description: 'The public REST API',
  })
  const web = makeComponent('compweb00001', 'Website', { groupId: core.id })
  const cdn = makeComponent('compcdn00001', 'CDN')
  const legacy = makeComponent('complegacy01', 'Legacy', { onlyShowIfDegraded: true })
  const active = makeIncident('incactive001', 'API errors', {
    status: 'identified',
    impact: 'major',
    componentIds: [api.id],
    updates: [
      makeUpdate(
        'upd000000002',
        'identified',
        'We found the **cause**.',
        new Date(NOW.getTime() - 600_000),
      ),
      makeUpdate(
        'upd000000001',
        'investigating',
        'We are looking into elevated errors.',
        new Date(NOW.getTime() - 3_600_000),
        {
          affectedComponents: [
            {
              code: api.id,
              name: 'Core - API',
              oldStatus: 'operational',
              newStatus: 'partial_outage',
            },
          ],
        },
      ),
    ],
  })
  const resolvedStart = new Date(NOW.getTime() - 26 * 3_600_000)
  const resolved = makeIncident('incresolved1', 'Slow website', {
    status: 'resolved',
    impact: 'minor',
    startedAt: resolvedStart,
    resolvedAt: new Date(resolvedStart.getTime() + 5_400_000),
    componentIds: [web.id],
    updates: [
      makeUpdate(
        'upd000000004',
        'resolved',
        'This incident has been resolved.',
        new Date(resolvedStart.getTime() + 5_400_000),
      ),
      makeUpdate('upd000000003', 'investigating', 'Pages load slowly.', resolvedStart),
    ],
  })
  const maintenanceStart = new Date(NOW.getTime() + 2 * 86_400_000)
  const maintenance = makeIncident('maint0000001', 'CDN provider upgrade', {
    kind: 'maintenance',
    status: 'scheduled',
    impact: 'maintenance',
    startedAt: new Date(NOW.getTime() - 86_400_000),
    scheduledFor: maintenanceStart,
    scheduledUntil: new Date(maintenanceStart.getTime() + 7_200_000),
    componentIds: [cdn.id],
    updates: [
      makeUpdate(
        'upd000000005',
        'scheduled',
        'We will upgrade our CDN provider.',
        new Date(NOW.getTime() - 86_400_000),
      ),
    ],
  })
  return {
    page: makePage(),
    components: [core, api, web, cdn, legacy],
    incidents: [active, resolved],
    maintenances: [maintenance],
    uptime: [
      makeUptime(api.id, {
        percent: 99.12,
        worst: {
          0: { status: 'partial_outage', seconds: 3600, incidentIds: [active.id] },
          5: { status: 'major_outage', seconds: 7500 },
        },
      }),
      makeUptime(web.id, {
        worst: { 1: { status: 'degraded_performance', seconds: 5400, incidentIds: [resolved.id] } },
      }),
      makeUptime(cdn.id),
      makeUptime(legacy.id, { percent: null }),
    ],
    status: { indicator: 'major', description: 'Partial System Outage' },
    version: 42,
    generatedAt: NOW,
    ...overrides,
  }
}
