import type { ComponentChildren } from 'preact'
import { renderToStaticMarkup } from 'preact-render-to-string'

export interface NavContext {
  userName: string
  csrfToken: string
  accounts: { id: string; name: string; role: string }[]
  currentAccountId?: string | undefined
  showMailbox?: boolean | undefined
}

export function renderDocument(node: ComponentChildren): string {
  return `<!doctype html>${renderToStaticMarkup(<>{node}</>)}`
}

export function Page({
  title,
  nav,
  children,
}: {
  title: string
  nav?: NavContext | undefined
  children: ComponentChildren
}) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="same-origin" />
        <title>{`${title} · Candor`}</title>
        <link rel="stylesheet" href="/assets/app.css" />
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="topbar">
          <a class="brand" href={nav === undefined ? '/login' : '/dashboard'}>
            Candor
          </a>
          {nav !== undefined && <TopNav nav={nav} />}
        </header>
        <div class={nav?.currentAccountId === undefined ? 'shell single' : 'shell'}>
          {nav?.currentAccountId !== undefined && (
            <SideNav nav={nav} accountId={nav.currentAccountId} />
          )}
          <main id="main">
            <h1>{title}</h1>
            {children}
          </main>
        </div>
      </body>
    </html>
  )
}

function TopNav({ nav }: { nav: NavContext }) {
  return (
    <nav aria-label="Your login">
      <ul class="inline">
        <li>
          <a href="/profile">{nav.userName}</a>
        </li>
        <li>
          <a href="/profile/sessions">Sessions</a>
        </li>
        <li>
          <form method="post" action="/logout" class="inline-form">
            <CsrfField token={nav.csrfToken} />
            <button type="submit" class="link">
              Sign out
            </button>
          </form>
        </li>
      </ul>
    </nav>
  )
}

function SideNav({ nav, accountId }: { nav: NavContext; accountId: string }) {
  const base = `/a/${encodeURIComponent(accountId)}`
  return (
    <nav class="sidenav" aria-label="Account">
      {nav.accounts.length > 1 && (
        <details>
          <summary>Switch account</summary>
          <ul>
            {nav.accounts.map((account) => (
              <li key={account.id}>
                <a
                  href={`/a/${encodeURIComponent(account.id)}`}
                  aria-current={account.id === accountId ? 'page' : undefined}
                >
                  {account.name}
                </a>
              </li>
            ))}
          </ul>
        </details>
      )}
      <ul>
        <li>
          <a href={base}>Overview</a>
        </li>
        <li>
          <a href={`${base}/pages`}>Status pages</a>
        </li>
        <li>
          <a href={`${base}/team`}>Team</a>
        </li>
        <li>
          <a href={`${base}/settings`}>Account settings</a>
        </li>
        {nav.accounts.some(
          (account) =>
            account.id === accountId && (account.role === 'owner' || account.role === 'admin'),
        ) && (
          <>
            <li>
              <a href={`${base}/audit`}>Audit log</a>
            </li>
            <li>
              <a href={`${base}/api-keys`}>API keys</a>
            </li>
          </>
        )}
        <li>
          <a href={`${base}/api-reference`}>API reference</a>
        </li>
        {nav.showMailbox === true && (
          <li>
            <a href={`${base}/mail`}>Mailbox</a>
          </li>
        )}
      </ul>
    </nav>
  )
}

export function CsrfField({ token }: { token: string }) {
  return <input type="hidden" name="_csrf" value={token} />
}

export function Notice({
  kind,
  children,
}: {
  kind: 'error' | 'success' | 'info'
  children: ComponentChildren
}) {
  return (
    <div class={`notice ${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  )
}

export function Field(props: {
  name: string
  label: string
  type?: 'text' | 'email' | 'password' | undefined
  value?: string | undefined
  error?: string | undefined
  autocomplete?: string | undefined
  required?: boolean | undefined
  hint?: string | undefined
  maxLength?: number | undefined
}) {
  const id = `field-${props.name}`
  const describedBy = [
    props.hint !== undefined ? `${id}-hint` : '',
    props.error !== undefined ? `${id}-error` : '',
  ]
    .filter(Boolean)
    .join(' ')
  const common = {
    id,
    name: props.name,
    value: props.value,
    autocomplete: props.autocomplete,
    required: props.required ?? true,
    maxLength: props.maxLength,
    'aria-invalid': props.error !== undefined ? ('true' as const) : undefined,
    'aria-describedby': describedBy === '' ? undefined : describedBy,
  }
  return (
    <div class={props.error === undefined ? 'field' : 'field invalid'}>
      <label for={id}>{props.label}</label>
      {props.hint !== undefined && (
        <p class="hint" id={`${id}-hint`}>
          {props.hint}
        </p>
      )}
      {props.error !== undefined && (
        <p class="error" id={`${id}-error`}>
          {props.error}
        </p>
      )}
      {props.type === 'password' ? (
        <input type="password" {...common} />
      ) : props.type === 'email' ? (
        <input type="email" {...common} />
      ) : (
        <input type="text" {...common} />
      )}{' '}
    </div>
  )
}
