import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ConfigError, isHttps, loadConfig, parseMasterKey } from '../../src/config.js'
import { runCli } from '../../src/cli/index.js'
import { createFakeIo } from '../helpers/cli-io.js'

const CWD = '/srv/candor'

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env, CWD)
  } catch (error) {
    if (error instanceof ConfigError) return error
    throw error
  }
  throw new Error('expected loadConfig to throw a ConfigError')
}

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'candor-config-'))
})
afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})

function secretFile(name: string, content: string): string {
  const path = join(dir, name)
  writeFileSync(path, content, { mode: 0o600 })
  return path
}

describe('loadConfig defaults', () => {
  it('starts with safe defaults from an empty environment', () => {
    const config = loadConfig({}, CWD)
    expect(config.port).toBe(3000)
    expect(config.host).toBe('127.0.0.1')
    expect(config.baseUrl.toString()).toBe('http://localhost:3000/')
    expect(config.dataDir).toBe('/srv/candor/data')
    expect(config.databaseUrl).toBeUndefined()
    expect(config.databasePoolSize).toBe(10)
    expect(config.masterKey).toBeUndefined()
    expect(config.smtp).toBeUndefined()
    expect(config.mailFrom).toBe('Candor <no-reply@localhost>')
    expect(config.logLevel).toBe('info')
    expect(config.allowSignup).toBe(false)
    expect(config.trustProxy).toBe(false)
    expect(config.sessionIdleTimeoutMs).toBe(12 * 60 * 60_000)
    expect(config.sessionAbsoluteTimeoutMs).toBe(7 * 24 * 3_600_000)
    expect(config.passwordResetTtlMs).toBe(60 * 60_000)
    expect(config.setupLinkTtlMs).toBe(24 * 3_600_000)
    expect(config.shutdownTimeoutMs).toBe(10_000)
    expect(config.migrateOnStart).toBe(true)
    expect(isHttps(config)).toBe(false)
  })

  it('resolves a relative DATA_DIR against the working directory and keeps an absolute one', () => {
    expect(loadConfig({ DATA_DIR: 'state/candor' }, CWD).dataDir).toBe('/srv/candor/state/candor')
    expect(loadConfig({ DATA_DIR: '/var/lib/candor' }, CWD).dataDir).toBe('/var/lib/candor')
  })

  it('treats empty and blank values as unset', () => {
    const config = loadConfig({ PORT: '', HOST: '   ', SMTP_HOST: '', LOG_LEVEL: ' ' }, CWD)
    expect(config.port).toBe(3000)
    expect(config.host).toBe('127.0.0.1')
    expect(config.smtp).toBeUndefined()
    expect(config.logLevel).toBe('info')
  })

  it('reads valid values', () => {
    const config = loadConfig(
      {
        PORT: '8080',
        HOST: '0.0.0.0',
        BASE_URL: 'https://status.example.com',
        LOG_LEVEL: 'DEBUG',
        ALLOW_SIGNUP: 'yes',
        TRUST_PROXY: '10.0.0.1, 10.0.0.2',
        SESSION_IDLE_TIMEOUT_MINUTES: '30',
        SESSION_ABSOLUTE_TIMEOUT_HOURS: '24',
        MIGRATE_ON_START: 'off',
      },
      CWD,
    )
    expect(config.port).toBe(8080)
    expect(config.host).toBe('0.0.0.0')
    expect(config.baseUrl.origin).toBe('https://status.example.com')
    expect(isHttps(config)).toBe(true)
    expect(config.mailFrom).toBe('Candor <no-reply@status.example.com>')
    expect(config.logLevel).toBe('debug')
    expect(config.allowSignup).toBe(true)
    expect(config.trustProxy).toEqual(['10.0.0.1', '10.0.0.2'])
    expect(config.sessionIdleTimeoutMs).toBe(30 * 60_000)
    expect(config.sessionAbsoluteTimeoutMs).toBe(24 * 3_600_000)
    expect(config.migrateOnStart).toBe(false)
    expect(loadConfig({ TRUST_PROXY: 'TRUE' }, CWD).trustProxy).toBe(true)
  })

  it('defaults the base URL to the configured port', () => {
    expect(loadConfig({ PORT: '8080' }, CWD).baseUrl.toString()).toBe('http://localhost:8080/')
  })

  it('configures SMTP only when SMTP_HOST is set, with a port that follows SMTP_SECURE', () => {
    const starttls = loadConfig({ SMTP_HOST: 'smtp.example.com' }, CWD).smtp
    expect(starttls).toEqual({
      host: 'smtp.example.com',
      port: 587,
      secure: 'starttls',
      user: undefined,
      password: undefined,
      poolSize: 5,
    })
    const tls = loadConfig({ SMTP_HOST: 'smtp.example.com', SMTP_SECURE: 'TLS' }, CWD).smtp
    expect(tls?.secure).toBe('tls')
    expect(tls?.port).toBe(465)
  })
})

describe('loadConfig problems', () => {
  it('reports every invalid value at once, each with what to do about it', () => {
    const error = configError({
      PORT: 'abc',
      LOG_LEVEL: 'loud',
      BASE_URL: 'ftp://x',
      DATABASE_URL: 'mysql://root:hunter2@db/candor',
      MASTER_KEY: 'short',
    })
    expect(error.problems).toHaveLength(5)
    const [port, baseUrl, databaseUrl, masterKey, logLevel] = error.problems
    expect(port).toMatch(/^PORT=abc is not valid: use a whole number from 1 to 65535/)
    expect(baseUrl).toMatch(/^BASE_URL=ftp:\/\/x must start with http:\/\/ or https:\/\//)
    expect(databaseUrl).toMatch(/^DATABASE_URL must be a PostgreSQL URL \(postgres:\/\//)
    expect(databaseUrl).toMatch(/leave it unset to use the embedded encrypted SQLite database/)
    expect(masterKey).toMatch(/^MASTER_KEY must be 32 random bytes/)
    expect(masterKey).toMatch(/openssl rand -hex 32/)
    expect(logLevel).toMatch(/^LOG_LEVEL=loud is not valid: use one of fatal, error, warn, info/)
    // The summary names the count and lists each problem on its own line.
    expect(error.message).toMatch(/configuration has 5 problem\(s\)/)
    for (const problem of error.problems) expect(error.message).toContain(`  - ${problem}`)
  })

  it('never repeats secret values in its messages', () => {
    const error = configError({
      DATABASE_URL: 'mysql://root:hunter2@db/candor',
      MASTER_KEY: 'not-a-key-but-secret-looking',
    })
    expect(error.message).not.toContain('hunter2')
    expect(error.message).not.toContain('not-a-key-but-secret-looking')
  })

  it.each([
    ['PORT', '0'],
    ['PORT', '65536'],
    ['PORT', '80.5'],
    ['PORT', '-1'],
    ['DATABASE_POOL_SIZE', '0'],
    ['SESSION_IDLE_TIMEOUT_MINUTES', '1'],
  ])('refuses %s=%s', (name, value) => {
    const error = configError({ [name]: value })
    expect(error.problems).toEqual([expect.stringMatching(new RegExp(`^${name}=${value} `))])
  })

  it.each([
    ['https://status.example.com/status', /must be an origin only/],
    ['https://status.example.com/?a=1', /must be an origin only/],
    ['not a url', /is not a URL: use the public origin/],
  ])('refuses BASE_URL=%s', (value, message) => {
    expect(configError({ BASE_URL: value }).problems).toEqual([expect.stringMatching(message)])
  })

  it('refuses an unreadable boolean and an unknown SMTP_SECURE', () => {
    const error = configError({ ALLOW_SIGNUP: 'maybe', SMTP_SECURE: 'ssl' })
    expect(error.problems).toEqual([
      'SMTP_SECURE=ssl is not valid: use tls, starttls or none.',
      'ALLOW_SIGNUP=maybe is not valid: use true or false.',
    ])
  })

  it('refuses an idle timeout longer than the absolute timeout', () => {
    const error = configError({
      SESSION_IDLE_TIMEOUT_MINUTES: '120',
      SESSION_ABSOLUTE_TIMEOUT_HOURS: '1',
    })
    expect(error.problems).toEqual([
      'SESSION_IDLE_TIMEOUT_MINUTES must not be longer than SESSION_ABSOLUTE_TIMEOUT_HOURS.',
    ])
  })

  it('refuses SMTP_USER without SMTP_PASSWORD, and the reverse', () => {
    expect(configError({ SMTP_HOST: 'smtp.example.com', SMTP_USER: 'candor' }).problems).toEqual([
      'SMTP_USER and SMTP_PASSWORD must be set together.',
    ])
    expect(
      configError({ SMTP_HOST: 'smtp.example.com', SMTP_PASSWORD: 'secret' }).problems,
    ).toEqual(['SMTP_USER and SMTP_PASSWORD must be set together.'])
  })

  it('refuses SMTP settings without SMTP_HOST', () => {
    expect(configError({ SMTP_USER: 'candor' }).problems).toEqual([
      expect.stringMatching(/SMTP_HOST is not: set SMTP_HOST/),
    ])
  })

  it('refuses a MAIL_FROM that is not an address', () => {
    expect(configError({ MAIL_FROM: 'Status page' }).problems).toEqual([
      expect.stringMatching(/^MAIL_FROM=Status page is not an email address/),
    ])
  })
})

describe('secrets from _FILE variables', () => {
  it('reads MASTER_KEY_FILE, DATABASE_URL_FILE and SMTP_PASSWORD_FILE, trimmed', () => {
    const key = randomBytes(32)
    const config = loadConfig(
      {
        MASTER_KEY_FILE: secretFile('master', `\n  ${key.toString('hex')}  \n`),
        DATABASE_URL_FILE: secretFile('db', 'postgres://candor:pw@db:5432/candor\n'),
        SMTP_HOST: 'smtp.example.com',
        SMTP_USER: 'candor',
        SMTP_PASSWORD_FILE: secretFile('smtp', 'smtp secret\r\n'),
      },
      CWD,
    )
    expect(config.masterKey?.equals(key)).toBe(true)
    expect(config.databaseUrl).toBe('postgres://candor:pw@db:5432/candor')
    expect(config.smtp?.user).toBe('candor')
    expect(config.smtp?.password).toBe('smtp secret')
  })

  it('refuses NAME and NAME_FILE together', () => {
    const error = configError({
      MASTER_KEY: randomBytes(32).toString('hex'),
      MASTER_KEY_FILE: secretFile('master', randomBytes(32).toString('hex')),
      DATABASE_URL: 'postgres://db/candor',
      DATABASE_URL_FILE: secretFile('db', 'postgres://db/other'),
    })
    expect(error.problems).toEqual([
      'MASTER_KEY and MASTER_KEY_FILE are both set: keep only one of them.',
      'DATABASE_URL and DATABASE_URL_FILE are both set: keep only one of them.',
    ])
  })

  it('names a _FILE that cannot be read, with the reason', () => {
    const missing = join(dir, 'does-not-exist')
    const error = configError({ SMTP_HOST: 'smtp.example.com', SMTP_PASSWORD_FILE: missing })
    expect(error.problems).toContain(`SMTP_PASSWORD_FILE=${missing} cannot be read (ENOENT).`)
    const directory = configError({ MASTER_KEY_FILE: dir })
    expect(directory.problems).toEqual([`MASTER_KEY_FILE=${dir} cannot be read (EISDIR).`])
  })

  it('refuses an empty _FILE instead of silently falling back to the default', () => {
    // An empty DATABASE_URL_FILE would otherwise start on SQLite, and an empty MASTER_KEY_FILE
    // would otherwise generate a new master key.
    const error = configError({
      DATABASE_URL_FILE: secretFile('db', '\n'),
      MASTER_KEY_FILE: secretFile('master', ''),
    })
    expect(error.problems).toEqual([
      expect.stringMatching(/^MASTER_KEY_FILE=.*master is empty/),
      expect.stringMatching(/^DATABASE_URL_FILE=.*db is empty/),
    ])
  })

  it('validates a secret read from a file like any other value', () => {
    const error = configError({ MASTER_KEY_FILE: secretFile('master', 'too short') })
    expect(error.problems).toEqual([expect.stringMatching(/^MASTER_KEY must be 32 random bytes/)])
  })
})

describe('master key formats', () => {
  const key = randomBytes(32)

  it.each([
    ['hex', key.toString('hex')],
    ['upper-case hex', key.toString('hex').toUpperCase()],
    ['base64', key.toString('base64')],
    ['base64 without padding', key.toString('base64').replace(/=$/, '')],
    ['base64url', key.toString('base64url')],
  ])('accepts %s', (_format, text) => {
    expect(parseMasterKey(text)?.equals(key)).toBe(true)
    expect(loadConfig({ MASTER_KEY: text }, CWD).masterKey?.equals(key)).toBe(true)
  })

  it.each([
    ['63 hex characters', key.toString('hex').slice(1)],
    ['65 hex characters', `${key.toString('hex')}0`],
    ['16 bytes of base64', randomBytes(16).toString('base64')],
    ['48 bytes of base64', randomBytes(48).toString('base64')],
    ['a passphrase', 'correct horse battery staple'],
  ])('refuses %s', (_format, text) => {
    expect(parseMasterKey(text)).toBeUndefined()
  })
})

describe('candor start with a bad configuration', () => {
  it('exits with 78 and lists every problem before creating anything', async () => {
    const dataDir = join(dir, 'data')
    const io = createFakeIo({
      DATA_DIR: dataDir,
      PORT: 'abc',
      LOG_LEVEL: 'loud',
      BASE_URL: 'ftp://x',
      DATABASE_URL: 'mysql://root@db/candor',
      MASTER_KEY: 'short',
    })
    const code = await runCli(['start'], io)
    expect(code).toBe(78)
    expect(io.out()).toBe('')
    const stderr = io.err()
    expect(stderr).toMatch(/configuration has 5 problem\(s\)/)
    for (const name of [
      'PORT=abc',
      'LOG_LEVEL=loud',
      'BASE_URL=ftp://x',
      'DATABASE_URL',
      'MASTER_KEY',
    ])
      expect(stderr).toContain(name)
    expect(existsSync(dataDir)).toBe(false)
  })

  it('exits with 78 for an unreadable MASTER_KEY_FILE, naming the file', async () => {
    const dataDir = join(dir, 'data')
    const keyFile = join(dir, 'missing-master.key')
    const io = createFakeIo({ DATA_DIR: dataDir, MASTER_KEY_FILE: keyFile })
    expect(await runCli(['start', '--web'], io)).toBe(78)
    expect(io.err()).toContain(`MASTER_KEY_FILE=${keyFile} cannot be read`)
    expect(existsSync(dataDir)).toBe(false)
  })
})
