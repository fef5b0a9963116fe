import { FORMAT_GUIDES } from '../../domain/alerts/format-guides.js'
import {
  ALERT_FORMATS,
  OUTAGE_STATUSES,
  type AlertEndpoint,
  type AlertFormat,
  type HttpCheck,
  type IncidentDraft,
} from '../../domain/alerts/types.js'
import type { Component, Page as StatusPage } from '../../domain/pages/types.js'
import type { Role } from '../../domain/roles.js'
import { roleAllows } from '../../domain/policy.js'
import { CsrfField, Notice, type NavContext } from './layout.js'
import {
  Checkbox,
  COMPONENT_STATUS_LABELS,
  ErrorSummary,
  Input,
  label,
  PageTime,
  Select,
  StatusPageFrame,
  TextArea,
  type Errors,
  type Values,
} from './page-views.js'

function base(page: StatusPage): string {
  return `/pages/${encodeURIComponent(page.id)}`
}

export function endpointPath(page: StatusPage, endpointId: string, suffix = ''): string {
  return `${base(page)}/alerts/${encodeURIComponent(endpointId)}${suffix}`
}

export function checkPath(page: StatusPage, checkId: string, suffix = ''): string {
  return `${base(page)}/checks/${encodeURIComponent(checkId)}${suffix}`
}

/** Where alerts are sent, with the token hidden: the real URL is shown once only. */
export function placeholderUrl(origin: string): string {
  return `${origin}/api/alerts/<token>`
}

const formatOptions = ALERT_FORMATS.map((format) => ({
  value: format,
  label: FORMAT_GUIDES[format].label,
}))

const firingOptions = OUTAGE_STATUSES.map((status) => ({
  value: status,
  label: COMPONENT_STATUS_LABELS[status],
}))

function usable(components: readonly Component[]): Component[] {
  return components.filter((c) => !c.isGroup)
}

function componentName(components: readonly Component[], id: string | null): string {
  if (id === null) return 'deleted component'
  return components.find((c) => c.id === id)?.name ?? 'deleted component'
}

function targetOf(endpoint: AlertEndpoint, components: readonly Component[]): string {
  if (endpoint.componentId !== null) return componentName(components, endpoint.componentId)
  const entries = Object.keys(endpoint.componentMap).length
  return entries === 0
    ? 'Page (components by id or name)'
    : `Page (mapping of ${String(entries)} ${entries === 1 ? 'key' : 'keys'})`
}

function When({ date, zone }: { date: Date | null; zone: string }) {
  return date === null ? <span class="muted">never</span> : <PageTime date={date} timeZone={zone} />
}

// ---------------------------------------------------------------------------------------------
// Documentation snippet: the URL, what to send, an example
// ---------------------------------------------------------------------------------------------

export function EndpointDocs(props: { format: AlertFormat; url: string; perComponent: boolean }) {
  const guide = FORMAT_GUIDES[props.format]
  const example = JSON.stringify(guide.example, null, 2)
  return (
    <div class="endpoint-docs">
      <p>
        <strong>{guide.label}.</strong> {guide.setup}
      </p>
      <p>
        Send <code>POST {props.url}</code> with {guide.expects}
      </p>
      {!props.perComponent && (
        <p>
          The component is named by {guide.componentKey}: a key of the mapping, a component id, or a
          component name.
        </p>
      )}
      <p>
        {props.format === 'datadog'
          ? 'The custom payload to paste in Datadog:'
          : 'An example body, as the tool sends it:'}
      </p>
      <pre class="code-block">{example}</pre>
      <p>To try it from a terminal:</p>
      <pre class="code-block">
        {`curl -X POST -H 'Content-Type: application/json' \\\n  --data '${JSON.stringify(guide.example).replace(/'/g, "'\\''")}' \\\n  '${props.url}'`}
      </pre>
    </div>
  )
}

/** The URL with its token, shown right after creation or regeneration and never again. */
function UrlOnce({ url }: { url: string }) {
  return (
    <Notice kind="info">
      <p>
        <strong>The URL of this endpoint.</strong> Copy it now: it is not shown again (Candor keeps
        only a hash of its token). Regenerate it if it is lost or leaked.
      </p>
      <pre class="code-block">{url}</pre>
    </Notice>
  )
}

// ---------------------------------------------------------------------------------------------
// Endpoint form fields, shared by the add and edit forms
// ---------------------------------------------------------------------------------------------

function EndpointFields(props: {
  idPrefix: string
  components: readonly Component[]
  values: Values
  errors: Errors
  hasSecret: boolean
}) {
  const { values: v, errors: e } = props
  return (
    <>
      <Input
        id={`${props.idPrefix}-name`}
        name="name"
        label="Name"
        value={v['name']}
        error={e['name']}
        hint="For you, e.g. “Production Alertmanager”."
        required
        maxLength={100}
      />
      <Select
        id={`${props.idPrefix}-format`}
        name="format"
        label="Format"
        value={v['format'] ?? 'alertmanager'}
        error={e['format']}
        options={formatOptions}
      />
      <Select
        id={`${props.idPrefix}-component`}
        name="componentId"
        label="Component"
        value={v['componentId'] ?? ''}
        error={e['componentId']}
        hint="One component, or the whole page: then each alert names its component (see the mapping)."
        options={[
          { value: '', label: 'Several components of this page (mapping)' },
          ...usable(props.components).map((c) => ({ value: c.id, label: c.name })),
        ]}
      />
      <TextArea
        id={`${props.idPrefix}-mapping`}
        name="mapping"
        label="Mapping (page endpoints)"
        value={v['mapping']}
        error={e['mapping']}
        hint="One “key = component name or id” per line, the key being what the tool sends (a label, check id, service…). Keys that are already a component's id or name need no line."
        rows={4}
        code
      />
      <Select
        id={`${props.idPrefix}-firing`}
        name="firingStatus"
        label="Status while an alert fires"
        value={v['firingStatus'] ?? 'major_outage'}
        error={e['firingStatus']}
        options={firingOptions}
      />
      <Checkbox
        id={`${props.idPrefix}-severity`}
        name="mapSeverity"
        label="Use the alert's severity when it names one (critical → major outage, warning → partial outage, info → degraded performance)"
        checked={v['mapSeverity'] === undefined ? true : v['mapSeverity'] === 'true'}
        hiddenFalse
      />
      <Checkbox
        id={`${props.idPrefix}-drafts`}
        name="createDrafts"
        label="Draft an incident when an alert starts firing (an editor publishes it)"
        checked={v['createDrafts'] === 'true'}
        hiddenFalse
      />
      <Input
        id={`${props.idPrefix}-secret`}
        type="password"
        name="signingSecret"
        label="PagerDuty signing secret (optional)"
        error={e['signingSecret']}
        hint={
          props.hasSecret
            ? 'A secret is set: deliveries without a matching X-PagerDuty-Signature are refused. Type a new one to replace it.'
            : 'From the PagerDuty webhook subscription: deliveries are then refused unless their X-PagerDuty-Signature matches.'
        }
        autocomplete="off"
        maxLength={500}
      />
      {props.hasSecret && (
        <Checkbox
          id={`${props.idPrefix}-remove-secret`}
          name="removeSecret"
          label="Remove the signing secret"
          checked={false}
        />
      )}
    </>
  )
}

function CheckFields(props: {
  idPrefix: string
  components: readonly Component[]
  values: Values
  errors: Errors
}) {
  const { values: v, errors: e } = props
  return (
    <>
      <Select
        id={`${props.idPrefix}-component`}
        name="componentId"
        label="Component"
        value={v['componentId'] ?? ''}
        error={e['componentId']}
        options={[
          { value: '', label: 'Choose a component' },
          ...usable(props.components).map((c) => ({ value: c.id, label: c.name })),
        ]}
      />
      <Input
        id={`${props.idPrefix}-url`}
        type="url"
        name="url"
        label="URL"
        value={v['url']}
        error={e['url']}
        hint="Fetched with GET; private and loopback addresses are refused unless the operator allows them."
        required
        maxLength={2000}
      />
      <Input
        id={`${props.idPrefix}-interval`}
        name="intervalSeconds"
        label="Every (seconds, at least 30)"
        value={v['intervalSeconds'] ?? '60'}
        error={e['intervalSeconds']}
        maxLength={6}
      />
      <Input
        id={`${props.idPrefix}-timeout`}
        name="timeoutSeconds"
        label="Timeout (seconds)"
        value={v['timeoutSeconds'] ?? '10'}
        error={e['timeoutSeconds']}
        maxLength={3}
      />
      <Input
        id={`${props.idPrefix}-expected`}
        name="expectedStatus"
        label="Expected HTTP status"
        value={v['expectedStatus'] ?? '200'}
        error={e['expectedStatus']}
        maxLength={3}
      />
      <Input
        id={`${props.idPrefix}-threshold`}
        name="failureThreshold"
        label="Consecutive failures before the component goes down"
        value={v['failureThreshold'] ?? '3'}
        error={e['failureThreshold']}
        maxLength={2}
      />
      <Select
        id={`${props.idPrefix}-firing`}
        name="firingStatus"
        label="Status while failing"
        value={v['firingStatus'] ?? 'major_outage'}
        error={e['firingStatus']}
        options={firingOptions}
      />
      <Checkbox
        id={`${props.idPrefix}-enabled`}
        name="enabled"
        label="Enabled"
        checked={v['enabled'] === undefined ? true : v['enabled'] === 'true'}
        hiddenFalse
      />
    </>
  )
}

// ---------------------------------------------------------------------------------------------
// /pages/:pageId/alerts
// ---------------------------------------------------------------------------------------------

export type AlertsForm = 'endpoint' | 'check'

export function AlertsPage(props: {
  nav: NavContext
  page: StatusPage
  role: Role
  origin: string
  endpoints: AlertEndpoint[]
  checks: HttpCheck[]
  components: Component[]
  notice?: string | undefined
  form?: AlertsForm | undefined
  errors?: Errors | undefined
  values?: Values | undefined
}) {
  const { page } = props
  const zone = page.timeZone
  const isAdmin = roleAllows(props.role, 'alert.write')
  const errorsFor = (form: AlertsForm): Errors => (props.form === form ? (props.errors ?? {}) : {})
  const valuesFor = (form: AlertsForm): Values => (props.form === form ? (props.values ?? {}) : {})
  return (
    <StatusPageFrame nav={props.nav} page={page} title={`Alerts · ${page.name}`} tab="alerts">
      {props.notice !== undefined && <Notice kind="success">{props.notice}</Notice>}
      {!isAdmin && (
        <Notice kind="info">
          You are <strong>{props.role}</strong> of this account: alert endpoints and HTTP checks are
          managed by admins.
        </Notice>
      )}
      <p>
        Monitoring tools set component statuses by sending alerts to{' '}
        <code>{placeholderUrl(props.origin)}</code>. A firing alert sets its component's status; the
        component returns to operational when its last open alert resolves.
      </p>

      <section aria-labelledby="endpoints-h">
        <h2 id="endpoints-h">Alert endpoints</h2>
        {props.endpoints.length === 0 ? (
          <p class="muted">No alert endpoint yet.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Format</th>
                <th scope="col">Component</th>
                <th scope="col">Open alerts</th>
                <th scope="col">Last received</th>
                <th scope="col">Last error</th>
              </tr>
            </thead>
            <tbody>
              {props.endpoints.map((endpoint) => (
                <tr key={endpoint.id}>
                  <td>
                    <a href={endpointPath(page, endpoint.id)}>{endpoint.name}</a>
                  </td>
                  <td>{FORMAT_GUIDES[endpoint.format].label}</td>
                  <td>{targetOf(endpoint, props.components)}</td>
                  <td>{endpoint.openAlerts}</td>
                  <td>
                    <When date={endpoint.lastReceivedAt} zone={zone} />
                  </td>
                  <td>
                    {endpoint.lastError === null ? (
                      <span class="muted">none</span>
                    ) : (
                      <>
                        {endpoint.lastError}{' '}
                        <span class="muted">
                          (<When date={endpoint.lastErrorAt} zone={zone} />)
                        </span>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      {isAdmin && (
        <section class="card narrow" aria-labelledby="add-endpoint-h">
          <h2 id="add-endpoint-h">Add an alert endpoint</h2>
          <p class="hint">
            Its URL is shown once, right after it is made, with how to set up the tool.
          </p>
          <form method="post" action={`${base(page)}/alerts`}>
            <ErrorSummary errors={props.form === 'endpoint' ? props.errors : undefined} />
            <CsrfField token={props.nav.csrfToken} />
            <EndpointFields
              idPrefix="endpoint"
              components={props.components}
              values={valuesFor('endpoint')}
              errors={errorsFor('endpoint')}
              hasSecret={false}
            />
            <button type="submit">Add endpoint</button>
          </form>
        </section>
      )}

      <section aria-labelledby="checks-h">
        <h2 id="checks-h">HTTP checks</h2>
        <p class="hint">
          Candor's worker fetches each URL on its interval; after the given number of consecutive
          failures the component goes down, and the first success brings it back.
        </p>
        {props.checks.length === 0 ? (
          <p class="muted">No HTTP check yet.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">URL</th>
                <th scope="col">Component</th>
                <th scope="col">Every</th>
                <th scope="col">State</th>
                <th scope="col">Last check</th>
              </tr>
            </thead>
            <tbody>
              {props.checks.map((check) => (
                <tr key={check.id}>
                  <td>
                    <a href={checkPath(page, check.id)}>{check.url}</a>
                  </td>
                  <td>{componentName(props.components, check.componentId)}</td>
                  <td>{`${String(check.intervalSeconds)} s`}</td>
                  <td>{checkState(check)}</td>
                  <td>
                    <When date={check.lastCheckedAt} zone={zone} />
                    {check.lastError !== null && <> — {check.lastError}</>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      {isAdmin && (
        <section class="card narrow" aria-labelledby="add-check-h">
          <h2 id="add-check-h">Add an HTTP check</h2>
          <form method="post" action={`${base(page)}/checks`}>
            <ErrorSummary errors={props.form === 'check' ? props.errors : undefined} />
            <CsrfField token={props.nav.csrfToken} />
            <CheckFields
              idPrefix="check"
              components={props.components}
              values={valuesFor('check')}
              errors={errorsFor('check')}
            />
            <button type="submit">Add check</button>
          </form>
        </section>
      )}
    </StatusPageFrame>
  )
}

function checkState(check: HttpCheck): string {
  if (!check.enabled) return 'Disabled'
  if (check.isFiring) return 'Down'
  if (check.lastOk === null) return 'Not checked yet'
  if (!check.lastOk)
    return `Failing (${String(check.consecutiveFailures)} of ${String(check.failureThreshold)})`
  return 'Up'
}

// ---------------------------------------------------------------------------------------------
// /pages/:pageId/alerts/:endpointId
// ---------------------------------------------------------------------------------------------

export function EndpointPage(props: {
  nav: NavContext
  page: StatusPage
  role: Role
  origin: string
  endpoint: AlertEndpoint
  components: Component[]
  mappingText: string
  /** The URL with its token, right after creation or regeneration. */
  url?: string | undefined
  notice?: string | undefined
  errors?: Errors | undefined
  values?: Values | undefined
}) {
  const { page, endpoint } = props
  const path = endpointPath(page, endpoint.id)
  const isAdmin = roleAllows(props.role, 'alert.write')
  const values: Values = props.values ?? {
    name: endpoint.name,
    format: endpoint.format,
    componentId: endpoint.componentId ?? '',
    mapping: props.mappingText,
    firingStatus: endpoint.firingStatus,
    mapSeverity: String(endpoint.mapSeverity),
    createDrafts: String(endpoint.createDrafts),
  }
  return (
    <StatusPageFrame
      nav={props.nav}
      page={page}
      title={`${endpoint.name} · Alerts · ${page.name}`}
      tab="alerts"
    >
      <p>
        <a href={`${base(page)}/alerts`}>← All alert endpoints</a>
      </p>
      {props.notice !== undefined && <Notice kind="success">{props.notice}</Notice>}
      {props.url !== undefined && <UrlOnce url={props.url} />}
      <dl class="facts">
        <dt>Format</dt>
        <dd>{FORMAT_GUIDES[endpoint.format].label}</dd>
        <dt>Component</dt>
        <dd>{targetOf(endpoint, props.components)}</dd>
        <dt>Open alerts</dt>
        <dd>{endpoint.openAlerts}</dd>
        <dt>Last received</dt>
        <dd>
          <When date={endpoint.lastReceivedAt} zone={page.timeZone} />
        </dd>
        <dt>Last error</dt>
        <dd>
          {endpoint.lastError ?? <span class="muted">none</span>}
          {endpoint.lastErrorAt !== null && (
            <>
              {' '}
              <span class="muted">
                (<When date={endpoint.lastErrorAt} zone={page.timeZone} />)
              </span>
            </>
          )}
        </dd>
      </dl>

      <section class="card" aria-labelledby="docs-h">
        <h2 id="docs-h">Sending alerts here</h2>
        <EndpointDocs
          format={endpoint.format}
          url={props.url ?? placeholderUrl(props.origin)}
          perComponent={endpoint.componentId !== null}
        />
      </section>

      {isAdmin && (
        <>
          <section class="card narrow" aria-labelledby="edit-endpoint-h">
            <h2 id="edit-endpoint-h">Settings</h2>
            <form method="post" action={path}>
              <ErrorSummary errors={props.errors} />
              <CsrfField token={props.nav.csrfToken} />
              <EndpointFields
                idPrefix="edit"
                components={props.components}
                values={values}
                errors={props.errors ?? {}}
                hasSecret={endpoint.hasSecret}
              />
              <button type="submit">Save</button>
            </form>
          </section>
          <section class="card narrow" aria-labelledby="regenerate-h">
            <h2 id="regenerate-h">Regenerate the URL</h2>
            <p>
              A new URL replaces the current one at once: the old one answers 404 from then on.
              Update the tool right after.
            </p>
            <form method="post" action={`${path}/regenerate`}>
              <CsrfField token={props.nav.csrfToken} />
              <button type="submit" class="secondary">
                Regenerate URL
              </button>
            </form>
          </section>
          <section class="card danger-zone" aria-labelledby="delete-endpoint-h">
            <h2 id="delete-endpoint-h">Delete this endpoint</h2>
            <p>Its open alerts are forgotten: components they keep down return to operational.</p>
            <form method="post" action={`${path}/delete`}>
              <CsrfField token={props.nav.csrfToken} />
              <button type="submit" class="danger">
                Delete endpoint
              </button>
            </form>
          </section>
        </>
      )}
    </StatusPageFrame>
  )
}

// ---------------------------------------------------------------------------------------------
// /pages/:pageId/checks/:checkId
// ---------------------------------------------------------------------------------------------

export function CheckPage(props: {
  nav: NavContext
  page: StatusPage
  role: Role
  check: HttpCheck
  components: Component[]
  notice?: string | undefined
  errors?: Errors | undefined
  values?: Values | undefined
}) {
  const { page, check } = props
  const path = checkPath(page, check.id)
  const isAdmin = roleAllows(props.role, 'check.write')
  const values: Values = props.values ?? {
    componentId: check.componentId,
    url: check.url,
    intervalSeconds: String(check.intervalSeconds),
    timeoutSeconds: String(Math.round(check.timeoutMs / 1000)),
    expectedStatus: String(check.expectedStatus),
    failureThreshold: String(check.failureThreshold),
    firingStatus: check.firingStatus,
    enabled: String(check.enabled),
  }
  return (
    <StatusPageFrame
      nav={props.nav}
      page={page}
      title={`HTTP check · Alerts · ${page.name}`}
      tab="alerts"
    >
      <p>
        <a href={`${base(page)}/alerts`}>← Alerts</a>
      </p>
      {props.notice !== undefined && <Notice kind="success">{props.notice}</Notice>}
      <dl class="facts">
        <dt>URL</dt>
        <dd>{check.url}</dd>
        <dt>State</dt>
        <dd>{checkState(check)}</dd>
        <dt>Last check</dt>
        <dd>
          <When date={check.lastCheckedAt} zone={page.timeZone} />
          {check.lastStatusCode !== null && <> — HTTP {check.lastStatusCode}</>}
          {check.lastError !== null && <> — {check.lastError}</>}
        </dd>
      </dl>
      {isAdmin && (
        <>
          <section class="card narrow" aria-labelledby="edit-check-h">
            <h2 id="edit-check-h">Settings</h2>
            <form method="post" action={path}>
              <ErrorSummary errors={props.errors} />
              <CsrfField token={props.nav.csrfToken} />
              <CheckFields
                idPrefix="edit-check"
                components={props.components}
                values={values}
                errors={props.errors ?? {}}
              />
              <button type="submit">Save</button>
            </form>
          </section>
          <section class="card danger-zone" aria-labelledby="delete-check-h">
            <h2 id="delete-check-h">Delete this check</h2>
            <form method="post" action={`${path}/delete`}>
              <CsrfField token={props.nav.csrfToken} />
              <button type="submit" class="danger">
                Delete check
              </button>
            </form>
          </section>
        </>
      )}
    </StatusPageFrame>
  )
}

// ---------------------------------------------------------------------------------------------
// Drafts on the incidents page
// ---------------------------------------------------------------------------------------------

export function IncidentDrafts(props: {
  page: StatusPage
  drafts: readonly IncidentDraft[]
  components: readonly Component[]
  canPublish: boolean
  csrfToken: string
}) {
  if (props.drafts.length === 0) return null
  const path = `${base(props.page)}/incident-drafts`
  return (
    <section aria-labelledby="drafts-h">
      <h2 id="drafts-h">Drafts from alerts</h2>
      <p class="hint">
        Opened by alert endpoints for an editor to review. Publishing opens the incident as written
        here and notifies subscribers; a draft goes away by itself when its component recovers.
      </p>
      <table>
        <thead>
          <tr>
            <th scope="col">Title</th>
            <th scope="col">Impact</th>
            <th scope="col">Components</th>
            <th scope="col">From</th>
            {props.canPublish && <th scope="col">Actions</th>}
          </tr>
        </thead>
        <tbody>
          {props.drafts.map((draft) => (
            <tr key={draft.id}>
              <td>
                {draft.title}
                <p class="muted">{draft.body}</p>
              </td>
              <td>{label(draft.impact)}</td>
              <td>
                {Object.entries(draft.componentStatuses)
                  .map(
                    ([id, status]) =>
                      `${componentName(props.components, id)}: ${COMPONENT_STATUS_LABELS[status]}`,
                  )
                  .join(', ')}
              </td>
              <td>
                {draft.sourceEndpointName ?? <span class="muted">deleted endpoint</span>}{' '}
                <span class="muted">
                  (<PageTime date={draft.createdAt} timeZone={props.page.timeZone} />)
                </span>
              </td>
              {props.canPublish && (
                <td class="row-actions">
                  <form
                    method="post"
                    action={`${path}/${encodeURIComponent(draft.id)}/publish`}
                    class="inline-form"
                  >
                    <CsrfField token={props.csrfToken} />
                    <button type="submit" class="small">
                      Publish
                    </button>
                  </form>
                  <form
                    method="post"
                    action={`${path}/${encodeURIComponent(draft.id)}/dismiss`}
                    class="inline-form"
                  >
                    <CsrfField token={props.csrfToken} />
                    <button type="submit" class="secondary small">
                      Dismiss
                    </button>
                  </form>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  )
}
