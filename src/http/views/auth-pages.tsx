import { CsrfField, Field, Notice, Page } from './layout.js'
import { PasskeyButton, PasskeyScripts } from './two-factor-pages.js'

type Errors = Readonly<Record<string, string>>

export function LoginPage(props: {
  csrfToken: string
  email?: string | undefined
  error?: string | undefined
  notice?: string | undefined
  allowSignup: boolean
}) {
  return (
    <Page title="Sign in">
      {props.notice !== undefined && <Notice kind="success">{props.notice}</Notice>}
      {props.error !== undefined && <Notice kind="error">{props.error}</Notice>}
      <form method="post" action="/login" class="card narrow">
        <CsrfField token={props.csrfToken} />
        <Field
          name="email"
          label="Email"
          type="email"
          value={props.email}
          autocomplete="username"
          maxLength={254}
        />
        <Field
          name="password"
          label="Password"
          type="password"
          autocomplete="current-password"
          maxLength={128}
        />
        <button type="submit">Sign in</button>
      </form>
      <div class="card narrow">
        <PasskeyButton purpose="sign_in" label="Sign in with a passkey" secondary />
      </div>
      <PasskeyScripts />
      <p>
        <a href="/login/sso">Sign in with single sign-on</a>
      </p>
      <p>
        <a href="/forgot-password">Forgot your password?</a>
        {props.allowSignup && (
          <>
            {' · '}
            <a href="/signup">Create an account</a>
          </>
        )}
      </p>
    </Page>
  )
}

export function ForgotPasswordPage(props: {
  csrfToken: string
  email?: string | undefined
  errors?: Errors | undefined
  sent?: boolean | undefined
}) {
  return (
    <Page title="Reset your password">
      {props.sent === true ? (
        <Notice kind="success">
          If this address has a Candor login, a message with a reset link is on its way. The link
          works once and expires soon.
        </Notice>
      ) : (
        <form method="post" action="/forgot-password" class="card narrow">
          <CsrfField token={props.csrfToken} />
          <Field
            name="email"
            label="Email"
            type="email"
            value={props.email}
            error={props.errors?.['email']}
            autocomplete="username"
            maxLength={254}
          />
          <button type="submit">Send reset link</button>
        </form>
      )}
      <p>
        <a href="/login">Back to sign in</a>
      </p>
    </Page>
  )
}

export function ResetPasswordPage(props: {
  csrfToken: string
  token: string
  errors?: Errors | undefined
}) {
  return (
    <Page title="Choose a new password">
      <form method="post" action="/reset-password" class="card narrow">
        <CsrfField token={props.csrfToken} />
        <input type="hidden" name="token" value={props.token} />
        <Field
          name="password"
          label="New password"
          type="password"
          error={props.errors?.['password']}
          autocomplete="new-password"
          hint="At least 8 characters. A long phrase is easier to remember and harder to guess."
          maxLength={128}
        />
        <button type="submit">Set password and sign out everywhere</button>
      </form>
    </Page>
  )
}

export function OwnerForm(props: {
  csrfToken: string
  action: string
  token: string
  submitLabel: string
  values?: {
    accountName?: string | undefined
    name?: string | undefined
    email?: string | undefined
  }
  fixedEmail?: string | undefined
  errors?: Errors | undefined
}) {
  const errors = props.errors ?? {}
  return (
    <form method="post" action={props.action} class="card narrow">
      <CsrfField token={props.csrfToken} />
      <input type="hidden" name="token" value={props.token} />
      <Field
        name="accountName"
        label="Company or team name"
        value={props.values?.accountName}
        error={errors['accountName']}
        autocomplete="organization"
        maxLength={100}
      />
      <Field
        name="name"
        label="Your name"
        value={props.values?.name}
        error={errors['name']}
        autocomplete="name"
        maxLength={100}
      />
      {props.fixedEmail === undefined ? (
        <Field
          name="email"
          label="Your email"
          type="email"
          value={props.values?.email}
          error={errors['email']}
          autocomplete="username"
          maxLength={254}
        />
      ) : (
        <p>
          Email: <strong>{props.fixedEmail}</strong>
        </p>
      )}
      <Field
        name="password"
        label="Password"
        type="password"
        error={errors['password']}
        autocomplete="new-password"
        hint="At least 8 characters. A long phrase is easier to remember and harder to guess."
        maxLength={128}
      />
      <button type="submit">{props.submitLabel}</button>
    </form>
  )
}

export function SetupPage(props: Omit<Parameters<typeof OwnerForm>[0], 'action' | 'submitLabel'>) {
  return (
    <Page title="Set up Candor">
      <p>Create the first account and its owner. This link works once.</p>
      <OwnerForm {...props} action="/setup" submitLabel="Create account" />
    </Page>
  )
}

export function SignupPage(props: {
  csrfToken: string
  email?: string | undefined
  errors?: Errors | undefined
  sent?: boolean | undefined
}) {
  return (
    <Page title="Create a Candor account">
      {props.sent === true ? (
        <Notice kind="success">
          Check your email: a link to finish creating your account is on its way.
        </Notice>
      ) : (
        <form method="post" action="/signup" class="card narrow">
          <CsrfField token={props.csrfToken} />
          <Field
            name="email"
            label="Your work email"
            type="email"
            value={props.email}
            error={props.errors?.['email']}
            autocomplete="username"
            maxLength={254}
          />
          <button type="submit">Continue</button>
        </form>
      )}
      <p>
        <a href="/login">Already have a login? Sign in</a>
      </p>
    </Page>
  )
}

export function SignupCompletePage(
  props: Omit<Parameters<typeof OwnerForm>[0], 'action' | 'submitLabel'>,
) {
  return (
    <Page title="Finish creating your account">
      <OwnerForm {...props} action="/signup/complete" submitLabel="Create account" />
    </Page>
  )
}

export function MessagePage(props: {
  title: string
  message: string
  link?: { href: string; label: string }
}) {
  return (
    <Page title={props.title}>
      <p>{props.message}</p>
      {props.link !== undefined && (
        <p>
          <a href={props.link.href}>{props.link.label}</a>
        </p>
      )}
    </Page>
  )
}
