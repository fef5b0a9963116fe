import type { SendMail } from '../domain/mail.js'
import { DeliveryFailure } from '../domain/subscribers/types.js'
import type { Dispatcher } from '../domain/subscribers/notification-service.js'
import { chatPayload, isChatChannel, webhookPayload } from './channel-payloads.js'
import { OutboundRequestError, type OutboundHttp } from './outbound-http.js'
import { notificationEmail } from './subscriber-emails.js'
import { signWebhook } from './webhook-signature.js'

/** SMTP reply codes that mean "this address will never work": retrying would not help. */
function isPermanentSmtpFailure(error: unknown): boolean {
  const code = (error as { responseCode?: unknown }).responseCode
  return typeof code === 'number' && code >= 500 && code < 600
}

/** Receivers that say the endpoint is gone or the request is wrong will say so again. */
function isPermanentHttpStatus(status: number): boolean {
  return status === 400 || status === 401 || status === 403 || status === 404 || status === 410
}

/**
 * Sends one delivery over its channel: email through the mail sender (multipart, RFC 8058
 * one-click unsubscribe headers, a Message-ID that is the same on every attempt), webhooks signed
 * per Standard Webhooks with the delivery id as webhook-id (receivers deduplicate on it), chat
 * platforms in their own message format; every HTTP request goes through the SSRF-safe client.
 */
export function createDispatcher(deps: {
  sendMail: SendMail
  outbound: OutboundHttp
  messageIdDomain: string
}): Dispatcher {
  const { sendMail, outbound } = deps

  async function post(url: string, body: string, headers: Record<string, string>) {
    let status: number
    let snippet: string
    try {
      const response = await outbound.post(url, {
        headers: { 'content-type': 'application/json', ...headers },
        body,
      })
      status = response.status
      snippet = response.bodySnippet
    } catch (error) {
      if (error instanceof OutboundRequestError)
        throw new DeliveryFailure(`${error.code}: ${error.message}`, error.retryable)
      throw error
    }
    if (status >= 200 && status < 300) return
    throw new DeliveryFailure(
      `HTTP ${String(status)}${snippet === '' ? '' : `: ${snippet.slice(0, 200)}`}`,
      !isPermanentHttpStatus(status),
    )
  }

  return {
    async send({ deliveryId, channel, address, secret, message, accountId }) {
      if (channel === 'email') {
        const email = notificationEmail(message)
        try {
          await sendMail({
            to: address,
            accountId,
            ...email,
            messageId: `<${deliveryId}@${deps.messageIdDomain}>`,
            headers: {
              'List-Unsubscribe': `<${message.links.unsubscribe}>`,
              'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
            },
          })
        } catch (error) {
          const reason = error instanceof Error ? error.message : String(error)
          throw new DeliveryFailure(reason, !isPermanentSmtpFailure(error))
        }
        return
      }
      if (channel === 'webhook') {
        const body = JSON.stringify(webhookPayload(message))
        const headers =
          secret === null
            ? {}
            : { ...signWebhook({ id: deliveryId, timestamp: new Date(), body, secret }) }
        await post(address, body, headers)
        return
      }
      if (isChatChannel(channel)) {
        await post(address, JSON.stringify(chatPayload(channel, message)), {})
        return
      }
      throw new DeliveryFailure(`unknown channel ${String(channel)}`, false)
    },
  }
}
