import { describe, expect, it } from 'vitest'
import { FORMAT_GUIDES } from '../../src/domain/alerts/format-guides.js'
import {
  AlertPayloadError,
  detectFormat,
  PARSERS,
  parseAlertmanager,
  parseOpsgenie,
  parseSourceTime,
  statusForSeverity,
} from '../../src/domain/alerts/parsers.js'
import { ALERT_FORMATS } from '../../src/domain/alerts/types.js'
import { alertmanagerBody, opsgenieBody } from './payloads.js'

describe('alert parsers', () => {
  it('reads every documented example with its own parser, and recognises its format', () => {
    for (const format of ALERT_FORMATS) {
      const example = FORMAT_GUIDES[format].example
      expect(detectFormat(example), format).toBe(format)
      if (format === 'datadog') {
        // The template itself, variables unfilled, is not an alert.
        expect(() => PARSERS.datadog(example)).toThrow(AlertPayloadError)
        continue
      }
      const parsed = PARSERS[format](example)
      expect(parsed.events.length, format).toBeGreaterThan(0)
      expect(parsed.events[0]?.state, format).toBe('firing')
    }
  })

  it('reads times as ISO 8601 or epoch seconds, milliseconds and nanoseconds', () => {
    const at = Date.parse('2026-02-06T13:08:45Z')
    expect(parseSourceTime('2026-02-06T13:08:45Z')?.getTime()).toBe(at)
    expect(parseSourceTime('2026-02-06T15:08:45+02:00')?.getTime()).toBe(at)
    expect(parseSourceTime('2026-02-06T13:08:45')?.getTime()).toBe(at)
    expect(parseSourceTime(at / 1000)?.getTime()).toBe(at)
    expect(parseSourceTime(String(at))?.getTime()).toBe(at)
    expect(parseSourceTime(at * 1_000_000)?.getTime()).toBe(at)
    expect(parseSourceTime('0001-01-01T00:00:00Z')).toBeNull()
    expect(parseSourceTime(undefined)).toBeNull()
  })

  it('keys an Alertmanager alert without a fingerprint by its labels', () => {
    const body = alertmanagerBody([{ status: 'firing', fingerprint: 'x' }])
    const withoutFingerprint = {
      ...body,
      alerts: body.alerts.map((alert) =>
        Object.fromEntries(Object.entries(alert).filter(([key]) => key !== 'fingerprint')),
      ),
    }
    const first = parseAlertmanager(withoutFingerprint).events[0]
    const second = parseAlertmanager(withoutFingerprint).events[0]
    expect(first?.alertId).toMatch(/^labels:[0-9a-f]{32}$/)
    expect(first?.alertId).toBe(second?.alertId)
    expect(first?.at?.toISOString()).toBe('2026-02-06T13:08:45.828Z')
  })

  it('uses the resolution time of a resolved alert, and Opsgenie nanosecond updates', () => {
    const resolved = parseAlertmanager(
      alertmanagerBody([{ status: 'resolved', fingerprint: 'y', endsAt: '2026-02-06T14:00:00Z' }]),
    ).events[0]
    expect(resolved).toMatchObject({ state: 'resolved', alertId: 'y' })
    expect(resolved?.at?.toISOString()).toBe('2026-02-06T14:00:00.000Z')
    const closed = parseOpsgenie(opsgenieBody('Close', 1770383925862000000)).events[0]
    expect(closed).toMatchObject({ state: 'resolved', componentKey: 'Website' })
    expect(closed?.at?.getTime()).toBe(1770383925862)
    expect(parseOpsgenie(opsgenieBody('Acknowledge', 1770383925862000000)).events).toEqual([])
  })

  it('maps severities and priorities to statuses', () => {
    expect(statusForSeverity('critical')).toBe('major_outage')
    expect(statusForSeverity('WARNING')).toBe('partial_outage')
    expect(statusForSeverity('P4')).toBe('degraded_performance')
    expect(statusForSeverity('whatever')).toBeUndefined()
    expect(statusForSeverity(undefined)).toBeUndefined()
  })
})
