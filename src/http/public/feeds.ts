import type {
  Incident,
  IncidentStatus,
  IncidentUpdate,
  Locale,
  MaintenanceStatus,
  PageSnapshot,
} from '../../domain/pages/types.js'
import { markdownToText, renderMarkdown } from './markdown.js'
import { HISTORY_LIMIT, incidentUrl, type PublicContext } from './statuspage-json.js'
import { incidentStatusLabel, t } from './i18n.js'

/**
 * Subscribable views of a page's history: Atom 1.0 (RFC 4287) and RSS 2.0 with one entry per
 * incident or maintenance, and an iCalendar (RFC 5545) feed of maintenance windows. Pure: the
 * output depends on the snapshot only, so a re-render without a change yields the same bytes
 * (and the same ETag).
 */

export interface FeedContext extends PublicContext {
  /** The feed's own URL for rel="self"; defaults to Statuspage's /history.atom and /history.rss. */
  feedUrl?: string
}

const FEED_TITLES: Record<Locale, (name: string) => string> = {
  en: (name) => `${name} status`,
  fr: (name) => `État de ${name}`,
}

const FEED_DESCRIPTIONS: Record<Locale, (name: string) => string> = {
  en: (name) => `Incidents and maintenance of ${name}`,
  fr: (name) => `Incidents et maintenances de ${name}`,
}

const CALENDAR_NAMES: Record<Locale, (name: string) => string> = {
  en: (name) => `${name} maintenance`,
  fr: (name) => `Maintenances de ${name}`,
}

const LANGUAGE_TAGS: Record<Locale, string> = { en: 'en', fr: 'fr' }
const DATE_LOCALES: Record<Locale, string> = { en: 'en-US', fr: 'fr-FR' }

/** The page's own status labels (src/http/public/i18n.ts), so feeds and pages say the same. */
function statusLabel(
  locale: Locale,
  status: IncidentStatus | MaintenanceStatus | 'postmortem',
): string {
  return status === 'postmortem'
    ? t(locale, 'incident.postmortem')
    : incidentStatusLabel(locale, status)
}

const dateFormatters = new Map<string, Intl.DateTimeFormat>()

/** "Jun 16, 2020, 14:00 PDT", in the page's time zone and language. */
function humanDate(date: Date, timeZone: string, locale: Locale): string {
  const key = `${locale}|${timeZone}`
  let formatter = dateFormatters.get(key)
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat(DATE_LOCALES[locale], {
      timeZone,
      year: 'numeric',
      month: 'short',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'short',
    })
    dateFormatters.set(key, formatter)
  }
  return formatter.format(date)
}

// ---------------------------------------------------------------------------------------------
// XML

/**
 * Characters XML 1.0 forbids anywhere (C0 controls other than tab, LF and CR; lone surrogates;
 * U+FFFE and U+FFFF). An escaped form does not help: `&#1;` is as invalid as the raw byte.
 */
const XML_INVALID = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu

const XML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
}

/** Text or attribute value for XML: invalid characters dropped, the five specials escaped. */
export function escapeXml(text: string): string {
  return text.replace(XML_INVALID, '').replace(/[&<>"']/g, (c) => XML_ESCAPES[c] ?? c)
}

function element(name: string, text: string, attributes: Record<string, string> = {}): string {
  const attrs = Object.entries(attributes)
    .map(([key, value]) => ` ${key}="${escapeXml(value)}"`)
    .join('')
  return `<${name}${attrs}>${escapeXml(text)}</${name}>`
}

function emptyElement(name: string, attributes: Record<string, string>): string {
  const attrs = Object.entries(attributes)
    .map(([key, value]) => ` ${key}="${escapeXml(value)}"`)
    .join('')
  return `<${name}${attrs}/>`
}

function stripTrailingSlash(url: string): string {
  return url.replace(/\/+$/, '')
}

// ---------------------------------------------------------------------------------------------
// Entries

interface FeedEntry {
  incident: Incident
  url: string
  updated: Date
  published: Date
  html: string
}

/** The last time anything about an incident changed, edited updates included. */
function lastChange(incident: Incident): Date {
  let latest = incident.updatedAt.getTime()
  for (const update of incident.updates) latest = Math.max(latest, update.updatedAt.getTime())
  if (incident.postmortemPublishedAt !== null)
    latest = Math.max(latest, incident.postmortemPublishedAt.getTime())
  return new Date(latest)
}

/** The updates as a timeline, newest first, like Statuspage's history feeds. */
function timelineHtml(incident: Incident, snapshot: PageSnapshot): string {
  const { timeZone, locale } = snapshot.page
  const parts: string[] = []
  if (incident.kind === 'maintenance' && incident.scheduledFor !== null) {
    const until =
      incident.scheduledUntil === null
        ? ''
        : ` – ${escapeHtml(humanDate(incident.scheduledUntil, timeZone, locale))}`
    parts.push(
      `<p><strong>${escapeHtml(statusLabel(locale, 'scheduled'))}</strong>: ${escapeHtml(humanDate(incident.scheduledFor, timeZone, locale))}${until}</p>`,
    )
  }
  if (incident.postmortemBody !== null && incident.postmortemPublishedAt !== null) {
    const when = escapeHtml(humanDate(incident.postmortemPublishedAt, timeZone, locale))
    const label = escapeHtml(statusLabel(locale, 'postmortem'))
    parts.push(
      `<p><small>${when}</small><br><strong>${label}</strong></p>\n${renderMarkdown(incident.postmortemBody)}`,
    )
  }
  for (const update of incident.updates) parts.push(updateHtml(update, timeZone, locale))
  return parts.join('\n')
}

function updateHtml(update: IncidentUpdate, timeZone: string, locale: Locale): string {
  const when = escapeHtml(humanDate(update.displayAt, timeZone, locale))
  const label = escapeHtml(statusLabel(locale, update.status))
  return `<p><small>${when}</small><br><strong>${label}</strong></p>\n${renderMarkdown(update.body)}`
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => XML_ESCAPES[c] ?? c)
}

function entriesOf(snapshot: PageSnapshot, ctx: PublicContext): FeedEntry[] {
  const all = [...snapshot.incidents, ...snapshot.maintenances].map((incident) => ({
    incident,
    url: incidentUrl(ctx.pageUrl, incident.id),
    updated: lastChange(incident),
    published: incident.kind === 'maintenance' ? incident.createdAt : incident.startedAt,
    html: '',
  }))
  all.sort(
    (a, b) =>
      b.updated.getTime() - a.updated.getTime() ||
      b.published.getTime() - a.published.getTime() ||
      (a.incident.id < b.incident.id ? -1 : 1),
  )
  const entries = all.slice(0, HISTORY_LIMIT)
  for (const entry of entries) entry.html = timelineHtml(entry.incident, snapshot)
  return entries
}

function feedUpdated(snapshot: PageSnapshot, entries: FeedEntry[]): Date {
  let latest = snapshot.page.updatedAt.getTime()
  for (const entry of entries) latest = Math.max(latest, entry.updated.getTime())
  return new Date(latest)
}

// ---------------------------------------------------------------------------------------------
// Atom

/** Atom 1.0 (RFC 4287): one entry per incident or maintenance, most recently changed first. */
export function atomFeed(snapshot: PageSnapshot, ctx: FeedContext): string {
  const { page } = snapshot
  const base = stripTrailingSlash(ctx.pageUrl)
  const entries = entriesOf(snapshot, ctx)
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="${LANGUAGE_TAGS[page.locale]}">`,
    `  ${element('id', `${base}/history`)}`,
    `  ${element('title', FEED_TITLES[page.locale](page.name))}`,
    `  ${element('subtitle', FEED_DESCRIPTIONS[page.locale](page.name))}`,
    `  ${element('updated', feedUpdated(snapshot, entries).toISOString())}`,
    `  ${emptyElement('link', { rel: 'alternate', type: 'text/html', href: ctx.pageUrl })}`,
    `  ${emptyElement('link', { rel: 'self', type: 'application/atom+xml', href: ctx.feedUrl ?? `${base}/history.atom` })}`,
    `  <author>${element('name', page.name)}</author>`,
    `  ${element('generator', 'Candor')}`,
  ]
  for (const entry of entries) {
    lines.push(
      '  <entry>',
      `    ${element('id', entry.url)}`,
      `    ${element('title', entry.incident.name)}`,
      `    ${element('published', entry.published.toISOString())}`,
      `    ${element('updated', entry.updated.toISOString())}`,
      `    ${emptyElement('link', { rel: 'alternate', type: 'text/html', href: entry.url })}`,
      `    ${element('content', entry.html, { type: 'html' })}`,
      '  </entry>',
    )
  }
  lines.push('</feed>', '')
  return lines.join('\n')
}

// ---------------------------------------------------------------------------------------------
// RSS

/** RSS 2.0: the same entries as the Atom feed. Dates are RFC 822 (with a four-digit year). */
export function rssFeed(snapshot: PageSnapshot, ctx: FeedContext): string {
  const { page } = snapshot
  const base = stripTrailingSlash(ctx.pageUrl)
  const entries = entriesOf(snapshot, ctx)
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">',
    '  <channel>',
    `    ${element('title', FEED_TITLES[page.locale](page.name))}`,
    `    ${element('link', ctx.pageUrl)}`,
    `    ${element('description', FEED_DESCRIPTIONS[page.locale](page.name))}`,
    `    ${element('language', LANGUAGE_TAGS[page.locale])}`,
    `    ${element('lastBuildDate', feedUpdated(snapshot, entries).toUTCString())}`,
    `    ${element('generator', 'Candor')}`,
    `    ${emptyElement('atom:link', { href: ctx.feedUrl ?? `${base}/history.rss`, rel: 'self', type: 'application/rss+xml' })}`,
  ]
  for (const entry of entries) {
    lines.push(
      '    <item>',
      `      ${element('title', entry.incident.name)}`,
      `      ${element('description', entry.html)}`,
      `      ${element('pubDate', entry.published.toUTCString())}`,
      `      ${element('link', entry.url)}`,
      `      ${element('guid', entry.url, { isPermaLink: 'true' })}`,
      '    </item>',
    )
  }
  lines.push('  </channel>', '</rss>', '')
  return lines.join('\n')
}

// ---------------------------------------------------------------------------------------------
// iCalendar

/** UTC date-time form: 20260131T220000Z. */
export function icalDateTime(date: Date): string {
  return date
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '')
}

/**
 * TEXT value (RFC 5545 §3.3.11): backslash, semicolon and comma escaped, line breaks as \n, and
 * control characters (not allowed in TEXT) and lone surrogates dropped.
 */
export function escapeIcalText(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .replace(/[^\t\n\u0020-\u007E\u0080-\uD7FF\uE000-\uFFFF\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/[\\;,]/g, (c) => `\\${c}`)
    .replace(/\n/g, '\\n')
}

/**
 * Folds a content line at 75 octets (RFC 5545 §3.1): continuation lines start with one space,
 * which counts towards their 75, and a UTF-8 sequence is never split.
 */
export function foldLine(line: string): string {
  const parts: string[] = []
  let current = ''
  let octets = 0
  let limit = 75
  for (const char of line) {
    const size = Buffer.byteLength(char, 'utf8')
    if (octets + size > limit) {
      parts.push(current)
      current = ' '
      octets = 1
      limit = 75
    }
    current += char
    octets += size
  }
  parts.push(current)
  return parts.join('\r\n')
}

const ICAL_STATUS: Record<string, string> = {
  scheduled: 'TENTATIVE',
  in_progress: 'CONFIRMED',
  verifying: 'CONFIRMED',
  completed: 'CONFIRMED',
}

function maintenanceDescription(
  maintenance: Incident,
  snapshot: PageSnapshot,
  url: string,
): string {
  const { timeZone, locale } = snapshot.page
  const updates = maintenance.updates.map((update) => {
    const heading = `${statusLabel(locale, update.status)} – ${humanDate(update.displayAt, timeZone, locale)}`
    return `${heading}\n${markdownToText(update.body)}`
  })
  return [...updates, url].join('\n\n')
}

/** iCalendar (RFC 5545): one event per maintenance window, in UTC. */
export function icalFeed(snapshot: PageSnapshot, ctx: PublicContext): string {
  const { page } = snapshot
  const lines = [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//Candor//Status Page//EN',
    'CALSCALE:GREGORIAN',
    `X-WR-CALNAME:${escapeIcalText(CALENDAR_NAMES[page.locale](page.name))}`,
    `X-WR-CALDESC:${escapeIcalText(FEED_DESCRIPTIONS[page.locale](page.name))}`,
  ]
  const maintenances = snapshot.maintenances
    .filter((m) => m.kind === 'maintenance' && m.scheduledFor !== null)
    .sort((a, b) => (a.scheduledFor?.getTime() ?? 0) - (b.scheduledFor?.getTime() ?? 0))
  for (const maintenance of maintenances) {
    const start = maintenance.scheduledFor ?? maintenance.startedAt
    const end = maintenance.scheduledUntil ?? start
    const url = incidentUrl(ctx.pageUrl, maintenance.id)
    const changed = icalDateTime(lastChange(maintenance))
    lines.push(
      'BEGIN:VEVENT',
      `UID:${maintenance.id}@candor`,
      `DTSTAMP:${changed}`,
      `LAST-MODIFIED:${changed}`,
      `CREATED:${icalDateTime(maintenance.createdAt)}`,
      `DTSTART:${icalDateTime(start)}`,
      `DTEND:${icalDateTime(end)}`,
      `SUMMARY:${escapeIcalText(maintenance.name)}`,
      `DESCRIPTION:${escapeIcalText(maintenanceDescription(maintenance, snapshot, url))}`,
      `URL:${url.replace(/[\r\n]/g, '')}`,
      `STATUS:${ICAL_STATUS[maintenance.status] ?? 'CONFIRMED'}`,
      'TRANSP:TRANSPARENT',
      'END:VEVENT',
    )
  }
  lines.push('END:VCALENDAR')
  return lines.map(foldLine).join('\r\n') + '\r\n'
}
