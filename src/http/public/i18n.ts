import type {
  ComponentStatus,
  Impact,
  Indicator,
  IncidentStatus,
  Locale,
  MaintenanceStatus,
} from '../../domain/pages/types.js'
import { zonedDate } from '../../domain/pages/time-zone.js'

/**
 * Strings of the public surfaces (status page, incident pages, history, password page). English
 * follows Atlassian Statuspage's wording, so visitors and screen-scrapers find what they expect.
 * Placeholders are written {name} and filled by t(); values are plain text, escaped by the views.
 */
const en = {
  'skip.link': 'Skip to content',
  'header.nav': 'Links',
  'header.homepage': 'Visit our website',
  'header.support': 'Get support',
  'status.heading': 'Current status of {name}',
  'status.overall': 'Overall status',

  'indicator.none': 'All Systems Operational',
  'indicator.minor': 'Partially Degraded Service',
  'indicator.major': 'Partial System Outage',
  'indicator.critical': 'Major System Outage',
  'indicator.maintenance': 'Service Under Maintenance',

  'component.operational': 'Operational',
  'component.degraded_performance': 'Degraded Performance',
  'component.partial_outage': 'Partial Outage',
  'component.major_outage': 'Major Outage',
  'component.under_maintenance': 'Under Maintenance',

  'incident.investigating': 'Investigating',
  'incident.identified': 'Identified',
  'incident.monitoring': 'Monitoring',
  'incident.resolved': 'Resolved',
  'incident.false_alarm': 'False alarm',

  'maintenance.scheduled': 'Scheduled',
  'maintenance.in_progress': 'In progress',
  'maintenance.verifying': 'Verifying',
  'maintenance.completed': 'Completed',

  'impact.none': 'No impact',
  'impact.minor': 'Minor impact',
  'impact.major': 'Major impact',
  'impact.critical': 'Critical impact',
  'impact.maintenance': 'Maintenance',

  'section.activeIncidents': 'Active incidents',
  'section.activeMaintenance': 'Maintenance in progress',
  'section.upcomingMaintenance': 'Scheduled maintenance',
  'section.components': 'Components',
  'section.pastIncidents': 'Past incidents',

  'incident.affects': 'This incident affects: {list}.',
  'incident.affected': 'This incident affected: {list}.',
  'maintenance.affects': 'This maintenance affects: {list}.',
  'maintenance.affected': 'This maintenance affected: {list}.',
  'incident.timeline': 'Updates',
  'incident.back': 'Back to current status',
  'incident.postmortem': 'Postmortem',
  'incident.postmortemPublished': 'Published {date}',
  'incident.started': 'Started {date}',
  'incident.resolvedAt': 'Resolved {date}',
  'update.components': 'Components: {list}',
  'update.componentChange': '{name}: {status}',
  'maintenance.window': 'Scheduled for {range}',

  'components.intro': 'Uptime over the past {days} days.',
  'components.empty': 'No components to show.',
  'uptime.percent': '{percent} uptime',
  'uptime.noData': 'No uptime data yet',
  'uptime.listLabel': 'Daily status of {name}',
  'uptime.daysAgo': '{days} days ago',
  'uptime.today': 'Today',
  'bar.day': '{date}: {details}',
  'bar.noData': 'no data',
  'bar.noDowntime': 'no downtime recorded',
  'bar.outage': '{status} {duration}',
  'bar.incidents': 'incidents: {list}',

  'past.noIncidents': 'No incidents reported.',
  'past.noIncidentsToday': 'No incidents reported today.',
  'past.historyLink': 'Incident history',

  'history.title': 'Incident history',
  'history.intro': 'Past incidents and maintenance, newest first.',
  'history.empty': 'No incidents reported this month.',
  'history.nav': 'Months',
  'history.older': 'Older',
  'history.newer': 'Newer',
  'history.range': '{from} to {to}',

  'footer.nav': 'Status page links',
  'footer.history': 'Incident history',
  'footer.atom': 'Atom feed',
  'footer.rss': 'RSS feed',
  'footer.calendar': 'Maintenance calendar (iCal)',
  'footer.api': 'Status API (JSON)',
  'footer.poweredBy': 'Powered by {product}',
  'footer.timeZone': 'Times are shown in {zone}.',

  'duration.hoursMinutes': '{h}h {m}m',
  'duration.hours': '{h}h',
  'duration.minutes': '{m}m',
  'duration.seconds': '{s}s',

  'password.title': 'This status page is private',
  'password.intro': 'Enter the password to view {name}.',
  'password.introUnnamed': 'Enter the password to view this status page.',
  'password.label': 'Password',
  'password.submit': 'View the status page',
  'password.wrong': 'That password is not right. Try again.',

  'subscribe.link': 'Subscribe to updates',
} as const

export type MessageKey = keyof typeof en
export type Dictionary = Record<MessageKey, string>

const fr: Dictionary = {
  'skip.link': 'Aller au contenu',
  'header.nav': 'Liens',
  'header.homepage': 'Visiter notre site',
  'header.support': 'Obtenir de l’aide',
  'status.heading': 'État actuel de {name}',
  'status.overall': 'État général',

  'indicator.none': 'Tous les systèmes sont opérationnels',
  'indicator.minor': 'Service partiellement dégradé',
  'indicator.major': 'Panne partielle du système',
  'indicator.critical': 'Panne majeure du système',
  'indicator.maintenance': 'Service en maintenance',

  'component.operational': 'Opérationnel',
  'component.degraded_performance': 'Performances dégradées',
  'component.partial_outage': 'Panne partielle',
  'component.major_outage': 'Panne majeure',
  'component.under_maintenance': 'En maintenance',

  'incident.investigating': 'Analyse en cours',
  'incident.identified': 'Identifié',
  'incident.monitoring': 'Sous surveillance',
  'incident.resolved': 'Résolu',
  'incident.false_alarm': 'Fausse alerte',

  'maintenance.scheduled': 'Planifiée',
  'maintenance.in_progress': 'En cours',
  'maintenance.verifying': 'Vérification',
  'maintenance.completed': 'Terminée',

  'impact.none': 'Sans impact',
  'impact.minor': 'Impact mineur',
  'impact.major': 'Impact majeur',
  'impact.critical': 'Impact critique',
  'impact.maintenance': 'Maintenance',

  'section.activeIncidents': 'Incidents en cours',
  'section.activeMaintenance': 'Maintenance en cours',
  'section.upcomingMaintenance': 'Maintenances planifiées',
  'section.components': 'Composants',
  'section.pastIncidents': 'Incidents passés',

  'incident.affects': 'Cet incident concerne\u00a0: {list}.',
  'incident.affected': 'Cet incident concernait\u00a0: {list}.',
  'maintenance.affects': 'Cette maintenance concerne\u00a0: {list}.',
  'maintenance.affected': 'Cette maintenance concernait\u00a0: {list}.',
  'incident.timeline': 'Mises à jour',
  'incident.back': 'Retour à l’état actuel',
  'incident.postmortem': 'Analyse post-incident',
  'incident.postmortemPublished': 'Publiée le {date}',
  'incident.started': 'Début\u00a0: {date}',
  'incident.resolvedAt': 'Résolu\u00a0: {date}',
  'update.components': 'Composants\u00a0: {list}',
  'update.componentChange': '{name}\u00a0: {status}',
  'maintenance.window': 'Prévue\u00a0: {range}',

  'components.intro': 'Disponibilité sur les {days} derniers jours.',
  'components.empty': 'Aucun composant à afficher.',
  'uptime.percent': '{percent} de disponibilité',
  'uptime.noData': 'Pas encore de données de disponibilité',
  'uptime.listLabel': 'État quotidien de {name}',
  'uptime.daysAgo': 'il y a {days} jours',
  'uptime.today': 'Aujourd’hui',
  'bar.day': '{date}\u00a0: {details}',
  'bar.noData': 'pas de données',
  'bar.noDowntime': 'aucune interruption enregistrée',
  'bar.outage': '{status} {duration}',
  'bar.incidents': 'incidents\u00a0: {list}',

  'past.noIncidents': 'Aucun incident signalé.',
  'past.noIncidentsToday': 'Aucun incident signalé aujourd’hui.',
  'past.historyLink': 'Historique des incidents',

  'history.title': 'Historique des incidents',
  'history.intro': 'Incidents et maintenances passés, du plus récent au plus ancien.',
  'history.empty': 'Aucun incident signalé ce mois-ci.',
  'history.nav': 'Mois',
  'history.older': 'Plus anciens',
  'history.newer': 'Plus récents',
  'history.range': '{from} à {to}',

  'footer.nav': 'Liens de la page d’état',
  'footer.history': 'Historique des incidents',
  'footer.atom': 'Flux Atom',
  'footer.rss': 'Flux RSS',
  'footer.calendar': 'Calendrier des maintenances (iCal)',
  'footer.api': 'API d’état (JSON)',
  'footer.poweredBy': 'Propulsé par {product}',
  'footer.timeZone': 'Les heures sont indiquées dans le fuseau {zone}.',

  'duration.hoursMinutes': '{h} h {m} min',
  'duration.hours': '{h} h',
  'duration.minutes': '{m} min',
  'duration.seconds': '{s} s',

  'password.title': 'Cette page d’état est privée',
  'password.intro': 'Saisissez le mot de passe pour consulter {name}.',
  'password.introUnnamed': 'Saisissez le mot de passe pour consulter cette page d’état.',
  'password.label': 'Mot de passe',
  'password.submit': 'Voir la page d’état',
  'password.wrong': 'Ce mot de passe n’est pas le bon. Réessayez.',

  'subscribe.link': 'S’abonner aux mises à jour',
}

export const dictionaries: Record<Locale, Dictionary> = { en, fr }

/** A localised string; {placeholders} are replaced by params (missing ones are left visible). */
export function t(
  locale: Locale,
  key: MessageKey,
  params: Record<string, string | number> = {},
): string {
  const template = dictionaries[locale][key]
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = params[name]
    return value === undefined ? whole : String(value)
  })
}

export function componentStatusLabel(locale: Locale, status: ComponentStatus): string {
  return t(locale, `component.${status}`)
}

export function incidentStatusLabel(
  locale: Locale,
  status: IncidentStatus | MaintenanceStatus,
): string {
  switch (status) {
    case 'scheduled':
    case 'in_progress':
    case 'verifying':
    case 'completed':
      return t(locale, `maintenance.${status}`)
    default:
      return t(locale, `incident.${status}`)
  }
}

export function impactLabel(locale: Locale, impact: Impact | 'maintenance'): string {
  return t(locale, `impact.${impact}`)
}

export function indicatorDescription(locale: Locale, indicator: Indicator): string {
  return t(locale, `indicator.${indicator}`)
}

// Intl formatters are costly to build: one per (locale, zone, style), kept for the process.
const dateTimeFormats = new Map<string, Intl.DateTimeFormat>()

function dateTimeFormat(
  locale: Locale,
  timeZone: string,
  style: 'dateTime' | 'date' | 'time' | 'month' | 'zone',
): Intl.DateTimeFormat {
  const cacheKey = `${locale}|${timeZone}|${style}`
  let format = dateTimeFormats.get(cacheKey)
  if (format === undefined) {
    const date = { year: 'numeric', month: 'short', day: 'numeric' } as const
    const time = { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' } as const
    const options: Intl.DateTimeFormatOptions =
      style === 'dateTime'
        ? { ...date, ...time, timeZoneName: 'shortOffset' }
        : style === 'date'
          ? date
          : style === 'time'
            ? { ...time, timeZoneName: 'shortOffset' }
            : style === 'month'
              ? { year: 'numeric', month: 'long' }
              : { timeZoneName: 'shortOffset' }
    format = new Intl.DateTimeFormat(locale, { ...options, timeZone })
    dateTimeFormats.set(cacheKey, format)
  }
  return format
}

/** "Mar 29, 2026, 01:30 GMT+1" / "29 mars 2026, 01:30 UTC+1": the page's zone, with its offset. */
export function formatDateTime(date: Date, locale: Locale, timeZone: string): string {
  return dateTimeFormat(locale, timeZone, 'dateTime').format(date)
}

/** "01:30 GMT+1" in the page's zone. */
export function formatTime(date: Date, locale: Locale, timeZone: string): string {
  return dateTimeFormat(locale, timeZone, 'time').format(date)
}

/** A calendar day given as YYYY-MM-DD (already in the page's zone): "Mar 29, 2026". */
export function formatDay(day: string, locale: Locale): string {
  // A status page formats the same 90 days for every component: remember them.
  const key = `${locale}|${day}`
  let text = formattedDays.get(key)
  if (text === undefined) {
    if (formattedDays.size >= 4096) formattedDays.clear()
    text = dateTimeFormat(locale, 'UTC', 'date').format(dayAsUtcNoon(day))
    formattedDays.set(key, text)
  }
  return text
}

const formattedDays = new Map<string, string>()

/** A month given as YYYY-MM: "March 2026" / "mars 2026". */
export function formatMonth(month: string, locale: Locale): string {
  return dateTimeFormat(locale, 'UTC', 'month').format(dayAsUtcNoon(`${month}-01`))
}

/** The zone's offset label at an instant, like "GMT+1" or "UTC+2". */
export function zoneLabel(date: Date, locale: Locale, timeZone: string): string {
  const part = dateTimeFormat(locale, timeZone, 'zone')
    .formatToParts(date)
    .find((p) => p.type === 'timeZoneName')
  return part?.value ?? timeZone
}

/**
 * A window like "Mar 29, 2026, 22:00 GMT+1 – 23:30 GMT+1" (same day) or with both dates. Both
 * ends carry their offset: a window can cross a daylight-saving change.
 */
export function formatWindow(from: Date, to: Date, locale: Locale, timeZone: string): string {
  const sameDay = zonedDate(from, timeZone) === zonedDate(to, timeZone)
  const end = sameDay ? formatTime(to, locale, timeZone) : formatDateTime(to, locale, timeZone)
  return `${formatDateTime(from, locale, timeZone)} – ${end}`
}

const relativeFormats = new Map<Locale, Intl.RelativeTimeFormat>()

/** "5 minutes ago", "in 2 hours", "il y a 3 jours". */
export function formatRelative(date: Date, now: Date, locale: Locale): string {
  let format = relativeFormats.get(locale)
  if (format === undefined) {
    format = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' })
    relativeFormats.set(locale, format)
  }
  const seconds = Math.round((date.getTime() - now.getTime()) / 1000)
  const abs = Math.abs(seconds)
  if (abs < 60) return format.format(0, 'second')
  if (abs < 3600) return format.format(Math.trunc(seconds / 60), 'minute')
  if (abs < 86_400) return format.format(Math.trunc(seconds / 3600), 'hour')
  if (abs < 30 * 86_400) return format.format(Math.trunc(seconds / 86_400), 'day')
  if (abs < 365 * 86_400) return format.format(Math.trunc(seconds / (30 * 86_400)), 'month')
  return format.format(Math.trunc(seconds / (365 * 86_400)), 'year')
}

/** "2h 5m", "45m", "30s" / "2 h 5 min". */
export function formatDuration(totalSeconds: number, locale: Locale): string {
  const seconds = Math.max(0, Math.round(totalSeconds))
  if (seconds < 60) return t(locale, 'duration.seconds', { s: seconds })
  const minutesTotal = Math.round(seconds / 60)
  const h = Math.floor(minutesTotal / 60)
  const m = minutesTotal % 60
  if (h === 0) return t(locale, 'duration.minutes', { m })
  if (m === 0) return t(locale, 'duration.hours', { h })
  return t(locale, 'duration.hoursMinutes', { h, m })
}

const percentFormats = new Map<Locale, Intl.NumberFormat>()

/** An uptime percentage (0–100): "99.95%" / "99,95 %". */
export function formatPercent(percent: number, locale: Locale): string {
  let format = percentFormats.get(locale)
  if (format === undefined) {
    format = new Intl.NumberFormat(locale, {
      style: 'percent',
      minimumFractionDigits: 2,
      maximumFractionDigits: 2,
    })
    percentFormats.set(locale, format)
  }
  return format.format(percent / 100)
}

const listFormats = new Map<Locale, Intl.ListFormat>()

/** "API, Website and EU" / "API, Website et EU". */
export function formatList(items: readonly string[], locale: Locale): string {
  let format = listFormats.get(locale)
  if (format === undefined) {
    format = new Intl.ListFormat(locale, { type: 'conjunction', style: 'long' })
    listFormats.set(locale, format)
  }
  return format.format(items)
}

function dayAsUtcNoon(day: string): Date {
  const [year = 1970, month = 1, date = 1] = day.split('-').map(Number)
  return new Date(Date.UTC(year, month - 1, date, 12))
}
