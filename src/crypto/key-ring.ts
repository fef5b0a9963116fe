import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto'

const CIPHERTEXT_VERSION = 'v1'
const IV_BYTES = 12
const TAG_BYTES = 16

export class WrongMasterKeyError extends Error {
  constructor() {
    super(
      'The master key does not match the key this database was created with. Start Candor with the original MASTER_KEY (or the original DATA_DIR/master.key); without it the stored data cannot be read.',
    )
    this.name = 'WrongMasterKeyError'
  }
}

export class CiphertextError extends Error {
  constructor(reason: string) {
    super(`Encrypted field cannot be decrypted: ${reason}`)
    this.name = 'CiphertextError'
  }
}

export interface DataKey {
  id: number
  key: Buffer
}

/**
 * Field encryption and blind indexes. Data keys are random and stored wrapped by a key derived
 * from the master key, so the master key can be replaced by re-wrapping a handful of rows and data
 * keys can rotate without touching the master key; every ciphertext names the data key it used.
 */
export interface KeyRing {
  readonly activeKeyId: number
  encrypt(plaintext: string, context: string): string
  decrypt(ciphertext: string, context: string): string
  blindIndex(value: string, context: string): string
  /** A secret for signing cookies, stable for a given master key. */
  readonly cookieSecret: Buffer
}

export function deriveKey(masterKey: Buffer, purpose: string, length = 32): Buffer {
  return Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), `candor/${purpose}`, length))
}

export function generateDataKey(): Buffer {
  return randomBytes(32)
}

export function wrapDataKey(masterKey: Buffer, id: number, dataKey: Buffer): string {
  return seal(deriveKey(masterKey, 'key-wrap/v1'), dataKey, `data-key:${String(id)}`)
}

export function unwrapDataKey(masterKey: Buffer, id: number, wrapped: string): Buffer {
  try {
    return open(deriveKey(masterKey, 'key-wrap/v1'), wrapped, `data-key:${String(id)}`)
  } catch {
    throw new WrongMasterKeyError()
  }
}

export function createKeyRing(masterKey: Buffer, dataKeys: readonly DataKey[]): KeyRing {
  if (dataKeys.length === 0) throw new Error('A key ring needs at least one data key')
  const byId = new Map(dataKeys.map((dataKey) => [dataKey.id, dataKey.key]))
  const activeKeyId = Math.max(...byId.keys())
  const activeKey = byId.get(activeKeyId)
  if (activeKey === undefined) throw new Error('Active data key missing')
  const blindIndexKey = deriveKey(masterKey, 'blind-index/v1')

  return {
    activeKeyId,
    cookieSecret: deriveKey(masterKey, 'cookie/v1'),
    encrypt(plaintext, context) {
      const body = seal(activeKey, Buffer.from(plaintext, 'utf8'), context)
      return `${CIPHERTEXT_VERSION}.${String(activeKeyId)}.${body}`
    },
    decrypt(ciphertext, context) {
      const [version, keyId, body, ...rest] = ciphertext.split('.')
      if (
        version !== CIPHERTEXT_VERSION ||
        keyId === undefined ||
        body === undefined ||
        rest.length > 0
      ) {
        throw new CiphertextError('unknown format')
      }
      const key = byId.get(Number(keyId))
      if (key === undefined) throw new CiphertextError(`data key ${keyId} is not in the key ring`)
      try {
        return open(key, body, context).toString('utf8')
      } catch {
        throw new CiphertextError('authentication failed')
      }
    },
    blindIndex(value, context) {
      return createHmac('sha256', blindIndexKey)
        .update(context)
        .update('\0')
        .update(value)
        .digest('base64url')
    },
  }
}

function seal(key: Buffer, plaintext: Buffer, context: string): string {
  const iv = randomBytes(IV_BYTES)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  cipher.setAAD(Buffer.from(context, 'utf8'))
  const encrypted = Buffer.concat([cipher.update(plaintext), cipher.final()])
  return Buffer.concat([iv, encrypted, cipher.getAuthTag()]).toString('base64url')
}

function open(key: Buffer, body: string, context: string): Buffer {
  const raw = Buffer.from(body, 'base64url')
  if (raw.length < IV_BYTES + TAG_BYTES) throw new CiphertextError('too short')
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES))
  decipher.setAAD(Buffer.from(context, 'utf8'))
  decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES))
  return Buffer.concat([
    decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)),
    decipher.final(),
  ])
}
