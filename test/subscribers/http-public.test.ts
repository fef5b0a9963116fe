import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLinkSigner } from '../../src/domain/subscribers/links.js'
import { redactUrl } from '../../src/logger.js'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import { TestBrowser } from '../helpers/browser.js'
import { normalisePage, uniqueIp } from '../helpers/http.js'
import { createPageFixture } from '../helpers/page-factories.js'
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js'
import { testDialects } from '../helpers/test-db.js'
import { multipartBody, postForm } from '../dashboard/dashboard-helpers.js'
import { dangerousMarkup, tags, textOf } from '../public-html/html.js'
import {
  activeSubscriber,
  CONFIRM_LINK,
  consentVersionIn,
  linkIn,
  mailTo,
  subscribeThroughForm,
  subscriberRow,
  visitor,
} from './http-helpers.js'

describe.each(testDialects)('subscriptions on the public page (%s)', (dialect) => {
  let t: TestApp
  let smtp: SmtpSink

  beforeAll(async () => {
    smtp = await startSmtpSink()
    t = await buildTestApp(dialect, { smtpPort: smtp.port })
  })
  afterAll(async () => {
    await t.close()
    await smtp.close()
  })

  const { db } = { db: () => t.runtime.database.db }

  it('shows the subscribe form: components in their groups, the consent text right above the button, a hidden honeypot', async () => {
    const f = await createPageFixture(t)
    await t.runtime.services.subscribers.updateSettings(f.actor, f.page.id, {
      privacyNotice: 'Acme keeps your address until you unsubscribe. Contact dpo@acme.example.',
    })
    const browser = visitor(t)
    const page = await browser.get(`/p/${f.page.slug}/subscribe`)
    expect(page.status).toBe(200)
    expect(page.headers['content-security-policy']).toContain("script-src 'self'")
    expect(page.headers['cache-control']).toBe('no-store')
    expect(dangerousMarkup(page.body)).toEqual([])

    const all = tags(page.body)
    const form = all.find(
      (tag) => tag.name === 'form' && tag.attrs['action'] === `/p/${f.page.slug}/subscribe`,
    )
    expect(form?.attrs['method']).toBe('post')
    const boxes = all.filter((tag) => tag.name === 'input' && tag.attrs['name'] === 'componentIds')
    expect(boxes.map((b) => b.attrs['value']).sort()).toEqual(
      [
        f.groups.core.id,
        f.groups.regions.id,
        f.components.api.id,
        f.components.web.id,
        f.components.eu.id,
        f.components.us.id,
      ].sort(),
    )
    // Each group comes before its own components.
    const at = (id: string) => boxes.findIndex((b) => b.attrs['value'] === id)
    expect(at(f.groups.core.id)).toBeLessThan(at(f.components.api.id))
    expect(at(f.groups.regions.id)).toBeLessThan(at(f.components.eu.id))
    const text = textOf(page.body)
    for (const name of [
      'Core (the whole group)',
      'API',
      'Website',
      'Regions (the whole group)',
      'EU',
      'US',
    ])
      expect(text).toContain(name)

    const { consentText, consentVersion } = await t.runtime.services.subscribers.subscribeForm(
      f.page.id,
    )
    expect(consentVersionIn(page.body)).toBe(consentVersion)
    const consentAt = page.body.indexOf('I agree to receive email notifications')
    const noticeAt = page.body.indexOf('Acme keeps your address until you unsubscribe.')
    const buttonAt = page.body.indexOf('<button', noticeAt)
    expect(consentAt).toBeGreaterThan(0)
    expect(consentAt).toBeLessThan(noticeAt)
    expect(noticeAt).toBeLessThan(buttonAt)
    expect(page.body.slice(buttonAt)).toMatch(/^<button type="submit"[^>]*>Subscribe<\/button>/)
    expect(text).toContain(consentText.split('\n\n')[0] ?? '')
    // Nothing between the consent text and the button but the button itself.
    expect(textOf(page.body.slice(noticeAt, buttonAt))).toBe(
      'Acme keeps your address until you unsubscribe. Contact dpo@acme.example.',
    )

    const honeypot = all.find((tag) => tag.name === 'input' && tag.attrs['name'] === 'website')
    expect(honeypot?.attrs).toMatchObject({ autocomplete: 'off', tabindex: '-1', type: 'text' })
    const wrapper = [...all]
      .filter((tag) => tag.at < (honeypot?.at ?? 0))
      .reverse()
      .find((tag) => tag.attrs['class']?.includes('subscribe-hp'))
    expect(wrapper?.attrs['aria-hidden']).toBe('true')
    expect(honeypot?.attrs['style']).toBeUndefined()
    const css = readFileSync(new URL('../../public/status.css', import.meta.url), 'utf8')
    expect(css).toMatch(/\.subscribe-hp\s*\{[^}]*position:\s*absolute/)
    expect(all.some((tag) => tag.name === 'input' && tag.attrs['name'] === '_csrf')).toBe(true)

    // The manage-link form is there too.
    expect(
      all.some(
        (tag) =>
          tag.name === 'form' && tag.attrs['action'] === `/p/${f.page.slug}/subscribe/manage-link`,
      ),
    ).toBe(true)
  })

  it('links to the subscribe page from the status page, in English and French, on both hosts', async () => {
    const f = await createPageFixture(t, { locale: 'fr' })
    const browser = visitor(t)
    const french = await browser.get(`/p/${f.page.slug}`)
    expect(french.status).toBe(200)
    const link = tags(french.body).find(
      (tag) => tag.name === 'a' && tag.attrs['href'] === `/p/${f.page.slug}/subscribe`,
    )
    expect(link).toBeDefined()
    expect(textOf(french.body)).toContain('S’abonner aux mises à jour')
    const english = await browser.get(`/p/${f.page.slug}?lang=en`)
    expect(textOf(english.body)).toContain('Subscribe to updates')
    // The cached page holds no per-visitor data: two visitors get the very same bytes.
    expect((await visitor(t).get(`/p/${f.page.slug}`)).body).toBe(french.body)

    const host = { host: `${f.page.slug}.candor.test` }
    const onHost = await browser.request('GET', '/', undefined, host)
    expect(
      tags(onHost.body).some((tag) => tag.name === 'a' && tag.attrs['href'] === '/subscribe'),
    ).toBe(true)
    const form = await browser.request('GET', '/subscribe', undefined, host)
    expect(form.status).toBe(200)
    expect(textOf(form.body)).toContain('S’abonner aux mises à jour')
    expect(
      tags(form.body).some((tag) => tag.name === 'form' && tag.attrs['action'] === '/subscribe'),
    ).toBe(true)
  })

  it('answers the same "check your inbox" page to a new address, a subscribed one and a bot', async () => {
    const f = await createPageFixture(t)
    const base = `/p/${f.page.slug}`
    const email = `same-answer-${String(Date.now())}@example.com`

    const first = await subscribeThroughForm(visitor(t), base, {
      email,
      componentIds: [f.components.api.id],
    })
    expect(first.status).toBe(200)
    expect(textOf(first.body)).toContain('Check your inbox')
    const confirmation = await mailTo(t, smtp, email, /^Confirm your subscription/)
    const confirmPath = `/subscriptions/confirm/${linkIn(confirmation, CONFIRM_LINK)}`
    // A link checker's HEAD or GET confirms nothing: the GET asks, its button POSTs.
    expect((await t.app.inject({ method: 'HEAD', url: confirmPath })).statusCode).toBe(200)
    const person = visitor(t)
    const asked = await person.get(confirmPath)
    expect(asked.status).toBe(200)
    expect(textOf(asked.body)).toContain('Confirm my subscription')
    expect((await subscriberRow(t, f.page.id))[0]?.state).toBe('pending')
    expect((await person.post(confirmPath, {}, { omitCsrf: true })).status).toBe(403)
    expect((await subscriberRow(t, f.page.id))[0]?.state).toBe('pending')
    const confirmed = await person.post(confirmPath, {})
    expect(confirmed.status).toBe(200)
    expect((await person.post(confirmPath, {})).status).toBe(404)
    expect(textOf(confirmed.body)).toContain('You are subscribed')

    const again = await subscribeThroughForm(visitor(t), base, { email: email.toUpperCase() })
    expect(again.status).toBe(200)
    await mailTo(t, smtp, email, /already subscribed/)

    const bot = `bot-${String(Date.now())}@example.com`
    const honeypot = await subscribeThroughForm(visitor(t), base, {
      email: bot,
      website: 'https://spam.example',
    })
    expect(honeypot.status).toBe(200)

    expect(normalisePage(again.body)).toBe(normalisePage(first.body))
    expect(normalisePage(honeypot.body)).toBe(normalisePage(first.body))
    const rows = await subscriberRow(t, f.page.id)
    expect(rows).toHaveLength(1)
    expect(rows[0]?.state).toBe('active')
    await t.runtime.background.drain()
    expect(smtp.messages.some((m) => m.to.includes(bot))).toBe(false)
  })

  it('shows the form again with a message (400) for an invalid address, in the page language', async () => {
    const f = await createPageFixture(t)
    const browser = visitor(t)
    const answer = await subscribeThroughForm(browser, `/p/${f.page.slug}`, {
      email: 'not-an-address',
      componentIds: [f.components.eu.id],
    })
    expect(answer.status).toBe(400)
    expect(textOf(answer.body)).toContain('Enter an email address like name@example.com.')
    const kept = tags(answer.body).find(
      (tag) => tag.name === 'input' && tag.attrs['value'] === f.components.eu.id,
    )
    expect(kept?.attrs['checked']).toBeDefined()
    expect(tags(answer.body).find((tag) => tag.attrs['name'] === 'email')?.attrs['value']).toBe(
      'not-an-address',
    )
    expect(await subscriberRow(t, f.page.id)).toHaveLength(0)

    const french = await createPageFixture(t, { locale: 'fr' })
    const frenchAnswer = await subscribeThroughForm(visitor(t), `/p/${french.page.slug}`, {
      email: 'nope',
    })
    expect(frenchAnswer.status).toBe(400)
    expect(textOf(frenchAnswer.body)).toContain('Saisissez une adresse e-mail')
  })

  it('answers 429 with Retry-After when one address sends too many requests', async () => {
    const f = await createPageFixture(t)
    const browser = visitor(t)
    let last = await subscribeThroughForm(browser, `/p/${f.page.slug}`, { email: 'x0@example.com' })
    for (let i = 1; i < 15 && last.status !== 429; i++)
      last = await subscribeThroughForm(browser, `/p/${f.page.slug}`, {
        email: `x${String(i)}@example.com`,
      })
    expect(last.status).toBe(429)
    expect(Number(last.headers['retry-after'])).toBeGreaterThan(0)
    expect(textOf(last.body)).toContain('Too many requests')
  })

  it('sends a manage link to a subscribed address and answers everyone the same', async () => {
    const f = await createPageFixture(t)
    const email = `manage-${String(Date.now())}@example.com`
    await activeSubscriber(t, smtp, f, email)
    const base = `/p/${f.page.slug}`
    const ask = async (address: string) => {
      const browser = visitor(t)
      await browser.get(`${base}/subscribe`)
      return postForm(browser, `${base}/subscribe/manage-link`, { email: address })
    }
    const known = await ask(email)
    const unknown = await ask('nobody@example.com')
    expect(known.status).toBe(200)
    expect(normalisePage(unknown.body)).toBe(normalisePage(known.body))
    const mail = await mailTo(t, smtp, email, /^Manage your subscription/)
    expect(mail.raw).toMatch(/\/subscriptions\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/)
    expect((await ask('bad')).status).toBe(400)
  })

  it('manage page: changes components, downloads the data as an attachment, erases', async () => {
    const f = await createPageFixture(t)
    const email = `self-service-${String(Date.now())}@example.com`
    const token = await activeSubscriber(t, smtp, f, email)
    const browser = visitor(t)
    const manage = await browser.get(`/subscriptions/${token}`)
    expect(manage.status).toBe(200)
    expect(textOf(manage.body)).toContain(email)
    expect(manage.headers['x-robots-tag']).toContain('noindex')

    const saved = await postForm(browser, `/subscriptions/${token}`, [
      ['componentIds', f.components.api.id],
      ['componentIds', f.groups.regions.id],
    ])
    expect(saved.status).toBe(303)
    expect(saved.location).toBe(`/subscriptions/${token}?saved=components`)
    const row = (await subscriberRow(t, f.page.id))[0]
    expect(row?.all_components).toBeFalsy()
    const chosen = await db()
      .selectFrom('subscriber_components')
      .select('component_id')
      .where('subscriber_id', '=', row?.id ?? '')
      .execute()
    expect(chosen.map((c) => c.component_id).sort()).toEqual(
      [f.components.api.id, f.groups.regions.id].sort(),
    )
    const after = await browser.get(saved.location ?? '')
    expect(textOf(after.body)).toContain('Your choice is saved.')
    const invalid = await postForm(browser, `/subscriptions/${token}`, [['componentIds', 'nope']])
    expect(invalid.status).toBe(400)

    const exported = await browser.get(`/subscriptions/${token}/export`)
    expect(exported.status).toBe(200)
    expect(exported.headers['content-type']).toMatch(/^application\/json/)
    expect(exported.headers['content-disposition']).toMatch(/^attachment; filename=/)
    const data = JSON.parse(exported.body) as {
      address: string
      consent: { source: string; ip: string }
    }
    expect(data.address).toBe(email)
    expect(data.consent.source).toBe('form')
    expect(data.consent.ip).toMatch(/^10\./)

    await browser.get(`/subscriptions/${token}`)
    const unconfirmed = await postForm(browser, `/subscriptions/${token}/erase`, {})
    expect(unconfirmed.status).toBe(400)
    expect(await subscriberRow(t, f.page.id)).toHaveLength(1)
    const erased = await postForm(browser, `/subscriptions/${token}/erase`, { confirm: 'yes' })
    expect(erased.status).toBe(200)
    expect(textOf(erased.body)).toContain('Your data is erased')
    expect(await subscriberRow(t, f.page.id)).toHaveLength(0)
    const gone = await browser.get(`/subscriptions/${token}`)
    expect(gone.status).toBe(404)
    expect(textOf(gone.body)).toContain('This link no longer works')
  })

  it('one-click unsubscribe: a POST without cookies or CSRF token unsubscribes, a GET never does', async () => {
    const f = await createPageFixture(t)
    const token = await activeSubscriber(t, smtp, f, `one-click-${String(Date.now())}@example.com`)

    // A link scanner follows the link: nothing changes, a question with a button comes back.
    const scanner = new TestBrowser(t.app, { ip: uniqueIp() })
    const question = await scanner.get(`/subscriptions/${token}/unsubscribe`)
    expect(question.status).toBe(200)
    expect(
      tags(question.body).some(
        (tag) =>
          tag.name === 'form' && tag.attrs['action'] === `/subscriptions/${token}/unsubscribe`,
      ),
    ).toBe(true)
    expect((await subscriberRow(t, f.page.id))[0]?.state).toBe('active')

    // The mail provider's POST (RFC 8058): form-encoded, no cookie, no token.
    const oneClick = await t.app.inject({
      method: 'POST',
      url: `/subscriptions/${token}/unsubscribe`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'List-Unsubscribe=One-Click',
    })
    expect(oneClick.statusCode).toBe(200)
    expect(oneClick.body).toContain('You are unsubscribed')
    expect((await subscriberRow(t, f.page.id))[0]?.state).toBe('unsubscribed')
    // Idempotent.
    const twice = await t.app.inject({
      method: 'POST',
      url: `/subscriptions/${token}/unsubscribe`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'List-Unsubscribe=One-Click',
    })
    expect(twice.statusCode).toBe(200)

    // Some receivers send multipart/form-data; that works too.
    const other = await createPageFixture(t)
    const otherToken = await activeSubscriber(
      t,
      smtp,
      other,
      `multipart-${String(Date.now())}@example.com`,
    )
    const { payload, contentType } = multipartBody([], { 'List-Unsubscribe': 'One-Click' })
    const multipart = await t.app.inject({
      method: 'POST',
      url: `/subscriptions/${otherToken}/unsubscribe`,
      headers: { 'content-type': contentType },
      payload,
    })
    expect(multipart.statusCode).toBe(200)
    expect((await subscriberRow(t, other.page.id))[0]?.state).toBe('unsubscribed')
  })

  it('refuses every other state-changing request without a CSRF token', async () => {
    const f = await createPageFixture(t)
    const token = await activeSubscriber(t, smtp, f, `csrf-${String(Date.now())}@example.com`)
    const browser = visitor(t)
    await browser.get(`/p/${f.page.slug}/subscribe`)
    const refused = async (url: string, fields: Record<string, string>) => {
      const answer = await browser.post(url, fields, { omitCsrf: true })
      expect(answer.status, url).toBe(403)
    }
    await refused(`/p/${f.page.slug}/subscribe`, { email: 'forged@example.com' })
    await refused(`/p/${f.page.slug}/subscribe/manage-link`, { email: 'forged@example.com' })
    await refused(`/subscriptions/${token}`, { componentIds: f.components.api.id })
    await refused(`/subscriptions/${token}/erase`, { confirm: 'yes' })
    await refused(`/subscriptions/${token}/resubscribe`, {})
    await refused(`/pages/${f.page.id}/subscribers`, { channel: 'email', address: 'x@example.com' })
    const rows = await subscriberRow(t, f.page.id)
    expect(rows).toHaveLength(1)
    expect(rows[0]?.state).toBe('active')
    expect(rows[0]?.all_components).toBeTruthy()
  })

  it("a team member's link opts out and back in", async () => {
    const f = await createPageFixture(t)
    const signer = createLinkSigner(t.runtime.keyRing)
    const token = signer.sign(
      { kind: 'member', userId: f.owner.userId, pageId: f.page.id },
      new Date(t.clock.now().getTime() + 86_400_000),
    )
    const browser = visitor(t)
    const page = await browser.get(`/subscriptions/${token}`)
    expect(page.status).toBe(200)
    expect(textOf(page.body)).toContain('As a member of its team')
    const optedOut = await t.app.inject({
      method: 'POST',
      url: `/subscriptions/${token}/unsubscribe`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'List-Unsubscribe=One-Click',
    })
    expect(optedOut.statusCode).toBe(200)
    expect(await t.runtime.services.subscribers.memberOptedOut(f.actor, f.page.id)).toBe(true)
    await browser.get(`/subscriptions/${token}`)
    const back = await postForm(browser, `/subscriptions/${token}/resubscribe`, {})
    expect(back.status).toBe(303)
    expect(await t.runtime.services.subscribers.memberOptedOut(f.actor, f.page.id)).toBe(false)
    expect(textOf((await browser.get(back.location ?? '')).body)).toContain(
      'You will be notified again.',
    )
  })

  it("a private page's subscribe form answers as the page does and reveals nothing", async () => {
    const { pages } = t.runtime.services
    const f = await createPageFixture(t)
    await pages.updateAccess(f.actor, f.page.id, {
      visibility: 'password',
      password: 'a long page password',
    })
    const browser = visitor(t)
    const statusPage = await browser.get(`/p/${f.page.slug}`)
    const form = await browser.get(`/p/${f.page.slug}/subscribe`)
    expect(form.status).toBe(statusPage.status)
    expect(form.status).toBe(401)
    for (const secret of [f.page.name, 'API', 'I agree', 'consentVersion'])
      expect(form.body).not.toContain(secret)
    const post = await postForm(browser, `/p/${f.page.slug}/subscribe`, {
      email: 'outsider@example.com',
    })
    expect(post.status).toBe(404)
    expect(post.body).not.toContain(f.page.name)
    const manage = await postForm(browser, `/p/${f.page.slug}/subscribe/manage-link`, {
      email: 'outsider@example.com',
    })
    expect(manage.status).toBe(404)
    expect(await subscriberRow(t, f.page.id)).toHaveLength(0)

    // With the password, the form is there.
    await postForm(browser, `/p/${f.page.slug}/access`, { password: 'a long page password' })
    const allowed = await browser.get(`/p/${f.page.slug}/subscribe`)
    expect(allowed.status).toBe(200)
    expect(textOf(allowed.body)).toContain('API')

    for (const visibility of ['team', 'ip'] as const) {
      const p = await createPageFixture(t)
      await pages.updateAccess(p.actor, p.page.id, {
        visibility,
        ...(visibility === 'ip' ? { ipAllowlist: '192.0.2.0/24' } : {}),
      })
      const outsider = visitor(t)
      const page = await outsider.get(`/p/${p.page.slug}`)
      const subscribe = await outsider.get(`/p/${p.page.slug}/subscribe`)
      expect(subscribe.status).toBe(page.status)
      expect(subscribe.status).toBe(visibility === 'team' ? 401 : 403)
      expect(subscribe.body).not.toContain(p.page.name)
      expect(subscribe.body).not.toContain('API')
    }
    expect((await visitor(t).get('/p/no-such-page/subscribe')).status).toBe(404)
  })

  it('answers a tampered, used or expired link with a readable 404 page', async () => {
    const f = await createPageFixture(t)
    const token = await activeSubscriber(t, smtp, f, `expiry-${String(Date.now())}@example.com`)
    const browser = visitor(t)
    const [body, mac] = token.split('.')
    const tampered = [
      `${body ?? ''}.${(mac ?? '').slice(0, -2)}AA`,
      `${Buffer.from('{"k":"s","i":"x","g":1,"e":9999999999}').toString('base64url')}.${mac ?? ''}`,
      'garbage',
    ]
    for (const bad of tampered) {
      for (const path of ['', '/unsubscribe', '/export']) {
        const answer = await browser.get(`/subscriptions/${bad}${path}`)
        expect(answer.status, `${bad}${path}`).toBe(404)
        expect(textOf(answer.body)).toContain('This link no longer works')
      }
      const post = await t.app.inject({
        method: 'POST',
        url: `/subscriptions/${bad}/unsubscribe`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'List-Unsubscribe=One-Click',
      })
      expect(post.statusCode).toBe(404)
    }
    const french = await browser.request('GET', '/subscriptions/garbage', undefined, {
      'accept-language': 'fr-FR,fr;q=0.9',
    })
    expect(textOf(french.body)).toContain('Ce lien ne fonctionne plus')
    expect((await browser.get('/subscriptions/confirm/not-a-token')).status).toBe(404)

    // An expired manage link, and an expired confirmation link (the clock moves: last test).
    const signer = createLinkSigner(t.runtime.keyRing)
    const row = (await subscriberRow(t, f.page.id))[0]
    const expired = signer.sign(
      { kind: 'subscriber', subscriberId: row?.id ?? '', generation: row?.manage_generation ?? 1 },
      new Date(t.clock.now().getTime() - 1000),
    )
    expect((await browser.get(`/subscriptions/${expired}`)).status).toBe(404)

    const pending = `pending-${String(Date.now())}@example.com`
    await subscribeThroughForm(visitor(t), `/p/${f.page.slug}`, { email: pending })
    const mail = await mailTo(t, smtp, pending, /^Confirm/)
    t.clock.advance(t.config.notify.confirmTtlMs + 60_000)
    const late = await browser.get(`/subscriptions/confirm/${linkIn(mail, CONFIRM_LINK)}`)
    expect(late.status).toBe(404)
    expect(textOf(late.body)).toContain('This link no longer works')
  })
})

describe('request logs', () => {
  it('never hold the token of a subscription link', () => {
    expect(redactUrl('/subscriptions/eyJrIjoicyJ9.mac-value')).toBe('/subscriptions/[redacted]')
    expect(redactUrl('/subscriptions/abc.def/unsubscribe?lang=fr')).toBe(
      '/subscriptions/[redacted]/unsubscribe?lang=fr',
    )
    expect(redactUrl('/subscriptions/confirm/Zm9v_bar-1')).toBe('/subscriptions/confirm/[redacted]')
    expect(redactUrl('/p/acme/subscribe')).toBe('/p/acme/subscribe')
  })
})
