import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLinkSigner } from '../../src/domain/subscribers/links.js'
import { createPageFixture, type PageFixture } from '../helpers/page-factories.js'
import { testDialects } from '../helpers/test-db.js'
import {
  BROWSER_TEST_TIMEOUT,
  clickAndLand,
  ConsoleWatcher,
  launchChromium,
  newContext,
  signInThroughForm,
  SPOKEN_TEXT_FUNCTION,
  startLiveApp,
  type LiveApp,
} from '../browser/harness.js'

let browser: Browser

beforeAll(async () => {
  browser = await launchChromium()
}, BROWSER_TEST_TIMEOUT)

afterAll(async () => {
  await browser.close()
}, BROWSER_TEST_TIMEOUT)

/** Every visible control of the main landmark with the name a screen reader gives it. */
const UNLABELLED = `(() => {
  ${SPOKEN_TEXT_FUNCTION}
  return [...document.querySelectorAll('main input, main select, main textarea')]
    .filter((c) => c.type !== 'hidden' && c.closest('[aria-hidden="true"]') === null)
    .filter((c) => [...(c.labels || [])].map((l) => spokenText(l).trim()).join('') === '')
    .map((c) => c.name)
})()`

describe.each(testDialects)('subscriber pages in Chromium (%s)', (dialect) => {
  let t: LiveApp
  let f: PageFixture

  beforeAll(async () => {
    t = await startLiveApp(dialect)
    f = await createPageFixture(t)
  }, BROWSER_TEST_TIMEOUT)

  afterAll(async () => {
    await t.close()
  }, BROWSER_TEST_TIMEOUT)

  async function withPage(run: (page: Page, watcher: ConsoleWatcher) => Promise<void>) {
    const watcher = new ConsoleWatcher()
    const context = await newContext(browser, t.origin, watcher)
    try {
      await run(await context.newPage(), watcher)
      expect(watcher.cspViolations()).toEqual([])
      expect(watcher.pageErrors).toEqual([])
    } finally {
      await context.close()
    }
  }

  it(
    'subscribes from the status page with the keyboard, never reaching the honeypot',
    async () => {
      await withPage(async (page, watcher) => {
        await page.goto(`/p/${f.page.slug}`)
        await clickAndLand(
          page,
          page.getByRole('link', { name: 'Subscribe to updates' }),
          /\/subscribe$/,
        )
        expect(await page.locator('h1').count()).toBe(1)
        expect(await page.evaluate<string[]>(UNLABELLED)).toEqual([])
        const honeypot = page.locator('input[name="website"]')
        // Off-screen rather than display:none, which some bots look for.
        const box = await honeypot.boundingBox()
        expect((box?.x ?? 0) + (box?.width ?? 0)).toBeLessThanOrEqual(0)

        await page.locator('#subscribe-email').focus()
        await page.keyboard.type('keyboard@example.com')
        const stops: string[] = []
        for (let i = 0; i < 12; i++) {
          await page.keyboard.press('Tab')
          const name = await page.evaluate<string>(
            '(document.activeElement && (document.activeElement.getAttribute("name") || document.activeElement.textContent || "").trim()) || ""',
          )
          stops.push(name)
          if (name === 'Subscribe') break
        }
        expect(stops).not.toContain('website')
        expect(stops.at(-1)).toBe('Subscribe')
        // The form posts to the address it was shown at: wait for the answer, not for the URL.
        const answered = page.waitForResponse(
          (response) =>
            response.request().method() === 'POST' && /\/subscribe$/.test(response.url()),
        )
        await page.keyboard.press('Enter')
        await answered
        await page.getByRole('heading', { level: 1, name: 'Check your inbox' }).waitFor()
        expect(watcher.failedResponses).toEqual([])
      })
      const rows = await t.runtime.database.db
        .selectFrom('subscribers')
        .select('state')
        .where('page_id', '=', f.page.id)
        .execute()
      expect(rows.map((r) => r.state)).toEqual(['pending'])
    },
    BROWSER_TEST_TIMEOUT,
  )

  it(
    'manages a subscription from its link and the dashboard without a CSP violation',
    async () => {
      const { subscribers } = t.runtime.services
      await subscribers.importCsv(f.actor, f.page.id, {
        csv: 'browser@example.com',
        consentAssertion: 'Opted in on the customer portal.',
        consentConfirmed: true,
      })
      const row = await t.runtime.database.db
        .selectFrom('subscribers')
        .selectAll()
        .where('page_id', '=', f.page.id)
        .where('state', '=', 'active')
        .executeTakeFirstOrThrow()
      const token = createLinkSigner(t.runtime.keyRing).sign(
        { kind: 'subscriber', subscriberId: row.id, generation: row.manage_generation },
        new Date(t.clock.now().getTime() + 86_400_000),
      )
      await withPage(async (page) => {
        await page.goto(`/subscriptions/${token}`)
        expect(await page.evaluate<string[]>(UNLABELLED)).toEqual([])
        await page.getByRole('checkbox', { name: 'API' }).check()
        await clickAndLand(
          page,
          page.getByRole('button', { name: 'Save my choice' }),
          /\?saved=components$/,
        )
        expect(await page.getByRole('checkbox', { name: 'API' }).isChecked()).toBe(true)
        await clickAndLand(
          page,
          page.getByRole('button', { name: 'Unsubscribe' }),
          /\/unsubscribe$/,
        )
        expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(
          'You are unsubscribed',
        )
      })
      await withPage(async (page) => {
        await signInThroughForm(page, f.owner)
        await page.goto(`/pages/${f.page.id}/subscribers`)
        expect(await page.evaluate<string[]>(UNLABELLED)).toEqual([])
        await clickAndLand(
          page,
          page.getByRole('link', { name: 'browser@example.com' }),
          /\/subscribers\/[^/]+$/,
        )
        await page.goto(`/pages/${f.page.id}/notifications`)
        expect(await page.locator('h1').count()).toBe(1)
      })
    },
    BROWSER_TEST_TIMEOUT,
  )
})
