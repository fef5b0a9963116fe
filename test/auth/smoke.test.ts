import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import { signIn, TestBrowser } from '../helpers/browser.js'
import { createOwner } from '../helpers/factories.js'
import { testDialects } from '../helpers/test-db.js'

describe.each(testDialects)('sign-in smoke (%s)', (dialect) => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp(dialect)
  })
  afterAll(async () => {
    await t.close()
  })

  it('signs in an owner and shows the dashboard', async () => {
    const owner = await createOwner(t)
    const browser = new TestBrowser(t.app)
    const response = await signIn(browser, owner.email, owner.password)
    expect(response.status).toBe(303)
    expect(response.location).toBe('/dashboard')
    const dashboard = await browser.get('/dashboard')
    expect(dashboard.location).toBe(`/a/${owner.accountId}`)
    const page = await browser.get(dashboard.location!)
    expect(page.status).toBe(200)
    expect(page.body).toContain('owner')
  })
})
