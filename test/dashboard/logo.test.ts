import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import { addMember } from '../helpers/factories.js'
import { createPageFixture, type PageFixture } from '../helpers/page-factories.js'
import { testDialects } from '../helpers/test-db.js'
import {
  browserFor,
  logoFormAction,
  postForm,
  postMultipart,
  tinyPng,
} from './dashboard-helpers.js'

describe.each(testDialects)('logo upload (%s)', (dialect) => {
  let t: TestApp
  let f: PageFixture

  beforeAll(async () => {
    t = await buildTestApp(dialect)
    f = await createPageFixture(t)
  })
  afterAll(async () => {
    await t.close()
  })

  async function editorOnSettings() {
    const editor = await addMember(t, f.owner.accountId, 'editor')
    const browser = await browserFor(t, editor)
    const settings = await browser.get(`/pages/${f.page.id}/settings`)
    expect(settings.status).toBe(200)
    return { browser, action: logoFormAction(settings.body) }
  }

  it('accepts a real PNG and removes it again', async () => {
    const { pages } = t.runtime.services
    const { browser, action } = await editorOnSettings()
    const png = tinyPng()
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG')
    const uploaded = await postMultipart(t, browser, action, [
      { name: 'logo', filename: 'logo.png', contentType: 'image/png', data: png },
    ])
    expect(uploaded.status).toBe(303)
    expect(uploaded.location).toBe(`/pages/${f.page.id}/settings?saved=logo`)
    expect((await pages.get(f.actor, f.page.id)).hasLogo).toBe(true)
    const after = await browser.get(uploaded.location!)
    expect(after.body).toContain('Logo uploaded.')
    expect(after.body).toContain('This page has a logo.')

    const removed = await postForm(browser, `/pages/${f.page.id}/logo/remove`, {})
    expect(removed.status).toBe(303)
    expect((await pages.get(f.actor, f.page.id)).hasLogo).toBe(false)
  })

  it('refuses a text file renamed .png', async () => {
    const { pages } = t.runtime.services
    const { browser, action } = await editorOnSettings()
    const refused = await postMultipart(t, browser, action, [
      {
        name: 'logo',
        filename: 'logo.png',
        contentType: 'image/png',
        data: Buffer.from('this is not an image, only text with a .png name\n'),
      },
    ])
    expect(refused.status).toBe(422)
    expect(refused.body).toContain('Upload a PNG, JPEG, GIF or WebP image.')
    expect(refused.body).toContain('enctype="multipart/form-data"')
    expect((await pages.get(f.actor, f.page.id)).hasLogo).toBe(false)
  })

  it('refuses an oversized file', async () => {
    const { pages } = t.runtime.services
    const { browser, action } = await editorOnSettings()
    const big = Buffer.concat([tinyPng(), Buffer.alloc(600 * 1024)])
    const refused = await postMultipart(t, browser, action, [
      { name: 'logo', filename: 'big.png', contentType: 'image/png', data: big },
    ])
    expect([413, 422]).toContain(refused.status)
    expect(refused.body).toContain('at most 512 KiB')
    expect((await pages.get(f.actor, f.page.id)).hasLogo).toBe(false)
  })

  it('asks for a file when the form is sent empty', async () => {
    const { browser, action } = await editorOnSettings()
    const empty = await postMultipart(t, browser, action, [])
    expect(empty.status).toBe(422)
    expect(empty.body).toContain('Choose an image file to upload.')
  })
})
