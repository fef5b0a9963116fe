import type { Incident, PageSnapshot } from '../../../domain/pages/types.js'
import { markdownToText } from '../markdown.js'
import { formatDateTime, incidentStatusLabel, t } from '../i18n.js'
import { homeHref, type PublicRenderContext } from './context.js'
import {
  AffectedComponents,
  findEvent,
  ImpactTag,
  MaintenanceWindow,
  markdownHtml,
  StatusTag,
  Timeline,
} from './incidents.js'
import { PublicLayout, renderPublicDocument } from './layout.js'

/** The page of one incident or maintenance; undefined when the snapshot does not hold it. */
export function renderIncidentPage(
  snapshot: PageSnapshot,
  incidentId: string,
  ctx: PublicRenderContext,
): string | undefined {
  const incident = findEvent(snapshot, incidentId)
  if (incident === undefined) return undefined
  return renderPublicDocument(<IncidentPage snapshot={snapshot} incident={incident} ctx={ctx} />)
}

function IncidentPage({
  snapshot,
  incident,
  ctx,
}: {
  snapshot: PageSnapshot
  incident: Incident
  ctx: PublicRenderContext
}) {
  const l = ctx.locale
  const { page } = snapshot
  const zone = page.timeZone
  const latest = incident.updates[0]
  const summary =
    latest === undefined
      ? incidentStatusLabel(l, incident.status)
      : `${incidentStatusLabel(l, latest.status)}: ${markdownToText(latest.body).slice(0, 200)}`
  const postmortem =
    incident.postmortemPublishedAt !== null &&
    incident.postmortemBody !== null &&
    incident.postmortemBody.trim() !== ''
      ? { at: incident.postmortemPublishedAt, body: incident.postmortemBody }
      : undefined
  return (
    <PublicLayout
      ctx={ctx}
      page={page}
      version={snapshot.version}
      title={`${incident.name} · ${page.name}`}
      description={summary}
    >
      <p class="back">
        <a href={homeHref(ctx)}>
          <span aria-hidden="true">← </span>
          {t(l, 'incident.back')}
        </a>
      </p>
      <article class={`event event-detail impact-${incident.impact}`}>
        <div class="event-header">
          <h1 class="event-title">{incident.name}</h1>
          <p class="tags">
            <ImpactTag incident={incident} ctx={ctx} />
            <StatusTag incident={incident} ctx={ctx} />
          </p>
        </div>
        <div class="event-body">
          {incident.kind === 'maintenance' ? (
            <MaintenanceWindow incident={incident} snapshot={snapshot} ctx={ctx} />
          ) : (
            <p class="event-dates muted">
              {t(l, 'incident.started', { date: formatDateTime(incident.startedAt, l, zone) })}
              {incident.resolvedAt !== null && (
                <>
                  {' · '}
                  {t(l, 'incident.resolvedAt', {
                    date: formatDateTime(incident.resolvedAt, l, zone),
                  })}
                </>
              )}
            </p>
          )}
          <AffectedComponents incident={incident} snapshot={snapshot} ctx={ctx} />
          <section aria-labelledby="updates-heading">
            <h2 id="updates-heading">{t(l, 'incident.timeline')}</h2>
            <Timeline incident={incident} snapshot={snapshot} ctx={ctx} />
          </section>
          {postmortem !== undefined && (
            <section class="postmortem" aria-labelledby="postmortem-heading">
              <h2 id="postmortem-heading">{t(l, 'incident.postmortem')}</h2>
              <p class="muted">
                {t(l, 'incident.postmortemPublished', {
                  date: formatDateTime(postmortem.at, l, zone),
                })}
              </p>
              <div
                class="markdown"
                dangerouslySetInnerHTML={{ __html: markdownHtml(postmortem.body, 2) }}
              />
            </section>
          )}
        </div>
      </article>
    </PublicLayout>
  )
}
