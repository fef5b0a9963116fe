import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testDialects } from '../helpers/test-db.js'
import { buildScenario, type Scenario } from '../public-api/scenario.js'
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
} from './harness.js'

let browser: Browser

// One browser for the file: each test gets a fresh context (cookies, cache) of its own.
beforeAll(async () => {
  browser = await launchChromium()
}, BROWSER_TEST_TIMEOUT)

afterAll(async () => {
  await browser.close()
}, BROWSER_TEST_TIMEOUT)

interface StatusElement {
  tag: string
  classes: string
  text: string
}

/**
 * Every element whose class names a status (status-partial_outage, banner-major, bar-operational,
 * impact-critical…) outside aria-hidden subtrees, with what a screen reader would read for it:
 * its text without aria-hidden parts, else its aria-label or the text it is labelled by.
 */
const STATUS_ELEMENTS = `(() => {
  ${SPOKEN_TEXT_FUNCTION}
  const statusClass = /^(status|banner|bar|impact)-(operational|degraded_performance|partial_outage|major_outage|under_maintenance|none|minor|major|critical|maintenance)$/
  const found = []
  for (const element of document.querySelectorAll('body [class]')) {
    if (![...element.classList].some((name) => statusClass.test(name))) continue
    if (element.closest('[aria-hidden="true"]') !== null) continue
    const labelledBy = (element.getAttribute('aria-labelledby') || '')
      .split(/\\s+/)
      .map((id) => document.getElementById(id))
      .filter((target) => target !== null)
      .map((target) => spokenText(target))
      .join(' ')
    const text = [spokenText(element), element.getAttribute('aria-label') || '', labelledBy]
      .map((part) => part.replace(/\\s+/g, ' ').trim())
      .find((part) => part !== '') || ''
    found.push({ tag: element.tagName.toLowerCase(), classes: element.className.baseVal ?? element.className, text })
  }
  return found
})()`

interface FormControl {
  control: string
  label: string
}

/** Every visible control of the page's forms with its label, as a screen reader would name it. */
const FORM_CONTROLS = `(() => {
  ${SPOKEN_TEXT_FUNCTION}
  const controls = []
  for (const control of document.querySelectorAll('main input, main select, main textarea')) {
    if (control.type === 'hidden') continue
    const fromLabels = [...(control.labels || [])].map((label) => spokenText(label))
    const fromAria = control.getAttribute('aria-label') || ''
    const fromLabelledBy = (control.getAttribute('aria-labelledby') || '')
      .split(/\\s+/)
      .map((id) => document.getElementById(id))
      .filter((target) => target !== null)
      .map((target) => spokenText(target))
    const label = [...fromLabels, fromAria, ...fromLabelledBy]
      .map((part) => part.replace(/\\s+/g, ' ').trim())
      .filter((part) => part !== '')
      .join(' / ')
    controls.push({ control: control.tagName.toLowerCase() + '[name=' + control.name + ']', label })
  }
  return controls
})()`

/** A short description of the element that has the keyboard focus. */
const FOCUSED = `(() => {
  const element = document.activeElement
  if (element === null || element === document.body) return 'body'
  const name = element.getAttribute('name')
  const text = (element.textContent || '').trim()
  return element.tagName.toLowerCase() + (name ? '[name=' + name + ']' : '') + (text ? ' "' + text + '"' : '')
})()`

describe.each(testDialects)('accessibility in Chromium (%s)', (dialect) => {
  let t: LiveApp
  let scenario: Scenario
  let slug: string

  beforeAll(async () => {
    t = await startLiveApp(dialect)
    // A page with every kind of status: outages, an open incident, maintenance in progress.
    scenario = await buildScenario(t)
    slug = scenario.f.page.slug
    const { incidents } = t.runtime.services
    // A "# heading" in a message must not become a second h1 on the public pages.
    t.clock.advance(60_000)
    await incidents.addUpdate(scenario.f.actor, scenario.open.id, {
      status: 'monitoring',
      body: '# Root cause\n\nA **bad deploy**.',
      components: {
        [scenario.f.components.api.id]: 'partial_outage',
        [scenario.f.components.us.id]: 'major_outage',
      },
    })
    // A template, so that the incident form shows its template picker too.
    await incidents.saveTemplate(scenario.f.actor, scenario.f.page.id, null, {
      name: 'Outage',
      title: 'Service unavailable',
      status: 'investigating',
      impact: 'major',
      body: 'We are investigating.',
    })
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
    } finally {
      await context.close()
    }
  }

  it(
    'tells every status on the public page in text, never by colour alone',
    async () => {
      await withPage(async (page) => {
        expect((await page.goto(`/p/${slug}`))?.status()).toBe(200)
        const elements = await page.evaluate<StatusElement[]>(STATUS_ELEMENTS)
        const classes = elements.map((e) => e.classes).join(' ')
        // The scenario shows them all: a sanity check that the selector finds what it should.
        for (const expected of [
          'banner-',
          'status-partial_outage',
          'status-major_outage',
          'status-degraded_performance',
          'status-under_maintenance',
          'status-operational',
          'bar-',
          'impact-major',
        ])
          expect(classes).toContain(expected)
        const silent = elements.filter((e) => e.text === '')
        expect(silent).toEqual([])
        expect(elements.find((e) => e.classes.includes('status-partial_outage'))?.text).toBe(
          'Partial Outage',
        )
        expect(elements.find((e) => e.classes.includes('banner-'))?.text).toBe(
          'Major System Outage',
        )
      })
    },
    BROWSER_TEST_TIMEOUT,
  )

  it(
    'has exactly one h1 and one main landmark on the status, incident and history pages',
    async () => {
      await withPage(async (page) => {
        await page.goto(`/p/${slug}`)
        const visited: string[] = []
        for (const next of [
          // The open incident's own page, then the history, each by its link.
          page
            .getByRole('region', { name: 'Active incidents' })
            .getByRole('link', { name: scenario.open.name }),
          page.getByRole('contentinfo').getByRole('link', { name: 'Incident history' }),
          undefined,
        ]) {
          visited.push(new URL(page.url()).pathname)
          expect(await page.getByRole('heading', { level: 1 }).count()).toBe(1)
          expect(await page.locator('h1').count()).toBe(1)
          expect(await page.getByRole('main').count()).toBe(1)
          if (next !== undefined) await clickAndLand(page, next, /^\/p\//)
        }
        expect(visited).toEqual([
          `/p/${slug}`,
          `/p/${slug}/incidents/${scenario.open.id}`,
          `/p/${slug}/history`,
        ])
      })
    },
    BROWSER_TEST_TIMEOUT,
  )

  it(
    "labels every control of the dashboard's incident form",
    async () => {
      await withPage(async (page) => {
        await signInThroughForm(page, scenario.f.owner)
        await clickAndLand(
          page,
          page.getByRole('link', { name: scenario.f.page.name }),
          /^\/pages\/[^/]+$/,
        )
        await clickAndLand(
          page,
          page.getByRole('link', { name: 'Open an incident' }),
          /^\/pages\/[^/]+\/incidents\/new$/,
        )
        const controls = await page.evaluate<FormControl[]>(FORM_CONTROLS)
        // Template picker, title, status, impact, message, the components, notify, backdate.
        const names = controls.map((c) => c.control)
        for (const expected of [
          'select[name=template]',
          'input[name=name]',
          'select[name=status]',
          'select[name=impact]',
          'textarea[name=body]',
          `select[name=component_${scenario.f.components.api.id}]`,
          'input[name=deliverNotifications]',
          'input[name=displayAt]',
        ])
          expect(names).toContain(expected)
        expect(controls.filter((c) => c.label === '')).toEqual([])
        expect(
          controls.find(
            (c) => c.control === `select[name=component_${scenario.f.components.api.id}]`,
          )?.label,
        ).toBe('Core – API')
      })
    },
    BROWSER_TEST_TIMEOUT,
  )

  it(
    'reaches the sign-in button with Tab and signs in with the keyboard alone',
    async () => {
      await withPage(async (page) => {
        await page.goto('/login')
        const stops: string[] = []
        for (let i = 0; i < 10; i++) {
          await page.keyboard.press('Tab')
          const focused = await page.evaluate<string>(FOCUSED)
          stops.push(focused)
          if (focused === 'input[name=email]') await page.keyboard.type(scenario.f.owner.email)
          if (focused === 'input[name=password]')
            await page.keyboard.type(scenario.f.owner.password)
          if (focused === 'button "Sign in"') break
        }
        expect(stops[0]).toBe('a "Skip to content"')
        expect(stops.slice(-3)).toEqual([
          'input[name=email]',
          'input[name=password]',
          'button "Sign in"',
        ])
        const navigated = page.waitForURL(/\/a\/[^/]+$/, { waitUntil: 'load' })
        await page.keyboard.press('Enter')
        await navigated
        expect(new URL(page.url()).pathname).toBe(`/a/${scenario.f.owner.accountId}`)
      })
    },
    BROWSER_TEST_TIMEOUT,
  )
})
