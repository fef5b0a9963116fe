import { hasRoleAtLeast, type Role } from '../../domain/roles.js'
import { roleAllows } from '../../domain/policy.js'
import type { Component, Page as StatusPage } from '../../domain/pages/types.js'
import {
  SUBSCRIBER_CHANNELS,
  type Delivery,
  type DeliveryState,
  type FanoutProgress,
  type Subscriber,
  type SubscriberChannel,
} from '../../domain/subscribers/types.js'
import { CsrfField, Notice, type NavContext } from './layout.js'
import {
  Checkbox,
  ErrorSummary,
  Input,
  PageTime,
  ReadOnlyNotice,
  Select,
  StatusPageFrame,
  TextArea,
  type Errors,
  type Values,
} from './page-views.js'

export const CHANNEL_LABELS: Record<SubscriberChannel, string> = {
  email: 'Email',
  webhook: 'Webhook',
  slack: 'Slack',
  teams: 'Microsoft Teams',
  google_chat: 'Google Chat',
  discord: 'Discord',
}

const STATE_LABELS: Record<Subscriber['state'], string> = {
  pending: 'Pending confirmation',
  active: 'Active',
  unsubscribed: 'Unsubscribed',
}

const SOURCE_LABELS: Record<Subscriber['consent']['source'], string> = {
  form: 'Subscribe form of the status page',
  import: 'Imported from a file',
  dashboard: 'Added from the dashboard',
  api: 'Added through the API',
}

export const DELIVERY_STATES: readonly DeliveryState[] = [
  'queued',
  'sending',
  'sent',
  'failed',
  'cancelled',
]

const EVENT_LABELS: Record<string, string> = {
  'incident.created': 'Incident opened',
  'incident.updated': 'Incident update',
  'maintenance.scheduled': 'Maintenance scheduled',
  'maintenance.reminder': 'Maintenance reminder',
  'maintenance.started': 'Maintenance started',
  'maintenance.updated': 'Maintenance update',
  'maintenance.completed': 'Maintenance completed',
  'component.updated': 'Component status changed',
}

export const STATE_FILTERS = ['pending', 'active', 'unsubscribed'] as const

function eventLabel(type: string): string {
  return EVENT_LABELS[type] ?? type
}

function base(page: StatusPage): string {
  return `/pages/${encodeURIComponent(page.id)}`
}

export function subscriberPath(page: StatusPage, subscriberId: string, suffix = ''): string {
  return `${base(page)}/subscribers/${encodeURIComponent(subscriberId)}${suffix}`
}

function componentNames(subscriber: Subscriber, components: readonly Component[]): string {
  if (subscriber.allComponents) return 'All components'
  const names = subscriber.componentIds.map((id) => components.find((c) => c.id === id)?.name ?? id)
  return names.length === 0 ? 'All components' : names.join(', ')
}

/** Components as checkboxes, each group first with its own components after it. */
function ComponentFields(props: {
  components: readonly Component[]
  selected: readonly string[]
  idPrefix: string
  error?: string | undefined
}) {
  const ordered = props.components
    .filter((c) => c.groupId === null)
    .flatMap((c) => [c, ...props.components.filter((child) => child.groupId === c.id)])
  return (
    <fieldset class={props.error === undefined ? 'components' : 'components invalid'}>
      <legend>Components</legend>
      <p class="hint">None ticked: every component. A group includes all of its components.</p>
      {props.error !== undefined && <p class="error">{props.error}</p>}
      {ordered.length === 0 ? (
        <p class="muted">This page has no component yet.</p>
      ) : (
        <div class="columns">
          {ordered.map((c) => (
            <Checkbox
              key={c.id}
              id={`${props.idPrefix}-${c.id}`}
              name="componentIds"
              value={c.id}
              label={c.isGroup ? `${c.name} (group)` : c.name}
              checked={props.selected.includes(c.id)}
            />
          ))}
        </div>
      )}
    </fieldset>
  )
}

/** The secret of a webhook subscriber, shown once after it is made. */
function SecretNotice({ secret }: { secret: string }) {
  return (
    <Notice kind="info">
      <p>
        <strong>Signing secret of this webhook.</strong> Copy it now: it is not shown again. Your
        receiver checks each request's <code>webhook-signature</code> header with it (Standard
        Webhooks).
      </p>
      <pre class="code-block">{secret}</pre>
    </Notice>
  )
}

// ---------------------------------------------------------------------------------------------
// /pages/:pageId/subscribers
// ---------------------------------------------------------------------------------------------

export type SubscribersForm = 'add' | 'import' | 'settings'

export interface SubscribersFilter {
  state: string | undefined
  channel: string | undefined
  page: number
}

export function SubscribersPage(props: {
  nav: NavContext
  page: StatusPage
  role: Role
  subscribers: Subscriber[]
  total: number
  counts: Record<'all' | (typeof STATE_FILTERS)[number], number>
  filter: SubscribersFilter
  pageSize: number
  components: Component[]
  settings?: { privacyNotice: string; notifyTeam: boolean } | undefined
  notice?: string | undefined
  form?: SubscribersForm | undefined
  errors?: Errors | undefined
  values?: Values | undefined
  selected?: readonly string[] | undefined
  imported?: { imported: number; alreadySubscribed: number } | undefined
}) {
  const { page, filter } = props
  const path = `${base(page)}/subscribers`
  const errorsFor = (form: SubscribersForm): Errors =>
    props.form === form ? (props.errors ?? {}) : {}
  const valuesFor = (form: SubscribersForm): Values =>
    props.form === form ? (props.values ?? {}) : {}
  const query = (changes: Partial<SubscribersFilter>) => {
    const next = { ...filter, ...changes }
    const params = new URLSearchParams()
    if (next.state !== undefined) params.set('state', next.state)
    if (next.channel !== undefined) params.set('channel', next.channel)
    if (next.page > 1) params.set('page', String(next.page))
    const search = params.toString()
    return search === '' ? path : `${path}?${search}`
  }
  const first = props.total === 0 ? 0 : (filter.page - 1) * props.pageSize + 1
  const last = Math.min(filter.page * props.pageSize, props.total)
  const ae = errorsFor('add')
  const av = valuesFor('add')
  const ie = errorsFor('import')
  const iv = valuesFor('import')
  const se = errorsFor('settings')
  const sv = valuesFor('settings')
  return (
    <StatusPageFrame
      nav={props.nav}
      page={page}
      title={`Subscribers of ${page.name}`}
      tab="subscribers"
    >
      {props.notice !== undefined && <Notice kind="success">{props.notice}</Notice>}
      {props.imported !== undefined && (
        <Notice kind="success">
          Imported {props.imported.imported}{' '}
          {props.imported.imported === 1 ? 'subscriber' : 'subscribers'};{' '}
          {props.imported.alreadySubscribed} already subscribed.
        </Notice>
      )}
      <nav aria-label="Filter by state">
        <ul class="inline wrap">
          <li>
            <a
              href={query({ state: undefined, page: 1 })}
              aria-current={filter.state === undefined ? 'page' : undefined}
            >
              All ({props.counts.all})
            </a>
          </li>
          {STATE_FILTERS.map((state) => (
            <li key={state}>
              <a
                href={query({ state, page: 1 })}
                aria-current={filter.state === state ? 'page' : undefined}
              >
                {STATE_LABELS[state]} ({props.counts[state]})
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <form method="get" action={path} class="inline-form">
        {filter.state !== undefined && <input type="hidden" name="state" value={filter.state} />}
        <label for="filter-channel">Channel</label>{' '}
        <select id="filter-channel" name="channel">
          <option value="" selected={filter.channel === undefined}>
            All channels
          </option>
          {SUBSCRIBER_CHANNELS.map((c) => (
            <option key={c} value={c} selected={filter.channel === c}>
              {CHANNEL_LABELS[c]}
            </option>
          ))}
        </select>{' '}
        <button type="submit" class="secondary small">
          Filter
        </button>
      </form>
      {props.subscribers.length === 0 ? (
        <p>No subscriber matches.</p>
      ) : (
        <table>
          <caption>
            Subscribers {first}–{last} of {props.total}
          </caption>
          <thead>
            <tr>
              <th scope="col">Address</th>
              <th scope="col">Channel</th>
              <th scope="col">State</th>
              <th scope="col">Components</th>
              <th scope="col">Since</th>
            </tr>
          </thead>
          <tbody>
            {props.subscribers.map((s) => (
              <tr key={s.id}>
                <td>
                  <a href={subscriberPath(page, s.id)}>{s.address}</a>
                </td>
                <td>{CHANNEL_LABELS[s.channel]}</td>
                <td>{STATE_LABELS[s.state]}</td>
                <td>{componentNames(s, props.components)}</td>
                <td>
                  <PageTime date={s.createdAt} timeZone={page.timeZone} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {(filter.page > 1 || last < props.total) && (
        <nav aria-label="Pages of subscribers">
          <ul class="inline">
            {filter.page > 1 && (
              <li>
                <a href={query({ page: filter.page - 1 })} rel="prev">
                  Previous
                </a>
              </li>
            )}
            {last < props.total && (
              <li>
                <a href={query({ page: filter.page + 1 })} rel="next">
                  Next
                </a>
              </li>
            )}
          </ul>
        </nav>
      )}
      <p>
        Export every subscriber of this page: <a href={`${path}/export.csv`}>CSV</a> ·{' '}
        <a href={`${path}/export.json`}>JSON</a>
      </p>

      <section class="card narrow" aria-labelledby="add-subscriber-h">
        <h2 id="add-subscriber-h">Add a subscriber</h2>
        <p class="hint">
          An email address receives a confirmation link first. Webhook and chat addresses are active
          at once; a webhook gets a signing secret.
        </p>
        <form method="post" action={path}>
          <ErrorSummary errors={props.form === 'add' ? props.errors : undefined} />
          <CsrfField token={props.nav.csrfToken} />
          <Select
            name="channel"
            label="Channel"
            value={av['channel'] ?? 'email'}
            error={ae['channel']}
            options={SUBSCRIBER_CHANNELS.map((c) => ({ value: c, label: CHANNEL_LABELS[c] }))}
          />
          <Input
            name="address"
            label="Email address or URL"
            value={av['address']}
            error={ae['address']}
            hint="An email address, or the https:// URL of the webhook or incoming webhook."
            required
            maxLength={2000}
          />
          <ComponentFields
            components={props.components}
            selected={props.form === 'add' ? (props.selected ?? []) : []}
            idPrefix="add-component"
            error={ae['componentIds']}
          />
          <button type="submit">Add subscriber</button>
        </form>
      </section>

      <section class="card narrow" aria-labelledby="import-h">
        <h2 id="import-h">Import email subscribers</h2>
        <p class="hint">
          A CSV file with an <code>email</code> column (or the addresses in the first column) and an
          optional <code>components</code> column of component ids separated by spaces. Every row is
          checked first: if one is wrong, nothing is imported.
        </p>
        <form
          method="post"
          enctype="multipart/form-data"
          action={`${path}/import?_csrf=${encodeURIComponent(props.nav.csrfToken)}`}
        >
          <ErrorSummary errors={props.form === 'import' ? props.errors : undefined} />
          <div class={ie['csv'] === undefined ? 'field' : 'field invalid'}>
            <label for="import-file">CSV file</label>
            {ie['csv'] !== undefined && (
              <p class="error" id="import-file-error">
                {ie['csv']}
              </p>
            )}
            <input
              type="file"
              id="import-file"
              name="file"
              accept=".csv,text/csv"
              aria-describedby={ie['csv'] === undefined ? undefined : 'import-file-error'}
            />
          </div>
          <TextArea
            id="import-csv"
            name="csv"
            label="Or paste the CSV here"
            value={iv['csv']}
            rows={4}
            code
          />
          <TextArea
            id="import-consent"
            name="consentAssertion"
            label="How these people agreed (consent statement)"
            value={iv['consentAssertion']}
            error={ie['consentAssertion']}
            hint="Recorded as each subscriber's consent, e.g. “Opted in on our customer portal's notification settings, March 2026”."
            rows={3}
            maxLength={2000}
            required
          />
          <Checkbox
            id="import-confirm"
            name="consentConfirmed"
            label="Every person in this file agreed to receive these notifications."
            checked={iv['consentConfirmed'] === 'true'}
          />
          <button type="submit">Import</button>
        </form>
      </section>

      {props.settings !== undefined && (
        <section class="card narrow" aria-labelledby="subscriber-settings-h">
          <h2 id="subscriber-settings-h">Subscription settings</h2>
          <form method="post" action={`${path}/settings`}>
            <ErrorSummary errors={props.form === 'settings' ? props.errors : undefined} />
            <CsrfField token={props.nav.csrfToken} />
            <TextArea
              name="privacyNotice"
              label="Privacy notice"
              value={sv['privacyNotice'] ?? props.settings.privacyNotice}
              error={se['privacyNotice']}
              hint="Shown under the consent sentence, right above the subscribe button: who you are, why you keep the address, how long, whom to contact."
              rows={6}
              maxLength={5000}
            />
            <Checkbox
              name="notifyTeam"
              label="Notify the members of this account about this page by email"
              checked={
                sv['notifyTeam'] === undefined
                  ? props.settings.notifyTeam
                  : sv['notifyTeam'] === 'true'
              }
              hiddenFalse
            />
            <button type="submit">Save settings</button>
          </form>
        </section>
      )}
    </StatusPageFrame>
  )
}

// ---------------------------------------------------------------------------------------------
// /pages/:pageId/subscribers/:subscriberId
// ---------------------------------------------------------------------------------------------

export function SubscriberDetailPage(props: {
  nav: NavContext
  page: StatusPage
  role: Role
  subscriber: Subscriber
  components: Component[]
  deliveries: Delivery[]
  secret?: string | undefined
  notice?: string | undefined
  errors?: Errors | undefined
  selected?: readonly string[] | undefined
}) {
  const { page, subscriber: s } = props
  const zone = page.timeZone
  const errors = props.errors ?? {}
  const path = subscriberPath(page, s.id)
  return (
    <StatusPageFrame
      nav={props.nav}
      page={page}
      title={`Subscriber ${s.address}`}
      tab="subscribers"
    >
      <p>
        <a href={`${base(page)}/subscribers`}>All subscribers</a>
      </p>
      {props.notice !== undefined && <Notice kind="success">{props.notice}</Notice>}
      {props.secret !== undefined && <SecretNotice secret={props.secret} />}
      <dl class="facts">
        <dt>Address</dt>
        <dd>{s.address}</dd>
        <dt>Channel</dt>
        <dd>{CHANNEL_LABELS[s.channel]}</dd>
        <dt>State</dt>
        <dd>{STATE_LABELS[s.state]}</dd>
        <dt>Components</dt>
        <dd>{componentNames(s, props.components)}</dd>
        <dt>Added</dt>
        <dd>
          <PageTime date={s.createdAt} timeZone={zone} />
        </dd>
        {s.confirmedAt !== null && (
          <>
            <dt>Confirmed</dt>
            <dd>
              <PageTime date={s.confirmedAt} timeZone={zone} />
            </dd>
          </>
        )}
        {s.unsubscribedAt !== null && (
          <>
            <dt>Unsubscribed</dt>
            <dd>
              <PageTime date={s.unsubscribedAt} timeZone={zone} />
            </dd>
          </>
        )}
      </dl>

      <section class="card" aria-labelledby="consent-h">
        <h2 id="consent-h">Consent record</h2>
        <dl class="facts">
          <dt>Given</dt>
          <dd>
            <PageTime date={s.consent.at} timeZone={zone} />
          </dd>
          <dt>How</dt>
          <dd>{SOURCE_LABELS[s.consent.source]}</dd>
          <dt>From</dt>
          <dd>
            {s.consent.ip ?? 'unknown address'}
            {s.consent.userAgent !== null && s.consent.userAgent !== '' && (
              <>
                {' '}
                · <span class="muted">{s.consent.userAgent}</span>
              </>
            )}
          </dd>
          {s.consent.actorUserId !== null && (
            <>
              <dt>Recorded by</dt>
              <dd>a member of this account (user {s.consent.actorUserId})</dd>
            </>
          )}
        </dl>
        <h3>Text agreed to</h3>
        <div class="code-block">{s.consent.text ?? 'Not kept.'}</div>
      </section>

      <section class="card narrow" aria-labelledby="components-h">
        <h2 id="components-h">Change components</h2>
        <form method="post" action={`${path}/components`}>
          <ErrorSummary errors={props.errors} />
          <CsrfField token={props.nav.csrfToken} />
          <ComponentFields
            components={props.components}
            selected={props.selected ?? (s.allComponents ? [] : s.componentIds)}
            idPrefix="subscriber-component"
            error={errors['componentIds']}
          />
          <button type="submit">Save components</button>
        </form>
      </section>

      <section aria-labelledby="deliveries-h">
        <h2 id="deliveries-h">Deliveries</h2>
        <DeliveriesTable
          page={page}
          deliveries={props.deliveries}
          showRecipient={false}
          empty="No delivery yet."
        />
      </section>

      {s.channel === 'webhook' && (
        <section class="card narrow" aria-labelledby="secret-h">
          <h2 id="secret-h">Signing secret</h2>
          <p>A new secret replaces the current one at once: update your receiver right after.</p>
          <form method="post" action={`${path}/rotate-secret`}>
            <CsrfField token={props.nav.csrfToken} />
            <button type="submit" class="secondary">
              Rotate secret
            </button>
          </form>
        </section>
      )}

      <section class="card narrow danger-zone" aria-labelledby="erase-h">
        <h2 id="erase-h">Data of this subscriber</h2>
        <p>
          <a href={`${path}/export`}>Download everything kept about this subscriber (JSON)</a>, to
          answer an access request.
        </p>
        <p>
          Erasing deletes the subscriber and its consent record for good; its past deliveries stay
          as anonymous counts.
        </p>
        <form method="post" action={`${path}/erase`}>
          <CsrfField token={props.nav.csrfToken} />
          <div
            class={errors['confirm'] === undefined ? 'field checkbox' : 'field checkbox invalid'}
          >
            {errors['confirm'] !== undefined && <p class="error">{errors['confirm']}</p>}
            <input type="checkbox" id="erase-confirm" name="confirm" value="true" required />{' '}
            <label for="erase-confirm">Yes, erase {s.address} for good</label>
          </div>
          <button type="submit" class="danger">
            Erase subscriber
          </button>
        </form>
      </section>
    </StatusPageFrame>
  )
}

function DeliveriesTable(props: {
  page: StatusPage
  deliveries: Delivery[]
  showRecipient: boolean
  empty: string
}) {
  if (props.deliveries.length === 0) return <p>{props.empty}</p>
  const zone = props.page.timeZone
  return (
    <table>
      <thead>
        <tr>
          <th scope="col">Queued</th>
          <th scope="col">Event</th>
          {props.showRecipient && <th scope="col">Recipient</th>}
          <th scope="col">Channel</th>
          <th scope="col">State</th>
          <th scope="col">Attempts</th>
          <th scope="col">Last error</th>
        </tr>
      </thead>
      <tbody>
        {props.deliveries.map((d) => (
          <tr key={d.id}>
            <td>
              <PageTime date={d.createdAt} timeZone={zone} />
            </td>
            <td>
              {d.incidentId === null ? (
                eventLabel(d.eventType)
              ) : (
                <a href={`/incidents/${encodeURIComponent(d.incidentId)}`}>
                  {eventLabel(d.eventType)}
                </a>
              )}
            </td>
            {props.showRecipient && (
              <td>
                {d.subscriberId !== null ? (
                  <a href={subscriberPath(props.page, d.subscriberId)}>subscriber</a>
                ) : d.userId !== null ? (
                  'team member'
                ) : (
                  'erased subscriber'
                )}
              </td>
            )}
            <td>{CHANNEL_LABELS[d.channel]}</td>
            <td>
              {d.state}
              {d.sentAt !== null && (
                <>
                  {' '}
                  <PageTime date={d.sentAt} timeZone={zone} />
                </>
              )}
            </td>
            <td>{d.attempts}</td>
            <td>{d.lastError ?? ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

// ---------------------------------------------------------------------------------------------
// /pages/:pageId/notifications
// ---------------------------------------------------------------------------------------------

/** Fan-out progress of notification events: how many deliveries are in each state. */
export function FanoutTable(props: {
  page: StatusPage
  progress: FanoutProgress[]
  canRetry: boolean
  csrfToken: string
  caption?: string | undefined
}) {
  if (props.progress.length === 0) return <p>No notification sent yet.</p>
  const retryPath = `${base(props.page)}/notifications/retry`
  return (
    <table class="fanout">
      {props.caption !== undefined && <caption>{props.caption}</caption>}
      <thead>
        <tr>
          <th scope="col">Event</th>
          <th scope="col">When</th>
          <th scope="col">Fan-out</th>
          {DELIVERY_STATES.map((state) => (
            <th key={state} scope="col">
              {state[0]?.toUpperCase()}
              {state.slice(1)}
            </th>
          ))}
          {props.canRetry && <th scope="col">Actions</th>}
        </tr>
      </thead>
      <tbody>
        {props.progress.map((p) => (
          <tr key={p.eventId}>
            <th scope="row">
              {p.incidentId === null ? (
                eventLabel(p.type)
              ) : (
                <a href={`/incidents/${encodeURIComponent(p.incidentId)}`}>{eventLabel(p.type)}</a>
              )}
            </th>
            <td>
              <PageTime date={p.createdAt} timeZone={props.page.timeZone} />
            </td>
            <td>{p.fanoutDone ? 'done' : 'in progress'}</td>
            {DELIVERY_STATES.map((state) => (
              <td key={state} data-state={state}>
                {p.counts[state]}
              </td>
            ))}
            {props.canRetry && (
              <td>
                {p.counts.failed > 0 && (
                  <form method="post" action={retryPath} class="inline-form">
                    <CsrfField token={props.csrfToken} />
                    <input type="hidden" name="eventId" value={p.eventId} />
                    <button type="submit" class="small secondary">
                      Retry failed
                    </button>
                  </form>
                )}
              </td>
            )}
          </tr>
        ))}
      </tbody>
    </table>
  )
}

export function NotificationsPage(props: {
  nav: NavContext
  page: StatusPage
  role: Role
  progress: FanoutProgress[]
  failures: Delivery[]
  optedOut: boolean
  notice?: string | undefined
}) {
  const { page } = props
  const editor = hasRoleAtLeast(props.role, 'editor')
  const path = `${base(page)}/notifications`
  const failed = props.progress.reduce((sum, p) => sum + p.counts.failed, 0)
  return (
    <StatusPageFrame
      nav={props.nav}
      page={page}
      title={`Notifications of ${page.name}`}
      tab="notifications"
    >
      {props.notice !== undefined && <Notice kind="success">{props.notice}</Notice>}
      {!editor && <ReadOnlyNotice role={props.role} />}

      <section class="card narrow" aria-labelledby="me-h">
        <h2 id="me-h">Your notifications</h2>
        <p>
          {props.optedOut
            ? 'You do not receive the notifications of this page.'
            : 'As a member of this account, you receive the notifications of this page by email (unless the page does not notify its team).'}
        </p>
        <form method="post" action={`${path}/me`}>
          <CsrfField token={props.nav.csrfToken} />
          <input type="hidden" name="notify" value={props.optedOut ? 'true' : 'false'} />
          <button type="submit" class="secondary">
            {props.optedOut ? 'Notify me about this page' : 'Stop notifying me about this page'}
          </button>
        </form>
      </section>

      <section aria-labelledby="events-h">
        <h2 id="events-h">Recent notifications</h2>
        <FanoutTable
          page={page}
          progress={props.progress}
          canRetry={editor}
          csrfToken={props.nav.csrfToken}
        />
        {editor && failed > 0 && (
          <form method="post" action={`${path}/retry`}>
            <CsrfField token={props.nav.csrfToken} />
            <button type="submit">Retry all failed deliveries</button>
          </form>
        )}
      </section>

      <section aria-labelledby="failures-h">
        <h2 id="failures-h">Failed deliveries</h2>
        <DeliveriesTable
          page={page}
          deliveries={props.failures}
          showRecipient
          empty="No failed delivery."
        />
      </section>
    </StatusPageFrame>
  )
}

/** The incident page's view of its notifications (viewer and up). */
export function IncidentNotifications(props: {
  page: StatusPage
  role: Role
  progress: FanoutProgress[]
  csrfToken: string
}) {
  return (
    <section aria-labelledby="incident-notifications-h">
      <h2 id="incident-notifications-h">Notifications</h2>
      <FanoutTable
        page={props.page}
        progress={props.progress}
        canRetry={roleAllows(props.role, 'notification.retry')}
        csrfToken={props.csrfToken}
      />
      <p>
        <a href={`${base(props.page)}/notifications`}>All notifications of this page</a>
      </p>
    </section>
  )
}
