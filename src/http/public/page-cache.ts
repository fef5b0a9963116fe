import { createHash } from 'node:crypto'
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

  function build(snapshot: PageSnapshot, render: Render): Artifact | null {
    const rendered = render(snapshot)
    if (rendered === undefined) return null
    const body =
      typeof rendered.body === 'string' ? Buffer.from(rendered.body, 'utf8') : rendered.body
    return {
      body,
      gzip: gzipSync(body, { level: 9 }),
      br: brotliCompressSync(body, {
        params: {
          [zlibConstants.BROTLI_PARAM_QUALITY]: 9,
          [zlibConstants.BROTLI_PARAM_SIZE_HINT]: body.length,
        },
      }),
      etag: `"${String(snapshot.version)}-${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"`,
      contentType: rendered.contentType,
      version: snapshot.version,
    }
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
      return snapshot === undefined ? undefined : (build(snapshot, render) ?? undefined)
    }
    entry.renders.set(key, { render, load })
    const fresh = entry.snapshotAt !== 0 && now() - entry.snapshotAt <= maxAgeMs
    const cached = entry.artifacts.get(key)
    if (cached !== undefined && fresh) return cached ?? undefined
    if (cached !== undefined && !fresh) {
      // Serve what we have and refresh behind it: visitors never wait on a render.
      schedule(pageId, 0)
      return cached ?? undefined
    }
    // One render per resource at a time, however many visitors arrive together.
    let pending = entry.pending.get(key)
    if (pending === undefined) {
      const generation = entry.generation
      const tracked: Promise<Artifact | null | undefined> = (
        load === undefined ? snapshotOf(pageId, entry) : load()
      )
        .then((snapshot) => {
          if (snapshot === undefined) return undefined
          const artifact = build(snapshot, render)
          if (entry.generation === generation) entry.artifacts.set(key, artifact)
          return artifact
        })
        .finally(() => {
          if (entry.pending.get(key) === tracked) entry.pending.delete(key)
        })
      pending = tracked
      entry.pending.set(key, tracked)
    }
    return (await pending) ?? undefined
  }

  async function rebuild(pageId: string): Promise<void> {
    const entry = pages.get(pageId)
    if (entry === undefined) return
    const generation = entry.generation
    entry.snapshot = undefined
    const snapshot = await snapshotOf(pageId, entry)
    if (snapshot === undefined) {
      pages.delete(pageId)
      return
    }
    if (entry.generation !== generation) return
    const artifacts = new Map<string, Artifact | null>()
    for (const [key, { render, load }] of entry.renders) {
      try {
        const source = load === undefined ? snapshot : await load()
        if (entry.generation !== generation) return
        if (source !== undefined) artifacts.set(key, build(source, render))
      } catch (error) {
        options.logger.error({ err: error, pageId, key }, 'public render failed')
      }
    }
    entry.artifacts = artifacts
  }

  function schedule(pageId: string, delayMs: number): void {
    const entry = pages.get(pageId)
    if (entry === undefined || entry.rebuild !== undefined) return
    entry.rebuild = setTimeout(() => {
      entry.rebuild = undefined
      rebuild(pageId).catch((error: unknown) => {
        options.logger.error({ err: error, pageId }, 'public page rebuild failed')
      })
    }, delayMs)
    entry.rebuild.unref()
  }

  /** A change committed: drop the snapshot now (so no visitor sees old data) and re-render. */
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
