import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp } from '../helpers/build-app.js'
import { createOwner, type CreatedOwner } from '../helpers/factories.js'
import { TestIdp } from '../helpers/saml-idp.js'
import { testDialects } from '../helpers/test-db.js'
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

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as AddressInfo).port
}

/**
 * Candor listening on a loopback port that is also its BASE_URL: the SAML URLs it gives the IdP
 * (ACS, SLO) are built from BASE_URL, and the browser has to reach them.
 */
async function startSamlApp(dialect: (typeof testDialects)[number]): Promise<LiveApp> {
  const probe = createServer()
  const port = await listen(probe)
  await new Promise((resolve) => probe.close(resolve))
  const origin = `http://127.0.0.1:${String(port)}`
  const t = await buildTestApp(dialect, { env: { BASE_URL: origin } })
  await t.app.listen({ port, host: '127.0.0.1' })
  return Object.assign(t, { origin })
}

function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
}

describe.each(testDialects)('SAML sign-in in Chromium (%s)', (dialect) => {
  let t: LiveApp
  let owner: CreatedOwner
  let idpServer: Server
  let idp: TestIdp
  let acsUrl = ''
  const person = `sam-${dialect}@example.org`

  /**
   * A small IdP web app: its sign-in page reads Candor's AuthnRequest (checking its signature)
   * and shows a form that posts a signed assertion to Candor's ACS when the person clicks.
   */
  async function handleIdp(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://idp.invalid')
    if (url.pathname !== '/sso') {
      response.writeHead(404).end()
      return
    }
    const authnRequest = await idp.readAuthnRequest(request.url ?? '')
    const samlResponse = await idp.signedResponse({
      nameID: person,
      email: person,
      name: 'Sam Browser',
      inResponseTo: authnRequest.id,
      sessionIndex: 'browser-session',
    })
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(
      `<!doctype html><html lang="en"><head><title>Test IdP</title></head><body>
<h1>Test identity provider</h1>
<form method="post" action="${escapeHtml(acsUrl)}">
<input type="hidden" name="SAMLResponse" value="${escapeHtml(samlResponse)}">
<input type="hidden" name="RelayState" value="${escapeHtml(authnRequest.relayState ?? '')}">
<button type="submit">Sign in as ${escapeHtml(person)}</button>
</form></body></html>`,
    )
  }

  beforeAll(async () => {
    idpServer = createServer((request, response) => {
      handleIdp(request, response).catch(() => {
        response.writeHead(500).end('IdP error')
      })
    })
    const idpOrigin = `http://127.0.0.1:${String(await listen(idpServer))}`
    idp = new TestIdp(`${idpOrigin}/metadata`, `${idpOrigin}/sso`, `${idpOrigin}/slo`)
    t = await startSamlApp(dialect)
    owner = await createOwner(t, { accountName: 'Saml Co' })
  }, BROWSER_TEST_TIMEOUT)

  afterAll(async () => {
    await t.close()
    await new Promise((resolve) => idpServer.close(resolve))
  }, BROWSER_TEST_TIMEOUT)

  it(
    'an admin connects the IdP from its metadata; a new person signs in through it',
    async () => {
      const watcher = new ConsoleWatcher()
      const adminContext = await newContext(browser, t.origin, watcher)
      const personContext = await newContext(browser, t.origin, watcher)
      try {
        // 1. The owner sets up the connection with the settings form.
        const admin = await adminContext.newPage()
        await signInThroughForm(admin, owner)
        await admin.goto(`/a/${owner.accountId}/settings/sso/saml/new`)
        await admin.getByLabel('Name', { exact: true }).fill('Test IdP')
        await admin.getByLabel('Turned on: people can sign in with it').check()
        await admin.getByLabel('Metadata XML').fill(idp.metadata())
        await admin.getByLabel('Allowed email domains').fill('example.org')
        await admin.getByLabel(/^Just-in-time provisioning/).check()
        await admin.getByLabel('Role of people added this way').selectOption('editor')
        await clickAndLand(
          admin,
          admin.getByRole('button', { name: 'Create connection' }),
          /\/settings\/sso\/saml\/[^/?]+\?saved=created$/,
        )
        const connectionId = /\/saml\/([^/?]+)\?/.exec(admin.url())?.[1] ?? ''
        acsUrl = `${t.origin}/sso/saml/${connectionId}/acs`
        const details = await admin.locator('dl.sp-details').innerText()
        expect(details).toContain(acsUrl)
        expect(details).toContain(`${t.origin}/sso/saml/${connectionId}/metadata`)

        // 2. The IdP's administrator loads Candor's metadata.
        const metadata = await fetch(`${t.origin}/sso/saml/${connectionId}/metadata`)
        expect(metadata.status).toBe(200)
        idp.trustServiceProvider(await metadata.text())

        // 3. Someone new starts at Candor, signs in at the IdP, and lands on the dashboard.
        const page = await personContext.newPage()
        await page.goto(`/sso/saml/${connectionId}/start`)
        expect(new URL(page.url()).pathname).toBe('/sso')
        await clickAndLand(
          page,
          page.getByRole('button', { name: `Sign in as ${person}` }),
          new RegExp(`^/a/${owner.accountId}$`),
        )
        expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe('Saml Co')
        expect(await page.getByRole('link', { name: 'Sam Browser' }).count()).toBe(1)

        expect(watcher.cspViolations()).toEqual([])
        expect(watcher.pageErrors).toEqual([])
      } finally {
        await adminContext.close()
        await personContext.close()
      }
    },
    BROWSER_TEST_TIMEOUT,
  )
})
