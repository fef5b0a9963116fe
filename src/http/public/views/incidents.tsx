import { isIncidentOpen } from '../../../domain/pages/status.js'
import type { Incident, IncidentUpdate, PageSnapshot } from '../../../domain/pages/types.js'
import { renderMarkdown } from '../markdown.js'
import {
  componentStatusLabel,
  formatDateTime,
  formatList,
  formatWindow,
  impactLabel,
  incidentStatusLabel,
  t,
} from '../i18n.js'
import { incidentHref, type PublicRenderContext } from './context.js'
import { IMPACT_ICON, StatusIcon } from './icons.js'

type Heading = 'h2' | 'h3' | 'h4'

/**
 * Markdown rendered safely (renderMarkdown) with its headings moved below the page's own: a "# "
 * in a message must not become a second h1. markdown-it escapes raw HTML, so every "<hN>" in its
 * output is one of its own tags, without attributes.
 */
export function markdownHtml(text: string, lowestPageHeading: number): string {
  return renderMarkdown(text).replace(/<(\/?)h([1-6])>/g, (_tag, slash: string, level: string) => {
    const shifted = Math.min(6, Number(level) + lowestPageHeading)
    return `<${slash}h${String(shifted)}>`
  })
}

/** Component names as visitors read them: "Group - Component" for grouped components. */
export function componentNames(snapshot: PageSnapshot, ids: readonly string[]): string[] {
  const byId = new Map(snapshot.components.map((c) => [c.id, c]))
  const names: string[] = []
  for (const component of snapshot.components) {
    if (!ids.includes(component.id) || component.isGroup) continue
    const group = component.groupId === null ? undefined : byId.get(component.groupId)
    names.push(group === undefined ? component.name : `${group.name} - ${component.name}`)
  }
  return names
}

/** The instant an event belongs to: a maintenance to its window, an incident to its start. */
export function eventStart(incident: Incident): Date {
  return incident.kind === 'maintenance'
    ? (incident.scheduledFor ?? incident.startedAt)
    : incident.startedAt
}

export function isActiveMaintenance(m: Incident): boolean {
  return m.status === 'in_progress' || m.status === 'verifying'
}

export function findEvent(snapshot: PageSnapshot, id: string): Incident | undefined {
  return (
    snapshot.incidents.find((i) => i.id === id) ?? snapshot.maintenances.find((m) => m.id === id)
  )
}

export function ImpactTag({ incident, ctx }: { incident: Incident; ctx: PublicRenderContext }) {
  return (
    <span class={`tag tag-impact impact-${incident.impact}`}>
      <StatusIcon name={IMPACT_ICON[incident.impact]} />
      {impactLabel(ctx.locale, incident.impact)}
    </span>
  )
}

export function StatusTag({ incident, ctx }: { incident: Incident; ctx: PublicRenderContext }) {
  return (
    <span class={isIncidentOpen(incident) ? 'tag tag-status open' : 'tag tag-status closed'}>
      {incidentStatusLabel(ctx.locale, incident.status)}
    </span>
  )
}

export function AffectedComponents({
  incident,
  snapshot,
  ctx,
}: {
  incident: Incident
  snapshot: PageSnapshot
  ctx: PublicRenderContext
}) {
  const names = componentNames(snapshot, incident.componentIds)
  if (names.length === 0) return null
  const open = isIncidentOpen(incident)
  const key =
    incident.kind === 'maintenance'
      ? open
        ? 'maintenance.affects'
        : 'maintenance.affected'
      : open
        ? 'incident.affects'
        : 'incident.affected'
  return <p class="affected">{t(ctx.locale, key, { list: formatList(names, ctx.locale) })}</p>
}

export function MaintenanceWindow({
  incident,
  snapshot,
  ctx,
}: {
  incident: Incident
  snapshot: PageSnapshot
  ctx: PublicRenderContext
}) {
  if (incident.scheduledFor === null || incident.scheduledUntil === null) return null
  const zone = snapshot.page.timeZone
  const range = formatWindow(incident.scheduledFor, incident.scheduledUntil, ctx.locale, zone)
  return (
    <p class="window">
      <StatusIcon name="maintenance" />
      <span>{t(ctx.locale, 'maintenance.window', { range })}</span>
    </p>
  )
}

/** The updates of an incident, newest first, each with its status, message, time and changes. */
export function Timeline({
  incident,
  snapshot,
  ctx,
}: {
  incident: Incident
  snapshot: PageSnapshot
  ctx: PublicRenderContext
}) {
  if (incident.updates.length === 0) return null
  return (
    <ol class="timeline">
      {incident.updates.map((update) => (
        <TimelineItem key={update.id} update={update} snapshot={snapshot} ctx={ctx} />
      ))}
    </ol>
  )
}

function TimelineItem({
  update,
  snapshot,
  ctx,
}: {
  update: IncidentUpdate
  snapshot: PageSnapshot
  ctx: PublicRenderContext
}) {
  const l = ctx.locale
  const changes = update.affectedComponents ?? []
  return (
    <li class="update">
      <p class="update-status">{incidentStatusLabel(l, update.status)}</p>
      <div class="update-content">
        {update.body.trim() !== '' && (
          <div
            class="markdown"
            dangerouslySetInnerHTML={{ __html: markdownHtml(update.body, 4) }}
          />
        )}
        {changes.length > 0 && (
          <p class="update-components">
            {t(l, 'update.components', {
              list: formatList(
                changes.map((c) =>
                  t(l, 'update.componentChange', {
                    name: c.name,
                    status: componentStatusLabel(l, c.newStatus),
                  }),
                ),
                l,
              ),
            })}
          </p>
        )}
        <p class="update-time">
          <time datetime={update.displayAt.toISOString()}>
            {formatDateTime(update.displayAt, l, snapshot.page.timeZone)}
          </time>
        </p>
      </div>
    </li>
  )
}

/** An incident or maintenance as a card: title linking to its page, tags, window and timeline. */
export function EventCard({
  incident,
  snapshot,
  ctx,
  heading: HeadingTag,
  latestOnly = false,
  idPrefix = 'event',
}: {
  incident: Incident
  snapshot: PageSnapshot
  ctx: PublicRenderContext
  heading: Heading
  /** Upcoming maintenances show only their latest message. */
  latestOnly?: boolean
  /** Keeps ids unique when an event appears twice on a page (active and in past incidents). */
  idPrefix?: string
}) {
  const shown = latestOnly ? { ...incident, updates: incident.updates.slice(0, 1) } : incident
  const headingId = `${idPrefix}-${incident.id}`
  return (
    <article class={`event impact-${incident.impact}`} aria-labelledby={headingId}>
      <div class="event-header">
        <HeadingTag class="event-title" id={headingId}>
          <a href={incidentHref(ctx, incident.id)}>{incident.name}</a>
        </HeadingTag>
        <p class="tags">
          <ImpactTag incident={incident} ctx={ctx} />
          <StatusTag incident={incident} ctx={ctx} />
        </p>
      </div>
      <div class="event-body">
        {incident.kind === 'maintenance' && (
          <MaintenanceWindow incident={incident} snapshot={snapshot} ctx={ctx} />
        )}
        <Timeline incident={shown} snapshot={snapshot} ctx={ctx} />
        <AffectedComponents incident={incident} snapshot={snapshot} ctx={ctx} />
      </div>
    </article>
  )
}
