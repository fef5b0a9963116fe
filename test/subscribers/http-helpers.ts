import { expect } from 'vitest'
import type { TestApp } from '../helpers/build-app.js'
import { TestBrowser, type BrowserResponse } from '../helpers/browser.js'
import { uniqueIp } from '../helpers/http.js'
import type { PageFixture } from '../helpers/page-factories.js'
import type { ReceivedMail, SmtpSink } from '../helpers/smtp-sink.js'
import { postForm } from '../dashboard/dashboard-helpers.js'

/** A visitor without JavaScript, from an address of its own (the subscribe throttle is per IP). */
export function visitor(t: TestApp): TestBrowser {
  return new TestBrowser(t.app, { ip: uniqueIp(), userAgent: 'Mozilla/5.0 (subscriber test)' })
}

export function consentVersionIn(html: string): string {
  const match = /name="consentVersion" value="([^"]+)"/.exec(html)
  expect(match).not.toBeNull()
  return match?.[1] ?? ''
}

/** Loads the subscribe form and sends it the way a browser does. */
export async function subscribeThroughForm(
  browser: TestBrowser,
  base: string,
  fields: { email: string; componentIds?: string[]; website?: string },
): Promise<BrowserResponse> {
  const form = await browser.get(`${base}/subscribe`)
  expect(form.status).toBe(200)
  const pairs: [string, string][] = [
    ['email', fields.email],
    ['consentVersion', consentVersionIn(form.body)],
    ['website', fields.website ?? ''],
    ...(fields.componentIds ?? []).map((id): [string, string] => ['componentIds', id]),
  ]
  return postForm(browser, `${base}/subscribe`, pairs)
}

export function linkIn(mail: ReceivedMail, pattern: RegExp): string {
  const match = pattern.exec(mail.raw)
  if (match?.[1] === undefined) throw new Error(`no link matching ${String(pattern)} in mail`)
  return match[1]
}

export const CONFIRM_LINK = /\/subscriptions\/confirm\/([A-Za-z0-9_-]+)/
export const MANAGE_LINK = /\/subscriptions\/([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)/

/** The email the background tasks send to this address whose subject matches. */
export async function mailTo(
  t: TestApp,
  smtp: SmtpSink,
  address: string,
  subject: RegExp,
): Promise<ReceivedMail> {
  await t.runtime.background.drain()
  return smtp.waitFor((m) => m.to.includes(address) && subject.test(m.subject), 10_000)
}

/** Subscribes through the public form, confirms from the email: the manage link's token. */
export async function activeSubscriber(
  t: TestApp,
  smtp: SmtpSink,
  f: PageFixture,
  email: string,
  componentIds: string[] = [],
): Promise<string> {
  const browser = visitor(t)
  const sent = await subscribeThroughForm(browser, `/p/${f.page.slug}`, { email, componentIds })
  expect(sent.status).toBe(200)
  const mail = await mailTo(t, smtp, email, /^Confirm/)
  const confirmPath = `/subscriptions/confirm/${linkIn(mail, CONFIRM_LINK)}`
  expect((await browser.get(confirmPath)).status).toBe(200)
  const confirmed = await browser.post(confirmPath, {})
  expect(confirmed.status).toBe(200)
  const token = MANAGE_LINK.exec(confirmed.body)?.[1]
  expect(token).toBeDefined()
  return token ?? ''
}

export async function subscriberRow(t: TestApp, pageId: string) {
  return t.runtime.database.db
    .selectFrom('subscribers')
    .selectAll()
    .where('page_id', '=', pageId)
    .execute()
}
