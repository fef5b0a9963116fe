import { generateKeyPair, randomBytes, sign, type KeyObject } from 'node:crypto'
import { promisify } from 'node:util'

const generateKeyPairAsync = promisify(generateKeyPair)

/** DER of sha256WithRSAEncryption (1.2.840.113549.1.1.11) and commonName (2.5.4.3). */
const SHA256_WITH_RSA = Buffer.from('06092a864886f70d01010b', 'hex')
const COMMON_NAME = Buffer.from('0603550403', 'hex')
const NULL = Buffer.from('0500', 'hex')

export interface KeyPairWithCertificate {
  /** PKCS#8 PEM. */
  privateKey: string
  /** X.509 PEM, self-signed by privateKey. */
  certificate: string
}

/**
 * A new RSA-2048 key pair and a self-signed certificate for it: what a SAML service provider
 * publishes in its metadata so the identity provider can check its signed requests. Node's crypto
 * signs but does not build certificates, and an IdP only reads the public key out of one, so the
 * certificate is the smallest valid one (X.509 v1: serial, issuer = subject, validity, key),
 * encoded here and signed by node:crypto. `X509Certificate` parses and verifies the result.
 */
export async function generateKeyPairWithCertificate(
  commonName: string,
  now: Date,
  validityYears = 10,
): Promise<KeyPairWithCertificate> {
  const { privateKey, publicKey } = await generateKeyPairAsync('rsa', { modulusLength: 2048 })
  const notAfter = new Date(now)
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + validityYears)
  return {
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    certificate: selfSignedCertificate(privateKey, publicKey, commonName, now, notAfter),
  }
}

function selfSignedCertificate(
  privateKey: KeyObject,
  publicKey: KeyObject,
  commonName: string,
  notBefore: Date,
  notAfter: Date,
): string {
  const serial = randomBytes(16)
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x40 // positive, and no leading zero byte
  const name = sequence(
    der(0x31, sequence(COMMON_NAME, der(0x0c, Buffer.from(commonName.slice(0, 64), 'utf8')))),
  )
  const algorithm = sequence(SHA256_WITH_RSA, NULL)
  const tbs = sequence(
    der(0x02, serial),
    algorithm,
    name,
    sequence(time(notBefore), time(notAfter)),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
  )
  const signature = sign('sha256', tbs, privateKey)
  const certificate = sequence(tbs, algorithm, der(0x03, Buffer.concat([Buffer.of(0), signature])))
  const lines = certificate.toString('base64').match(/.{1,64}/g) ?? []
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`
}

function der(tag: number, content: Buffer): Buffer {
  const length = content.length
  let header: Buffer
  if (length < 0x80) header = Buffer.of(tag, length)
  else {
    const bytes: number[] = []
    for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256)
    header = Buffer.of(tag, 0x80 | bytes.length, ...bytes)
  }
  return Buffer.concat([header, content])
}

function sequence(...items: Buffer[]): Buffer {
  return der(0x30, Buffer.concat(items))
}

/** UTCTime until 2049, GeneralizedTime from 2050 (RFC 5280, 4.1.2.5). */
function time(date: Date): Buffer {
  const iso = date.toISOString()
  const digits = iso.slice(0, 19).replace(/[-:T]/g, '')
  return date.getUTCFullYear() < 2050
    ? der(0x17, Buffer.from(`${digits.slice(2)}Z`, 'ascii'))
    : der(0x18, Buffer.from(`${digits}Z`, 'ascii'))
}
