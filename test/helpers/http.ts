import { hashToken } from '../../src/crypto/tokens.js'
import type { TestApp } from './build-app.js'
import type { BrowserResponse, TestBrowser } from './browser.js'

/** The Set-Cookie headers of a response, always as a list. */
export function setCookies(response: BrowserResponse): string[] {
  const header = response.headers['set-cookie']
  if (header === undefined) return []
  return Array.isArray(header) ? header : [header]
}

/** The Set-Cookie header for one cookie name, if the response sets it. */
export function setCookieFor(response: BrowserResponse, name: string): string | undefined {
  return setCookies(response).find((cookie) => cookie.startsWith(`${name}=`))
}

/** The value a browser holds for its session cookie (http by default, __Host- over https). */
export function sessionToken(browser: TestBrowser, https = false): string | undefined {
  return browser.cookies.get(https ? '__Host-candor_session' : 'candor_session')
}

/** The id_hash a session token is stored under. */
export function sessionIdHash(token: string): string {
  return hashToken(token)
}

/** The page with every CSRF token value and request id replaced, so two answers compare equal. */
export function normalisePage(body: string): string {
  return body
    .replace(/name="_csrf" value="[^"]*"/g, 'name="_csrf" value="CSRF"')
    .replace(/Reference: [0-9a-z-]+/g, 'Reference: REQUEST-ID')
}

let ipCounter = 0

/** A fresh client address per call, so per-IP throttles of one test never touch another. */
export function uniqueIp(): string {
  ipCounter++
  return `10.${String((ipCounter >> 16) & 255)}.${String((ipCounter >> 8) & 255)}.${String(ipCounter & 255)}`
}

export async function accountName(t: TestApp, accountId: string): Promise<string> {
  const row = await t.runtime.database.db
    .selectFrom('accounts')
    .select('name')
    .where('id', '=', accountId)
    .executeTakeFirstOrThrow()
  return row.name
}

export async function countRows(
  t: TestApp,
  table: 'users' | 'accounts' | 'memberships' | 'sessions' | 'auth_tokens' | 'mail_messages',
): Promise<number> {
  const row = await t.runtime.database.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .executeTakeFirstOrThrow()
  return row.count
}

/** The id_hash of every live session row of a user. */
export async function sessionHashesOf(t: TestApp, userId: string): Promise<string[]> {
  const rows = await t.runtime.database.db
    .selectFrom('sessions')
    .select('id_hash')
    .where('user_id', '=', userId)
    .execute()
  return rows.map((row) => row.id_hash)
}

export async function passwordHashOf(t: TestApp, userId: string): Promise<string | null> {
  const row = await t.runtime.database.db
    .selectFrom('users')
    .select('password_hash')
    .where('id', '=', userId)
    .executeTakeFirstOrThrow()
  return row.password_hash
}

/** Whether the browser is signed in: /dashboard answers with the sign-in page redirect when not. */
export async function isSignedIn(browser: TestBrowser): Promise<boolean> {
  const response = await browser.get('/dashboard')
  return response.location !== '/login'
}
