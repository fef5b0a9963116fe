import { createHash } from 'node:crypto'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { brotliCompressSync, constants as zlibConstants, gzipSync } from 'node:zlib'
import type { Logger } from 'pino'
import type { PageSnapshot } from '../../domain/pages/types.js'

export interface Artifact {
  body: Buffer
  gzip: Buffer
  br: Buffer
  etag: string
  contentType: string
  version: number
}

export type Render = (
  snapshot: PageSnapshot,
) => { body: string | Buffer; contentType: string } | undefined

/** A resource that needs other data than the page's shared snapshot (the history archive). */
export type Loader = () => Promise<PageSnapshot | undefined>

/** Resources remembered per page; beyond this (say, every month of a long archive) renders are not kept. */
const MAX_RESOURCES_PER_PAGE = 256

/**
 * Brotli quality 6 is within a few per cent of quality 11 on these pages at a hundredth of the
 * cost (about 1.5 ms for the demo page's 70 KB; gzip at level 9: about 4 ms).
 */
const BROTLI_QUALITY = 6

interface PageEntry {
  snapshot: Promise<PageSnapshot | undefined> | undefined
  snapshotAt: number
  /** Bumped by every invalidation, so a render that started before a change is not stored. */
  generation: number
  artifacts: Map<string, Artifact | null>
  pending: Map<string, Promise<Artifact | null | undefined>>
  renders: Map<string, { render: Render; load: Loader | undefined }>
  rebuild: NodeJS.Timeout | undefined
}

export interface PageCacheOptions {
  loadSnapshot: (pageId: string) => Promise<PageSnapshot | undefined>
  loadVersions: (pageIds: readonly string[]) => Promise<Map<string, number>>
  logger: Logger
  /** Time-dependent parts (uptime bars, "upcoming") are refreshed at least this often. */
  maxAgeMs?: number
  /** How often cached versions are checked against the database, in case a change notice was lost. */
  revalidateEveryMs?: number
  now?: () => number
}

/**
 * Public surfaces are rendered when a page changes, not when a visitor asks: every artifact
 * (HTML per locale, JSON, feeds, badges) that has been requested once is re-rendered and
 * compressed (gzip and brotli) right after each change, then served from memory with an ETag.
 */
export function createPageCache(options: PageCacheOptions) {
  const pages = new Map<string, PageEntry>()
  const maxAgeMs = options.maxAgeMs ?? 60_000
  const now = options.now ?? Date.now
  let revalidating = false
  /** The last step queued (it never rejects): see inTurn(). */
  let lastStep: Promise<unknown> = Promise.resolve()

  /**
   * A change re-renders and re-compresses every remembered resource of a page at once, and each
   * step holds the event loop for up to a few milliseconds (the full page's render: about 10).
   * They run one at a time, each in a turn of its own after the sockets have had theirs, so
   * visitors of pages in memory are answered in between. Compressing here rather than on
   * libuv's thread pool costs the event loop no more time than the render already does, and
   * keeps the pool threads' malloc arenas from holding about 15 MiB after the first changes.
   */
  function inTurn<T>(step: () => T): Promise<T> {
    const done = lastStep.then(() => nextTurn()).then(step)
    lastStep = done.catch(() => undefined)
    return done
  }

  function entryFor(pageId: string): PageEntry {
    let entry = pages.get(pageId)
    if (entry === undefined) {
      entry = {
        snapshot: undefined,
        snapshotAt: 0,
        generation: 0,
        artifacts: new Map(),
        pending: new Map(),
        renders: new Map(),
        rebuild: undefined,
      }
      pages.set(pageId, entry)
    }
    return entry
  }

  /** One snapshot load per page and generation, shared by every render that needs it. */
  function snapshotOf(pageId: string, entry: PageEntry): Promise<PageSnapshot | undefined> {
    if (entry.snapshot === undefined || now() - entry.snapshotAt > maxAgeMs) {
      entry.snapshotAt = now()
      const loading = options.loadSnapshot(pageId)
      entry.snapshot = loading
      loading.catch(() => {
        if (entry.snapshot === loading) entry.snapshot = undefined
      })
    }
    return entry.snapshot
  }

  async function build(snapshot: PageSnapshot, render: Render): Promise<Artifact | null> {
    const rendered = await inTurn(() => render(snapshot))
    if (rendered === undefined) return null
    const body =
      typeof rendered.body === 'string' ? Buffer.from(rendered.body, 'utf8') : rendered.body
    const gzipped = await inTurn(() => gzipSync(body, { level: 9 }))
    const brotli = await inTurn(() =>
      brotliCompressSync(body, {
        params: {
          [zlibConstants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
          [zlibConstants.BROTLI_PARAM_SIZE_HINT]: body.length,
        },
      }),
    )
    return {
      body,
      gzip: gzipped,
      br: brotli,
      etag: `"${String(snapshot.version)}-${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"`,
      contentType: rendered.contentType,
      version: snapshot.version,
    }
  }

  /**
   * Builds one artifact for the entry's current generation, once however many callers ask
   * (visitors arriving together, and the rebuild after a change), and stores it unless a newer
   * change came in meanwhile.
   */
  function buildOnce(
    pageId: string,
    entry: PageEntry,
    key: string,
    render: Render,
    load: Loader | undefined,
  ): Promise<Artifact | null | undefined> {
    const existing = entry.pending.get(key)
    if (existing !== undefined) return existing
    const generation = entry.generation
    const tracked: Promise<Artifact | null | undefined> = (
      load === undefined ? snapshotOf(pageId, entry) : load()
    )
      .then(async (snapshot) => {
        if (snapshot === undefined) return undefined
        const artifact = await build(snapshot, render)
        if (entry.generation === generation) entry.artifacts.set(key, artifact)
        return artifact
      })
      .finally(() => {
        if (entry.pending.get(key) === tracked) entry.pending.delete(key)
      })
    entry.pending.set(key, tracked)
    return tracked
  }

  /** The artifact for one resource of a page; undefined when the page or the resource does not exist. */
  async function get(
    pageId: string,
    key: string,
    render: Render,
    load?: Loader,
  ): Promise<Artifact | undefined> {
    const entry = entryFor(pageId)
    if (!entry.renders.has(key) && entry.renders.size >= MAX_RESOURCES_PER_PAGE) {
      const snapshot = await (load === undefined ? snapshotOf(pageId, entry) : load())
      return snapshot === undefined ? undefined : ((await build(snapshot, render)) ?? undefined)
    }
    entry.renders.set(key, { render, load })
    const fresh = entry.snapshotAt !== 0 && now() - entry.snapshotAt <= maxAgeMs
    const cached = entry.artifacts.get(key)
    if (cached !== undefined) {
      // Stale with age only: serve what we have and refresh behind it, visitors never wait.
      if (!fresh) schedule(pageId, 0, true)
      return cached ?? undefined
    }
    return (await buildOnce(pageId, entry, key, render, load)) ?? undefined
  }

  /** A rendered artifact that is in memory and fresh, without any waiting; undefined otherwise. */
  function peek(pageId: string, key: string): Artifact | undefined {
    const entry = pages.get(pageId)
    if (entry === undefined || entry.snapshotAt === 0 || now() - entry.snapshotAt > maxAgeMs)
      return undefined
    return entry.artifacts.get(key) ?? undefined
  }

  /** Renders every remembered resource that this generation has not built yet. */
  async function rebuild(pageId: string, refresh: boolean): Promise<void> {
    const entry = pages.get(pageId)
    if (entry === undefined) return
    if (refresh) {
      // An age refresh (not a change): new snapshot, new renders, old ones served meanwhile.
      entry.generation++
      entry.snapshot = undefined
    }
    const snapshot = await snapshotOf(pageId, entry)
    if (snapshot === undefined) {
      pages.delete(pageId)
      return
    }
    if (refresh) entry.artifacts = new Map()
    for (const [key, { render, load }] of entry.renders) {
      if (entry.artifacts.has(key)) continue
      try {
        await buildOnce(pageId, entry, key, render, load)
      } catch (error) {
        options.logger.error({ err: error, pageId, key }, 'public render failed')
      }
    }
  }

  function schedule(pageId: string, delayMs: number, refresh = false): void {
    const entry = pages.get(pageId)
    if (entry === undefined || entry.rebuild !== undefined) return
    entry.rebuild = setTimeout(() => {
      entry.rebuild = undefined
      rebuild(pageId, refresh).catch((error: unknown) => {
        options.logger.error({ err: error, pageId }, 'public page rebuild failed')
      })
    }, delayMs)
    entry.rebuild.unref()
  }

  /** A change committed: drop what was rendered (so no visitor sees old data) and re-render. */
  function invalidate(pageId: string): void {
    if (pageId === '*') {
      for (const id of pages.keys()) invalidate(id)
      return
    }
    const entry = pages.get(pageId)
    if (entry === undefined) return
    entry.generation++
    entry.snapshot = undefined
    entry.snapshotAt = 0
    entry.artifacts.clear()
    entry.pending.clear()
    // Changes come in bursts (an update touching several components): coalesce them.
    schedule(pageId, 25)
  }

  async function revalidate(): Promise<void> {
    if (revalidating || pages.size === 0) return
    revalidating = true
    try {
      const versions = await options.loadVersions([...pages.keys()])
      for (const [pageId, entry] of pages) {
        const known = [...entry.artifacts.values()].find((a) => a !== null)?.version
        const current = versions.get(pageId)
        if (current === undefined || (known !== undefined && known !== current)) invalidate(pageId)
      }
    } finally {
      revalidating = false
    }
  }

  const timer = setInterval(() => {
    revalidate().catch((error: unknown) =>
      options.logger.warn({ err: error }, 'page version check failed'),
    )
  }, options.revalidateEveryMs ?? 5000)
  timer.unref()

  return {
    get,
    peek,
    invalidate,
    revalidate,
    close() {
      clearInterval(timer)
      for (const entry of pages.values())
        if (entry.rebuild !== undefined) clearTimeout(entry.rebuild)
      pages.clear()
    },
  }
}

export type PageCache = ReturnType<typeof createPageCache>
