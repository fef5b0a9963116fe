import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto'

/**
 * A software WebAuthn authenticator: a P-256 key per credential, attestation format "none",
 * assertions signed over authenticatorData || SHA-256(clientDataJSON), as a platform
 * authenticator would. Every part of what it sends can be bent to test a refusal.
 */

type CborValue = number | string | Uint8Array | CborValue[] | Map<number | string, CborValue>

/** Just enough CBOR (RFC 8949) for an attestation object and a COSE key. */
export function encodeCbor(value: CborValue): Buffer {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error('Only integers are encoded')
    return value >= 0 ? head(0, value) : head(1, -1 - value)
  }
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8')
    return Buffer.concat([head(3, bytes.length), bytes])
  }
  if (value instanceof Uint8Array) return Buffer.concat([head(2, value.length), value])
  if (Array.isArray(value)) return Buffer.concat([head(4, value.length), ...value.map(encodeCbor)])
  const parts: Buffer[] = [head(5, value.size)]
  for (const [key, item] of value) parts.push(encodeCbor(key), encodeCbor(item))
  return Buffer.concat(parts)
}

function head(major: number, length: number): Buffer {
  const type = major << 5
  if (length < 24) return Buffer.from([type | length])
  if (length < 0x100) return Buffer.from([type | 24, length])
  if (length < 0x10000) {
    const buffer = Buffer.alloc(3)
    buffer[0] = type | 25
    buffer.writeUInt16BE(length, 1)
    return buffer
  }
  const buffer = Buffer.alloc(5)
  buffer[0] = type | 26
  buffer.writeUInt32BE(length, 1)
  return buffer
}

const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url')
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest()

const FLAG_UP = 0x01
const FLAG_UV = 0x04
const FLAG_AT = 0x40

interface Credential {
  id: Buffer
  privateKey: KeyObject
  cosePublicKey: Buffer
  userHandle: string
  counter: number
}

export interface CeremonyOverrides {
  origin?: string
  challenge?: string
  rpId?: string
  counter?: number
  type?: string
}

export class SoftwareAuthenticator {
  readonly credentials: Credential[] = []

  constructor(
    private readonly rpId: string,
    private readonly origin: string,
  ) {}

  /** Answers navigator.credentials.create() for the options the server sent. */
  register(
    options: { challenge: string; user: { id: string } },
    overrides: CeremonyOverrides = {},
  ): Record<string, unknown> {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const jwk = publicKey.export({ format: 'jwk' })
    if (jwk.x === undefined || jwk.y === undefined) throw new Error('No EC coordinates')
    const cosePublicKey = encodeCbor(
      new Map<number, CborValue>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, Buffer.from(jwk.x, 'base64url')],
        [-3, Buffer.from(jwk.y, 'base64url')],
      ]),
    )
    const credential: Credential = {
      id: randomBytes(32),
      privateKey,
      cosePublicKey,
      userHandle: options.user.id,
      counter: 0,
    }
    const idLength = Buffer.alloc(2)
    idLength.writeUInt16BE(credential.id.length)
    const authData = Buffer.concat([
      this.authDataHead(overrides.rpId, FLAG_UP | FLAG_UV | FLAG_AT, overrides.counter ?? 0),
      Buffer.alloc(16),
      idLength,
      credential.id,
      cosePublicKey,
    ])
    const clientDataJSON = this.clientData('webauthn.create', options.challenge, overrides)
    const attestationObject = encodeCbor(
      new Map<string, CborValue>([
        ['fmt', 'none'],
        ['attStmt', new Map()],
        ['authData', authData],
      ]),
    )
    this.credentials.push(credential)
    return {
      id: b64url(credential.id),
      rawId: b64url(credential.id),
      type: 'public-key',
      response: {
        clientDataJSON: b64url(clientDataJSON),
        attestationObject: b64url(attestationObject),
        transports: ['internal'],
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    }
  }

  /**
   * Answers navigator.credentials.get(): with the credential the server allowed, or (a
   * discoverable credential) the first one this authenticator holds.
   */
  assert(
    options: { challenge: string; allowCredentials?: { id: string }[] },
    overrides: CeremonyOverrides & { credential?: Credential } = {},
  ): Record<string, unknown> {
    const allowed = options.allowCredentials ?? []
    const credential =
      overrides.credential ??
      (allowed.length === 0
        ? this.credentials[0]
        : this.credentials.find((c) => allowed.some((a) => a.id === b64url(c.id))))
    if (credential === undefined) throw new Error('No credential for these options')
    credential.counter = overrides.counter ?? credential.counter + 1
    const authData = this.authDataHead(overrides.rpId, FLAG_UP | FLAG_UV, credential.counter)
    const clientDataJSON = this.clientData('webauthn.get', options.challenge, overrides)
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), {
      key: credential.privateKey,
      dsaEncoding: 'der',
    })
    return {
      id: b64url(credential.id),
      rawId: b64url(credential.id),
      type: 'public-key',
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        userHandle: credential.userHandle,
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    }
  }

  private authDataHead(rpId: string | undefined, flags: number, counter: number): Buffer {
    const count = Buffer.alloc(4)
    count.writeUInt32BE(counter)
    return Buffer.concat([sha256(rpId ?? this.rpId), Buffer.from([flags]), count])
  }

  private clientData(type: string, challenge: string, overrides: CeremonyOverrides): Buffer {
    return Buffer.from(
      JSON.stringify({
        type: overrides.type ?? type,
        challenge: overrides.challenge ?? challenge,
        origin: overrides.origin ?? this.origin,
        crossOrigin: false,
      }),
    )
  }
}
