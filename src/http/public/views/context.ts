import type { Locale } from '../../../domain/pages/types.js'

/** Where and for whom a public page is rendered; the views never look at the request. */
export interface PublicRenderContext {
  /** '' on the page's own host, '/p/<slug>' on the main host; every link starts with it. */
  basePath: string
  locale: Locale
  now: Date
}

/** The page's home: '/' on its own host, the bare base path on the main host. */
export function homeHref(ctx: PublicRenderContext): string {
  return ctx.basePath === '' ? '/' : ctx.basePath
}

export function pageHref(ctx: PublicRenderContext, path: `/${string}`): string {
  return `${ctx.basePath}${path}`
}

export function incidentHref(ctx: PublicRenderContext, incidentId: string): string {
  return `${ctx.basePath}/incidents/${encodeURIComponent(incidentId)}`
}

export function historyHref(ctx: PublicRenderContext, month?: string): string {
  return month === undefined
    ? `${ctx.basePath}/history`
    : `${ctx.basePath}/history?month=${encodeURIComponent(month)}`
}

/** Only web and mail addresses are ever put in an href built from stored settings. */
export function safeExternalUrl(url: string | null): string | undefined {
  if (url === null) return undefined
  const text = url.trim()
  return /^(https?:\/\/|mailto:)/i.test(text) ? text : undefined
}
