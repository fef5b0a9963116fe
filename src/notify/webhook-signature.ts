import { createHmac, randomBytes } from 'node:crypto'

/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com/): HMAC-SHA256 of
 * "<id>.<timestamp>.<body>" with the secret's bytes, sent as `v1,<base64>`. Receivers verify it
 * with any Standard Webhooks library, or with twenty lines of their own.
 */

export const WEBHOOK_SECRET_PREFIX = 'whsec_'

/** The spec asks for secrets of 24 to 64 bytes; Candor makes 32. */
const SECRET_BYTES = 32
const MIN_SECRET_BYTES = 24
const MAX_SECRET_BYTES = 64
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

export interface WebhookSignatureHeaders {
  'webhook-id': string
  'webhook-timestamp': string
  'webhook-signature': string
}

export function generateWebhookSecret(): string {
  return `${WEBHOOK_SECRET_PREFIX}${randomBytes(SECRET_BYTES).toString('base64')}`
}

function secretKey(secret: string): Buffer | undefined {
  if (!secret.startsWith(WEBHOOK_SECRET_PREFIX)) return undefined
  const encoded = secret.slice(WEBHOOK_SECRET_PREFIX.length)
  if (!BASE64.test(encoded)) return undefined
  const key = Buffer.from(encoded, 'base64')
  return key.length >= MIN_SECRET_BYTES && key.length <= MAX_SECRET_BYTES ? key : undefined
}

export function isWebhookSecret(value: string): boolean {
  return secretKey(value) !== undefined
}

/**
 * The three Standard Webhooks headers for one delivery. Several secrets give several signatures
 * (space-separated), so that a subscriber can rotate its secret without missing a message.
 */
export function signWebhook({
  id,
  timestamp,
  body,
  secret,
}: {
  id: string
  timestamp: Date
  body: string
  secret: string | readonly string[]
}): WebhookSignatureHeaders {
  const seconds = String(Math.floor(timestamp.getTime() / 1000))
  const signed = `${id}.${seconds}.${body}`
  const secrets = typeof secret === 'string' ? [secret] : secret
  if (secrets.length === 0) throw new TypeError('At least one webhook secret is needed')
  const signatures = secrets.map((value) => {
    const key = secretKey(value)
    if (key === undefined) {
      throw new TypeError(
        `A webhook secret is "${WEBHOOK_SECRET_PREFIX}" and 24 to 64 base64 bytes`,
      )
    }
    return `v1,${createHmac('sha256', key).update(signed, 'utf8').digest('base64')}`
  })
  return {
    'webhook-id': id,
    'webhook-timestamp': seconds,
    'webhook-signature': signatures.join(' '),
  }
}
