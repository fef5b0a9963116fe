// Child process: runs one server under test (Candor or the bare Fastify reference) so that the
// load generator in the parent process never shares an event loop with it.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify from 'fastify'
import { loadConfig } from '../dist/config.js'
import { buildServer } from '../dist/http/server.js'
import { createLogger } from '../dist/logger.js'
import { openRuntime } from '../dist/runtime.js'
import { LOOPBACK, serveWorker } from './lib.js'

let close = async () => {}

/** A static HTML document of exactly `bytes` bytes (ASCII), for the reference server. */
function staticHtml(bytes) {
  const head = '<!doctype html><html><body><p>'
  const tail = '</p></body></html>'
  const filler = Math.max(0, bytes - head.length - tail.length)
  return bytes < head.length + tail.length ? 'x'.repeat(bytes) : head + 'x'.repeat(filler) + tail
}

serveWorker({
  /**
   * The real application, as `candor start --web` builds it, on encrypted SQLite in a temporary
   * folder or on the PostgreSQL database given. Creates an owner and signs in once.
   */
  async startCandor({ databaseUrl }) {
    const dataDir = mkdtempSync(join(tmpdir(), 'candor-bench-'))
    const config = loadConfig({
      DATA_DIR: dataDir,
      MASTER_KEY: randomBytes(32).toString('hex'),
      LOG_LEVEL: 'silent',
      BASE_URL: 'http://127.0.0.1',
      ...(databaseUrl === undefined ? {} : { DATABASE_URL: databaseUrl }),
    })
    const logger = createLogger('silent')
    const runtime = await openRuntime(config, logger, { migrate: true })
    const app = await buildServer({
      config,
      services: runtime.services,
      logger,
      cookieSecret: runtime.keyRing.cookieSecret,
      pageEvents: runtime.pageFeed,
    })
    close = async () => {
      await app.close()
      await runtime.close()
      rmSync(dataDir, { recursive: true, force: true })
    }
    await app.listen({ port: 0, host: LOOPBACK })

    const email = 'owner@bench.example'
    const password = `bench-${randomBytes(12).toString('hex')}`
    const { account } = await runtime.services.auth.createOwnerAccount({
      accountName: 'Bench Status Co',
      name: 'Bench Owner',
      email,
      password,
    })
    const { token } = await runtime.services.auth.login(
      { email, password },
      { ip: LOOPBACK, userAgent: 'candor-bench' },
    )
    return {
      port: app.server.address().port,
      database: runtime.database.description,
      accountId: account.id,
      sessionToken: token,
      email,
      password,
    }
  },

  /** Bare Fastify, no plugins, no logger: route /r<i> returns a static HTML string of sizes[i] bytes. */
  async startBare({ sizes }) {
    const app = Fastify()
    sizes.forEach((bytes, index) => {
      const body = staticHtml(bytes)
      app.get(`/r${String(index)}`, (_request, reply) =>
        reply.type('text/html; charset=utf-8').send(body),
      )
    })
    close = async () => {
      await app.close()
    }
    await app.listen({ port: 0, host: LOOPBACK })
    return { port: app.server.address().port }
  },

  async stop() {
    await close()
    close = async () => {}
    return { peakRssMiB: process.resourceUsage().maxRSS / 1024 }
  },
})
