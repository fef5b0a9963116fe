import { CsrfField, Field, Notice, Page, type NavContext } from './layout.js'
import { Checkbox, ErrorSummary, Select } from './page-views.js'

type Errors = Readonly<Record<string, string>>

/** A sign-in through an identity provider that did not work, said plainly. */
export function SsoErrorPage(props: { title: string; message: string }) {
  return (
    <Page title={props.title}>
      <p>{props.message}</p>
      <p>
        <a href="/login/sso">Try single sign-on again</a> · <a href="/login">Back to sign in</a>
      </p>
    </Page>
  )
}

export interface SsoChoice {
  name: string
  href: string
}

/** "Sign in with single sign-on": the work email tells which identity provider to use. */
export function SsoDiscoveryPage(props: {
  csrfToken: string
  email?: string | undefined
  error?: string | undefined
  choices?: readonly SsoChoice[] | undefined
}) {
  return (
    <Page title="Sign in with single sign-on">
      {props.error !== undefined && <Notice kind="error">{props.error}</Notice>}
      {props.choices !== undefined && props.choices.length > 0 && (
        <section class="card narrow" aria-labelledby="choices-h">
          <h2 id="choices-h">Choose your sign-in</h2>
          <ul class="list">
            {props.choices.map((choice) => (
              <li key={choice.href}>
                <a href={choice.href}>{choice.name}</a>
              </li>
            ))}
          </ul>
        </section>
      )}
      <form method="post" action="/login/sso" class="card narrow">
        <CsrfField token={props.csrfToken} />
        <Field
          name="email"
          label="Work email"
          type="email"
          value={props.email}
          autocomplete="username"
          maxLength={254}
        />
        <button type="submit">Continue</button>
      </form>
      <p>
        <a href="/login">Sign in with a password instead</a>
      </p>
    </Page>
  )
}

export interface SsoConnectionRow {
  id: string
  name: string
  protocol: 'google' | 'oidc' | 'saml'
  enabled: boolean
  allowedDomains: readonly string[]
  jitEnabled: boolean
  defaultRole: string
  /** What to register at the IdP: the redirect URI (OIDC) or the SP metadata URL (SAML). */
  registration: string
  editHref: string | undefined
}

const PROTOCOL_NAMES = {
  google: 'Google',
  oidc: 'OpenID Connect',
  saml: 'SAML 2.0',
} as const

export function SsoSettingsPage(props: {
  nav: NavContext
  accountId: string
  connections: readonly SsoConnectionRow[]
  ssoEnforced: boolean
  isOwner: boolean
  notice?: string | undefined
  error?: string | undefined
  reauthenticateHref?: string | undefined
}) {
  const base = `/a/${encodeURIComponent(props.accountId)}/settings/sso`
  return (
    <Page title="Single sign-on" nav={props.nav}>
      {props.notice !== undefined && <Notice kind="success">{props.notice}</Notice>}
      {props.error !== undefined && (
        <Notice kind="error">
          {props.error}
          {props.reauthenticateHref !== undefined && (
            <>
              {' '}
              <a href={props.reauthenticateHref}>Confirm it is you</a>, then try again.
            </>
          )}
        </Notice>
      )}
      <p>
        People of the allowed email domains sign in through your identity provider. The owner always
        signs in with a password and a second factor, never through single sign-on, so a broken
        identity provider cannot lock the account out.
      </p>
      {props.connections.length === 0 ? (
        <p>No identity provider yet.</p>
      ) : (
        <table class="sso-connections">
          <caption>Identity providers of this account</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Protocol</th>
              <th scope="col">State</th>
              <th scope="col">Email domains</th>
              <th scope="col">New people</th>
              <th scope="col">Register at the provider</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {props.connections.map((connection) => (
              <tr key={connection.id} data-connection={connection.id}>
                <td>{connection.name}</td>
                <td>{PROTOCOL_NAMES[connection.protocol]}</td>
                <td>{connection.enabled ? 'Enabled' : 'Disabled'}</td>
                <td>
                  {connection.allowedDomains.length === 0
                    ? 'None'
                    : connection.allowedDomains.join(', ')}
                </td>
                <td>
                  {connection.jitEnabled
                    ? `Join as ${connection.defaultRole} at first sign-in`
                    : 'Invitation needed'}
                </td>
                <td>
                  <span class="muted">
                    {connection.protocol === 'saml' ? 'SP metadata: ' : 'Redirect URI: '}
                  </span>
                  <code>{connection.registration}</code>
                </td>
                <td class="row-actions">
                  {connection.editHref !== undefined && <a href={connection.editHref}>Edit</a>}
                  <form
                    method="post"
                    action={`${base}/${encodeURIComponent(connection.id)}/delete`}
                    class="inline-form"
                  >
                    <CsrfField token={props.nav.csrfToken} />
                    <button type="submit" class="link">
                      Delete
                    </button>
                  </form>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p class="actions">
        <a href={`${base}/oidc/new?protocol=google`}>Add Sign in with Google</a>
        <a href={`${base}/oidc/new?protocol=oidc`}>Add an OpenID Connect provider</a>
        <a href={`${base}/saml/new`}>Add a SAML 2.0 provider</a>
      </p>
      <section class="card narrow" aria-labelledby="enforce-h">
        <h2 id="enforce-h">Enforce single sign-on</h2>
        {props.ssoEnforced ? (
          <>
            <p>
              Single sign-on is <strong>enforced</strong>: members cannot use a password. The owner
              keeps their password and second factor.
            </p>
            {props.isOwner ? (
              <form method="post" action={`${base}/enforcement`}>
                <CsrfField token={props.nav.csrfToken} />
                <input type="hidden" name="enforced" value="false" />
                <button type="submit">Stop enforcing single sign-on</button>
              </form>
            ) : (
              <p class="muted">Only the owner can stop enforcing it.</p>
            )}
          </>
        ) : (
          <>
            <p>
              Single sign-on is not enforced: members may also sign in with a password. Enforcing it
              needs an enabled identity provider; only the owner can turn it off again.
            </p>
            <form method="post" action={`${base}/enforcement`}>
              <CsrfField token={props.nav.csrfToken} />
              <input type="hidden" name="enforced" value="true" />
              <button type="submit">Enforce single sign-on</button>
            </form>
          </>
        )}
      </section>
    </Page>
  )
}

export interface OidcFormValues {
  name: string
  enabled: boolean
  clientId: string
  issuer: string
  hostedDomain: string
  scopes: string
  allowedDomains: string
  jitEnabled: boolean
  defaultRole: string
}

export function OidcConnectionFormPage(props: {
  nav: NavContext
  accountId: string
  protocol: 'google' | 'oidc'
  /** Undefined for a new connection. */
  connectionId?: string | undefined
  values: OidcFormValues
  hasSecret: boolean
  redirectUri: string | undefined
  errors?: Errors | undefined
}) {
  const base = `/a/${encodeURIComponent(props.accountId)}/settings/sso`
  const action =
    props.connectionId === undefined
      ? `${base}/oidc`
      : `${base}/oidc/${encodeURIComponent(props.connectionId)}`
  const errors = props.errors ?? {}
  const v = props.values
  const google = props.protocol === 'google'
  return (
    <Page
      title={`${props.connectionId === undefined ? 'Add' : 'Edit'} ${google ? 'Sign in with Google' : 'OpenID Connect provider'}`}
      nav={props.nav}
    >
      <ErrorSummary errors={errors} />
      <p>
        Register Candor at the provider as a web application with this redirect URI:{' '}
        <code>{props.redirectUri ?? `${base}/oidc/<id>/callback (shown after saving)`}</code>
      </p>
      <form method="post" action={action} class="card narrow">
        <CsrfField token={props.nav.csrfToken} />
        <input type="hidden" name="protocol" value={props.protocol} />
        <Field name="name" label="Name" value={v.name} error={errors['name']} maxLength={100} />
        <Checkbox name="enabled" label="Enabled" checked={v.enabled} />
        {!google && (
          <Field
            name="issuer"
            label="Issuer URL"
            value={v.issuer}
            error={errors['issuer']}
            hint="The provider's issuer, such as https://login.example.com; its discovery document is read from /.well-known/openid-configuration."
            maxLength={500}
          />
        )}
        <Field
          name="clientId"
          label="Client ID"
          value={v.clientId}
          error={errors['clientId']}
          maxLength={255}
        />
        <Field
          name="clientSecret"
          label="Client secret"
          type="password"
          autocomplete="off"
          error={errors['clientSecret']}
          required={!props.hasSecret}
          hint={
            props.hasSecret
              ? 'Stored encrypted and never shown. Leave blank to keep it.'
              : 'Stored encrypted and never shown again.'
          }
          maxLength={1024}
        />
        {google && (
          <Field
            name="hostedDomain"
            label="Google Workspace domain"
            value={v.hostedDomain}
            error={errors['hostedDomain']}
            required={false}
            hint="Only accounts of this Workspace domain may sign in (Google's hd claim). Blank for any Google account of the allowed email domains."
            maxLength={253}
          />
        )}
        {!google && (
          <Field
            name="scopes"
            label="Scopes"
            value={v.scopes}
            error={errors['scopes']}
            required={false}
            hint="openid and email are always asked for."
            maxLength={500}
          />
        )}
        <Field
          name="allowedDomains"
          label="Allowed email domains"
          value={v.allowedDomains}
          error={errors['allowedDomains']}
          required={false}
          hint="Comma-separated, such as example.com, example.org. People of these domains find this sign-in from their email."
          maxLength={2000}
        />
        <Checkbox
          name="jitEnabled"
          label="Add new people at their first sign-in"
          checked={v.jitEnabled}
          hint="Otherwise only invited members can sign in this way."
        />
        <Select
          name="defaultRole"
          label="Role of people added at first sign-in"
          value={v.defaultRole}
          error={errors['defaultRole']}
          options={[
            { value: 'viewer', label: 'Viewer' },
            { value: 'editor', label: 'Editor' },
            { value: 'admin', label: 'Admin' },
          ]}
        />
        <button type="submit">Save</button>
      </form>
      <p>
        <a href={base}>Back to single sign-on</a>
      </p>
    </Page>
  )
}
