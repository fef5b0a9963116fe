import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createOwner, DEFAULT_PASSWORD } from '../helpers/factories.js'
import { decodeQuotedPrintable, findLink } from '../helpers/smtp-sink.js'
import { testDialects } from '../helpers/test-db.js'
import { stepAway, totpCode } from '../two-factor/helpers.js'
import {
  BROWSER_TEST_TIMEOUT,
  clickAndLand,
  ConsoleWatcher,
  launchChromium,
  newContext,
  signInThroughForm,
  startLiveApp,
  type LiveApp,
} from './harness.js'

let browser: Browser

beforeAll(async () => {
  browser = await launchChromium()
}, BROWSER_TEST_TIMEOUT)

afterAll(async () => {
  await browser.close()
}, BROWSER_TEST_TIMEOUT)

/** Without SMTP, Candor writes each message to an .eml file under the data folder. */
function emailTo(dataDir: string, address: string): string {
  const files: string[] = []
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (entry.name.endsWith('.eml')) files.push(path)
    }
  }
  walk(dataDir)
  const raw = files
    .map((file) => readFileSync(file, 'utf8'))
    .find((text) => decodeQuotedPrintable(text).includes(address))
  if (raw === undefined) throw new Error(`no email to ${address}`)
  return raw
}

describe.each(testDialects)('team invitation in Chromium (%s)', (dialect) => {
  let t: LiveApp
  beforeAll(async () => {
    t = await startLiveApp(dialect)
  }, BROWSER_TEST_TIMEOUT)
  afterAll(async () => {
    await t.close()
  }, BROWSER_TEST_TIMEOUT)

  it(
    'invites a member, who accepts, sets up an authenticator app and signs in with it',
    async () => {
      const owner = await createOwner(t, { accountName: 'Invite Inc' })
      const invitee = `invitee-${String(Date.now())}@example.com`
      const watcher = new ConsoleWatcher()
      const ownerContext = await newContext(browser, t.origin, watcher)
      const inviteeContext = await newContext(browser, t.origin, watcher)
      try {
        const page = await ownerContext.newPage()
        await signInThroughForm(page, owner)
        await clickAndLand(page, page.getByRole('link', { name: 'Team' }), /\/team$/)
        await page.getByLabel('Email').fill(invitee)
        await page.getByLabel('Role').selectOption('editor')
        await clickAndLand(
          page,
          page.getByRole('button', { name: 'Send invitation' }),
          /\/team\?done=invited$/,
        )
        expect(await page.locator('table.invitations').innerText()).toContain(invitee)

        const link = new URL(
          findLink(decodeQuotedPrintable(emailTo(t.dataDir, invitee)), '/invitations/accept'),
          t.origin,
        )
        const join = await inviteeContext.newPage()
        await join.goto(`${link.pathname}${link.search}`)
        expect(await join.getByRole('heading', { level: 1 }).innerText()).toBe('Join Invite Inc')
        await join.getByLabel('Your name').fill('Ines Invitee')
        await join.getByLabel('Choose a password').fill(DEFAULT_PASSWORD)
        await clickAndLand(
          join,
          join.getByRole('button', { name: 'Create my login and join' }),
          /\/team\?done=joined$/,
        )
        expect(await join.locator('table.team').innerText()).toContain('Ines Invitee')

        await join.goto('/profile/security')
        await clickAndLand(
          join,
          join.getByRole('link', { name: 'Set up an authenticator app' }),
          /^\/profile\/security\/totp$/,
        )
        const secret = (await join.locator('[data-totp-secret]').innerText()).replace(/\s/g, '')
        await join.getByLabel('Code from the app').fill(totpCode(secret, t.clock.now()))
        await clickAndLand(
          join,
          join.getByRole('button', { name: 'Turn on' }),
          /^\/profile\/security\/totp$/,
        )

        await clickAndLand(join, join.getByRole('button', { name: 'Sign out' }), /^\/login$/)
        t.clock.set(stepAway(t.clock.now(), 1))
        await join.locator('input[name="email"]').fill(invitee)
        await join.locator('input[name="password"]').fill(DEFAULT_PASSWORD)
        await clickAndLand(
          join,
          join.getByRole('button', { name: 'Sign in', exact: true }),
          /^\/login\/two-factor$/,
        )
        await join.getByLabel('Authentication code').fill(totpCode(secret, t.clock.now()))
        await clickAndLand(join, join.getByRole('button', { name: 'Verify' }), /^\/a\//)
        expect(await join.getByRole('heading', { level: 1 }).innerText()).toBe('Invite Inc')

        // The owner sees the new member, with two-factor on.
        await page.reload()
        const row = page.locator('table.team tr', { hasText: 'Ines Invitee' })
        expect(await row.innerText()).toContain('editor')
        expect(await row.innerText()).toContain('On')

        expect(watcher.cspViolations()).toEqual([])
        expect(watcher.pageErrors).toEqual([])
        expect(watcher.errors()).toEqual([])
      } finally {
        await ownerContext.close()
        await inviteeContext.close()
      }
    },
    BROWSER_TEST_TIMEOUT,
  )
})
