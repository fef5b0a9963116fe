import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Incident, PageSnapshot } from '../../src/domain/pages/types.js'
import {
  atomFeed,
  escapeIcalText,
  escapeXml,
  foldLine,
  icalDateTime,
  icalFeed,
  rssFeed,
} from '../../src/http/public/feeds.js'
import type { PublicContext } from '../../src/http/public/statuspage-json.js'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import { testDialects } from '../helpers/test-db.js'
import { buildScenario, ICAL_TITLE, PAGE_URL, XSS_TITLE, type Scenario } from './scenario.js'
import { parseXml, textOf, xmlProblems, type TextNode } from './xml.js'

interface AtomLink {
  '@rel': string
  '@href': string
  '@type'?: string
}
interface AtomEntry {
  id: string
  title: TextNode
  published: string
  updated: string
  link: AtomLink[]
  content: TextNode & { '@type'?: string }
}
interface AtomDocument {
  feed: {
    '@xmlns': string
    '@xml:lang': string
    id: string
    title: TextNode
    updated: string
    link: AtomLink[]
    author: { name: string }
    entry?: AtomEntry[]
  }
}
interface RssItem {
  title: TextNode
  description: TextNode
  pubDate: string
  link: string[]
  guid: TextNode & { '@isPermaLink'?: string }
}
interface RssDocument {
  rss: {
    '@version': string
    channel: {
      title: TextNode
      link: string[]
      description: TextNode
      lastBuildDate: string
      'atom:link': { '@href': string; '@rel': string }
      item?: RssItem[]
    }
  }
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
const RFC822 =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/
const UTC_DATE_TIME = /^\d{8}T\d{6}Z$/

/** Logical lines of an iCalendar text: CRLF separated, folded lines joined back. */
function unfold(ics: string): string[] {
  return ics.replace(/\r\n[ \t]/g, '').split('\r\n')
}

function unescapeIcalText(value: string): string {
  return value.replace(/\\([\\;,nN])/g, (_, c: string) => (c === 'n' || c === 'N' ? '\n' : c))
}

/** The VEVENTs of a calendar, each as a map of property name to raw value. */
function events(ics: string): Map<string, string>[] {
  const result: Map<string, string>[] = []
  let current: Map<string, string> | undefined
  for (const line of unfold(ics)) {
    if (line === 'BEGIN:VEVENT') current = new Map()
    else if (line === 'END:VEVENT') {
      if (current !== undefined) result.push(current)
      current = undefined
    } else if (current !== undefined) {
      const colon = line.indexOf(':')
      current.set(line.slice(0, colon), line.slice(colon + 1))
    }
  }
  return result
}

/** A copy of a snapshot with one incident or maintenance changed. */
function withIncident(
  snapshot: PageSnapshot,
  id: string,
  change: (incident: Incident) => Incident,
): PageSnapshot {
  return {
    ...snapshot,
    incidents: snapshot.incidents.map((i) => (i.id === id ? change(i) : i)),
    maintenances: snapshot.maintenances.map((m) => (m.id === id ? change(m) : m)),
  }
}

describe('XML and iCalendar escaping', () => {
  it('escapes the XML specials and drops characters XML 1.0 forbids', () => {
    expect(escapeXml(`<a href="x">'&'</a>`)).toBe(
      '&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;',
    )
    expect(escapeXml('a\u0000b\u0001c\u000bd\u001fe\uFFFEf\uFFFFg\uD800h\tI\nJ\rK')).toBe(
      'abcdefgh\tI\nJ\rK',
    )
    // Characters outside the BMP are kept whole.
    expect(escapeXml('ok 😀')).toBe('ok 😀')
  })

  it('escapes iCalendar TEXT', () => {
    expect(escapeIcalText('a;b,c\\d\ne\r\nf\rg')).toBe('a\\;b\\,c\\\\d\\ne\\nf\\ng')
    expect(escapeIcalText('tab\there\u0000\u0007')).toBe('tab\there')
    expect(unescapeIcalText(escapeIcalText(ICAL_TITLE))).toBe(ICAL_TITLE)
  })

  it('folds lines at 75 octets without splitting a character', () => {
    const exact = 'X'.repeat(75)
    expect(foldLine(exact)).toBe(exact)
    expect(foldLine('X'.repeat(76))).toBe(`${'X'.repeat(75)}\r\n X`)
    for (const text of [
      'é'.repeat(120),
      '☕'.repeat(90),
      '😀'.repeat(70),
      `DESCRIPTION:${'aé☕😀'.repeat(40)}`,
    ]) {
      const folded = foldLine(text)
      const lines = folded.split('\r\n')
      expect(lines.length).toBeGreaterThan(1)
      for (const [i, line] of lines.entries()) {
        expect(Buffer.byteLength(line, 'utf8')).toBeLessThanOrEqual(75)
        // No lone surrogates: each physical line is whole UTF-8.
        expect(Buffer.from(line, 'utf8').toString('utf8')).toBe(line)
        if (i > 0) expect(line.startsWith(' ')).toBe(true)
      }
      expect(folded.replace(/\r\n /g, '')).toBe(text)
    }
  })

  it('writes UTC date-times', () => {
    expect(icalDateTime(new Date('2026-01-31T22:05:09.123Z'))).toBe('20260131T220509Z')
  })
})

describe.each(testDialects)('feeds (%s)', (dialect) => {
  let t: TestApp
  let s: Scenario
  let ctx: PublicContext

  beforeAll(async () => {
    t = await buildTestApp(dialect)
    s = await buildScenario(t)
    ctx = { pageUrl: PAGE_URL, now: t.clock.now() }
  })
  afterAll(async () => {
    await t.close()
  })

  describe('Atom', () => {
    it('is well-formed Atom 1.0 with one entry per incident and maintenance', () => {
      const xml = atomFeed(s.snapshot, ctx)
      expect(xmlProblems(xml)).toEqual([])
      expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<feed ')).toBe(true)
      const { feed } = parseXml<AtomDocument>(xml)
      expect(feed['@xmlns']).toBe('http://www.w3.org/2005/Atom')
      expect(feed['@xml:lang']).toBe('en')
      expect(feed.id).toBe(`${PAGE_URL}/history`)
      expect(textOf(feed.title)).toBe(`${s.f.page.name} status`)
      expect(feed.updated).toMatch(RFC3339)
      expect(feed.author.name).toBe(s.f.page.name)
      expect(feed.link).toEqual([
        { '@rel': 'alternate', '@type': 'text/html', '@href': PAGE_URL },
        { '@rel': 'self', '@type': 'application/atom+xml', '@href': `${PAGE_URL}/history.atom` },
      ])
      const entries = feed.entry ?? []
      const ids = [s.open, s.resolved, s.completed, s.active, s.upcoming].map((i) => i.id)
      expect(entries.map((e) => e.id).sort()).toEqual(
        ids.map((id) => `${PAGE_URL}/incidents/${id}`).sort(),
      )
      for (const entry of entries) {
        expect(entry.link[0]?.['@href']).toBe(entry.id)
        expect(entry.updated).toMatch(RFC3339)
        expect(entry.published).toMatch(RFC3339)
        expect(entry.content['@type']).toBe('html')
      }
      // Most recently changed first: the upcoming maintenance was announced last.
      const updated = entries.map((e) => e.updated)
      expect([...updated].sort().reverse()).toEqual(updated)
      expect(entries[0]?.id).toBe(`${PAGE_URL}/incidents/${s.upcoming.id}`)
      expect(feed.updated).toBe(entries[0]?.updated)
    })

    it('renders the timeline as escaped HTML and keeps markup out of the XML', () => {
      const xml = atomFeed(s.snapshot, ctx)
      expect(xml).not.toMatch(/<script/i)
      expect(xml).not.toMatch(/<b>/)
      const { feed } = parseXml<AtomDocument>(xml)
      const entry = (feed.entry ?? []).find((e) => e.id.endsWith(s.open.id))
      expect(textOf(entry?.title)).toBe(XSS_TITLE)
      const html = textOf(entry?.content)
      // The HTML itself has the markup of the body escaped by the markdown renderer.
      expect(html).not.toMatch(/<script/i)
      expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;')
      expect(html).toContain('<strong>elevated errors</strong>')
      expect(html).toContain('&lt;b&gt;timeouts&lt;/b&gt;')
      const labels = [...html.matchAll(/<strong>(Monitoring|Identified|Investigating)<\/strong>/g)]
      expect(labels.map((m) => m[1])).toEqual(['Monitoring', 'Identified', 'Investigating'])
    })

    it('drops characters that XML 1.0 forbids', () => {
      const snapshot = withIncident(s.snapshot, s.open.id, (i) => ({
        ...i,
        name: 'Bad\u0000 \u0001chars\uFFFE \uD800here',
        updates: i.updates.map((u) => ({ ...u, body: `nul\u0000 bell\u0007 ${u.body}` })),
      }))
      const xml = atomFeed(snapshot, ctx)
      expect(xmlProblems(xml)).toEqual([])
      const { feed } = parseXml<AtomDocument>(xml)
      const entry = (feed.entry ?? []).find((e) => e.id.endsWith(s.open.id))
      expect(textOf(entry?.title)).toBe('Bad chars here')
    })

    it('keeps at most 50 entries', () => {
      const many: PageSnapshot = {
        ...s.snapshot,
        incidents: Array.from({ length: 60 }, (_, i) => ({
          ...s.resolved,
          id: `inc${String(i).padStart(9, '0')}`,
          updatedAt: new Date(s.resolved.updatedAt.getTime() + 86_400_000 + i * 1000),
        })),
      }
      const { feed } = parseXml<AtomDocument>(atomFeed(many, ctx))
      expect(feed.entry).toHaveLength(50)
      expect(feed.entry?.[0]?.id).toBe(`${PAGE_URL}/incidents/inc000000059`)
    })

    it('follows the page language and takes the feed URL it is given', () => {
      const fr: PageSnapshot = { ...s.snapshot, page: { ...s.snapshot.page, locale: 'fr' } }
      const xml = atomFeed(fr, { ...ctx, feedUrl: `${PAGE_URL}/feed.atom` })
      expect(xmlProblems(xml)).toEqual([])
      const { feed } = parseXml<AtomDocument>(xml)
      expect(feed['@xml:lang']).toBe('fr')
      expect(feed.link[1]?.['@href']).toBe(`${PAGE_URL}/feed.atom`)
      const entry = (feed.entry ?? []).find((e) => e.id.endsWith(s.open.id))
      expect(textOf(entry?.content)).toContain('<strong>Analyse en cours</strong>')
    })

    it('is a valid, empty feed for a page without history', () => {
      const empty: PageSnapshot = { ...s.snapshot, incidents: [], maintenances: [] }
      const xml = atomFeed(empty, ctx)
      expect(xmlProblems(xml)).toEqual([])
      expect(parseXml<AtomDocument>(xml).feed.entry).toBeUndefined()
    })
  })

  describe('RSS', () => {
    it('is well-formed RSS 2.0 with the same entries', () => {
      const xml = rssFeed(s.snapshot, ctx)
      expect(xmlProblems(xml)).toEqual([])
      expect(xml).not.toMatch(/<script/i)
      const { rss } = parseXml<RssDocument>(xml)
      expect(rss['@version']).toBe('2.0')
      expect(textOf(rss.channel.title)).toBe(`${s.f.page.name} status`)
      expect(rss.channel.link).toEqual([PAGE_URL])
      expect(rss.channel.lastBuildDate).toMatch(RFC822)
      expect(rss.channel['atom:link']).toMatchObject({
        '@href': `${PAGE_URL}/history.rss`,
        '@rel': 'self',
      })
      const items = rss.channel.item ?? []
      expect(items).toHaveLength(5)
      const atomIds = (parseXml<AtomDocument>(atomFeed(s.snapshot, ctx)).feed.entry ?? []).map(
        (e) => e.id,
      )
      expect(items.map((i) => textOf(i.guid))).toEqual(atomIds)
      for (const item of items) {
        expect(item.guid['@isPermaLink']).toBe('true')
        expect(item.link).toEqual([textOf(item.guid)])
        expect(item.pubDate).toMatch(RFC822)
      }
      const open = items.find((i) => textOf(i.guid).endsWith(s.open.id))
      expect(textOf(open?.title)).toBe(XSS_TITLE)
      const html = textOf(open?.description)
      expect(html).not.toMatch(/<script/i)
      expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;')
      expect(new Date(open?.pubDate ?? '').getTime()).toBe(
        Math.floor(s.open.startedAt.getTime() / 1000) * 1000,
      )
    })
  })

  describe('iCalendar', () => {
    it('has CRLF line endings, lines of at most 75 octets, and the calendar properties', () => {
      const ics = icalFeed(s.snapshot, ctx)
      expect(ics.endsWith('\r\n')).toBe(true)
      expect(ics).not.toMatch(/[^\r]\n/)
      expect(ics).not.toMatch(/\r(?!\n)/)
      const physical = ics.slice(0, -2).split('\r\n')
      for (const line of physical) {
        expect(Buffer.byteLength(line, 'utf8')).toBeLessThanOrEqual(75)
        expect(Buffer.from(line, 'utf8').toString('utf8')).toBe(line)
      }
      // Some lines were long enough to fold.
      expect(physical.some((line) => line.startsWith(' '))).toBe(true)
      const lines = unfold(ics.slice(0, -2))
      expect(lines[0]).toBe('BEGIN:VCALENDAR')
      expect(lines.at(-1)).toBe('END:VCALENDAR')
      expect(lines).toContain('VERSION:2.0')
      expect(lines).toContain('PRODID:-//Candor//Status Page//EN')
      expect(lines).toContain(`X-WR-CALNAME:${s.f.page.name} maintenance`)
      expect(lines.filter((l) => l === 'BEGIN:VEVENT')).toHaveLength(3)
      expect(lines.filter((l) => l === 'END:VEVENT')).toHaveLength(3)
    })

    it('has one event per maintenance window, in UTC, with its status', () => {
      const ics = icalFeed(s.snapshot, ctx)
      const byUid = new Map(events(ics).map((e) => [e.get('UID'), e]))
      const expected: [Incident, string][] = [
        [s.completed, 'CONFIRMED'],
        [s.active, 'CONFIRMED'],
        [s.upcoming, 'TENTATIVE'],
      ]
      expect(byUid.size).toBe(3)
      for (const [maintenance, status] of expected) {
        const event = byUid.get(`${maintenance.id}@candor`)
        expect(event).toBeDefined()
        expect(event?.get('DTSTART')).toMatch(UTC_DATE_TIME)
        expect(event?.get('DTEND')).toMatch(UTC_DATE_TIME)
        expect(event?.get('DTSTAMP')).toMatch(UTC_DATE_TIME)
        expect(event?.get('DTSTART')).toBe(icalDateTime(maintenance.scheduledFor!))
        expect(event?.get('DTEND')).toBe(icalDateTime(maintenance.scheduledUntil!))
        expect(event?.get('STATUS')).toBe(status)
        expect(event?.get('URL')).toBe(`${PAGE_URL}/incidents/${maintenance.id}`)
        expect(unescapeIcalText(event?.get('SUMMARY') ?? '')).toBe(maintenance.name)
      }
    })

    it('escapes ; , \\ and line breaks in text', () => {
      const body = 'Line one; with, commas \\ and a backslash.\n\nLine **two** <b>bold</b>.'
      const snapshot = withIncident(s.snapshot, s.upcoming.id, (m) => ({
        ...m,
        updates: m.updates.map((u) => ({ ...u, body })),
      }))
      const ics = icalFeed(snapshot, ctx)
      const event = events(ics).find((e) => e.get('UID') === `${s.upcoming.id}@candor`)
      const summary = event?.get('SUMMARY') ?? ''
      expect(summary).toBe('DB upgrade\\; phase 1\\, part \\\\ 2 — café ☕')
      expect(unescapeIcalText(summary)).toBe(ICAL_TITLE)
      const raw = event?.get('DESCRIPTION') ?? ''
      // Every ; and , in a TEXT value is escaped, and no raw line break is left.
      expect(raw.replace(/\\\\/g, '').replace(/\\[;,nN]/g, '')).not.toMatch(/[;,\\\r\n]/)
      const description = unescapeIcalText(raw)
      expect(description).toContain(
        'Line one; with, commas \\ and a backslash.\n\nLine two <b>bold</b>.',
      )
      expect(description.endsWith(`${PAGE_URL}/incidents/${s.upcoming.id}`)).toBe(true)
      // Markdown is reduced to plain text; what the author typed as text stays text.
      expect(description).not.toContain('**')
    })

    it('unfolds to the same text it folded', () => {
      const ics = icalFeed(s.snapshot, ctx)
      const event = events(ics).find((e) => e.get('UID') === `${s.upcoming.id}@candor`)
      const description = unescapeIcalText(event?.get('DESCRIPTION') ?? '')
      expect(description).toContain(
        'We will upgrade the primary database cluster, one node at a time; writes may pause, ' +
          'briefly, for up to 30 seconds per node. Details: https://example.com/db?a=1&b=2 — ' +
          'merci de votre patience, café ☕ inclus.',
      )
      const physical = ics.split('\r\n')
      const start = physical.findIndex((l) => l.startsWith('DESCRIPTION:') && l.length > 60)
      expect(physical[start + 1]?.startsWith(' ')).toBe(true)
    })

    it('is an empty calendar for a page without maintenance', () => {
      const ics = icalFeed({ ...s.snapshot, maintenances: [] }, ctx)
      expect(events(ics)).toEqual([])
      expect(unfold(ics.slice(0, -2)).at(-1)).toBe('END:VCALENDAR')
    })
  })
})
