import { execFileSync } from 'node:child_process'
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { generateKeyPairWithCertificate } from '../../src/auth/sso/self-signed-certificate.js'

describe('SAML service provider key pair', () => {
  it('is an RSA key with a self-signed X.509 certificate for it, valid ten years', async () => {
    const now = new Date('2026-11-25T08:00:00.000Z')
    const { privateKey, certificate } = await generateKeyPairWithCertificate('Candor SAML', now)
    const key = createPrivateKey(privateKey)
    expect(key.asymmetricKeyType).toBe('rsa')
    expect(key.asymmetricKeyDetails?.modulusLength).toBe(2048)

    const parsed = new X509Certificate(certificate)
    expect(parsed.subject).toBe('CN=Candor SAML')
    expect(parsed.issuer).toBe('CN=Candor SAML')
    expect(new Date(parsed.validFrom).toISOString()).toBe('2026-11-25T08:00:00.000Z')
    expect(new Date(parsed.validTo).toISOString()).toBe('2036-11-25T08:00:00.000Z')
    expect(parsed.verify(createPublicKey(key))).toBe(true)
    expect(parsed.checkPrivateKey(key)).toBe(true)

    // openssl reads it as a certificate that verifies against itself.
    const text = execFileSync('openssl', ['x509', '-noout', '-text'], { input: certificate })
    expect(text.toString()).toContain('sha256WithRSAEncryption')
  })

  it('writes dates from 2050 as GeneralizedTime', async () => {
    const { certificate } = await generateKeyPairWithCertificate(
      'late',
      new Date('2045-01-01T00:00:00Z'),
    )
    expect(new Date(new X509Certificate(certificate).validTo).getUTCFullYear()).toBe(2055)
  })
})
