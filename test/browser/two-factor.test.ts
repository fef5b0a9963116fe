import { createServer } from 'node:net'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp } from '../helpers/build-app.js'
import { createOwner } from '../helpers/factories.js'
import { testDialects } from '../helpers/test-db.js'
import { stepAway, totpCode } from '../two-factor/helpers.js'
import {
  BROWSER_TEST_TIMEOUT,
  clickAndLand,
  ConsoleWatcher,
  launchChromium,
  newContext,
  signInThroughForm,
  type LiveApp,
} from './harness.js'

let browser: Browser

beforeAll(async () => {
  browser = await launchChromium()
}, BROWSER_TEST_TIMEOUT)

afterAll(async () => {
  await browser.close()
}, BROWSER_TEST_TIMEOUT)

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

/**
 * The application listening on http://localhost:<port>, with BASE_URL saying so: a passkey is
 * bound to the site's host name (an IP address cannot be a WebAuthn RP id), and localhost is a
 * secure context over plain HTTP.
 */
async function startOnLocalhost(dialect: (typeof testDialects)[number]): Promise<LiveApp> {
  const port = await freePort()
  const origin = `http://localhost:${String(port)}`
  const t = await buildTestApp(dialect, { env: { BASE_URL: origin } })
  await t.app.listen({ port, host: '127.0.0.1' })
  return Object.assign(t, { origin })
}

async function signOut(page: Page): Promise<void> {
  await clickAndLand(page, page.getByRole('button', { name: 'Sign out' }), /^\/login$/)
}

describe.each(testDialects)('two-factor sign-in in Chromium (%s)', (dialect) => {
  let t: LiveApp
  beforeAll(async () => {
    t = await startOnLocalhost(dialect)
  }, BROWSER_TEST_TIMEOUT)
  afterAll(async () => {
    await t.close()
  }, BROWSER_TEST_TIMEOUT)

  it(
    'sets up an authenticator app from the security page, then signs in with password and code',
    async () => {
      const owner = await createOwner(t, { accountName: 'Totp Inc' })
      const watcher = new ConsoleWatcher()
      const context = await newContext(browser, t.origin, watcher)
      try {
        const page = await context.newPage()
        await signInThroughForm(page, owner)
        await page.goto('/profile/security')
        await clickAndLand(
          page,
          page.getByRole('link', { name: 'Set up an authenticator app' }),
          /^\/profile\/security\/totp$/,
        )
        const qr = page.getByRole('img', { name: 'QR code for your authenticator app' })
        expect(await qr.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0)
        const secret = (await page.locator('[data-totp-secret]').innerText()).replace(/\s/g, '')
        await page.getByLabel('Code from the app').fill(totpCode(secret, t.clock.now()))
        await clickAndLand(
          page,
          page.getByRole('button', { name: 'Turn on' }),
          /^\/profile\/security\/totp$/,
        )
        expect(await page.locator('[data-recovery-codes] li').count()).toBe(10)

        await signOut(page)
        // A later step: the code used to set the app up is not accepted a second time.
        t.clock.set(stepAway(t.clock.now(), 1))
        await page.locator('input[name="email"]').fill(owner.email)
        await page.locator('input[name="password"]').fill(owner.password)
        await clickAndLand(
          page,
          page.getByRole('button', { name: 'Sign in', exact: true }),
          /^\/login\/two-factor$/,
        )
        await page.getByLabel('Authentication code').fill(totpCode(secret, t.clock.now()))
        await clickAndLand(page, page.getByRole('button', { name: 'Verify' }), /^\/a\//)
        expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe('Totp Inc')

        expect(watcher.cspViolations()).toEqual([])
        expect(watcher.pageErrors).toEqual([])
        expect(watcher.errors()).toEqual([])
      } finally {
        await context.close()
      }
    },
    BROWSER_TEST_TIMEOUT,
  )

  it(
    'registers a passkey with a virtual authenticator and signs in with it alone',
    async () => {
      const owner = await createOwner(t, { accountName: 'Passkey Inc' })
      const watcher = new ConsoleWatcher()
      const context = await newContext(browser, t.origin, watcher)
      try {
        const page = await context.newPage()
        const cdp = await context.newCDPSession(page)
        await cdp.send('WebAuthn.enable')
        await cdp.send('WebAuthn.addVirtualAuthenticator', {
          options: {
            protocol: 'ctap2',
            transport: 'internal',
            hasResidentKey: true,
            hasUserVerification: true,
            isUserVerified: true,
          },
        })

        await signInThroughForm(page, owner)
        await page.goto('/profile/security')
        await page.getByLabel('Name for this passkey').fill('Chromium')
        await clickAndLand(
          page,
          page.getByRole('button', { name: 'Add a passkey' }),
          /^\/profile\/security\?saved=passkey$/,
        )
        expect(await page.locator('[data-passkeys] strong').allInnerTexts()).toEqual(['Chromium'])

        await signOut(page)
        await clickAndLand(
          page,
          page.getByRole('button', { name: 'Sign in with a passkey' }),
          /^\/a\//,
        )
        expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe('Passkey Inc')
        const sessions = await t.runtime.database.db
          .selectFrom('sessions')
          .select('auth_method')
          .where('user_id', '=', owner.userId)
          .execute()
        expect(sessions.map((s) => s.auth_method)).toEqual(['passkey'])

        expect(watcher.cspViolations()).toEqual([])
        expect(watcher.pageErrors).toEqual([])
        expect(watcher.errors()).toEqual([])
      } finally {
        await context.close()
      }
    },
    BROWSER_TEST_TIMEOUT,
  )
})
