import type { AlertFormat } from './types.js'

/**
 * What each format must send, for the dashboard's documentation snippet and for the 4xx answer a
 * sender gets when its body does not fit the endpoint's format.
 */
export interface FormatGuide {
  label: string
  /** One sentence: the fields Candor reads. */
  expects: string
  /** Where the source names the component, for an endpoint with a mapping. */
  componentKey: string
  /** How to set the source up. */
  setup: string
  /** A realistic body, as the source sends it. */
  example: unknown
}

export const FORMAT_GUIDES: Record<AlertFormat, FormatGuide> = {
  alertmanager: {
    label: 'Prometheus Alertmanager',
    expects:
      'an Alertmanager webhook (version 4): {"alerts": [{"status": "firing" | "resolved", "labels": {…}, "annotations": {…}, "startsAt", "endsAt", "fingerprint"}]}.',
    componentKey: 'the alert\'s "component" label',
    setup:
      'Add a receiver with webhook_configs: [{url: <this URL>, send_resolved: true}] and route the alerts to it.',
    example: {
      receiver: 'candor',
      status: 'firing',
      alerts: [
        {
          status: 'firing',
          labels: {
            alertname: 'ProbeFailure',
            component: 'api',
            instance: 'https://api.example.com',
            job: 'blackbox',
            severity: 'critical',
          },
          annotations: {
            summary: 'API probe failing',
            description: 'https://api.example.com has been down for 5 minutes.',
          },
          startsAt: '2026-02-06T13:08:45.828Z',
          endsAt: '0001-01-01T00:00:00Z',
          generatorURL: 'http://prometheus.example.com:9090/graph?g0.expr=probe_success+%3D%3D+0',
          fingerprint: '1a30ba71cca2921f',
        },
      ],
      groupLabels: { alertname: 'ProbeFailure' },
      commonLabels: { alertname: 'ProbeFailure', severity: 'critical' },
      commonAnnotations: { summary: 'API probe failing' },
      externalURL: 'http://alertmanager.example.com:9093',
      version: '4',
      groupKey: '{}:{alertname="ProbeFailure"}',
      truncatedAlerts: 0,
    },
  },
  grafana: {
    label: 'Grafana',
    expects:
      'a Grafana alerting webhook: {"status", "alerts": [{"status": "firing" | "resolved", "labels", "annotations", "startsAt", "endsAt", "fingerprint"}], "title", "message"}.',
    componentKey: 'the alert\'s "component" label',
    setup:
      'Create a contact point of type Webhook with this URL (method POST) and use it in a notification policy.',
    example: {
      receiver: 'Candor',
      status: 'firing',
      orgId: 1,
      alerts: [
        {
          status: 'firing',
          labels: { alertname: 'High error rate', component: 'api', severity: 'warning' },
          annotations: { summary: 'API error rate above 5%' },
          startsAt: '2026-02-06T09:51:03.157076+02:00',
          endsAt: '0001-01-01T00:00:00Z',
          generatorURL: 'https://grafana.example.com/alerting/grafana/abc123/view',
          fingerprint: 'c6eadffa33fcdf37',
          silenceURL: 'https://grafana.example.com/alerting/silence/new',
          dashboardURL: '',
          panelURL: '',
          values: { B: 7.3, C: 1 },
        },
      ],
      groupLabels: { alertname: 'High error rate' },
      commonLabels: { alertname: 'High error rate', component: 'api', severity: 'warning' },
      commonAnnotations: { summary: 'API error rate above 5%' },
      externalURL: 'https://grafana.example.com/',
      version: '1',
      groupKey: '{}:{alertname="High error rate"}',
      truncatedAlerts: 0,
      title: '[FIRING:1] High error rate (api warning)',
      state: 'alerting',
      message: '**Firing**\n\nValue: B=7.3\nLabels:\n - alertname = High error rate',
    },
  },
  pingdom: {
    label: 'Pingdom',
    expects:
      'a Pingdom state change webhook: {"check_id", "check_name", "current_state": "DOWN" | "UP" (or FAILING | SUCCESS), "state_changed_timestamp"}.',
    componentKey: 'the check id (check_id), or else its name (check_name)',
    setup:
      'Add a webhook integration with this URL and enable it on the uptime or transaction checks.',
    example: {
      check_id: 803318,
      check_name: 'API',
      check_type: 'HTTP',
      check_params: {
        basic_auth: false,
        encryption: true,
        full_url: 'https://api.example.com/health',
        header: 'User-Agent:Pingdom.com_bot',
        hostname: 'api.example.com',
        ipv6: false,
        port: 443,
        url: '/health',
      },
      tags: [],
      previous_state: 'UP',
      current_state: 'DOWN',
      importance_level: 'HIGH',
      state_changed_timestamp: 1770383325,
      state_changed_utc_time: '2026-02-06T13:08:45',
      long_description: 'Connection timed out after 30 seconds',
      description: 'Timeout',
      first_probe: { ip: '185.180.12.65', ipv6: '', location: 'Stockholm, Sweden' },
      second_probe: { ip: '185.152.65.167', ipv6: '', location: 'Austin, US', version: 1 },
    },
  },
  newrelic: {
    label: 'New Relic',
    expects:
      'a New Relic workflow webhook (the default payload: {"id", "title", "priority", "state": "ACTIVATED" | "CLOSED", "updatedAt", …}) or a legacy channel webhook ({"incident_id", "current_state": "open" | "closed", "timestamp", …}).',
    componentKey:
      'a "component" field you add to the payload template, or else the first impacted entity (legacy: the first target\'s name)',
    setup:
      'Add a Webhook destination with this URL, keep the default payload (optionally add "component": "<component>"), and notify it from a workflow on Activated and Closed.',
    example: {
      id: 'd1b1f3fd-995a-4066-88ab-8ce4f6960654',
      issueUrl: 'https://radar-api.service.newrelic.com/accounts/1/issues/d1b1f3fd',
      title: "Memory Used % > 90 for at least 2 minutes on 'checkout'",
      priority: 'CRITICAL',
      impactedEntities: ['checkout'],
      totalIncidents: 1,
      state: 'ACTIVATED',
      trigger: 'STATE_CHANGE',
      isCorrelated: false,
      createdAt: 1770383325000,
      updatedAt: 1770383325000,
      sources: ['newrelic'],
      alertPolicyNames: ['Production'],
      alertConditionNames: ['Memory high'],
      workflowName: 'Candor',
    },
  },
  datadog: {
    label: 'Datadog',
    expects:
      'the payload template below: {"alert_id": "$ALERT_ID", "alert_transition": "$ALERT_TRANSITION", "event_title": "$EVENT_TITLE", "date": "$DATE", …}; Triggered and Warn fire, Recovered resolves.',
    componentKey:
      'the "component" field of the template (leave it empty for this endpoint\'s component)',
    setup:
      'In the Webhooks integration, add a webhook with this URL and this custom payload, then mention @webhook-<name> in the monitors.',
    example: {
      alert_id: '$ALERT_ID',
      alert_transition: '$ALERT_TRANSITION',
      alert_scope: '$ALERT_SCOPE',
      alert_priority: '$ALERT_PRIORITY',
      event_title: '$EVENT_TITLE',
      date: '$DATE',
      component: '',
    },
  },
  pagerduty: {
    label: 'PagerDuty',
    expects:
      'a PagerDuty v3 webhook: {"event": {"event_type": "incident.triggered" | "incident.resolved" | "incident.reopened" | …, "occurred_at", "data": {"id", "title", "service"}}}.',
    componentKey: "the incident's service id, or else its name",
    setup:
      "Add a Generic Webhook (v3) subscription with this URL for incident events; paste its signing secret here to have each delivery's X-PagerDuty-Signature checked.",
    example: {
      event: {
        id: '01DEN5D6HGJW2MN4Z9SXJ4X6G3',
        event_type: 'incident.triggered',
        resource_type: 'incident',
        occurred_at: '2026-02-06T13:08:45.828Z',
        agent: {
          html_url: 'https://acme.pagerduty.com/services/PF9KMXH',
          id: 'PF9KMXH',
          self: 'https://api.pagerduty.com/services/PF9KMXH',
          summary: 'API',
          type: 'service_reference',
        },
        client: { name: 'Prometheus' },
        data: {
          id: 'Q2KSXNRTPDZ3BL',
          type: 'incident',
          self: 'https://api.pagerduty.com/incidents/Q2KSXNRTPDZ3BL',
          html_url: 'https://acme.pagerduty.com/incidents/Q2KSXNRTPDZ3BL',
          number: 1184,
          status: 'triggered',
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
          assignees: [],
          escalation_policy: {
            id: 'PUS0KTE',
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
    },
  },
  opsgenie: {
    label: 'Opsgenie',
    expects:
      'an Opsgenie webhook integration body: {"action": "Create" | "Close" | "Delete" | …, "alert": {"alertId", "message", "entity", "priority", "createdAt", "updatedAt"}}.',
    componentKey: "the alert's entity",
    setup:
      'Add a Webhook integration with this URL, with "Add Alert Description to Payload" on, forwarding Create and Close actions.',
    example: {
      action: 'Create',
      alert: {
        alertId: '44f717bf-44bd-11c9-44c7-2d0cf1d07b23',
        message: 'API latency above 2 s',
        tags: ['production'],
        tinyId: '454',
        entity: 'api',
        alias: 'api-latency',
        createdAt: 1770383325828,
        updatedAt: 1770383325862000000,
        username: 'System',
        userId: '4caaaa77-9222-4322-8622-d3522fbd7dda',
        description: 'p95 latency is 2.4 s',
        priority: 'P2',
        source: 'Datadog',
      },
      source: { name: '', type: 'api' },
      integrationName: 'Candor',
      integrationId: '6f1a8bf4-8b2c-4c1e-9c43-6a1a1b1d9e2a',
      integrationType: 'Webhook',
    },
  },
  generic: {
    label: 'Generic JSON',
    expects:
      '{"component": "<component id or name>", "status": "operational" | "degraded_performance" | "partial_outage" | "major_outage"}, optionally with "id" (to track several alerts), "title" and "at" (ISO 8601).',
    componentKey: 'the "component" field (a mapping key, a component id or a component name)',
    setup: 'POST this JSON from any script or tool, with Content-Type: application/json.',
    example: { component: 'API', status: 'major_outage', title: 'Health check failing' },
  },
}

/** The Datadog custom payload, as the user must paste it in Datadog. */
export const DATADOG_TEMPLATE = JSON.stringify(FORMAT_GUIDES.datadog.example, null, 2)
