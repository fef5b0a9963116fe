import type { Config } from './config.js'
import { buildServer } from './http/server.js'
import { alertJobs } from './jobs/alert-jobs.js'
import { housekeepingJobs } from './jobs/housekeeping.js'
import type { QueueRunner } from './jobs/queue.js'
import { startWorker, type Worker } from './jobs/worker.js'
import { createLogger } from './logger.js'
import { openRuntime } from './runtime.js'

export type StartMode = 'all' | 'web' | 'worker'

export interface Running {
  url: string | undefined
  stop(): Promise<void>
}

/** Starts the web server, the worker, or both, and stops them cleanly on SIGTERM/SIGINT. */
export async function start(
  config: Config,
  mode: StartMode,
  options: { handleSignals?: boolean } = {},
): Promise<Running> {
  const logger = createLogger(config.logLevel)
  const runtime = await openRuntime(config, logger, { migrate: config.migrateOnStart })
  logger.info(
    { database: runtime.database.description, mail: runtime.emailSender.transport, mode },
    'Candor starting',
  )

  let worker: Worker | undefined
  let queueRunner: QueueRunner | undefined
  let url: string | undefined
  let app: Awaited<ReturnType<typeof buildServer>> | undefined
  try {
    if (mode !== 'web') {
      worker = startWorker(
        [
          ...housekeepingJobs({
            db: runtime.database.db,
            sessions: runtime.services.sessions,
            clock: runtime.clock,
            notifications: runtime.services.notifications,
            subscribers: runtime.services.subscribers,
            incidents: runtime.services.incidents,
            apiIdempotency: runtime.services.apiIdempotency,
            notify: config.notify,
          }),
          ...alertJobs(runtime.services.alerts),
        ],
        logger,
      )
      queueRunner = await runtime.queue.start(runtime.services.notifications.handlers, {
        concurrency: config.notify.concurrency,
      })
    }
    if (mode !== 'worker') {
      app = await buildServer({
        config,
        services: runtime.services,
        logger,
        cookieSecret: runtime.keyRing.cookieSecret,
        pageEvents: runtime.pageFeed,
      })
      await app.listen({ port: config.port, host: config.host })
      url = config.baseUrl.toString()
      logger.info({ url }, 'Candor is listening')
      const setupLink = await runtime.services.auth.createSetupLinkIfEmpty()
      if (setupLink !== undefined) printSetupLink(setupLink)
    }
  } catch (error) {
    await app?.close()
    await queueRunner?.stop()
    await worker?.stop()
    await runtime.close()
    throw error
  }

  let stopping: Promise<void> | undefined
  const stop = () => {
    stopping ??= (async () => {
      logger.info('Candor stopping')
      const deadline = setTimeout(() => {
        logger.error('shutdown took too long; exiting')
        process.exit(1)
      }, config.shutdownTimeoutMs)
      deadline.unref()
      await app?.close()
      await queueRunner?.stop()
      await worker?.stop()
      await runtime.close()
      clearTimeout(deadline)
      logger.info('Candor stopped')
    })()
    return stopping
  }

  if (options.handleSignals !== false) {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.once(signal, () => {
        void stop().then(() => {
          process.exitCode = 0
        })
      })
    }
  }
  return { url, stop }
}

function printSetupLink(link: string): void {
  process.stderr.write(
    [
      '',
      '  Candor has no account yet. Open this one-time link to create the first account and its owner:',
      '',
      `    ${link}`,
      '',
      '  (Or run: candor create-owner --account NAME --email EMAIL)',
      '',
      '',
    ].join('\n'),
  )
}
