import type { ComponentChildren } from 'preact'
import { CsrfField, Field, Notice, Page, type NavContext } from './layout.js'

type Errors = Readonly<Record<string, string>>

export interface PasskeySummary {
  id: string
  name: string
  createdAt: Date
  lastUsedAt: Date | null
}

export interface SecurityStatus {
  hasPassword: boolean
  totpEnabled: boolean
  recoveryCodesLeft: number
  passkeys: PasskeySummary[]
  requiredBy: string[]
}

/** The passkey scripts: the WebAuthn browser library and our own small glue, both same-origin. */
export function PasskeyScripts() {
  return (
    <>
      <script src="/assets/webauthn-browser.js" defer />
      <script src="/assets/passkeys.js" defer />
    </>
  )
}

/**
 * A button the passkey script brings to life (hidden without JavaScript or WebAuthn), with the
 * place where it reports a problem.
 */
export function PasskeyButton(props: {
  purpose: 'register' | 'enrol' | 'sign_in' | 'second_factor' | 'reauthenticate'
  label: string
  next?: string | undefined
  secondary?: boolean | undefined
}) {
  return (
    <div class="passkey-action">
      <button
        type="button"
        class={props.secondary === true ? 'secondary' : undefined}
        data-passkey={props.purpose}
        data-next={props.next}
        hidden
      >
        {props.label}
      </button>
      <p class="error" data-passkey-error role="alert" hidden />
    </div>
  )
}

export function SecondFactorPage(props: {
  csrfToken: string
  choices: { totp: boolean; passkeys: boolean; recoveryCodes: boolean }
  error?: string | undefined
}) {
  const { choices } = props
  return (
    <Page title="Two-factor authentication">
      {props.error !== undefined && <Notice kind="error">{props.error}</Notice>}
      {(choices.totp || choices.recoveryCodes) && (
        <form method="post" action="/login/two-factor" class="card narrow">
          <CsrfField token={props.csrfToken} />
          <Field
            name="code"
            label={choices.totp ? 'Authentication code' : 'Recovery code'}
            hint={
              choices.totp
                ? 'The 6-digit code from your authenticator app, or one of your recovery codes.'
                : 'One of the recovery codes you saved.'
            }
            autocomplete="one-time-code"
            maxLength={64}
          />
          <button type="submit">Verify</button>
        </form>
      )}
      {choices.passkeys && (
        <div class="card narrow">
          {/* The passkey script sends the page's CSRF token with its requests. */}
          <CsrfField token={props.csrfToken} />
          <PasskeyButton purpose="second_factor" label="Use a passkey" />
        </div>
      )}
      <p>
        <a href="/login">Start again</a>
      </p>
      {choices.passkeys && <PasskeyScripts />}
    </Page>
  )
}

/** The QR code, the key to type by hand, and the form that confirms a first code. */
export function TotpSetup(props: {
  csrfToken: string
  action: string
  enrolment: string
  secret: string
  qrDataUrl: string
  error?: string | undefined
}) {
  return (
    <section class="card narrow" aria-labelledby="totp-setup-h">
      <h2 id="totp-setup-h">Authenticator app</h2>
      <ol>
        <li>Open an authenticator app (1Password, Aegis, Google Authenticator…).</li>
        <li>Scan this QR code, or enter the key below by hand.</li>
        <li>Type the 6-digit code the app shows.</li>
      </ol>
      <img
        src={props.qrDataUrl}
        alt="QR code for your authenticator app"
        width={200}
        height={200}
      />
      <p>
        Key: <code data-totp-secret>{props.secret.replace(/(.{4})/g, '$1 ').trim()}</code>
      </p>
      <form method="post" action={props.action}>
        <CsrfField token={props.csrfToken} />
        <input type="hidden" name="enrolment" value={props.enrolment} />
        <Field
          name="code"
          label="Code from the app"
          error={props.error}
          autocomplete="one-time-code"
          maxLength={16}
        />
        <button type="submit">Turn on</button>
      </form>
    </section>
  )
}

export function TotpSetupPage(
  props: Parameters<typeof TotpSetup>[0] & { nav?: NavContext | undefined },
) {
  return (
    <Page title="Set up an authenticator app" nav={props.nav}>
      <TotpSetup {...props} />
      <p>
        <a href="/profile/security">Back to security</a>
      </p>
    </Page>
  )
}

/** During sign-in, for a member of an account that requires a second factor. */
export function EnrolPage(props: Parameters<typeof TotpSetup>[0] & { requiredBy: string }) {
  return (
    <Page title="Set up two-factor authentication">
      <Notice kind="info">
        {props.requiredBy} requires two-factor authentication. Set up an authenticator app or a
        passkey to finish signing in.
      </Notice>
      <TotpSetup {...props} />
      <section class="card narrow" aria-labelledby="enrol-passkey-h">
        <h2 id="enrol-passkey-h">Or a passkey</h2>
        <PasskeyNameField />
        <PasskeyButton purpose="enrol" label="Add a passkey" />
      </section>
      <p>
        <a href="/login">Cancel</a>
      </p>
      <PasskeyScripts />
    </Page>
  )
}

function PasskeyNameField() {
  return (
    <div class="field">
      <label for="passkey-name">Name for this passkey</label>
      <input
        id="passkey-name"
        type="text"
        name="passkeyName"
        maxLength={60}
        placeholder="e.g. Work laptop"
        data-passkey-name
      />
    </div>
  )
}

export function RecoveryCodesPage(props: {
  nav?: NavContext | undefined
  codes: string[]
  continueHref: string
  continueLabel: string
  notice?: string | undefined
}) {
  return (
    <Page title="Your recovery codes" nav={props.nav}>
      {props.notice !== undefined && <Notice kind="success">{props.notice}</Notice>}
      <p>
        Each code signs you in once if you lose your authenticator app or passkeys. Store them
        somewhere safe now: they are not shown again.
      </p>
      <ol class="recovery-codes card narrow" data-recovery-codes>
        {props.codes.map((code) => (
          <li key={code}>
            <code>{code}</code>
          </li>
        ))}
      </ol>
      <p>
        <a href={props.continueHref}>{props.continueLabel}</a>
      </p>
    </Page>
  )
}

function formatDate(date: Date): string {
  return date.toISOString().slice(0, 10)
}

export function SecurityPage(props: {
  nav: NavContext
  status: SecurityStatus
  notice?: string | undefined
  errors?: Errors | undefined
}) {
  const { status } = props
  const csrf = props.nav.csrfToken
  const hasFactor = status.totpEnabled || status.passkeys.length > 0
  return (
    <Page title="Security" nav={props.nav}>
      {props.notice !== undefined && <Notice kind="success">{props.notice}</Notice>}
      {props.errors?.['form'] !== undefined && <Notice kind="error">{props.errors['form']}</Notice>}
      {status.requiredBy.length > 0 && (
        <Notice kind="info">
          {status.requiredBy.join(', ')} requires two-factor authentication.
        </Notice>
      )}
      <section class="card narrow" aria-labelledby="totp-h">
        <h2 id="totp-h">Authenticator app</h2>
        {status.totpEnabled ? (
          <>
            <p>On. Signing in asks for a code from your app after your password.</p>
            <form method="post" action="/profile/security/totp/disable">
              <CsrfField token={csrf} />
              <button type="submit" class="danger">
                Turn off
              </button>
            </form>
          </>
        ) : (
          <p>
            Off. <a href="/profile/security/totp">Set up an authenticator app</a>
          </p>
        )}
      </section>
      <section class="card narrow" aria-labelledby="recovery-h">
        <h2 id="recovery-h">Recovery codes</h2>
        {hasFactor ? (
          <>
            <p>{String(status.recoveryCodesLeft)} unused recovery codes left.</p>
            <form method="post" action="/profile/security/recovery-codes">
              <CsrfField token={csrf} />
              <button type="submit">Make new recovery codes</button>
            </form>
          </>
        ) : (
          <p>Recovery codes come with an authenticator app or a passkey.</p>
        )}
      </section>
      <section class="card" aria-labelledby="passkeys-h">
        <h2 id="passkeys-h">Passkeys</h2>
        {status.passkeys.length === 0 ? (
          <p>No passkeys yet. A passkey signs you in without a password, or after it.</p>
        ) : (
          <ul class="list" data-passkeys>
            {status.passkeys.map((passkey) => (
              <PasskeyRow key={passkey.id} passkey={passkey} csrf={csrf} errors={props.errors} />
            ))}
          </ul>
        )}
        <PasskeyNameField />
        <PasskeyButton purpose="register" label="Add a passkey" />
        <noscript>
          <p>Adding a passkey needs JavaScript.</p>
        </noscript>
      </section>
      <PasskeyScripts />
    </Page>
  )
}

function PasskeyRow(props: { passkey: PasskeySummary; csrf: string; errors?: Errors | undefined }) {
  const { passkey } = props
  const base = `/profile/security/passkeys/${encodeURIComponent(passkey.id)}`
  const error = props.errors?.[`passkey:${passkey.id}`]
  return (
    <li data-passkey-id={passkey.id}>
      <strong>{passkey.name}</strong>{' '}
      <span class="muted">
        added {formatDate(passkey.createdAt)}
        {passkey.lastUsedAt !== null && `, last used ${formatDate(passkey.lastUsedAt)}`}
      </span>
      <form method="post" action={`${base}/rename`} class="inline-form">
        <CsrfField token={props.csrf} />
        <label>
          New name <input type="text" name="name" maxLength={60} required value={passkey.name} />
        </label>{' '}
        <button type="submit" class="secondary">
          Rename
        </button>
      </form>{' '}
      <form method="post" action={`${base}/remove`} class="inline-form">
        <CsrfField token={props.csrf} />
        <button type="submit" class="danger">
          Remove
        </button>
      </form>
      {error !== undefined && <p class="error">{error}</p>}
    </li>
  )
}

export function ReauthenticatePage(props: {
  nav: NavContext
  next: string
  options: { password: boolean; totp: boolean; passkeys: boolean }
  errors?: Errors | undefined
}) {
  const { options } = props
  const csrf = props.nav.csrfToken
  const none = !options.password && !options.totp && !options.passkeys
  return (
    <Page title="Confirm it is you" nav={props.nav}>
      <p>For your security, confirm who you are before you continue.</p>
      {none ? (
        <ReauthenticateThroughIdp csrf={csrf} />
      ) : (
        <>
          {options.password && (
            <form method="post" action="/reauthenticate" class="card narrow">
              <CsrfField token={csrf} />
              <input type="hidden" name="next" value={props.next} />
              <Field
                name="password"
                label="Password"
                type="password"
                error={props.errors?.['password']}
                autocomplete="current-password"
                maxLength={128}
              />
              <button type="submit">Confirm with password</button>
            </form>
          )}
          {options.totp && (
            <form method="post" action="/reauthenticate" class="card narrow">
              <CsrfField token={csrf} />
              <input type="hidden" name="next" value={props.next} />
              <Field
                name="code"
                label="Code from your authenticator app"
                error={props.errors?.['code']}
                autocomplete="one-time-code"
                maxLength={16}
              />
              <button type="submit">Confirm with code</button>
            </form>
          )}
          {options.passkeys && (
            <div class="card narrow">
              <PasskeyButton
                purpose="reauthenticate"
                label="Confirm with a passkey"
                next={props.next}
              />
            </div>
          )}
        </>
      )}
      <p>
        <a href={props.next}>Cancel</a>
      </p>
      {options.passkeys && <PasskeyScripts />}
    </Page>
  )
}

function ReauthenticateThroughIdp({ csrf }: { csrf: string }): ComponentChildren {
  return (
    <div class="card narrow">
      <p>
        You signed in through your organisation&apos;s identity provider and have no password or
        second factor here. Sign out, then sign in again through your identity provider: a fresh
        sign-in confirms it is you.
      </p>
      <form method="post" action="/logout">
        <CsrfField token={csrf} />
        <button type="submit">Sign out</button>
      </form>
    </div>
  )
}

/** The owner's switch on the account settings page. */
export function TwoFactorRequirement(props: {
  accountId: string
  required: boolean
  isOwner: boolean
  csrfToken: string
  error?: string | undefined
}) {
  return (
    <section class="card narrow" aria-labelledby="require-2fa-h">
      <h2 id="require-2fa-h">Two-factor authentication</h2>
      {props.error !== undefined && <Notice kind="error">{props.error}</Notice>}
      <p>
        {props.required
          ? 'Every member must sign in with a second factor (an authenticator app or a passkey).'
          : 'Members may sign in with a password alone.'}
      </p>
      {props.isOwner ? (
        <form
          method="post"
          action={`/a/${encodeURIComponent(props.accountId)}/settings/two-factor`}
        >
          <CsrfField token={props.csrfToken} />
          <input type="hidden" name="required" value={props.required ? 'off' : 'on'} />
          <button type="submit" class={props.required ? 'danger' : undefined}>
            {props.required ? 'Stop requiring two-factor' : 'Require two-factor for every member'}
          </button>
        </form>
      ) : (
        <p class="muted">Only the owner can change this.</p>
      )}
    </section>
  )
}
