import { X509Certificate } from 'node:crypto'
import { DOMParser } from '@xmldom/xmldom'

export const MD_NS = 'urn:oasis:names:tc:SAML:2.0:metadata'
export const DS_NS = 'http://www.w3.org/2000/09/xmldsig#'
export const REDIRECT_BINDING = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect'
export const POST_BINDING = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST'

/** What Candor needs from an identity provider's metadata. */
export interface IdpMetadata {
  entityId: string
  ssoUrl: string | undefined
  sloUrl: string | undefined
  certificates: string[]
}

/** A problem with XML someone pasted, worded for them. */
export class XmlInputError extends Error {}

/**
 * Parses XML from an untrusted source: a document type declaration is refused outright (no
 * entities, internal or external), and any parse error is an error, not a partial document.
 */
export function parseUntrustedXml(xml: string): Element {
  if (/<!DOCTYPE/i.test(xml)) throw new XmlInputError('The XML must not contain a DOCTYPE.')
  let problem: string | undefined
  const document = new DOMParser({
    locator: {},
    errorHandler: {
      // xmldom repairs some broken documents (an unclosed element) with only a warning.
      warning: (message: string) => (problem ??= message),
      error: (message: string) => (problem ??= message),
      fatalError: (message: string) => (problem ??= message),
    },
  }).parseFromString(xml, 'text/xml')
  const root = document.documentElement as Element | null
  if (problem !== undefined || root === null)
    throw new XmlInputError(
      `This is not well-formed XML${problem === undefined ? '' : `: ${firstLine(problem)}`}.`,
    )
  return root
}

function firstLine(message: string): string {
  const text =
    message
      .split('\n')[0]
      ?.replace(/^\[xmldom [^\]]*\]\s*/, '')
      .trim()
      .slice(0, 200) ?? ''
  const at = /\[line:(\d+),col:(\d+)\]/.exec(message)
  return at === null ? text : `${text} (line ${at[1] ?? '?'}, column ${at[2] ?? '?'})`
}

/**
 * The identity provider in a metadata document (an EntityDescriptor, or the first IdP of an
 * EntitiesDescriptor): entity id, redirect-binding sign-in and log-out URLs, signing certificates.
 */
export function parseIdpMetadata(xml: string): IdpMetadata {
  const root = parseUntrustedXml(xml)
  const entities =
    root.localName === 'EntityDescriptor'
      ? [root]
      : childElements(root).filter((e) => e.localName === 'EntityDescriptor')
  for (const entity of entities) {
    const idp = childElements(entity).find((e) => e.localName === 'IDPSSODescriptor')
    if (idp === undefined) continue
    const entityId = entity.getAttribute('entityID')?.trim() ?? ''
    if (entityId === '') throw new XmlInputError('The EntityDescriptor has no entityID.')
    const endpoint = (name: string) =>
      childElements(idp)
        .filter((e) => e.localName === name && e.getAttribute('Binding') === REDIRECT_BINDING)
        .map((e) => e.getAttribute('Location')?.trim() ?? '')
        .find((location) => location !== '')
    const certificates = childElements(idp)
      .filter((e) => e.localName === 'KeyDescriptor')
      .filter((e) => {
        const use = e.getAttribute('use')
        return use === null || use === '' || use === 'signing'
      })
      .flatMap((e) => descendants(e, DS_NS, 'X509Certificate'))
      .map((e) => e.textContent)
      .map((text) => text.replace(/\s+/g, ''))
      .filter((text) => text !== '')
    return {
      entityId,
      ssoUrl: endpoint('SingleSignOnService'),
      sloUrl: endpoint('SingleLogoutService'),
      certificates: [...new Set(certificates)].map(toPem),
    }
  }
  throw new XmlInputError(
    'No identity provider in this metadata: it has no EntityDescriptor with an IDPSSODescriptor.',
  )
}

export function childElements(element: Element): Element[] {
  const children: Element[] = []
  for (let node = element.firstChild; node !== null; node = node.nextSibling)
    if (node.nodeType === node.ELEMENT_NODE) children.push(node as Element)
  return children
}

function descendants(element: Element, namespace: string, localName: string): Element[] {
  const found: Element[] = []
  const list = element.getElementsByTagNameNS(namespace, localName)
  for (let i = 0; i < list.length; i++) {
    const item = list.item(i)
    if (item !== null) found.push(item)
  }
  return found
}

/** A base64 certificate body as PEM, 64 characters a line. */
export function toPem(base64: string): string {
  const lines = base64.replace(/\s+/g, '').match(/.{1,64}/g) ?? []
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`
}

/**
 * Certificates pasted as PEM (one or more blocks) or as bare base64 bodies (as metadata holds
 * them), each checked to be an X.509 certificate; a description of the first bad one otherwise.
 */
export function parseCertificates(text: string): { certificates: string[] } | { error: string } {
  const blocks = text.includes('-----BEGIN')
    ? [...text.matchAll(/-----BEGIN CERTIFICATE-----([^-]*)-----END CERTIFICATE-----/g)].map(
        (match) => match[1] ?? '',
      )
    : text.split(/\n\s*\n/)
  const bodies = blocks.map((block) => block.replace(/\s+/g, '')).filter((body) => body !== '')
  if (text.includes('-----BEGIN') && bodies.length === 0)
    return { error: 'No "BEGIN CERTIFICATE" block found: paste the certificate in PEM form.' }
  const certificates: string[] = []
  for (const [index, body] of bodies.entries()) {
    const pem = toPem(body)
    try {
      if (!/^[A-Za-z0-9+/]+=*$/.test(body)) throw new Error('not base64')
      new X509Certificate(pem)
    } catch {
      return {
        error: `Certificate ${String(index + 1)} is not a valid X.509 certificate in PEM form.`,
      }
    }
    certificates.push(pem)
  }
  return { certificates: [...new Set(certificates)] }
}

/** The SHA-256 fingerprints of certificates, sorted: to see whether a set of them changed. */
export function fingerprints(certificates: readonly string[]): string[] {
  return certificates.map((pem) => new X509Certificate(pem).fingerprint256).sort()
}

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
}

/** C0 controls and DEL. */
export function hasControlCharacters(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code < 0x20 || code === 0x7f) return true
  }
  return false
}
