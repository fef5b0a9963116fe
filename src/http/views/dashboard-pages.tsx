import type { Session } from '../../auth/session-service.js'
import type { Account } from '../../domain/accounts/account-repository.js'
import type { MailboxEntry } from '../../domain/accounts/mailbox-service.js'
import type { Membership } from '../../domain/accounts/membership-repository.js'
import type { Page as StatusPage } from '../../domain/pages/types.js'
import { CsrfField, Field, Notice, Page, type NavContext } from './layout.js'
import { TwoFactorRequirement } from './two-factor-pages.js'

type Errors = Readonly<Record<string, string>>

export function NoAccountPage({ nav }: { nav: NavContext }) {
  return (
    <Page title="No account yet" nav={nav}>
      <p>Your login is not a member of any account. Ask an account owner to invite you.</p>
    </Page>
  )
}

export function AccountOverviewPage({
  nav,
  account,
  membership,
  pages,
}: {
  nav: NavContext
  account: Account
  membership: Membership
  pages: StatusPage[]
}) {
  const pagesPath = `/a/${encodeURIComponent(account.id)}/pages`
  return (
    <Page title={account.name} nav={nav}>
      <p>
        You are <strong>{membership.role}</strong> of this account.
      </p>
      <section class="card" aria-labelledby="status-pages-h">
        <h2 id="status-pages-h">Status pages</h2>
        {pages.length === 0 ? (
          <p>No status page yet. Status pages, components and incidents are managed here.</p>
        ) : (
          <ul class="list">
            {pages.map((page) => (
              <li key={page.id}>
                <a href={`/pages/${encodeURIComponent(page.id)}`}>{page.name}</a>{' '}
                <span class="muted">/p/{page.slug}</span>
              </li>
            ))}
          </ul>
        )}
        <p>
          <a href={pagesPath}>
            {membership.role === 'viewer' ? 'All status pages' : 'Create a status page'}
          </a>
        </p>
      </section>
    </Page>
  )
}

export function AccountSettingsPage(props: {
  nav: NavContext
  account: Account
  canEdit: boolean
  errors?: Errors | undefined
  value?: string | undefined
  saved?: boolean | undefined
  twoFactor?: { required: boolean; isOwner: boolean; error?: string | undefined } | undefined
}) {
  return (
    <Page title="Account settings" nav={props.nav}>
      {props.saved === true && <Notice kind="success">Saved.</Notice>}
      {props.canEdit ? (
        <form
          method="post"
          action={`/a/${encodeURIComponent(props.account.id)}/settings`}
          class="card narrow"
        >
          <CsrfField token={props.nav.csrfToken} />
          <Field
            name="name"
            label="Account name"
            value={props.value ?? props.account.name}
            error={props.errors?.['name']}
            maxLength={100}
          />
          <button type="submit">Save</button>
        </form>
      ) : (
        <p>
          Account name: <strong>{props.account.name}</strong>. Only admins and the owner can change
          it.
        </p>
      )}
      {props.canEdit && (
        <p>
          <a href={`/a/${encodeURIComponent(props.account.id)}/settings/sso`}>Single sign-on</a>
        </p>
      )}
      {props.twoFactor !== undefined && (
        <TwoFactorRequirement
          accountId={props.account.id}
          csrfToken={props.nav.csrfToken}
          {...props.twoFactor}
        />
      )}
      <p class="muted">Account id: {props.account.id}</p>
    </Page>
  )
}

export function ProfilePage(props: {
  nav: NavContext
  name: string
  email: string
  errors?: Errors | undefined
  notice?: string | undefined
}) {
  const errors = props.errors ?? {}
  return (
    <Page title="Your profile" nav={props.nav}>
      {props.notice !== undefined && <Notice kind="success">{props.notice}</Notice>}
      <section class="card narrow" aria-labelledby="profile-h">
        <h2 id="profile-h">Name</h2>
        <p>Email: {props.email}</p>
        <form method="post" action="/profile">
          <CsrfField token={props.nav.csrfToken} />
          <Field
            name="name"
            label="Name"
            value={props.name}
            error={errors['name']}
            autocomplete="name"
            maxLength={100}
          />
          <button type="submit">Save name</button>
        </form>
      </section>
      <section class="card narrow" aria-labelledby="password-h">
        <h2 id="password-h">Change password</h2>
        <p>Changing your password signs you out of every other session.</p>
        <form method="post" action="/profile/password">
          <CsrfField token={props.nav.csrfToken} />
          <Field
            name="currentPassword"
            label="Current password"
            type="password"
            error={errors['currentPassword']}
            autocomplete="current-password"
            maxLength={128}
          />
          <Field
            name="newPassword"
            label="New password"
            type="password"
            error={errors['newPassword']}
            autocomplete="new-password"
            hint="At least 8 characters."
            maxLength={128}
          />
          <button type="submit">Change password</button>
        </form>
      </section>
    </Page>
  )
}

export function SessionsPage({
  nav,
  sessions,
  currentIdHash,
  notice,
}: {
  nav: NavContext
  sessions: Session[]
  currentIdHash: string
  notice?: string | undefined
}) {
  return (
    <Page title="Your sessions" nav={nav}>
      {notice !== undefined && <Notice kind="success">{notice}</Notice>}
      <table>
        <caption>Browsers signed in to your login</caption>
        <thead>
          <tr>
            <th scope="col">Browser</th>
            <th scope="col">IP address</th>
            <th scope="col">Signed in</th>
            <th scope="col">Last active</th>
            <th scope="col">
              <span class="visually-hidden">Action</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {sessions.map((session) => (
            <tr key={session.idHash}>
              <td>
                {session.userAgent === '' ? 'Unknown' : session.userAgent}
                {session.idHash === currentIdHash && <strong> (this browser)</strong>}
              </td>
              <td>{session.ip}</td>
              <td>
                <time dateTime={session.createdAt.toISOString()}>
                  {formatTime(session.createdAt)}
                </time>
              </td>
              <td>
                <time dateTime={session.lastSeenAt.toISOString()}>
                  {formatTime(session.lastSeenAt)}
                </time>
              </td>
              <td>
                <form method="post" action="/profile/sessions/revoke" class="inline-form">
                  <CsrfField token={nav.csrfToken} />
                  <input type="hidden" name="session" value={session.idHash} />
                  <button type="submit" class="secondary">
                    Sign out
                  </button>
                </form>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div class="actions">
        <form method="post" action="/profile/sessions/revoke-others" class="inline-form">
          <CsrfField token={nav.csrfToken} />
          <button type="submit" class="secondary">
            Sign out all other sessions
          </button>
        </form>
        <form method="post" action="/profile/sessions/revoke-all" class="inline-form">
          <CsrfField token={nav.csrfToken} />
          <button type="submit" class="danger">
            Sign out everywhere
          </button>
        </form>
      </div>
    </Page>
  )
}

export function MailboxPage({
  nav,
  accountId,
  messages,
}: {
  nav: NavContext
  accountId: string
  messages: MailboxEntry[]
}) {
  return (
    <Page title="Mailbox" nav={nav}>
      <p>
        No SMTP server is configured, so Candor writes outgoing email to files in its data folder.
        The messages for this account are listed here. Set <code>SMTP_HOST</code> to deliver them
        instead.
      </p>
      {messages.length === 0 ? (
        <p>No messages yet.</p>
      ) : (
        <ul class="list">
          {messages.map((message) => (
            <li key={message.id}>
              <a
                href={`/a/${encodeURIComponent(accountId)}/mail/${encodeURIComponent(message.id)}`}
              >
                {message.subject}
              </a>{' '}
              <time dateTime={message.createdAt.toISOString()}>
                {formatTime(message.createdAt)}
              </time>
            </li>
          ))}
        </ul>
      )}
    </Page>
  )
}

export function MailMessagePage({
  nav,
  entry,
  raw,
}: {
  nav: NavContext
  entry: MailboxEntry
  raw: string
}) {
  return (
    <Page title={entry.subject} nav={nav}>
      <pre class="raw-mail">{raw}</pre>
    </Page>
  )
}

function formatTime(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`
}
