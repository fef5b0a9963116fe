import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hashPassword } from '../../src/auth/passwords.js'
import { generateId } from '../../src/crypto/tokens.js'
import { insertMembership } from '../../src/domain/accounts/membership-repository.js'
import { insertUser } from '../../src/domain/accounts/user-repository.js'
import type { Actor } from '../../src/domain/actor.js'
import { ForbiddenError, NotFoundError } from '../../src/domain/errors.js'
import { meetsRequirement, POLICY, ruleOf, type PolicyAction } from '../../src/domain/policy.js'
import type { Role } from '../../src/domain/roles.js'
import { sendAlert } from '../alerts/alert-helpers.js'
import { alertmanagerBody } from '../alerts/payloads.js'
import { registeredRoutes } from '../api/harness.js'
import { browserFor, multipartBody, tinyPng } from '../dashboard/dashboard-helpers.js'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import type { TestBrowser } from '../helpers/browser.js'
import { createOwner, DEFAULT_PASSWORD, type CreatedOwner } from '../helpers/factories.js'
import { actorFor } from '../helpers/page-factories.js'
import { TestIdp } from '../helpers/saml-idp.js'
import { testDialects } from '../helpers/test-db.js'

/**
 * Every dashboard route, for every role and for a member of another account, against the one
 * declared policy (src/domain/policy.ts): allowed means not refused, a role too small gets 403,
 * another account 404. Expectations come from POLICY itself, never from a second list here.
 */

/** Routes that belong to an account; each must declare its policy action. */
const ACCOUNT_SCOPED = /^\/(a|pages|components|incidents)\//

interface DeclaredRoute {
  method: 'GET' | 'POST'
  url: string
  action: PolicyAction | undefined
  bodySchema: unknown
}

interface Member {
  name: string
  role: Role
  canInvite: boolean
  login: { email: string; password: string }
  userId: string
  browser?: TestBrowser
}

/** The records a route's parameters name, made through the services as the owner. */
type World = Record<string, string>

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The smallest value of a JSON schema that validates: form fields are strings or literals. */
function sampleOf(schema: unknown): unknown {
  if (!isRecord(schema)) return 'x'
  if ('const' in schema) return schema['const']
  const anyOf = schema['anyOf']
  if (Array.isArray(anyOf)) return sampleOf(anyOf[0])
  switch (schema['type']) {
    case 'array':
      return []
    case 'object':
      return requiredFields(schema)
    default: {
      const min = typeof schema['minLength'] === 'number' ? schema['minLength'] : 1
      return 'x'.repeat(Math.max(1, min))
    }
  }
}

function requiredFields(schema: unknown): Record<string, unknown> {
  if (!isRecord(schema) || !isRecord(schema['properties'])) return {}
  const properties = schema['properties']
  const required = Array.isArray(schema['required']) ? schema['required'] : []
  const body: Record<string, unknown> = {}
  for (const name of required)
    if (typeof name === 'string' && name !== '_csrf') body[name] = sampleOf(properties[name])
  return body
}

/** Plausible input for forms whose required fields alone say too little. */
function bodyOverrides(key: string, world: World): Record<string, string> {
  switch (key) {
    case 'POST /a/:accountId/pages':
      return { name: 'Another', slug: `another-${generateId().slice(0, 8)}`, timeZone: 'UTC' }
    case 'POST /pages/:pageId/settings':
      return { name: 'Renamed', timeZone: 'UTC' }
    case 'POST /pages/:pageId/access':
      return { visibility: 'public' }
    case 'POST /pages/:pageId/delete':
      return { confirm: world['slug'] ?? '' }
    case 'POST /pages/:pageId/components':
      return { name: 'Added' }
    case 'POST /components/:componentId':
      return { name: 'Renamed' }
    case 'POST /components/:componentId/status':
      return { status: 'major_outage' }
    case 'POST /components/:componentId/move':
      return { direction: 'down' }
    case 'POST /pages/:pageId/incidents':
      return { name: 'Outage', body: 'Looking.' }
    case 'POST /pages/:pageId/maintenance':
      return {
        name: 'Upgrade',
        body: 'Upgrading.',
        scheduledFor: '2031-01-01T10:00',
        scheduledUntil: '2031-01-01T12:00',
      }
    case 'POST /incidents/:incidentId':
      return { name: 'Renamed', impact: 'minor' }
    case 'POST /incidents/:incidentId/updates':
      return { status: 'monitoring', body: 'Watching.' }
    case 'POST /incidents/:incidentId/updates/:updateId':
      return { body: 'Rewritten.' }
    case 'POST /incidents/:incidentId/postmortem':
      return { body: 'What happened.' }
    case 'POST /pages/:pageId/templates':
    case 'POST /pages/:pageId/templates/:templateId':
      return { name: 'T', title: 'T', body: 'T' }
    case 'POST /a/:accountId/settings':
      return { name: 'Renamed account' }
    case 'POST /a/:accountId/team/invitations':
      return { email: `invited-${generateId().slice(0, 8)}@example.com`, role: 'viewer' }
    case 'POST /a/:accountId/team/members/:userId':
      return { role: 'editor' }
    case 'POST /a/:accountId/team/transfer':
      return { userId: world['userId'] ?? '' }
    case 'POST /a/:accountId/delete':
      return { confirmName: 'Not the name' }
    case 'POST /a/:accountId/api-keys':
      return { name: 'Deploys', scope: 'read' }
    case 'POST /a/:accountId/settings/sso/enforcement':
      return { enforced: 'true' }
    case 'POST /pages/:pageId/subscribers':
      return { channel: 'email', address: `s-${generateId().slice(0, 8)}@example.com` }
    case 'POST /pages/:pageId/subscribers/:subscriberId/erase':
      return { confirm: 'ERASE' }
    case 'POST /pages/:pageId/alerts':
    case 'POST /pages/:pageId/alerts/:endpointId':
      return {
        name: 'Monitoring',
        format: 'alertmanager',
        componentId: world['componentId'] ?? '',
        firingStatus: 'partial_outage',
        mapSeverity: 'false',
        createDrafts: 'false',
      }
    case 'POST /pages/:pageId/checks':
    case 'POST /pages/:pageId/checks/:checkId':
      return {
        componentId: world['componentId'] ?? '',
        url: 'http://127.0.0.1:9/health',
        intervalSeconds: '60',
        timeoutSeconds: '5',
        expectedStatus: '200',
        failureThreshold: '2',
      }
    case 'POST /pages/:pageId/notifications/me':
      return { notify: 'false' }
    default:
      return {}
  }
}

/** Routes sent as multipart/form-data, with the CSRF token in the query. */
const MULTIPART: Record<
  string,
  {
    name: string
    filename: string
    contentType: string
    data: () => Buffer
    fields?: Record<string, string>
  }
> = {
  'POST /pages/:pageId/logo': {
    name: 'logo',
    filename: 'logo.png',
    contentType: 'image/png',
    data: tinyPng,
  },
  'POST /pages/:pageId/subscribers/import': {
    name: 'csv',
    filename: 'subscribers.csv',
    contentType: 'text/csv',
    data: () => Buffer.from('email\nimported@example.com\n'),
    fields: {
      consentAssertion: 'They subscribed on our previous status page.',
      consentConfirmed: 'on',
    },
  },
}

/**
 * Service calls no dashboard route makes: each action of the policy that no route declares needs
 * one here, so every action is checked somewhere.
 */
const SERVICE_CALLS: {
  action: PolicyAction
  name: string
  call: (services: TestApp['runtime']['services'], actor: Actor, world: World) => Promise<unknown>
}[] = [
  {
    action: 'component.write',
    name: 'components.reorder',
    call: (services, actor, world) =>
      services.components.reorder(actor, world['pageId'] ?? '', [world['componentId']]),
  },
  {
    action: 'draft.read',
    name: 'alerts.listDrafts',
    call: (services, actor, world) => services.alerts.listDrafts(actor, world['pageId'] ?? ''),
  },
]

function paramNames(url: string): string[] {
  return [...url.matchAll(/:(\w+)/g)].map((m) => m[1] ?? '')
}

describe.each(testDialects)('permission matrix (%s)', (dialect) => {
  let t: TestApp
  const declared = new Map<string, DeclaredRoute>()
  let passwordHash: string
  let owner: CreatedOwner
  let ownerActor: Actor
  const members: Member[] = []
  let stranger: Member
  let shared: World
  let idp: TestIdp
  let counter = 0

  async function insertPerson(accountId: string, role: Role, canInvite: boolean) {
    counter++
    const email = `matrix-${role}-${String(counter)}-${generateId().slice(0, 6)}@example.com`
    const userId = generateId()
    const { db } = t.runtime.database
    await insertUser(db, t.runtime.keyRing, {
      id: userId,
      email,
      name: `${role} ${String(counter)}`,
      passwordHash,
      createdAt: new Date(),
    })
    await insertMembership(db, { accountId, userId, role, canInvite, createdAt: new Date() })
    return { userId, login: { email, password: DEFAULT_PASSWORD } }
  }

  /** The records named by `needs`, fresh, in the members' account. */
  async function makeWorld(needs: ReadonlySet<string>): Promise<World> {
    const {
      pages,
      components,
      incidents,
      subscribers,
      alerts,
      apiKeys,
      team,
      mailbox,
      ssoSettings,
      oidc,
      saml,
    } = t.runtime.services
    const actor = ownerActor
    const accountId = owner.accountId
    counter++
    const world: World = { accountId }
    const page = await pages.create(actor, accountId, {
      name: `Matrix ${String(counter)}`,
      slug: `matrix-${String(counter)}-${generateId().slice(0, 6)}`,
      timeZone: 'UTC',
      locale: 'en',
    })
    world['pageId'] = page.id
    world['slug'] = page.slug
    const group = await components.create(actor, page.id, { name: 'Core', isGroup: true })
    const component = await components.create(actor, page.id, { name: 'API', groupId: group.id })
    world['componentId'] = component.id
    if (needs.has('incidentId') || needs.has('updateId')) {
      const incident = await incidents.create(actor, page.id, {
        name: 'API errors',
        body: 'Investigating.',
        components: { [component.id]: 'partial_outage' },
      })
      await incidents.addUpdate(actor, incident.id, { status: 'identified', body: 'Found it.' })
      const full = await incidents.get(actor, incident.id)
      world['incidentId'] = incident.id
      world['updateId'] = full.updates[0]?.id ?? ''
    }
    if (needs.has('templateId')) {
      const template = await incidents.saveTemplate(actor, page.id, null, {
        name: 'Outage',
        title: 'Outage',
        body: 'We are on it.',
      })
      world['templateId'] = template.id
    }
    if (needs.has('subscriberId')) {
      const { subscriber } = await subscribers.add(actor, page.id, {
        channel: 'email',
        address: `sub-${String(counter)}@example.com`,
      })
      world['subscriberId'] = subscriber.id
    }
    if (needs.has('endpointId') || needs.has('draftId')) {
      const { endpoint, token } = await alerts.createEndpoint(actor, page.id, {
        name: 'Monitoring',
        format: 'alertmanager',
        componentId: '',
        mapping: `api = ${component.id}`,
        firingStatus: 'partial_outage',
        mapSeverity: 'false',
        createDrafts: 'true',
      })
      world['endpointId'] = endpoint.id
      if (needs.has('draftId')) {
        await sendAlert(
          t,
          token,
          alertmanagerBody([{ status: 'firing', fingerprint: generateId(), component: 'api' }]),
        )
        world['draftId'] = (await alerts.listDrafts(actor, page.id))[0]?.id ?? ''
      }
    }
    if (needs.has('checkId')) {
      const check = await alerts.createCheck(actor, page.id, {
        componentId: component.id,
        url: 'http://127.0.0.1:9/health',
        intervalSeconds: '60',
        timeoutSeconds: '5',
        expectedStatus: '200',
        failureThreshold: '2',
      })
      world['checkId'] = check.id
    }
    if (needs.has('keyId')) {
      const { key } = await apiKeys.create(actor, accountId, { name: 'Key', scope: 'read' })
      world['keyId'] = key.id
    }
    if (needs.has('invitationId') || needs.has('messageId')) {
      const invitation = await team.invite(actor, accountId, {
        email: `invitee-${String(counter)}@example.com`,
        role: 'viewer',
        canInvite: undefined,
        pageIds: undefined,
      })
      world['invitationId'] = invitation.id
      if (needs.has('messageId'))
        world['messageId'] = (await mailbox.list(actor, accountId))[0]?.id ?? ''
    }
    if (needs.has('userId')) {
      world['userId'] = (await insertPerson(accountId, 'viewer', false)).userId
    }
    if (needs.has('oidcConnectionId')) {
      const connection = await ssoSettings.save(actor, accountId, {
        protocol: 'oidc',
        common: {
          name: 'IdP',
          enabled: undefined,
          allowedDomains: 'example.com',
          jitEnabled: undefined,
          defaultRole: 'viewer',
        },
        checkConfig: oidc.configChecker('oidc', {
          issuer: 'https://idp.example.com',
          clientId: 'candor',
          clientSecret: 'secret',
          hostedDomain: undefined,
        }),
      })
      world['oidcConnectionId'] = connection.id
    }
    if (needs.has('samlConnectionId')) {
      const connection = await saml.save(actor, accountId, undefined, {
        name: 'SAML IdP',
        allowedDomains: 'example.org',
        enabled: undefined,
        jitEnabled: undefined,
        defaultRole: 'viewer',
        metadataXml: idp.metadata(),
        idpEntityId: undefined,
        idpSsoUrl: undefined,
        idpSloUrl: undefined,
        idpCertificates: undefined,
        attributeEmail: undefined,
        attributeName: undefined,
      })
      world['samlConnectionId'] = connection.id
    }
    return world
  }

  /** The world record a path parameter names: SAML and OpenID routes each want their own kind. */
  function recordFor(route: DeclaredRoute, param: string): string {
    if (param !== 'connectionId') return param
    return route.url.includes('/saml/') ? 'samlConnectionId' : 'oidcConnectionId'
  }

  function needsOf(route: DeclaredRoute): Set<string> {
    const needs = new Set(paramNames(route.url).map((param) => recordFor(route, param)))
    if (route.url.endsWith('/team/transfer')) needs.add('userId')
    return needs
  }

  function urlFor(route: DeclaredRoute, world: World): string {
    return route.url.replace(/:(\w+)/g, (_, param: string) => {
      const value = world[recordFor(route, param)]
      if (value === undefined) throw new Error(`No ${param} for ${route.url}`)
      return encodeURIComponent(value)
    })
  }

  function browserOf(member: Member): TestBrowser {
    if (member.browser === undefined) throw new Error(`${member.name} is not signed in`)
    return member.browser
  }

  async function send(browser: TestBrowser, route: DeclaredRoute, world: World) {
    const key = `${route.method} ${route.url}`
    const url = urlFor(route, world)
    if (route.method === 'GET') return (await browser.get(url)).status
    const token = browser.csrfToken ?? ''
    const file = MULTIPART[key]
    if (file !== undefined) {
      const { payload, contentType } = multipartBody([{ ...file, data: file.data() }], file.fields)
      const response = await t.app.inject({
        method: 'POST',
        url: `${url}?_csrf=${encodeURIComponent(token)}`,
        remoteAddress: '127.0.0.1',
        headers: {
          accept: 'text/html',
          'content-type': contentType,
          cookie: [...browser.cookies].map(([name, value]) => `${name}=${value}`).join('; '),
        },
        payload,
      })
      return response.statusCode
    }
    const fields = { ...requiredFields(route.bodySchema), ...bodyOverrides(key, world) }
    const form = new URLSearchParams()
    for (const [name, value] of Object.entries(fields))
      if (typeof value === 'string') form.set(name, value)
    form.set('_csrf', token)
    return (await browser.request('POST', url, form.toString())).status
  }

  beforeAll(async () => {
    t = await buildTestApp(dialect, {
      env: { WEBHOOK_ALLOWED_RANGES: '127.0.0.1/32' },
      beforeReady(app) {
        // Every route's declared action, read from its own options as it answers a probe.
        app.addHook('onResponse', (request, _reply, done) => {
          const { method, url, config, schema } = request.routeOptions
          if (typeof url === 'string' && (method === 'GET' || method === 'POST'))
            declared.set(`${method} ${url}`, {
              method: method === 'GET' ? 'GET' : 'POST',
              url,
              action: config.action,
              bodySchema: schema?.body,
            })
          done()
        })
      },
    })
    idp = new TestIdp(
      'https://idp.example.org/metadata',
      'https://idp.example.org/sso',
      'https://idp.example.org/slo',
    )
    passwordHash = await hashPassword(DEFAULT_PASSWORD)
    owner = await createOwner(t)
    ownerActor = actorFor(owner.userId)
    members.push({
      name: 'owner',
      role: 'owner',
      canInvite: false,
      login: owner,
      userId: owner.userId,
    })
    for (const [name, role, canInvite] of [
      ['admin', 'admin', false],
      ['editor', 'editor', false],
      ['viewer', 'viewer', false],
      ['nominated viewer', 'viewer', true],
    ] as const) {
      const person = await insertPerson(owner.accountId, role, canInvite)
      members.push({ name, role, canInvite, ...person })
    }
    const other = await createOwner(t)
    stranger = {
      name: 'member of another account',
      role: 'owner',
      canInvite: false,
      login: other,
      userId: other.userId,
    }
    for (const member of [...members, stranger]) member.browser = await browserFor(t, member.login)
    for (const route of registeredRoutes(t.app)) {
      if (route.method !== 'GET' && route.method !== 'POST') continue
      const url = route.url.replace(/:(\w+)/g, 'probe')
      await t.app.inject({ method: route.method, url })
    }
    shared = await makeWorld(
      new Set([
        'incidentId',
        'templateId',
        'subscriberId',
        'draftId',
        'checkId',
        'keyId',
        'messageId',
        'userId',
        'oidcConnectionId',
        'samlConnectionId',
      ]),
    )
  }, 120_000)

  afterAll(async () => {
    await t.close()
  })

  function accountRoutes(): DeclaredRoute[] {
    return [...declared.values()]
      .filter((route) => ACCOUNT_SCOPED.test(route.url))
      .sort((a, b) => `${a.url} ${a.method}`.localeCompare(`${b.url} ${b.method}`))
  }

  it('reads every registered route and finds each account-scoped one declaring a policy action', () => {
    const routes = registeredRoutes(t.app).filter(
      (r) => (r.method === 'GET' || r.method === 'POST') && ACCOUNT_SCOPED.test(r.url),
    )
    for (const route of routes)
      expect(declared.has(`${route.method} ${route.url}`), route.url).toBe(true)
    const undeclared = accountRoutes()
      .filter((route) => route.action === undefined)
      .map((route) => `${route.method} ${route.url}`)
    expect(undeclared).toEqual([])
    expect(accountRoutes().length).toBeGreaterThan(80)
  })

  it('every declared action exists in the policy', () => {
    for (const route of accountRoutes())
      if (route.action !== undefined) expect(Object.keys(POLICY)).toContain(route.action)
  })

  function expectation(member: Member | undefined, action: PolicyAction): 'allowed' | 403 | 404 {
    if (member === undefined) return 404
    return meetsRequirement(member, action) ? 'allowed' : 403
  }

  /** A member acting on themselves after the route ran, put back as they were. */
  async function restore(member: Member): Promise<void> {
    const { db } = t.runtime.database
    const row = await db
      .selectFrom('memberships')
      .select('user_id')
      .where('account_id', '=', owner.accountId)
      .where('user_id', '=', member.userId)
      .executeTakeFirst()
    if (row === undefined)
      await insertMembership(db, {
        accountId: owner.accountId,
        userId: member.userId,
        role: member.role,
        canInvite: member.canInvite,
        createdAt: new Date(),
      })
  }

  it('refuses and allows every account-scoped route for every role and another account', async () => {
    const failures: string[] = []
    for (const route of accountRoutes()) {
      const action = route.action
      if (action === undefined) continue
      const rule = ruleOf(action)
      const key = `${route.method} ${route.url}`
      // Refusals first, on the shared records: nothing may change.
      for (const actor of [...members, undefined]) {
        const expected = expectation(actor, action)
        if (expected === 'allowed') continue
        const who = actor ?? stranger
        const status = await send(browserOf(who), route, shared)
        if (status !== expected)
          failures.push(`${key} as ${who.name}: ${String(status)}, expected ${String(expected)}`)
      }
      for (const actor of members) {
        if (expectation(actor, action) !== 'allowed') continue
        const world = route.method === 'GET' ? shared : await makeWorld(needsOf(route))
        const status = await send(browserOf(actor), route, world)
        await restore(actor)
        // A self action is the member's own business (leaving, answering a transfer): the role
        // lets them ask; whether it applies to them is the service's next check.
        const refused = rule.self === true ? status === 401 : [401, 403, 404].includes(status)
        if (refused || status >= 500)
          failures.push(`${key} as ${actor.name}: ${String(status)}, expected to be allowed`)
      }
    }
    expect(failures).toEqual([])
  }, 300_000)

  it('checks every policy action through a route or a direct service call', () => {
    const declaredActions = new Set(accountRoutes().map((route) => route.action))
    const called = new Set(SERVICE_CALLS.map((c) => c.action))
    const unchecked = Object.keys(POLICY).filter(
      (action) =>
        !declaredActions.has(action as PolicyAction) && !called.has(action as PolicyAction),
    )
    expect(unchecked).toEqual([])
  })

  it('refuses service calls without a dashboard route to every role below the policy and to another account', async () => {
    const failures: string[] = []
    for (const { action, name, call } of SERVICE_CALLS) {
      for (const member of [...members, undefined]) {
        const expected = expectation(member, action)
        const who = member ?? stranger
        const world = expected === 'allowed' ? await makeWorld(new Set()) : shared
        let outcome: 'allowed' | 403 | 404 = 'allowed'
        try {
          await call(t.runtime.services, actorFor(who.userId), world)
        } catch (error) {
          if (error instanceof ForbiddenError) outcome = 403
          else if (error instanceof NotFoundError) outcome = 404
        }
        if (outcome !== expected)
          failures.push(`${name} as ${who.name}: ${String(outcome)}, expected ${String(expected)}`)
      }
    }
    expect(failures).toEqual([])
  })
})
