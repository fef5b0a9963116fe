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
      {problem.code === 'two_factor_required' && (
        <ul>
          <li>
            <a href="/profile/security">Set up an authenticator app or a passkey</a>
          </li>
          <li>
            <a href="/reauthenticate?next=%2Fdashboard">
              Already set up? Confirm with your second factor
            </a>
          </li>
        </ul>
      )}
      <p>
        <a href="/dashboard">Go to the dashboard</a>
      </p>
      <p class="muted">Reference: {problem.requestId}</p>
    </Page>
  )
}
