import type { AlertService } from '../domain/alerts/alert-service.js'
import type { PeriodicJob } from './worker.js'

/**
 * The built-in HTTP checks and the pruning of old resolved alerts. Checks are claimed one by one
 * with a conditional update, so any number of workers can run this job at once.
 */
export function alertJobs(
  alerts: Pick<AlertService, 'runDueChecks' | 'pruneResolvedAlerts'>,
): PeriodicJob[] {
  return [
    // Checks run at least every 30 s: a 10 s tick keeps each within a third of its interval.
    { name: 'http-checks', intervalMs: 10_000, run: () => alerts.runDueChecks() },
    {
      name: 'prune-resolved-alerts',
      intervalMs: 60 * 60_000,
      run: () => alerts.pruneResolvedAlerts(),
    },
  ]
}
