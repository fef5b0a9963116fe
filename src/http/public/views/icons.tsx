import type { ComponentStatus, Impact, Indicator } from '../../../domain/pages/types.js'

/**
 * Status symbols drawn inline (no requests, no fonts, no style attributes): each status has its own
 * shape, so colour is never the only cue; the text label always sits next to the symbol.
 */
export type IconName = 'ok' | 'degraded' | 'partial' | 'major' | 'maintenance'

export const COMPONENT_ICON: Record<ComponentStatus, IconName> = {
  operational: 'ok',
  degraded_performance: 'degraded',
  partial_outage: 'partial',
  major_outage: 'major',
  under_maintenance: 'maintenance',
}

export const INDICATOR_ICON: Record<Indicator, IconName> = {
  none: 'ok',
  minor: 'degraded',
  major: 'partial',
  critical: 'major',
  maintenance: 'maintenance',
}

export const IMPACT_ICON: Record<Impact | 'maintenance', IconName> = INDICATOR_ICON

export function StatusIcon({ name }: { name: IconName }) {
  return (
    <svg
      class={`icon icon-${name}`}
      viewBox="0 0 16 16"
      width="16"
      height="16"
      aria-hidden="true"
      focusable="false"
    >
      {name === 'partial' ? (
        <path class="icon-shape" d="M8 .8 15.6 14.6H.4Z" />
      ) : (
        <circle class="icon-shape" cx="8" cy="8" r="8" />
      )}
      {name === 'ok' && <path class="icon-glyph" d="M4.4 8.4 6.9 10.9 11.6 5.6" />}
      {name === 'degraded' && <path class="icon-glyph" d="M4.5 8H11.5" />}
      {name === 'partial' && <path class="icon-glyph" d="M8 5.6V9.6M8 12V12.2" />}
      {name === 'major' && <path class="icon-glyph" d="M5.2 5.2 10.8 10.8M10.8 5.2 5.2 10.8" />}
      {name === 'maintenance' && <path class="icon-glyph" d="M8 4.2V8.3L10.8 10" />}
    </svg>
  )
}
