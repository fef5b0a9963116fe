import { DOMParser, XMLSerializer } from '@xmldom/xmldom'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { insertMembership } from '../../src/domain/accounts/membership-repository.js'
import { findUserByEmail } from '../../src/domain/accounts/user-repository.js'
import { buildTestApp, type TestApp } from '../helpers/build-app.js'
import { signIn, TestBrowser, type BrowserResponse } from '../helpers/browser.js'
import { addMember, createOwner, type CreatedOwner } from '../helpers/factories.js'
import { isSignedIn, sessionToken, uniqueIp } from '../helpers/http.js'
import { TestIdp } from '../helpers/saml-idp.js'
import { testDialects } from '../helpers/test-db.js'

const BASE = 'http://candor.test'
const IDP_ENTITY = 'https://idp.example.test/metadata'
const IDP_SSO = 'https://idp.example.test/sso'
const IDP_SLO = 'https://idp.example.test/slo'
const ASSERTION_NS = 'urn:oasis:names:tc:SAML:2.0:assertion'
const MINUTE = 60_000

let counter = 0
function uniqueEmail(local: string): string {
  counter++
  return `${local}${String(counter)}-${String(Date.now())}@example.org`
}

/** A path on Candor from an absolute URL the IdP sends the browser to. */
function localPath(url: string): string {
  expect(url.startsWith(`${BASE}/`)).toBe(true)
  return url.slice(BASE.length)
}

describe.each(testDialects)('SAML single sign-on (%s)', (dialect) => {
  let t: TestApp
  let owner: CreatedOwner
  let admin: TestBrowser
  let idp: TestIdp
  let connectionId: string

  const acsPath = () => `/sso/saml/${connectionId}/acs`

  async function userByEmail(email: string) {
    return findUserByEmail(t.runtime.database.db, t.runtime.keyRing, email)
  }

  async function postAcs(browser: TestBrowser, samlResponse: string, relayState?: string) {
    return browser.post(
      acsPath(),
      {
        SAMLResponse: samlResponse,
        ...(relayState === undefined ? {} : { RelayState: relayState }),
      },
      { omitCsrf: true },
    )
  }

  /** A person signed in through an IdP-initiated assertion, with its session index. */
  async function signedInBySaml(email: string, sessionIndex: string): Promise<TestBrowser> {
    const browser = new TestBrowser(t.app, { ip: uniqueIp() })
    const response = await postAcs(
      browser,
      await idp.signedResponse({ nameID: email, email, name: 'Sam L', sessionIndex }),
    )
    expect(response.status).toBe(303)
    expect(await isSignedIn(browser)).toBe(true)
    return browser
  }

  beforeAll(async () => {
    t = await buildTestApp(dialect)
    owner = await createOwner(t)
    admin = new TestBrowser(t.app, { ip: uniqueIp() })
    expect((await signIn(admin, owner.email, owner.password)).status).toBe(303)
    idp = new TestIdp(IDP_ENTITY, IDP_SSO, IDP_SLO)

    // Set up through the settings form, from the IdP's metadata, as an administrator would.
    await admin.get(`/a/${owner.accountId}/settings/sso/saml/new`)
    const created = await admin.post(`/a/${owner.accountId}/settings/sso/saml/new`, {
      name: 'Test IdP',
      enabled: 'true',
      allowedDomains: 'example.org',
      jitEnabled: 'true',
      defaultRole: 'editor',
      metadataXml: idp.metadata(),
    })
    expect(created.status).toBe(303)
    const match = /\/settings\/sso\/saml\/([^/?]+)\?saved=created$/.exec(created.location ?? '')
    expect(match).not.toBeNull()
    connectionId = match![1]!

    const metadata = await t.app.inject({ url: `/sso/saml/${connectionId}/metadata` })
    expect(metadata.statusCode).toBe(200)
    expect(metadata.headers['content-type']).toContain('application/samlmetadata+xml')
    idp.trustServiceProvider(metadata.body)
  })

  afterAll(async () => {
    await t.close()
  })

  describe('service provider metadata', () => {
    it('names the entity id, ACS, SLO and the certificate Candor signs with', async () => {
      const response = await t.app.inject({ url: `/sso/saml/${connectionId}/metadata` })
      const xml = response.body
      expect(xml).toContain(`entityID="${BASE}/sso/saml/${connectionId}/metadata"`)
      expect(xml).toContain(`Location="${BASE}/sso/saml/${connectionId}/acs"`)
      expect(xml).toContain(`Location="${BASE}/sso/saml/${connectionId}/slo"`)
      expect(xml).toContain('WantAssertionsSigned="true"')
      expect(xml).toMatch(/<ds:X509Certificate>[A-Za-z0-9+/=]{500,}<\/ds:X509Certificate>/)
      expect(xml).not.toContain('PRIVATE KEY')
    })

    it('is not found for an unknown connection', async () => {
      const response = await t.app.inject({ url: '/sso/saml/nope/metadata' })
      expect(response.statusCode).toBe(404)
    })
  })

  describe('sign-in', () => {
    it('SP-initiated: provisions an unknown person of an allowed domain, who reaches only this account', async () => {
      const browser = new TestBrowser(t.app, { ip: uniqueIp() })
      const start = await browser.get(`/sso/saml/${connectionId}/start?next=/profile`)
      expect(start.status).toBe(302)
      expect(start.location?.startsWith(`${IDP_SSO}?`)).toBe(true)
      // samlify checks the AuthnRequest's signature against the certificate in Candor's metadata.
      const request = await idp.readAuthnRequest(start.location!)
      expect(request.id).toMatch(/^_[0-9a-f]{40}$/)
      expect(request.relayState).toBe('/profile')

      const email = uniqueEmail('alice')
      const response = await postAcs(
        browser,
        await idp.signedResponse({
          nameID: email,
          email,
          name: 'Alice Example',
          inResponseTo: request.id,
          sessionIndex: 'idp-session-1',
        }),
        request.relayState,
      )
      expect(response.status).toBe(303)
      expect(response.location).toBe('/profile')
      expect(sessionToken(browser)).toBeDefined()

      const user = await userByEmail(email)
      expect(user?.name).toBe('Alice Example')
      const membership = await t.runtime.database.db
        .selectFrom('memberships')
        .select('role')
        .where('account_id', '=', owner.accountId)
        .where('user_id', '=', user!.id)
        .executeTakeFirst()
      expect(membership?.role).toBe('editor')
      expect((await browser.get(`/a/${owner.accountId}`)).status).toBe(200)

      // Even as a member of another account, this session does not reach it.
      const other = await createOwner(t)
      await insertMembership(t.runtime.database.db, {
        accountId: other.accountId,
        userId: user!.id,
        role: 'admin',
        canInvite: false,
        createdAt: new Date(),
      })
      expect((await browser.get(`/a/${other.accountId}`)).status).toBe(404)

      // The request is answered once: the same InResponseTo again is refused.
      const again = await postAcs(
        new TestBrowser(t.app, { ip: uniqueIp() }),
        await idp.signedResponse({ nameID: email, email, inResponseTo: request.id }),
      )
      expect(again.status).toBe(401)
    })

    it('IdP-initiated: accepted without InResponseTo, landing on the account', async () => {
      const email = uniqueEmail('bob')
      const browser = new TestBrowser(t.app, { ip: uniqueIp() })
      const response = await postAcs(browser, await idp.signedResponse({ nameID: email, email }))
      expect(response.status).toBe(303)
      expect(response.location).toBe(`/a/${owner.accountId}`)
    })

    it('sends the browser only to a path of this site after sign-in', async () => {
      for (const relayState of ['https://evil.example/', '//evil.example/x', '/\\evil.example']) {
        const email = uniqueEmail('relay')
        const response = await postAcs(
          new TestBrowser(t.app, { ip: uniqueIp() }),
          await idp.signedResponse({ nameID: email, email }),
          relayState,
        )
        expect(response.status).toBe(303)
        expect(response.location).toBe(`/a/${owner.accountId}`)
      }
    })

    it('refuses a person of a domain that is not allowed (403), creating no one', async () => {
      const email = `stranger${String(Date.now())}@elsewhere.example`
      const browser = new TestBrowser(t.app, { ip: uniqueIp() })
      const response = await postAcs(browser, await idp.signedResponse({ nameID: email, email }))
      expect(response.status).toBe(403)
      expect(response.body).toContain('Ask an administrator for an invitation')
      expect(sessionToken(browser)).toBeUndefined()
      expect(await userByEmail(email)).toBeUndefined()
    })

    it('does not take an email from a transient NameID that merely looks like one', async () => {
      const email = uniqueEmail('opaque')
      const response = await postAcs(
        new TestBrowser(t.app, { ip: uniqueIp() }),
        await idp.signedResponse({
          nameID: email,
          nameIDFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
        }),
      )
      expect(response.status).toBe(401)
      expect(await userByEmail(email)).toBeUndefined()
    })

    it('never signs in the account owner through the IdP', async () => {
      const response = await postAcs(
        new TestBrowser(t.app, { ip: uniqueIp() }),
        await idp.signedResponse({ nameID: owner.email, email: owner.email }),
      )
      expect(response.status).toBe(403)
      expect(response.body).toContain('The account owner signs in with their password')
    })

    it('refuses a response to a request Candor never sent', async () => {
      const email = uniqueEmail('unsolicited')
      const response = await postAcs(
        new TestBrowser(t.app, { ip: uniqueIp() }),
        await idp.signedResponse({ nameID: email, email, inResponseTo: '_made_up_request' }),
      )
      expect(response.status).toBe(401)
      expect(await userByEmail(email)).toBeUndefined()
    })
  })

  describe('refused assertions', () => {
    async function expectRefused(samlResponse: string, email: string): Promise<BrowserResponse> {
      const browser = new TestBrowser(t.app, { ip: uniqueIp() })
      const response = await postAcs(browser, samlResponse)
      expect(response.status).toBe(401)
      expect(response.body).toContain('identity provider')
      expect(sessionToken(browser)).toBeUndefined()
      expect(await userByEmail(email)).toBeUndefined()
      return response
    }

    it('an unsigned assertion', async () => {
      const email = uniqueEmail('unsigned')
      await expectRefused(idp.unsignedResponse({ nameID: email, email }), email)
    })

    it('an assertion signed by another key', async () => {
      const impostor = new TestIdp(IDP_ENTITY, IDP_SSO, IDP_SLO)
      impostor.trustServiceProvider(
        (await t.app.inject({ url: `/sso/saml/${connectionId}/metadata` })).body,
      )
      const email = uniqueEmail('impostor')
      await expectRefused(await impostor.signedResponse({ nameID: email, email }), email)
    })

    it('an assertion for another audience', async () => {
      const email = uniqueEmail('audience')
      await expectRefused(
        await idp.signedResponse({
          nameID: email,
          email,
          audience: 'https://another-sp.example/metadata',
        }),
        email,
      )
    })

    it('an assertion for another recipient', async () => {
      const email = uniqueEmail('recipient')
      await expectRefused(
        await idp.signedResponse({
          nameID: email,
          email,
          recipient: 'https://another-sp.example/acs',
        }),
        email,
      )
    })

    it('an assertion from another issuer, even signed with the trusted key', async () => {
      const email = uniqueEmail('issuer')
      await expectRefused(
        await idp.signedResponse({ nameID: email, email, issuer: 'https://other-idp.example' }),
        email,
      )
    })

    it('an expired assertion', async () => {
      const email = uniqueEmail('expired')
      await expectRefused(
        await idp.signedResponse({
          nameID: email,
          email,
          issuedAt: new Date(Date.now() - 20 * MINUTE),
          validForMs: 5 * MINUTE,
        }),
        email,
      )
    })

    it("an assertion that expired by Candor's clock", async () => {
      const email = uniqueEmail('late')
      const samlResponse = await idp.signedResponse({ nameID: email, email })
      t.clock.advance(10 * MINUTE)
      try {
        await expectRefused(samlResponse, email)
      } finally {
        t.clock.set(new Date())
      }
    })

    it('a replayed assertion', async () => {
      const email = uniqueEmail('replay')
      const samlResponse = await idp.signedResponse({ nameID: email, email })
      const first = new TestBrowser(t.app, { ip: uniqueIp() })
      expect((await postAcs(first, samlResponse)).status).toBe(303)

      const thief = new TestBrowser(t.app, { ip: uniqueIp() })
      const replayed = await postAcs(thief, samlResponse)
      expect(replayed.status).toBe(401)
      expect(sessionToken(thief)).toBeUndefined()
    })

    describe('XML signature wrapping', () => {
      /** A validly signed response for `victim`, parsed, with an unsigned copy naming `attacker`. */
      async function wrappingParts(victim: string, attacker: string) {
        const signed = Buffer.from(
          await idp.signedResponse({ nameID: victim, email: victim }),
          'base64',
        ).toString('utf8')
        const document = new DOMParser().parseFromString(signed, 'text/xml')
        const response = document.documentElement
        const original = document.getElementsByTagNameNS(ASSERTION_NS, 'Assertion').item(0)!
        const evil = original.cloneNode(true) as Element
        evil.setAttribute('ID', '_evil_assertion')
        const signature = evil
          .getElementsByTagNameNS('http://www.w3.org/2000/09/xmldsig#', 'Signature')
          .item(0)
        signature?.parentNode?.removeChild(signature)
        evil.getElementsByTagNameNS(ASSERTION_NS, 'NameID').item(0)!.textContent = attacker
        evil.getElementsByTagNameNS(ASSERTION_NS, 'AttributeValue').item(0)!.textContent = attacker
        return { document, response, original, evil }
      }

      const encode = (document: Document) =>
        Buffer.from(new XMLSerializer().serializeToString(document), 'utf8').toString('base64')

      it('refuses a second, unsigned assertion put before the signed one', async () => {
        const victim = uniqueEmail('victim')
        const attacker = uniqueEmail('mallory')
        const { document, response, original, evil } = await wrappingParts(victim, attacker)
        response.insertBefore(evil, original)
        await expectRefused(encode(document), attacker)
        expect(await userByEmail(victim)).toBeUndefined()
      })

      it('refuses an unsigned assertion wrapping the signed one', async () => {
        const victim = uniqueEmail('victim')
        const attacker = uniqueEmail('mallory')
        const { document, response, original, evil } = await wrappingParts(victim, attacker)
        response.replaceChild(evil, original)
        const advice = document.createElementNS(ASSERTION_NS, 'saml:Advice')
        advice.appendChild(original)
        evil.appendChild(advice)
        await expectRefused(encode(document), attacker)
        expect(await userByEmail(victim)).toBeUndefined()
      })
    })
  })

  describe('single log-out', () => {
    it('IdP-initiated: a signed LogoutRequest ends the session and is answered with a signed LogoutResponse', async () => {
      const email = uniqueEmail('slo')
      const browser = await signedInBySaml(email, 'idp-session-slo')
      const token = sessionToken(browser)!

      // Without its signature, the same request is refused and ends nothing.
      const url = idp.logoutRequestUrl(email, 'idp-session-slo')
      const unsigned = url.replace(/&Signature=[^&]*/, '')
      const refused = await new TestBrowser(t.app, { ip: uniqueIp() }).get(localPath(unsigned))
      expect(refused.status).toBe(401)
      expect(await isSignedIn(browser)).toBe(true)

      const answer = await new TestBrowser(t.app, { ip: uniqueIp() }).get(localPath(url))
      expect(answer.status).toBe(302)
      expect(answer.location?.startsWith(`${IDP_SLO}?SAMLResponse=`)).toBe(true)
      expect(answer.location).toContain('&Signature=')

      const stale = new TestBrowser(t.app, { ip: uniqueIp() })
      stale.cookies.set('candor_session', token)
      expect(await isSignedIn(stale)).toBe(false)
      expect(await isSignedIn(browser)).toBe(false)

      // Replaying the LogoutRequest is refused.
      expect((await new TestBrowser(t.app, { ip: uniqueIp() }).get(localPath(url))).status).toBe(
        401,
      )
    })

    it('IdP-initiated for another IdP session leaves this one alone', async () => {
      const email = uniqueEmail('slo-other')
      const browser = await signedInBySaml(email, 'idp-session-a')
      const url = idp.logoutRequestUrl(email, 'idp-session-b')
      expect((await new TestBrowser(t.app, { ip: uniqueIp() }).get(localPath(url))).status).toBe(
        302,
      )
      expect(await isSignedIn(browser)).toBe(true)
    })

    it('SP-initiated: signing out sends the browser to the IdP with a signed LogoutRequest', async () => {
      const email = uniqueEmail('splo')
      const browser = await signedInBySaml(email, 'idp-session-sp')
      const token = sessionToken(browser)!
      await browser.get(`/a/${owner.accountId}`)
      const out = await browser.post('/logout', {})
      expect(out.status).toBe(303)
      expect(out.location?.startsWith(`${IDP_SLO}?SAMLRequest=`)).toBe(true)

      // samlify checks the signature with Candor's certificate and reads who is signing out.
      const { nameID, responseUrl } = await idp.answerLogoutRequest(out.location!)
      expect(nameID).toBe(email)
      const stale = new TestBrowser(t.app, { ip: uniqueIp() })
      stale.cookies.set('candor_session', token)
      expect(await isSignedIn(stale)).toBe(false)

      const back = await browser.get(localPath(responseUrl))
      expect(back.status).toBe(200)
      expect(back.body).toContain('Signed out')
      // The LogoutResponse answers one request only.
      expect((await browser.get(localPath(responseUrl))).status).toBe(401)
    })

    it('a password session signs out to the sign-in page as before', async () => {
      const other = await createOwner(t)
      const browser = new TestBrowser(t.app, { ip: uniqueIp() })
      await signIn(browser, other.email, other.password)
      await browser.get(`/a/${other.accountId}`)
      const out = await browser.post('/logout', {})
      expect(out.status).toBe(303)
      expect(out.location).toBe('/login')
    })
  })

  describe('settings form', () => {
    it('shows the URLs to give to the IdP and what was read from its metadata', async () => {
      const page = await admin.get(`/a/${owner.accountId}/settings/sso/saml/${connectionId}`)
      expect(page.status).toBe(200)
      expect(page.body).toContain(`${BASE}/sso/saml/${connectionId}/acs`)
      expect(page.body).toContain(`${BASE}/sso/saml/${connectionId}/slo`)
      expect(page.body).toContain(`${BASE}/sso/saml/${connectionId}/metadata`)
      expect(page.body).toContain(IDP_ENTITY)
      expect(page.body).toContain(IDP_SSO)
      expect(page.body).toContain(IDP_SLO)
      expect(page.body).toContain('BEGIN CERTIFICATE')
      expect(page.body).not.toContain('PRIVATE KEY')
    })

    it('refuses invalid metadata XML with a readable message, saving nothing', async () => {
      const before = await countConnections()
      await admin.get(`/a/${owner.accountId}/settings/sso/saml/new`)
      const response = await admin.post(`/a/${owner.accountId}/settings/sso/saml/new`, {
        name: 'Broken',
        enabled: 'true',
        allowedDomains: 'example.org',
        metadataXml: '<EntityDescriptor><unclosed></EntityDescriptor>',
      })
      expect(response.status).toBe(400)
      expect(response.body).toContain('The metadata could not be read. This is not well-formed XML')
      expect(await countConnections()).toBe(before)
    })

    it('refuses a certificate that is not PEM X.509', async () => {
      await admin.get(`/a/${owner.accountId}/settings/sso/saml/new`)
      const response = await admin.post(`/a/${owner.accountId}/settings/sso/saml/new`, {
        name: 'Bad certificate',
        enabled: 'true',
        allowedDomains: 'example.org',
        idpEntityId: 'https://idp.example.test/other',
        idpSsoUrl: 'https://idp.example.test/sso',
        idpCertificates:
          '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----',
      })
      expect(response.status).toBe(400)
      expect(response.body).toContain('Certificate 1 is not a valid X.509 certificate in PEM form.')
    })

    it('refuses a DOCTYPE in metadata', async () => {
      await admin.get(`/a/${owner.accountId}/settings/sso/saml/new`)
      const response = await admin.post(`/a/${owner.accountId}/settings/sso/saml/new`, {
        name: 'Entities',
        enabled: 'true',
        allowedDomains: 'example.org',
        metadataXml: `<!DOCTYPE x [<!ENTITY a "aaaa">]>${idp.metadata()}`,
      })
      expect(response.status).toBe(400)
      expect(response.body).toContain('must not contain a DOCTYPE')
    })

    it('an editor is refused (403)', async () => {
      const editor = await addMember(t, owner.accountId, 'editor')
      const browser = new TestBrowser(t.app, { ip: uniqueIp() })
      await signIn(browser, editor.email, editor.password)
      expect((await browser.get(`/a/${owner.accountId}/settings/sso/saml/new`)).status).toBe(403)
      expect(
        (await browser.get(`/a/${owner.accountId}/settings/sso/saml/${connectionId}`)).status,
      ).toBe(403)
      await browser.get(`/a/${owner.accountId}`)
      const before = await countConnections()
      const response = await browser.post(`/a/${owner.accountId}/settings/sso/saml/new`, {
        name: 'Editor IdP',
        metadataXml: idp.metadata(),
      })
      expect(response.status).toBe(403)
      expect(await countConnections()).toBe(before)
      const deleted = await browser.post(
        `/a/${owner.accountId}/settings/sso/saml/${connectionId}/delete`,
        {},
      )
      expect(deleted.status).toBe(403)
    })

    it('another account gets 404, even through its own account path', async () => {
      const other = await createOwner(t)
      const browser = new TestBrowser(t.app, { ip: uniqueIp() })
      await signIn(browser, other.email, other.password)
      expect((await browser.get(`/a/${owner.accountId}/settings/sso/saml/new`)).status).toBe(404)
      expect(
        (await browser.get(`/a/${owner.accountId}/settings/sso/saml/${connectionId}`)).status,
      ).toBe(404)
      expect(
        (await browser.get(`/a/${other.accountId}/settings/sso/saml/${connectionId}`)).status,
      ).toBe(404)
      await browser.get(`/a/${other.accountId}`)
      const deleted = await browser.post(
        `/a/${other.accountId}/settings/sso/saml/${connectionId}/delete`,
        {},
      )
      expect(deleted.status).toBe(404)
      expect(await countConnections()).toBeGreaterThan(0)
    })

    it('a new certificate is a new identity provider: linked people are forgotten', async () => {
      const email = uniqueEmail('rotated')
      const browser = await signedInBySaml(email, 'idp-session-rotate')
      const rotated = new TestIdp(IDP_ENTITY, IDP_SSO, IDP_SLO)
      await admin.get(`/a/${owner.accountId}/settings/sso/saml/${connectionId}`)
      const saved = await admin.post(`/a/${owner.accountId}/settings/sso/saml/${connectionId}`, {
        name: 'Test IdP',
        enabled: 'true',
        allowedDomains: 'example.org',
        jitEnabled: 'true',
        defaultRole: 'editor',
        idpEntityId: IDP_ENTITY,
        idpSsoUrl: IDP_SSO,
        idpSloUrl: IDP_SLO,
        idpCertificates: `${idp.keys.certificate}\n${rotated.keys.certificate}`,
      })
      expect(saved.status).toBe(303)
      expect(await isSignedIn(browser)).toBe(false)
      // Both certificates are trusted now: the new key signs in too.
      rotated.trustServiceProvider(
        (await t.app.inject({ url: `/sso/saml/${connectionId}/metadata` })).body,
      )
      const again = uniqueEmail('rotated-again')
      const response = await postAcs(
        new TestBrowser(t.app, { ip: uniqueIp() }),
        await rotated.signedResponse({ nameID: again, email: again }),
      )
      expect(response.status).toBe(303)
    })
  })

  async function countConnections(): Promise<number> {
    const rows = await t.runtime.database.db.selectFrom('sso_connections').select('id').execute()
    return rows.length
  }
})
