import ipaddr from 'ipaddr.js'
import type { Kysely } from 'kysely'
import { hashPassword } from '../../auth/passwords.js'
import { generateId } from '../../crypto/tokens.js'
import type { DatabaseSchema } from '../../db/schema.js'
import { authorize, reachablePageIds } from '../accounts/authorization.js'
import type { Actor } from '../actor.js'
import { auditOrigin, type AuditLog } from '../audit/audit-log.js'
import type { Clock } from '../clock.js'
import { requireRecentAuthentication } from '../accounts/reauthentication.js'
import { ConflictError, ForbiddenError, ValidationError } from '../errors.js'
import { InputChecker } from '../validation.js'
import { CUSTOM_CSS_MAX_BYTES, sanitizeCustomCss } from './css-sanitizer.js'
import { requirePageRole } from './page-access.js'
import type { PageEvents } from './page-events.js'
import { bumpPageVersion, findPageRow, pageHasLogo, toPage } from './page-repository.js'
import { isValidTimeZone } from './time-zone.js'
import { LOCALES, VISIBILITIES, type Locale, type Page, type Visibility } from './types.js'

export const SLUG_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?$/
const RESERVED_SLUGS = new Set([
  'www',
  'api',
  'app',
  'admin',
  'dashboard',
  'login',
  'status',
  'mail',
  'static',
  'assets',
  'help',
  'docs',
])
export const LOGO_MAX_BYTES = 512 * 1024
const LOGO_SIGNATURES: { type: string; bytes: number[] }[] = [
  { type: 'image/png', bytes: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] },
  { type: 'image/jpeg', bytes: [0xff, 0xd8, 0xff] },
  { type: 'image/gif', bytes: [0x47, 0x49, 0x46, 0x38] },
  { type: 'image/webp', bytes: [0x52, 0x49, 0x46, 0x46] },
]

export interface PageInput {
  name?: unknown
  slug?: unknown
  timeZone?: unknown
  locale?: unknown
  brandColor?: unknown
  customCss?: unknown
  supportUrl?: unknown
  homepageUrl?: unknown
  customDomain?: unknown
}

export interface PageAccessInput {
  visibility?: unknown
  password?: unknown
  ipAllowlist?: unknown
}

export type PageService = ReturnType<typeof createPageService>

export function createPageService({
  db,
  clock,
  events,
  audit,
}: {
  db: Kysely<DatabaseSchema>
  clock: Clock
  events: PageEvents
  audit: AuditLog
}) {
  function pageTarget(pageId: string) {
    return { type: 'page', id: pageId }
  }

  async function list(actor: Actor, accountId: string): Promise<Page[]> {
    const membership = await authorize(db, actor, accountId, 'page.read')
    const visible = reachablePageIds(membership, actor)
    let query = db.selectFrom('pages').selectAll().where('account_id', '=', accountId)
    if (visible !== null)
      query = query.where('id', 'in', visible.length === 0 ? [''] : [...visible])
    const rows = await query.orderBy('name').execute()
    const logos = await db
      .selectFrom('page_logos')
      .select('page_id')
      .where('page_id', 'in', rows.length === 0 ? [''] : rows.map((r) => r.id))
      .execute()
    return rows.map((row) =>
      toPage(
        row,
        logos.some((l) => l.page_id === row.id),
      ),
    )
  }

  async function get(actor: Actor, pageId: string): Promise<Page> {
    const row = await requirePageRole(db, actor, pageId, 'page.read')
    return toPage(row, await pageHasLogo(db, pageId))
  }

  async function create(actor: Actor, accountId: string, input: PageInput): Promise<Page> {
    const membership = await authorize(db, actor, accountId, 'page.create')
    if (membership.pageIds !== null)
      throw new ForbiddenError(
        'You are limited to some pages of this account and cannot create new ones.',
      )
    const checker = new InputChecker()
    const name = checker.text('name', input.name, { label: 'Name', max: 100 })
    const slug = checkSlug(checker, input.slug)
    const timeZone = checkTimeZone(checker, input.timeZone ?? 'UTC')
    const locale = checkLocale(checker, input.locale ?? 'en')
    checker.assertValid()
    const now = clock.now()
    const id = generateId()
    await assertSlugFree(slug)
    try {
      await db.transaction().execute(async (trx) => {
        await trx
          .insertInto('pages')
          .values({
            id,
            account_id: accountId,
            name,
            slug,
            time_zone: timeZone,
            locale,
            visibility: 'public',
            password_hash: null,
            ip_allowlist: '[]',
            brand_color: '#0a5bd3',
            custom_css: '',
            support_url: null,
            homepage_url: null,
            custom_domain: null,
            version: 1,
            created_at: now,
            updated_at: now,
          })
          .execute()
        await audit.record(trx, {
          accountId,
          ...auditOrigin(actor),
          action: 'page.created',
          target: pageTarget(id),
          details: { slug },
        })
      })
    } catch (error) {
      if ((await findSlugOwner(slug)) !== undefined) throw slugTaken()
      throw error
    }
    events.changed(id)
    return get(actor, id)
  }

  async function update(actor: Actor, pageId: string, input: PageInput): Promise<Page> {
    const current = await requirePageRole(db, actor, pageId, 'page.update')
    const checker = new InputChecker()
    const patch: Partial<{
      name: string
      slug: string
      time_zone: string
      locale: Locale
      brand_color: string
      custom_css: string
      support_url: string | null
      homepage_url: string | null
      custom_domain: string | null
    }> = {}
    if (input.name !== undefined)
      patch.name = checker.text('name', input.name, { label: 'Name', max: 100 })
    if (input.slug !== undefined) patch.slug = checkSlug(checker, input.slug)
    if (input.timeZone !== undefined) patch.time_zone = checkTimeZone(checker, input.timeZone)
    if (input.locale !== undefined) patch.locale = checkLocale(checker, input.locale)
    if (input.brandColor !== undefined) {
      const color =
        typeof input.brandColor === 'string' ? input.brandColor.trim().toLowerCase() : ''
      if (!/^#[0-9a-f]{6}$/.test(color)) checker.add('brandColor', 'Use a colour like #0a5bd3.')
      patch.brand_color = color
    }
    if (input.customCss !== undefined) {
      const raw = typeof input.customCss === 'string' ? input.customCss : ''
      if (Buffer.byteLength(raw) > CUSTOM_CSS_MAX_BYTES)
        checker.add(
          'customCss',
          `Custom CSS is limited to ${String(CUSTOM_CSS_MAX_BYTES / 1000)} kB.`,
        )
      else patch.custom_css = sanitizeCustomCss(raw).css
    }
    if (input.supportUrl !== undefined)
      patch.support_url = checkUrl(checker, 'supportUrl', input.supportUrl)
    if (input.homepageUrl !== undefined)
      patch.homepage_url = checkUrl(checker, 'homepageUrl', input.homepageUrl)
    if (input.customDomain !== undefined)
      patch.custom_domain = checkDomain(checker, input.customDomain)
    checker.assertValid()
    if (patch.slug !== undefined && patch.slug !== current.slug) await assertSlugFree(patch.slug)
    if (patch.custom_domain != null && patch.custom_domain !== current.custom_domain) {
      const other = await db
        .selectFrom('pages')
        .select('id')
        .where('custom_domain', '=', patch.custom_domain)
        .executeTakeFirst()
      if (other !== undefined)
        throw new ConflictError('domain_taken', 'Another status page already uses this domain.')
    }
    const now = clock.now()
    await db.transaction().execute(async (trx) => {
      if (Object.keys(patch).length > 0)
        await trx.updateTable('pages').set(patch).where('id', '=', pageId).execute()
      await bumpPageVersion(trx, pageId, now)
      await audit.record(trx, {
        accountId: current.account_id,
        ...auditOrigin(actor),
        action: 'page.updated',
        target: pageTarget(pageId),
        details: { fields: Object.keys(patch).sort() },
      })
    })
    events.changed(pageId)
    return get(actor, pageId)
  }

  async function updateAccess(actor: Actor, pageId: string, input: PageAccessInput): Promise<Page> {
    const current = await requirePageRole(db, actor, pageId, 'page.access')
    const checker = new InputChecker()
    const visibility =
      typeof input.visibility === 'string' &&
      (VISIBILITIES as readonly string[]).includes(input.visibility)
        ? (input.visibility as Visibility)
        : undefined
    if (visibility === undefined)
      checker.add('visibility', `Choose one of: ${VISIBILITIES.join(', ')}.`)
    let passwordHash: string | null | undefined
    const password = typeof input.password === 'string' ? input.password : ''
    if (visibility === 'password') {
      if (password === '' && current.password_hash === null)
        checker.add('password', 'Set a password for the page.')
      else if (password !== '' && (password.length < 8 || password.length > 128))
        checker.add('password', 'Use 8 to 128 characters.')
      else if (password !== '') passwordHash = await hashPassword(password)
    }
    let allowlist: string[] | undefined
    if (input.ipAllowlist !== undefined || visibility === 'ip') {
      const raw = typeof input.ipAllowlist === 'string' ? input.ipAllowlist : ''
      allowlist = raw.split(/[\s,]+/).filter((entry) => entry !== '')
      const invalid = allowlist.filter((entry) => !isValidCidr(entry))
      if (invalid.length > 0)
        checker.add(
          'ipAllowlist',
          `Not an IP address or CIDR range: ${invalid.slice(0, 3).join(', ')}.`,
        )
      else if (allowlist.length > 100) checker.add('ipAllowlist', 'At most 100 ranges.')
      else if (visibility === 'ip' && allowlist.length === 0)
        checker.add('ipAllowlist', 'List at least one address or range.')
    }
    checker.assertValid()
    const now = clock.now()
    await db.transaction().execute(async (trx) => {
      await trx
        .updateTable('pages')
        .set({
          visibility: visibility ?? current.visibility,
          ...(passwordHash === undefined ? {} : { password_hash: passwordHash }),
          ...(allowlist === undefined
            ? {}
            : { ip_allowlist: JSON.stringify(allowlist.map(normaliseCidr)) }),
        })
        .where('id', '=', pageId)
        .execute()
      await bumpPageVersion(trx, pageId, now)
      await audit.record(trx, {
        accountId: current.account_id,
        ...auditOrigin(actor),
        action: 'page.access_changed',
        target: pageTarget(pageId),
        details: {
          visibility: visibility ?? current.visibility,
          passwordChanged: passwordHash !== undefined,
          ...(allowlist === undefined ? {} : { ipRanges: allowlist.length }),
        },
      })
    })
    events.changed(pageId)
    return get(actor, pageId)
  }

  async function setLogo(
    actor: Actor,
    pageId: string,
    file: { contentType: string; data: Buffer } | null,
  ): Promise<void> {
    const page = await requirePageRole(db, actor, pageId, 'page.update')
    const now = clock.now()
    const recordLogo = (trx: Kysely<DatabaseSchema>, action: string) =>
      audit.record(trx, {
        accountId: page.account_id,
        ...auditOrigin(actor),
        action,
        target: pageTarget(pageId),
      })
    if (file !== null) {
      if (file.data.length === 0) throw new ValidationError({ logo: 'The file is empty.' })
      if (file.data.length > LOGO_MAX_BYTES)
        throw new ValidationError({
          logo: `The logo must be at most ${String(LOGO_MAX_BYTES / 1024)} KiB.`,
        })
      const detected = LOGO_SIGNATURES.find((s) =>
        s.bytes.every((byte, i) => file.data[i] === byte),
      )
      if (
        detected === undefined ||
        (detected.type === 'image/webp' && file.data.subarray(8, 12).toString('latin1') !== 'WEBP')
      ) {
        throw new ValidationError({ logo: 'Upload a PNG, JPEG, GIF or WebP image.' })
      }
      await db.transaction().execute(async (trx) => {
        await trx
          .insertInto('page_logos')
          .values({
            page_id: pageId,
            content_type: detected.type,
            data: file.data,
            updated_at: now,
          })
          .onConflict((oc) =>
            oc
              .column('page_id')
              .doUpdateSet({ content_type: detected.type, data: file.data, updated_at: now }),
          )
          .execute()
        await bumpPageVersion(trx, pageId, now)
        await recordLogo(trx, 'page.logo_changed')
      })
    } else {
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('page_logos').where('page_id', '=', pageId).execute()
        await bumpPageVersion(trx, pageId, now)
        await recordLogo(trx, 'page.logo_removed')
      })
    }
    events.changed(pageId)
  }

  /** Deleting a page is for the owner only: it takes its history and subscribers with it. */
  async function remove(actor: Actor, pageId: string): Promise<void> {
    const page = await requirePageRole(db, actor, pageId, 'page.delete')
    requireRecentAuthentication(actor, clock)
    await db.transaction().execute(async (trx) => {
      // A member limited to this page alone would be left with no limit rows, which means every
      // page: their access must be changed first.
      const limited = await trx
        .selectFrom('membership_pages as mine')
        .select('mine.user_id')
        .where('mine.page_id', '=', pageId)
        .where((eb) =>
          eb.not(
            eb.exists(
              eb
                .selectFrom('membership_pages as other')
                .select('other.page_id')
                .whereRef('other.account_id', '=', 'mine.account_id')
                .whereRef('other.user_id', '=', 'mine.user_id')
                .where('other.page_id', '!=', pageId),
            ),
          ),
        )
        .execute()
      if (limited.length > 0)
        throw new ConflictError(
          'members_limited_to_page',
          `${String(limited.length)} member(s) can reach only this page. Change their page access on the team page before deleting it.`,
        )
      await trx.deleteFrom('pages').where('id', '=', pageId).execute()
      await audit.record(trx, {
        accountId: page.account_id,
        ...auditOrigin(actor),
        action: 'page.deleted',
        target: pageTarget(pageId),
        details: { slug: page.slug, name: page.name },
      })
    })
    events.changed(pageId)
  }

  async function findSlugOwner(slug: string) {
    return db.selectFrom('pages').select('id').where('slug', '=', slug).executeTakeFirst()
  }

  async function assertSlugFree(slug: string): Promise<void> {
    if ((await findSlugOwner(slug)) !== undefined) throw slugTaken()
  }

  return {
    list,
    get,
    create,
    update,
    updateAccess,
    setLogo,
    remove,
    findRow: (pageId: string) => findPageRow(db, pageId),
  }
}

function slugTaken(): ConflictError {
  return new ConflictError('slug_taken', 'This address is already taken by another status page.')
}

function checkSlug(checker: InputChecker, value: unknown): string {
  const slug = typeof value === 'string' ? value.trim().toLowerCase() : ''
  if (!SLUG_PATTERN.test(slug))
    checker.add(
      'slug',
      'Use 1 to 48 lowercase letters, digits and hyphens (not at the start or end).',
    )
  else if (RESERVED_SLUGS.has(slug))
    checker.add('slug', 'This address is reserved. Choose another.')
  return slug
}

function checkTimeZone(checker: InputChecker, value: unknown): string {
  const zone = typeof value === 'string' ? value.trim() : ''
  if (!isValidTimeZone(zone))
    checker.add('timeZone', 'Choose a time zone such as Europe/Paris or America/New_York.')
  return zone
}

function checkLocale(checker: InputChecker, value: unknown): Locale {
  if (typeof value === 'string' && (LOCALES as readonly string[]).includes(value))
    return value as Locale
  checker.add('locale', `Choose one of: ${LOCALES.join(', ')}.`)
  return 'en'
}

function checkUrl(checker: InputChecker, field: string, value: unknown): string | null {
  const text = typeof value === 'string' ? value.trim() : ''
  if (text === '') return null
  try {
    const url = new URL(text)
    if ((url.protocol === 'https:' || url.protocol === 'http:') && text.length <= 500)
      return url.toString()
  } catch {
    // reported below
  }
  checker.add(field, 'Enter a full http:// or https:// address.')
  return null
}

function checkDomain(checker: InputChecker, value: unknown): string | null {
  const text = typeof value === 'string' ? value.trim().toLowerCase().replace(/\.$/, '') : ''
  if (text === '') return null
  if (
    text.length > 253 ||
    !/^(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))+$/.test(text)
  ) {
    checker.add('customDomain', 'Enter a domain name such as status.example.com.')
    return null
  }
  return text
}

export function isValidCidr(entry: string): boolean {
  try {
    if (entry.includes('/')) ipaddr.parseCIDR(entry)
    else ipaddr.parse(entry)
    return true
  } catch {
    return false
  }
}

function normaliseCidr(entry: string): string {
  if (entry.includes('/')) {
    const [address, bits] = ipaddr.parseCIDR(entry)
    return `${address.toString()}/${String(bits)}`
  }
  const address = ipaddr.parse(entry)
  return `${address.toString()}/${address.kind() === 'ipv4' ? '32' : '128'}`
}

/** True when the client address falls in one of the page's ranges (IPv4-mapped IPv6 included). */
export function isIpAllowed(ip: string, allowlist: readonly string[]): boolean {
  let address: ipaddr.IPv4 | ipaddr.IPv6
  try {
    address = ipaddr.process(ip)
  } catch {
    return false
  }
  return allowlist.some((entry) => {
    try {
      const [range, bits] = ipaddr.parseCIDR(entry)
      return (
        address.kind() === range.kind() && address.match([range, bits] as [typeof address, number])
      )
    } catch {
      return false
    }
  })
}
