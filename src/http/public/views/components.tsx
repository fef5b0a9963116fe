import { groupStatus } from '../../../domain/pages/status.js'
import type {
  Component,
  ComponentStatus,
  ComponentUptime,
  PageSnapshot,
  UptimeDay,
} from '../../../domain/pages/types.js'
import {
  componentStatusLabel,
  formatDay,
  formatDuration,
  formatList,
  formatPercent,
  t,
} from '../i18n.js'
import type { PublicRenderContext } from './context.js'
import { COMPONENT_ICON, StatusIcon } from './icons.js'

/** Worst first, for the text of a day's bar. */
const OUTAGE_ORDER: readonly ComponentStatus[] = [
  'major_outage',
  'partial_outage',
  'degraded_performance',
  'under_maintenance',
]

interface GroupNode {
  group: Component
  status: ComponentStatus
  children: Component[]
}

type Node = { leaf: Component } | GroupNode

function isShown(component: Component, status: ComponentStatus): boolean {
  return !(component.onlyShowIfDegraded && status === 'operational')
}

/**
 * The components a visitor sees, in display order: top-level components and groups, each group
 * with its visible children. "Only show if degraded" components are left out while operational,
 * and a group whose children are all left out goes with them.
 */
export function visibleComponentTree(components: readonly Component[]): Node[] {
  const nodes: Node[] = []
  const groupIds = new Set(components.filter((c) => c.isGroup).map((c) => c.id))
  for (const component of components) {
    // A child whose group is missing is shown at the top level rather than lost.
    if (component.groupId !== null && groupIds.has(component.groupId)) continue
    if (component.isGroup) {
      const all = components.filter((c) => c.groupId === component.id && !c.isGroup)
      const status = groupStatus(component, components)
      const children = all.filter((c) => isShown(c, c.status))
      if (!isShown(component, status)) continue
      if (all.length > 0 && children.length === 0) continue
      nodes.push({ group: component, status, children })
    } else if (isShown(component, component.status)) {
      nodes.push({ leaf: component })
    }
  }
  return nodes
}

export function StatusLabel({
  status,
  ctx,
}: {
  status: ComponentStatus
  ctx: PublicRenderContext
}) {
  return (
    <span class={`status status-${status}`}>
      <StatusIcon name={COMPONENT_ICON[status]} />
      <span class="status-text">{componentStatusLabel(ctx.locale, status)}</span>
    </span>
  )
}

export function ComponentsSection({
  snapshot,
  ctx,
}: {
  snapshot: PageSnapshot
  ctx: PublicRenderContext
}) {
  const l = ctx.locale
  const nodes = visibleComponentTree(snapshot.components)
  const uptime = new Map(snapshot.uptime.map((u) => [u.componentId, u]))
  const days = snapshot.uptime[0]?.days.length ?? 90
  return (
    <section class="components-section" aria-labelledby="components-heading">
      <div class="section-heading">
        <h2 id="components-heading">{t(l, 'section.components')}</h2>
        <p class="muted">{t(l, 'components.intro', { days })}</p>
      </div>
      {nodes.length === 0 ? (
        <p class="card quiet">{t(l, 'components.empty')}</p>
      ) : (
        <ul class="components card">
          {nodes.map((node) =>
            'leaf' in node ? (
              <ComponentItem
                key={node.leaf.id}
                component={node.leaf}
                uptime={uptime.get(node.leaf.id)}
                snapshot={snapshot}
                ctx={ctx}
              />
            ) : (
              <GroupItem
                key={node.group.id}
                node={node}
                uptime={uptime}
                snapshot={snapshot}
                ctx={ctx}
              />
            ),
          )}
        </ul>
      )}
    </section>
  )
}

function ComponentHead({
  component,
  status,
  ctx,
}: {
  component: Component
  status: ComponentStatus
  ctx: PublicRenderContext
}) {
  return (
    <span class="component-head">
      <span class="component-title">
        <span class="component-name">{component.name}</span>
        {component.description !== null && component.description.trim() !== '' && (
          <span class="component-description">{component.description}</span>
        )}
      </span>
      <StatusLabel status={status} ctx={ctx} />
    </span>
  )
}

function ComponentItem({
  component,
  uptime,
  snapshot,
  ctx,
}: {
  component: Component
  uptime: ComponentUptime | undefined
  snapshot: PageSnapshot
  ctx: PublicRenderContext
}) {
  return (
    <li class="component" id={`component-${component.id}`}>
      <ComponentHead component={component} status={component.status} ctx={ctx} />
      {component.showcase && uptime !== undefined && (
        <UptimeBars component={component} uptime={uptime} snapshot={snapshot} ctx={ctx} />
      )}
    </li>
  )
}

function GroupItem({
  node,
  uptime,
  snapshot,
  ctx,
}: {
  node: GroupNode
  uptime: Map<string, ComponentUptime>
  snapshot: PageSnapshot
  ctx: PublicRenderContext
}) {
  const { group, status, children } = node
  if (children.length === 0)
    return (
      <li class="component group" id={`component-${group.id}`}>
        <ComponentHead component={group} status={status} ctx={ctx} />
      </li>
    )
  // Closed while all is well, open when something inside is not: problems are never folded away.
  return (
    <li class="group" id={`component-${group.id}`}>
      <details class="group-details" open={status !== 'operational'}>
        <summary class="group-summary">
          <span class="group-toggle" aria-hidden="true" />
          <ComponentHead component={group} status={status} ctx={ctx} />
        </summary>
        <ul class="group-children">
          {children.map((child) => (
            <ComponentItem
              key={child.id}
              component={child}
              uptime={uptime.get(child.id)}
              snapshot={snapshot}
              ctx={ctx}
            />
          ))}
        </ul>
      </details>
    </li>
  )
}

/** The text alternative of one day's bar: "Mar 29, 2026: Partial Outage 2h 5m, incidents: …". */
export function dayDescription(
  day: UptimeDay,
  snapshot: PageSnapshot,
  ctx: PublicRenderContext,
): string {
  const l = ctx.locale
  const parts: string[] = []
  if (!day.hasData) {
    parts.push(t(l, 'bar.noData'))
  } else {
    for (const status of OUTAGE_ORDER) {
      const seconds = day.outageSeconds[status]
      if (seconds !== undefined && seconds > 0)
        parts.push(
          t(l, 'bar.outage', {
            status: componentStatusLabel(l, status),
            duration: formatDuration(seconds, l),
          }),
        )
    }
    if (parts.length === 0) parts.push(t(l, 'bar.noDowntime'))
  }
  const names = day.incidentIds
    .map(
      (id) =>
        (
          snapshot.incidents.find((i) => i.id === id) ??
          snapshot.maintenances.find((m) => m.id === id)
        )?.name,
    )
    .filter((name): name is string => name !== undefined)
  if (names.length > 0) parts.push(t(l, 'bar.incidents', { list: formatList(names, l) }))
  return t(l, 'bar.day', { date: formatDay(day.date, l), details: parts.join(', ') })
}

function UptimeBars({
  component,
  uptime,
  snapshot,
  ctx,
}: {
  component: Component
  uptime: ComponentUptime
  snapshot: PageSnapshot
  ctx: PublicRenderContext
}) {
  const l = ctx.locale
  const count = uptime.days.length
  return (
    <div class="uptime">
      <ul class="bars" aria-label={t(l, 'uptime.listLabel', { name: component.name })}>
        {uptime.days.map((day) => (
          <li key={day.date} class={`bar bar-${day.hasData ? day.worst : 'none'}`}>
            <span class="bar-tip">{dayDescription(day, snapshot, ctx)}</span>
          </li>
        ))}
      </ul>
      <p class="uptime-legend">
        <span class="legend-from" aria-hidden="true">
          <span class="span-all">{t(l, 'uptime.daysAgo', { days: count })}</span>
          <span class="span-60">{t(l, 'uptime.daysAgo', { days: Math.min(60, count) })}</span>
          <span class="span-30">{t(l, 'uptime.daysAgo', { days: Math.min(30, count) })}</span>
        </span>
        <span class="legend-rule" aria-hidden="true" />
        <span class="uptime-percent">
          {uptime.percent === null
            ? t(l, 'uptime.noData')
            : t(l, 'uptime.percent', { percent: formatPercent(uptime.percent, l) })}
        </span>
        <span class="legend-rule" aria-hidden="true" />
        <span class="legend-to" aria-hidden="true">
          {t(l, 'uptime.today')}
        </span>
      </p>
    </div>
  )
}
