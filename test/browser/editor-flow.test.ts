import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createOwner, type CreatedOwner } from '../helpers/factories.js'
import { createPageFixture } from '../helpers/page-factories.js'
import { testDialects } from '../helpers/test-db.js'
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

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])

/** Set CANDOR_SCREENSHOT_DIR to keep the screenshots and look at them; else a temp dir is used. */
const keptScreenshots = process.env['CANDOR_SCREENSHOT_DIR']

let browser: Browser
let shots: string

// One browser for the file: each test gets fresh contexts (cookies, cache) of its own.
beforeAll(async () => {
  browser = await launchChromium()
  if (keptScreenshots === undefined || keptScreenshots === '')
    shots = mkdtempSync(join(tmpdir(), 'candor-screenshots-'))
  else {
    mkdirSync(keptScreenshots, { recursive: true })
    shots = keptScreenshots
  }
}, BROWSER_TEST_TIMEOUT)

afterAll(async () => {
  await browser.close()
  if (shots !== keptScreenshots) rmSync(shots, { recursive: true, force: true })
}, BROWSER_TEST_TIMEOUT)

/** The component's row on the public page, found by its exact name. */
function publicComponent(page: Page, name: string) {
  return page.locator('li.component').filter({
    has: page.locator('.component-name').filter({ hasText: new RegExp(`^${name}$`) }),
  })
}

async function text(page: Page, selector: string): Promise<string> {
  return (await page.locator(selector).innerText()).trim()
}

describe.each(testDialects)('the editor flow in Chromium (%s)', (dialect) => {
  let t: LiveApp
  let owner: CreatedOwner
  const slug = `browser-${dialect}-${String(Date.now() % 1_000_000)}`

  beforeAll(async () => {
    t = await startLiveApp(dialect)
    owner = await createOwner(t, { accountName: 'Acme Inc' })
  }, BROWSER_TEST_TIMEOUT)

  afterAll(async () => {
    await t.close()
  }, BROWSER_TEST_TIMEOUT)

  it(
    'signs in, builds a page, runs an incident to its end, and the public page follows',
    async () => {
      const watcher = new ConsoleWatcher()
      const editorContext = await newContext(browser, t.origin, watcher)
      const visitorContext = await newContext(browser, t.origin, watcher)
      try {
        const page = await editorContext.newPage()

        // 1. Sign in with the real form: the dashboard greets the owner's account.
        await signInThroughForm(page, owner)
        expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe('Acme Inc')

        // 2. A status page, reached by links from the account overview.
        await clickAndLand(
          page,
          page.getByRole('link', { name: 'Create a status page' }),
          /^\/a\/[^/]+\/pages$/,
        )
        const createForm = page.getByRole('region', { name: 'Create a status page' })
        await createForm.getByLabel('Name', { exact: true }).fill('Acme Status')
        await createForm.getByLabel('Address (slug)').fill(slug)
        await createForm.getByLabel('Time zone').fill('Europe/Paris')
        await createForm.getByLabel('Language').selectOption({ label: 'English' })
        await clickAndLand(
          page,
          createForm.getByRole('button', { name: 'Create page' }),
          /^\/pages\/[^/?]+$/,
        )
        expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe('Acme Status')
        expect(await page.getByRole('link', { name: `/p/${slug}` }).count()).toBe(1)

        // 3. A group, then two components in it.
        await clickAndLand(
          page,
          page.getByRole('link', { name: 'Manage components' }),
          /^\/pages\/[^/]+\/components$/,
        )
        const groupForm = page.getByRole('region', { name: 'Add a group' })
        await groupForm.getByLabel('Group name').fill('Core')
        await groupForm.getByLabel('Description').fill('The core services')
        await clickAndLand(
          page,
          groupForm.getByRole('button', { name: 'Add group' }),
          /\/components\?saved=added$/,
        )
        for (const [name, description] of [
          ['API', 'The public REST API'],
          ['Website', ''],
        ] as const) {
          const componentForm = page.getByRole('region', { name: 'Add a component' })
          await componentForm.getByLabel('Name', { exact: true }).fill(name)
          await componentForm.getByLabel('Description').fill(description)
          await componentForm.getByLabel('Group', { exact: true }).selectOption({ label: 'Core' })
          await clickAndLand(
            page,
            componentForm.getByRole('button', { name: 'Add component' }),
            /\/components\?saved=added$/,
          )
        }
        const rows = page.locator('table.components tbody th[scope="row"]')
        expect((await rows.allInnerTexts()).map((row) => row.split('\n')[0]?.trim())).toEqual([
          'Core (group)',
          '↳ API',
          '↳ Website',
        ])
        // On a phone the components page scrolls its table, not the whole page.
        const desktop = page.viewportSize()
        await page.setViewportSize({ width: 375, height: 812 })
        const phone = await page.evaluate<{ scrollWidth: number; innerWidth: number }>(
          '({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth })',
        )
        expect(phone.scrollWidth).toBeLessThanOrEqual(phone.innerWidth)
        if (desktop !== null) await page.setViewportSize(desktop)

        // 4. An incident: the API in partial outage, a message with bold text.
        await clickAndLand(
          page,
          page.getByRole('link', { name: 'Incidents & maintenance' }),
          /^\/pages\/[^/]+\/incidents$/,
        )
        await clickAndLand(
          page,
          page.getByRole('link', { name: 'Open an incident' }),
          /^\/pages\/[^/]+\/incidents\/new$/,
        )
        await page.getByLabel('Title').fill('API errors')
        await page.getByLabel('Status', { exact: true }).selectOption('investigating')
        await page.getByLabel('Impact').selectOption({ label: 'Major' })
        await page.getByLabel('Message').fill('We are looking into **elevated errors**.')
        await page.getByLabel('Core – API').selectOption({ label: 'Partial outage' })
        await clickAndLand(
          page,
          page.getByRole('button', { name: 'Open incident' }),
          /^\/incidents\/[^/]+\?saved=created$/,
        )
        expect(await page.getByRole('status').innerText()).toBe('Incident opened.')
        expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe(
          'Incident: API errors',
        )
        expect(await page.locator('.markdown strong').first().innerText()).toBe('elevated errors')

        // 5. An update on the incident page, a minute later.
        t.clock.advance(60_000)
        const updateForm = page.getByRole('region', { name: 'Post an update' })
        await updateForm.getByLabel('Status').selectOption({ label: 'Identified' })
        await updateForm.getByLabel('Message').fill('A bad deploy. Rolling back.')
        await clickAndLand(
          page,
          updateForm.getByRole('button', { name: 'Post update' }),
          /^\/incidents\/[^/]+\?saved=update$/,
        )
        expect(await page.getByRole('status').innerText()).toBe('Update posted.')

        // 6. The public page, from the dashboard's link, then as an anonymous visitor.
        await clickAndLand(
          page,
          page.getByRole('link', { name: 'View public page' }),
          new RegExp(`^/p/${slug}$`),
        )
        const visitor = await visitorContext.newPage()
        const response = await visitor.goto(`/p/${slug}`)
        expect(response?.status()).toBe(200)
        for (const publicPage of [page, visitor]) {
          expect(await text(publicPage, '.banner')).toBe('Partial System Outage')
          const active = publicPage.getByRole('region', { name: 'Active incidents' })
          const incident = active.getByRole('article', { name: 'API errors' })
          expect(await incident.getByRole('heading', { name: 'API errors' }).count()).toBe(1)
          const updates = incident.locator('li.update')
          expect(await updates.count()).toBe(2)
          expect(
            (await updates.locator('.update-status').allInnerTexts()).map((s) => s.trim()),
          ).toEqual(['Identified', 'Investigating'])
          expect(await updates.nth(0).locator('.markdown').innerText()).toBe(
            'A bad deploy. Rolling back.',
          )
          expect(await updates.nth(1).locator('.markdown').innerText()).toBe(
            'We are looking into elevated errors.',
          )
          // The markdown is rendered, not shown as asterisks.
          expect(await updates.nth(1).locator('.markdown strong').innerText()).toBe(
            'elevated errors',
          )
          expect(await updates.nth(1).locator('.markdown').innerHTML()).not.toContain('**')
          expect(await updates.nth(1).locator('.update-components').innerText()).toBe(
            'Components: Core - API: Partial Outage',
          )
          expect(await publicComponent(publicPage, 'API').locator('.status-text').innerText()).toBe(
            'Partial Outage',
          )
          expect(
            await publicComponent(publicPage, 'Website').locator('.status-text').innerText(),
          ).toBe('Operational')
          // A group with a problem inside is open, never folded away.
          expect(await publicPage.locator('details.group-details').getAttribute('open')).toBe('')
        }

        // Screenshots at desktop and phone widths; nothing overflows sideways at 375 px.
        await visitor.screenshot({
          path: join(shots, `public-1280-${dialect}.png`),
          fullPage: true,
        })
        await visitor.setViewportSize({ width: 375, height: 812 })
        await visitor.screenshot({ path: join(shots, `public-375-${dialect}.png`), fullPage: true })
        for (const file of [`public-1280-${dialect}.png`, `public-375-${dialect}.png`]) {
          const png = readFileSync(join(shots, file))
          expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true)
          expect(png.length).toBeGreaterThan(10_000)
        }
        const widths = await visitor.evaluate<{ scrollWidth: number; innerWidth: number }>(
          '({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth })',
        )
        expect(widths.innerWidth).toBe(375)
        expect(widths.scrollWidth).toBeLessThanOrEqual(widths.innerWidth)

        // 7. Resolve from the incident page; the visitor's reload shows all is well again.
        t.clock.advance(60_000)
        await page.goBack({ waitUntil: 'load' })
        expect(new URL(page.url()).pathname).toMatch(/^\/incidents\//)
        const resolveForm = page.getByRole('region', { name: 'Post an update' })
        await resolveForm.getByLabel('Status').selectOption({ label: 'Resolved' })
        await resolveForm.getByLabel('Message').fill('Fixed.')
        await clickAndLand(
          page,
          resolveForm.getByRole('button', { name: 'Post update' }),
          /^\/incidents\/[^/]+\?saved=update$/,
        )
        expect(await page.locator('dl.facts .badge').first().innerText()).toBe('Resolved')

        await visitor.reload({ waitUntil: 'load' })
        expect(await text(visitor, '.banner')).toBe('All Systems Operational')
        expect(await visitor.getByRole('region', { name: 'Active incidents' }).count()).toBe(0)
        // All is well, so the group is folded: its children are read from the DOM, not seen.
        expect(await visitor.locator('details.group-details').getAttribute('open')).toBeNull()
        expect(await publicComponent(visitor, 'API').locator('.status-text').textContent()).toBe(
          'Operational',
        )
        const past = visitor.getByRole('region', { name: 'Past incidents' })
        const resolved = past.getByRole('article', { name: 'API errors' })
        expect(await resolved.locator('.tag-status').innerText()).toBe('Resolved')
        expect(await resolved.locator('li.update').count()).toBe(3)
        const stillNarrow = await visitor.evaluate<boolean>(
          'document.documentElement.scrollWidth <= window.innerWidth',
        )
        expect(stillNarrow).toBe(true)

        // The pages never needed anything the Content-Security-Policy forbids.
        expect(watcher.cspViolations()).toEqual([])
        expect(watcher.pageErrors).toEqual([])
        expect(watcher.failedResponses).toEqual([])
        expect(watcher.errors()).toEqual([])
      } finally {
        await editorContext.close()
        await visitorContext.close()
      }
    },
    BROWSER_TEST_TIMEOUT,
  )

  it(
    "blocks inline script under the pages' CSP, and a violation is seen when there is one",
    async () => {
      const watcher = new ConsoleWatcher()
      const context = await newContext(browser, t.origin, watcher)
      try {
        // A page of its own, so that this test does not depend on the flow above.
        const fixture = await createPageFixture(t)
        const page = await context.newPage()
        for (const url of ['/login', `/p/${fixture.page.slug}`]) {
          const response = await page.goto(url)
          expect(response?.status()).toBe(200)
          const csp = (await response?.headerValue('content-security-policy')) ?? ''
          expect(csp).toContain("script-src 'self'")
          expect(csp).not.toContain("'unsafe-inline'")
          // An inline script, inserted the way an injection would insert it, does not run.
          await page.evaluate(`(() => {
            const script = document.createElement('script')
            script.textContent = 'window.__candorInlineRan = true'
            document.head.append(script)
          })()`)
          expect(await page.evaluate('window.__candorInlineRan === true')).toBe(false)
        }
        // Proof that the watcher of the editor flow would have caught a violation: Chromium's own
        // console message and the securitypolicyviolation event both report it, on both pages.
        await expect.poll(() => watcher.cspViolations().length).toBeGreaterThanOrEqual(4)
        for (const url of ['/login', `/p/${fixture.page.slug}`]) {
          const onPage = watcher.cspViolations().filter((m) => m.startsWith(`${t.origin}${url}: `))
          expect(onPage.some((m) => /Content Security Policy directive 'script-src/.test(m))).toBe(
            true,
          )
          expect(
            onPage.some((m) => /CSP violation: script-src(-elem)? blocked inline/.test(m)),
          ).toBe(true)
        }
      } finally {
        await context.close()
      }
    },
    BROWSER_TEST_TIMEOUT,
  )
})
