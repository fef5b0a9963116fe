import type { SamlServiceProviderUrls } from '../../auth/sso/saml.js'
import { CsrfField, Notice, Page, type NavContext } from './layout.js'
import { Checkbox, ErrorSummary, Input, Select, TextArea } from './page-views.js'

export interface SamlFormValues {
  name: string
  enabled: string
  allowedDomains: string
  jitEnabled: string
  defaultRole: string
  metadataXml: string
  idpEntityId: string
  idpSsoUrl: string
  idpSloUrl: string
  idpCertificates: string
  attributeEmail: string
  attributeName: string
}

const ROLE_OPTIONS = [
  { value: 'viewer', label: 'Viewer' },
  { value: 'editor', label: 'Editor' },
  { value: 'admin', label: 'Admin' },
] as const

function isOn(value: string): boolean {
  return value === 'true' || value === 'on'
}

/** What the IdP's administrator copies into their side: Candor's URLs for this connection. */
function ServiceProviderDetails({ sp }: { sp: SamlServiceProviderUrls }) {
  const rows = [
    ['Entity id (audience)', sp.entityId],
    ['Assertion consumer service (ACS) URL, HTTP-POST', sp.acsUrl],
    ['Single log-out URL, HTTP-Redirect', sp.sloUrl],
    ['Metadata URL', sp.metadataUrl],
    ['Sign-in link (SP-initiated)', sp.startUrl],
  ] as const
  return (
    <section class="card" aria-labelledby="sp-h">
      <h2 id="sp-h">Give these to your identity provider</h2>
      <p>
        Most identity providers read them from the metadata URL. Assertions must be signed; the
        email address is read from an <code>email</code> or <code>mail</code> attribute (or the
        NameID when it is an email address).
      </p>
      <dl class="sp-details">
        {rows.map(([label, value]) => (
          <div key={label}>
            <dt>{label}</dt>
            <dd>
              <code>{value}</code>
            </dd>
          </div>
        ))}
      </dl>
    </section>
  )
}

export function SamlConnectionPage(props: {
  nav: NavContext
  accountId: string
  connection: { id: string; name: string; configured: boolean } | undefined
  sp: SamlServiceProviderUrls | undefined
  values: SamlFormValues
  errors?: Readonly<Record<string, string>> | undefined
  notice?: string | undefined
  settingsUrl: string
}) {
  const { values, connection } = props
  const errors = props.errors ?? {}
  const action =
    connection === undefined
      ? `${props.settingsUrl}/saml/new`
      : `${props.settingsUrl}/saml/${encodeURIComponent(connection.id)}`
  return (
    <Page
      title={connection === undefined ? 'New SAML connection' : `SAML: ${connection.name}`}
      nav={props.nav}
    >
      <p>
        <a href={props.settingsUrl}>Single sign-on settings</a>
      </p>
      {props.notice !== undefined && <Notice kind="success">{props.notice}</Notice>}
      <ErrorSummary errors={errors} />
      {props.sp === undefined ? (
        <p>
          Once saved, this page shows the URLs to give to your identity provider. You may save the
          connection turned off first, and add the identity provider's details later.
        </p>
      ) : (
        <ServiceProviderDetails sp={props.sp} />
      )}
      {connection !== undefined && !connection.configured && (
        <Notice kind="info">
          The identity provider is not set up yet: paste its metadata below, then turn the
          connection on.
        </Notice>
      )}
      <form method="post" action={action} class="card">
        <CsrfField token={props.nav.csrfToken} />
        <Input
          name="name"
          label="Name"
          value={values.name}
          error={errors['name']}
          hint="Shown on the sign-in page, e.g. Okta."
          maxLength={100}
          required
        />
        <Checkbox
          name="enabled"
          label="Turned on: people can sign in with it"
          checked={isOn(values.enabled)}
        />
        <h2>Identity provider</h2>
        <TextArea
          name="metadataXml"
          label="Metadata XML"
          value={values.metadataXml}
          error={errors['metadataXml']}
          hint="Paste the identity provider's SAML metadata: it fills in the fields below (and replaces them)."
          rows={6}
          code
        />
        <Input
          name="idpEntityId"
          label="Entity id (issuer)"
          value={values.idpEntityId}
          error={errors['idpEntityId']}
          maxLength={1024}
        />
        <Input
          type="url"
          name="idpSsoUrl"
          label="Sign-in (SSO) URL, HTTP-Redirect binding"
          value={values.idpSsoUrl}
          error={errors['idpSsoUrl']}
          maxLength={2048}
        />
        <Input
          type="url"
          name="idpSloUrl"
          label="Log-out (SLO) URL, HTTP-Redirect binding (optional)"
          value={values.idpSloUrl}
          error={errors['idpSloUrl']}
          hint="Without it, signing out of Candor does not sign out of the identity provider."
          maxLength={2048}
        />
        <TextArea
          name="idpCertificates"
          label="Signing certificates (PEM)"
          value={values.idpCertificates}
          error={errors['idpCertificates']}
          hint="One or more BEGIN CERTIFICATE blocks. An assertion signed by any of them is accepted."
          rows={6}
          code
        />
        <h2>People</h2>
        <Input
          name="allowedDomains"
          label="Allowed email domains"
          value={values.allowedDomains}
          error={errors['allowedDomains']}
          hint="Comma-separated, e.g. example.com. People from these domains may sign in."
          maxLength={5000}
        />
        <Checkbox
          name="jitEnabled"
          label="Just-in-time provisioning: add unknown people from these domains at their first sign-in"
          checked={isOn(values.jitEnabled)}
        />
        <Select
          name="defaultRole"
          label="Role of people added this way"
          value={values.defaultRole}
          error={errors['defaultRole']}
          options={ROLE_OPTIONS}
        />
        <Input
          name="attributeEmail"
          label="Email attribute (optional)"
          value={values.attributeEmail}
          error={errors['attributeEmail']}
          hint="Blank: email, mail, or the emailaddress claim; else the NameID when it is an email address."
          maxLength={256}
        />
        <Input
          name="attributeName"
          label="Name attribute (optional)"
          value={values.attributeName}
          error={errors['attributeName']}
          hint="Blank: name, displayName or the name claim."
          maxLength={256}
        />
        <button type="submit">{connection === undefined ? 'Create connection' : 'Save'}</button>
      </form>
      {connection !== undefined && (
        <form method="post" action={`${action}/delete`} class="card" aria-labelledby="delete-h">
          <h2 id="delete-h">Delete this connection</h2>
          <p>People it signed in are signed out, and lose the link to their identity provider.</p>
          <CsrfField token={props.nav.csrfToken} />
          <button type="submit" class="danger">
            Delete {connection.name}
          </button>
        </form>
      )}
    </Page>
  )
}
