import type { Membership } from './accounts/membership-repository.js'
import { hasRoleAtLeast, type Role } from './roles.js'

/**
 * Who may do what: the one declaration the services enforce (through `authorize` and
 * `requirePageRole`) and the permission matrix test checks every dashboard route against.
 *
 * - `minimum`: the smallest role, or `nominated` (the owner, or a member nominated with "can
 *   invite"; a nominated viewer qualifies, an admin without the nomination does not).
 * - `access`: what an API key needs where the role alone does not say it (see `requireRole`).
 * - `recentSignIn`: the owner must also have signed in or re-authenticated recently.
 * - `self`: any member acts on their own membership (leaving, answering a transfer); the service
 *   then checks that the subject is the actor.
 */
export interface Rule {
  readonly minimum: Requirement
  readonly access?: 'read' | 'write'
  readonly recentSignIn?: true
  readonly self?: true
}

export type Requirement = Role | 'nominated'

export const POLICY = {
  'account.read': { minimum: 'viewer' },
  'account.rename': { minimum: 'admin' },
  'account.delete': { minimum: 'owner', recentSignIn: true },
  /** Turning the requirement off also needs a recent sign-in (the service asks). */
  'account.two-factor': { minimum: 'owner' },
  'mailbox.read': { minimum: 'owner' },

  'team.read': { minimum: 'viewer' },
  'team.invite': { minimum: 'nominated', access: 'write' },
  'team.remove': { minimum: 'nominated', access: 'write' },
  'team.update-member': { minimum: 'admin' },
  'team.leave': { minimum: 'viewer', access: 'write', self: true },
  'team.transfer': { minimum: 'owner', recentSignIn: true },
  'team.transfer-answer': { minimum: 'viewer', access: 'write', self: true },

  'audit.read': { minimum: 'admin', access: 'read' },
  'api-key.manage': { minimum: 'admin' },
  'sso.read': { minimum: 'admin', access: 'read' },
  /** One connection's settings; unlike the overview, a read API key does not reach them. */
  'sso.read-connection': { minimum: 'admin' },
  'sso.write': { minimum: 'admin' },

  'page.read': { minimum: 'viewer' },
  'page.create': { minimum: 'editor' },
  'page.update': { minimum: 'editor' },
  'page.access': { minimum: 'admin' },
  'page.delete': { minimum: 'owner' },

  'component.read': { minimum: 'viewer' },
  'component.write': { minimum: 'editor' },

  'incident.read': { minimum: 'viewer' },
  'incident.write': { minimum: 'editor' },
  'incident.delete': { minimum: 'admin' },
  'template.read': { minimum: 'viewer' },
  'template.write': { minimum: 'editor' },

  'subscriber.read': { minimum: 'editor' },
  'subscriber.write': { minimum: 'editor' },
  'subscriber.settings': { minimum: 'admin' },
  'notification.read': { minimum: 'viewer' },
  'notification.opt-out': { minimum: 'viewer', self: true },
  'notification.retry': { minimum: 'editor' },

  'alert.read': { minimum: 'editor' },
  'alert.write': { minimum: 'admin' },
  'check.read': { minimum: 'editor' },
  'check.write': { minimum: 'admin' },
  'draft.read': { minimum: 'viewer' },
  'draft.write': { minimum: 'editor' },
} as const satisfies Record<string, Rule>

export type PolicyAction = keyof typeof POLICY

/** Actions decided by the role alone, as the page-scoped checks need. */
export type RoleAction = {
  [A in PolicyAction]: (typeof POLICY)[A]['minimum'] extends Role ? A : never
}[PolicyAction]

export const POLICY_ACTIONS = Object.keys(POLICY) as readonly PolicyAction[]

export function ruleOf(action: PolicyAction): Rule {
  return POLICY[action]
}

/** The role a member needs before any further check; `nominated` starts from viewer. */
export function baseRole(action: PolicyAction): Role {
  const { minimum } = ruleOf(action)
  return minimum === 'nominated' ? 'viewer' : minimum
}

/** Whether a member meets an action's requirement by role (and nomination) alone. */
export function meetsRequirement(
  member: Pick<Membership, 'role' | 'canInvite'>,
  action: PolicyAction,
): boolean {
  const { minimum } = ruleOf(action)
  if (minimum === 'nominated') return member.role === 'owner' || member.canInvite
  return hasRoleAtLeast(member.role, minimum)
}

/** Whether a role alone allows an action, as a page shows or hides the form for it. */
export function roleAllows(role: Role, action: RoleAction): boolean {
  return hasRoleAtLeast(role, POLICY[action].minimum)
}
