import { t } from '../i18n.js'
import { pageHref, type PublicRenderContext } from './context.js'
import { PublicLayout, renderPublicDocument } from './layout.js'

export interface PasswordPageContext extends PublicRenderContext {
  /** A message for the visitor, e.g. t(locale, 'password.wrong') after a failed attempt. */
  error?: string | undefined
  csrfToken: string
}

/**
 * The gate of a password-protected page: nothing about the page but its name, and not even that
 * when pageName is ''. No theme, logo or feeds: those sit behind the gate too.
 */
export function renderPasswordPage(pageName: string, ctx: PasswordPageContext): string {
  const l = ctx.locale
  const error = ctx.error
  const name = pageName.trim()
  return renderPublicDocument(
    <PublicLayout
      ctx={ctx}
      page={{ name }}
      title={name === '' ? t(l, 'password.title') : `${t(l, 'password.title')} · ${name}`}
      withFeeds={false}
    >
      <div class="card gate">
        <h1>{t(l, 'password.title')}</h1>
        <p>{name === '' ? t(l, 'password.introUnnamed') : t(l, 'password.intro', { name })}</p>
        <form method="post" action={pageHref(ctx, '/access')} class="gate-form">
          <input type="hidden" name="_csrf" value={ctx.csrfToken} />
          <div class={error === undefined ? 'field' : 'field invalid'}>
            <label for="page-password">{t(l, 'password.label')}</label>
            {error !== undefined && (
              <p class="field-error" id="page-password-error" role="alert">
                {error}
              </p>
            )}
            <input
              type="password"
              id="page-password"
              name="password"
              autocomplete="current-password"
              required
              maxLength={128}
              aria-invalid={error === undefined ? undefined : 'true'}
              aria-describedby={error === undefined ? undefined : 'page-password-error'}
            />
          </div>
          <button type="submit" class="button">
            {t(l, 'password.submit')}
          </button>
        </form>
      </div>
    </PublicLayout>,
  )
}
