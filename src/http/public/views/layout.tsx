import type { ComponentChildren } from 'preact'
import { renderToStaticMarkup } from 'preact-render-to-string'
import type { Page } from '../../../domain/pages/types.js'
import { t, zoneLabel } from '../i18n.js'
import {
  historyHref,
  homeHref,
  pageHref,
  safeExternalUrl,
  type PublicRenderContext,
} from './context.js'

export function renderPublicDocument(node: ComponentChildren): string {
  return `<!doctype html>${renderToStaticMarkup(<>{node}</>)}`
}

/** The page as the layout needs it: the password page only knows the name. */
export type LayoutPage = Pick<Page, 'name'> &
  Partial<Pick<Page, 'hasLogo' | 'supportUrl' | 'homepageUrl' | 'timeZone'>>

/**
 * The public pages' own layout: the page's branding, not Candor's. No scripts, no inline styles:
 * the stylesheet is shared and cacheable, the brand colour and custom CSS come from theme.css.
 */
export function PublicLayout({
  ctx,
  page,
  version,
  title,
  description,
  withFeeds = true,
  children,
}: {
  ctx: PublicRenderContext
  page: LayoutPage
  /** The snapshot version; without it (password page) theme.css and the logo are not linked. */
  version?: number | undefined
  title: string
  description?: string | undefined
  withFeeds?: boolean | undefined
  children: ComponentChildren
}) {
  const l = ctx.locale
  const homepage = safeExternalUrl(page.homepageUrl ?? null)
  const support = safeExternalUrl(page.supportUrl ?? null)
  return (
    <html lang={l}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light" />
        <title>{title}</title>
        {description !== undefined && <meta name="description" content={description} />}
        <link rel="stylesheet" href="/assets/status.css" />
        {version !== undefined && (
          <link rel="stylesheet" href={`${pageHref(ctx, '/theme.css')}?v=${version}`} />
        )}
        {withFeeds && (
          <>
            <link
              rel="alternate"
              type="application/atom+xml"
              title={`${page.name} – ${t(l, 'footer.atom')}`}
              href={pageHref(ctx, '/history.atom')}
            />
            <link
              rel="alternate"
              type="application/rss+xml"
              title={`${page.name} – ${t(l, 'footer.rss')}`}
              href={pageHref(ctx, '/history.rss')}
            />
          </>
        )}
      </head>
      <body>
        <a class="skip-link" href="#main">
          {t(l, 'skip.link')}
        </a>
        <header class="site-header">
          <div class="wrap header-inner">
            {page.name !== '' && (
              <a class="brand" href={homeHref(ctx)}>
                {page.hasLogo === true && version !== undefined ? (
                  <img
                    class="brand-logo"
                    src={`${pageHref(ctx, '/logo')}?v=${version}`}
                    alt={page.name}
                  />
                ) : (
                  <span class="brand-name">{page.name}</span>
                )}
              </a>
            )}
            {(homepage !== undefined || support !== undefined) && (
              <nav class="header-nav" aria-label={t(l, 'header.nav')}>
                <ul>
                  {homepage !== undefined && (
                    <li>
                      <a href={homepage} rel="noopener noreferrer">
                        {t(l, 'header.homepage')}
                      </a>
                    </li>
                  )}
                  {support !== undefined && (
                    <li>
                      <a class="button" href={support} rel="noopener noreferrer">
                        {t(l, 'header.support')}
                      </a>
                    </li>
                  )}
                </ul>
              </nav>
            )}
          </div>
        </header>
        <main id="main" class="wrap" tabindex={-1}>
          {children}
        </main>
        <footer class="site-footer">
          <div class="wrap">
            {withFeeds && (
              <nav aria-label={t(l, 'footer.nav')}>
                <ul class="footer-links">
                  <li>
                    <a href={historyHref(ctx)}>{t(l, 'footer.history')}</a>
                  </li>
                  <li>
                    <a href={pageHref(ctx, '/history.atom')} type="application/atom+xml">
                      {t(l, 'footer.atom')}
                    </a>
                  </li>
                  <li>
                    <a href={pageHref(ctx, '/history.rss')} type="application/rss+xml">
                      {t(l, 'footer.rss')}
                    </a>
                  </li>
                  <li>
                    <a href={pageHref(ctx, '/maintenance.ics')} type="text/calendar">
                      {t(l, 'footer.calendar')}
                    </a>
                  </li>
                  <li>
                    <a href={pageHref(ctx, '/api/v2/summary.json')} type="application/json">
                      {t(l, 'footer.api')}
                    </a>
                  </li>
                </ul>
              </nav>
            )}
            {page.timeZone !== undefined && (
              <p class="footer-zone">
                {t(l, 'footer.timeZone', {
                  zone: `${page.timeZone} (${zoneLabel(ctx.now, l, page.timeZone)})`,
                })}
              </p>
            )}
            <p class="powered">{t(l, 'footer.poweredBy', { product: 'Candor' })}</p>
          </div>
        </footer>
      </body>
    </html>
  )
}
