import { readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import { hash, verify } from '@node-rs/argon2'
import { ValidationError } from '../domain/errors.js'

export const PASSWORD_MIN_LENGTH = 8
export const PASSWORD_MAX_LENGTH = 128

/** @node-rs/argon2's Algorithm.Argon2id, a const enum that isolated modules cannot import. */
const ARGON2ID = 2

/** OWASP's Argon2id recommendation: 19 MiB of memory, 2 iterations, 1 lane. */
const ARGON2_OPTIONS = {
  algorithm: ARGON2ID,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const

let commonPasswords: Set<string> | undefined

function loadCommonPasswords(): Set<string> {
  if (commonPasswords === undefined) {
    const file = new URL('../../assets/common-passwords.txt.gz', import.meta.url)
    commonPasswords = new Set(gunzipSync(readFileSync(file)).toString('utf8').split('\n'))
  }
  return commonPasswords
}

/** Length in code points, so that a password in any script counts what a person typed. */
export function passwordLength(password: string): number {
  return Array.from(password).length
}

/** Returns what is wrong with a new password, or undefined when it is acceptable. */
export function checkPasswordPolicy(
  password: string,
  context: { email?: string } = {},
): string | undefined {
  const length = passwordLength(password)
  if (length < PASSWORD_MIN_LENGTH) return `Use at least ${String(PASSWORD_MIN_LENGTH)} characters.`
  if (length > PASSWORD_MAX_LENGTH) return `Use at most ${String(PASSWORD_MAX_LENGTH)} characters.`
  const lowered = password.toLowerCase()
  if (loadCommonPasswords().has(lowered)) {
    return 'This password is one of the most common passwords and is easy to guess. Choose another.'
  }
  if (context.email !== undefined && lowered === context.email.trim().toLowerCase()) {
    return 'Do not use your email address as your password.'
  }
  return undefined
}

export function assertPasswordPolicy(
  password: string,
  field = 'password',
  context: { email?: string } = {},
): void {
  const problem = checkPasswordPolicy(password, context)
  if (problem !== undefined)
    throw new ValidationError({ [field]: problem }, problem, 'weak_password')
}

export async function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2_OPTIONS)
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  if (password.length > PASSWORD_MAX_LENGTH * 4) return false
  try {
    return await verify(passwordHash, password)
  } catch {
    return false
  }
}

let dummyHash: Promise<string> | undefined

/**
 * Verifies against a throwaway hash so that an unknown email costs the same time as a wrong
 * password, and response timing does not reveal which addresses have accounts.
 */
export async function burnPasswordVerification(password: string): Promise<false> {
  dummyHash ??= hashPassword('candor-timing-equaliser')
  await verifyPassword(await dummyHash, password)
  return false
}
