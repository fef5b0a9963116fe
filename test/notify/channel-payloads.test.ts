import { Webhook } from 'standardwebhooks'
import { describe, expect, it } from 'vitest'
import {
  COMPONENT_STATUSES,
  INCIDENT_STATUSES,
  MAINTENANCE_STATUSES,
} from '../../src/domain/pages/types.js'
import { componentStatusLabel, incidentStatusLabel } from '../../src/http/public/i18n.js'
import {
  CHAT_CHANNELS,
  chatPayload,
  componentStatusText,
  discordPayload,
  escapeSlack,
  googleChatPayload,
  incidentStatusText,
  slackPayload,
  summarize,
  teamsPayload,
  truncateEscaped,
  validateChatUrl,
  webhookPayload,
  WEBHOOK_DOCUMENTATION_URL,
  type WebhookPayload,
} from '../../src/notify/channel-payloads.js'
import { createOutboundHttp } from '../../src/notify/outbound-http.js'
import { generateWebhookSecret, signWebhook } from '../../src/notify/webhook-signature.js'
import { componentMessage, incident, incidentMessage, maintenanceMessage } from './messages.js'
import { startReceiver } from './receiver.js'

/*
 * Key order of the bodies Statuspage delivers to webhook subscribers, as recorded from real
 * deliveries (incident) and as documented on Atlassian's "Enable webhook notifications" page
 * (component update).
 */
const STATUSPAGE_INCIDENT_KEYS = [
  'name',
  'status',
  'created_at',
  'updated_at',
  'monitoring_at',
  'resolved_at',
  'impact',
  'shortlink',
  'postmortem_ignored',
  'postmortem_body',
  'postmortem_body_last_updated_at',
  'postmortem_published_at',
  'postmortem_notified_subscribers',
  'postmortem_notified_twitter',
  'backfilled',
  'scheduled_for',
  'scheduled_until',
  'scheduled_remind_prior',
  'scheduled_reminded_at',
  'impact_override',
  'scheduled_auto_in_progress',
  'scheduled_auto_completed',
  'id',
  'page_id',
  'incident_updates',
  'components',
]
const STATUSPAGE_UPDATE_KEYS = [
  'status',
  'body',
  'created_at',
  'wants_twitter_update',
  'twitter_updated_at',
  'updated_at',
  'display_at',
  'affected_components',
  'custom_tweet',
  'deliver_notifications',
  'id',
  'incident_id',
]

function incidentOf(payload: WebhookPayload) {
  if (!('incident' in payload)) throw new Error('expected an incident payload')
  return payload.incident
}

function longText(length: number): string {
  return 'All work and no play. '.repeat(Math.ceil(length / 22)).slice(0, length)
}

describe('webhook payload (Statuspage shape)', () => {
  it('has the meta, page and incident objects with Statuspage keys in Statuspage order', () => {
    const payload = webhookPayload(incidentMessage())
    expect(Object.keys(payload)).toEqual(['meta', 'page', 'incident'])
    expect(payload.meta).toEqual({
      unsubscribe: 'https://status.acme.test/subscriptions/sub_1/unsubscribe?token=t1',
      documentation: WEBHOOK_DOCUMENTATION_URL,
      generated_at: '2026-03-01T11:30:05.000+01:00',
    })
    expect(payload.page).toEqual({
      id: 'pg_acme',
      status_indicator: 'major',
      status_description: 'Partial System Outage',
    })
    const body = incidentOf(payload)
    expect(Object.keys(body)).toEqual(STATUSPAGE_INCIDENT_KEYS)
    expect(body).toMatchObject({
      name: 'Database query delays',
      status: 'identified',
      created_at: '2026-03-01T11:00:00.000+01:00',
      impact: 'major',
      shortlink: 'https://status.acme.test/incidents/inc_1',
      scheduled_for: null,
      id: 'inc_1',
      page_id: 'pg_acme',
    })
  })

  it('lists updates newest first, each with Statuspage keys', () => {
    const body = incidentOf(webhookPayload(incidentMessage()))
    expect(body.incident_updates.map((u) => u.id)).toEqual(['upd_2', 'upd_1'])
    for (const update of body.incident_updates) {
      expect(Object.keys(update)).toEqual(STATUSPAGE_UPDATE_KEYS)
    }
    expect(body.incident_updates[0]).toMatchObject({
      status: 'identified',
      display_at: '2026-03-01T11:30:00.000+01:00',
      incident_id: 'inc_1',
      deliver_notifications: true,
      affected_components: [
        {
          code: 'cmp_api',
          name: 'API',
          old_status: 'degraded_performance',
          new_status: 'major_outage',
        },
        {
          code: 'cmp_web',
          name: 'Website',
          old_status: 'operational',
          new_status: 'partial_outage',
        },
      ],
    })
  })

  it('lists the affected components with their latest status', () => {
    const body = incidentOf(webhookPayload(incidentMessage()))
    expect(body.components).toEqual([
      { status: 'major_outage', name: 'API', id: 'cmp_api', page_id: 'pg_acme' },
      { status: 'partial_outage', name: 'Website', id: 'cmp_web', page_id: 'pg_acme' },
    ])
  })

  it('tells a false alarm as resolved and keeps draft postmortems out', () => {
    const draft = incidentOf(
      webhookPayload(
        incidentMessage({
          incident: incident({ status: 'false_alarm', postmortemBody: 'Draft: do not send' }),
        }),
      ),
    )
    expect(draft.status).toBe('resolved')
    expect(draft.postmortem_body).toBeNull()
    expect(draft.postmortem_published_at).toBeNull()

    const published = incidentOf(
      webhookPayload(
        incidentMessage({
          incident: incident({
            status: 'resolved',
            postmortemBody: 'What happened',
            postmortemPublishedAt: new Date('2026-03-03T08:00:00Z'),
          }),
        }),
      ),
    )
    expect(published.postmortem_body).toBe('What happened')
    expect(published.postmortem_published_at).toBe('2026-03-03T09:00:00.000+01:00')
  })

  it('sends a maintenance as an incident with its scheduled window', () => {
    const body = incidentOf(webhookPayload(maintenanceMessage()))
    expect(Object.keys(body)).toEqual(STATUSPAGE_INCIDENT_KEYS)
    expect(body).toMatchObject({
      name: 'Database upgrade',
      status: 'scheduled',
      impact: 'maintenance',
      scheduled_for: '2026-03-10T23:00:00.000+01:00',
      scheduled_until: '2026-03-11T01:00:00.000+01:00',
      scheduled_auto_in_progress: true,
      scheduled_auto_completed: true,
    })
  })

  it('sends a component change as component_update and component', () => {
    const payload = webhookPayload(componentMessage(), { documentationUrl: 'https://docs.test/' })
    expect(Object.keys(payload)).toEqual(['meta', 'page', 'component_update', 'component'])
    if (!('component' in payload)) throw new Error('expected a component payload')
    expect(payload.meta.documentation).toBe('https://docs.test/')
    expect(Object.keys(payload.component_update)).toEqual([
      'created_at',
      'new_status',
      'old_status',
      'id',
      'component_id',
    ])
    expect(payload.component_update).toEqual({
      created_at: '2026-03-01T12:00:00.000+01:00',
      new_status: 'major_outage',
      old_status: 'operational',
      id: 'chg_1',
      component_id: 'cmp_api',
    })
    expect(Object.keys(payload.component)).toEqual(['created_at', 'id', 'name', 'status'])
    expect(payload.component).toMatchObject({ id: 'cmp_api', name: 'API', status: 'major_outage' })
  })

  it('refuses a message without the incident or change its type announces', () => {
    const message = incidentMessage()
    delete message.incident
    expect(() => webhookPayload(message)).toThrow(/has no incident/)
    const change = componentMessage()
    delete change.componentChange
    expect(() => webhookPayload(change)).toThrow(/has no component change/)
    expect(() => summarize(change)).toThrow(/has no component change/)
  })

  it('arrives signed and intact at a real receiver', async () => {
    const secret = generateWebhookSecret()
    let verified: unknown
    const receiver = await startReceiver((request, response, received) => {
      verified = new Webhook(secret).verify(received.body, {
        'webhook-id': String(request.headers['webhook-id']),
        'webhook-timestamp': String(request.headers['webhook-timestamp']),
        'webhook-signature': String(request.headers['webhook-signature']),
      })
      response.end()
    })
    const http = createOutboundHttp({ allowedRanges: ['127.0.0.1/32'] })
    try {
      const message = incidentMessage()
      const body = JSON.stringify(webhookPayload(message))
      const signature = signWebhook({ id: message.eventId, timestamp: new Date(), body, secret })
      const result = await http.post(`${receiver.origin}/statuspage`, {
        headers: { ...signature, 'content-type': 'application/json' },
        body,
      })
      expect(result.status).toBe(200)
      expect(receiver.requests[0]?.headers['webhook-id']).toBe('evt_inc_1_2')
      expect(verified).toEqual(JSON.parse(body))
    } finally {
      await http.close()
      await receiver.close()
    }
  })
})

describe('summarize', () => {
  it('gives title, status, latest update and components in English', () => {
    const summary = summarize(incidentMessage(), 'en')
    expect(summary).toMatchObject({
      title: 'Incident update: Database query delays',
      status: 'Identified',
      window: null,
      components: ['API (Major Outage)', 'Website (Partial Outage)'],
      url: 'https://status.acme.test/incidents/inc_1',
      linkLabel: 'View incident',
      pageName: 'Acme Status',
      color: '#e67e22',
    })
    expect(summary.body).toMatch(/^The cause is a \*\*failed disk\*\*/)
    expect(summary.text.split('\n')).toEqual([
      'Incident update: Database query delays',
      'Status: Identified',
      summary.body,
      'Affected components: API (Major Outage), Website (Partial Outage)',
      'https://status.acme.test/incidents/inc_1',
    ])
  })

  it('speaks French with French punctuation', () => {
    const summary = summarize(incidentMessage({ type: 'incident.created' }), 'fr')
    expect(summary.title).toBe('Nouvel incident\u00a0: Database query delays')
    expect(summary.status).toBe('Identifié')
    expect(summary.components).toEqual(['API (Panne majeure)', 'Website (Panne partielle)'])
    expect(summary.text).toContain('Statut\u00a0: Identifié')
    expect(summary.text).toContain('Composants concernés\u00a0: API (Panne majeure)')
    expect(summary.linkLabel).toBe('Voir l’incident')
  })

  it('uses the page locale by default', () => {
    const message = incidentMessage({ page: { ...incidentMessage().page, locale: 'fr' } })
    expect(summarize(message).status).toBe('Identifié')
  })

  it('says when an incident is resolved, in green', () => {
    const summary = summarize(incidentMessage({ incident: incident({ status: 'resolved' }) }), 'en')
    expect(summary.title).toBe('Resolved: Database query delays')
    expect(summary.color).toBe('#2fcc66')
  })

  it('gives a maintenance window in the page zone', () => {
    const en = summarize(maintenanceMessage(), 'en')
    expect(en.title).toBe('Maintenance scheduled: Database upgrade')
    expect(en.window).toMatch(/Mar 10, 2026.*23:00.*01:00.*GMT\+1/)
    expect(en.text).toContain(`Scheduled for: ${String(en.window)}`)
    expect(en.linkLabel).toBe('View maintenance')
    const fr = summarize(maintenanceMessage(), 'fr')
    expect(fr.title).toBe('Maintenance planifiée\u00a0: Database upgrade')
    expect(fr.window).toMatch(/10 mars 2026.*23:00.*01:00.*UTC\+1/)
  })

  it('describes a component change', () => {
    const summary = summarize(componentMessage(), 'en')
    expect(summary).toMatchObject({
      title: 'API: Major Outage',
      status: null,
      body: '',
      components: ['API: Operational → Major Outage'],
      url: 'https://status.acme.test',
      color: '#e74c3c',
    })
    expect(summarize(componentMessage(), 'fr').components).toEqual([
      'API\u00a0: Opérationnel → Panne majeure',
    ])
  })

  it('uses the same status words as the public page', () => {
    for (const locale of ['en', 'fr'] as const) {
      for (const status of [...INCIDENT_STATUSES, ...MAINTENANCE_STATUSES]) {
        expect(incidentStatusText(locale, status)).toBe(incidentStatusLabel(locale, status))
      }
      for (const status of COMPONENT_STATUSES) {
        expect(componentStatusText(locale, status)).toBe(componentStatusLabel(locale, status))
      }
    }
  })
})

describe('slack payload', () => {
  it('has a fallback text and blocks linking to the incident', () => {
    const payload = slackPayload(incidentMessage(), 'en')
    expect(payload.text).toBe('Incident update: Database query delays (Identified)')
    expect(payload.unfurl_links).toBe(false)
    expect(payload.blocks[0]).toEqual({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: '*<https://status.acme.test/incidents/inc_1|Incident update: Database query delays>*\n*Status:* Identified',
      },
    })
    expect(payload.blocks.at(-1)).toEqual({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: '<https://status.acme.test/|Acme Status>' }],
    })
  })

  it('escapes markup so that user text cannot ping, link or inject', () => {
    const message = incidentMessage({
      incident: incident({ name: 'Outage <!channel> & <https://evil.test|click here>' }),
    })
    const payload = slackPayload(message, 'en')
    const json = JSON.stringify(payload)
    expect(json).not.toContain('<!channel>')
    expect(json).not.toContain('<script>')
    expect(json).not.toContain('<https://evil.test')
    expect(payload.text).toBe(
      'Incident update: Outage &lt;!channel&gt; &amp; &lt;https://evil.test|click here&gt; (Identified)',
    )
    const update = payload.blocks[1]
    expect(update?.type === 'section' ? update.text.text : '').toBe(
      'The cause is a **failed disk**. &lt;script&gt;alert(1)&lt;/script&gt; &lt;!channel&gt; @\u200bhere',
    )
  })

  it('keeps sections within 3,000 characters', () => {
    const body = `${'<&>'.repeat(2000)}end`
    const message = incidentMessage({
      incident: incident({
        updates: [{ ...incident().updates[1]!, body }],
      }),
    })
    const section = slackPayload(message, 'en').blocks[1]
    const text = section?.type === 'section' ? section.text.text : ''
    expect(text.length).toBeLessThanOrEqual(3000)
    expect(text.endsWith('…')).toBe(true)
    // Never cut inside an escape sequence.
    expect(text.slice(0, -1)).toMatch(/^(&lt;|&amp;|&gt;)+$/)
  })
})

describe('teams payload', () => {
  it('is a message with one Adaptive Card', () => {
    const payload = teamsPayload(incidentMessage(), 'en')
    expect(payload.type).toBe('message')
    expect(payload.attachments).toHaveLength(1)
    const [attachment] = payload.attachments
    expect(attachment.contentType).toBe('application/vnd.microsoft.card.adaptive')
    const card = attachment.content
    expect(card).toMatchObject({ type: 'AdaptiveCard', version: '1.4' })
    expect(card.body[0]).toMatchObject({
      type: 'TextBlock',
      text: 'Incident update: Database query delays',
      weight: 'Bolder',
      wrap: true,
    })
    expect(card.body).toContainEqual({
      type: 'FactSet',
      facts: [
        { title: 'Status', value: 'Identified' },
        { title: 'Affected components', value: 'API (Major Outage), Website (Partial Outage)' },
      ],
    })
    expect(card.actions).toEqual([
      {
        type: 'Action.OpenUrl',
        title: 'View incident',
        url: 'https://status.acme.test/incidents/inc_1',
      },
    ])
    expect(JSON.stringify(card)).not.toContain('entities')
  })

  it('truncates a long update', () => {
    const message = incidentMessage({
      incident: incident({ updates: [{ ...incident().updates[1]!, body: longText(9000) }] }),
    })
    const last = teamsPayload(message, 'en').attachments[0].content.body.at(-1)
    expect(last?.type === 'TextBlock' ? last.text.length : 0).toBe(4000)
  })
})

describe('google chat payload', () => {
  it('is a text message with a link to the incident', () => {
    const { text } = googleChatPayload(incidentMessage(), 'en')
    const lines = text.split('\n')
    expect(lines[0]).toBe('*Incident update: Database query delays*')
    expect(lines[1]).toBe('Status: Identified')
    expect(lines.at(-1)).toBe(
      '<https://status.acme.test/incidents/inc_1|View incident> · Acme Status',
    )
  })

  it('neutralises mentions and links in user text', () => {
    const message = incidentMessage({ incident: incident({ name: 'Down <users/all>' }) })
    const { text } = googleChatPayload(message, 'en')
    expect(text).not.toContain('<users/all>')
    expect(text).not.toContain('<script>')
    expect(text).toContain('Down <\u200busers/all>')
  })

  it('stays within 4,096 characters', () => {
    const message = incidentMessage({
      incident: incident({ updates: [{ ...incident().updates[1]!, body: longText(10000) }] }),
    })
    const { text } = googleChatPayload(message, 'en')
    expect(text.length).toBeLessThanOrEqual(4096)
    expect(text).toContain('…')
    expect(text.split('\n').at(-1)).toContain('View incident')
  })
})

describe('discord payload', () => {
  it('is one embed with mentions disabled', () => {
    const payload = discordPayload(incidentMessage(), 'en')
    expect(payload.allowed_mentions).toEqual({ parse: [] })
    expect(payload).not.toHaveProperty('content')
    const [embed] = payload.embeds
    expect(embed).toMatchObject({
      title: 'Incident update: Database query delays',
      url: 'https://status.acme.test/incidents/inc_1',
      color: 0xe67e22,
      footer: { text: 'Acme Status' },
      timestamp: '2026-03-01T10:30:00.000Z',
    })
    expect(embed.description).toContain('@here')
    expect(embed.fields).toEqual([
      { name: 'Status', value: 'Identified', inline: true },
      {
        name: 'Affected components',
        value: 'API (Major Outage)\nWebsite (Partial Outage)',
        inline: false,
      },
    ])
  })

  it('keeps within the embed limits', () => {
    const message = incidentMessage({
      incident: incident({
        name: longText(400),
        updates: [{ ...incident().updates[1]!, body: longText(9000) }],
      }),
    })
    const [embed] = discordPayload(message, 'en').embeds
    expect(embed.title.length).toBe(256)
    expect(embed.title.endsWith('…')).toBe(true)
    expect(embed.description.length).toBeLessThanOrEqual(4096)
    const total =
      embed.title.length +
      embed.description.length +
      embed.footer.text.length +
      embed.fields.reduce((sum, f) => sum + f.name.length + f.value.length, 0)
    expect(total).toBeLessThanOrEqual(6000)
  })
})

describe('chat payloads for every channel', () => {
  it.each(CHAT_CHANNELS)(
    '%s: builds for incidents, maintenances and component changes',
    (channel) => {
      for (const message of [incidentMessage(), maintenanceMessage(), componentMessage()]) {
        const json = JSON.stringify(chatPayload(channel, message))
        expect(json).toContain(message.page.name)
      }
    },
  )
})

describe('validateChatUrl', () => {
  it.each([
    ['slack', 'https://hooks.slack.com/services/T000/B000/XXXX'],
    ['slack', 'https://hooks.slack.com/triggers/T000/123/abc'],
    ['teams', 'https://acme.webhook.office.com/webhookb2/abc@def/IncomingWebhook/123/456'],
    [
      'teams',
      'https://prod-12.westus.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?sig=x',
    ],
    [
      'teams',
      'https://default123.ab.environment.api.powerplatform.com/powerautomate/automations/direct/workflows/abc',
    ],
    ['google_chat', 'https://chat.googleapis.com/v1/spaces/AAAA/messages?key=k&token=t'],
    ['discord', 'https://discord.com/api/webhooks/123/abc'],
    ['discord', 'https://discordapp.com/api/webhooks/123/abc'],
    ['discord', 'https://canary.discord.com/api/v10/webhooks/123/abc'],
  ] as const)('accepts %s %s', (channel, url) => {
    expect(validateChatUrl(channel, url)).toBeUndefined()
  })

  it.each([
    ['slack', 'https://hooks.slack.com.evil.test/services/T/B/X', /Slack/],
    ['slack', 'https://evil.test/hooks.slack.com/services/T/B/X', /Slack/],
    ['slack', 'http://hooks.slack.com/services/T/B/X', /https/],
    ['teams', 'https://webhook.office.com.evil.test/x', /Teams/],
    ['teams', 'https://logic.azure.com.evil.test/x', /Teams/],
    ['google_chat', 'https://chat.googleapis.com/v1/other', /Google Chat/],
    ['discord', 'https://discord.com/channels/123', /Discord/],
    ['discord', 'https://evildiscord.com/api/webhooks/1/x', /Discord/],
    ['discord', 'https://discord.com:8443/api/webhooks/1/x', /Discord/],
    ['discord', 'https://user:pw@discord.com/api/webhooks/1/x', /user name/],
    ['slack', 'not a url', /not valid/],
  ] as const)('refuses %s %s', (channel, url, message) => {
    expect(validateChatUrl(channel, url)).toMatch(message)
  })

  it('accepts any https host when allowed, and still only https', () => {
    expect(
      validateChatUrl('slack', 'https://chat.example.org/hooks/1', { allowAnyHost: true }),
    ).toBeUndefined()
    expect(
      validateChatUrl('slack', 'http://chat.example.org/hooks/1', { allowAnyHost: true }),
    ).toMatch(/https/)
  })
})

describe('truncateEscaped', () => {
  it('never splits a surrogate pair', () => {
    const text = '😀'.repeat(10)
    const cut = truncateEscaped(text, 6)
    expect(cut).toBe('😀😀…')
    expect(cut.length).toBeLessThanOrEqual(6)
  })

  it('leaves short text alone and escapes it', () => {
    expect(truncateEscaped('a<b', 10, escapeSlack)).toBe('a&lt;b')
  })
})
