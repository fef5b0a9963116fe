import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as samlify from 'samlify'

// The service provider (node-saml, in Candor) is what is under test; samlify's own XML schema
// check is not needed for an IdP that only talks to it.
samlify.setSchemaValidator({ validate: () => Promise.resolve('skipped') })

const REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect'
export const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress'

export interface KeyAndCertificate {
  privateKey: string
  certificate: string
}

/** A throwaway RSA key and self-signed certificate, made by openssl for this test run only. */
export function makeKeyAndCertificate(commonName: string): KeyAndCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'candor-saml-idp-'))
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-sha256',
        '-days',
        '2',
        '-subj',
        `/CN=${commonName}`,
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    )
    return {
      privateKey: readFileSync(join(dir, 'key.pem'), 'utf8'),
      certificate: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export interface AssertionOptions {
  nameID: string
  email?: string | undefined
  name?: string | undefined
  inResponseTo?: string | undefined
  sessionIndex?: string | undefined
  audience?: string | undefined
  recipient?: string | undefined
  destination?: string | undefined
  /** When the IdP says it issued the assertion; now by default. */
  issuedAt?: Date | undefined
  validForMs?: number | undefined
  assertionId?: string | undefined
  issuer?: string | undefined
  /** The NameID's format; emailAddress by default. */
  nameIDFormat?: string | undefined
}

/**
 * A SAML identity provider run by samlify: it signs assertions (and redirect-binding log-out
 * messages) with its own key, reads Candor's signed AuthnRequests and LogoutRequests.
 */
export class TestIdp {
  readonly idp: samlify.IdentityProviderInstance
  readonly keys: KeyAndCertificate
  private sp: samlify.ServiceProviderInstance | undefined

  constructor(
    readonly entityId: string,
    readonly ssoUrl: string,
    readonly sloUrl: string,
    keys?: KeyAndCertificate,
  ) {
    this.keys = keys ?? makeKeyAndCertificate('test-idp')
    this.idp = samlify.IdentityProvider({
      entityID: entityId,
      privateKey: this.keys.privateKey,
      signingCert: this.keys.certificate,
      wantAuthnRequestsSigned: true,
      nameIDFormat: [EMAIL_FORMAT],
      singleSignOnService: [{ Binding: REDIRECT, Location: ssoUrl }],
      singleLogoutService: [{ Binding: REDIRECT, Location: sloUrl }],
    })
  }

  metadata(): string {
    return this.idp.getMetadata()
  }

  /** Candor's SP metadata, as its administrator would load it into the IdP. */
  trustServiceProvider(spMetadata: string): void {
    this.sp = samlify.ServiceProvider({
      metadata: spMetadata,
      wantLogoutRequestSigned: true,
      wantLogoutResponseSigned: true,
    })
  }

  private serviceProvider(): samlify.ServiceProviderInstance {
    if (this.sp === undefined) throw new Error('trustServiceProvider() first')
    return this.sp
  }

  /** The raw (unsigned) Response XML of an assertion, from samlify's own template. */
  responseXml(options: AssertionOptions): string {
    const sp = this.serviceProvider()
    const acs = sp.entityMeta.getAssertionConsumerService('post')
    const acsUrl = typeof acs === 'string' ? acs : (acs[0] ?? '')
    const issued = options.issuedAt ?? new Date()
    const end = new Date(issued.getTime() + (options.validForMs ?? 5 * 60_000))
    const attributes = [
      ['email', options.email],
      ['name', options.name],
    ]
      .filter((pair): pair is [string, string] => pair[1] !== undefined)
      .map(
        ([name, value]) =>
          `<saml:Attribute Name="${name}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic"><saml:AttributeValue xsi:type="xs:string">${escape(value)}</saml:AttributeValue></saml:Attribute>`,
      )
      .join('')
    const template = samlify.SamlLib.defaultLoginResponseTemplate.context
      .replace(
        '{AuthnStatement}',
        `<saml:AuthnStatement AuthnInstant="${issued.toISOString()}"${
          options.sessionIndex === undefined
            ? ''
            : ` SessionIndex="${escape(options.sessionIndex)}"`
        }><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`,
      )
      .replace(
        '{AttributeStatement}',
        attributes === '' ? '' : `<saml:AttributeStatement>${attributes}</saml:AttributeStatement>`,
      )
    return samlify.SamlLib.replaceTagsByValue(template, {
      ID: randomId(),
      AssertionID: options.assertionId ?? randomId(),
      Destination: options.destination ?? acsUrl,
      Audience: options.audience ?? sp.entityMeta.getEntityID(),
      SubjectRecipient: options.recipient ?? acsUrl,
      Issuer: options.issuer ?? this.entityId,
      IssueInstant: issued.toISOString(),
      StatusCode: 'urn:oasis:names:tc:SAML:2.0:status:Success',
      ConditionsNotBefore: issued.toISOString(),
      ConditionsNotOnOrAfter: end.toISOString(),
      SubjectConfirmationDataNotOnOrAfter: end.toISOString(),
      NameIDFormat: options.nameIDFormat ?? EMAIL_FORMAT,
      NameID: options.nameID,
      InResponseTo: options.inResponseTo ?? null,
    })
  }

  /** A SAMLResponse (base64) whose assertion samlify signed with this IdP's key. */
  async signedResponse(options: AssertionOptions): Promise<string> {
    const xml = this.responseXml(options)
    const sp = this.serviceProvider()
    const result = await this.idp.createLoginResponse(
      sp,
      { extract: {} },
      'post',
      { email: options.nameID },
      { customTagReplacement: () => ({ id: 'ignored', context: xml }) },
    )
    return result.context
  }

  /** The same Response without any signature. */
  unsignedResponse(options: AssertionOptions): string {
    return Buffer.from(this.responseXml(options), 'utf8').toString('base64')
  }

  /** Reads (and checks the signature of) an AuthnRequest Candor redirected the browser with. */
  async readAuthnRequest(url: string): Promise<{ id: string; relayState: string | undefined }> {
    const { query, octetString } = redirectParts(url)
    const parsed = await this.idp.parseLoginRequest(this.serviceProvider(), 'redirect', {
      query,
      octetString,
    })
    const request = parsed.extract.request as Record<string, string> | undefined
    return { id: request?.['id'] ?? '', relayState: query['RelayState'] }
  }

  /** An IdP-initiated log-out: the URL (to Candor's SLO) with a signed LogoutRequest. */
  logoutRequestUrl(nameID: string, sessionIndex?: string): string {
    const result = this.idp.createLogoutRequest(this.serviceProvider(), 'redirect', {
      logoutNameID: nameID,
      ...(sessionIndex === undefined ? {} : { sessionIndex }),
    })
    return result.context
  }

  /** Reads Candor's LogoutRequest (signature checked) and answers with a signed LogoutResponse URL. */
  async answerLogoutRequest(
    url: string,
  ): Promise<{ nameID: string; sessionIndex: unknown; responseUrl: string }> {
    const { query, octetString } = redirectParts(url)
    const sp = this.serviceProvider()
    const parsed = await this.idp.parseLogoutRequest(sp, 'redirect', { query, octetString })
    const response = this.idp.createLogoutResponse(
      sp,
      { ...parsed },
      'redirect',
      query['RelayState'] ?? '',
    )
    return {
      nameID: String(parsed.extract.nameID),
      sessionIndex: parsed.extract.sessionIndex,
      responseUrl: response.context,
    }
  }
}

/** The query of a redirect-binding URL and the signed octet string (as sent, without Signature). */
export function redirectParts(url: string): {
  query: Record<string, string>
  octetString: string
} {
  const raw = url.slice(url.indexOf('?') + 1)
  const query = Object.fromEntries(new URLSearchParams(raw))
  const octetString = raw
    .split('&')
    .filter((pair) => !pair.startsWith('Signature='))
    .join('&')
  return { query, octetString }
}

function randomId(): string {
  return `_${randomBytes(16).toString('hex')}`
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;')
}
