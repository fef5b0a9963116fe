import { Webhook, WebhookVerificationError } from 'standardwebhooks'
import { afterEach, describe, expect, it } from 'vitest'
import { createOutboundHttp, type OutboundHttp } from '../../src/notify/outbound-http.js'
import {
  generateWebhookSecret,
  isWebhookSecret,
  signWebhook,
} from '../../src/notify/webhook-signature.js'
import { startReceiver, type Receiver } from './receiver.js'

const body = JSON.stringify({ page: { id: 'p1' }, text: 'Ünïcode ✓ <b>' })

describe('webhook secrets', () => {
  it('are whsec_ and 32 random bytes in base64', () => {
    const secret = generateWebhookSecret()
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+={0,2}$/)
    expect(Buffer.from(secret.slice('whsec_'.length), 'base64')).toHaveLength(32)
    expect(generateWebhookSecret()).not.toBe(secret)
    expect(isWebhookSecret(secret)).toBe(true)
  })

  it.each([
    ['no prefix', Buffer.alloc(32, 1).toString('base64')],
    ['too short', `whsec_${Buffer.alloc(8, 1).toString('base64')}`],
    ['not base64', 'whsec_not*base64*at*all*not*base64*at*all'],
  ])('refuses a secret with %s', (_name, secret) => {
    expect(isWebhookSecret(secret)).toBe(false)
    expect(() => signWebhook({ id: 'msg_1', timestamp: new Date(), body, secret })).toThrow(
      TypeError,
    )
  })
})

describe('signWebhook', () => {
  it('gives the three Standard Webhooks headers', () => {
    const secret = generateWebhookSecret()
    const headers = signWebhook({
      id: 'msg_2Lh9',
      timestamp: new Date('2026-03-01T12:00:00.900Z'),
      body,
      secret,
    })
    expect(Object.keys(headers)).toEqual(['webhook-id', 'webhook-timestamp', 'webhook-signature'])
    expect(headers['webhook-id']).toBe('msg_2Lh9')
    expect(headers['webhook-timestamp']).toBe(String(Date.UTC(2026, 2, 1, 12) / 1000))
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/)
  })

  it('matches the signature of the reference library', () => {
    const secret = generateWebhookSecret()
    const timestamp = new Date('2026-03-01T12:00:00Z')
    const ours = signWebhook({ id: 'msg_ref', timestamp, body, secret })
    expect(ours['webhook-signature']).toBe(new Webhook(secret).sign('msg_ref', timestamp, body))
  })

  it('does not verify with another secret', () => {
    const headers = signWebhook({
      id: 'evt_1',
      timestamp: new Date(),
      body,
      secret: generateWebhookSecret(),
    })
    expect(() => new Webhook(generateWebhookSecret()).verify(body, { ...headers })).toThrow(
      WebhookVerificationError,
    )
  })

  it('signs with every secret during a rotation', () => {
    const [oldSecret, newSecret] = [generateWebhookSecret(), generateWebhookSecret()]
    const headers = signWebhook({
      id: 'msg_rot',
      timestamp: new Date(),
      body,
      secret: [oldSecret, newSecret],
    })
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2)
    for (const secret of [oldSecret, newSecret]) {
      expect(new Webhook(secret).verify(body, { ...headers })).toEqual(JSON.parse(body))
    }
  })
})

describe('signed delivery verified by the receiver with standardwebhooks', () => {
  let receiver: Receiver | undefined
  let http: OutboundHttp | undefined

  afterEach(async () => {
    await http?.close()
    await receiver?.close()
    http = undefined
    receiver = undefined
  })

  async function deliver(
    secret: string,
    tamper: (body: string) => string,
  ): Promise<{ verified: unknown; error: unknown }> {
    const outcome: { verified: unknown; error: unknown } = { verified: undefined, error: undefined }
    receiver = await startReceiver((request, response, received) => {
      const headers = {
        'webhook-id': String(request.headers['webhook-id']),
        'webhook-timestamp': String(request.headers['webhook-timestamp']),
        'webhook-signature': String(request.headers['webhook-signature']),
      }
      try {
        outcome.verified = new Webhook(secret).verify(received.body, headers)
        response.writeHead(204)
      } catch (error) {
        outcome.error = error
        response.writeHead(400)
      }
      response.end()
    })
    http = createOutboundHttp({ allowedRanges: ['127.0.0.1/32'] })
    const headers = signWebhook({ id: 'evt_42', timestamp: new Date(), body, secret })
    const result = await http.post(`${receiver.origin}/hook`, {
      headers: { ...headers, 'content-type': 'application/json' },
      body: tamper(body),
    })
    expect(result.status).toBe(outcome.error === undefined ? 204 : 400)
    return outcome
  }

  it('verifies a delivered body', async () => {
    const outcome = await deliver(generateWebhookSecret(), (b) => b)
    expect(outcome.error).toBeUndefined()
    expect(outcome.verified).toEqual(JSON.parse(body))
  })

  it('fails verification when the body was changed on the way', async () => {
    const outcome = await deliver(generateWebhookSecret(), (b) => b.replace('p1', 'p2'))
    expect(outcome.error).toBeInstanceOf(WebhookVerificationError)
  })
})
