import { formatInZone } from '../domain/pages/time-zone.js'
import type {
  AffectedComponent,
  ComponentStatus,
  Incident,
  IncidentStatus,
  IncidentUpdate,
  Indicator,
  Locale,
  MaintenanceStatus,
} from '../domain/pages/types.js'
import type { NotificationMessage } from './message.js'

/**
 * Request bodies for each outbound channel, from one NotificationMessage. Pure functions: the
 * sender signs and posts what they return. User text (names, update bodies) is neutralised for
 * each platform's markup so that it can neither ping a channel nor forge a link, and every field
 * is kept within the platform's documented limits.
 */

export const CHAT_CHANNELS = ['slack', 'teams', 'google_chat', 'discord'] as const
export type ChatChannel = (typeof CHAT_CHANNELS)[number]

const ELLIPSIS = '…'

// ---------------------------------------------------------------------------------------------
// Text helpers

/**
 * The longest prefix of text whose escaped form, plus an ellipsis, fits in max UTF-16 units.
 * Cuts between code points, never inside a surrogate pair or an escape sequence.
 */
export function truncateEscaped(
  text: string,
  max: number,
  escape: (text: string) => string = (s) => s,
): string {
  const whole = escape(text)
  if (whole.length <= max) return whole
  let result = ''
  for (const char of text) {
    const next = escape(char)
    if (result.length + next.length + ELLIPSIS.length > max) break
    result += next
  }
  return `${result}${ELLIPSIS}`
}

export function truncate(text: string, max: number): string {
  return truncateEscaped(text, max)
}

const BROADCAST_MENTION = /@(channel|here|everyone|all)\b/gi

/** Slack: &, < and > are the only control characters; escaping them disables <!channel> and links. */
export function escapeSlack(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(BROADCAST_MENTION, '@\u200b$1')
}

/** A URL inside a <url|label> link (Slack, Google Chat): no | or > that would end it early. */
function linkUrl(url: string): string {
  return new URL(url).href.replace(/\|/g, '%7C').replace(/>/g, '%3E')
}

/** Slack also wants & escaped inside links. */
function slackUrl(url: string): string {
  return linkUrl(url).replace(/&/g, '&amp;')
}

/**
 * Google Chat reads <users/all> as a mention of everyone and <url|label> as a link; a zero-width
 * space after each < leaves the text readable and inert.
 */
export function escapeGoogleChat(text: string): string {
  return text.replace(/</g, '<\u200b').replace(BROADCAST_MENTION, '@\u200b$1')
}

// ---------------------------------------------------------------------------------------------
// Summary

interface Strings {
  title: Record<NotificationMessage['type'] | 'incident.resolved', string>
  status: string
  window: string
  affected: string
  change: string
  viewIncident: string
  viewMaintenance: string
  viewPage: string
  statuses: Record<IncidentStatus | MaintenanceStatus, string>
  components: Record<ComponentStatus, string>
}

const STRINGS: Record<Locale, Strings> = {
  en: {
    title: {
      'incident.created': 'New incident: {name}',
      'incident.updated': 'Incident update: {name}',
      'incident.resolved': 'Resolved: {name}',
      'maintenance.scheduled': 'Maintenance scheduled: {name}',
      'maintenance.reminder': 'Maintenance reminder: {name}',
      'maintenance.started': 'Maintenance started: {name}',
      'maintenance.updated': 'Maintenance update: {name}',
      'maintenance.completed': 'Maintenance completed: {name}',
      'component.updated': '{name}: {status}',
    },
    status: 'Status',
    window: 'Scheduled for',
    affected: 'Affected components',
    change: '{name}: {from} → {to}',
    viewIncident: 'View incident',
    viewMaintenance: 'View maintenance',
    viewPage: 'View status page',
    // The same words as the public page (src/http/public/i18n.ts); a test keeps them in step.
    statuses: {
      investigating: 'Investigating',
      identified: 'Identified',
      monitoring: 'Monitoring',
      resolved: 'Resolved',
      false_alarm: 'False alarm',
      scheduled: 'Scheduled',
      in_progress: 'In progress',
      verifying: 'Verifying',
      completed: 'Completed',
    },
    components: {
      operational: 'Operational',
      degraded_performance: 'Degraded Performance',
      partial_outage: 'Partial Outage',
      major_outage: 'Major Outage',
      under_maintenance: 'Under Maintenance',
    },
  },
  fr: {
    title: {
      'incident.created': 'Nouvel incident\u00a0: {name}',
      'incident.updated': 'Mise à jour de l’incident\u00a0: {name}',
      'incident.resolved': 'Résolu\u00a0: {name}',
      'maintenance.scheduled': 'Maintenance planifiée\u00a0: {name}',
      'maintenance.reminder': 'Rappel de maintenance\u00a0: {name}',
      'maintenance.started': 'Maintenance commencée\u00a0: {name}',
      'maintenance.updated': 'Mise à jour de la maintenance\u00a0: {name}',
      'maintenance.completed': 'Maintenance terminée\u00a0: {name}',
      'component.updated': '{name}\u00a0: {status}',
    },
    status: 'Statut',
    window: 'Prévue',
    affected: 'Composants concernés',
    change: '{name}\u00a0: {from} → {to}',
    viewIncident: 'Voir l’incident',
    viewMaintenance: 'Voir la maintenance',
    viewPage: 'Voir la page d’état',
    statuses: {
      investigating: 'Analyse en cours',
      identified: 'Identifié',
      monitoring: 'Sous surveillance',
      resolved: 'Résolu',
      false_alarm: 'Fausse alerte',
      scheduled: 'Planifiée',
      in_progress: 'En cours',
      verifying: 'Vérification',
      completed: 'Terminée',
    },
    components: {
      operational: 'Opérationnel',
      degraded_performance: 'Performances dégradées',
      partial_outage: 'Panne partielle',
      major_outage: 'Panne majeure',
      under_maintenance: 'En maintenance',
    },
  },
}

export function incidentStatusText(
  locale: Locale,
  status: IncidentStatus | MaintenanceStatus,
): string {
  return STRINGS[locale].statuses[status]
}

export function componentStatusText(locale: Locale, status: ComponentStatus): string {
  return STRINGS[locale].components[status]
}

function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => values[key] ?? whole)
}

const COLORS = {
  green: '#2fcc66',
  yellow: '#f1c40f',
  orange: '#e67e22',
  red: '#e74c3c',
  blue: '#3498db',
  grey: '#95a5a6',
} as const

const COMPONENT_COLORS: Record<ComponentStatus, string> = {
  operational: COLORS.green,
  degraded_performance: COLORS.yellow,
  partial_outage: COLORS.orange,
  major_outage: COLORS.red,
  under_maintenance: COLORS.blue,
}

const IMPACT_COLORS: Record<Incident['impact'], string> = {
  none: COLORS.grey,
  minor: COLORS.yellow,
  major: COLORS.orange,
  critical: COLORS.red,
  maintenance: COLORS.blue,
}

const CLOSED_STATUSES = new Set<Incident['status']>(['resolved', 'false_alarm', 'completed'])

export interface NotificationSummary {
  title: string
  /** The incident's or maintenance's current status, in words; null for a component change. */
  status: string | null
  /** The maintenance window in the page's zone and language, without a label; null otherwise. */
  window: string | null
  /** The latest update's text (markdown as written), empty when there is none. */
  body: string
  /** One line per affected component: "API: Major Outage". */
  components: string[]
  /** Where the link goes: the incident page, or the status page for a component change. */
  url: string
  linkLabel: string
  pageName: string
  /** "#rrggbb", from the impact or the component's new status (green once resolved). */
  color: string
  timestamp: Date
  /** Everything above as plain text, one item a line. */
  text: string
}

function newestFirst(updates: readonly IncidentUpdate[]): IncidentUpdate[] {
  return [...updates].sort(
    (a, b) =>
      b.displayAt.getTime() - a.displayAt.getTime() ||
      b.createdAt.getTime() - a.createdAt.getTime(),
  )
}

/**
 * The components an incident touches, with their latest known status: from the newest update that
 * mentions each, in the order of the incident's componentIds.
 */
function incidentComponents(incident: Incident): AffectedComponent[] {
  const latest = new Map<string, AffectedComponent>()
  for (const update of newestFirst(incident.updates)) {
    for (const affected of update.affectedComponents ?? []) {
      if (!latest.has(affected.code)) latest.set(affected.code, affected)
    }
  }
  const ordered = incident.componentIds.flatMap((id) => latest.get(id) ?? [])
  const listed = new Set(incident.componentIds)
  return [...ordered, ...[...latest.values()].filter((a) => !listed.has(a.code))]
}

const windowFormats = new Map<string, Intl.DateTimeFormat>()

function windowFormat(locale: Locale, timeZone: string): Intl.DateTimeFormat {
  const key = `${locale}|${timeZone}`
  let format = windowFormats.get(key)
  if (format === undefined) {
    format = new Intl.DateTimeFormat(locale, {
      year: 'numeric',
      month: 'short',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'shortOffset',
      timeZone,
    })
    windowFormats.set(key, format)
  }
  return format
}

function maintenanceWindow(incident: Incident, locale: Locale, timeZone: string): string | null {
  if (incident.kind !== 'maintenance' || incident.scheduledFor === null) return null
  const format = windowFormat(locale, timeZone)
  return incident.scheduledUntil === null || incident.scheduledUntil <= incident.scheduledFor
    ? format.format(incident.scheduledFor)
    : format.formatRange(incident.scheduledFor, incident.scheduledUntil)
}

/** "Status: Identified" / "Statut : Identifié" (French puts a no-break space before the colon). */
function colon(locale: Locale): string {
  return locale === 'fr' ? '\u00a0:' : ':'
}

function labelled(locale: Locale, label: string, value: string): string {
  return `${label}${colon(locale)} ${value}`
}

function incidentTitleKey(
  message: NotificationMessage,
  incident: Incident,
): keyof Strings['title'] {
  if (message.type === 'incident.updated' && CLOSED_STATUSES.has(incident.status)) {
    return 'incident.resolved'
  }
  return message.type
}

function summaryText(parts: Omit<NotificationSummary, 'text'>, locale: Locale): string {
  const s = STRINGS[locale]
  const lines = [parts.title]
  if (parts.status !== null) lines.push(labelled(locale, s.status, parts.status))
  if (parts.window !== null) lines.push(labelled(locale, s.window, parts.window))
  if (parts.body !== '') lines.push(parts.body)
  if (parts.components.length > 0) {
    lines.push(labelled(locale, s.affected, parts.components.join(', ')))
  }
  lines.push(parts.url)
  return lines.join('\n')
}

function incidentSummary(
  message: NotificationMessage,
  incident: Incident,
  locale: Locale,
): Omit<NotificationSummary, 'text'> {
  const s = STRINGS[locale]
  const latest = newestFirst(incident.updates)[0]
  const isClosed = CLOSED_STATUSES.has(incident.status)
  return {
    title: fill(s.title[incidentTitleKey(message, incident)], { name: incident.name }),
    status: s.statuses[incident.status],
    window: maintenanceWindow(incident, locale, message.page.timeZone),
    body: latest?.body.trim() ?? '',
    components: incidentComponents(incident).map((c) => `${c.name} (${s.components[c.newStatus]})`),
    url: message.incidentUrl ?? incidentUrl(message.page.url, incident.id),
    linkLabel: incident.kind === 'maintenance' ? s.viewMaintenance : s.viewIncident,
    pageName: message.page.name,
    color: isClosed ? COLORS.green : IMPACT_COLORS[incident.impact],
    timestamp: latest?.displayAt ?? incident.updatedAt,
  }
}

function componentSummary(
  message: NotificationMessage,
  change: NonNullable<NotificationMessage['componentChange']>,
  locale: Locale,
): Omit<NotificationSummary, 'text'> {
  const s = STRINGS[locale]
  return {
    title: fill(s.title['component.updated'], {
      name: change.componentName,
      status: s.components[change.newStatus],
    }),
    status: null,
    window: null,
    body: '',
    components: [
      fill(s.change, {
        name: change.componentName,
        from: s.components[change.oldStatus],
        to: s.components[change.newStatus],
      }),
    ],
    url: message.page.url,
    linkLabel: s.viewPage,
    pageName: message.page.name,
    color: COMPONENT_COLORS[change.newStatus],
    timestamp: change.createdAt,
  }
}

/** Title, status, latest update and affected components, in the page's language by default. */
export function summarize(
  message: NotificationMessage,
  locale: Locale = message.page.locale,
): NotificationSummary {
  const parts =
    message.type === 'component.updated'
      ? componentSummary(message, requireComponentChange(message), locale)
      : incidentSummary(message, requireIncident(message), locale)
  return { ...parts, text: summaryText(parts, locale) }
}

function requireIncident(message: NotificationMessage): Incident {
  if (message.incident === undefined) {
    throw new TypeError(`Notification ${message.eventId} (${message.type}) has no incident`)
  }
  return message.incident
}

function requireComponentChange(
  message: NotificationMessage,
): NonNullable<NotificationMessage['componentChange']> {
  if (message.componentChange === undefined) {
    throw new TypeError(`Notification ${message.eventId} (${message.type}) has no component change`)
  }
  return message.componentChange
}

// ---------------------------------------------------------------------------------------------
// Webhook: Statuspage's webhook body, key for key and in the order Statuspage sends them

export const WEBHOOK_DOCUMENTATION_URL =
  'https://support.atlassian.com/statuspage/docs/enable-webhook-notifications/'

export interface WebhookMeta {
  unsubscribe: string
  documentation: string
  generated_at: string
}

export interface WebhookPage {
  id: string
  status_indicator: Indicator
  status_description: string
}

export interface WebhookAffectedComponent {
  code: string
  name: string
  old_status: ComponentStatus
  new_status: ComponentStatus
}

export interface WebhookIncidentUpdate {
  status: string
  body: string
  created_at: string
  wants_twitter_update: false
  twitter_updated_at: null
  updated_at: string
  display_at: string
  affected_components: WebhookAffectedComponent[] | null
  custom_tweet: null
  deliver_notifications: boolean
  id: string
  incident_id: string
}

/** What the message knows of each component: Statuspage's own object has more. */
export interface WebhookIncidentComponent {
  status: ComponentStatus
  name: string
  id: string
  page_id: string
}

export interface WebhookIncident {
  name: string
  status: string
  created_at: string
  updated_at: string
  monitoring_at: string | null
  resolved_at: string | null
  impact: string
  shortlink: string
  postmortem_ignored: false
  postmortem_body: string | null
  postmortem_body_last_updated_at: string | null
  postmortem_published_at: string | null
  postmortem_notified_subscribers: false
  postmortem_notified_twitter: false
  backfilled: false
  scheduled_for: string | null
  scheduled_until: string | null
  scheduled_remind_prior: boolean
  scheduled_reminded_at: string | null
  impact_override: null
  scheduled_auto_in_progress: boolean
  scheduled_auto_completed: boolean
  id: string
  page_id: string
  incident_updates: WebhookIncidentUpdate[]
  components: WebhookIncidentComponent[]
}

export interface WebhookComponentUpdate {
  created_at: string
  new_status: ComponentStatus
  old_status: ComponentStatus
  id: string
  component_id: string
}

export interface WebhookComponent {
  created_at: string
  id: string
  name: string
  status: ComponentStatus
}

export type WebhookPayload =
  | { meta: WebhookMeta; page: WebhookPage; incident: WebhookIncident }
  | {
      meta: WebhookMeta
      page: WebhookPage
      component_update: WebhookComponentUpdate
      component: WebhookComponent
    }

/** Statuspage's closed list of statuses has no false alarm: it is told as resolved. */
function statuspageStatus(status: Incident['status']): string {
  return status === 'false_alarm' ? 'resolved' : status
}

function incidentUrl(pageUrl: string, incidentId: string): string {
  return `${pageUrl.replace(/\/+$/, '')}/incidents/${incidentId}`
}

function webhookUpdate(update: IncidentUpdate, time: (d: Date) => string): WebhookIncidentUpdate {
  return {
    status: statuspageStatus(update.status),
    body: update.body,
    created_at: time(update.createdAt),
    wants_twitter_update: false,
    twitter_updated_at: null,
    updated_at: time(update.updatedAt),
    display_at: time(update.displayAt),
    affected_components:
      update.affectedComponents?.map((a) => ({
        code: a.code,
        name: a.name,
        old_status: a.oldStatus,
        new_status: a.newStatus,
      })) ?? null,
    custom_tweet: null,
    deliver_notifications: update.deliverNotifications,
    id: update.id,
    incident_id: update.incidentId,
  }
}

function webhookIncident(message: NotificationMessage, incident: Incident): WebhookIncident {
  const time = (date: Date): string => formatInZone(date, message.page.timeZone)
  const timeOrNull = (date: Date | null): string | null => (date === null ? null : time(date))
  const postmortemAt = incident.postmortemBody === null ? null : incident.postmortemPublishedAt
  return {
    name: incident.name,
    status: statuspageStatus(incident.status),
    created_at: time(incident.createdAt),
    updated_at: time(incident.updatedAt),
    monitoring_at: timeOrNull(incident.monitoringAt),
    resolved_at: timeOrNull(incident.resolvedAt),
    impact: incident.impact,
    shortlink: message.incidentUrl ?? incidentUrl(message.page.url, incident.id),
    postmortem_ignored: false,
    // An unpublished postmortem is a draft: it never leaves the dashboard.
    postmortem_body: postmortemAt === null ? null : incident.postmortemBody,
    postmortem_body_last_updated_at: timeOrNull(postmortemAt),
    postmortem_published_at: timeOrNull(postmortemAt),
    postmortem_notified_subscribers: false,
    postmortem_notified_twitter: false,
    backfilled: false,
    scheduled_for: timeOrNull(incident.scheduledFor),
    scheduled_until: timeOrNull(incident.scheduledUntil),
    scheduled_remind_prior: message.type === 'maintenance.reminder',
    scheduled_reminded_at: message.type === 'maintenance.reminder' ? time(message.createdAt) : null,
    impact_override: null,
    scheduled_auto_in_progress: incident.kind === 'maintenance' && incident.autoStart,
    scheduled_auto_completed: incident.kind === 'maintenance' && incident.autoComplete,
    id: incident.id,
    page_id: incident.pageId,
    incident_updates: newestFirst(incident.updates).map((u) => webhookUpdate(u, time)),
    components: incidentComponents(incident).map((c) => ({
      status: c.newStatus,
      name: c.name,
      id: c.code,
      page_id: incident.pageId,
    })),
  }
}

/**
 * The body of a webhook delivery, in the shape Statuspage sends, so that receivers written for
 * Statuspage work unchanged. Maintenances go out as an `incident` with its scheduled_* fields,
 * as Statuspage does. Times are ISO 8601 in the page's zone, like the page's JSON API.
 */
export function webhookPayload(
  message: NotificationMessage,
  options: { documentationUrl?: string } = {},
): WebhookPayload {
  const meta: WebhookMeta = {
    unsubscribe: message.links.unsubscribe,
    documentation: options.documentationUrl ?? WEBHOOK_DOCUMENTATION_URL,
    generated_at: formatInZone(message.createdAt, message.page.timeZone),
  }
  const page: WebhookPage = {
    id: message.page.id,
    status_indicator: message.page.statusIndicator,
    status_description: message.page.statusDescription,
  }
  if (message.type !== 'component.updated') {
    return { meta, page, incident: webhookIncident(message, requireIncident(message)) }
  }
  const change = requireComponentChange(message)
  const createdAt = formatInZone(change.createdAt, message.page.timeZone)
  return {
    meta,
    page,
    component_update: {
      created_at: createdAt,
      new_status: change.newStatus,
      old_status: change.oldStatus,
      id: change.id,
      component_id: change.componentId,
    },
    // The message does not carry the component's creation time; Statuspage's own example gives
    // the change's time there too, and receivers read id, name and status.
    component: {
      created_at: createdAt,
      id: change.componentId,
      name: change.componentName,
      status: change.newStatus,
    },
  }
}

// ---------------------------------------------------------------------------------------------
// Slack incoming webhook (Block Kit)

const SLACK = { text: 3000, section: 3000, context: 2000 } as const

export interface SlackTextObject {
  type: 'mrkdwn'
  text: string
}

export type SlackBlock =
  { type: 'section'; text: SlackTextObject } | { type: 'context'; elements: SlackTextObject[] }

export interface SlackPayload {
  text: string
  blocks: SlackBlock[]
  unfurl_links: false
  unfurl_media: false
}

export function slackPayload(
  message: NotificationMessage,
  locale: Locale = message.page.locale,
): SlackPayload {
  const summary = summarize(message, locale)
  const s = STRINGS[locale]
  const heading = [
    `*<${slackUrl(summary.url)}|${truncateEscaped(summary.title, 500, escapeSlack)}>*`,
  ]
  const field = (label: string, value: string): string =>
    `*${label}${colon(locale)}* ${escapeSlack(value)}`
  if (summary.status !== null) heading.push(field(s.status, summary.status))
  if (summary.window !== null) heading.push(field(s.window, summary.window))
  const blocks: SlackBlock[] = [
    { type: 'section', text: { type: 'mrkdwn', text: heading.join('\n') } },
  ]
  if (summary.body !== '') {
    const text = truncateEscaped(summary.body, SLACK.section, escapeSlack)
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text } })
  }
  if (summary.components.length > 0) {
    const list = truncateEscaped(summary.components.join(', '), SLACK.context - 40, escapeSlack)
    blocks.push({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `*${s.affected}${colon(locale)}* ${list}` }],
    })
  }
  blocks.push({
    type: 'context',
    elements: [
      {
        type: 'mrkdwn',
        text: `<${slackUrl(message.page.url)}|${truncateEscaped(summary.pageName, 200, escapeSlack)}>`,
      },
    ],
  })
  const fallback = summary.status === null ? summary.title : `${summary.title} (${summary.status})`
  return {
    text: truncateEscaped(fallback, SLACK.text, escapeSlack),
    blocks,
    unfurl_links: false,
    unfurl_media: false,
  }
}

// ---------------------------------------------------------------------------------------------
// Microsoft Teams (Workflows / incoming webhook): one Adaptive Card. Teams renders no HTML in a
// TextBlock and makes a mention only from msteams.entities, which is never sent: text goes as is.

const TEAMS = { title: 500, body: 4000, fact: 500 } as const

export type AdaptiveElement =
  | {
      type: 'TextBlock'
      text: string
      wrap: true
      weight?: 'Bolder'
      size?: 'Medium'
      isSubtle?: true
      spacing?: 'None'
    }
  | { type: 'FactSet'; facts: { title: string; value: string }[] }

export interface TeamsPayload {
  type: 'message'
  attachments: [
    {
      contentType: 'application/vnd.microsoft.card.adaptive'
      contentUrl: null
      content: {
        $schema: 'http://adaptivecards.io/schemas/adaptive-card.json'
        type: 'AdaptiveCard'
        version: '1.4'
        body: AdaptiveElement[]
        actions: { type: 'Action.OpenUrl'; title: string; url: string }[]
        msteams: { width: 'Full' }
      }
    },
  ]
}

export function teamsPayload(
  message: NotificationMessage,
  locale: Locale = message.page.locale,
): TeamsPayload {
  const summary = summarize(message, locale)
  const s = STRINGS[locale]
  const body: AdaptiveElement[] = [
    {
      type: 'TextBlock',
      text: truncate(summary.title, TEAMS.title),
      wrap: true,
      weight: 'Bolder',
      size: 'Medium',
    },
    {
      type: 'TextBlock',
      text: truncate(summary.pageName, TEAMS.title),
      wrap: true,
      isSubtle: true,
      spacing: 'None',
    },
  ]
  const facts: { title: string; value: string }[] = []
  if (summary.status !== null) facts.push({ title: s.status, value: summary.status })
  if (summary.window !== null) facts.push({ title: s.window, value: summary.window })
  if (summary.components.length > 0) {
    facts.push({
      title: s.affected,
      value: truncate(summary.components.join(', '), TEAMS.fact),
    })
  }
  if (facts.length > 0) body.push({ type: 'FactSet', facts })
  if (summary.body !== '') {
    body.push({
      type: 'TextBlock',
      text: truncate(summary.body, TEAMS.body),
      wrap: true,
    })
  }
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body,
          actions: [{ type: 'Action.OpenUrl', title: summary.linkLabel, url: summary.url }],
          msteams: { width: 'Full' },
        },
      },
    ],
  }
}

// ---------------------------------------------------------------------------------------------
// Google Chat incoming webhook: a text message (4,096 characters at most)

const GOOGLE_CHAT_TEXT = 4096

export interface GoogleChatPayload {
  text: string
}

export function googleChatPayload(
  message: NotificationMessage,
  locale: Locale = message.page.locale,
): GoogleChatPayload {
  const summary = summarize(message, locale)
  const s = STRINGS[locale]
  const head = [`*${escapeGoogleChat(truncate(summary.title, 500))}*`]
  if (summary.status !== null) head.push(labelled(locale, s.status, summary.status))
  if (summary.window !== null) head.push(labelled(locale, s.window, summary.window))
  const tail: string[] = []
  if (summary.components.length > 0) {
    const list = escapeGoogleChat(truncate(summary.components.join(', '), 1000))
    tail.push(labelled(locale, s.affected, list))
  }
  const pageName = escapeGoogleChat(truncate(summary.pageName, 200))
  tail.push(`<${linkUrl(summary.url)}|${summary.linkLabel}> · ${pageName}`)
  const fixed = [...head, ...tail].join('\n').length + 2
  const body =
    summary.body === ''
      ? []
      : [truncateEscaped(summary.body, GOOGLE_CHAT_TEXT - fixed, escapeGoogleChat)]
  return { text: [...head, ...body, ...tail].join('\n') }
}

// ---------------------------------------------------------------------------------------------
// Discord webhook: one embed, mentions disabled

const DISCORD = {
  title: 256,
  description: 4096,
  fieldName: 256,
  fieldValue: 1024,
  footer: 2048,
  embedTotal: 6000,
} as const

export interface DiscordEmbed {
  title: string
  url: string
  description: string
  color: number
  fields: { name: string; value: string; inline: boolean }[]
  footer: { text: string }
  timestamp: string
}

export interface DiscordPayload {
  embeds: [DiscordEmbed]
  allowed_mentions: { parse: [] }
}

function colorNumber(hex: string): number {
  const value = Number.parseInt(hex.replace(/^#/, ''), 16)
  return Number.isInteger(value) && value >= 0 && value <= 0xffffff ? value : 0
}

export function discordPayload(
  message: NotificationMessage,
  locale: Locale = message.page.locale,
): DiscordPayload {
  const summary = summarize(message, locale)
  const s = STRINGS[locale]
  const fields: DiscordEmbed['fields'] = []
  if (summary.status !== null) fields.push({ name: s.status, value: summary.status, inline: true })
  if (summary.window !== null) {
    fields.push({
      name: s.window,
      value: truncate(summary.window, DISCORD.fieldValue),
      inline: true,
    })
  }
  if (summary.components.length > 0) {
    fields.push({
      name: s.affected,
      value: truncate(summary.components.join('\n'), DISCORD.fieldValue),
      inline: false,
    })
  }
  const title = truncate(summary.title, DISCORD.title)
  const footer = truncate(summary.pageName, 200)
  const used =
    title.length +
    footer.length +
    fields.reduce((sum, field) => sum + field.name.length + field.value.length, 0)
  const description = truncate(
    summary.body,
    Math.min(DISCORD.description, DISCORD.embedTotal - used),
  )
  return {
    embeds: [
      {
        title,
        url: summary.url,
        description,
        color: colorNumber(summary.color),
        fields,
        footer: { text: footer },
        timestamp: summary.timestamp.toISOString(),
      },
    ],
    allowed_mentions: { parse: [] },
  }
}

// ---------------------------------------------------------------------------------------------
// Dispatch and URL checks

export function chatPayload(
  channel: ChatChannel,
  message: NotificationMessage,
  locale: Locale = message.page.locale,
): SlackPayload | TeamsPayload | GoogleChatPayload | DiscordPayload {
  switch (channel) {
    case 'slack':
      return slackPayload(message, locale)
    case 'teams':
      return teamsPayload(message, locale)
    case 'google_chat':
      return googleChatPayload(message, locale)
    case 'discord':
      return discordPayload(message, locale)
  }
}

export function isChatChannel(value: string): value is ChatChannel {
  return (CHAT_CHANNELS as readonly string[]).includes(value)
}

const CHAT_HOSTS: Record<ChatChannel, { name: string; matches: (url: URL) => boolean }> = {
  slack: {
    name: 'a Slack incoming webhook (https://hooks.slack.com/…)',
    matches: (url) =>
      url.hostname === 'hooks.slack.com' && /^\/(services|workflows|triggers)\//.test(url.pathname),
  },
  teams: {
    name: 'a Microsoft Teams workflow or incoming webhook URL',
    matches: (url) =>
      url.hostname.endsWith('.webhook.office.com') ||
      url.hostname.endsWith('.logic.azure.com') ||
      // Power Automate's newer workflow URLs.
      url.hostname.endsWith('.environment.api.powerplatform.com'),
  },
  google_chat: {
    name: 'a Google Chat webhook (https://chat.googleapis.com/v1/spaces/…)',
    matches: (url) =>
      url.hostname === 'chat.googleapis.com' && url.pathname.startsWith('/v1/spaces/'),
  },
  discord: {
    name: 'a Discord webhook (https://discord.com/api/webhooks/…)',
    matches: (url) =>
      /^(?:(?:ptb|canary)\.)?discord(?:app)?\.com$/.test(url.hostname) &&
      /^\/api\/(?:v\d+\/)?webhooks\//.test(url.pathname),
  },
}

/**
 * Checks that a chat webhook URL belongs to its platform, so that a "Slack" subscription cannot
 * be pointed anywhere. allowAnyHost (tests, self-hosted chat servers) accepts any https URL.
 * Returns a message to show, or undefined. The SSRF checks of the sender still apply.
 */
export function validateChatUrl(
  channel: ChatChannel,
  url: string,
  options: { allowAnyHost?: boolean } = {},
): string | undefined {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return 'The URL is not valid'
  }
  if (parsed.protocol !== 'https:') return 'The URL must start with https://'
  if (parsed.username !== '' || parsed.password !== '') {
    return 'URLs with a user name or password are not allowed'
  }
  if (options.allowAnyHost === true) return undefined
  const platform = CHAT_HOSTS[channel]
  if (parsed.port !== '' || !platform.matches(parsed)) return `The URL must be ${platform.name}`
  return undefined
}
