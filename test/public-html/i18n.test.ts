import { describe, expect, it } from 'vitest'
import { INDICATOR_DESCRIPTIONS } from '../../src/domain/pages/status.js'
import {
  COMPONENT_STATUSES,
  IMPACTS,
  INCIDENT_STATUSES,
  LOCALES,
  MAINTENANCE_STATUSES,
  type Indicator,
} from '../../src/domain/pages/types.js'
import {
  componentStatusLabel,
  dictionaries,
  formatDateTime,
  formatDay,
  formatDuration,
  formatList,
  formatMonth,
  formatPercent,
  formatRelative,
  formatWindow,
  impactLabel,
  incidentStatusLabel,
  indicatorDescription,
  t,
} from '../../src/http/public/i18n.js'

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort()

describe('public page dictionaries', () => {
  it('have the same keys in English and French', () => {
    expect(Object.keys(dictionaries.fr).sort()).toEqual(Object.keys(dictionaries.en).sort())
    expect(Object.keys(dictionaries).sort()).toEqual([...LOCALES].sort())
  })

  it('have no empty strings and the same placeholders in every language', () => {
    for (const [key, english] of Object.entries(dictionaries.en)) {
      for (const locale of LOCALES) {
        const text = dictionaries[locale][key as keyof typeof dictionaries.en]
        expect(text.trim(), `${locale}:${key}`).not.toBe('')
        expect(placeholders(text), `${locale}:${key}`).toEqual(placeholders(english))
      }
    }
  })

  it("matches Statuspage's indicator descriptions in English, and the domain's", () => {
    expect(LOCALES.map((l) => indicatorDescription(l, 'none'))).toEqual([
      'All Systems Operational',
      'Tous les systèmes sont opérationnels',
    ])
    for (const indicator of Object.keys(INDICATOR_DESCRIPTIONS) as Indicator[])
      expect(indicatorDescription('en', indicator)).toBe(INDICATOR_DESCRIPTIONS[indicator])
    expect(indicatorDescription('en', 'minor')).toBe('Partially Degraded Service')
    expect(indicatorDescription('en', 'major')).toBe('Partial System Outage')
    expect(indicatorDescription('en', 'critical')).toBe('Major System Outage')
    expect(indicatorDescription('en', 'maintenance')).toBe('Service Under Maintenance')
  })

  it('labels every status and impact in both languages, differently per status', () => {
    for (const locale of LOCALES) {
      const components = COMPONENT_STATUSES.map((s) => componentStatusLabel(locale, s))
      expect(new Set(components).size).toBe(COMPONENT_STATUSES.length)
      const incidents = INCIDENT_STATUSES.map((s) => incidentStatusLabel(locale, s))
      expect(new Set(incidents).size).toBe(INCIDENT_STATUSES.length)
      const maintenances = MAINTENANCE_STATUSES.map((s) => incidentStatusLabel(locale, s))
      expect(new Set(maintenances).size).toBe(MAINTENANCE_STATUSES.length)
      const impacts = [...IMPACTS, 'maintenance' as const].map((i) => impactLabel(locale, i))
      expect(new Set(impacts).size).toBe(IMPACTS.length + 1)
    }
    expect(componentStatusLabel('en', 'degraded_performance')).toBe('Degraded Performance')
    expect(componentStatusLabel('fr', 'major_outage')).toBe('Panne majeure')
    expect(incidentStatusLabel('fr', 'resolved')).toBe('Résolu')
    expect(incidentStatusLabel('en', 'in_progress')).toBe('In progress')
  })

  it('fills placeholders and leaves unknown ones visible', () => {
    expect(t('en', 'uptime.percent', { percent: '99.9%' })).toBe('99.9% uptime')
    expect(t('fr', 'status.heading', { name: 'Acme' })).toBe('État actuel de Acme')
    expect(t('en', 'status.heading')).toBe('Current status of {name}')
  })
})

describe('public page formatting', () => {
  const at = new Date('2026-03-29T00:30:00Z')

  it('formats instants in the page time zone with the offset', () => {
    expect(formatDateTime(at, 'en', 'Europe/Paris')).toBe('Mar 29, 2026, 01:30 GMT+1')
    expect(formatDateTime(at, 'fr', 'Europe/Paris')).toBe('29 mars 2026, 01:30 UTC+1')
    expect(formatDateTime(new Date('2026-03-29T01:30:00Z'), 'en', 'Europe/Paris')).toBe(
      'Mar 29, 2026, 03:30 GMT+2',
    )
    expect(formatDateTime(at, 'en', 'America/Los_Angeles')).toBe('Mar 28, 2026, 17:30 GMT-7')
  })

  it('formats windows, days, months', () => {
    expect(formatWindow(at, new Date('2026-03-29T03:00:00Z'), 'en', 'Europe/Paris')).toBe(
      'Mar 29, 2026, 01:30 GMT+1 – 05:00 GMT+2',
    )
    expect(formatWindow(at, new Date('2026-03-30T03:00:00Z'), 'fr', 'Europe/Paris')).toBe(
      '29 mars 2026, 01:30 UTC+1 – 30 mars 2026, 05:00 UTC+2',
    )
    expect(formatDay('2026-11-20', 'en')).toBe('Nov 20, 2026')
    expect(formatDay('2026-11-20', 'fr')).toBe('20 nov. 2026')
    expect(formatMonth('2026-03', 'en')).toBe('March 2026')
    expect(formatMonth('2026-03', 'fr')).toBe('mars 2026')
  })

  it('formats durations, percentages, lists and relative times', () => {
    expect(formatDuration(7500, 'en')).toBe('2h 5m')
    expect(formatDuration(7500, 'fr')).toBe('2 h 5 min')
    expect(formatDuration(3600, 'en')).toBe('1h')
    expect(formatDuration(600, 'en')).toBe('10m')
    expect(formatDuration(42, 'en')).toBe('42s')
    expect(formatPercent(99.95, 'en')).toBe('99.95%')
    expect(formatPercent(99.95, 'fr')).toMatch(/^99,95\s%$/)
    expect(formatList(['API', 'Web', 'EU'], 'en')).toBe('API, Web, and EU')
    expect(formatList(['API', 'Web', 'EU'], 'fr')).toBe('API, Web et EU')
    const now = new Date('2026-11-20T15:00:00Z')
    expect(formatRelative(new Date(now.getTime() - 5 * 60_000), now, 'en')).toBe('5 minutes ago')
    expect(formatRelative(new Date(now.getTime() + 2 * 3_600_000), now, 'fr')).toBe('dans 2 heures')
  })
})
