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
  // A session an account's IdP opened reaches that account only; it must not change the person's
  // own sign-in (add a passkey, an authenticator app) nor take owner-level decisions.
  if (session.ssoAccountId !== null)
    throw new ForbiddenError(
      'Sign in with your own password to do this: single sign-on sessions cannot.',
      'sso_session_not_allowed',
    )
  if (clock.now().getTime() - session.authenticatedAt.getTime() <= REAUTHENTICATION_WINDOW_MS)
    return
  throw new ForbiddenError(
    'For your security, confirm it is you before doing this.',
    REAUTHENTICATION_REQUIRED,
  )
}
