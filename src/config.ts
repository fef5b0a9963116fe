import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseAllowedRanges } from './notify/outbound-http.js'

const DAY_MS = 24 * 3_600_000

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'

export interface SmtpConfig {
  host: string
  port: number
  secure: 'tls' | 'starttls' | 'none'
  user: string | undefined
  password: string | undefined
  poolSize: number
}

export interface Config {
  port: number
  host: string
  baseUrl: URL
  dataDir: string
  databaseUrl: string | undefined
  databasePoolSize: number
  masterKey: Buffer | undefined
  smtp: SmtpConfig | undefined
  mailFrom: string
  logLevel: LogLevel
  allowSignup: boolean
  trustProxy: boolean | string[]
  sessionIdleTimeoutMs: number
  sessionAbsoluteTimeoutMs: number
  passwordResetTtlMs: number
  invitationTtlMs: number
  setupLinkTtlMs: number
  shutdownTimeoutMs: number
  migrateOnStart: boolean
  /** Requests per minute per API key (per process). */
  apiRateLimitPerMinute: number
  notify: NotifyConfig
}

export interface NotifyConfig {
  /** Attempts per delivery before it is marked failed. */
  maxAttempts: number
  /** First retry delay of a failed delivery; it doubles with each attempt. */
  retryBaseMs: number
  /** Deliveries sent at the same time by one worker process. */
  concurrency: number
  /** Private or reserved ranges that webhooks may reach anyway (CIDR). */
  webhookAllowedRanges: string[]
  confirmTtlMs: number
  linkTtlMs: number
  unconfirmedRetentionMs: number
  deliveryRetentionMs: number
  /** 0 turns maintenance reminders off. */
  reminderMs: number
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `Candor cannot start, the configuration has ${String(problems.length)} problem(s):\n` +
        problems.map((p) => `  - ${p}`).join('\n'),
    )
    this.name = 'ConfigError'
  }
}

type Env = Record<string, string | undefined>

const LOG_LEVELS: readonly LogLevel[] = [
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'silent',
]
const SECRET_NAMES = ['MASTER_KEY', 'DATABASE_URL', 'SMTP_PASSWORD'] as const

/**
 * The only reader of process.env. Every problem is collected so that an operator fixes them all
 * in one round instead of discovering them one restart at a time.
 */
export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): Config {
  const problems: string[] = []
  const resolved: Env = { ...env }

  for (const name of SECRET_NAMES) {
    const file = env[`${name}_FILE`]
    if (file === undefined || file === '') continue
    if (env[name] !== undefined && env[name] !== '') {
      problems.push(`${name} and ${name}_FILE are both set: keep only one of them.`)
      continue
    }
    try {
      resolved[name] = readFileSync(file, 'utf8').trim()
      // An empty secret must not silently mean "unset" (SQLite instead of PostgreSQL, a new key).
      if (resolved[name] === '')
        problems.push(
          `${name}_FILE=${file} is empty: write the value into it or unset ${name}_FILE.`,
        )
    } catch (error) {
      problems.push(`${name}_FILE=${file} cannot be read (${describeFsError(error)}).`)
    }
  }

  const get = (name: string): string | undefined => {
    const value = resolved[name]?.trim()
    return value === undefined || value === '' ? undefined : value
  }

  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = get(name)
    if (raw === undefined) return fallback
    const value = Number(raw)
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
      problems.push(
        `${name}=${raw} is not valid: use a whole number from ${String(min)} to ${String(max)}.`,
      )
      return fallback
    }
    return value
  }

  const bool = (name: string, fallback: boolean): boolean => {
    const raw = get(name)?.toLowerCase()
    if (raw === undefined) return fallback
    if (['1', 'true', 'yes', 'on'].includes(raw)) return true
    if (['0', 'false', 'no', 'off'].includes(raw)) return false
    problems.push(`${name}=${raw} is not valid: use true or false.`)
    return fallback
  }

  const port = int('PORT', 3000, 1, 65535)
  const host = get('HOST') ?? '127.0.0.1'

  let baseUrl = new URL(`http://localhost:${String(port)}`)
  const rawBaseUrl = get('BASE_URL')
  if (rawBaseUrl !== undefined) {
    try {
      const parsed = new URL(rawBaseUrl)
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
        problems.push(`BASE_URL=${rawBaseUrl} must start with http:// or https://.`)
      } else if (parsed.pathname !== '/' || parsed.search !== '' || parsed.hash !== '') {
        problems.push(
          `BASE_URL=${rawBaseUrl} must be an origin only, such as https://status.example.com.`,
        )
      } else {
        baseUrl = parsed
      }
    } catch {
      problems.push(
        `BASE_URL=${rawBaseUrl} is not a URL: use the public origin, such as https://status.example.com.`,
      )
    }
  }

  const dataDir = resolve(cwd, get('DATA_DIR') ?? './data')

  const databaseUrl = get('DATABASE_URL')
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push(
      'DATABASE_URL must be a PostgreSQL URL (postgres://user:password@host:5432/database); leave it unset to use the embedded encrypted SQLite database.',
    )
  }

  let masterKey: Buffer | undefined
  const rawMasterKey = get('MASTER_KEY')
  if (rawMasterKey !== undefined) {
    masterKey = parseMasterKey(rawMasterKey)
    if (masterKey === undefined) {
      problems.push(
        'MASTER_KEY must be 32 random bytes written as 64 hex characters or 43/44 base64 characters (create one with: openssl rand -hex 32).',
      )
    }
  }

  let smtp: SmtpConfig | undefined
  const smtpHost = get('SMTP_HOST')
  const smtpSecure = (get('SMTP_SECURE') ?? 'starttls').toLowerCase()
  if (!['tls', 'starttls', 'none'].includes(smtpSecure)) {
    problems.push(`SMTP_SECURE=${smtpSecure} is not valid: use tls, starttls or none.`)
  }
  if (smtpHost !== undefined) {
    const secure = smtpSecure as SmtpConfig['secure']
    smtp = {
      host: smtpHost,
      port: int('SMTP_PORT', secure === 'tls' ? 465 : 587, 1, 65535),
      secure,
      user: get('SMTP_USER'),
      password: get('SMTP_PASSWORD'),
      poolSize: int('SMTP_POOL_SIZE', 5, 1, 100),
    }
    if ((smtp.user === undefined) !== (smtp.password === undefined)) {
      problems.push('SMTP_USER and SMTP_PASSWORD must be set together.')
    }
  } else if (get('SMTP_PORT') !== undefined || get('SMTP_USER') !== undefined) {
    problems.push(
      'SMTP_PORT or SMTP_USER is set but SMTP_HOST is not: set SMTP_HOST to send email over SMTP.',
    )
  }

  const mailFrom = get('MAIL_FROM') ?? `Candor <no-reply@${baseUrl.hostname}>`
  if (!/^[^\r\n]*<?[^\s@<>]+@[^\s@<>]+>?$/.test(mailFrom)) {
    problems.push(
      `MAIL_FROM=${mailFrom} is not an email address (for example: Status <status@example.com>).`,
    )
  }

  const rawLogLevel = (get('LOG_LEVEL') ?? 'info').toLowerCase()
  let logLevel: LogLevel = 'info'
  if ((LOG_LEVELS as readonly string[]).includes(rawLogLevel)) {
    logLevel = rawLogLevel as LogLevel
  } else {
    problems.push(`LOG_LEVEL=${rawLogLevel} is not valid: use one of ${LOG_LEVELS.join(', ')}.`)
  }

  let trustProxy: boolean | string[] = false
  const rawTrustProxy = get('TRUST_PROXY')
  if (rawTrustProxy !== undefined) {
    const lowered = rawTrustProxy.toLowerCase()
    if (lowered === 'true') trustProxy = true
    else if (lowered === 'false') trustProxy = false
    else
      trustProxy = rawTrustProxy
        .split(',')
        .map((part) => part.trim())
        .filter((part) => part !== '')
  }

  const webhookAllowedRanges = (get('WEBHOOK_ALLOWED_RANGES') ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
  try {
    parseAllowedRanges(webhookAllowedRanges)
  } catch {
    problems.push(
      `WEBHOOK_ALLOWED_RANGES=${webhookAllowedRanges.join(',')} is not valid: use a comma list of CIDR ranges such as 10.1.0.0/16,fd00::/8.`,
    )
  }

  const config: Config = {
    port,
    host,
    baseUrl,
    dataDir,
    databaseUrl,
    databasePoolSize: int('DATABASE_POOL_SIZE', 10, 1, 200),
    masterKey,
    smtp,
    mailFrom,
    logLevel,
    allowSignup: bool('ALLOW_SIGNUP', false),
    trustProxy,
    sessionIdleTimeoutMs: int('SESSION_IDLE_TIMEOUT_MINUTES', 12 * 60, 5, 30 * 24 * 60) * 60_000,
    sessionAbsoluteTimeoutMs: int('SESSION_ABSOLUTE_TIMEOUT_HOURS', 7 * 24, 1, 90 * 24) * 3_600_000,
    passwordResetTtlMs: int('PASSWORD_RESET_TTL_MINUTES', 60, 5, 24 * 60) * 60_000,
    invitationTtlMs: int('INVITATION_TTL_HOURS', 7 * 24, 1, 30 * 24) * 3_600_000,
    setupLinkTtlMs: int('SETUP_LINK_TTL_HOURS', 24, 1, 24 * 30) * 3_600_000,
    shutdownTimeoutMs: int('SHUTDOWN_TIMEOUT_SECONDS', 10, 1, 600) * 1000,
    migrateOnStart: bool('MIGRATE_ON_START', true),
    apiRateLimitPerMinute: int('API_RATE_LIMIT_PER_MINUTE', 600, 1, 100_000),
    notify: {
      maxAttempts: int('NOTIFY_MAX_ATTEMPTS', 8, 1, 50),
      retryBaseMs: int('NOTIFY_RETRY_BASE_MS', 30_000, 10, 3_600_000),
      concurrency: int('NOTIFY_CONCURRENCY', 10, 1, 200),
      webhookAllowedRanges,
      confirmTtlMs: int('SUBSCRIBER_CONFIRM_TTL_HOURS', 48, 1, 720) * 3_600_000,
      linkTtlMs: int('SUBSCRIBER_LINK_TTL_DAYS', 365, 1, 3650) * DAY_MS,
      unconfirmedRetentionMs: int('UNCONFIRMED_SUBSCRIBER_RETENTION_DAYS', 7, 1, 365) * DAY_MS,
      deliveryRetentionMs: int('DELIVERY_LOG_RETENTION_DAYS', 90, 1, 3650) * DAY_MS,
      reminderMs: int('MAINTENANCE_REMINDER_MINUTES', 60, 0, 7 * 24 * 60) * 60_000,
    },
  }
  if (config.sessionIdleTimeoutMs > config.sessionAbsoluteTimeoutMs) {
    problems.push(
      'SESSION_IDLE_TIMEOUT_MINUTES must not be longer than SESSION_ABSOLUTE_TIMEOUT_HOURS.',
    )
  }

  if (problems.length > 0) throw new ConfigError(problems)
  return config
}

export function parseMasterKey(raw: string): Buffer | undefined {
  const text = raw.trim()
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex')
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) {
    const key = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64')
    return key.length === 32 ? key : undefined
  }
  return undefined
}

export function isHttps(config: Pick<Config, 'baseUrl'>): boolean {
  return config.baseUrl.protocol === 'https:'
}

function describeFsError(error: unknown): string {
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') return error.code
  return 'unreadable'
}
