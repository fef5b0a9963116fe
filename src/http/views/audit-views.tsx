import type { AuditEntryView, AuditFilter, AuditHead } from '../../domain/audit/audit-service.js'
import type { ChainReport } from '../../domain/audit/audit-verify.js'
import { CsrfField, Notice, Page, type NavContext } from './layout.js'

type Errors = Readonly<Record<string, string>>

export interface AuditFilterOptions {
  actors: { userId: string; label: string }[]
  targetTypes: string[]
  actions: string[]
}

/** The filter as the form's field names and values (the empty ones left out). */
function filterFields(filter: AuditFilter): [string, string][] {
  const fields: [string, string | undefined][] = [
    ['action', filter.action],
    ['actor', filter.actorUserId],
    ['targetType', filter.targetType],
    ['targetId', filter.targetId],
    ['from', filter.from],
    ['to', filter.to],
  ]
  return fields.flatMap(([name, value]) => (value === undefined ? [] : [[name, value]]))
}

/** The filter's query string, as the form sends it (for pagination links). */
export function auditQuery(filter: AuditFilter, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams(filterFields(filter))
  for (const [name, value] of Object.entries(extra)) params.set(name, value)
  const text = params.toString()
  return text === '' ? '' : `?${text}`
}

export function AuditLogPage(props: {
  nav: NavContext
  accountId: string
  filter: AuditFilter
  /** The raw form values, shown back when they were not valid. */
  values: Record<string, string | undefined>
  options: AuditFilterOptions
  entries: AuditEntryView[]
  nextBefore: number | null
  paged: boolean
  head: AuditHead | null
  errors?: Errors | undefined
  verification?: ChainReport | null | undefined
}) {
  const base = `/a/${encodeURIComponent(props.accountId)}/audit`
  const errors = props.errors ?? {}
  const value = (name: string) => props.values[name] ?? ''
  return (
    <Page title="Audit log" nav={props.nav}>
      <p>
        Every privileged action in this account, newest first: who did it, from where and when.
        Entries cannot be changed or deleted, and each one is chained to the one before it by a
        SHA-256 hash, so a change made behind Candor&apos;s back breaks the chain.
      </p>
      {props.verification !== undefined && <VerificationNotice report={props.verification} />}
      <section class="card" aria-labelledby="audit-filter-h">
        <h2 id="audit-filter-h">Filter</h2>
        <form method="get" action={base}>
          <div class="columns">
            <div class={errors['action'] === undefined ? 'field' : 'field invalid'}>
              <label for="audit-action">Action starts with</label>
              {errors['action'] !== undefined && <p class="error">{errors['action']}</p>}
              <input
                id="audit-action"
                name="action"
                type="text"
                list="audit-actions"
                value={value('action')}
                maxLength={64}
                placeholder="incident."
              />
              <datalist id="audit-actions">
                {props.options.actions.map((action) => (
                  <option key={action} value={action} />
                ))}
              </datalist>
            </div>
            <div class={errors['actor'] === undefined ? 'field' : 'field invalid'}>
              <label for="audit-actor">Person</label>
              {errors['actor'] !== undefined && <p class="error">{errors['actor']}</p>}
              <select id="audit-actor" name="actor">
                <option value="">Anyone</option>
                {props.options.actors.map((actor) => (
                  <option
                    key={actor.userId}
                    value={actor.userId}
                    selected={value('actor') === actor.userId}
                  >
                    {actor.label}
                  </option>
                ))}
              </select>
            </div>
            <div class={errors['targetType'] === undefined ? 'field' : 'field invalid'}>
              <label for="audit-target-type">Target type</label>
              {errors['targetType'] !== undefined && <p class="error">{errors['targetType']}</p>}
              <select id="audit-target-type" name="targetType">
                <option value="">Any</option>
                {props.options.targetTypes.map((type) => (
                  <option key={type} value={type} selected={value('targetType') === type}>
                    {type}
                  </option>
                ))}
              </select>
            </div>
            <div class={errors['targetId'] === undefined ? 'field' : 'field invalid'}>
              <label for="audit-target-id">Target id</label>
              {errors['targetId'] !== undefined && <p class="error">{errors['targetId']}</p>}
              <input
                id="audit-target-id"
                name="targetId"
                type="text"
                value={value('targetId')}
                maxLength={64}
              />
            </div>
            <div class={errors['from'] === undefined ? 'field' : 'field invalid'}>
              <label for="audit-from">From (UTC)</label>
              {errors['from'] !== undefined && <p class="error">{errors['from']}</p>}
              <input id="audit-from" name="from" type="date" value={value('from')} />
            </div>
            <div class={errors['to'] === undefined ? 'field' : 'field invalid'}>
              <label for="audit-to">To (UTC, inclusive)</label>
              {errors['to'] !== undefined && <p class="error">{errors['to']}</p>}
              <input id="audit-to" name="to" type="date" value={value('to')} />
            </div>
          </div>
          <div class="actions">
            <button type="submit">Filter</button>
            <a class="button secondary" href={base}>
              Clear
            </a>
          </div>
        </form>
      </section>

      <div class="actions">
        <form method="post" action={`${base}/export`} class="inline-form">
          <CsrfField token={props.nav.csrfToken} />
          <HiddenFilter filter={props.filter} />
          <button type="submit" name="format" value="csv" class="secondary">
            Export CSV
          </button>{' '}
          <button type="submit" name="format" value="json" class="secondary">
            Export JSON
          </button>
        </form>
        <form method="post" action={`${base}/verify`} class="inline-form">
          <CsrfField token={props.nav.csrfToken} />
          <button type="submit" class="secondary">
            Verify the chain
          </button>
        </form>
      </div>
      <p class="muted">
        Exports contain the entries that match the filter, oldest first, with their hashes; the
        export itself is recorded here.
        {props.head !== null && (
          <>
            {' '}
            Latest entry: #{props.head.seq}, hash <code>{props.head.hash}</code>.
          </>
        )}
      </p>

      {props.entries.length === 0 ? (
        <p>{props.paged ? 'No older entries.' : 'No entries match.'}</p>
      ) : (
        <table class="audit">
          <caption>Entries</caption>
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">Time (UTC)</th>
              <th scope="col">Who</th>
              <th scope="col">Action</th>
              <th scope="col">Target</th>
              <th scope="col">From</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {props.entries.map((entry) => (
              <tr key={entry.id}>
                <td>{entry.seq}</td>
                <td>
                  <time dateTime={entry.createdAt.toISOString()}>
                    {entry.createdAt.toISOString().slice(0, 19).replace('T', ' ')}
                  </time>
                </td>
                <td>
                  <Who entry={entry} />
                </td>
                <td>
                  <code>{entry.action}</code>
                </td>
                <td>
                  {entry.target === null ? (
                    <span class="muted">none</span>
                  ) : (
                    <>
                      {entry.target.type} <code>{entry.target.id}</code>
                    </>
                  )}
                </td>
                <td>
                  {entry.ip ?? <span class="muted">unknown</span>}
                  {entry.userAgent !== null && (
                    <>
                      <br />
                      <span class="muted">{entry.userAgent}</span>
                    </>
                  )}
                </td>
                <td>
                  {Object.keys(entry.details).length === 0 ? (
                    ''
                  ) : (
                    <code>{JSON.stringify(entry.details)}</code>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <nav class="actions" aria-label="Pages of the audit log">
        {props.paged && <a href={`${base}${auditQuery(props.filter)}`}>Newest entries</a>}
        {props.nextBefore !== null && (
          <a href={`${base}${auditQuery(props.filter, { before: String(props.nextBefore) })}`}>
            Older entries
          </a>
        )}
      </nav>
    </Page>
  )
}

function Who({ entry }: { entry: AuditEntryView }) {
  const { actor } = entry
  if (actor.type === 'system') return <span class="muted">Candor (system)</span>
  if (actor.type === 'anonymous') return <span class="muted">Not signed in</span>
  const person =
    actor.name === undefined ? (
      <>
        Deleted user <code>{actor.userId}</code>
      </>
    ) : (
      <>
        {actor.name}
        <br />
        <span class="muted">{actor.email}</span>
      </>
    )
  return actor.type === 'api_key' ? (
    <>
      {person}
      <br />
      <span class="muted">
        with API key <code>{actor.apiKeyId}</code>
      </span>
    </>
  ) : (
    person
  )
}

function HiddenFilter({ filter }: { filter: AuditFilter }) {
  return (
    <>
      {filterFields(filter).map(([name, value]) => (
        <input key={name} type="hidden" name={name} value={value} />
      ))}
    </>
  )
}

function VerificationNotice({ report }: { report: ChainReport | null }) {
  if (report === null) return <Notice kind="info">The audit log of this account is empty.</Notice>
  if (report.broken === null)
    return (
      <Notice kind="success">
        The chain verifies: {report.entries} entries, the latest with hash{' '}
        <code>{report.headHash}</code>.
      </Notice>
    )
  return (
    <Notice kind="error">
      The chain is broken{' '}
      {report.broken.seq === null ? 'at its head' : `at entry #${String(report.broken.seq)}`}:{' '}
      {report.broken.reason}. Someone changed the audit log outside Candor; tell the operator of
      this installation.
    </Notice>
  )
}
