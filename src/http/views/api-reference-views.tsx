import type {
  ApiReference,
  ReferenceField,
  ReferenceOperation,
  ReferenceType,
} from '../admin/api-reference.js'
import { anchorFor } from '../admin/api-reference.js'
import { Page, type NavContext } from './layout.js'

/** Text with `code` spans, as the document's descriptions write them. */
function Prose({ text }: { text: string }) {
  return <>{text.split('`').map((part, i) => (i % 2 === 1 ? <code key={i}>{part}</code> : part))}</>
}

function TypeText({ type }: { type: ReferenceType }) {
  if (type.ref === undefined) return <code>{type.text}</code>
  return (
    <a href={`#${anchorFor('schema', type.ref)}`}>
      <code>{type.text}</code>
    </a>
  )
}

function FieldsTable({
  caption,
  fields,
  showIn,
}: {
  caption: string
  fields: readonly (ReferenceField & { in?: string })[]
  showIn?: boolean
}) {
  return (
    <table class="api-fields">
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Name</th>
          {showIn === true && <th scope="col">In</th>}
          <th scope="col">Type</th>
          <th scope="col">Required</th>
          <th scope="col">Notes</th>
        </tr>
      </thead>
      <tbody>
        {fields.map((field) => (
          <tr key={`${field.in ?? ''}:${field.name}`}>
            <th scope="row">
              <code>{field.name}</code>
            </th>
            {showIn === true && <td>{field.in}</td>}
            <td>
              <TypeText type={field.type} />
            </td>
            <td>{field.required ? 'yes' : 'no'}</td>
            <td>
              <Prose text={field.notes.join('; ')} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

function Operation({ op }: { op: ReferenceOperation }) {
  return (
    <section class="api-operation" id={op.anchor} aria-labelledby={`${op.anchor}-h`}>
      <h3 id={`${op.anchor}-h`}>
        <span class={`http-method http-${op.method.toLowerCase()}`}>{op.method}</span>{' '}
        <code class="api-path">{op.path}</code>
      </h3>
      {op.summary !== '' && (
        <p>
          <Prose text={op.summary} />
        </p>
      )}
      {op.parameters.length > 0 && (
        <FieldsTable caption="Parameters" fields={op.parameters} showIn />
      )}
      {op.body.length > 0 && <FieldsTable caption="Request body (JSON)" fields={op.body} />}
      <table class="api-responses">
        <caption>Responses</caption>
        <thead>
          <tr>
            <th scope="col">Status</th>
            <th scope="col">Body</th>
            <th scope="col">Meaning</th>
          </tr>
        </thead>
        <tbody>
          {op.responses.map((response) => (
            <tr key={response.status}>
              <th scope="row">{response.status}</th>
              <td>
                {response.type === undefined || response.type.text === 'null' ? (
                  'none'
                ) : (
                  <TypeText type={response.type} />
                )}
              </td>
              <td>
                <Prose text={response.meaning} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  )
}

export function ApiReferencePage({
  nav,
  reference,
  accountId,
}: {
  nav: NavContext
  reference: ApiReference
  accountId: string
}) {
  return (
    <Page title="API reference" nav={nav}>
      <p>
        {reference.title} {reference.version}. Base URL: <code>{reference.serverUrl}</code>.
      </p>
      <p>
        <Prose text={reference.description} />
      </p>
      <p>
        Requests and answers are JSON; lists take <code>page</code> and <code>per_page</code> (at
        most 100) and answer with <code>Link</code> and <code>X-Total-Count</code> headers. A POST
        with an <code>Idempotency-Key</code> header is answered once: the same key and body replay
        the first answer for 24 hours. The machine-readable document is at{' '}
        <a href="/api/v1/openapi.json">/api/v1/openapi.json</a> (OpenAPI 3.1). Keys are made by
        admins and owners under{' '}
        <a href={`/a/${encodeURIComponent(accountId)}/api-keys`}>API keys</a>.
      </p>
      <nav class="api-toc" aria-label="Resources">
        <ul>
          {reference.groups.map((group) => (
            <li key={group.anchor}>
              <a href={`#${group.anchor}`}>{group.tag}</a>
              <ul>
                {group.operations.map((op) => (
                  <li key={op.anchor}>
                    <a href={`#${op.anchor}`}>
                      <span class={`http-method http-${op.method.toLowerCase()}`}>{op.method}</span>{' '}
                      <code>{op.path}</code>
                    </a>
                  </li>
                ))}
              </ul>
            </li>
          ))}
          <li>
            <a href="#objects">Objects</a>
          </li>
        </ul>
      </nav>
      {reference.groups.map((group) => (
        <section
          class="api-group"
          key={group.anchor}
          id={group.anchor}
          aria-labelledby={`${group.anchor}-h`}
        >
          <h2 id={`${group.anchor}-h`}>{group.tag}</h2>
          {group.operations.map((op) => (
            <Operation key={op.anchor} op={op} />
          ))}
        </section>
      ))}
      <section class="api-group" id="objects" aria-labelledby="objects-h">
        <h2 id="objects-h">Objects</h2>
        {reference.objects.map((object) => (
          <section
            class="api-operation"
            key={object.anchor}
            id={object.anchor}
            aria-labelledby={`${object.anchor}-h`}
          >
            <h3 id={`${object.anchor}-h`}>{object.name}</h3>
            <FieldsTable caption={`Fields of ${object.name}`} fields={object.fields} />
          </section>
        ))}
      </section>
    </Page>
  )
}
