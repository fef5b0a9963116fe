/**
 * Bodies as each monitoring tool sends them (field for field from the tools' documentation), with
 * the parts a test varies as parameters.
 */

export function alertmanagerBody(
  alerts: {
    status: 'firing' | 'resolved'
    fingerprint: string
    alertname?: string
    component?: string
    severity?: string
    startsAt?: string
    endsAt?: string
  }[],
) {
  const items = alerts.map((a) => ({
    status: a.status,
    labels: {
      alertname: a.alertname ?? 'ProbeFailure',
      instance: 'https://api.example.com',
      job: 'blackbox',
      ...(a.component === undefined ? {} : { component: a.component }),
      ...(a.severity === undefined ? {} : { severity: a.severity }),
    },
    annotations: {
      summary: `${a.alertname ?? 'ProbeFailure'} on api.example.com`,
      description: 'https://api.example.com has been down for over 5m. Job: blackbox',
    },
    startsAt: a.startsAt ?? '2026-02-06T13:08:45.828Z',
    endsAt: a.endsAt ?? '0001-01-01T00:00:00Z',
    generatorURL: 'http://prometheus.example.org:9090/graph?g0.expr=probe_success+%3D%3D+0',
    fingerprint: a.fingerprint,
  }))
  const firing = items.some((a) => a.status === 'firing')
  return {
    receiver: 'candor',
    status: firing ? 'firing' : 'resolved',
    alerts: items,
    groupLabels: { alertname: items[0]?.labels.alertname ?? 'ProbeFailure' },
    commonLabels: { alertname: items[0]?.labels.alertname ?? 'ProbeFailure', job: 'blackbox' },
    commonAnnotations: {},
    externalURL: 'http://alertmanager.example.org:9093',
    version: '4',
    groupKey: '{}/{severity="critical"}:{alertname="ProbeFailure"}',
    truncatedAlerts: 0,
  }
}

export function grafanaBody(status: 'firing' | 'resolved', severity = 'warning') {
  return {
    receiver: 'Candor',
    status,
    orgId: 1,
    alerts: [
      {
        status,
        labels: { alertname: 'High error rate', team: 'blue', severity },
        annotations: {
          description: 'The API error rate is above 5%',
          runbook_url: 'https://runbooks.example.com/api-errors',
          summary: 'API error rate above 5%',
        },
        startsAt: '2026-02-06T09:51:03.157076+02:00',
        endsAt: status === 'firing' ? '0001-01-01T00:00:00Z' : '2026-02-06T10:21:03.157076+02:00',
        generatorURL: 'https://grafana.example.com/alerting/grafana/abc123/view',
        fingerprint: 'c6eadffa33fcdf37',
        silenceURL: 'https://grafana.example.com/alerting/silence/new?matchers=alertname%3DHigh',
        dashboardURL: '',
        panelURL: '',
        values: { B: 7.3, C: 1 },
      },
    ],
    groupLabels: { alertname: 'High error rate' },
    commonLabels: { alertname: 'High error rate', team: 'blue', severity },
    commonAnnotations: { summary: 'API error rate above 5%' },
    externalURL: 'https://grafana.example.com/',
    version: '1',
    groupKey: '{}:{alertname="High error rate"}',
    truncatedAlerts: 0,
    title: `[${status.toUpperCase()}:1] High error rate (blue ${severity})`,
    state: status === 'firing' ? 'alerting' : 'ok',
    message: '**Firing**\n\nValue: B=7.3, C=1\nLabels:\n - alertname = High error rate',
  }
}

export function pingdomBody(state: 'DOWN' | 'UP', timestamp: number, checkName = 'API check') {
  return {
    check_id: 803318,
    check_name: checkName,
    check_type: 'HTTP',
    check_params: {
      basic_auth: false,
      encryption: true,
      full_url: 'https://api.example.com/health',
      header: 'User-Agent:Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)',
      hostname: 'api.example.com',
      ipv6: false,
      port: 443,
      url: '/health',
    },
    tags: ['production'],
    previous_state: state === 'DOWN' ? 'UP' : 'DOWN',
    current_state: state,
    importance_level: 'HIGH',
    state_changed_timestamp: timestamp,
    state_changed_utc_time: new Date(timestamp * 1000).toISOString().slice(0, 19),
    long_description: state === 'DOWN' ? 'Connection timed out after 30 seconds' : 'OK',
    description: state === 'DOWN' ? 'Timeout' : 'OK',
    first_probe: { ip: '185.180.12.65', ipv6: '', location: 'Stockholm, Sweden' },
    second_probe: { ip: '185.152.65.167', ipv6: '', location: 'Austin, US', version: 1 },
  }
}

export function newRelicWorkflowBody(state: 'ACTIVATED' | 'ACKNOWLEDGED' | 'CLOSED', at: number) {
  return {
    id: 'd1b1f3fd-995a-4066-88ab-8ce4f6960654',
    issueUrl: 'https://radar-api.service.newrelic.com/accounts/1/issues/d1b1f3fd-995a-4066',
    title: "Memory Used % > 90 for at least 2 minutes on 'checkout'",
    priority: 'CRITICAL',
    impactedEntities: ['checkout'],
    totalIncidents: 1,
    state,
    trigger:
      state === 'ACTIVATED'
        ? 'STATE_CHANGE'
        : state === 'CLOSED'
          ? 'INCIDENT_CLOSED'
          : 'ACKNOWLEDGED',
    isCorrelated: false,
    createdAt: 1770383325000,
    updatedAt: at,
    sources: ['newrelic'],
    alertPolicyNames: ['Production'],
    alertConditionNames: ['Memory high'],
    workflowName: 'Candor',
  }
}

export function newRelicLegacyBody(state: 'open' | 'closed', timestamp: number) {
  return {
    account_id: '1234567',
    account_name: 'Acme',
    closed_violations_count_critical: state === 'closed' ? 1 : 0,
    closed_violations_count_warning: 0,
    condition_family_id: 12345678,
    condition_id: 12345678,
    condition_name: 'Error percentage > 5',
    current_state: state,
    details: 'Error percentage > 5.0% for at least 5 minutes on Web',
    duration: 300000,
    event_type: 'INCIDENT',
    incident_acknowledge_url:
      'https://alerts.newrelic.com/accounts/1234567/incidents/98765/acknowledge',
    incident_id: 98765,
    incident_url: 'https://alerts.newrelic.com/accounts/1234567/incidents/98765',
    open_violations_count_critical: state === 'open' ? 1 : 0,
    open_violations_count_warning: 0,
    owner: '',
    policy_name: 'Production',
    policy_url: 'https://alerts.newrelic.com/accounts/1234567/policies/123',
    runbook_url: 'https://runbooks.example.com/errors',
    severity: 'CRITICAL',
    targets: [
      {
        id: '12345',
        name: 'Web',
        link: 'https://rpm.newrelic.com/accounts/1234567/applications/12345',
        labels: { language: 'ruby' },
        product: 'APM',
        type: 'Application',
      },
    ],
    timestamp,
    violation_callback_url: 'https://alerts.newrelic.com/accounts/1234567/incidents/98765',
    violation_chart_url: 'https://gorgon.nr-assets.net/image/abcd',
  }
}

/** The Datadog custom payload Candor documents, with Datadog's variables filled in. */
export function datadogBody(transition: string, date: number) {
  return {
    alert_id: '81264537',
    alert_transition: transition,
    alert_scope: 'env:production,service:api',
    alert_priority: 'P1',
    event_title: `[${transition}] API p99 latency above 2s`,
    date: String(date),
    component: '',
  }
}

export function pagerDutyBody(
  eventType: string,
  occurredAt: string,
  incidentId = 'Q2KSXNRTPDZ3BL',
) {
  return {
    event: {
      id: `01DEN5D6HGJW2MN4Z9SXJ4X${occurredAt.slice(17, 19)}`,
      event_type: eventType,
      resource_type: 'incident',
      occurred_at: occurredAt,
      agent: {
        html_url: 'https://acme.pagerduty.com/users/PLH1HKV',
        id: 'PLH1HKV',
        self: 'https://api.pagerduty.com/users/PLH1HKV',
        summary: 'Tenex Engineer',
        type: 'user_reference',
      },
      client: null,
      data: {
        id: incidentId,
        type: 'incident',
        self: `https://api.pagerduty.com/incidents/${incidentId}`,
        html_url: `https://acme.pagerduty.com/incidents/${incidentId}`,
        number: 1184,
        status: eventType === 'incident.resolved' ? 'resolved' : 'triggered',
        incident_key: 'd3640fbd41094207a1c11e58e46b1662',
        created_at: '2026-02-06T13:08:45Z',
        title: 'API returning 503s',
        service: {
          html_url: 'https://acme.pagerduty.com/services/PF9KMXH',
          id: 'PF9KMXH',
          self: 'https://api.pagerduty.com/services/PF9KMXH',
          summary: 'API',
          type: 'service_reference',
        },
        assignees: [
          {
            html_url: 'https://acme.pagerduty.com/users/PTUXL6G',
            id: 'PTUXL6G',
            self: 'https://api.pagerduty.com/users/PTUXL6G',
            summary: 'User 123',
            type: 'user_reference',
          },
        ],
        escalation_policy: {
          html_url: 'https://acme.pagerduty.com/escalation_policies/PUS0KTE',
          id: 'PUS0KTE',
          self: 'https://api.pagerduty.com/escalation_policies/PUS0KTE',
          summary: 'Default',
          type: 'escalation_policy_reference',
        },
        teams: [],
        priority: null,
        urgency: 'high',
        conference_bridge: null,
        resolve_reason: null,
      },
    },
  }
}

export function opsgenieBody(action: 'Create' | 'Acknowledge' | 'Close', updatedAtNs: number) {
  return {
    action,
    alert: {
      alertId: '44f717bf-44bd-11c9-44c7-2d0cf1d07b23',
      message: 'API latency above 2 s',
      tags: ['production'],
      tinyId: '454',
      entity: 'Website',
      alias: 'api-latency',
      createdAt: 1770383325828,
      updatedAt: updatedAtNs,
      username: action === 'Create' ? 'System' : 'oncall@example.com',
      userId: '4caaaa77-9222-4322-8622-d3522fbd7dda',
      description: 'p95 latency is 2.4 s',
      priority: 'P3',
      source: 'Datadog',
    },
    source: { name: '', type: 'api' },
    integrationName: 'Candor',
    integrationId: '6f1a8bf4-8b2c-4c1e-9c43-6a1a1b1d9e2a',
    integrationType: 'Webhook',
  }
}
