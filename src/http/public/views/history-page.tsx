import { isIncidentOpen } from '../../../domain/pages/status.js'
import { zonedDate } from '../../../domain/pages/time-zone.js'
import type { Incident, PageSnapshot } from '../../../domain/pages/types.js'
import { markdownToText } from '../markdown.js'
import { formatDateTime, formatMonth, formatWindow, t } from '../i18n.js'
import { historyHref, incidentHref, type PublicRenderContext } from './context.js'
import { eventStart, ImpactTag, StatusTag } from './incidents.js'
import { PublicLayout, renderPublicDocument } from './layout.js'

/** Months shown on one history page, like Statuspage's quarter view. */
export const HISTORY_MONTHS = 3
const SUMMARY_MAX = 280

const MONTH_PATTERN = /^(\d{4})-(0[1-9]|1[0-2])$/

export function isHistoryMonth(value: string): boolean {
  return MONTH_PATTERN.test(value)
}

export function addMonths(month: string, delta: number): string {
  const [year = 1970, m = 1] = month.split('-').map(Number)
  const index = year * 12 + (m - 1) + delta
  return `${String(Math.floor(index / 12)).padStart(4, '0')}-${String((index % 12) + 1).padStart(2, '0')}`
}

/**
 * The archive of past incidents and maintenances, by month in the page's time zone, newest
 * first: the HISTORY_MONTHS months ending with `month` (YYYY-MM; default and upper bound: the
 * current month), with links to older and newer months.
 */
export function renderHistoryPage(
  snapshot: PageSnapshot,
  ctx: PublicRenderContext,
  month?: string,
): string {
  const zone = snapshot.page.timeZone
  const current = zonedDate(ctx.now, zone).slice(0, 7)
  const last = month !== undefined && isHistoryMonth(month) && month < current ? month : current
  return renderPublicDocument(
    <HistoryPage snapshot={snapshot} ctx={ctx} last={last} current={current} />,
  )
}

function HistoryPage({
  snapshot,
  ctx,
  last,
  current,
}: {
  snapshot: PageSnapshot
  ctx: PublicRenderContext
  last: string
  current: string
}) {
  const l = ctx.locale
  const { page } = snapshot
  const zone = page.timeZone
  const months = Array.from({ length: HISTORY_MONTHS }, (_, i) => addMonths(last, -i))
  const first = months[months.length - 1] ?? last
  const events = [...snapshot.incidents, ...snapshot.maintenances]
    .filter((e) => e.status !== 'scheduled' && eventStart(e) <= ctx.now)
    .sort((a, b) => eventStart(b).getTime() - eventStart(a).getTime())
  const byMonth = new Map<string, Incident[]>()
  for (const event of events) {
    const key = zonedDate(eventStart(event), zone).slice(0, 7)
    byMonth.set(key, [...(byMonth.get(key) ?? []), event])
  }
  const newer = last < current ? addMonths(last, HISTORY_MONTHS) : undefined
  const older = addMonths(last, -HISTORY_MONTHS)
  const range = t(l, 'history.range', { from: formatMonth(first, l), to: formatMonth(last, l) })
  return (
    <PublicLayout
      ctx={ctx}
      page={page}
      version={snapshot.version}
      title={`${t(l, 'history.title')} · ${page.name}`}
      description={`${t(l, 'history.title')}: ${range}`}
    >
      <div class="page-heading">
        <h1>{t(l, 'history.title')}</h1>
        <p class="muted">{t(l, 'history.intro')}</p>
      </div>
      <nav class="pager" aria-label={t(l, 'history.nav')}>
        <a href={historyHref(ctx, older)} rel="prev">
          <span aria-hidden="true">← </span>
          {t(l, 'history.older')}
        </a>
        <span class="pager-range">{range}</span>
        {newer !== undefined ? (
          <a href={historyHref(ctx, newer > current ? current : newer)} rel="next">
            {t(l, 'history.newer')}
            <span aria-hidden="true"> →</span>
          </a>
        ) : (
          <span class="pager-placeholder" />
        )}
      </nav>
      {months.map((month) => {
        const list = byMonth.get(month) ?? []
        return (
          <section key={month} class="month" aria-labelledby={`month-${month}`}>
            <h2 id={`month-${month}`}>{formatMonth(month, l)}</h2>
            {list.length === 0 ? (
              <p class="quiet card">{t(l, 'history.empty')}</p>
            ) : (
              <ul class="history-list card">
                {list.map((event) => (
                  <HistoryItem key={event.id} event={event} snapshot={snapshot} ctx={ctx} />
                ))}
              </ul>
            )}
          </section>
        )
      })}
    </PublicLayout>
  )
}

function HistoryItem({
  event,
  snapshot,
  ctx,
}: {
  event: Incident
  snapshot: PageSnapshot
  ctx: PublicRenderContext
}) {
  const l = ctx.locale
  const zone = snapshot.page.timeZone
  const latest = event.updates[0]
  let summary = latest === undefined ? '' : markdownToText(latest.body)
  if (summary.length > SUMMARY_MAX) summary = `${summary.slice(0, SUMMARY_MAX - 1).trimEnd()}…`
  const start = eventStart(event)
  const end =
    event.kind === 'maintenance'
      ? (event.scheduledUntil ?? event.resolvedAt)
      : isIncidentOpen(event)
        ? null
        : event.resolvedAt
  return (
    <li class={`history-item impact-${event.impact}`}>
      <h3 class="event-title">
        <a href={incidentHref(ctx, event.id)}>{event.name}</a>
      </h3>
      <p class="tags">
        <ImpactTag incident={event} ctx={ctx} />
        <StatusTag incident={event} ctx={ctx} />
      </p>
      {summary !== '' && <p class="history-summary">{summary}</p>}
      <p class="muted history-dates">
        <time datetime={start.toISOString()}>
          {end === null || end < start
            ? formatDateTime(start, l, zone)
            : formatWindow(start, end, l, zone)}
        </time>
      </p>
    </li>
  )
}
