import type { Actor } from '../../src/domain/actor.js'
import type { Component, Page } from '../../src/domain/pages/types.js'
import type { TestApp } from './build-app.js'
import { createOwner, type CreatedOwner } from './factories.js'

let counter = 0

export function actorFor(userId: string): Actor {
  return { type: 'user', userId, sessionIdHash: 'test-session', ip: '127.0.0.1', userAgent: 'test' }
}

export interface PageFixture {
  owner: CreatedOwner
  actor: Actor
  page: Page
  /** Two groups and four components: api (in Core), web (in Core), eu and us (in Regions). */
  groups: { core: Component; regions: Component }
  components: { api: Component; web: Component; eu: Component; us: Component }
}

/** An account with a public page, two groups and four components, through the real services. */
export async function createPageFixture(
  t: TestApp,
  overrides: { slug?: string; timeZone?: string; locale?: 'en' | 'fr' } = {},
): Promise<PageFixture> {
  counter++
  const owner = await createOwner(t)
  const actor = actorFor(owner.userId)
  const { pages, components } = t.runtime.services
  const page = await pages.create(actor, owner.accountId, {
    name: `Acme Status ${String(counter)}`,
    slug: overrides.slug ?? `acme-${String(counter)}-${String(Date.now() % 100000)}`,
    timeZone: overrides.timeZone ?? 'UTC',
    locale: overrides.locale ?? 'en',
  })
  const core = await components.create(actor, page.id, { name: 'Core', isGroup: true })
  const regions = await components.create(actor, page.id, { name: 'Regions', isGroup: true })
  const api = await components.create(actor, page.id, {
    name: 'API',
    groupId: core.id,
    description: 'The public REST API',
  })
  const web = await components.create(actor, page.id, { name: 'Website', groupId: core.id })
  const eu = await components.create(actor, page.id, { name: 'EU', groupId: regions.id })
  const us = await components.create(actor, page.id, { name: 'US', groupId: regions.id })
  return { owner, actor, page, groups: { core, regions }, components: { api, web, eu, us } }
}
