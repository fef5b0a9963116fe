const formatters = new Map<string, Intl.DateTimeFormat>()

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone)
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    })
    formatters.set(timeZone, formatter)
  }
  return formatter
}

export function isValidTimeZone(timeZone: string): boolean {
  if (timeZone.length === 0 || timeZone.length > 64) return false
  try {
    formatterFor(timeZone)
    return true
  } catch {
    return false
  }
}

interface ZonedParts {
  year: number
  month: number
  day: number
  hour: number
  minute: number
  second: number
}

function zonedParts(date: Date, timeZone: string): ZonedParts {
  const parts: Record<string, number> = {}
  for (const part of formatterFor(timeZone).formatToParts(date)) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value)
  }
  return {
    year: parts['year'] ?? 0,
    month: parts['month'] ?? 1,
    day: parts['day'] ?? 1,
    hour: parts['hour'] ?? 0,
    minute: parts['minute'] ?? 0,
    second: parts['second'] ?? 0,
  }
}

/** The zone's offset from UTC at that instant, in minutes (e.g. -420 for UTC-07:00). */
export function zoneOffsetMinutes(date: Date, timeZone: string): number {
  const p = zonedParts(date, timeZone)
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second)
  return Math.round((asUtc - Math.floor(date.getTime() / 1000) * 1000) / 60_000)
}

/** The calendar date (YYYY-MM-DD) of an instant in a time zone. */
export function zonedDate(date: Date, timeZone: string): string {
  const p = zonedParts(date, timeZone)
  return `${String(p.year).padStart(4, '0')}-${pad(p.month)}-${pad(p.day)}`
}

/**
 * The instant a local calendar day starts in a time zone. Days are 23 or 25 hours long across
 * daylight-saving changes, so the offset is looked up at the candidate instant, twice.
 */
export function startOfZonedDay(date: string, timeZone: string): Date {
  const key = `${timeZone}|${date}`
  const known = dayStarts.get(key)
  if (known !== undefined) return new Date(known)
  const start = computeStartOfZonedDay(date, timeZone)
  // Bounded: 90-day bars in a few zones need a few hundred entries; past this, start again.
  if (dayStarts.size > 50_000) dayStarts.clear()
  dayStarts.set(key, start.getTime())
  return start
}

/** Day starts never change, and uptime bars ask for the same ones on every render. */
const dayStarts = new Map<string, number>()

function computeStartOfZonedDay(date: string, timeZone: string): Date {
  const [year = 0, month = 1, day = 1] = date.split('-').map(Number)
  const localMidnightAsUtc = Date.UTC(year, month - 1, day)
  let guess = localMidnightAsUtc
  for (let i = 0; i < 3; i++) {
    const next = localMidnightAsUtc - zoneOffsetMinutes(new Date(guess), timeZone) * 60_000
    if (next === guess) break
    guess = next
  }
  return new Date(guess)
}

export function addDays(date: string, days: number): string {
  const [year = 0, month = 1, day = 1] = date.split('-').map(Number)
  const shifted = new Date(Date.UTC(year, month - 1, day + days))
  return shifted.toISOString().slice(0, 10)
}

const UTC_ZONES = new Set([
  'UTC',
  'Etc/UTC',
  'Etc/GMT',
  'GMT',
  'Etc/Universal',
  'Universal',
  'Etc/Zulu',
  'Zulu',
])

/** ISO 8601 with milliseconds and the zone's offset, the way Statuspage writes timestamps. */
export function formatInZone(date: Date, timeZone: string): string {
  const offset = zoneOffsetMinutes(date, timeZone)
  const local = new Date(date.getTime() + offset * 60_000).toISOString().slice(0, 23)
  if (offset === 0 && UTC_ZONES.has(timeZone)) return `${local}Z`
  const sign = offset < 0 ? '-' : '+'
  const abs = Math.abs(offset)
  return `${local}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
}

function pad(value: number): string {
  return String(value).padStart(2, '0')
}

/**
 * Reads a date-time typed by a person: ISO 8601 with an offset or Z is taken as is; a local
 * "YYYY-MM-DDTHH:mm" (an HTML datetime-local field) is read in the page's time zone.
 */
export function parseDateTimeInput(value: string, timeZone: string): Date | undefined {
  const text = value.trim()
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/.test(text)) {
    const date = new Date(text)
    return Number.isNaN(date.getTime()) ? undefined : date
  }
  const match = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?$/.exec(text)
  if (match === null) return undefined
  const [, y, mo, d, h, mi, s] = match.map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number | undefined,
  ]
  const seconds = s === undefined || Number.isNaN(s) ? 0 : s
  const asUtc = Date.UTC(y, mo - 1, d, h, mi, seconds)
  // Date.UTC rolls 2026-13-45 over into 2027: refuse anything that is not a real calendar time.
  const check = new Date(asUtc)
  if (
    check.getUTCFullYear() !== y ||
    check.getUTCMonth() !== mo - 1 ||
    check.getUTCDate() !== d ||
    check.getUTCHours() !== h ||
    check.getUTCMinutes() !== mi ||
    check.getUTCSeconds() !== seconds
  ) {
    return undefined
  }
  let guess = asUtc
  for (let i = 0; i < 3; i++) {
    const next = asUtc - zoneOffsetMinutes(new Date(guess), timeZone) * 60_000
    if (next === guess) break
    guess = next
  }
  return new Date(guess)
}

/** The value for an HTML datetime-local field showing an instant in a time zone. */
export function toDateTimeInput(date: Date, timeZone: string): string {
  return formatInZone(date, timeZone).slice(0, 16)
}
