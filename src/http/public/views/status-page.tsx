import type { ComponentChildren } from 'preact'
import { isIncidentOpen } from '../../../domain/pages/status.js'
import { addDays, zonedDate } from '../../../domain/pages/time-zone.js'
import type { Incident, PageSnapshot } from '../../../domain/pages/types.js'
import { formatDay, indicatorDescription, t } from '../i18n.js'
import { ComponentsSection } from './components.js'
import { historyHref, pageHref, type PublicRenderContext } from './context.js'
import { INDICATOR_ICON, StatusIcon } from './icons.js'
import { EventCard, eventStart, isActiveMaintenance } from './incidents.js'
import { PublicLayout, renderPublicDocument } from './layout.js'

const RECENT_DAYS = 7

export function renderStatusPage(snapshot: PageSnapshot, ctx: PublicRenderContext): string {
  return renderPublicDocument(<StatusPage snapshot={snapshot} ctx={ctx} />)
}

function StatusPage({ snapshot, ctx }: { snapshot: PageSnapshot; ctx: PublicRenderContext }) {
  const l = ctx.locale
  const { page } = snapshot
  const active = snapshot.incidents.filter((i) => i.kind === 'incident' && isIncidentOpen(i))
  const inProgress = snapshot.maintenances.filter(isActiveMaintenance)
  const upcoming = snapshot.maintenances
    .filter((m) => m.status === 'scheduled')
    .sort((a, b) => eventStart(a).getTime() - eventStart(b).getTime())
  const description = indicatorDescription(l, snapshot.status.indicator)
  return (
    <PublicLayout
      ctx={ctx}
      page={page}
      version={snapshot.version}
      title={page.name}
      description={`${page.name}: ${description}`}
    >
      <h1 class="visually-hidden">{t(l, 'status.heading', { name: page.name })}</h1>
      <section class="overall" aria-label={t(l, 'status.overall')}>
        <p class={`banner banner-${snapshot.status.indicator}`}>
          <StatusIcon name={INDICATOR_ICON[snapshot.status.indicator]} />
          <span>{description}</span>
        </p>
        <p class="subscribe-link">
          <a class="button" href={pageHref(ctx, '/subscribe')}>
            {t(l, 'subscribe.link')}
          </a>
        </p>
      </section>

      {active.length > 0 && (
        <EventSection id="active-incidents" title={t(l, 'section.activeIncidents')}>
          {active.map((incident) => (
            <EventCard
              key={incident.id}
              incident={incident}
              snapshot={snapshot}
              ctx={ctx}
              heading="h3"
            />
          ))}
        </EventSection>
      )}

      {inProgress.length > 0 && (
        <EventSection id="active-maintenance" title={t(l, 'section.activeMaintenance')}>
          {inProgress.map((maintenance) => (
            <EventCard
              key={maintenance.id}
              incident={maintenance}
              snapshot={snapshot}
              ctx={ctx}
              heading="h3"
            />
          ))}
        </EventSection>
      )}

      {upcoming.length > 0 && (
        <EventSection id="upcoming-maintenance" title={t(l, 'section.upcomingMaintenance')}>
          {upcoming.map((maintenance) => (
            <EventCard
              key={maintenance.id}
              incident={maintenance}
              snapshot={snapshot}
              ctx={ctx}
              heading="h3"
              latestOnly
            />
          ))}
        </EventSection>
      )}

      <ComponentsSection snapshot={snapshot} ctx={ctx} />
      <PastIncidents snapshot={snapshot} ctx={ctx} />
    </PublicLayout>
  )
}

function EventSection({
  id,
  title,
  children,
}: {
  id: string
  title: string
  children: ComponentChildren
}) {
  return (
    <section class="events" aria-labelledby={`${id}-heading`}>
      <h2 id={`${id}-heading`}>{title}</h2>
      {children}
    </section>
  )
}

/** The events of the last days, by the day they began in the page's zone, newest first. */
function PastIncidents({ snapshot, ctx }: { snapshot: PageSnapshot; ctx: PublicRenderContext }) {
  const l = ctx.locale
  const zone = snapshot.page.timeZone
  const today = zonedDate(ctx.now, zone)
  const events = [...snapshot.incidents, ...snapshot.maintenances]
    .filter((e) => e.status !== 'scheduled' && eventStart(e) <= ctx.now)
    .sort((a, b) => eventStart(b).getTime() - eventStart(a).getTime())
  const byDay = new Map<string, Incident[]>()
  for (const event of events) {
    const day = zonedDate(eventStart(event), zone)
    byDay.set(day, [...(byDay.get(day) ?? []), event])
  }
  const days = Array.from({ length: RECENT_DAYS }, (_, i) => addDays(today, -i))
  return (
    <section class="past" aria-labelledby="past-heading">
      <h2 id="past-heading">{t(l, 'section.pastIncidents')}</h2>
      {days.map((day) => {
        const list = byDay.get(day) ?? []
        return (
          <section key={day} class="day" aria-labelledby={`day-${day}`}>
            <h3 id={`day-${day}`} class="day-heading">
              <time datetime={day}>{formatDay(day, l)}</time>
            </h3>
            {list.length === 0 ? (
              <p class="quiet">
                {day === today ? t(l, 'past.noIncidentsToday') : t(l, 'past.noIncidents')}
              </p>
            ) : (
              list.map((event) => (
                <EventCard
                  key={event.id}
                  incident={event}
                  snapshot={snapshot}
                  ctx={ctx}
                  heading="h4"
                  idPrefix={`past-${day}`}
                />
              ))
            )}
          </section>
        )
      })}
      <p class="more">
        <a href={historyHref(ctx)}>
          {t(l, 'past.historyLink')} <span aria-hidden="true">→</span>
        </a>
      </p>
    </section>
  )
}
