import { Secret, TOTP } from 'otpauth'
import { expect } from 'vitest'
import type { TestApp } from '../helpers/build-app.js'
import { TestBrowser, type BrowserResponse } from '../helpers/browser.js'
import { uniqueIp } from '../helpers/http.js'

/** The code an authenticator app shows for a secret at a moment (RFC 6238, SHA-1, 6 digits, 30 s). */
export function totpCode(secret: string, at: Date): string {
  return TOTP.generate({
    secret: Secret.fromBase32(secret),
    algorithm: 'SHA1',
    digits: 6,
    period: 30,
    timestamp: at.getTime(),
  })
}

/** The moment `steps` TOTP steps away from `at`, in the middle of that step. */
export function stepAway(at: Date, steps: number): Date {
  const step = Math.floor(at.getTime() / 30_000) + steps
  return new Date(step * 30_000 + 15_000)
}

export function browserFor(t: TestApp): TestBrowser {
  return new TestBrowser(t.app, { ip: uniqueIp() })
}

export function hiddenField(body: string, name: string): string {
  const value = new RegExp(`name="${name}" value="([^"]*)"`).exec(body)?.[1]
  expect(value, `hidden field ${name}`).toBeDefined()
  return value!
}

/** The manual key shown beside the QR code, without its grouping spaces. */
export function manualKey(body: string): string {
  const key = /data-totp-secret="?[^>]*>([A-Z2-7 ]+)</.exec(body)?.[1]
  expect(key, 'manual key on the page').toBeDefined()
  return key!.replace(/ /g, '')
}

export function recoveryCodesOn(body: string): string[] {
  return [...body.matchAll(/<li><code>([a-z0-9-]+)<\/code><\/li>/g)].map((m) => m[1]!)
}

/** Signs in with a password only (for a login without a second factor). */
export async function passwordSignIn(
  b: TestBrowser,
  login: { email: string; password: string },
): Promise<BrowserResponse> {
  await b.get('/login')
  return b.post('/login', { email: login.email, password: login.password })
}

/**
 * A signed-in person sets up TOTP from the security page, the way they would: reads the key,
 * types the current code. Returns the secret and the recovery codes shown once.
 */
export async function enrolTotp(
  t: TestApp,
  b: TestBrowser,
): Promise<{ secret: string; recoveryCodes: string[] }> {
  const page = await b.get('/profile/security/totp')
  expect(page.status).toBe(200)
  const secret = manualKey(page.body)
  const enrolment = hiddenField(page.body, 'enrolment')
  const done = await b.post('/profile/security/totp', {
    enrolment,
    code: totpCode(secret, t.clock.now()),
  })
  expect(done.status).toBe(200)
  const recoveryCodes = recoveryCodesOn(done.body)
  expect(recoveryCodes).toHaveLength(10)
  return { secret, recoveryCodes }
}

/** Password, then the second step with a code; returns the second step's answer. */
export async function signInWithCode(
  b: TestBrowser,
  login: { email: string; password: string },
  code: string,
): Promise<BrowserResponse> {
  const first = await passwordSignIn(b, login)
  expect(first.status).toBe(303)
  expect(first.location).toBe('/login/two-factor')
  const step = await b.get('/login/two-factor')
  expect(step.status).toBe(200)
  return b.post('/login/two-factor', { code })
}

export async function sessionMethods(t: TestApp, userId: string): Promise<string[]> {
  const rows = await t.runtime.database.db
    .selectFrom('sessions')
    .select('auth_method')
    .where('user_id', '=', userId)
    .orderBy('created_at')
    .execute()
  return rows.map((row) => row.auth_method)
}

export async function auditEntries(t: TestApp, accountId: string, action: string) {
  const rows = await t.runtime.database.db
    .selectFrom('audit_entries')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('action', '=', action)
    .orderBy('seq')
    .execute()
  return rows.map((row) => ({
    ...row,
    details: (typeof row.details === 'string' ? JSON.parse(row.details) : row.details) as Record<
      string,
      unknown
    >,
  }))
}
