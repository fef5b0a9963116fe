import type { ComponentChildren } from 'preact'
import { hasRoleAtLeast, type Role } from '../../domain/roles.js'
import { roleAllows } from '../../domain/policy.js'
import { groupStatus, isIncidentOpen } from '../../domain/pages/status.js'
import { toDateTimeInput } from '../../domain/pages/time-zone.js'
import {
  COMPONENT_STATUSES,
  LOCALES,
  VISIBILITIES,
  type Component,
  type ComponentStatus,
  type Incident,
  type Page as StatusPage,
  type Visibility,
} from '../../domain/pages/types.js'
import { CsrfField, Notice, Page, type NavContext } from './layout.js'

export type Errors = Readonly<Record<string, string>>
export type Values = Readonly<Record<string, string | undefined>>

// ---------------------------------------------------------------------------------------------
// Labels and formatting
// ---------------------------------------------------------------------------------------------

export const COMPONENT_STATUS_LABELS: Record<ComponentStatus, string> = {
  operational: 'Operational',
  degraded_performance: 'Degraded performance',
  partial_outage: 'Partial outage',
  major_outage: 'Major outage',
  under_maintenance: 'Under maintenance',
}

const STATUS_LABELS: Record<string, string> = {
  ...COMPONENT_STATUS_LABELS,
  investigating: 'Investigating',
  identified: 'Identified',
  monitoring: 'Monitoring',
  resolved: 'Resolved',
  false_alarm: 'False alarm',
  scheduled: 'Scheduled',
  in_progress: 'In progress',
  verifying: 'Verifying',
  completed: 'Completed',
  none: 'None',
  minor: 'Minor',
  major: 'Major',
  critical: 'Critical',
  maintenance: 'Maintenance',
}

export function label(value: string): string {
  return STATUS_LABELS[value] ?? value
}

const VISIBILITY_LABELS: Record<Visibility, string> = {
  public: 'Public: anyone can see it',
  team: 'Team: signed-in members of this account only',
  password: 'Password: visitors need the page password',
  ip: 'IP allow-list: only from the listed addresses',
}

const LOCALE_LABELS: Record<string, string> = { en: 'English', fr: 'Français' }

export const COMMON_TIME_ZONES = [
  'UTC',
  'Europe/London',
  'Europe/Paris',
  'Europe/Berlin',
  'America/New_York',
  'America/Chicago',
  'America/Denver',
  'America/Los_Angeles',
  'America/Sao_Paulo',
  'Asia/Kolkata',
  'Asia/Singapore',
  'Asia/Tokyo',
  'Australia/Sydney',
]

/** A time shown in the page's time zone, with the zone's name so nobody has to guess. */
export function PageTime({ date, timeZone }: { date: Date; timeZone: string }) {
  return (
    <time dateTime={date.toISOString()}>
      {`${toDateTimeInput(date, timeZone).replace('T', ' ')} (${timeZone})`}
    </time>
  )
}

export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge status-${status}`}>{label(status)}</span>
}

export function canEdit(role: Role): boolean {
  return hasRoleAtLeast(role, 'editor')
}

// ---------------------------------------------------------------------------------------------
// Form widgets (same markup as layout's Field: label, hint, error, aria-describedby)
// ---------------------------------------------------------------------------------------------

interface FieldProps {
  name: string
  label: string
  id?: string | undefined
  error?: string | undefined
  hint?: string | undefined
}

function describedBy(id: string, props: FieldProps): string | undefined {
  const ids = [
    props.hint !== undefined ? `${id}-hint` : '',
    props.error !== undefined ? `${id}-error` : '',
  ]
    .filter(Boolean)
    .join(' ')
  return ids === '' ? undefined : ids
}

function FieldShell(props: FieldProps & { id: string; children: ComponentChildren }) {
  return (
    <div class={props.error === undefined ? 'field' : 'field invalid'}>
      <label for={props.id}>{props.label}</label>
      {props.hint !== undefined && (
        <p class="hint" id={`${props.id}-hint`}>
          {props.hint}
        </p>
      )}
      {props.error !== undefined && (
        <p class="error" id={`${props.id}-error`}>
          {props.error}
        </p>
      )}
      {props.children}
    </div>
  )
}

export function Input(
  props: FieldProps & {
    type?: 'text' | 'url' | 'color' | 'date' | 'datetime-local' | 'password' | undefined
    value?: string | undefined
    required?: boolean | undefined
    maxLength?: number | undefined
    list?: string | undefined
    autocomplete?: string | undefined
  },
) {
  const id = props.id ?? `field-${props.name}`
  const common = {
    id,
    name: props.name,
    value: props.value,
    required: props.required ?? false,
    maxLength: props.maxLength,
    autocomplete: props.autocomplete,
    'aria-invalid': props.error !== undefined ? ('true' as const) : undefined,
    'aria-describedby': describedBy(id, props),
  }
  return (
    <FieldShell {...props} id={id}>
      {props.type === 'url' ? (
        <input type="url" {...common} />
      ) : props.type === 'color' ? (
        <input type="color" {...common} />
      ) : props.type === 'date' ? (
        <input type="date" {...common} />
      ) : props.type === 'datetime-local' ? (
        <input type="datetime-local" {...common} />
      ) : props.type === 'password' ? (
        <input type="password" {...common} />
      ) : props.list !== undefined ? (
        <input type="text" list={props.list} {...common} />
      ) : (
        <input type="text" {...common} />
      )}
    </FieldShell>
  )
}

export function TextArea(
  props: FieldProps & {
    value?: string | undefined
    rows?: number | undefined
    maxLength?: number | undefined
    required?: boolean | undefined
    code?: boolean | undefined
  },
) {
  const id = props.id ?? `field-${props.name}`
  return (
    <FieldShell {...props} id={id}>
      <textarea
        id={id}
        name={props.name}
        rows={props.rows ?? 5}
        maxLength={props.maxLength}
        required={props.required ?? false}
        class={props.code === true ? 'code' : undefined}
        aria-invalid={props.error !== undefined ? 'true' : undefined}
        aria-describedby={describedBy(id, props)}
        value={props.value ?? ''}
      />
    </FieldShell>
  )
}

export interface Option {
  value: string
  label: string
}

export function Select(
  props: FieldProps & { value?: string | undefined; options: readonly Option[] },
) {
  const id = props.id ?? `field-${props.name}`
  return (
    <FieldShell {...props} id={id}>
      <select
        id={id}
        name={props.name}
        aria-invalid={props.error !== undefined ? 'true' : undefined}
        aria-describedby={describedBy(id, props)}
      >
        {props.options.map((option) => (
          <option key={option.value} value={option.value} selected={option.value === props.value}>
            {option.label}
          </option>
        ))}
      </select>
    </FieldShell>
  )
}

/**
 * A checkbox. An unchecked box sends nothing, so where absence means "yes" to the service a hidden
 * "false" goes first: the checked box's "true" comes after it and wins.
 */
export function Checkbox(props: {
  name: string
  label: string
  checked: boolean
  id?: string | undefined
  hint?: string | undefined
  hiddenFalse?: boolean | undefined
  value?: string | undefined
}) {
  const id = props.id ?? `field-${props.name}`
  return (
    <div class="field checkbox">
      {props.hiddenFalse === true && <input type="hidden" name={props.name} value="false" />}
      <input
        type="checkbox"
        id={id}
        name={props.name}
        value={props.value ?? 'true'}
        checked={props.checked}
        aria-describedby={props.hint === undefined ? undefined : `${id}-hint`}
      />{' '}
      <label for={id}>{props.label}</label>
      {props.hint !== undefined && (
        <p class="hint" id={`${id}-hint`}>
          {props.hint}
        </p>
      )}
    </div>
  )
}

export function ErrorSummary({ errors }: { errors?: Errors | undefined }) {
  const entries = Object.entries(errors ?? {})
  if (entries.length === 0) return null
  return (
    <Notice kind="error">
      <p>Nothing was saved. Please correct the following:</p>
      <ul>
        {entries.map(([field, message]) => (
          <li key={field}>{message}</li>
        ))}
      </ul>
    </Notice>
  )
}

export function ReadOnlyNotice({ role }: { role: Role }) {
  return (
    <Notice kind="info">
      You are <strong>{role}</strong> of this account: you can read this page but not change it.
    </Notice>
  )
}

const statusOptions: Option[] = COMPONENT_STATUSES.map((s) => ({
  value: s,
  label: COMPONENT_STATUS_LABELS[s],
}))

export { statusOptions as componentStatusOptions }

// ---------------------------------------------------------------------------------------------
// A status page's frame: title, tabs, link to the public page
// ---------------------------------------------------------------------------------------------

export type PageTab =
  | 'overview'
  | 'components'
  | 'incidents'
  | 'templates'
  | 'subscribers'
  | 'notifications'
  | 'alerts'
  | 'settings'

export function StatusPageFrame(props: {
  nav: NavContext
  page: StatusPage
  title: string
  tab: PageTab
  children: ComponentChildren
}) {
  const base = `/pages/${encodeURIComponent(props.page.id)}`
  const tabs: [PageTab, string, string][] = [
    ['overview', base, 'Overview'],
    ['components', `${base}/components`, 'Components'],
    ['incidents', `${base}/incidents`, 'Incidents & maintenance'],
    ['templates', `${base}/templates`, 'Templates'],
    ['subscribers', `${base}/subscribers`, 'Subscribers'],
    ['notifications', `${base}/notifications`, 'Notifications'],
    ['alerts', `${base}/alerts`, 'Alerts'],
    ['settings', `${base}/settings`, 'Settings'],
  ]
  return (
    <Page title={props.title} nav={props.nav}>
      <nav class="tabs" aria-label={`Status page ${props.page.name}`}>
        <ul>
          {tabs.map(([tab, href, text]) => (
            <li key={tab}>
              <a href={href} aria-current={tab === props.tab ? 'page' : undefined}>
                {text}
              </a>
            </li>
          ))}
          <li>
            <a href={publicPath(props.page)}>View public page</a>
          </li>
        </ul>
      </nav>
      {props.children}
    </Page>
  )
}

export function publicPath(page: StatusPage): string {
  return `/p/${encodeURIComponent(page.slug)}`
}

// ---------------------------------------------------------------------------------------------
// /a/:accountId/pages
// ---------------------------------------------------------------------------------------------

export function PagesListPage(props: {
  nav: NavContext
  accountId: string
  role: Role
  pages: StatusPage[]
  notice?: string | undefined
  errors?: Errors | undefined
  values?: Values | undefined
}) {
  const errors = props.errors ?? {}
  const values = props.values ?? {}
  return (
    <Page title="Status pages" nav={props.nav}>
      {props.notice !== undefined && <Notice kind="success">{props.notice}</Notice>}
      {props.pages.length === 0 ? (
        <p>This account has no status page yet.</p>
      ) : (
        <table>
          <caption>Status pages of this account</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Address</th>
              <th scope="col">Visibility</th>
              <th scope="col">Time zone</th>
            </tr>
          </thead>
          <tbody>
            {props.pages.map((page) => (
              <tr key={page.id}>
                <td>
                  <a href={`/pages/${encodeURIComponent(page.id)}`}>{page.name}</a>
                </td>
                <td>
                  <a href={publicPath(page)}>{publicPath(page)}</a>
                </td>
                <td>{page.visibility}</td>
                <td>{page.timeZone}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {canEdit(props.role) ? (
        <section class="card narrow" aria-labelledby="create-page-h">
          <h2 id="create-page-h">Create a status page</h2>
          <ErrorSummary errors={props.errors} />
          <form method="post" action={`/a/${encodeURIComponent(props.accountId)}/pages`}>
            <CsrfField token={props.nav.csrfToken} />
            <Input
              name="name"
              label="Name"
              value={values['name']}
              error={errors['name']}
              required
              maxLength={100}
            />
            <Input
              name="slug"
              label="Address (slug)"
              value={values['slug']}
              error={errors['slug']}
              hint="Lowercase letters, digits and hyphens. The page is served at /p/<slug>."
              required
              maxLength={48}
            />
            <TimeZoneInput value={values['timeZone'] ?? 'UTC'} error={errors['timeZone']} />
            <Select
              name="locale"
              label="Language"
              value={values['locale'] ?? 'en'}
              error={errors['locale']}
              options={LOCALES.map((l) => ({ value: l, label: LOCALE_LABELS[l] ?? l }))}
            />
            <button type="submit">Create page</button>
          </form>
        </section>
      ) : (
        <ReadOnlyNotice role={props.role} />
      )}
    </Page>
  )
}

function TimeZoneInput({
  value,
  error,
}: {
  value: string | undefined
  error?: string | undefined
}) {
  return (
    <>
      <Input
        name="timeZone"
        label="Time zone"
        value={value}
        error={error}
        hint="An IANA zone such as Europe/Paris. Times on the page and in this dashboard use it."
        list="time-zones"
        required
        maxLength={64}
      />
      <datalist id="time-zones">
        {COMMON_TIME_ZONES.map((zone) => (
          <option key={zone} value={zone} />
        ))}
      </datalist>
    </>
  )
}

// ---------------------------------------------------------------------------------------------
// /pages/:pageId
// ---------------------------------------------------------------------------------------------

export function PageOverviewPage(props: {
  nav: NavContext
  page: StatusPage
  role: Role
  components: Component[]
  incidents: Incident[]
  maintenances: Incident[]
}) {
  const { page } = props
  const base = `/pages/${encodeURIComponent(page.id)}`
  const open = props.incidents.filter(isIncidentOpen)
  const upcoming = props.maintenances.filter(isIncidentOpen)
  const leaves = props.components.filter((c) => !c.isGroup)
  const degraded = leaves.filter((c) => c.status !== 'operational')
  return (
    <StatusPageFrame nav={props.nav} page={page} title={page.name} tab="overview">
      <p>
        Public address: <a href={publicPath(page)}>{publicPath(page)}</a>
        {page.customDomain !== null && <> and {page.customDomain}</>}. Visibility: {page.visibility}
        . Times are shown in {page.timeZone}.
      </p>
      {canEdit(props.role) && (
        <section class="card" aria-labelledby="quick-h">
          <h2 id="quick-h">Quick actions</h2>
          <ul class="inline wrap">
            <li>
              <a class="button" href={`${base}/incidents/new`}>
                Open an incident
              </a>
            </li>
            <li>
              <a class="button secondary" href={`${base}/maintenance/new`}>
                Schedule maintenance
              </a>
            </li>
            <li>
              <a href={`${base}/components`}>Manage components</a>
            </li>
            <li>
              <a href={`${base}/templates`}>Incident templates</a>
            </li>
            <li>
              <a href={`${base}/subscribers`}>Subscribers</a>
            </li>
            <li>
              <a href={`${base}/notifications`}>Notifications</a>
            </li>
            <li>
              <a href={`${base}/settings`}>Settings</a>
            </li>
          </ul>
        </section>
      )}
      <section class="card" aria-labelledby="components-h">
        <h2 id="components-h">Components</h2>
        {leaves.length === 0 ? (
          <p>
            No component yet. <a href={`${base}/components`}>Add the parts of your service</a>.
          </p>
        ) : (
          <>
            <p>
              {degraded.length === 0
                ? `All ${String(leaves.length)} components are operational.`
                : `${String(degraded.length)} of ${String(leaves.length)} components are not operational.`}
            </p>
            <ul class="component-summary">
              {props.components
                .filter((c) => c.groupId === null)
                .map((c) => (
                  <li key={c.id}>
                    {c.name}{' '}
                    <StatusBadge status={c.isGroup ? groupStatus(c, props.components) : c.status} />
                  </li>
                ))}
            </ul>
          </>
        )}
      </section>
      <section class="card" aria-labelledby="open-h">
        <h2 id="open-h">Open incidents</h2>
        {open.length === 0 ? (
          <p>No open incident.</p>
        ) : (
          <ul class="list">
            {open.map((incident) => (
              <li key={incident.id}>
                <a href={`/incidents/${encodeURIComponent(incident.id)}`}>{incident.name}</a>{' '}
                <StatusBadge status={incident.status} /> since{' '}
                <PageTime date={incident.startedAt} timeZone={page.timeZone} />
              </li>
            ))}
          </ul>
        )}
      </section>
      <section class="card" aria-labelledby="maint-h">
        <h2 id="maint-h">Upcoming and active maintenance</h2>
        {upcoming.length === 0 ? (
          <p>No maintenance scheduled.</p>
        ) : (
          <ul class="list">
            {upcoming.map((m) => (
              <li key={m.id}>
                <a href={`/incidents/${encodeURIComponent(m.id)}`}>{m.name}</a>{' '}
                <StatusBadge status={m.status} />{' '}
                {m.scheduledFor !== null && (
                  <>
                    from <PageTime date={m.scheduledFor} timeZone={page.timeZone} />
                  </>
                )}
              </li>
            ))}
          </ul>
        )}
      </section>
    </StatusPageFrame>
  )
}

// ---------------------------------------------------------------------------------------------
// /pages/:pageId/settings
// ---------------------------------------------------------------------------------------------

export type SettingsForm = 'details' | 'logo' | 'access' | 'delete'

export function PageSettingsPage(props: {
  nav: NavContext
  page: StatusPage
  role: Role
  notice?: string | undefined
  cssRemoved?: boolean | undefined
  form?: SettingsForm | undefined
  errors?: Errors | undefined
  values?: Values | undefined
}) {
  const { page, role } = props
  const base = `/pages/${encodeURIComponent(page.id)}`
  const errorsFor = (form: SettingsForm): Errors =>
    props.form === form ? (props.errors ?? {}) : {}
  const valuesFor = (form: SettingsForm): Values =>
    props.form === form ? (props.values ?? {}) : {}
  const details = errorsFor('details')
  const v = valuesFor('details')
  const access = errorsFor('access')
  const av = valuesFor('access')
  const editable = canEdit(role)
  return (
    <StatusPageFrame nav={props.nav} page={page} title={`Settings · ${page.name}`} tab="settings">
      {props.notice !== undefined && <Notice kind="success">{props.notice}</Notice>}
      {!editable && <ReadOnlyNotice role={role} />}

      <section class="card" aria-labelledby="details-h">
        <h2 id="details-h">Details and branding</h2>
        {editable ? (
          <form method="post" action={`${base}/settings`}>
            <ErrorSummary errors={props.form === 'details' ? props.errors : undefined} />
            <CsrfField token={props.nav.csrfToken} />
            <Input
              name="name"
              label="Name"
              value={v['name'] ?? page.name}
              error={details['name']}
              required
              maxLength={100}
            />
            <Input
              name="slug"
              label="Address (slug)"
              value={v['slug'] ?? page.slug}
              error={details['slug']}
              hint="Changing it changes the public address /p/<slug>; old links stop working."
              required
              maxLength={48}
            />
            <TimeZoneInput value={v['timeZone'] ?? page.timeZone} error={details['timeZone']} />
            <Select
              name="locale"
              label="Language"
              value={v['locale'] ?? page.locale}
              error={details['locale']}
              options={LOCALES.map((l) => ({ value: l, label: LOCALE_LABELS[l] ?? l }))}
            />
            <Input
              name="brandColor"
              label="Brand colour"
              type="color"
              value={v['brandColor'] ?? page.brandColor}
              error={details['brandColor']}
              maxLength={7}
            />
            <Input
              name="supportUrl"
              label="Support URL"
              type="url"
              value={v['supportUrl'] ?? page.supportUrl ?? ''}
              error={details['supportUrl']}
              hint="Where visitors can ask for help. Optional."
              maxLength={500}
            />
            <Input
              name="homepageUrl"
              label="Homepage URL"
              type="url"
              value={v['homepageUrl'] ?? page.homepageUrl ?? ''}
              error={details['homepageUrl']}
              hint="Your product's website, linked from the logo. Optional."
              maxLength={500}
            />
            <Input
              name="customDomain"
              label="Custom domain"
              value={v['customDomain'] ?? page.customDomain ?? ''}
              error={details['customDomain']}
              hint="Such as status.example.com. Point a CNAME at this server. Optional."
              maxLength={253}
            />
            <TextArea
              name="customCss"
              label="Custom CSS"
              value={v['customCss'] ?? page.customCss}
              error={details['customCss']}
              hint="Anything that could load a resource or run code (url(), @import, expression()…) is removed when you save."
              rows={8}
              maxLength={20_000}
              code
            />
            <button type="submit">Save details</button>
          </form>
        ) : (
          <dl class="facts">
            <dt>Name</dt>
            <dd>{page.name}</dd>
            <dt>Address</dt>
            <dd>{publicPath(page)}</dd>
            <dt>Time zone</dt>
            <dd>{page.timeZone}</dd>
            <dt>Language</dt>
            <dd>{LOCALE_LABELS[page.locale] ?? page.locale}</dd>
            <dt>Brand colour</dt>
            <dd>{page.brandColor}</dd>
            <dt>Support URL</dt>
            <dd>{page.supportUrl ?? '—'}</dd>
            <dt>Homepage URL</dt>
            <dd>{page.homepageUrl ?? '—'}</dd>
            <dt>Custom domain</dt>
            <dd>{page.customDomain ?? '—'}</dd>
          </dl>
        )}
        {props.cssRemoved === true && (
          <Notice kind="info">
            Some of your CSS was removed because it could load a resource or run code. What is
            served is shown below.
          </Notice>
        )}
        <h3>Custom CSS as served (sanitised)</h3>
        {page.customCss === '' ? (
          <p class="muted">No custom CSS.</p>
        ) : (
          <pre class="code-block" id="served-css">
            {page.customCss}
          </pre>
        )}
      </section>

      <section class="card" aria-labelledby="logo-h">
        <h2 id="logo-h">Logo</h2>
        <p>{page.hasLogo ? 'This page has a logo.' : 'No logo yet; the page name is shown.'}</p>
        {editable && (
          <>
            <ErrorSummary errors={props.form === 'logo' ? props.errors : undefined} />
            <form
              method="post"
              action={`${base}/logo?_csrf=${encodeURIComponent(props.nav.csrfToken)}`}
              enctype="multipart/form-data"
            >
              <div class={errorsFor('logo')['logo'] === undefined ? 'field' : 'field invalid'}>
                <label for="field-logo">Logo image</label>
                <p class="hint" id="field-logo-hint">
                  PNG, JPEG, GIF or WebP, at most 512 KiB.
                </p>
                <input
                  type="file"
                  id="field-logo"
                  name="logo"
                  accept="image/png,image/jpeg,image/gif,image/webp"
                  required
                  aria-describedby="field-logo-hint"
                />
              </div>
              <button type="submit">Upload logo</button>
            </form>
            {page.hasLogo && (
              <form method="post" action={`${base}/logo/remove`} class="spaced">
                <CsrfField token={props.nav.csrfToken} />
                <button type="submit" class="secondary">
                  Remove logo
                </button>
              </form>
            )}
          </>
        )}
      </section>

      <section class="card" aria-labelledby="access-h">
        <h2 id="access-h">Who can see the page</h2>
        {roleAllows(role, 'page.access') ? (
          <form method="post" action={`${base}/access`}>
            <ErrorSummary errors={props.form === 'access' ? props.errors : undefined} />
            <CsrfField token={props.nav.csrfToken} />
            <Select
              name="visibility"
              label="Visibility"
              value={av['visibility'] ?? page.visibility}
              error={access['visibility']}
              options={VISIBILITIES.map((v) => ({ value: v, label: VISIBILITY_LABELS[v] }))}
            />
            <Input
              name="password"
              label="Page password"
              type="password"
              error={access['password']}
              hint={
                page.hasPassword
                  ? 'A password is set. Leave empty to keep it; type a new one to change it.'
                  : 'Used with the password visibility. 8 to 128 characters.'
              }
              maxLength={128}
              autocomplete="new-password"
            />
            <TextArea
              name="ipAllowlist"
              label="IP allow-list"
              value={av['ipAllowlist'] ?? page.ipAllowlist.join('\n')}
              error={access['ipAllowlist']}
              hint="One address or CIDR range per line, such as 203.0.113.0/24. Used with the IP allow-list visibility."
              rows={4}
              maxLength={5000}
              code
            />
            <button type="submit">Save access</button>
          </form>
        ) : (
          <p>
            Visibility: <strong>{VISIBILITY_LABELS[page.visibility]}</strong>. Admins and the owner
            can change it.
          </p>
        )}
      </section>

      {role === 'owner' && (
        <section class="card danger-zone" aria-labelledby="delete-h">
          <h2 id="delete-h">Delete this page</h2>
          <p>
            Deleting the page removes its components, incidents, history and subscribers. It cannot
            be undone.
          </p>
          <form method="post" action={`${base}/delete`}>
            <ErrorSummary errors={props.form === 'delete' ? props.errors : undefined} />
            <CsrfField token={props.nav.csrfToken} />
            <Input
              name="confirm"
              label={`Type the page's slug (${page.slug}) to confirm`}
              error={errorsFor('delete')['confirm']}
              required
              maxLength={64}
              autocomplete="off"
            />
            <button type="submit" class="danger">
              Delete page
            </button>
          </form>
        </section>
      )}
    </StatusPageFrame>
  )
}

// ---------------------------------------------------------------------------------------------
// /pages/:pageId/components
// ---------------------------------------------------------------------------------------------

export type ComponentForm = 'component' | 'group' | 'row'

export function ComponentsPage(props: {
  nav: NavContext
  page: StatusPage
  role: Role
  components: Component[]
  notice?: string | undefined
  form?: ComponentForm | undefined
  errors?: Errors | undefined
  values?: Values | undefined
}) {
  const { page, components } = props
  const editable = canEdit(props.role)
  const groups = components.filter((c) => c.isGroup)
  const topLevel = components.filter((c) => c.groupId === null)
  const errorsFor = (form: ComponentForm): Errors =>
    props.form === form ? (props.errors ?? {}) : {}
  const valuesFor = (form: ComponentForm): Values =>
    props.form === form ? (props.values ?? {}) : {}
  const ce = errorsFor('component')
  const cv = valuesFor('component')
  const ge = errorsFor('group')
  const gv = valuesFor('group')
  const base = `/pages/${encodeURIComponent(page.id)}`
  return (
    <StatusPageFrame
      nav={props.nav}
      page={page}
      title={`Components · ${page.name}`}
      tab="components"
    >
      {props.notice !== undefined && <Notice kind="success">{props.notice}</Notice>}
      {!editable && <ReadOnlyNotice role={props.role} />}
      {props.form === 'row' && <ErrorSummary errors={props.errors} />}
      {components.length === 0 ? (
        <p>No component yet.</p>
      ) : (
        <table class="components">
          <caption>Components in display order</caption>
          <thead>
            <tr>
              <th scope="col">Component</th>
              <th scope="col">Status</th>
              {editable && (
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              )}
            </tr>
          </thead>
          <tbody>
            {topLevel.flatMap((item) => [
              <ComponentRow
                key={item.id}
                component={item}
                all={components}
                editable={editable}
                csrf={props.nav.csrfToken}
              />,
              ...components
                .filter((c) => c.groupId === item.id)
                .map((child) => (
                  <ComponentRow
                    key={child.id}
                    component={child}
                    all={components}
                    editable={editable}
                    csrf={props.nav.csrfToken}
                  />
                )),
            ])}
          </tbody>
        </table>
      )}
      {editable && (
        <div class="columns">
          <section class="card" aria-labelledby="add-component-h">
            <h2 id="add-component-h">Add a component</h2>
            <form method="post" action={`${base}/components`}>
              <ErrorSummary errors={props.form === 'component' ? props.errors : undefined} />
              <CsrfField token={props.nav.csrfToken} />
              <ComponentFields
                idPrefix="new-"
                groups={groups}
                errors={ce}
                name={cv['name']}
                description={cv['description']}
                groupId={cv['groupId']}
                onlyShowIfDegraded={cv['onlyShowIfDegraded'] === 'true'}
                startDate={cv['startDate']}
              />
              <button type="submit">Add component</button>
            </form>
          </section>
          <section class="card" aria-labelledby="add-group-h">
            <h2 id="add-group-h">Add a group</h2>
            <p class="hint">
              A group holds components and shows the worst status among them. Groups do not nest.
            </p>
            <form method="post" action={`${base}/components`}>
              <ErrorSummary errors={props.form === 'group' ? props.errors : undefined} />
              <CsrfField token={props.nav.csrfToken} />
              <input type="hidden" name="isGroup" value="true" />
              <Input
                id="group-name"
                name="name"
                label="Group name"
                value={gv['name']}
                error={ge['name']}
                required
                maxLength={100}
              />
              <TextArea
                id="group-description"
                name="description"
                label="Description"
                value={gv['description']}
                error={ge['description']}
                rows={2}
                maxLength={500}
              />
              <button type="submit">Add group</button>
            </form>
          </section>
        </div>
      )}
    </StatusPageFrame>
  )
}

function ComponentRow(props: {
  component: Component
  all: Component[]
  editable: boolean
  csrf: string
}) {
  const c = props.component
  const path = `/components/${encodeURIComponent(c.id)}`
  const status = c.isGroup ? groupStatus(c, props.all) : c.status
  return (
    <tr class={c.groupId === null ? 'top' : 'child'}>
      <th scope="row">
        {c.groupId !== null && <span aria-hidden="true">↳ </span>}
        {c.name}
        {c.isGroup && <span class="muted"> (group)</span>}
        {c.onlyShowIfDegraded && <span class="muted"> · shown only when degraded</span>}
        {c.description !== null && <p class="hint">{c.description}</p>}
      </th>
      <td>
        {!c.isGroup && props.editable ? (
          <form method="post" action={`${path}/status`} class="inline-form">
            <CsrfField token={props.csrf} />
            <label for={`status-${c.id}`} class="visually-hidden">
              Status of {c.name}
            </label>
            <select id={`status-${c.id}`} name="status">
              {statusOptions.map((o) => (
                <option key={o.value} value={o.value} selected={o.value === c.status}>
                  {o.label}
                </option>
              ))}
            </select>{' '}
            <button type="submit" class="secondary small">
              Set
            </button>
          </form>
        ) : (
          <StatusBadge status={status} />
        )}
      </td>
      {props.editable && (
        <td class="row-actions">
          <a href={path}>Edit</a>
          <form method="post" action={`${path}/move`} class="inline-form">
            <CsrfField token={props.csrf} />
            <input type="hidden" name="direction" value="up" />
            <button type="submit" class="secondary small" aria-label={`Move ${c.name} up`}>
              ↑
            </button>
          </form>
          <form method="post" action={`${path}/move`} class="inline-form">
            <CsrfField token={props.csrf} />
            <input type="hidden" name="direction" value="down" />
            <button type="submit" class="secondary small" aria-label={`Move ${c.name} down`}>
              ↓
            </button>
          </form>
          <form method="post" action={`${path}/delete`} class="inline-form">
            <CsrfField token={props.csrf} />
            <button type="submit" class="danger small" aria-label={`Delete ${c.name}`}>
              Delete
            </button>
          </form>
        </td>
      )}
    </tr>
  )
}

function ComponentFields(props: {
  idPrefix: string
  groups: Component[]
  errors: Errors
  isGroup?: boolean | undefined
  name?: string | undefined
  description?: string | undefined
  groupId?: string | undefined
  onlyShowIfDegraded: boolean
  startDate?: string | undefined
}) {
  const id = (name: string) => `${props.idPrefix}${name}`
  return (
    <>
      <Input
        id={id('name')}
        name="name"
        label="Name"
        value={props.name}
        error={props.errors['name']}
        required
        maxLength={100}
      />
      <TextArea
        id={id('description')}
        name="description"
        label="Description"
        value={props.description}
        error={props.errors['description']}
        hint="Shown to visitors. Optional."
        rows={2}
        maxLength={500}
      />
      {props.isGroup !== true && (
        <>
          <Select
            id={id('groupId')}
            name="groupId"
            label="Group"
            value={props.groupId ?? ''}
            error={props.errors['groupId']}
            options={[
              { value: '', label: 'No group (top level)' },
              ...props.groups.map((g) => ({ value: g.id, label: g.name })),
            ]}
          />
          <Checkbox
            id={id('onlyShowIfDegraded')}
            name="onlyShowIfDegraded"
            label="Only show if degraded"
            hint="Hide it from the public page while it is operational."
            checked={props.onlyShowIfDegraded}
            hiddenFalse
          />
          <Input
            id={id('startDate')}
            name="startDate"
            label="Start date"
            type="date"
            value={props.startDate}
            error={props.errors['startDate']}
            hint="Uptime history starts on this day. Optional."
            maxLength={10}
          />
        </>
      )}
    </>
  )
}

export function ComponentEditPage(props: {
  nav: NavContext
  page: StatusPage
  role: Role
  component: Component
  groups: Component[]
  errors?: Errors | undefined
  values?: Values | undefined
}) {
  const { component, page } = props
  const v = props.values ?? {}
  const editable = canEdit(props.role)
  return (
    <StatusPageFrame
      nav={props.nav}
      page={page}
      title={`${component.isGroup ? 'Group' : 'Component'}: ${component.name}`}
      tab="components"
    >
      {editable ? (
        <form method="post" action={`/components/${encodeURIComponent(component.id)}`} class="card">
          <ErrorSummary errors={props.errors} />
          <CsrfField token={props.nav.csrfToken} />
          <ComponentFields
            idPrefix="edit-"
            groups={props.groups.filter((g) => g.id !== component.id)}
            errors={props.errors ?? {}}
            isGroup={component.isGroup}
            name={v['name'] ?? component.name}
            description={v['description'] ?? component.description ?? ''}
            groupId={v['groupId'] ?? component.groupId ?? ''}
            onlyShowIfDegraded={
              v['onlyShowIfDegraded'] === undefined
                ? component.onlyShowIfDegraded
                : v['onlyShowIfDegraded'] === 'true'
            }
            startDate={v['startDate'] ?? component.startDate ?? ''}
          />
          <div class="actions">
            <button type="submit">Save</button>
            <a href={`/pages/${encodeURIComponent(page.id)}/components`}>Cancel</a>
          </div>
        </form>
      ) : (
        <>
          <ReadOnlyNotice role={props.role} />
          <dl class="facts">
            <dt>Name</dt>
            <dd>{component.name}</dd>
            <dt>Description</dt>
            <dd>{component.description ?? '—'}</dd>
            <dt>Status</dt>
            <dd>
              <StatusBadge status={component.status} />
            </dd>
          </dl>
        </>
      )}
    </StatusPageFrame>
  )
}
