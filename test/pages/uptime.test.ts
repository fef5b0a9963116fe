import { describe, expect, it } from 'vitest'
import {
  formatInZone,
  parseDateTimeInput,
  startOfZonedDay,
  zonedDate,
} from '../../src/domain/pages/time-zone.js'
import { computeUptime, type StatusChange } from '../../src/domain/pages/uptime.js'

const component = (createdAt: string, startDate: string | null = null) => ({
  id: 'comp00000001',
  createdAt: new Date(createdAt),
  startDate,
  status: 'operational' as const,
})

const change = (
  status: StatusChange['status'],
  at: string,
  incidentId: string | null = null,
): StatusChange => ({
  componentId: 'comp00000001',
  status,
  changedAt: new Date(at),
  incidentId,
})

describe('time zones', () => {
  it('finds local midnight across daylight-saving changes', () => {
    // Europe/Paris moves to summer time on 2026-03-29 at 02:00 local: that day has 23 hours.
    expect(startOfZonedDay('2026-03-29', 'Europe/Paris').toISOString()).toBe(
      '2026-03-28T23:00:00.000Z',
    )
    expect(startOfZonedDay('2026-03-30', 'Europe/Paris').toISOString()).toBe(
      '2026-03-29T22:00:00.000Z',
    )
    // America/New_York falls back on 2026-11-01: that day has 25 hours.
    expect(startOfZonedDay('2026-11-01', 'America/New_York').toISOString()).toBe(
      '2026-11-01T04:00:00.000Z',
    )
    expect(startOfZonedDay('2026-11-02', 'America/New_York').toISOString()).toBe(
      '2026-11-02T05:00:00.000Z',
    )
    // A zone with a 45-minute offset and one ahead of UTC by 13 hours.
    expect(startOfZonedDay('2026-06-01', 'Asia/Kathmandu').toISOString()).toBe(
      '2026-05-31T18:15:00.000Z',
    )
    expect(startOfZonedDay('2026-06-01', 'Pacific/Tongatapu').toISOString()).toBe(
      '2026-05-31T11:00:00.000Z',
    )
  })

  it('gives the calendar date and Statuspage-style offsets in the zone', () => {
    const instant = new Date('2026-03-29T00:30:00Z')
    expect(zonedDate(instant, 'Europe/Paris')).toBe('2026-03-29')
    expect(zonedDate(instant, 'America/Los_Angeles')).toBe('2026-03-28')
    expect(formatInZone(instant, 'America/Los_Angeles')).toBe('2026-03-28T17:30:00.000-07:00')
    expect(formatInZone(instant, 'Asia/Kathmandu')).toBe('2026-03-29T06:15:00.000+05:45')
    expect(formatInZone(instant, 'UTC')).toBe('2026-03-29T00:30:00.000Z')
  })

  it('reads datetime-local input in the page zone and ISO input as is', () => {
    expect(parseDateTimeInput('2026-07-01T09:00', 'Europe/Paris')?.toISOString()).toBe(
      '2026-07-01T07:00:00.000Z',
    )
    expect(parseDateTimeInput('2026-01-15T09:00', 'Europe/Paris')?.toISOString()).toBe(
      '2026-01-15T08:00:00.000Z',
    )
    expect(parseDateTimeInput('2026-07-01T09:00:00Z', 'Europe/Paris')?.toISOString()).toBe(
      '2026-07-01T09:00:00.000Z',
    )
    expect(parseDateTimeInput('2026-07-01T09:00:00+02:00', 'UTC')?.toISOString()).toBe(
      '2026-07-01T07:00:00.000Z',
    )
    expect(parseDateTimeInput('yesterday', 'UTC')).toBeUndefined()
    expect(parseDateTimeInput('2026-13-45T99:00', 'UTC')).toBeUndefined()
  })
})

describe('uptime', () => {
  it('counts partial and major outages against uptime, by day in the page zone', () => {
    const now = new Date('2026-06-10T12:00:00Z')
    const changes = [
      change('operational', '2026-01-01T00:00:00Z'),
      // 2 hours of major outage on 2026-06-05 (UTC) ...
      change('major_outage', '2026-06-05T10:00:00Z', 'inc000000001'),
      change('operational', '2026-06-05T12:00:00Z'),
      // ... and a degradation that does not count as downtime.
      change('degraded_performance', '2026-06-07T10:00:00Z'),
      change('operational', '2026-06-07T16:00:00Z'),
    ]
    const result = computeUptime(component('2026-01-01T00:00:00Z'), changes, 'UTC', now, 90)
    expect(result.days).toHaveLength(90)
    expect(result.days.at(-1)?.date).toBe('2026-06-10')
    const outageDay = result.days.find((d) => d.date === '2026-06-05')
    expect(outageDay?.worst).toBe('major_outage')
    expect(outageDay?.outageSeconds.major_outage).toBe(7200)
    expect(outageDay?.incidentIds).toEqual(['inc000000001'])
    expect(result.days.find((d) => d.date === '2026-06-07')?.worst).toBe('degraded_performance')
    const observedMs = 89 * 86_400_000 + 12 * 3_600_000
    expect(result.percent).toBe(Math.floor(((observedMs - 7_200_000) / observedMs) * 10_000) / 100)
  })

  it('splits an outage across local midnight in the page zone', () => {
    const now = new Date('2026-06-10T12:00:00Z')
    // 21:00–23:00 UTC is 23:00–01:00 in Paris (UTC+2): one hour on each local day.
    const changes = [
      change('operational', '2026-01-01T00:00:00Z'),
      change('partial_outage', '2026-06-05T21:00:00Z'),
      change('operational', '2026-06-05T23:00:00Z'),
    ]
    const paris = computeUptime(component('2026-01-01T00:00:00Z'), changes, 'Europe/Paris', now, 90)
    expect(paris.days.find((d) => d.date === '2026-06-05')?.outageSeconds.partial_outage).toBe(3600)
    expect(paris.days.find((d) => d.date === '2026-06-06')?.outageSeconds.partial_outage).toBe(3600)
    const utc = computeUptime(component('2026-01-01T00:00:00Z'), changes, 'UTC', now, 90)
    expect(utc.days.find((d) => d.date === '2026-06-05')?.outageSeconds.partial_outage).toBe(7200)
    expect(
      utc.days.find((d) => d.date === '2026-06-06')?.outageSeconds.partial_outage,
    ).toBeUndefined()
  })

  it('has no data before the component existed, unless it has an earlier start date', () => {
    const now = new Date('2026-06-10T12:00:00Z')
    const young = computeUptime(
      component('2026-06-08T00:00:00Z'),
      [change('operational', '2026-06-08T00:00:00Z')],
      'UTC',
      now,
      90,
    )
    expect(young.days.filter((d) => d.hasData).map((d) => d.date)).toEqual([
      '2026-06-08',
      '2026-06-09',
      '2026-06-10',
    ])
    expect(young.percent).toBe(100)
    const backdated = computeUptime(
      component('2026-06-08T00:00:00Z', '2026-05-01'),
      [change('operational', '2026-06-08T00:00:00Z')],
      'UTC',
      now,
      90,
    )
    expect(backdated.days.find((d) => d.date === '2026-05-01')?.hasData).toBe(true)
    expect(backdated.days.find((d) => d.date === '2026-04-30')?.hasData).toBe(false)
  })

  it('keeps an outage that began before the window and is still going on', () => {
    const now = new Date('2026-06-10T12:00:00Z')
    const changes = [change('major_outage', '2026-06-09T12:00:00Z')]
    const result = computeUptime(component('2026-01-01T00:00:00Z'), changes, 'UTC', now, 2)
    expect(result.days.map((d) => d.outageSeconds.major_outage)).toEqual([12 * 3600, 12 * 3600])
    expect(result.percent).toBe(33.33)
  })
})
