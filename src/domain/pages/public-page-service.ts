import type { Kysely } from 'kysely'
import { verifyPassword } from '../../auth/passwords.js'
import { assertNotThrottled, recordFailure, type ThrottleRule } from '../../auth/throttle.js'
import type { DatabaseSchema } from '../../db/schema.js'
import { findMembership } from '../accounts/membership-repository.js'
import type { Clock } from '../clock.js'
import { isIpAllowed } from './page-service.js'
import {
  findPageRow,
  listComponents,
  loadIncidents,
  loadStatusChanges,
  pageHasLogo,
  toPage,
} from './page-repository.js'
import { INDICATOR_DESCRIPTIONS, groupStatus, isIncidentOpen, pageIndicator } from './status.js'
import { addDays, startOfZonedDay, zonedDate } from './time-zone.js'
import { computeUptime, UPTIME_DAYS } from './uptime.js'
import type { PageSnapshot, Visibility } from './types.js'

type Db = Kysely<DatabaseSchema>

export interface PageAddress {
  pageId: string
  accountId: string
  slug: string
  visibility: Visibility
  ipAllowlist: string[]
  version: number
}

const PASSWORD_RULE: ThrottleRule = {
  maxFailures: 10,
  windowMs: 15 * 60_000,
  blockMs: 60_000,
  maxBlockMs: 30 * 60_000,
}

export type PublicPageService = ReturnType<typeof createPublicPageService>

/** Read side of the public surfaces: finding a page by address, access checks, and snapshots. */
export function createPublicPageService({ db, clock }: { db: Db; clock: Clock }) {
  function toAddress(row: {
    id: string
    account_id: string
    slug: string
    visibility: Visibility
    ip_allowlist: string
    version: number
  }): PageAddress {
    return {
      pageId: row.id,
      accountId: row.account_id,
      slug: row.slug,
      visibility: row.visibility,
      ipAllowlist: JSON.parse(row.ip_allowlist) as string[],
      version: row.version,
    }
  }

  const addressColumns = [
    'id',
    'account_id',
    'slug',
    'visibility',
    'ip_allowlist',
    'version',
  ] as const

  async function findBySlug(slug: string): Promise<PageAddress | undefined> {
    if (slug.length > 64) return undefined
    const row = await db
      .selectFrom('pages')
      .select(addressColumns)
      .where('slug', '=', slug.toLowerCase())
      .executeTakeFirst()
    return row === undefined ? undefined : toAddress(row)
  }

  async function findByDomain(host: string): Promise<PageAddress | undefined> {
    if (host.length > 253) return undefined
    const row = await db
      .selectFrom('pages')
      .select(addressColumns)
      .where('custom_domain', '=', host.toLowerCase())
      .executeTakeFirst()
    return row === undefined ? undefined : toAddress(row)
  }

  async function findById(pageId: string): Promise<PageAddress | undefined> {
    const row = await db
      .selectFrom('pages')
      .select(addressColumns)
      .where('id', '=', pageId)
      .executeTakeFirst()
    return row === undefined ? undefined : toAddress(row)
  }

  async function versions(pageIds: readonly string[]): Promise<Map<string, number>> {
    if (pageIds.length === 0) return new Map()
    const rows = await db
      .selectFrom('pages')
      .select(['id', 'version'])
      .where('id', 'in', [...pageIds])
      .execute()
    return new Map(rows.map((r) => [r.id, r.version]))
  }

  async function isTeamMember(userId: string, accountId: string): Promise<boolean> {
    return (await findMembership(db, accountId, userId)) !== undefined
  }

  function isAddressAllowed(address: PageAddress, ip: string): boolean {
    return isIpAllowed(ip, address.ipAllowlist)
  }

  /** Checks a page password, throttled per page and client address. */
  async function checkPassword(pageId: string, password: string, ip: string): Promise<boolean> {
    const now = clock.now()
    const key = `page-password:${pageId}:${ip}`
    await assertNotThrottled(db, [key], now)
    const row = await findPageRow(db, pageId)
    const ok =
      row?.password_hash != null &&
      password.length <= 128 &&
      (await verifyPassword(row.password_hash, password))
    if (!ok) await recordFailure(db, key, PASSWORD_RULE, now)
    return ok
  }

  /** A fingerprint of the page password, so that changing it invalidates earlier access cookies. */
  async function passwordFingerprint(pageId: string): Promise<string | undefined> {
    const row = await findPageRow(db, pageId)
    return row?.password_hash ?? undefined
  }

  async function logo(pageId: string): Promise<{ contentType: string; data: Buffer } | undefined> {
    const row = await db
      .selectFrom('page_logos')
      .select(['content_type', 'data'])
      .where('page_id', '=', pageId)
      .executeTakeFirst()
    return row === undefined
      ? undefined
      : { contentType: row.content_type, data: Buffer.from(row.data) }
  }

  /**
   * The page with the incidents and maintenances that started in the `months` calendar months
   * ending with `lastMonth` (YYYY-MM, in the page's time zone): the history archive's data.
   */
  async function archive(
    pageId: string,
    requestedMonth: string | undefined,
    months: number,
  ): Promise<PageSnapshot | undefined> {
    const row = await findPageRow(db, pageId)
    if (row === undefined) return undefined
    const current = zonedDate(clock.now(), row.time_zone).slice(0, 7)
    const lastMonth =
      requestedMonth !== undefined &&
      /^\d{4}-(0[1-9]|1[0-2])$/.test(requestedMonth) &&
      requestedMonth < current
        ? requestedMonth
        : current
    const [year = 1970, month = 1] = lastMonth.split('-').map(Number)
    const firstIndex = year * 12 + month - 1 - (months - 1)
    const first = `${String(Math.floor(firstIndex / 12)).padStart(4, '0')}-${String((firstIndex % 12) + 1).padStart(2, '0')}-01`
    const afterIndex = year * 12 + month
    const after = `${String(Math.floor(afterIndex / 12)).padStart(4, '0')}-${String((afterIndex % 12) + 1).padStart(2, '0')}-01`
    const from = startOfZonedDay(first, row.time_zone)
    const to = startOfZonedDay(after, row.time_zone)
    return snapshot(pageId, { from, to })
  }

  async function snapshot(
    pageId: string,
    window?: { from: Date; to: Date },
  ): Promise<PageSnapshot | undefined> {
    const row = await findPageRow(db, pageId)
    if (row === undefined) return undefined
    const now = clock.now()
    const page = toPage(row, await pageHasLogo(db, pageId))
    const components = await listComponents(db, pageId)
    for (const component of components)
      if (component.isGroup) component.status = groupStatus(component, components)

    const inWindow = (kind: 'incident' | 'maintenance') =>
      db
        .selectFrom('incidents')
        .selectAll()
        .where('page_id', '=', pageId)
        .where('kind', '=', kind)
        .where((eb) => {
          const start = eb.fn.coalesce('scheduled_for', 'started_at')
          return eb.and([
            eb(start, '>=', window?.from.toISOString() ?? ''),
            eb(start, '<', window?.to.toISOString() ?? ''),
          ])
        })
        .orderBy('started_at', 'desc')
        .limit(1000)
        .execute()
    /** The open ones and the 50 most recent, of incidents or of maintenances. */
    const openOrRecent = (kind: 'incident' | 'maintenance') => {
      const closed = kind === 'incident' ? ['resolved', 'false_alarm'] : ['completed']
      const order = kind === 'incident' ? 'started_at' : 'scheduled_for'
      return db
        .selectFrom('incidents')
        .selectAll()
        .where('page_id', '=', pageId)
        .where('kind', '=', kind)
        .where((eb) =>
          eb.or([
            eb('status', 'not in', closed),
            eb(
              'id',
              'in',
              eb
                .selectFrom('incidents as recent')
                .select('recent.id')
                .where('recent.page_id', '=', pageId)
                .where('recent.kind', '=', kind)
                .orderBy(`recent.${order}`, 'desc')
                .limit(50),
            ),
          ]),
        )
        .orderBy(order, 'desc')
        .execute()
    }
    const [incidentRows, maintenanceRows] =
      window === undefined
        ? [await openOrRecent('incident'), await openOrRecent('maintenance')]
        : [await inWindow('incident'), await inWindow('maintenance')]
    const [incidents, maintenances] = await Promise.all([
      loadIncidents(db, incidentRows),
      loadIncidents(db, maintenanceRows),
    ])

    const windowStart = startOfZonedDay(
      addDays(zonedDate(now, page.timeZone), -UPTIME_DAYS),
      page.timeZone,
    )
    const leaves = components.filter((c) => !c.isGroup)
    const changes = await loadStatusChanges(
      db,
      leaves.map((c) => c.id),
      windowStart,
    )
    const uptime = leaves.map((component) => computeUptime(component, changes, page.timeZone, now))
    for (const entry of uptime) {
      for (const day of entry.days) {
        const ids = new Set(day.incidentIds)
        for (const incident of incidents) {
          if (!incident.componentIds.includes(entry.componentId)) continue
          const from = zonedDate(incident.startedAt, page.timeZone)
          const to = zonedDate(incident.resolvedAt ?? now, page.timeZone)
          if (from <= day.date && day.date <= to) ids.add(incident.id)
        }
        day.incidentIds = [...ids]
      }
    }

    const indicator = pageIndicator(components, incidents.filter(isIncidentOpen), maintenances)
    return {
      page,
      components,
      incidents,
      maintenances,
      uptime,
      status: { indicator, description: INDICATOR_DESCRIPTIONS[indicator] },
      version: row.version,
      generatedAt: now,
    }
  }

  return {
    findBySlug,
    findByDomain,
    findById,
    versions,
    isTeamMember,
    isAddressAllowed,
    checkPassword,
    passwordFingerprint,
    logo,
    snapshot: (pageId: string) => snapshot(pageId),
    archive,
  }
}
