import { describe, expect, it } from 'vitest'
import type { Incident, IncidentUpdate } from '../../src/domain/pages/types.js'
import type { NotificationMessage } from '../../src/notify/message.js'
import {
  alreadySubscribedEmail,
  manageLinkEmail,
  notificationEmail,
  subscriptionConfirmationEmail,
} from '../../src/notify/subscriber-emails.js'
import { tags, textOf } from '../public-html/html.js'

const HOSTILE_NAME = 'Database <script>alert(1)</script> outage'
const HOSTILE_BODY =
  'We are **looking** into it. <img src=x onerror=alert(2)>\nSecond line [docs](javascript:alert(3))'

const links = {
  manage: 'https://status.example.com/subscriptions/manage?token=m-123&x=1',
  unsubscribe: 'https://status.example.com/subscriptions/unsubscribe?token=u-456',
}
const incidentUrl = 'https://status.example.com/incidents/inc_1'

function update(overrides: Partial<IncidentUpdate>): IncidentUpdate {
  return {
    id: 'upd_1',
    incidentId: 'inc_1',
    status: 'investigating',
    body: 'First look.',
    displayAt: new Date('2026-03-03T13:00:00Z'),
    deliverNotifications: true,
    affectedComponents: null,
    createdAt: new Date('2026-03-03T13:00:00Z'),
    updatedAt: new Date('2026-03-03T13:00:00Z'),
    ...overrides,
  }
}

function incident(overrides: Partial<Incident> = {}): Incident {
  return {
    id: 'inc_1',
    pageId: 'page_1',
    kind: 'incident',
    name: HOSTILE_NAME,
    status: 'identified',
    impact: 'major',
    startedAt: new Date('2026-03-03T13:00:00Z'),
    monitoringAt: null,
    resolvedAt: null,
    scheduledFor: null,
    scheduledUntil: null,
    autoStart: false,
    autoComplete: false,
    postmortemBody: null,
    postmortemPublishedAt: null,
    componentIds: ['cmp_api', 'cmp_web'],
    updates: [
      // Newest first: 14:30 UTC is 09:30 in New York (EST, UTC−5) and 15:30 in Paris (UTC+1).
      update({
        id: 'upd_2',
        status: 'identified',
        body: HOSTILE_BODY,
        displayAt: new Date('2026-03-03T14:30:00Z'),
        affectedComponents: [
          { code: 'cmp_api', name: 'API', oldStatus: 'operational', newStatus: 'major_outage' },
          {
            code: 'cmp_web',
            name: 'Website <b>',
            oldStatus: 'operational',
            newStatus: 'degraded_performance',
          },
        ],
      }),
      update({ id: 'upd_1' }),
    ],
    createdAt: new Date('2026-03-03T13:00:00Z'),
    updatedAt: new Date('2026-03-03T14:30:00Z'),
    ...overrides,
  }
}

function maintenance(): Incident {
  return incident({
    kind: 'maintenance',
    name: 'Database upgrade',
    status: 'scheduled',
    impact: 'maintenance',
    scheduledFor: new Date('2026-03-10T03:00:00Z'), // 23:00 EDT on Mar 9
    scheduledUntil: new Date('2026-03-10T05:00:00Z'),
    updates: [
      update({
        status: 'scheduled',
        body: 'We will upgrade the primary database.',
        displayAt: new Date('2026-03-03T14:30:00Z'),
      }),
    ],
  })
}

function message(overrides: Partial<NotificationMessage> = {}, locale: 'en' | 'fr' = 'en') {
  const base: NotificationMessage = {
    eventId: 'evt_1',
    type: 'incident.updated',
    createdAt: new Date('2026-03-03T14:30:00Z'),
    page: {
      id: 'page_1',
      name: 'Acme Status',
      url: 'https://status.example.com/',
      locale,
      timeZone: locale === 'fr' ? 'Europe/Paris' : 'America/New_York',
      brandColor: '#0b5fff',
      statusIndicator: 'major',
      statusDescription: 'Partial System Outage',
    },
    incident: incident(),
    incidentUrl,
    links,
  }
  return { ...base, ...overrides }
}

/** Every href in the document, entities decoded. */
function hrefs(html: string): string[] {
  return tags(html)
    .filter((t) => t.name === 'a')
    .map((t) => t.attrs['href'] ?? '')
}

function scriptProblems(html: string): string[] {
  const problems: string[] = []
  for (const tag of tags(html)) {
    if (['script', 'img', 'iframe', 'object', 'embed', 'b'].includes(tag.name)) {
      problems.push(`<${tag.name}>`)
    }
    for (const [name, value] of Object.entries(tag.attrs)) {
      if (name.startsWith('on')) problems.push(`${tag.name}[${name}]`)
      if (/^\s*(javascript|data|vbscript):/i.test(value)) problems.push(`${tag.name}[${name}]`)
    }
  }
  return problems
}

describe('notificationEmail', () => {
  it('names the page, the incident and the latest status in the subject', () => {
    expect(notificationEmail(message()).subject).toBe(`[Acme Status] ${HOSTILE_NAME}: Identified`)
    expect(notificationEmail(message({ type: 'incident.created' })).subject).toBe(
      `[Acme Status] ${HOSTILE_NAME}: Identified`,
    )
    expect(
      notificationEmail(message({ incident: incident({ name: 'Database outage' }) })).subject,
    ).toBe('[Acme Status] Database outage: Identified')
  })

  it('escapes hostile names and bodies in the HTML and renders the body as markdown', () => {
    const { html } = notificationEmail(message())
    expect(html.toLowerCase()).not.toContain('<script')
    expect(html).not.toMatch(/<img/i)
    // The onerror survives only as escaped text, never as an attribute of a tag.
    expect(html).toContain('&lt;img src=x onerror=alert(2)&gt;')
    expect(tags(html).some((t) => 'onerror' in t.attrs)).toBe(false)
    expect(scriptProblems(html)).toEqual([])
    // The hostile text is shown, as text.
    const text = textOf(html)
    expect(text).toContain(HOSTILE_NAME)
    expect(text).toContain('<img src=x onerror=alert(2)>')
    expect(text).toContain('Website <b>: Degraded Performance')
    expect(html).toContain('<strong>looking</strong>')
    // A javascript: link in markdown stays text.
    expect(hrefs(html).some((h) => h.startsWith('javascript'))).toBe(false)
  })

  it('carries the latest update, components, impact and links in both parts', () => {
    const { html, text } = notificationEmail(message())
    const htmlText = textOf(html)
    for (const part of [htmlText, text]) {
      expect(part).toContain('Identified – Mar 3, 2026, 09:30 EST')
      expect(part).not.toContain('First look.')
      expect(part).toContain('Affected components')
      expect(part).toContain('API: Major Outage')
      expect(part).toContain('Impact: Major impact')
      expect(part).toContain(
        'You are receiving this because you subscribed to updates of Acme Status.',
      )
      expect(part).toContain('Times are shown in the America/New_York time zone.')
    }
    expect(text).toContain(HOSTILE_BODY)
    expect(text).toContain(`View incident: ${incidentUrl}`)
    expect(text).toContain(`Manage your subscription: ${links.manage}`)
    expect(text).toContain(`Unsubscribe: ${links.unsubscribe}`)
    expect(text).toContain('https://status.example.com/')

    const anchors = tags(html).filter((t) => t.name === 'a')
    const labelOf = (href: string) => {
      const tag = anchors.find((a) => a.attrs['href'] === href)
      if (tag === undefined) return ''
      return textOf(html.slice(tag.at, html.indexOf('</a>', tag.at)))
    }
    expect(labelOf(incidentUrl)).toBe('View incident')
    expect(labelOf(links.manage)).toBe('Manage your subscription')
    expect(labelOf(links.unsubscribe)).toBe('Unsubscribe')
    expect(hrefs(html)).toContain('https://status.example.com/')
  })

  it('is a standalone email document: inline styles, brand colour, 600px, no images', () => {
    const { html } = notificationEmail(message())
    expect(html.startsWith('<!doctype html><html lang="en">')).toBe(true)
    expect(html).not.toMatch(/<style|<link|<img/i)
    expect(html).toContain('max-width: 600px')
    expect(html).toContain('background-color: #0b5fff')
    expect(html).not.toContain('class=')
  })

  it('falls back to a readable colour when the brand colour is too pale for links', () => {
    const msg = message()
    const { html } = notificationEmail({ ...msg, page: { ...msg.page, brandColor: '#ffff66' } })
    expect(html).toContain('background-color: #ffff66')
    expect(html).not.toContain('color: #ffff66; text-decoration: underline')
    expect(html).not.toContain('color: #ffffff; text-decoration: none')
  })

  it('writes French for a French page, in the page time zone', () => {
    const fr = notificationEmail(message({}, 'fr'))
    expect(fr.subject).toBe(`[Acme Status] ${HOSTILE_NAME}\u00a0: Identifié`)
    expect(fr.html.startsWith('<!doctype html><html lang="fr">')).toBe(true)
    // textOf() collapses every space, the non-breaking ones of French typography included.
    const flat = (text: string) => text.replace(/\s+/g, ' ')
    for (const part of [textOf(fr.html), flat(fr.text)]) {
      expect(part).toContain('Identifié – 3 mars 2026, 15:30 UTC+1')
      expect(part).toContain('Composants concernés')
      expect(part).toContain('API : Panne majeure')
      expect(part).toContain('Impact : Impact majeur')
      expect(part).toContain(
        'Vous recevez ce message en raison de votre abonnement aux mises à jour de Acme Status.',
      )
      expect(part).toContain('Les heures sont indiquées dans le fuseau Europe/Paris.')
    }
    expect(fr.text).toContain('API\u00a0: Panne majeure')
    expect(fr.text).toContain(`Voir l’incident\u00a0: ${incidentUrl}`)
    expect(fr.text).toContain(`Gérer votre abonnement\u00a0: ${links.manage}`)
    expect(fr.text).toContain(`Se désabonner\u00a0: ${links.unsubscribe}`)
    expect(fr.text).not.toMatch(/Manage|Unsubscribe|View incident/)
  })

  it('announces a scheduled maintenance with its window', () => {
    const en = notificationEmail(
      message({ type: 'maintenance.scheduled', incident: maintenance() }),
    )
    expect(en.subject).toBe('[Acme Status] Scheduled maintenance: Database upgrade')
    for (const part of [textOf(en.html), en.text]) {
      expect(part).toContain('Maintenance window')
      expect(part).toContain('Mar 9, 2026, 23:00 EDT – Mar 10, 2026, 01:00 EDT')
      expect(part).toContain('Scheduled – Mar 3, 2026, 09:30 EST')
      expect(part).toContain('Impact: Maintenance')
    }
    expect(en.text).toContain(`View maintenance: ${incidentUrl}`)

    const fr = notificationEmail(
      message({ type: 'maintenance.scheduled', incident: maintenance() }, 'fr'),
    )
    expect(fr.subject).toBe('[Acme Status] Maintenance planifiée\u00a0: Database upgrade')
    expect(fr.text).toContain('Fenêtre de maintenance\u00a0: 10 mars 2026, 04:00 UTC+1')
  })

  it('reminds of a maintenance with its start time in the page zone', () => {
    expect(
      notificationEmail(message({ type: 'maintenance.reminder', incident: maintenance() })).subject,
    ).toBe('[Acme Status] Reminder: Database upgrade starts Mar 9, 2026, 23:00 EDT')
    expect(
      notificationEmail(message({ type: 'maintenance.reminder', incident: maintenance() }, 'fr'))
        .subject,
    ).toBe('[Acme Status] Rappel\u00a0: Database upgrade commence le 10 mars 2026, 04:00 UTC+1')
  })

  it('labels maintenance progress with maintenance statuses', () => {
    const started = maintenance()
    started.updates = [update({ status: 'in_progress', body: 'Started.' })]
    expect(
      notificationEmail(message({ type: 'maintenance.started', incident: started })).subject,
    ).toBe('[Acme Status] Database upgrade: In progress')
    expect(
      notificationEmail(message({ type: 'maintenance.started', incident: started }, 'fr')).subject,
    ).toBe('[Acme Status] Database upgrade\u00a0: En cours')
  })

  it('tells about a component change', () => {
    const base = message()
    delete base.incident
    delete base.incidentUrl
    const msg: NotificationMessage = {
      ...base,
      type: 'component.updated',
      componentChange: {
        id: 'chg_1',
        componentId: 'cmp_api',
        componentName: 'API <script>x</script>',
        oldStatus: 'operational',
        newStatus: 'partial_outage',
        createdAt: new Date('2026-07-01T16:05:00Z'),
      },
    }
    const en = notificationEmail(msg)
    expect(en.subject).toBe('[Acme Status] API <script>x</script> is now Partial Outage')
    expect(en.html.toLowerCase()).not.toContain('<script')
    expect(scriptProblems(en.html)).toEqual([])
    for (const part of [textOf(en.html), en.text]) {
      expect(part).toContain('is now Partial Outage (was Operational).')
      expect(part).toContain('Jul 1, 2026, 12:05 EDT')
      expect(part).toContain('Overall status of Acme Status: Partial System Outage.')
    }
    expect(en.text).toContain(links.manage)
    expect(en.text).toContain(links.unsubscribe)
    expect(hrefs(en.html)).toEqual(expect.arrayContaining([links.manage, links.unsubscribe]))

    const fr = notificationEmail({ ...msg, page: { ...msg.page, locale: 'fr' } })
    expect(fr.subject).toBe(
      '[Acme Status] Nouvel état de API <script>x</script>\u00a0: Panne partielle',
    )
  })

  it('keeps the subject on one line', () => {
    const msg = message({ incident: incident({ name: 'Broken\r\nBcc: victim@example.com' }) })
    expect(notificationEmail(msg).subject).toBe(
      '[Acme Status] Broken Bcc: victim@example.com: Identified',
    )
  })

  it('refuses an incident event without its incident', () => {
    const msg = message()
    delete msg.incident
    expect(() => notificationEmail(msg)).toThrow(/needs its incident/)
  })
})

describe('subscription lifecycle emails', () => {
  const page = { pageName: 'Acme <Status>', pageUrl: 'https://status.example.com/' }
  const confirmUrl = 'https://status.example.com/subscriptions/confirm?token=c-789&a=b'
  const manageUrl = links.manage

  it('asks to confirm a subscription (double opt-in)', () => {
    const en = subscriptionConfirmationEmail({ ...page, locale: 'en', confirmUrl, ttlHours: 48 })
    expect(en.subject).toBe('Confirm your subscription to Acme <Status>')
    expect(en.html).not.toContain('<Status>')
    expect(textOf(en.html)).toContain('status updates of Acme <Status> at this address')
    expect(hrefs(en.html)).toContain(confirmUrl)
    expect(en.text).toContain(confirmUrl)
    for (const part of [textOf(en.html), en.text]) {
      expect(part).toContain('The link is valid for 48 hours.')
      expect(part).toContain('Nothing happens unless you open this link')
    }

    const fr = subscriptionConfirmationEmail({ ...page, locale: 'fr', confirmUrl, ttlHours: 1 })
    expect(fr.subject).toBe('Confirmez votre abonnement à Acme <Status>')
    expect(fr.text).toMatch(/Le lien est valable 1\s?heure\./)
    expect(fr.text).toContain('Rien ne se passe tant que vous n’ouvrez pas ce lien')
    expect(fr.text).toContain(confirmUrl)
    expect(hrefs(fr.html)).toContain(confirmUrl)
  })

  it('tells an already subscribed address so without the form revealing it', () => {
    const en = alreadySubscribedEmail({ ...page, locale: 'en', manageUrl })
    expect(en.subject).toBe('You are already subscribed to Acme <Status>')
    expect(hrefs(en.html)).toContain(manageUrl)
    expect(en.text).toContain(`Manage your subscription: ${manageUrl}`)

    const fr = alreadySubscribedEmail({ ...page, locale: 'fr', manageUrl })
    expect(fr.subject).toBe('Cette adresse est déjà abonnée à Acme <Status>')
    expect(fr.text).toContain(`Gérer votre abonnement\u00a0: ${manageUrl}`)
    expect(hrefs(fr.html)).toContain(manageUrl)
  })

  it('sends the manage link that was asked for', () => {
    const en = manageLinkEmail({ ...page, locale: 'en', manageUrl })
    expect(en.subject).toBe('Manage your subscription to Acme <Status>')
    expect(hrefs(en.html)).toContain(manageUrl)
    expect(en.text).toContain(manageUrl)
    expect(textOf(en.html)).toContain('If you did not ask for it, ignore this message')

    const fr = manageLinkEmail({ ...page, locale: 'fr', manageUrl })
    expect(fr.subject).toBe('Gérer votre abonnement à Acme <Status>')
    expect(fr.text).toContain('Si vous ne l’avez pas demandé')
    expect(hrefs(fr.html)).toContain(manageUrl)
  })
})
