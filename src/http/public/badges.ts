import type { ComponentStatus, Indicator, PageSnapshot } from '../../domain/pages/types.js'

/**
 * shields.io-style "flat" badges (label on grey, status on colour) for READMEs and dashboards.
 * Widths come from Verdana 11px advance widths, as shields.io measures them, so no font is
 * needed at render time. All text is escaped: names are written by page editors.
 */

export type BadgeColour = 'green' | 'yellow' | 'orange' | 'red' | 'blue' | 'grey'

export interface BadgeStatus {
  text: string
  colour: BadgeColour
}

const COLOURS: Record<BadgeColour, string> = {
  green: '#4c1',
  yellow: '#dfb317',
  orange: '#fe7d37',
  red: '#e05d44',
  blue: '#007ec6',
  grey: '#9f9f9f',
}

const LABEL_BACKGROUND = '#555'
const HEIGHT = 20
const PADDING = 5
const MAX_TEXT = 80

/** Verdana 11px advance widths for printable ASCII (U+0020 to U+007E), in pixels. */
const ASCII_WIDTHS = [
  3.87, 4.33, 5.05, 9.0, 7.0, 11.84, 7.99, 2.95, 4.99, 4.99, 7.0, 9.0, 4.0, 4.99, 4.0, 4.99, 7.0,
  7.0, 7.0, 7.0, 7.0, 7.0, 7.0, 7.0, 7.0, 7.0, 4.99, 4.99, 9.0, 9.0, 9.0, 6.0, 11.0, 7.52, 7.54,
  7.68, 8.48, 6.96, 6.32, 8.53, 8.27, 4.62, 5.0, 7.62, 6.12, 9.27, 8.23, 8.66, 6.63, 8.66, 7.65,
  7.52, 6.78, 8.05, 7.52, 10.88, 7.54, 6.77, 7.54, 4.99, 4.99, 4.99, 9.0, 7.0, 7.0, 6.61, 6.85,
  5.73, 6.85, 6.55, 3.87, 6.85, 6.96, 3.02, 3.79, 6.51, 3.02, 10.66, 6.96, 6.68, 6.85, 6.85, 4.69,
  5.73, 4.33, 6.96, 6.51, 8.98, 6.51, 6.51, 5.78, 6.98, 4.99, 6.98, 9.0,
]

function charWidth(char: string): number {
  const code = char.codePointAt(0) ?? 0
  if (code >= 0x20 && code <= 0x7e) return ASCII_WIDTHS[code - 0x20] ?? 7
  // East Asian scripts and emoji are about a square wide; other letters about an average one.
  if (code >= 0x1100) return 11
  return 7
}

export function textWidth(text: string): number {
  let width = 0
  for (const char of text) width += charWidth(char)
  return width
}

/** Characters XML 1.0 forbids, dropped before escaping (an SVG is XML). */
const XML_INVALID = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => {
    switch (c) {
      case '&':
        return '&amp;'
      case '<':
        return '&lt;'
      case '>':
        return '&gt;'
      case '"':
        return '&quot;'
      default:
        return '&apos;'
    }
  })
}

const segmenter = new Intl.Segmenter('en', { granularity: 'grapheme' })

/** One line of reasonable length: controls and line breaks become spaces, long text is cut. */
function clean(text: string): string {
  const flat = text.replace(XML_INVALID, '').replace(/\s+/g, ' ').trim()
  // Cut between graphemes, so an emoji or an accented letter is never split.
  const graphemes = Array.from(segmenter.segment(flat), (s) => s.segment)
  return graphemes.length > MAX_TEXT ? `${graphemes.slice(0, MAX_TEXT - 1).join('')}…` : flat
}

/** A flat badge, "label | status", as an SVG document. */
export function badgeSvg(label: string, status: BadgeStatus): string {
  const left = clean(label)
  const right = clean(status.text)
  const leftText = textWidth(left)
  const rightText = textWidth(right)
  const leftWidth = Math.round(leftText + 2 * PADDING)
  const rightWidth = Math.round(rightText + 2 * PADDING)
  const width = leftWidth + rightWidth
  const colour = COLOURS[status.colour]
  const title = escapeXml(`${left}: ${right}`)
  // Text is drawn at 10× and scaled down, as shields.io does, for sub-pixel placement.
  const leftX = Math.round(leftWidth * 5)
  const rightX = Math.round((leftWidth + rightWidth / 2) * 10)
  const leftLength = Math.round(leftText * 10)
  const rightLength = Math.round(rightText * 10)
  const l = escapeXml(left)
  const r = escapeXml(right)
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${String(width)}" height="${String(HEIGHT)}" role="img" aria-label="${title}">`,
    `<title>${title}</title>`,
    '<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>',
    `<clipPath id="r"><rect width="${String(width)}" height="${String(HEIGHT)}" rx="3" fill="#fff"/></clipPath>`,
    `<g clip-path="url(#r)"><rect width="${String(leftWidth)}" height="${String(HEIGHT)}" fill="${LABEL_BACKGROUND}"/><rect x="${String(leftWidth)}" width="${String(rightWidth)}" height="${String(HEIGHT)}" fill="${colour}"/><rect width="${String(width)}" height="${String(HEIGHT)}" fill="url(#s)"/></g>`,
    '<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" text-rendering="geometricPrecision" font-size="110">',
    `<text aria-hidden="true" x="${String(leftX)}" y="150" fill="#010101" fill-opacity=".3" transform="scale(.1)" textLength="${String(leftLength)}">${l}</text>`,
    `<text x="${String(leftX)}" y="140" transform="scale(.1)" fill="#fff" textLength="${String(leftLength)}">${l}</text>`,
    `<text aria-hidden="true" x="${String(rightX)}" y="150" fill="#010101" fill-opacity=".3" transform="scale(.1)" textLength="${String(rightLength)}">${r}</text>`,
    `<text x="${String(rightX)}" y="140" transform="scale(.1)" fill="#fff" textLength="${String(rightLength)}">${r}</text>`,
    '</g>',
    '</svg>',
  ].join('')
}

const INDICATOR_COLOURS: Record<Indicator, BadgeColour> = {
  none: 'green',
  minor: 'yellow',
  major: 'orange',
  critical: 'red',
  maintenance: 'blue',
}

const COMPONENT_COLOURS: Record<ComponentStatus, BadgeColour> = {
  operational: 'green',
  degraded_performance: 'yellow',
  partial_outage: 'orange',
  major_outage: 'red',
  under_maintenance: 'blue',
}

const COMPONENT_TEXT: Record<ComponentStatus, string> = {
  operational: 'operational',
  degraded_performance: 'degraded performance',
  partial_outage: 'partial outage',
  major_outage: 'major outage',
  under_maintenance: 'under maintenance',
}

/** The page's overall status: "status | All Systems Operational". */
export function pageBadge(snapshot: PageSnapshot, label = 'status'): string {
  const { indicator, description } = snapshot.status
  return badgeSvg(label, { text: description, colour: INDICATOR_COLOURS[indicator] })
}

/** One component (or group): "API | partial outage"; undefined when the page has no such id. */
export function componentBadge(snapshot: PageSnapshot, componentId: string): string | undefined {
  const component = snapshot.components.find((c) => c.id === componentId)
  if (component === undefined) return undefined
  return badgeSvg(component.name, {
    text: COMPONENT_TEXT[component.status],
    colour: COMPONENT_COLOURS[component.status],
  })
}
