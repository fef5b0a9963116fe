import { describe, expect, it } from 'vitest'
import {
  renderHistoryPage,
  renderIncidentPage,
  renderPasswordPage,
  renderStatusPage,
} from '../../src/http/public/views/index.js'
import { dangerousMarkup, elementById, sectionWithClass, tags, textOf } from './html.js'
import {
  ctxFor,
  makeComponent,
  makeIncident,
  makePage,
  makeSnapshot,
  makeUpdate,
  makeUptime,
  NOW,
} from './snapshot-fixture.js'

function count(html: string, pattern: RegExp): number {
  return [...html.matchAll(new RegExp(pattern.source, `${pattern.flags.replace('g', '')}g`))].length
}

function allPages(): [string, string][] {
  const snapshot = makeSnapshot()
  snapshot.incidents[1]!.postmortemBody = '# Root cause\n\nA bad deploy.'
  snapshot.incidents[1]!.postmortemPublishedAt = NOW
  const ctx = ctxFor()
  return [
    ['status', renderStatusPage(snapshot, ctx)],
    ['status fr', renderStatusPage(snapshot, ctxFor({ locale: 'fr' }))],
    ['incident', renderIncidentPage(snapshot, 'incactive001', ctx)!],
    ['postmortem', renderIncidentPage(snapshot, 'incresolved1', ctx)!],
    ['maintenance', renderIncidentPage(snapshot, 'maint0000001', ctx)!],
    ['history', renderHistoryPage(snapshot, ctx)],
    ['password', renderPasswordPage('Acme', { ...ctx, csrfToken: 'tok', error: 'Wrong.' })],
  ]
}

describe('status page HTML', () => {
  const snapshot = makeSnapshot()
  const html = renderStatusPage(snapshot, ctxFor())

  it('is a full document with the stylesheets, feeds and landmarks', () => {
    expect(html.startsWith('<!doctype html><html lang="en">')).toBe(true)
    expect(html).toContain('<link rel="stylesheet" href="/assets/status.css"/>')
    expect(html).toContain('<link rel="stylesheet" href="/p/acme/theme.css?v=42"/>')
    expect(html).toContain(
      '<link rel="alternate" type="application/atom+xml" title="Acme Status – Atom feed" href="/p/acme/history.atom"/>',
    )
    expect(html).toMatch(
      /<link rel="alternate" type="application\/rss\+xml"[^>]*href="\/p\/acme\/history.rss"/,
    )
    const names = tags(html).map((t) => t.name)
    for (const landmark of ['header', 'main', 'footer', 'nav']) expect(names).toContain(landmark)
    expect(html).toContain('<a class="skip-link" href="#main">Skip to content</a>')
    expect(html).toContain('<main id="main"')
    expect(html).toContain('<title>Acme Status</title>')
  })

  it('shows the overall status banner with a symbol and text', () => {
    const banner = sectionWithClass(html, 'banner')
    expect(banner).toContain('banner-major')
    expect(banner).toContain('icon-partial')
    expect(textOf(banner)).toBe('Partial System Outage')
  })

  it('shows groups containing their components, with statuses as text and symbol', () => {
    const core = sectionWithClass(html, 'group')
    expect(core).toContain('<details class="group-details" open>')
    expect(textOf(sectionWithClass(core, 'group-summary'))).toBe('Core Partial Outage')
    expect(core).toContain('id="component-compapi00001"')
    expect(core).toContain('id="component-compweb00001"')
    expect(core).not.toContain('CDN')
    const api = sectionWithClass(html, 'component')
    expect(textOf(sectionWithClass(api, 'component-head'))).toBe(
      'API The public REST API Partial Outage',
    )
    expect(api).toContain(
      '<span class="status status-partial_outage"><svg class="icon icon-partial"',
    )
    expect(html).toContain('id="component-compcdn00001"')
    // Operational groups are folded, never hidden.
    const calm = makeSnapshot()
    for (const c of calm.components) c.status = 'operational'
    expect(renderStatusPage(calm, ctxFor())).toContain('<details class="group-details">')
  })

  it('draws 90 daily bars per component with text alternatives, and the uptime percentage', () => {
    expect(count(html, /<ul class="bars"/)).toBe(3)
    expect(count(html, /<li class="bar bar-/)).toBe(270)
    const api = sectionWithClass(html, 'component')
    expect(count(api, /<li class="bar bar-/)).toBe(90)
    expect(count(api, /<li class="bar bar-none">/)).toBe(10)
    expect(count(api, /<li class="bar bar-operational">/)).toBe(78)
    expect(api).toContain(
      '<li class="bar bar-partial_outage"><span class="bar-tip">Nov 20, 2026: Partial Outage 1h, incidents: API errors</span></li>',
    )
    expect(api).toContain(
      '<li class="bar bar-major_outage"><span class="bar-tip">Nov 15, 2026: Major Outage 2h 5m</span></li>',
    )
    expect(api).toContain('<span class="bar-tip">Nov 14, 2026: no downtime recorded</span>')
    expect(api).toContain('<span class="bar-tip">Aug 23, 2026: no data</span>')
    expect(api).toContain('<span class="uptime-percent">99.12% uptime</span>')
    expect(api).toContain('aria-label="Daily status of API"')
  })

  it('shows the active incident with its full timeline at the top', () => {
    const active = sectionWithClass(html, 'events')
    expect(active).toContain('<h2 id="active-incidents-heading">Active incidents</h2>')
    expect(active).toContain('<a href="/p/acme/incidents/incactive001">API errors</a>')
    expect(textOf(active)).toContain('Major impact')
    const timeline = sectionWithClass(active, 'timeline')
    expect(count(timeline, /<li class="update">/)).toBe(2)
    expect(timeline).toContain('<p class="update-status">Identified</p>')
    expect(timeline).toContain('<p>We found the <strong>cause</strong>.</p>')
    expect(timeline).toContain(
      '<time datetime="2026-11-20T14:50:00.000Z">Nov 20, 2026, 14:50 GMT+0</time>',
    )
    expect(textOf(timeline)).toContain('Components: Core - API: Partial Outage')
    expect(textOf(active)).toContain('This incident affects: Core - API.')
    expect(html.indexOf('Active incidents')).toBeLessThan(html.indexOf('components-heading'))
  })

  it('shows upcoming maintenance with its window in the page time zone', () => {
    expect(html).toContain('<h2 id="upcoming-maintenance-heading">Scheduled maintenance</h2>')
    const text = textOf(html)
    expect(text).toContain('CDN provider upgrade')
    expect(text).toContain('Scheduled for Nov 22, 2026, 15:00 GMT+0 – 17:00 GMT+0')
    expect(text).toContain('This maintenance affects: CDN.')
    expect(text).toContain('We will upgrade our CDN provider.')
    const paris = makeSnapshot({ page: makePage({ timeZone: 'Europe/Paris' }) })
    expect(textOf(renderStatusPage(paris, ctxFor()))).toContain(
      'Scheduled for Nov 22, 2026, 16:00 GMT+1 – 18:00 GMT+1',
    )
  })

  it('shows in-progress maintenance as such', () => {
    const s = makeSnapshot()
    s.maintenances[0]!.status = 'in_progress'
    s.maintenances[0]!.scheduledFor = new Date(NOW.getTime() - 600_000)
    const page = renderStatusPage(s, ctxFor())
    expect(page).toContain('<h2 id="active-maintenance-heading">Maintenance in progress</h2>')
    expect(page).not.toContain('upcoming-maintenance-heading')
  })

  it('lists the past 7 days of incidents, with quiet days and a link to the history', () => {
    const past = sectionWithClass(html, 'past')
    expect(count(past, /<section class="day"/)).toBe(7)
    expect(past).toContain('<time datetime="2026-11-20">Nov 20, 2026</time>')
    expect(past).toContain('<time datetime="2026-11-14">Nov 14, 2026</time>')
    expect(textOf(past)).toContain('Nov 19, 2026 Slow website')
    expect(count(past, /No incidents reported\./g)).toBe(5)
    expect(past).toContain('<a href="/p/acme/history">Incident history')
    const quiet = renderStatusPage(makeSnapshot({ incidents: [], maintenances: [] }), ctxFor())
    expect(quiet).toContain('No incidents reported today.')
    expect(quiet).not.toContain('Active incidents')
  })

  it('links everything under the base path, and at the root on the page host', () => {
    const footer = sectionWithClass(html, 'site-footer')
    for (const href of [
      '/p/acme/history',
      '/p/acme/history.atom',
      '/p/acme/history.rss',
      '/p/acme/maintenance.ics',
      '/p/acme/api/v2/summary.json',
    ])
      expect(footer).toContain(`href="${href}"`)
    expect(textOf(footer)).toContain('Powered by Candor')
    expect(html).toContain('<a class="brand" href="/p/acme">')
    const own = renderStatusPage(snapshot, ctxFor({ basePath: '' }))
    expect(own).toContain('<a class="brand" href="/">')
    expect(own).toContain('href="/incidents/incactive001"')
    expect(own).toContain('href="/theme.css?v=42"')
    const hrefs = tags(own)
      .map((t) => t.attrs['href'])
      .filter((h): h is string => h !== undefined && h.startsWith('/'))
    expect(hrefs.filter((h) => h.startsWith('/p/'))).toEqual([])
  })

  it('shows the logo, homepage and support links when set, and drops unsafe ones', () => {
    const branded = renderStatusPage(
      makeSnapshot({
        page: makePage({
          hasLogo: true,
          supportUrl: 'https://help.acme.test/',
          homepageUrl: 'https://acme.test/',
        }),
      }),
      ctxFor(),
    )
    expect(branded).toContain('<img class="brand-logo" src="/p/acme/logo?v=42" alt="Acme Status"/>')
    expect(branded).toContain('href="https://help.acme.test/"')
    expect(branded).toContain('href="https://acme.test/"')
    const unsafe = renderStatusPage(
      makeSnapshot({ page: makePage({ supportUrl: 'javascript:alert(1)' }) }),
      ctxFor(),
    )
    expect(unsafe).not.toContain('Get support')
    expect(html).toContain('<span class="brand-name">Acme Status</span>')
  })

  it('hides "only show if degraded" components while operational', () => {
    expect(html).not.toContain('Legacy')
    const degraded = makeSnapshot()
    degraded.components.find((c) => c.name === 'Legacy')!.status = 'degraded_performance'
    const shown = renderStatusPage(degraded, ctxFor())
    expect(shown).toContain('<span class="component-name">Legacy</span>')
    expect(sectionWithClass(shown, 'components')).toContain('Degraded Performance')
    expect(shown).toContain('No uptime data yet')
  })

  it('hides a group whose components are all hidden, and an "only if degraded" group', () => {
    const group = makeComponent('grphidden001', 'Hidden group', { isGroup: true })
    const child = makeComponent('comphidden01', 'Hidden child', {
      groupId: group.id,
      onlyShowIfDegraded: true,
    })
    const lonely = makeComponent('grplonely001', 'Shy group', {
      isGroup: true,
      onlyShowIfDegraded: true,
    })
    const s = makeSnapshot()
    s.components.push(group, child, lonely)
    s.uptime.push(makeUptime(child.id))
    const page = renderStatusPage(s, ctxFor())
    expect(page).not.toContain('Hidden group')
    expect(page).not.toContain('Hidden child')
    expect(page).not.toContain('Shy group')
    child.status = 'major_outage'
    const shown = renderStatusPage(s, ctxFor())
    expect(shown).toContain('Hidden group')
    const group2 = elementById(shown, 'component-grphidden001')
    expect(textOf(sectionWithClass(group2, 'group-summary'))).toBe('Hidden group Major Outage')
    expect(group2).toContain('Hidden child')
  })

  it('leaves the bars out of components that do not showcase their uptime', () => {
    const s = makeSnapshot()
    s.components.find((c) => c.name === 'CDN')!.showcase = false
    expect(count(renderStatusPage(s, ctxFor()), /<ul class="bars"/)).toBe(2)
  })

  it('renders in French with French strings and dates', () => {
    const fr = renderStatusPage(snapshot, ctxFor({ locale: 'fr' }))
    expect(fr.startsWith('<!doctype html><html lang="fr">')).toBe(true)
    const text = textOf(fr)
    for (const phrase of [
      'Aller au contenu',
      'Panne partielle du système',
      'Incidents en cours',
      'Maintenances planifiées',
      'Composants',
      'Panne partielle',
      'Opérationnel',
      'Identifié',
      'Impact majeur',
      '20 nov. 2026, 14:50 UTC+0',
      'Cet incident concerne : Core - API.',
      'Incidents passés',
      'Aucun incident signalé.',
      'Historique des incidents',
      'Propulsé par Candor',
      'Prévue : 22 nov. 2026, 15:00 UTC+0 – 17:00 UTC+0',
    ])
      expect(text).toContain(phrase)
    expect(fr).toMatch(/99,12\s% de disponibilité/)
    expect(fr).toContain(
      '<span class="bar-tip">20 nov. 2026\u00a0: Panne partielle 1 h, incidents\u00a0: API errors</span>',
    )
    for (const english of ['Active incidents', 'Operational', 'Past incidents', 'Powered by'])
      expect(text).not.toContain(english)
  })

  it('each page has one h1, a main landmark, a lang, no inline style and no script', () => {
    for (const [name, page] of allPages()) {
      const all = tags(page)
      expect(
        all.filter((t) => t.name === 'h1'),
        name,
      ).toHaveLength(1)
      expect(
        all.filter((t) => t.name === 'main'),
        name,
      ).toHaveLength(1)
      expect(all.find((t) => t.name === 'html')?.attrs['lang'], name).toMatch(/^(en|fr)$/)
      expect(page, name).not.toContain('style=')
      expect(page, name).not.toContain('<script')
      expect(page, name).not.toContain('<style')
      expect(dangerousMarkup(page), name).toEqual([])
      const ids = all.map((t) => t.attrs['id']).filter((id) => id !== undefined)
      expect(new Set(ids).size, `${name}: duplicate ids`).toBe(ids.length)
      // Every image has a text alternative, every form field a label.
      for (const img of all.filter((t) => t.name === 'img')) expect(img.attrs['alt']).toBeTruthy()
      for (const input of all.filter((t) => t.name === 'input' && t.attrs['type'] !== 'hidden'))
        expect(page).toContain(`<label for="${input.attrs['id']!}">`)
    }
  })

  it('keeps the heading order without skipping levels', () => {
    for (const [name, page] of allPages()) {
      const levels = tags(page)
        .filter((t) => /^h[1-6]$/.test(t.name))
        .map((t) => Number(t.name.slice(1)))
      let previous = 0
      for (const level of levels) {
        expect(level - previous, `${name}: h${previous} then h${level}`).toBeLessThanOrEqual(1)
        previous = level
      }
    }
  })
})

describe('incident page HTML', () => {
  it('shows the title, impact, timeline, affected components and a back link', () => {
    const html = renderIncidentPage(makeSnapshot(), 'incactive001', ctxFor())!
    expect(html).toContain('<h1 class="event-title">API errors</h1>')
    expect(html).toContain('<title>API errors · Acme Status</title>')
    const text = textOf(html)
    expect(text).toContain('Major impact')
    expect(text).toContain('Identified')
    expect(text).toContain('This incident affects: Core - API.')
    expect(text).toContain('Started Nov 20, 2026, 14:00 GMT+0')
    expect(count(html, /<li class="update">/)).toBe(2)
    expect(html).toContain(
      '<a href="/p/acme"><span aria-hidden="true">← </span>Back to current status</a>',
    )
    expect(html).not.toContain('Postmortem')
  })

  it('shows a published postmortem rendered from markdown, not an unpublished one', () => {
    const s = makeSnapshot()
    const incident = s.incidents[1]!
    incident.postmortemBody = '# Root cause\n\nA **bad** deploy. [Report](https://acme.test/r)'
    const draft = renderIncidentPage(s, incident.id, ctxFor())!
    expect(draft).not.toContain('Root cause')
    incident.postmortemPublishedAt = new Date('2026-11-20T10:00:00Z')
    const html = renderIncidentPage(s, incident.id, ctxFor())!
    expect(html).toContain('<h2 id="postmortem-heading">Postmortem</h2>')
    expect(html).toContain('Published Nov 20, 2026, 10:00 GMT+0')
    expect(html).toContain('<h3>Root cause</h3>')
    expect(html).toContain('<strong>bad</strong>')
    expect(html).toContain(
      '<a href="https://acme.test/r" rel="nofollow noopener noreferrer">Report</a>',
    )
    expect(textOf(html)).toContain('This incident affected: Core - Website.')
    expect(textOf(html)).toContain('Resolved Nov 19, 2026, 14:30 GMT+0')
  })

  it('shows maintenances too, with their window, and nothing for unknown ids', () => {
    const html = renderIncidentPage(makeSnapshot(), 'maint0000001', ctxFor({ locale: 'fr' }))!
    expect(html).toContain('<h1 class="event-title">CDN provider upgrade</h1>')
    expect(textOf(html)).toContain('Prévue : 22 nov. 2026, 15:00 UTC+0 – 17:00 UTC+0')
    expect(textOf(html)).toContain('Cette maintenance concerne : CDN.')
    expect(renderIncidentPage(makeSnapshot(), 'nope00000000', ctxFor())).toBeUndefined()
  })
})

describe('history page HTML', () => {
  function archive() {
    const s = makeSnapshot({ page: makePage({ timeZone: 'Europe/Paris' }) })
    s.incidents.push(
      makeIncident('incoctober01', 'October outage', {
        status: 'resolved',
        impact: 'critical',
        startedAt: new Date('2026-10-31T23:30:00Z'), // 1 November 00:30 in Paris
        resolvedAt: new Date('2026-11-01T01:00:00Z'),
        updates: [
          makeUpdate(
            'updoct000001',
            'resolved',
            'All **good** now.',
            new Date('2026-11-01T01:00:00Z'),
          ),
        ],
      }),
      makeIncident('incjuly00001', 'July outage', {
        status: 'resolved',
        startedAt: new Date('2026-07-10T10:00:00Z'),
        resolvedAt: new Date('2026-07-10T11:00:00Z'),
      }),
    )
    return s
  }

  it('groups past events by month in the page time zone, newest first', () => {
    const html = renderHistoryPage(archive(), ctxFor())
    expect(html).toContain('<h1>Incident history</h1>')
    const months = tags(html)
      .filter((t) => t.name === 'h2')
      .map((t) => t.attrs['id'])
    expect(months).toEqual(['month-2026-11', 'month-2026-10', 'month-2026-09'])
    const november = sectionWithClass(html, 'month')
    const text = textOf(november)
    expect(text).toContain('October outage')
    expect(text.indexOf('API errors')).toBeLessThan(text.indexOf('Slow website'))
    expect(text.indexOf('Slow website')).toBeLessThan(text.indexOf('October outage'))
    expect(text).toContain('All good now.')
    expect(text).toContain('Nov 1, 2026, 00:30 GMT+1 – 02:00 GMT+1')
    expect(text).not.toContain('CDN provider upgrade')
    expect(textOf(html)).toContain('No incidents reported this month.')
    expect(html).toContain('<a href="/p/acme/history?month=2026-08" rel="prev">')
    expect(html).not.toContain('rel="next"')
  })

  it('navigates to older months and back', () => {
    const html = renderHistoryPage(archive(), ctxFor(), '2026-08')
    const months = tags(html)
      .filter((t) => t.name === 'h2')
      .map((t) => t.attrs['id'])
    expect(months).toEqual(['month-2026-08', 'month-2026-07', 'month-2026-06'])
    expect(textOf(html)).toContain('July outage')
    expect(html).toContain('<a href="/p/acme/history?month=2026-05" rel="prev">')
    expect(html).toContain('<a href="/p/acme/history?month=2026-11" rel="next">')
    expect(textOf(html)).toContain('June 2026 to August 2026')
    // Bad or future months fall back to the current one.
    for (const month of ['2027-01', 'garbage', '2026-13'])
      expect(renderHistoryPage(archive(), ctxFor(), month)).toContain('id="month-2026-11"')
  })

  it('renders in French', () => {
    const html = renderHistoryPage(archive(), ctxFor({ locale: 'fr' }), '2026-08')
    expect(html).toContain('<h1>Historique des incidents</h1>')
    expect(html).toContain('<h2 id="month-2026-07">juillet 2026</h2>')
    expect(textOf(html)).toContain('Aucun incident signalé ce mois-ci.')
    expect(textOf(html)).toContain('Plus anciens')
  })
})

describe('password page HTML', () => {
  it('posts the password and the CSRF token to the access endpoint', () => {
    const html = renderPasswordPage('Acme Status', { ...ctxFor(), csrfToken: 'csrf-123' })
    expect(html).toContain('<form method="post" action="/p/acme/access" class="gate-form">')
    expect(html).toContain('<input type="hidden" name="_csrf" value="csrf-123"/>')
    const input = tags(html).find((t) => t.name === 'input' && t.attrs['type'] === 'password')
    expect(input?.attrs['name']).toBe('password')
    expect(html).toContain('<label for="page-password">Password</label>')
    expect(textOf(html)).toContain('Enter the password to view Acme Status.')
    expect(html).not.toContain('theme.css')
    expect(html).not.toContain('history.atom')
    expect(html).not.toContain('role="alert"')
  })

  it('shows an error tied to the field, in the page locale, and copes with no name', () => {
    const html = renderPasswordPage('', {
      ...ctxFor({ basePath: '', locale: 'fr' }),
      csrfToken: 'x',
      error: 'Mot de passe incorrect.',
    })
    expect(html).toContain('<html lang="fr">')
    expect(html).toContain('action="/access"')
    expect(html).toContain(
      '<p class="field-error" id="page-password-error" role="alert">Mot de passe incorrect.</p>',
    )
    expect(html).toContain('aria-describedby="page-password-error"')
    expect(html).toContain('aria-invalid="true"')
    expect(textOf(html)).toContain('Saisissez le mot de passe pour consulter cette page d’état.')
    expect(html).not.toContain('class="brand"')
  })
})
