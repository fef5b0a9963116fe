import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import { signIn, TestBrowser } from '../helpers/browser.js'
import { addMember, createOwner, type CreatedOwner } from '../helpers/factories.js'
import { accountName, normalisePage, uniqueIp } from '../helpers/http.js'
import { testDialects } from '../helpers/test-db.js'

describe.each(testDialects)('tenancy and roles (%s)', (dialect) => {
  let t: TestApp
  beforeAll(async () => {
    t = await buildTestApp(dialect)
  })
  afterAll(async () => {
    await t.close()
  })

  async function signedInBrowser(user: { email: string; password: string }): Promise<TestBrowser> {
    const browser = new TestBrowser(t.app, { ip: uniqueIp() })
    expect((await signIn(browser, user.email, user.password)).status).toBe(303)
    return browser
  }

  describe('another account', () => {
    let a: CreatedOwner
    let b: CreatedOwner
    let browser: TestBrowser
    beforeAll(async () => {
      a = await createOwner(t, { accountName: 'Alpha Inc' })
      b = await createOwner(t, { accountName: 'Bravo Ltd' })
      browser = await signedInBrowser(a)
      await browser.get(`/a/${a.accountId}/settings`)
    })

    it.each(['', '/settings', '/mail'])('is not found at /a/<B>%s', async (suffix) => {
      const response = await browser.get(`/a/${b.accountId}${suffix}`)
      expect(response.status).toBe(404)
      expect(response.body).not.toContain('Bravo Ltd')
    })

    it('looks exactly like an account that does not exist', async () => {
      const other = await browser.get(`/a/${b.accountId}/settings`)
      const missing = await browser.get('/a/doesnotexist/settings')
      expect(missing.status).toBe(404)
      expect(normalisePage(other.body)).toBe(normalisePage(missing.body))
    })

    it('cannot be renamed by a member of another account', async () => {
      const response = await browser.post(`/a/${b.accountId}/settings`, { name: 'Owned by Alpha' })
      expect(response.status).toBe(404)
      expect(await accountName(t, b.accountId)).toBe('Bravo Ltd')
    })

    it('is not in the account switcher', async () => {
      const page = await browser.get(`/a/${a.accountId}`)
      expect(page.status).toBe(200)
      expect(page.body).toContain('Alpha Inc')
      expect(page.body).not.toContain('Bravo Ltd')
      expect(page.body).not.toContain(b.accountId)
    })
  })

  describe('roles inside an account', () => {
    it.each(['viewer', 'editor'] as const)('a %s cannot rename the account (403)', async (role) => {
      const owner = await createOwner(t, { accountName: 'Fixed Name' })
      const member = await addMember(t, owner.accountId, role)
      const browser = await signedInBrowser(member)

      const settings = await browser.get(`/a/${owner.accountId}/settings`)
      expect(settings.status).toBe(200)
      expect(settings.body).toContain('Only admins and the owner can change it.')
      expect(settings.body).not.toContain('name="name"')

      const response = await browser.post(`/a/${owner.accountId}/settings`, { name: 'Renamed' })
      expect(response.status).toBe(403)
      expect(response.body).toContain(`you are ${role}`)
      expect(await accountName(t, owner.accountId)).toBe('Fixed Name')
    })

    it.each(['admin', 'owner'] as const)('an %s can rename the account', async (role) => {
      const owner = await createOwner(t, { accountName: 'Old Name' })
      const user = role === 'owner' ? owner : await addMember(t, owner.accountId, role)
      const browser = await signedInBrowser(user)
      const settings = await browser.get(`/a/${owner.accountId}/settings`)
      expect(settings.body).toContain('name="name"')

      const response = await browser.post(`/a/${owner.accountId}/settings`, {
        name: `  Renamed by ${role}  `,
      })
      expect(response.status).toBe(303)
      expect(response.location).toBe(`/a/${owner.accountId}/settings?saved=1`)
      expect(await accountName(t, owner.accountId)).toBe(`Renamed by ${role}`)
      const page = await browser.get(response.location!)
      expect(page.body).toContain('Saved.')
      expect(page.body).toContain(`value="Renamed by ${role}"`)
    })

    it('shows the role on the overview', async () => {
      const owner = await createOwner(t)
      const editor = await addMember(t, owner.accountId, 'editor')
      const browser = await signedInBrowser(editor)
      const page = await browser.get(`/a/${owner.accountId}`)
      expect(page.body).toContain('You are <strong>editor</strong> of this account.')
    })
  })

  describe('without a session', () => {
    it('sends a page view to /login', async () => {
      const browser = new TestBrowser(t.app, { ip: uniqueIp() })
      for (const path of ['/a/x', '/a/x/settings', '/a/x/mail', '/dashboard', '/profile']) {
        const response = await browser.get(path)
        expect(response.status).toBe(302)
        expect(response.location).toBe('/login')
      }
    })

    it('answers a form post with a valid CSRF token with 401 and changes nothing', async () => {
      const owner = await createOwner(t, { accountName: 'Untouched' })
      const browser = new TestBrowser(t.app, { ip: uniqueIp() })
      await browser.get('/login')
      const response = await browser.post(`/a/${owner.accountId}/settings`, { name: 'Anonymous' })
      expect(response.status).toBe(401)
      expect(await accountName(t, owner.accountId)).toBe('Untouched')

      for (const path of ['/profile', '/profile/password', '/profile/sessions/revoke-all']) {
        const other = await browser.post(path, {
          name: 'x',
          currentPassword: 'x',
          newPassword: 'y'.repeat(12),
        })
        expect(other.status).toBe(401)
      }
    })
  })
})
