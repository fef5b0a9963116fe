import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { ConfigError, loadConfig, type Config } from '../config.js'
import { WrongMasterKeyError } from '../crypto/key-ring.js'
import { createDatabase } from '../db/database.js'
import { loadMasterKey } from '../crypto/master-key.js'
import { migrateDown, migrateToLatest, migrationStatus } from '../db/migrator.js'
import { verifyAuditChains } from '../domain/audit/audit-verify.js'
import { DomainError, ValidationError } from '../domain/errors.js'
import { createLogger } from '../logger.js'
import { DEMO_SLUG, seedDemo } from '../domain/pages/demo.js'
import { start } from '../main.js'
import { openRuntime } from '../runtime.js'

const HELP = `Candor: status pages with security and reliability first.

Usage: candor <command> [options]

Commands:
  start [--web | --worker]   Start the web server and the worker (both by default)
  migrate up                 Apply every pending database migration
  migrate down [N]           Revert the last N migrations (default 1)
  migrate status             List migrations and whether they are applied
  create-owner --account NAME --email EMAIL [--name NAME] [--password-stdin]
                             Create an account and its owner; without --password-stdin a
                             password is generated and printed once
  demo                       Create the "Demo" account with a public page at /p/demo (idempotent)
  api-key create --account NAME --name LABEL --scope read|write
                             Create a management API key acting as the account's owner;
                             prints the key once, alone, on stdout
  audit verify [--account ID]
                             Check the audit log's hash chains (every account's and the
                             installation's, or one account's); exits 1 at the first break
  help                       Show this help

Configuration is read from the environment (see the README): DATABASE_URL, DATA_DIR,
MASTER_KEY, BASE_URL, PORT, SMTP_HOST, ...
`

export interface CliIo {
  stdout: (text: string) => void
  stderr: (text: string) => void
  readStdin: () => Promise<string>
  env: Record<string, string | undefined>
}

const defaultIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  readStdin: async () => {
    const chunks: Buffer[] = []
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
    return Buffer.concat(chunks).toString('utf8')
  },
  env: process.env,
}

/** Runs one command and returns the process exit code. */
export async function runCli(argv: string[], io: CliIo = defaultIo): Promise<number> {
  const [command, ...rest] = argv
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    io.stdout(HELP)
    return 0
  }
  try {
    switch (command) {
      case 'start':
        return await startCommand(rest, io)
      case 'migrate':
        return await migrateCommand(rest, io)
      case 'create-owner':
        return await createOwnerCommand(rest, io)
      case 'demo':
        return await demoCommand(io)
      case 'api-key':
        return await apiKeyCommand(rest, io)
      case 'audit':
        return await auditCommand(rest, io)
      default:
        io.stderr(`Unknown command "${command}".\n\n${HELP}`)
        return 2
    }
  } catch (error) {
    return reportError(error, io)
  }
}

function reportError(error: unknown, io: CliIo): number {
  if (error instanceof ConfigError || error instanceof WrongMasterKeyError) {
    io.stderr(`${error.message}\n`)
    return 78
  }
  if (error instanceof ValidationError) {
    io.stderr(
      `${Object.entries(error.fields)
        .map(([field, problem]) => `${field}: ${problem}`)
        .join('\n')}\n`,
    )
    return 1
  }
  if (
    error instanceof DomainError ||
    (error instanceof Error &&
      error.name === 'TypeError' &&
      'code' in error &&
      String(error.code).startsWith('ERR_PARSE_ARGS'))
  ) {
    io.stderr(`${error.message}\n`)
    return error instanceof DomainError ? 1 : 2
  }
  io.stderr(`${error instanceof Error ? error.message : String(error)}\n`)
  return 1
}

async function startCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { web: { type: 'boolean' }, worker: { type: 'boolean' } },
    strict: true,
  })
  if (values.web === true && values.worker === true) {
    io.stderr('Use --web or --worker, not both (neither starts both).\n')
    return 2
  }
  const config = loadConfig(io.env)
  await start(config, values.web === true ? 'web' : values.worker === true ? 'worker' : 'all')
  return 0
}

async function withDatabase<T>(
  config: Config,
  run: (database: ReturnType<typeof createDatabase>) => Promise<T>,
): Promise<T> {
  const masterKey = loadMasterKey(config.masterKey, config.dataDir)
  const database = createDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    masterKey: masterKey.key,
  })
  try {
    return await run(database)
  } finally {
    await database.close()
  }
}

async function migrateCommand(args: string[], io: CliIo): Promise<number> {
  const [direction = 'up', count] = args
  const config = loadConfig(io.env)
  switch (direction) {
    case 'up': {
      const applied = await withDatabase(config, migrateToLatest)
      io.stdout(
        applied.length === 0 ? 'The database is up to date.\n' : `Applied: ${applied.join(', ')}\n`,
      )
      return 0
    }
    case 'down': {
      const steps = count === undefined ? 1 : Number(count)
      if (!Number.isSafeInteger(steps) || steps < 1) {
        io.stderr('migrate down takes a positive number of migrations to revert.\n')
        return 2
      }
      const reverted = await withDatabase(config, (database) => migrateDown(database, steps))
      io.stdout(
        reverted.length === 0 ? 'Nothing to revert.\n' : `Reverted: ${reverted.join(', ')}\n`,
      )
      return 0
    }
    case 'status': {
      const status = await withDatabase(config, migrationStatus)
      for (const migration of status) {
        io.stdout(
          `${migration.executedAt === undefined ? 'pending ' : 'applied '} ${migration.name}${migration.executedAt === undefined ? '' : `  (${migration.executedAt})`}\n`,
        )
      }
      return 0
    }
    default:
      io.stderr(`Unknown migrate direction "${direction}": use up, down [N] or status.\n`)
      return 2
  }
}

async function createOwnerCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      account: { type: 'string' },
      email: { type: 'string' },
      name: { type: 'string' },
      'password-stdin': { type: 'boolean' },
    },
    strict: true,
  })
  if (values.account === undefined || values.email === undefined) {
    io.stderr('create-owner needs --account NAME and --email EMAIL.\n')
    return 2
  }
  let password: string
  let generated = false
  if (values['password-stdin'] === true) {
    password = (await io.readStdin()).replace(/\r?\n$/, '')
  } else {
    password = randomBytes(18).toString('base64url')
    generated = true
  }
  const config = loadConfig(io.env)
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel)
  const runtime = await openRuntime(config, logger, { migrate: true })
  try {
    const { account, user } = await runtime.services.auth.createOwnerAccount({
      accountName: values.account,
      email: values.email,
      name: values.name ?? values.email.split('@')[0] ?? values.email,
      password,
    })
    io.stdout(`Created account "${account.name}" (${account.id}) with owner ${user.email}.\n`)
    if (generated) io.stdout(`Password (shown once, store it now): ${password}\n`)
    io.stdout(`Sign in at ${new URL('/login', config.baseUrl).toString()}\n`)
    return 0
  } finally {
    await runtime.close()
  }
}

async function apiKeyCommand(args: string[], io: CliIo): Promise<number> {
  const [subcommand, ...rest] = args
  if (subcommand !== 'create') {
    io.stderr(
      `Unknown api-key command "${subcommand ?? ''}": use api-key create --account NAME --name LABEL --scope read|write.\n`,
    )
    return 2
  }
  const { values } = parseArgs({
    args: rest,
    options: {
      account: { type: 'string' },
      name: { type: 'string' },
      scope: { type: 'string' },
    },
    strict: true,
  })
  if (values.account === undefined || values.name === undefined || values.scope === undefined) {
    io.stderr('api-key create needs --account NAME, --name LABEL and --scope read|write.\n')
    return 2
  }
  if (values.scope !== 'read' && values.scope !== 'write') {
    io.stderr(`--scope is read or write, not "${values.scope}".\n`)
    return 2
  }
  const config = loadConfig(io.env)
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel)
  const runtime = await openRuntime(config, logger, { migrate: true })
  try {
    const { key, secret } = await runtime.services.apiKeys.createForAccountName({
      accountName: values.account,
      name: values.name,
      scope: values.scope,
    })
    // The key alone on stdout, so `KEY=$(candor api-key create …)` captures exactly it.
    io.stdout(`${secret}\n`)
    io.stderr(
      `Created the ${key.scope} API key "${key.name}" (${key.prefix}…) of account "${values.account}". It is shown once: store it now. Use it as Authorization: OAuth <key> on ${new URL('/api/v1', config.baseUrl).toString()}\n`,
    )
    return 0
  } finally {
    await runtime.close()
  }
}

async function demoCommand(io: CliIo): Promise<number> {
  const config = loadConfig(io.env)
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel)
  const runtime = await openRuntime(config, logger, { migrate: true })
  try {
    const { services, database, keyRing, clock } = runtime
    const { created } = await seedDemo({
      db: database.db,
      keyRing,
      clock,
      pages: services.pages,
      components: services.components,
      incidents: services.incidents,
    })
    io.stdout(
      `${created ? 'Created' : 'Already there:'} the demo page at ${new URL(`/p/${DEMO_SLUG}`, config.baseUrl).toString()}\n`,
    )
    return 0
  } finally {
    await runtime.close()
  }
}

async function auditCommand(args: string[], io: CliIo): Promise<number> {
  const [subcommand, ...rest] = args
  if (subcommand !== 'verify') {
    io.stderr(`Unknown audit command "${subcommand ?? ''}": use audit verify [--account ID].\n`)
    return 2
  }
  const { values } = parseArgs({
    args: rest,
    options: { account: { type: 'string' } },
    strict: true,
  })
  const config = loadConfig(io.env)
  const reports = await withDatabase(config, (database) =>
    verifyAuditChains(database.db, { accountId: values.account }),
  )
  if (reports.length === 0) {
    io.stdout(
      values.account === undefined
        ? 'The audit log is empty.\n'
        : `No audit entries for account ${values.account}.\n`,
    )
    return 0
  }
  let failed = 0
  for (const report of reports) {
    if (report.broken === null) {
      io.stdout(
        `ok      ${report.chain}  ${String(report.entries)} entries  head ${report.headHash}\n`,
      )
      continue
    }
    failed++
    const at =
      report.broken.seq === null
        ? 'at the head'
        : `at seq ${String(report.broken.seq)} (entry ${report.broken.id ?? '?'})`
    io.stdout(`BROKEN  ${report.chain}  ${at}: ${report.broken.reason}\n`)
  }
  if (failed > 0) {
    io.stderr(`The audit log has been tampered with: ${String(failed)} chain(s) do not verify.\n`)
    return 1
  }
  io.stdout(
    `All ${String(reports.length)} chain(s) verify. Note the head hashes somewhere outside this database: a later run that shows different hashes for the same entries means the chain was rewritten.\n`,
  )
  return 0
}
