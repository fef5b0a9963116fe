import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { runCli } from '../../src/cli/index.js'
import { countUsers } from '../../src/domain/accounts/user-repository.js'
import { buildTestApp } from '../helpers/build-app.js'
import { createFakeIo } from '../helpers/cli-io.js'
import { createInstallation, type Installation } from '../helpers/installation.js'
import { testDialects } from '../helpers/test-db.js'
import { migrations } from '../../src/db/migrations/index.js'

const MIGRATIONS = Object.keys(migrations)
const MIGRATION = MIGRATIONS[0] ?? ''
const LAST_MIGRATION = MIGRATIONS.at(-1) ?? ''
const ORIGIN = { ip: '192.0.2.20', userAgent: 'vitest' }
const GOOD_PASSWORD = 'a long and unusual passphrase'

describe('candor help and usage errors', () => {
  it.each([['--help'], ['-h'], ['help'], []])('prints the commands for %j', async (...argv) => {
    const io = createFakeIo({})
    expect(await runCli(argv, io)).toBe(0)
    const help = io.out()
    expect(help).toContain('Usage: candor <command>')
    for (const command of ['start', 'migrate up', 'migrate down', 'migrate status', 'create-owner'])
      expect(help).toContain(command)
    expect(io.err()).toBe('')
  })

  it('refuses an unknown command with exit code 2 and the help', async () => {
    const io = createFakeIo({})
    expect(await runCli(['serve'], io)).toBe(2)
    expect(io.err()).toContain('Unknown command "serve"')
    expect(io.err()).toContain('Usage: candor <command>')
    expect(io.out()).toBe('')
  })

  it('refuses an unknown option with exit code 2', async () => {
    const io = createFakeIo({})
    expect(await runCli(['start', '--verbose'], io)).toBe(2)
    expect(io.err()).toContain("'--verbose'")
  })

  it('refuses start --web --worker with exit code 2', async () => {
    const io = createFakeIo({})
    expect(await runCli(['start', '--web', '--worker'], io)).toBe(2)
    expect(io.err()).toContain('Use --web or --worker, not both')
  })

  it('refuses an unknown migrate direction and a bad count, with exit code 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'candor-cli-'))
    try {
      const env = { DATA_DIR: dir, MASTER_KEY: randomBytes(32).toString('hex') }
      const sideways = createFakeIo(env)
      expect(await runCli(['migrate', 'sideways'], sideways)).toBe(2)
      expect(sideways.err()).toContain('Unknown migrate direction "sideways"')
      for (const count of ['0', '-1', 'two', '1.5']) {
        const io = createFakeIo(env)
        expect(await runCli(['migrate', 'down', count], io)).toBe(2)
        expect(io.err()).toContain('migrate down takes a positive number')
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('exits with 78 and every problem for a bad configuration', async () => {
    const io = createFakeIo({ PORT: 'abc', LOG_LEVEL: 'loud' })
    expect(await runCli(['migrate', 'status'], io)).toBe(78)
    expect(io.err()).toContain('PORT=abc')
    expect(io.err()).toContain('LOG_LEVEL=loud')
  })
})

describe.each(testDialects)('candor migrate (%s)', (dialect) => {
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

  it('shows status, applies, reverts and applies again', async () => {
    const pending = (names: readonly string[]) => names.map((name) => `pending  ${name}\n`).join('')
    expect(await cli('migrate', 'status')).toEqual({ code: 0, out: pending(MIGRATIONS), err: '' })

    expect(await cli('migrate', 'up')).toEqual({
      code: 0,
      out: `Applied: ${MIGRATIONS.join(', ')}\n`,
      err: '',
    })
    const applied = await cli('migrate', 'status')
    expect(applied.code).toBe(0)
    expect(applied.out).toMatch(
      new RegExp(
        `^${MIGRATIONS.map((name) => `applied  ${name}  \\(\\d{4}-\\d{2}-\\d{2}T[\\d:.]+Z\\)\\n`).join('')}$`,
      ),
    )
    expect(await cli('migrate', 'up')).toEqual({
      code: 0,
      out: 'The database is up to date.\n',
      err: '',
    })
    // Without a direction, migrate means up.
    expect(await cli('migrate')).toEqual({
      code: 0,
      out: 'The database is up to date.\n',
      err: '',
    })

    expect(await cli('migrate', 'down', '1')).toEqual({
      code: 0,
      out: `Reverted: ${LAST_MIGRATION}\n`,
      err: '',
    })
    expect((await cli('migrate', 'status')).out).toMatch(
      new RegExp(`pending  ${LAST_MIGRATION}\\n$`),
    )
    expect(await cli('migrate', 'down', '100')).toEqual({
      code: 0,
      out: `Reverted: ${MIGRATIONS.slice(0, -1).reverse().join(', ')}\n`,
      err: '',
    })
    expect(await cli('migrate', 'status')).toMatchObject({ out: pending(MIGRATIONS) })
    expect(await cli('migrate', 'down')).toEqual({ code: 0, out: 'Nothing to revert.\n', err: '' })

    expect(await cli('migrate', 'up')).toEqual({
      code: 0,
      out: `Applied: ${MIGRATIONS.join(', ')}\n`,
      err: '',
    })
    const t = await buildTestApp(dialect, { reuse: install.reuse })
    try {
      expect(await countUsers(t.runtime.database.db)).toBe(0)
    } finally {
      await t.close()
    }
  })

  it('generates DATA_DIR/master.key when MASTER_KEY is not set, and uses it again', async () => {
    const env = { ...install.env }
    delete env['MASTER_KEY']
    const first = createFakeIo(env)
    expect(await runCli(['migrate', 'up'], first)).toBe(0)
    const keyFile = join(install.dataDir, 'master.key')
    expect(statSync(keyFile).mode & 0o777).toBe(0o600)
    const second = createFakeIo(env)
    expect(await runCli(['migrate', 'status'], second)).toBe(0)
    expect(second.out()).toContain(`applied  ${MIGRATION}`)
  })
})

describe('candor migrate on an encrypted file with the wrong key', () => {
  it('exits with 78 and says the master key does not match', async () => {
    const install = await createInstallation('sqlite')
    try {
      expect(await runCli(['migrate', 'up'], createFakeIo(install.env))).toBe(0)
      const io = createFakeIo({ ...install.env, MASTER_KEY: randomBytes(32).toString('hex') })
      expect(await runCli(['migrate', 'status'], io)).toBe(78)
      expect(io.err()).toContain('The master key does not match')
      expect(io.out()).toBe('')
    } finally {
      await install.remove()
    }
  })
})

describe.each(testDialects)('candor create-owner (%s)', (dialect) => {
  let install: Installation
  beforeEach(async () => {
    install = await createInstallation(dialect)
  })
  afterEach(async () => {
    await install.remove()
  })

  async function createOwner(argv: string[], stdin = '') {
    const io = createFakeIo(install.env, stdin)
    const code = await runCli(['create-owner', ...argv], io)
    return { code, out: io.out(), err: io.err(), stdinReads: io.stdinReads() }
  }

  /** Opens the installation as the server would and runs `check` against its services. */
  async function inspect<T>(
    check: (t: Awaited<ReturnType<typeof buildTestApp>>) => Promise<T>,
  ): Promise<T> {
    const t = await buildTestApp(dialect, { reuse: install.reuse })
    try {
      return await check(t)
    } finally {
      await t.close()
    }
  }

  it('creates the account and owner with a password from stdin, and never prints it', async () => {
    const result = await createOwner(
      ['--account', 'Acme', '--email', 'A@Example.com', '--name', 'Ada', '--password-stdin'],
      `${GOOD_PASSWORD}\n`,
    )
    expect(result.err).toBe('')
    expect(result.code).toBe(0)
    expect(result.stdinReads).toBe(1)
    expect(result.out).toMatch(
      /^Created account "Acme" \([a-z0-9]{12}\) with owner a@example\.com\.\n/,
    )
    expect(result.out).toContain('Sign in at http://candor.test/login\n')
    expect(result.out).not.toContain(GOOD_PASSWORD)
    expect(result.out).not.toMatch(/password/i)

    await inspect(async (t) => {
      const signedIn = await t.runtime.services.auth.login(
        { email: 'a@example.com', password: GOOD_PASSWORD },
        ORIGIN,
      )
      expect(signedIn.user.name).toBe('Ada')
      const actor = {
        type: 'user' as const,
        userId: signedIn.user.id,
        sessionIdHash: '',
        ...ORIGIN,
      }
      const memberships = await t.runtime.services.accounts.listMyAccounts(actor)
      expect(memberships).toEqual([
        expect.objectContaining({ accountName: 'Acme', role: 'owner', canInvite: true }),
      ])
    })
  })

  it('keeps a password from stdin that ends in spaces, dropping only the line break', async () => {
    const password = `${GOOD_PASSWORD}  `
    const result = await createOwner(
      ['--account', 'Acme', '--email', 'a@example.com', '--password-stdin'],
      `${password}\r\n`,
    )
    expect(result.code).toBe(0)
    await inspect(async (t) => {
      await expect(
        t.runtime.services.auth.login({ email: 'a@example.com', password }, ORIGIN),
      ).resolves.toMatchObject({ user: { name: 'a' } })
    })
  })

  it('prints a generated password once, and it signs in', async () => {
    const result = await createOwner(['--account', 'Acme', '--email', 'a@example.com'])
    expect(result.code).toBe(0)
    expect(result.stdinReads).toBe(0)
    const matches = [...result.out.matchAll(/Password \(shown once, store it now\): (\S+)\n/g)]
    expect(matches).toHaveLength(1)
    const password = matches[0]![1]!
    expect(password.length).toBeGreaterThanOrEqual(20)
    expect(result.out.split(password)).toHaveLength(2)

    await inspect(async (t) => {
      const signedIn = await t.runtime.services.auth.login(
        { email: 'a@example.com', password },
        ORIGIN,
      )
      expect(signedIn.user.email).toBe('a@example.com')
    })
  })

  it('refuses a weak password with the policy message and creates nothing', async () => {
    const result = await createOwner(
      ['--account', 'Acme', '--email', 'a@example.com', '--password-stdin'],
      'password\n',
    )
    expect(result.code).not.toBe(0)
    expect(result.err).toContain('password: This password is one of the most common passwords')
    expect(result.out).toBe('')
    await inspect(async (t) => {
      expect(await countUsers(t.runtime.database.db)).toBe(0)
      const accounts = await t.runtime.database.db.selectFrom('accounts').select('id').execute()
      expect(accounts).toEqual([])
    })
  })

  it('refuses a short password and an invalid email, naming each field', async () => {
    const result = await createOwner(
      ['--account', 'Acme', '--email', 'not-an-email', '--password-stdin'],
      'short\n',
    )
    expect(result.code).toBe(1)
    expect(result.err).toContain('email: Enter an email address like name@example.com.')
    expect(result.err).toContain('password: Use at least 8 characters.')
  })

  it('refuses an email that already has a login', async () => {
    const first = await createOwner(
      ['--account', 'Acme', '--email', 'a@example.com', '--password-stdin'],
      GOOD_PASSWORD,
    )
    expect(first.code).toBe(0)
    const second = await createOwner(
      ['--account', 'Other', '--email', ' A@EXAMPLE.COM ', '--password-stdin'],
      GOOD_PASSWORD,
    )
    expect(second.code).not.toBe(0)
    expect(second.err).toContain('A person with this email already has a Candor login.')
    expect(second.out).toBe('')
    await inspect(async (t) => {
      expect(await countUsers(t.runtime.database.db)).toBe(1)
      const accounts = await t.runtime.database.db.selectFrom('accounts').select('name').execute()
      expect(accounts).toEqual([{ name: 'Acme' }])
    })
  })

  it('refuses another master key with exit code 78 and creates nothing', async () => {
    expect(await runCli(['migrate', 'up'], createFakeIo(install.env))).toBe(0)
    // The first start created the data key, wrapped with the right master key.
    await inspect(async (t) => expect(await countUsers(t.runtime.database.db)).toBe(0))
    const io = createFakeIo(
      { ...install.env, MASTER_KEY: randomBytes(32).toString('hex') },
      GOOD_PASSWORD,
    )
    const code = await runCli(
      ['create-owner', '--account', 'Acme', '--email', 'a@example.com', '--password-stdin'],
      io,
    )
    expect(code).toBe(78)
    expect(io.err()).toContain('The master key does not match')
    expect(io.out()).toBe('')
    await inspect(async (t) => expect(await countUsers(t.runtime.database.db)).toBe(0))
  })

  it.each([
    [['--account', 'Acme']],
    [['--email', 'a@example.com']],
    [['--account', 'Acme', '--email']],
  ])('exits with 2 for %j and touches nothing', async (argv) => {
    const result = await createOwner(argv)
    expect(result.code).toBe(2)
    expect(result.err).not.toBe('')
    expect(result.stdinReads).toBe(0)
    expect(existsSync(join(install.dataDir, 'candor.db'))).toBe(false)
  })
})
