import { existsSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import {
  chromium,
  type Browser,
  type BrowserContext,
  type Locator,
  type Page,
} from 'playwright-core'
import { expect } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import type { TestDialect } from '../helpers/test-db.js'

/**
 * Real Chromium against a real listening server. Debian's Chromium is used as installed
 * (.ci/run installs it when missing): browser downloads are not possible here, so
 * `playwright install` is never run. CHROMIUM_PATH overrides the binary's location.
 */
export const CHROMIUM_PATH = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium'

/** Browser tests drive real page loads on a 2-core machine, often next to other suites. */
export const BROWSER_TEST_TIMEOUT = 120_000

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH))
    throw new Error(
      `No Chromium at ${CHROMIUM_PATH}: install Debian's (apt-get install chromium; .ci/run does) ` +
        'or set CHROMIUM_PATH. Browser downloads (playwright install) are not used.',
    )
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-quic',
    ],
    timeout: 60_000,
  })
}

export interface LiveApp extends TestApp {
  /** http://127.0.0.1:<port>: 127.0.0.1 is a main host, so the dashboard answers there. */
  origin: string
}

/** The whole application on a throwaway database, listening on a free loopback port. */
export async function startLiveApp(dialect: TestDialect): Promise<LiveApp> {
  const t = await buildTestApp(dialect)
  await t.app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = t.app.server.address() as AddressInfo
  return Object.assign(t, { origin: `http://127.0.0.1:${String(port)}` })
}

/** A fresh context: its own cookies and cache, with the console watched for CSP violations. */
export async function newContext(
  browser: Browser,
  origin: string,
  watcher: ConsoleWatcher,
): Promise<BrowserContext> {
  const context = await browser.newContext({
    baseURL: origin,
    viewport: { width: 1280, height: 900 },
  })
  context.setDefaultTimeout(30_000)
  context.setDefaultNavigationTimeout(30_000)
  // Runs before any page script and outside the page's CSP (it is injected by the browser
  // itself), so every violation is reported even if the browser's own wording changes.
  await context.addInitScript(`document.addEventListener('securitypolicyviolation', (event) => {
    console.error('CSP violation: ' + event.violatedDirective + ' blocked ' + (event.blockedURI || 'inline') + ' in ' + event.documentURI)
  })`)
  context.on('page', (page) => watcher.watch(page))
  return context
}

/** Everything the pages said on the console or threw, with the URL they were on. */
export class ConsoleWatcher {
  readonly messages: { type: string; text: string; url: string }[] = []
  readonly pageErrors: string[] = []
  /** Every response with a 4xx or 5xx status: a broken stylesheet, image or link. */
  readonly failedResponses: string[] = []

  watch(page: Page): void {
    page.on('console', (message) => {
      // For a resource that failed to load, location() names the resource, not the page.
      const source = message.location().url
      this.messages.push({
        type: message.type(),
        text:
          source === '' || source === page.url() ? message.text() : `${message.text()} (${source})`,
        url: page.url(),
      })
    })
    page.on('pageerror', (error) => {
      this.pageErrors.push(`${page.url()}: ${error.message}`)
    })
    page.on('response', (response) => {
      if (response.status() >= 400)
        this.failedResponses.push(`${String(response.status())} ${response.url()}`)
    })
  }

  /** Messages that report a Content-Security-Policy violation. */
  cspViolations(): string[] {
    return this.messages
      .filter((m) => /content security policy|CSP violation/i.test(m.text))
      .map((m) => `${m.url}: ${m.text}`)
  }

  /** Console errors, including any failed load (the favicon included). */
  errors(): string[] {
    return this.messages.filter((m) => m.type === 'error').map((m) => `${m.url}: ${m.text}`)
  }
}

/**
 * Clicks something that loads a new document (a link or a form's submit button), waits for that
 * document to load and checks where the browser landed: a form post answered by a 303 lands on
 * the redirect's target, one answered with a re-rendered form (422) stays on the form's action.
 */
export async function clickAndLand(page: Page, target: Locator, url: RegExp): Promise<void> {
  // The next document, not the current one: the target may be the URL the page is already on.
  const navigated = page.waitForEvent('framenavigated', {
    predicate: (frame) => frame === page.mainFrame(),
  })
  await target.click()
  await navigated
  await page.waitForLoadState('load')
  const landed = new URL(page.url())
  expect(landed.pathname + landed.search).toMatch(url)
}

/** Signs in through the real form, as a person would, and lands on the dashboard. */
export async function signInThroughForm(
  page: Page,
  login: { email: string; password: string },
): Promise<void> {
  await page.goto('/login')
  await page.locator('input[name="email"]').fill(login.email)
  await page.locator('input[name="password"]').fill(login.password)
  await clickAndLand(page, page.getByRole('button', { name: 'Sign in', exact: true }), /^\/a\//)
}

/** The text of an element as assistive technology reads it: aria-hidden subtrees left out. */
export const SPOKEN_TEXT_FUNCTION = `function spokenText(element) {
  if (element.getAttribute('aria-hidden') === 'true') return ''
  let text = ''
  for (const node of element.childNodes) {
    if (node.nodeType === Node.TEXT_NODE) text += node.textContent
    else if (node.nodeType === Node.ELEMENT_NODE) text += spokenText(node)
  }
  return text
}`
