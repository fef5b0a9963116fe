import type { Migration } from 'kysely/migration'
import * as foundation from './20261125T0100-foundation.js'
import * as statusPages from './20261125T0200-status-pages.js'
import * as subscribers from './20261125T0300-subscribers.js'
import * as apiKeys from './20261125T0400-api-keys.js'
import * as alerts from './20261125T0500-alerts.js'
import * as auditLog from './20261125T0600-audit-log.js'
import * as identity from './20261125T0700-identity.js'

/** Every migration, in order. Listed statically so the compiled bundle needs no directory scan. */
export const migrations: Record<string, Migration> = {
  '20261125T0100-foundation': foundation,
  '20261125T0200-status-pages': statusPages,
  '20261125T0300-subscribers': subscribers,
  '20261125T0400-api-keys': apiKeys,
  '20261125T0500-alerts': alerts,
  '20261125T0600-audit-log': auditLog,
  '20261125T0700-identity': identity,
}
