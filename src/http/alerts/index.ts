import { registerAlertAdminRoutes } from '../admin/alert-routes.js'
import type { App, ServerDeps } from '../app-type.js'
import { registerInboundAlertRoutes } from './inbound-routes.js'

/** Inbound alerts (`/api/alerts/<token>`) and the dashboard's Alerts tab and incident drafts. */
export function registerAlerts(app: App, deps: ServerDeps): void {
  registerInboundAlertRoutes(app, deps)
  registerAlertAdminRoutes(app, deps)
}
