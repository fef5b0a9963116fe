import type { Incident, IncidentUpdate } from '../../src/domain/pages/types.js'
import type { NotificationMessage, NotificationPage } from '../../src/notify/message.js'

/** Notification messages as the notification service builds them, for payload tests. */

export const page: NotificationPage = {
  id: 'pg_acme',
  name: 'Acme Status',
  url: 'https://status.acme.test',
  locale: 'en',
  timeZone: 'Europe/Paris',
  brandColor: '#0b5cad',
  statusIndicator: 'major',
  statusDescription: 'Partial System Outage',
}

const links = {
  unsubscribe: 'https://status.acme.test/subscriptions/sub_1/unsubscribe?token=t1',
  manage: 'https://status.acme.test/subscriptions/sub_1?token=t1',
}

function update(fields: Partial<IncidentUpdate> & Pick<IncidentUpdate, 'id' | 'status' | 'body'>) {
  const at = fields.displayAt ?? new Date('2026-03-01T10:00:00Z')
  return {
    incidentId: 'inc_1',
    displayAt: at,
    deliverNotifications: true,
    affectedComponents: null,
    createdAt: at,
    updatedAt: at,
    ...fields,
  } satisfies IncidentUpdate
}

export function incident(overrides: Partial<Incident> = {}): Incident {
  return {
    id: 'inc_1',
    pageId: page.id,
    kind: 'incident',
    name: 'Database query delays',
    status: 'identified',
    impact: 'major',
    startedAt: new Date('2026-03-01T10:00:00Z'),
    monitoringAt: null,
    resolvedAt: null,
    scheduledFor: null,
    scheduledUntil: null,
    autoStart: false,
    autoComplete: false,
    postmortemBody: null,
    postmortemPublishedAt: null,
    componentIds: ['cmp_api', 'cmp_web'],
    // Oldest first on purpose: the payloads must put the newest first themselves.
    updates: [
      update({
        id: 'upd_1',
        status: 'investigating',
        body: 'We are looking into slow queries.',
        displayAt: new Date('2026-03-01T10:00:00Z'),
        affectedComponents: [
          {
            code: 'cmp_api',
            name: 'API',
            oldStatus: 'operational',
            newStatus: 'degraded_performance',
          },
        ],
      }),
      update({
        id: 'upd_2',
        status: 'identified',
        body: 'The cause is a **failed disk**. <script>alert(1)</script> <!channel> @here',
        displayAt: new Date('2026-03-01T10:30:00Z'),
        affectedComponents: [
          {
            code: 'cmp_api',
            name: 'API',
            oldStatus: 'degraded_performance',
            newStatus: 'major_outage',
          },
          {
            code: 'cmp_web',
            name: 'Website',
            oldStatus: 'operational',
            newStatus: 'partial_outage',
          },
        ],
      }),
    ],
    createdAt: new Date('2026-03-01T10:00:00Z'),
    updatedAt: new Date('2026-03-01T10:30:00Z'),
    ...overrides,
  }
}

export function incidentMessage(overrides: Partial<NotificationMessage> = {}): NotificationMessage {
  return {
    eventId: 'evt_inc_1_2',
    type: 'incident.updated',
    createdAt: new Date('2026-03-01T10:30:05Z'),
    page,
    incident: incident(),
    incidentUrl: 'https://status.acme.test/incidents/inc_1',
    links,
    ...overrides,
  }
}

export function maintenanceMessage(): NotificationMessage {
  return {
    eventId: 'evt_mnt_1',
    type: 'maintenance.scheduled',
    createdAt: new Date('2026-03-02T09:00:00Z'),
    page: { ...page, statusIndicator: 'none', statusDescription: 'All Systems Operational' },
    incident: incident({
      id: 'mnt_1',
      kind: 'maintenance',
      name: 'Database upgrade',
      status: 'scheduled',
      impact: 'maintenance',
      scheduledFor: new Date('2026-03-10T22:00:00Z'),
      scheduledUntil: new Date('2026-03-11T00:00:00Z'),
      autoStart: true,
      autoComplete: true,
      componentIds: ['cmp_db'],
      updates: [
        update({
          id: 'mupd_1',
          incidentId: 'mnt_1',
          status: 'scheduled',
          body: 'We will upgrade the database.',
          displayAt: new Date('2026-03-02T09:00:00Z'),
          affectedComponents: [
            {
              code: 'cmp_db',
              name: 'Database',
              oldStatus: 'operational',
              newStatus: 'under_maintenance',
            },
          ],
        }),
      ],
      createdAt: new Date('2026-03-02T09:00:00Z'),
      updatedAt: new Date('2026-03-02T09:00:00Z'),
    }),
    incidentUrl: 'https://status.acme.test/incidents/mnt_1',
    links,
  }
}

export function componentMessage(name = 'API'): NotificationMessage {
  return {
    eventId: 'evt_cmp_1',
    type: 'component.updated',
    createdAt: new Date('2026-03-01T11:00:00Z'),
    page,
    componentChange: {
      id: 'chg_1',
      componentId: 'cmp_api',
      componentName: name,
      oldStatus: 'operational',
      newStatus: 'major_outage',
      createdAt: new Date('2026-03-01T11:00:00Z'),
    },
    links,
  }
}
