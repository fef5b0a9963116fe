import type { Actor } from '../actor.js'
import type { Clock } from '../clock.js'
import { ForbiddenError } from '../errors.js'

/** How long a proof of identity (password, second factor, passkey) counts for sensitive actions. */
export const REAUTHENTICATION_WINDOW_MS = 10 * 60_000

export const REAUTHENTICATION_REQUIRED = 'reauthentication_required'

/**
 * Sensitive actions (ownership transfer, turning SSO enforcement or two-factor off, removing a
 * second factor, deleting an account or a page…) ask the person to prove who they are again when
 * their last proof is older than a few minutes, so an unattended browser cannot do them. Actors
 * without a dashboard session (Candor's own commands) are not asked; API keys never reach these
 * actions (they need the owner in person).
 */
export function requireRecentAuthentication(actor: Actor, clock: Clock): void {
  const session = actor.session
  if (session === undefined) return
  if (clock.now().getTime() - session.authenticatedAt.getTime() <= REAUTHENTICATION_WINDOW_MS)
    return
  throw new ForbiddenError(
    'For your security, confirm it is you before doing this.',
    REAUTHENTICATION_REQUIRED,
  )
}
