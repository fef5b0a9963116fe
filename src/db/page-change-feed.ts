import { randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
import pg from 'pg'
import type { Logger } from 'pino'
import type { PageEvents, PageEventSource } from '../domain/pages/page-events.js'

const CHANNEL = 'candor_page_changed'

export interface PageChangeFeed extends PageEvents, PageEventSource {
  close(): Promise<void>
}

/**
 * Tells every process that a page changed. In-process listeners hear it at once; on PostgreSQL a
 * NOTIFY reaches the other processes, which LISTEN on a dedicated connection that reconnects
 * after a failure. Readers also revalidate page versions periodically, so a notice lost while
 * disconnected delays a refresh by seconds instead of leaving a page stale.
 */
export function createPageChangeFeed(options: {
  databaseUrl: string | undefined
  logger: Logger
}): PageChangeFeed {
  const instanceId = randomBytes(8).toString('hex')
  const emitter = new EventEmitter()
  emitter.setMaxListeners(0)
  const { databaseUrl, logger } = options
  let closed = false
  let listener: pg.Client | undefined
  let notifier: pg.Pool | undefined
  let reconnectTimer: NodeJS.Timeout | undefined

  const localEmit = (pageId: string) => emitter.emit('changed', pageId)

  async function listen(): Promise<void> {
    if (databaseUrl === undefined || closed) return
    const client = new pg.Client({ connectionString: databaseUrl })
    client.on('notification', (message) => {
      if (message.channel !== CHANNEL || message.payload === undefined) return
      const [origin, pageId] = message.payload.split(':')
      // Our own notices come back through LISTEN too; this process already acted on them.
      if (origin !== instanceId && pageId !== undefined) localEmit(pageId)
    })
    client.on('error', (error) => {
      logger.warn({ err: error }, 'page change listener lost its connection; reconnecting')
      scheduleReconnect()
    })
    try {
      await client.connect()
      await client.query(`LISTEN ${CHANNEL}`)
      listener = client
      // Anything may have changed while we were not listening.
      localEmit('*')
    } catch (error) {
      logger.warn({ err: error }, 'page change listener could not connect; retrying')
      await client.end().catch(() => undefined)
      scheduleReconnect()
    }
  }

  function scheduleReconnect(): void {
    if (closed || reconnectTimer !== undefined) return
    const old = listener
    listener = undefined
    void old?.end().catch(() => undefined)
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined
      void listen()
    }, 1000)
    reconnectTimer.unref()
  }

  if (databaseUrl !== undefined) {
    notifier = new pg.Pool({ connectionString: databaseUrl, max: 2 })
    notifier.on('error', (error) =>
      logger.warn({ err: error }, 'page change notifier connection error'),
    )
    void listen()
  }

  return {
    changed(pageId) {
      if (notifier === undefined) {
        localEmit(pageId)
        return
      }
      localEmit(pageId)
      notifier
        .query('SELECT pg_notify($1, $2)', [CHANNEL, `${instanceId}:${pageId}`])
        .catch((error: unknown) => {
          logger.warn({ err: error, pageId }, 'could not notify other processes of a page change')
        })
    },
    subscribe(callback) {
      emitter.on('changed', callback)
      return () => emitter.off('changed', callback)
    },
    async close() {
      closed = true
      if (reconnectTimer !== undefined) clearTimeout(reconnectTimer)
      emitter.removeAllListeners()
      await listener?.end().catch(() => undefined)
      await notifier?.end().catch(() => undefined)
    },
  }
}
