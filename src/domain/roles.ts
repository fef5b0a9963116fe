import type { Role } from '../db/schema.js'

export type { Role }

export const ROLES: readonly Role[] = ['owner', 'admin', 'editor', 'viewer']

const RANK: Record<Role, number> = { viewer: 1, editor: 2, admin: 3, owner: 4 }

export function hasRoleAtLeast(role: Role, minimum: Role): boolean {
  return RANK[role] >= RANK[minimum]
}
