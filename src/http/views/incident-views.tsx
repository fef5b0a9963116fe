import type { ComponentChildren } from 'preact'
import type { IncidentTemplate, Revision } from '../../domain/pages/incident-service.js'
import { isIncidentOpen } from '../../domain/pages/status.js'
import { toDateTimeInput } from '../../domain/pages/time-zone.js'
import {
  IMPACTS,
  INCIDENT_STATUSES,
  MAINTENANCE_STATUSES,
  type Component,
  type Incident,
  type IncidentUpdate,
  type Page as StatusPage,
} from '../../domain/pages/types.js'
import type { Role } from '../../domain/roles.js'
import { roleAllows } from '../../domain/policy.js'
import { renderMarkdown } from '../public/markdown.js'
import { CsrfField, Notice, type NavContext } from './layout.js'
import {
  canEdit,
  Checkbox,
  COMPONENT_STATUS_LABELS,
  componentStatusOptions,
  ErrorSummary,
  Input,
  label,
  PageTime,
  ReadOnlyNotice,
  Select,
  StatusBadge,
  StatusPageFrame,
  TextArea,
  type Errors,
  type Values,
} from './page-views.js'

const incidentStatusOptions = INCIDENT_STATUSES.map((s) => ({ value: s, label: label(s) }))
const maintenanceStatusOptions = MAINTENANCE_STATUSES.map((s) => ({ value: s, label: label(s) }))
const impactOptions = IMPACTS.map((i) => ({ value: i, label: label(i) }))

function incidentPath(incident: Pick<Incident, 'id'>): string {
  return `/incidents/${encodeURIComponent(incident.id)}`
}

function Markdown({ text }: { text: string }) {
  return <div class="markdown" dangerouslySetInnerHTML={{ __html: renderMarkdown(text) }} />
}

function BackdateField(props: {
  page: StatusPage
  value?: string | undefined
  error?: string | undefined
  id?: string | undefined
  label?: string | undefined
}) {
  return (
    <Input
      id={props.id}
      name="displayAt"
      label={props.label ?? 'Backdate (optional)'}
      type="datetime-local"
      value={props.value}
      error={props.error}
      hint={`Leave empty to post it now. In the page's time zone, ${props.page.timeZone}.`}
      maxLength={40}
    />
  )
}

/**
 * One select per component, named component_<id>. "No change" (the empty value) is the default:
 * only the components someone actually changes are sent.
 */
function ComponentStatusFields(props: {
  components: Component[]
  values: Values
  error?: string | undefined
  highlight?: readonly string[] | undefined
}) {
  const leaves = props.components.filter((c) => !c.isGroup)
  if (leaves.length === 0)
    return <p class="muted">This page has no component yet, so no status to change.</p>
  const groupName = new Map(props.components.filter((c) => c.isGroup).map((g) => [g.id, g.name]))
  const ordered = [
    ...leaves.filter((c) => props.highlight?.includes(c.id) === true),
    ...leaves.filter((c) => props.highlight?.includes(c.id) !== true),
  ]
  return (
    <fieldset class={props.error === undefined ? 'components' : 'components invalid'}>
      <legend>Component statuses</legend>
      <p class="hint">Leave “No change” for the components this does not touch.</p>
      {props.error !== undefined && <p class="error">{props.error}</p>}
      {ordered.map((c) => {
        const group = c.groupId === null ? undefined : groupName.get(c.groupId)
        const name = group === undefined ? c.name : `${group} – ${c.name}`
        return (
          <Select
            key={c.id}
            id={`component-${c.id}`}
            name={`component_${c.id}`}
            label={props.highlight?.includes(c.id) === true ? `${name} (affected)` : name}
            value={props.values[c.id] ?? ''}
            options={[
              { value: '', label: `No change (now ${COMPONENT_STATUS_LABELS[c.status]})` },
              ...componentStatusOptions,
            ]}
          />
        )
      })}
    </fieldset>
  )
}

// ---------------------------------------------------------------------------------------------
// /pages/:pageId/incidents
// ---------------------------------------------------------------------------------------------

export function IncidentsPage(props: {
  nav: NavContext
  page: StatusPage
  role: Role
  incidents: Incident[]
  maintenances: Incident[]
  notice?: string | undefined
  /** Incident drafts opened by alert endpoints (see alert-views.tsx). */
  drafts?: ComponentChildren
}) {
  const { page } = props
  const base = `/pages/${encodeURIComponent(page.id)}`
  const open = props.incidents.filter(isIncidentOpen)
  const past = props.incidents.filter((i) => !isIncidentOpen(i))
  const upcoming = props.maintenances.filter(isIncidentOpen)
  const done = props.maintenances.filter((m) => !isIncidentOpen(m))
  return (
    <StatusPageFrame
      nav={props.nav}
      page={page}
      title={`Incidents & maintenance · ${page.name}`}
      tab="incidents"
    >
      {props.notice !== undefined && <Notice kind="success">{props.notice}</Notice>}
      {canEdit(props.role) ? (
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
        </ul>
      ) : (
        <ReadOnlyNotice role={props.role} />
      )}
      {props.drafts}
      <section aria-labelledby="open-h">
        <h2 id="open-h">Open incidents</h2>
        <IncidentTable incidents={open} page={page} empty="No open incident." />
      </section>
      <section aria-labelledby="maintenance-h">
        <h2 id="maintenance-h">Maintenance</h2>
        <h3>Upcoming and in progress</h3>
        <IncidentTable incidents={upcoming} page={page} empty="No maintenance scheduled." window />
        <h3>Completed</h3>
        <IncidentTable incidents={done} page={page} empty="No completed maintenance." window />
      </section>
      <section aria-labelledby="past-h">
        <h2 id="past-h">Past incidents</h2>
        <IncidentTable incidents={past} page={page} empty="No past incident." />
      </section>
    </StatusPageFrame>
  )
}

function IncidentTable(props: {
  incidents: Incident[]
  page: StatusPage
  empty: string
  window?: boolean | undefined
}) {
  if (props.incidents.length === 0) return <p class="muted">{props.empty}</p>
  const zone = props.page.timeZone
  return (
    <table>
      <thead>
        <tr>
          <th scope="col">Title</th>
          <th scope="col">Status</th>
          <th scope="col">{props.window === true ? 'Window' : 'Impact'}</th>
          <th scope="col">{props.window === true ? 'Automatic' : 'Started'}</th>
        </tr>
      </thead>
      <tbody>
        {props.incidents.map((incident) => (
          <tr key={incident.id}>
            <td>
              <a href={incidentPath(incident)}>{incident.name}</a>
            </td>
            <td>
              <StatusBadge status={incident.status} />
            </td>
            {props.window === true ? (
              <>
                <td>
                  {incident.scheduledFor !== null && (
                    <PageTime date={incident.scheduledFor} timeZone={zone} />
                  )}{' '}
                  →{' '}
                  {incident.scheduledUntil !== null && (
                    <PageTime date={incident.scheduledUntil} timeZone={zone} />
                  )}
                </td>
                <td>
                  {[incident.autoStart ? 'start' : '', incident.autoComplete ? 'completion' : '']
                    .filter(Boolean)
                    .join(' and ') || 'no'}
                </td>
              </>
            ) : (
              <>
                <td>{label(incident.impact)}</td>
                <td>
                  <PageTime date={incident.startedAt} timeZone={zone} />
                </td>
              </>
            )}
          </tr>
        ))}
      </tbody>
    </table>
  )
}

// ---------------------------------------------------------------------------------------------
// /pages/:pageId/incidents/new
// ---------------------------------------------------------------------------------------------

export function NewIncidentPage(props: {
  nav: NavContext
  page: StatusPage
  role: Role
  components: Component[]
  templates: IncidentTemplate[]
  templateId?: string | undefined
  values?: Values | undefined
  componentValues?: Values | undefined
  errors?: Errors | undefined
}) {
  const { page } = props
  const base = `/pages/${encodeURIComponent(page.id)}`
  const v = props.values ?? {}
  const e = props.errors ?? {}
  if (!canEdit(props.role))
    return (
      <StatusPageFrame nav={props.nav} page={page} title="Open an incident" tab="incidents">
        <ReadOnlyNotice role={props.role} />
      </StatusPageFrame>
    )
  return (
    <StatusPageFrame nav={props.nav} page={page} title="Open an incident" tab="incidents">
      {props.templates.length > 0 && (
        <form method="get" action={`${base}/incidents/new`} class="card template-picker">
          <Select
            name="template"
            label="Start from a template"
            value={props.templateId ?? ''}
            options={[
              { value: '', label: 'No template' },
              ...props.templates.map((t) => ({ value: t.id, label: t.name })),
            ]}
          />
          <button type="submit" class="secondary">
            Use template
          </button>
        </form>
      )}
      <form method="post" action={`${base}/incidents`} class="card">
        <ErrorSummary errors={props.errors} />
        <CsrfField token={props.nav.csrfToken} />
        <Input
          name="name"
          label="Title"
          value={v['name']}
          error={e['name']}
          required
          maxLength={200}
        />
        <div class="columns">
          <Select
            name="status"
            label="Status"
            value={v['status'] ?? 'investigating'}
            error={e['status']}
            options={incidentStatusOptions}
          />
          <Select
            name="impact"
            label="Impact"
            value={v['impact'] ?? 'minor'}
            error={e['impact']}
            options={impactOptions}
          />
        </div>
        <TextArea
          name="body"
          label="Message"
          value={v['body']}
          error={e['body']}
          hint="Markdown: **bold**, _italic_, lists and links. Shown on the page and sent to subscribers."
          rows={6}
          maxLength={20_000}
          required
        />
        <ComponentStatusFields
          components={props.components}
          values={props.componentValues ?? {}}
          error={e['components'] ?? e['componentIds']}
        />
        <Checkbox
          name="deliverNotifications"
          label="Notify subscribers"
          checked={v['deliverNotifications'] !== 'false'}
          hiddenFalse
        />
        <BackdateField page={page} value={v['displayAt']} error={e['displayAt']} />
        <button type="submit">Open incident</button>
      </form>
    </StatusPageFrame>
  )
}

// ---------------------------------------------------------------------------------------------
// /pages/:pageId/maintenance/new
// ---------------------------------------------------------------------------------------------

export function NewMaintenancePage(props: {
  nav: NavContext
  page: StatusPage
  role: Role
  components: Component[]
  values?: Values | undefined
  componentIds?: readonly string[] | undefined
  errors?: Errors | undefined
}) {
  const { page } = props
  const v = props.values ?? {}
  const e = props.errors ?? {}
  const leaves = props.components.filter((c) => !c.isGroup)
  const groupName = new Map(props.components.filter((c) => c.isGroup).map((g) => [g.id, g.name]))
  if (!canEdit(props.role))
    return (
      <StatusPageFrame nav={props.nav} page={page} title="Schedule maintenance" tab="incidents">
        <ReadOnlyNotice role={props.role} />
      </StatusPageFrame>
    )
  return (
    <StatusPageFrame nav={props.nav} page={page} title="Schedule maintenance" tab="incidents">
      <form method="post" action={`/pages/${encodeURIComponent(page.id)}/maintenance`} class="card">
        <ErrorSummary errors={props.errors} />
        <CsrfField token={props.nav.csrfToken} />
        <Input
          name="name"
          label="Title"
          value={v['name']}
          error={e['name']}
          required
          maxLength={200}
        />
        <TextArea
          name="body"
          label="Message"
          value={v['body']}
          error={e['body']}
          hint="Markdown. What will happen and what visitors will notice."
          rows={5}
          maxLength={20_000}
          required
        />
        <div class="columns">
          <Input
            name="scheduledFor"
            label="Starts"
            type="datetime-local"
            value={v['scheduledFor']}
            error={e['scheduledFor']}
            hint={`In ${page.timeZone}.`}
            required
            maxLength={40}
          />
          <Input
            name="scheduledUntil"
            label="Ends"
            type="datetime-local"
            value={v['scheduledUntil']}
            error={e['scheduledUntil']}
            hint={`In ${page.timeZone}.`}
            required
            maxLength={40}
          />
        </div>
        <fieldset class={e['componentIds'] === undefined ? 'components' : 'components invalid'}>
          <legend>Affected components</legend>
          {e['componentIds'] !== undefined && <p class="error">{e['componentIds']}</p>}
          {leaves.length === 0 ? (
            <p class="muted">This page has no component yet.</p>
          ) : (
            leaves.map((c) => {
              const group = c.groupId === null ? undefined : groupName.get(c.groupId)
              return (
                <Checkbox
                  key={c.id}
                  id={`maint-component-${c.id}`}
                  name="componentIds"
                  value={c.id}
                  label={group === undefined ? c.name : `${group} – ${c.name}`}
                  checked={props.componentIds?.includes(c.id) === true}
                />
              )
            })
          )}
        </fieldset>
        <Checkbox
          name="autoStart"
          label="Start automatically"
          hint="At the start time, mark it in progress and put the components under maintenance."
          checked={v['autoStart'] !== 'false'}
          hiddenFalse
        />
        <Checkbox
          name="autoComplete"
          label="Complete automatically"
          hint="At the end time, mark it completed and restore the components."
          checked={v['autoComplete'] !== 'false'}
          hiddenFalse
        />
        <Checkbox
          name="deliverNotifications"
          label="Notify subscribers"
          checked={v['deliverNotifications'] !== 'false'}
          hiddenFalse
        />
        <button type="submit">Schedule maintenance</button>
      </form>
    </StatusPageFrame>
  )
}

// ---------------------------------------------------------------------------------------------
// /incidents/:incidentId
// ---------------------------------------------------------------------------------------------

export type IncidentForm =
  | { kind: 'update' }
  | { kind: 'details' }
  | { kind: 'postmortem' }
  | { kind: 'edit-update'; updateId: string }

export function IncidentDetailPage(props: {
  nav: NavContext
  page: StatusPage
  role: Role
  actorUserId: string
  incident: Incident & { revisions: Revision[] }
  components: Component[]
  notice?: string | undefined
  form?: IncidentForm | undefined
  errors?: Errors | undefined
  values?: Values | undefined
  componentValues?: Values | undefined
  /** The fan-out progress of this incident's notifications. */
  notifications?: ComponentChildren
}) {
  const { page, incident } = props
  const zone = page.timeZone
  const path = incidentPath(incident)
  const isMaintenance = incident.kind === 'maintenance'
  const editable = canEdit(props.role)
  const formIs = (kind: IncidentForm['kind']) => props.form?.kind === kind
  const errorsFor = (kind: IncidentForm['kind']): Errors =>
    formIs(kind) ? (props.errors ?? {}) : {}
  const valuesFor = (kind: IncidentForm['kind']): Values =>
    formIs(kind) ? (props.values ?? {}) : {}
  const ue = errorsFor('update')
  const uv = valuesFor('update')
  const de = errorsFor('details')
  const dv = valuesFor('details')
  const pe = errorsFor('postmortem')
  const pv = valuesFor('postmortem')
  const affectedNames = props.components
    .filter((c) => incident.componentIds.includes(c.id))
    .map((c) => c.name)
  return (
    <StatusPageFrame
      nav={props.nav}
      page={page}
      title={`${isMaintenance ? 'Maintenance' : 'Incident'}: ${incident.name}`}
      tab="incidents"
    >
      {props.notice !== undefined && <Notice kind="success">{props.notice}</Notice>}
      {!editable && <ReadOnlyNotice role={props.role} />}
      <dl class="facts">
        <dt>Status</dt>
        <dd>
          <StatusBadge status={incident.status} />
        </dd>
        {!isMaintenance && (
          <>
            <dt>Impact</dt>
            <dd>{label(incident.impact)}</dd>
          </>
        )}
        {isMaintenance ? (
          <>
            <dt>Window</dt>
            <dd>
              {incident.scheduledFor !== null && (
                <PageTime date={incident.scheduledFor} timeZone={zone} />
              )}{' '}
              →{' '}
              {incident.scheduledUntil !== null && (
                <PageTime date={incident.scheduledUntil} timeZone={zone} />
              )}
            </dd>
            <dt>Automatic</dt>
            <dd>
              Start: {incident.autoStart ? 'yes' : 'no'}; completion:{' '}
              {incident.autoComplete ? 'yes' : 'no'}
            </dd>
          </>
        ) : (
          <>
            <dt>Started</dt>
            <dd>
              <PageTime date={incident.startedAt} timeZone={zone} />
            </dd>
          </>
        )}
        {incident.resolvedAt !== null && (
          <>
            <dt>{isMaintenance ? 'Completed' : 'Resolved'}</dt>
            <dd>
              <PageTime date={incident.resolvedAt} timeZone={zone} />
            </dd>
          </>
        )}
        <dt>Components</dt>
        <dd>{affectedNames.length === 0 ? 'None' : affectedNames.join(', ')}</dd>
      </dl>
      {props.notifications}

      {editable && (
        <section class="card" aria-labelledby="post-update-h">
          <h2 id="post-update-h">Post an update</h2>
          <form method="post" action={`${path}/updates`}>
            <ErrorSummary errors={formIs('update') ? props.errors : undefined} />
            <CsrfField token={props.nav.csrfToken} />
            <Select
              id="update-status"
              name="status"
              label="Status"
              value={uv['status'] ?? incident.status}
              error={ue['status']}
              options={isMaintenance ? maintenanceStatusOptions : incidentStatusOptions}
            />
            <TextArea
              id="update-body"
              name="body"
              label="Message"
              value={uv['body']}
              error={ue['body']}
              hint="Markdown."
              rows={5}
              maxLength={20_000}
              required
            />
            <ComponentStatusFields
              components={props.components}
              values={formIs('update') ? (props.componentValues ?? {}) : {}}
              error={ue['components']}
              highlight={incident.componentIds}
            />
            <p class="hint">
              {isMaintenance
                ? 'Moving to in progress puts the affected components under maintenance and completing restores them, unless you set statuses here.'
                : 'Resolving returns the affected components to operational, unless you set statuses here.'}
            </p>
            <Checkbox
              id="update-notify"
              name="deliverNotifications"
              label="Notify subscribers"
              checked={uv['deliverNotifications'] !== 'false'}
              hiddenFalse
            />
            <BackdateField
              id="update-displayAt"
              page={page}
              value={uv['displayAt']}
              error={ue['displayAt']}
            />
            <button type="submit">Post update</button>
          </form>
        </section>
      )}

      <section aria-labelledby="timeline-h">
        <h2 id="timeline-h">Timeline</h2>
        <ol class="timeline">
          {incident.updates.map((update) => (
            <UpdateItem
              key={update.id}
              update={update}
              page={page}
              editable={editable}
              canDelete={incident.updates.length > 1}
              incidentPath={path}
              csrf={props.nav.csrfToken}
              errors={
                props.form?.kind === 'edit-update' && props.form.updateId === update.id
                  ? (props.errors ?? {})
                  : undefined
              }
              values={
                props.form?.kind === 'edit-update' && props.form.updateId === update.id
                  ? (props.values ?? {})
                  : undefined
              }
            />
          ))}
        </ol>
      </section>

      {editable && (
        <section class="card" aria-labelledby="details-h">
          <h2 id="details-h">Edit {isMaintenance ? 'maintenance' : 'incident'}</h2>
          <form method="post" action={path}>
            <ErrorSummary errors={formIs('details') ? props.errors : undefined} />
            <CsrfField token={props.nav.csrfToken} />
            <Input
              id="details-name"
              name="name"
              label="Title"
              value={dv['name'] ?? incident.name}
              error={de['name']}
              required
              maxLength={200}
            />
            {isMaintenance ? (
              <div class="columns">
                <Input
                  id="details-scheduledFor"
                  name="scheduledFor"
                  label="Starts"
                  type="datetime-local"
                  value={
                    dv['scheduledFor'] ??
                    (incident.scheduledFor === null
                      ? ''
                      : toDateTimeInput(incident.scheduledFor, zone))
                  }
                  error={de['scheduledFor']}
                  hint={`In ${zone}.`}
                  maxLength={40}
                />
                <Input
                  id="details-scheduledUntil"
                  name="scheduledUntil"
                  label="Ends"
                  type="datetime-local"
                  value={
                    dv['scheduledUntil'] ??
                    (incident.scheduledUntil === null
                      ? ''
                      : toDateTimeInput(incident.scheduledUntil, zone))
                  }
                  error={de['scheduledUntil']}
                  hint={`In ${zone}.`}
                  maxLength={40}
                />
              </div>
            ) : (
              <Select
                id="details-impact"
                name="impact"
                label="Impact"
                value={dv['impact'] ?? incident.impact}
                error={de['impact']}
                options={impactOptions}
              />
            )}
            <button type="submit">Save</button>
          </form>
        </section>
      )}

      {!isMaintenance && (
        <section class="card" aria-labelledby="postmortem-h">
          <h2 id="postmortem-h">Postmortem</h2>
          <p>
            {incident.postmortemPublishedAt === null ? (
              'Not published.'
            ) : (
              <>
                Published <PageTime date={incident.postmortemPublishedAt} timeZone={zone} />.
              </>
            )}
          </p>
          {incident.postmortemBody !== null && (
            <div class="postmortem-preview">
              <Markdown text={incident.postmortemBody} />
            </div>
          )}
          {editable && (
            <form method="post" action={`${path}/postmortem`}>
              <ErrorSummary errors={formIs('postmortem') ? props.errors : undefined} />
              <CsrfField token={props.nav.csrfToken} />
              <TextArea
                id="postmortem-body"
                name="body"
                label="Postmortem"
                value={pv['body'] ?? incident.postmortemBody ?? ''}
                error={pe['body']}
                hint="Markdown. What happened, why, and what you are changing."
                rows={10}
                maxLength={50_000}
              />
              <Checkbox
                id="postmortem-publish"
                name="publish"
                label="Publish on the status page"
                checked={
                  pv['publish'] === undefined
                    ? incident.postmortemPublishedAt !== null
                    : pv['publish'] === 'true'
                }
              />
              <button type="submit">Save postmortem</button>
            </form>
          )}
        </section>
      )}

      <section aria-labelledby="audit-h">
        <h2 id="audit-h">Audit trail of updates</h2>
        {incident.revisions.length === 0 ? (
          <p class="muted">No update has been edited or deleted.</p>
        ) : (
          <ol class="revisions">
            {incident.revisions.map((revision) => (
              <li key={revision.id} class="card">
                <p>
                  <strong>{revision.action === 'edited' ? 'Edited' : 'Deleted'}</strong>{' '}
                  <PageTime date={revision.createdAt} timeZone={zone} /> by{' '}
                  {revision.actorUserId === props.actorUserId
                    ? 'you'
                    : `team member ${revision.actorUserId}`}
                  . Before the change, the update (update id {revision.updateId}) read:
                </p>
                <p>
                  <StatusBadge status={revision.previousStatus} /> posted{' '}
                  <PageTime date={revision.previousDisplayAt} timeZone={zone} />
                </p>
                <pre class="code-block">{revision.previousBody}</pre>
              </li>
            ))}
          </ol>
        )}
      </section>

      {roleAllows(props.role, 'incident.delete') && (
        <section class="card danger-zone" aria-labelledby="delete-incident-h">
          <h2 id="delete-incident-h">Delete {isMaintenance ? 'maintenance' : 'incident'}</h2>
          <p>It disappears from the status page and its history. This cannot be undone.</p>
          <form method="post" action={`${path}/delete`}>
            <CsrfField token={props.nav.csrfToken} />
            <button type="submit" class="danger">
              Delete {isMaintenance ? 'maintenance' : 'incident'}
            </button>
          </form>
        </section>
      )}
    </StatusPageFrame>
  )
}

function UpdateItem(props: {
  update: IncidentUpdate
  page: StatusPage
  editable: boolean
  canDelete: boolean
  incidentPath: string
  csrf: string
  errors?: Errors | undefined
  values?: Values | undefined
}) {
  const { update, page } = props
  const zone = page.timeZone
  const action = `${props.incidentPath}/updates/${encodeURIComponent(update.id)}`
  const errors = props.errors ?? {}
  const values = props.values ?? {}
  return (
    <li class="timeline-item" id={`update-${update.id}`}>
      <p>
        <StatusBadge status={update.status} /> <PageTime date={update.displayAt} timeZone={zone} />
        {!update.deliverNotifications && <span class="muted"> · subscribers not notified</span>}
        {update.updatedAt.getTime() !== update.createdAt.getTime() && (
          <span class="muted"> · edited</span>
        )}
      </p>
      <Markdown text={update.body} />
      {update.affectedComponents !== null && update.affectedComponents.length > 0 && (
        <ul class="affected">
          {update.affectedComponents.map((a) => (
            <li key={a.code}>
              {a.name}: {label(a.oldStatus)} → {label(a.newStatus)}
            </li>
          ))}
        </ul>
      )}
      {props.editable && (
        <div class="update-actions">
          <details open={props.errors !== undefined}>
            <summary>Edit this update</summary>
            <form method="post" action={action}>
              <ErrorSummary errors={props.errors} />
              <CsrfField token={props.csrf} />
              <TextArea
                id={`edit-body-${update.id}`}
                name="body"
                label="Message"
                value={values['body'] ?? update.body}
                error={errors['body']}
                rows={4}
                maxLength={20_000}
                required
              />
              <Input
                id={`edit-displayAt-${update.id}`}
                name="displayAt"
                label="Shown as posted at"
                type="datetime-local"
                value={values['displayAt'] ?? toDateTimeInput(update.displayAt, zone)}
                error={errors['displayAt']}
                hint={`In ${zone}.`}
                maxLength={40}
              />
              <button type="submit">Save update</button>
            </form>
          </details>
          {props.canDelete && (
            <form method="post" action={`${action}/delete`} class="inline-form">
              <CsrfField token={props.csrf} />
              <button type="submit" class="danger small">
                Delete this update
              </button>
            </form>
          )}
        </div>
      )}
    </li>
  )
}

// ---------------------------------------------------------------------------------------------
// /pages/:pageId/templates
// ---------------------------------------------------------------------------------------------

function TemplateFields(props: { values: Values; errors: Errors; idPrefix: string }) {
  const { values: v, errors: e } = props
  const id = (name: string) => `${props.idPrefix}${name}`
  return (
    <>
      <Input
        id={id('name')}
        name="name"
        label="Template name"
        value={v['name']}
        error={e['name']}
        required
        maxLength={100}
      />
      <Input
        id={id('title')}
        name="title"
        label="Incident title"
        value={v['title']}
        error={e['title']}
        required
        maxLength={200}
      />
      <div class="columns">
        <Select
          id={id('status')}
          name="status"
          label="Status"
          value={v['status'] ?? 'investigating'}
          error={e['status']}
          options={incidentStatusOptions}
        />
        <Select
          id={id('impact')}
          name="impact"
          label="Impact"
          value={v['impact'] ?? 'minor'}
          error={e['impact']}
          options={impactOptions}
        />
      </div>
      <TextArea
        id={id('body')}
        name="body"
        label="Message"
        value={v['body']}
        error={e['body']}
        hint="Markdown."
        rows={5}
        maxLength={20_000}
        required
      />
    </>
  )
}

export function TemplatesPage(props: {
  nav: NavContext
  page: StatusPage
  role: Role
  templates: IncidentTemplate[]
  notice?: string | undefined
  errors?: Errors | undefined
  values?: Values | undefined
}) {
  const { page } = props
  const base = `/pages/${encodeURIComponent(page.id)}/templates`
  const editable = canEdit(props.role)
  return (
    <StatusPageFrame
      nav={props.nav}
      page={page}
      title={`Incident templates · ${page.name}`}
      tab="templates"
    >
      {props.notice !== undefined && <Notice kind="success">{props.notice}</Notice>}
      {!editable && <ReadOnlyNotice role={props.role} />}
      <p>Templates pre-fill the form when you open an incident.</p>
      {props.templates.length === 0 ? (
        <p class="muted">No template yet.</p>
      ) : (
        <table>
          <caption>Templates</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Incident title</th>
              <th scope="col">Status and impact</th>
              {editable && (
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              )}
            </tr>
          </thead>
          <tbody>
            {props.templates.map((t) => (
              <tr key={t.id}>
                <td>
                  <a href={`${base}/${encodeURIComponent(t.id)}`}>{t.name}</a>
                </td>
                <td>{t.title}</td>
                <td>
                  {label(t.status)}, {label(t.impact)}
                </td>
                {editable && (
                  <td class="row-actions">
                    <a
                      href={`/pages/${encodeURIComponent(page.id)}/incidents/new?template=${encodeURIComponent(t.id)}`}
                    >
                      Use
                    </a>
                    <form
                      method="post"
                      action={`${base}/${encodeURIComponent(t.id)}/delete`}
                      class="inline-form"
                    >
                      <CsrfField token={props.nav.csrfToken} />
                      <button type="submit" class="danger small" aria-label={`Delete ${t.name}`}>
                        Delete
                      </button>
                    </form>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {editable && (
        <section class="card" aria-labelledby="new-template-h">
          <h2 id="new-template-h">New template</h2>
          <form method="post" action={base}>
            <ErrorSummary errors={props.errors} />
            <CsrfField token={props.nav.csrfToken} />
            <TemplateFields values={props.values ?? {}} errors={props.errors ?? {}} idPrefix="" />
            <button type="submit">Save template</button>
          </form>
        </section>
      )}
    </StatusPageFrame>
  )
}

export function TemplateEditPage(props: {
  nav: NavContext
  page: StatusPage
  role: Role
  template: IncidentTemplate
  errors?: Errors | undefined
  values?: Values | undefined
}) {
  const { page, template } = props
  const base = `/pages/${encodeURIComponent(page.id)}/templates`
  const values: Values = {
    name: template.name,
    title: template.title,
    status: template.status,
    impact: template.impact,
    body: template.body,
    ...props.values,
  }
  return (
    <StatusPageFrame
      nav={props.nav}
      page={page}
      title={`Template: ${template.name}`}
      tab="templates"
    >
      {canEdit(props.role) ? (
        <form method="post" action={`${base}/${encodeURIComponent(template.id)}`} class="card">
          <ErrorSummary errors={props.errors} />
          <CsrfField token={props.nav.csrfToken} />
          <TemplateFields values={values} errors={props.errors ?? {}} idPrefix="" />
          <div class="actions">
            <button type="submit">Save template</button>
            <a href={base}>Cancel</a>
          </div>
        </form>
      ) : (
        <>
          <ReadOnlyNotice role={props.role} />
          <dl class="facts">
            <dt>Incident title</dt>
            <dd>{template.title}</dd>
            <dt>Status and impact</dt>
            <dd>
              {label(template.status)}, {label(template.impact)}
            </dd>
          </dl>
          <Markdown text={template.body} />
        </>
      )}
    </StatusPageFrame>
  )
}
