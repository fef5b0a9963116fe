import type { Problem } from '../problem.js'
import { Page } from './layout.js'

export function ErrorPage({ problem }: { problem: Problem }) {
  return (
    <Page title={problem.title}>
      <p>{problem.detail}</p>
      {problem.errors !== undefined && (
        <ul>
          {Object.entries(problem.errors).map(([field, message]) => (
            <li key={field}>
              {field}: {message}
            </li>
          ))}
        </ul>
      )}
      <p>
        <a href="/dashboard">Go to the dashboard</a>
      </p>
      <p class="muted">Reference: {problem.requestId}</p>
    </Page>
  )
}
