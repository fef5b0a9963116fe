import type { Migration } from 'kysely/migration'
import * as foundation from './20261125T0100-foundation.js'
import * as statusPages from './20261125T0200-status-pages.js'
import * as subscribers from './20261125T0300-subscribers.js'

/** Every migration, in order. Listed statically so the compiled bundle needs no directory scan. */
export const migrations: Record<string, Migration> = {
  '20261125T0100-foundation': foundation,
  '20261125T0200-status-pages': statusPages,
  '20261125T0300-subscribers': subscribers,
}
