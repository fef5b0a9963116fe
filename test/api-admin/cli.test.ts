import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { runCli } from '../../src/cli/index.js'
import { buildTestApp } from '../helpers/build-app.js'
import { createFakeIo } from '../helpers/cli-io.js'
import { createInstallation, type Installation } from '../helpers/installation.js'
import { testDialects } from '../helpers/test-db.js'

describe('candor api-key: usage errors', () => {
  it('is in the help', async () => {
    const io = createFakeIo({})
    expect(await runCli(['help'], io)).toBe(0)
    expect(io.out()).toContain('api-key create --account NAME --name LABEL --scope read|write')
  })

  it.each([
    [['api-key'], 'Unknown api-key command'],
    [['api-key', 'delete'], 'Unknown api-key command "delete"'],
    [['api-key', 'create', '--account', 'Acme', '--name', 'ci'], 'needs --account NAME'],
    [['api-key', 'create', '--account', 'Acme', '--scope', 'read'], 'needs --account NAME'],
    [
      ['api-key', 'create', '--account', 'Acme', '--name', 'ci', '--scope', 'admin'],
      '--scope is read or write, not "admin"',
    ],
    [['api-key', 'create', '--acount', 'Acme'], "'--acount'"],
  ])('refuses %j with exit code 2 and nothing on stdout', async (argv, message) => {
    const io = createFakeIo({})
    expect(await runCli(argv, io)).toBe(2)
    expect(io.err()).toContain(message)
    expect(io.out()).toBe('')
  })
})

describe.each(testDialects)('candor api-key create (%s)', (dialect) => {
  let install: Installation
  beforeEach(async () => {
    install = await createInstallation(dialect)
  })
  afterEach(async () => {
    await install.remove()
  })

  async function cli(...argv: string[]) {
    const io = createFakeIo(install.env)
    const code = await runCli(argv, io)
    return { code, out: io.out(), err: io.err() }
  }

  it('prints a working key, alone, on stdout', async () => {
    const owner = await cli('create-owner', '--account', 'Acme', '--email', 'ada@example.com')
    expect(owner.code).toBe(0)

    const created = await cli(
      'api-key',
      'create',
      '--account',
      'Acme',
      '--name',
      'Deploys',
      '--scope',
      'write',
    )
    expect(created.err).toContain('shown once')
    expect(created.code).toBe(0)
    expect(created.out).toMatch(/^cnd_[A-Za-z0-9_-]{43}\n$/)
    const secret = created.out.trim()
    expect(created.err).not.toContain(secret)

    const read = await cli(
      'api-key',
      'create',
      '--account',
      'Acme',
      '--name',
      'RO',
      '--scope',
      'read',
    )
    expect(read.code).toBe(0)

    const t = await buildTestApp(dialect, { reuse: install.reuse })
    try {
      const auth = (key: string) => ({ authorization: `Bearer ${key}` })
      const pages = await t.app.inject({
        method: 'GET',
        url: '/api/v1/pages',
        headers: auth(secret),
      })
      expect(pages.statusCode, pages.body).toBe(200)
      const team = await t.app.inject({ method: 'GET', url: '/api/v1/team', headers: auth(secret) })
      expect(team.json()).toMatchObject([{ email: 'ada@example.com', role: 'owner' }])
      // The write key acts as the owner (capped at admin); the read key cannot write.
      const { db } = t.runtime.database
      const owner = await db
        .selectFrom('memberships')
        .select(['user_id', 'account_id'])
        .executeTakeFirstOrThrow()
      const statusPage = await t.runtime.services.pages.create(
        { type: 'user', userId: owner.user_id, sessionIdHash: '', ip: '127.0.0.1', userAgent: 't' },
        owner.account_id,
        { name: 'Acme status', slug: 'acme', timeZone: 'UTC', locale: 'en' },
      )
      const component = (key: string) =>
        t.app.inject({
          method: 'POST',
          url: `/api/v1/pages/${statusPage.id}/components`,
          headers: auth(key),
          payload: { component: { name: 'API' } },
        })
      expect((await component(secret)).statusCode).toBe(201)
      const refused = await component(read.out.trim())
      expect(refused.statusCode).toBe(403)
      expect(refused.json()).toMatchObject({ code: 'insufficient_scope' })
      const keys = await db
        .selectFrom('api_keys')
        .select(['name', 'scope', 'created_by'])
        .orderBy('name')
        .execute()
      expect(keys.map((k) => [k.name, k.scope])).toEqual([
        ['Deploys', 'write'],
        ['RO', 'read'],
      ])
    } finally {
      await t.close()
    }
  })

  it('exits 1 for an unknown account and for an invalid name', async () => {
    const missing = await cli(
      'api-key',
      'create',
      '--account',
      'Nobody',
      '--name',
      'x',
      '--scope',
      'read',
    )
    expect(missing.code).toBe(1)
    expect(missing.err).toContain('The account "Nobody" was not found.')
    expect(missing.out).toBe('')

    expect((await cli('create-owner', '--account', 'Acme', '--email', 'b@example.com')).code).toBe(
      0,
    )
    const blank = await cli(
      'api-key',
      'create',
      '--account',
      'Acme',
      '--name',
      ' ',
      '--scope',
      'read',
    )
    expect(blank.code).toBe(1)
    expect(blank.err).toContain('name:')
    expect(blank.out).toBe('')
  })
})
