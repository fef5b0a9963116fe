import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto'

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789'

/** 12 lowercase alphanumeric characters, the shape of Statuspage ids (about 62 bits). */
export function generateId(): string {
  let id = ''
  for (let i = 0; i < 12; i++) id += ID_ALPHABET.charAt(randomInt(ID_ALPHABET.length))
  return id
}

/** A bearer secret with 256 bits of entropy, safe in URLs and cookies. */
export function generateToken(): string {
  return randomBytes(32).toString('base64url')
}

/** Tokens are stored only as hashes, so a database leak does not hand out live sessions or links. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url')
}

export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8')
  const right = Buffer.from(b, 'utf8')
  return left.length === right.length && timingSafeEqual(left, right)
}
