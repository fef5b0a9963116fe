import { randomBytes } from 'node:crypto'
import type { Kysely } from 'kysely'
import { hashPassword } from '../../auth/passwords.js'
import type { KeyRing } from '../../crypto/key-ring.js'
import type { DatabaseSchema } from '../../db/schema.js'
import { createAccountWithOwner } from '../accounts/account-service.js'
import { findUserByEmail } from '../accounts/user-repository.js'
import type { Actor } from '../actor.js'
import type { Clock } from '../clock.js'
import { recordStatusChange, type ComponentService } from './component-service.js'
import type { IncidentService } from './incident-service.js'
import type { PageService } from './page-service.js'
import { addDays, zonedDate } from './time-zone.js'
import type { ComponentStatus } from './types.js'

export const DEMO_SLUG = 'demo'
const DEMO_OWNER_EMAIL = 'demo-owner@example.invalid'

export interface DemoDeps {
  db: Kysely<DatabaseSchema>
  keyRing: KeyRing
  clock: Clock
  pages: PageService
  components: ComponentService
  incidents: IncidentService
}

/**
 * Creates the "Demo" account and its public page `demo`, once: running it again finds the page and
 * changes nothing. The history is generated from a fixed seed so every install shows the same bars.
 */
export async function seedDemo(deps: DemoDeps): Promise<{ pageId: string; created: boolean }> {
  const { db, keyRing, clock } = deps
  const existing = await db
    .selectFrom('pages')
    .select('id')
    .where('slug', '=', DEMO_SLUG)
    .executeTakeFirst()
  if (existing !== undefined) return { pageId: existing.id, created: false }

  const now = clock.now()
  let owner = await findUserByEmail(db, keyRing, DEMO_OWNER_EMAIL)
  let accountId: string
  if (owner === undefined) {
    // Nobody knows this password: the demo owner exists to own the account, not to sign in.
    const passwordHash = await hashPassword(randomBytes(32).toString('base64url'))
    const created = await db
      .transaction()
      .execute((trx) =>
        createAccountWithOwner(
          trx,
          keyRing,
          { accountName: 'Demo', name: 'Demo owner', email: DEMO_OWNER_EMAIL, passwordHash },
          now,
        ),
      )
    owner = { ...created.user, passwordHash }
    accountId = created.account.id
  } else {
    const membership = await db
      .selectFrom('memberships')
      .select('account_id')
      .where('user_id', '=', owner.id)
      .where('role', '=', 'owner')
      .executeTakeFirstOrThrow()
    accountId = membership.account_id
  }
  const actor: Actor = {
    type: 'user',
    userId: owner.id,
    sessionIdHash: 'demo',
    ip: '127.0.0.1',
    userAgent: 'candor demo',
  }

  const page = await deps.pages.create(actor, accountId, {
    name: 'Demo',
    slug: DEMO_SLUG,
    timeZone: 'Europe/Paris',
    locale: 'en',
  })
  await deps.pages.update(actor, page.id, {
    supportUrl: 'https://example.com/support',
    homepageUrl: 'https://example.com',
  })
  const start = addDays(zonedDate(now, 'UTC'), -95)
  const core = await deps.components.create(actor, page.id, {
    name: 'Core platform',
    isGroup: true,
  })
  const notifications = await deps.components.create(actor, page.id, {
    name: 'Notifications',
    isGroup: true,
  })
  const make = (name: string, groupId: string, description: string) =>
    deps.components.create(actor, page.id, { name, groupId, description, startDate: start })
  const api = await make('API', core.id, 'The public REST API and its SDKs')
  const website = await make('Website', core.id, 'Marketing site and documentation')
  const dashboard = await make('Dashboard', core.id, 'The web application')
  const email = await make('Email', notifications.id, 'Transactional email delivery')
  const webhooks = await make('Webhooks', notifications.id, 'Outgoing webhook delivery')
  const sms = await make('SMS', notifications.id, 'Text message delivery')

  // 90 days of small, realistic blips, from a deterministic generator.
  let seed = 20261125
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
    return seed / 2_147_483_648
  }
  for (const component of [api, website, dashboard, email, webhooks, sms]) {
    for (let day = 89; day >= 1; day--) {
      const roll = random()
      if (roll > 0.06) continue
      const status: ComponentStatus =
        roll < 0.01 ? 'major_outage' : roll < 0.03 ? 'partial_outage' : 'degraded_performance'
      const from = new Date(
        now.getTime() - day * 86_400_000 + Math.floor(random() * 20) * 3_600_000,
      )
      const minutes = 10 + Math.floor(random() * 170)
      await recordStatusChange(db, component.id, status, from, null)
      await recordStatusChange(
        db,
        component.id,
        'operational',
        new Date(from.getTime() + minutes * 60_000),
        null,
      )
    }
  }

  const resolvedAt = new Date(now.getTime() - 12 * 86_400_000)
  const past = await deps.incidents.create(actor, page.id, {
    name: 'Delayed email notifications',
    status: 'investigating',
    impact: 'minor',
    body: 'Some emails are arriving **late**. We are investigating.',
    components: { [email.id]: 'degraded_performance' },
    deliverNotifications: false,
    displayAt: new Date(resolvedAt.getTime() - 2 * 3_600_000).toISOString(),
  })
  await deps.incidents.addUpdate(actor, past.id, {
    status: 'identified',
    body: 'A mail relay was rate-limiting us. We moved traffic to another relay.',
    deliverNotifications: false,
    displayAt: new Date(resolvedAt.getTime() - 3_600_000).toISOString(),
  })
  await deps.incidents.addUpdate(actor, past.id, {
    status: 'resolved',
    body: 'All delayed emails have been delivered.',
    components: { [email.id]: 'operational' },
    deliverNotifications: false,
    displayAt: resolvedAt.toISOString(),
  })

  const open = await deps.incidents.create(actor, page.id, {
    name: 'Elevated API error rates',
    status: 'investigating',
    impact: 'major',
    body: 'We are seeing elevated error rates on the API and are investigating.',
    components: { [api.id]: 'partial_outage', [webhooks.id]: 'degraded_performance' },
    deliverNotifications: false,
    displayAt: new Date(now.getTime() - 45 * 60_000).toISOString(),
  })
  await deps.incidents.addUpdate(actor, open.id, {
    status: 'identified',
    body: 'The cause is a failing database replica. We are moving traffic away from it.',
    deliverNotifications: false,
    displayAt: new Date(now.getTime() - 15 * 60_000).toISOString(),
  })

  const maintenanceStart = new Date(
    Math.ceil((now.getTime() + 3 * 86_400_000) / 3_600_000) * 3_600_000,
  )
  await deps.incidents.scheduleMaintenance(actor, page.id, {
    name: 'Dashboard database upgrade',
    body: 'We are upgrading the dashboard database. The dashboard may be read-only for a few minutes.',
    scheduledFor: maintenanceStart.toISOString(),
    scheduledUntil: new Date(maintenanceStart.getTime() + 2 * 3_600_000).toISOString(),
    componentIds: [dashboard.id],
    deliverNotifications: false,
  })
  return { pageId: page.id, created: true }
}
