import { hashPassword } from '../../src/auth/passwords.js'
import { generateId } from '../../src/crypto/tokens.js'
import { insertMembership } from '../../src/domain/accounts/membership-repository.js'
import { insertUser } from '../../src/domain/accounts/user-repository.js'
import type { TestApp } from './build-app.js'

let counter = 0

export const DEFAULT_PASSWORD = 'correct horse battery staple'

export interface CreatedOwner {
  accountId: string
  userId: string
  email: string
  password: string
}

export async function createOwner(
  testApp: TestApp,
  overrides: { email?: string; password?: string; accountName?: string; name?: string } = {},
): Promise<CreatedOwner> {
  counter++
  const email = overrides.email ?? `owner${String(counter)}-${String(Date.now())}@example.com`
  const password = overrides.password ?? DEFAULT_PASSWORD
  const { account, user } = await testApp.runtime.services.auth.createOwnerAccount({
    accountName: overrides.accountName ?? `Account ${String(counter)}`,
    name: overrides.name ?? `Owner ${String(counter)}`,
    email,
    password,
  })
  return { accountId: account.id, userId: user.id, email, password }
}

/** Adds a member with a given role directly (invitations arrive with the team features). */
export async function addMember(
  testApp: TestApp,
  accountId: string,
  role: 'admin' | 'editor' | 'viewer',
  overrides: { email?: string; password?: string } = {},
): Promise<{ userId: string; email: string; password: string }> {
  counter++
  const email = overrides.email ?? `${role}${String(counter)}-${String(Date.now())}@example.com`
  const password = overrides.password ?? DEFAULT_PASSWORD
  const userId = generateId()
  const now = new Date()
  const { db } = testApp.runtime.database
  await insertUser(db, testApp.runtime.keyRing, {
    id: userId,
    email,
    name: `${role} ${String(counter)}`,
    passwordHash: await hashPassword(password),
    createdAt: now,
  })
  await insertMembership(db, { accountId, userId, role, canInvite: false, createdAt: now })
  return { userId, email, password }
}
