import type { ApiKey } from '../../domain/api-keys/api-key-service.js'
import { CsrfField, Field, Notice, Page, type NavContext } from './layout.js'
import { Checkbox } from './page-views.js'

type Errors = Readonly<Record<string, string>>

export interface ApiKeyFormValues {
  name: string
  scope: string
  pageIds: readonly string[]
  expiresAt: string
}

export const EMPTY_API_KEY_FORM: ApiKeyFormValues = {
  name: '',
  scope: 'read',
  pageIds: [],
  expiresAt: '',
}

function formatTime(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`
}

function Time({ date }: { date: Date }) {
  return <time dateTime={date.toISOString()}>{formatTime(date)}</time>
}

function keyState(key: ApiKey, now: Date): 'active' | 'revoked' | 'expired' {
  if (key.revokedAt !== null) return 'revoked'
  if (key.expiresAt !== null && key.expiresAt.getTime() <= now.getTime()) return 'expired'
  return 'active'
}

/** The new key, shown in the answer to the form that made it and never again. */
function NewKeyNotice({ secret, apiUrl }: { secret: string; apiUrl: string }) {
  return (
    <Notice kind="info">
      <p>
        <strong>Copy this API key now: it is not shown again.</strong> Candor keeps only a hash of
        it. Store it in your secret manager; if it is lost, revoke it and create another.
      </p>
      <pre class="code-block secret">{secret}</pre>
      <p>Try it:</p>
      <pre class="code-block">{`curl -H "Authorization: OAuth ${secret}" ${apiUrl}/pages`}</pre>
    </Notice>
  )
}

export function ApiKeysPage(props: {
  nav: NavContext
  accountId: string
  keys: readonly ApiKey[]
  pages: readonly { id: string; name: string }[]
  /** userId → name, for "created by". */
  people: ReadonlyMap<string, string>
  now: Date
  apiUrl: string
  values?: ApiKeyFormValues | undefined
  errors?: Errors | undefined
  created?: { key: ApiKey; secret: string } | undefined
  notice?: string | undefined
}) {
  const base = `/a/${encodeURIComponent(props.accountId)}/api-keys`
  const values = props.values ?? EMPTY_API_KEY_FORM
  const errors = props.errors ?? {}
  const pageName = (id: string) => props.pages.find((p) => p.id === id)?.name ?? id
  return (
    <Page title="API keys" nav={props.nav}>
      {props.created !== undefined && (
        <NewKeyNotice secret={props.created.secret} apiUrl={props.apiUrl} />
      )}
      {props.notice !== undefined && <Notice kind="success">{props.notice}</Notice>}
      {Object.keys(errors).length > 0 && (
        <Notice kind="error">The key was not created: see the form below.</Notice>
      )}
      <p>
        Keys for the management API at <code>{props.apiUrl}</code> (
        <a href={`/a/${encodeURIComponent(props.accountId)}/api-reference`}>API reference</a>). A
        key acts as the person who created it, with that person's role of the moment: a{' '}
        <strong>read</strong> key at most as a viewer, a <strong>write</strong> key at most as an
        admin. A key limited to some pages sees nothing of the others.
      </p>
      {props.keys.length === 0 ? (
        <p>No API key yet.</p>
      ) : (
        <table class="api-keys">
          <caption>API keys of this account</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Key</th>
              <th scope="col">Scope</th>
              <th scope="col">Pages</th>
              <th scope="col">Created</th>
              <th scope="col">Expires</th>
              <th scope="col">Last used</th>
              <th scope="col">State</th>
            </tr>
          </thead>
          <tbody>
            {props.keys.map((key) => {
              const state = keyState(key, props.now)
              return (
                <tr key={key.id} data-key={key.id}>
                  <td>{key.name}</td>
                  <td>
                    <code>{key.prefix}…</code>
                  </td>
                  <td>{key.scope}</td>
                  <td>
                    {key.pageIds === null ? 'All pages' : key.pageIds.map(pageName).join(', ')}
                  </td>
                  <td>
                    <Time date={key.createdAt} />
                    <br />
                    <span class="muted">
                      by {props.people.get(key.createdBy) ?? 'a former member'}
                    </span>
                  </td>
                  <td>{key.expiresAt === null ? 'Never' : <Time date={key.expiresAt} />}</td>
                  <td>
                    {key.lastUsedAt === null ? (
                      'Never'
                    ) : (
                      <>
                        <Time date={key.lastUsedAt} />
                        {key.lastUsedIp !== null && (
                          <>
                            <br />
                            <span class="muted">from {key.lastUsedIp}</span>
                          </>
                        )}
                      </>
                    )}
                  </td>
                  <td>
                    {state === 'revoked' && key.revokedAt !== null ? (
                      <>
                        Revoked <Time date={key.revokedAt} />
                      </>
                    ) : state === 'expired' ? (
                      'Expired'
                    ) : (
                      <form
                        method="post"
                        action={`${base}/${encodeURIComponent(key.id)}/revoke`}
                        class="inline-form"
                      >
                        <CsrfField token={props.nav.csrfToken} />
                        Active{' '}
                        <button type="submit" class="danger small">
                          Revoke<span class="visually-hidden"> {key.name}</span>
                        </button>
                      </form>
                    )}
                  </td>
                </tr>
              )
            })}
          </tbody>
        </table>
      )}
      <section class="card narrow" aria-labelledby="new-key-h">
        <h2 id="new-key-h">Create an API key</h2>
        <form method="post" action={base}>
          <CsrfField token={props.nav.csrfToken} />
          <Field
            name="name"
            label="Name"
            value={values.name}
            error={errors['name']}
            hint="What uses it, e.g. Deploy pipeline."
            maxLength={100}
          />
          <div class={errors['scope'] === undefined ? 'field' : 'field invalid'}>
            <label for="field-scope">Scope</label>
            <p class="hint" id="field-scope-hint">
              Read: look at everything (as a viewer). Write: change pages, components, incidents and
              subscribers (as an editor or admin, never more than your own role).
            </p>
            {errors['scope'] !== undefined && (
              <p class="error" id="field-scope-error">
                {errors['scope']}
              </p>
            )}
            <select
              id="field-scope"
              name="scope"
              aria-describedby={
                errors['scope'] === undefined
                  ? 'field-scope-hint'
                  : 'field-scope-hint field-scope-error'
              }
            >
              <option value="read" selected={values.scope !== 'write'}>
                Read
              </option>
              <option value="write" selected={values.scope === 'write'}>
                Write
              </option>
            </select>
          </div>
          {props.pages.length > 0 && (
            <fieldset class={errors['pageIds'] === undefined ? 'components' : 'components invalid'}>
              <legend>Pages</legend>
              <p class="hint">None ticked: every page of the account, those created later too.</p>
              {errors['pageIds'] !== undefined && <p class="error">{errors['pageIds']}</p>}
              <div class="columns">
                {props.pages.map((page) => (
                  <Checkbox
                    key={page.id}
                    id={`page-${page.id}`}
                    name="pageIds"
                    value={page.id}
                    label={page.name}
                    checked={values.pageIds.includes(page.id)}
                  />
                ))}
              </div>
            </fieldset>
          )}
          <div class={errors['expiresAt'] === undefined ? 'field' : 'field invalid'}>
            <label for="field-expiresAt">Expires on (optional)</label>
            <p class="hint" id="field-expiresAt-hint">
              The key stops working at 00:00 UTC that day. Empty: it works until it is revoked.
            </p>
            {errors['expiresAt'] !== undefined && (
              <p class="error" id="field-expiresAt-error">
                {errors['expiresAt']}
              </p>
            )}
            <input
              type="date"
              id="field-expiresAt"
              name="expiresAt"
              value={values.expiresAt}
              aria-invalid={errors['expiresAt'] === undefined ? undefined : 'true'}
              aria-describedby={
                errors['expiresAt'] === undefined
                  ? 'field-expiresAt-hint'
                  : 'field-expiresAt-hint field-expiresAt-error'
              }
            />
          </div>
          <button type="submit">Create API key</button>
        </form>
      </section>
    </Page>
  )
}
