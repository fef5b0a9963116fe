import pino, { type DestinationStream, type Logger } from 'pino'
import type { LogLevel } from './config.js'

const SECRET_QUERY = /([?&](?:token|password|code|key|_csrf)=)[^&]*/gi
/**
 * Subscription links carry their signed token in the path (confirm, manage, unsubscribe), and
 * inbound alert URLs their endpoint's token.
 */
const SECRET_PATH = /(\/(?:subscriptions\/(?:confirm\/)?|api\/alerts\/))[^/?#]+/gi

/** Query strings can carry single-use tokens (reset and setup links); they never reach the log. */
export function redactUrl(url: string): string {
  return url.replace(SECRET_QUERY, '$1[redacted]').replace(SECRET_PATH, '$1[redacted]')
}

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'candor' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: [
        'req.headers.cookie',
        'req.headers.authorization',
        'req.headers["x-csrf-token"]',
        'res.headers["set-cookie"]',
        '*.password',
        '*.newPassword',
        '*.currentPassword',
        '*.token',
        '*.email',
        '*.to',
        'password',
        'token',
        'email',
      ],
      censor: '[redacted]',
    },
    serializers: {
      req: (request: { id?: string; method?: string; url?: string; ip?: string }) => ({
        id: request.id,
        method: request.method,
        url: redactUrl(request.url ?? ''),
        ip: request.ip,
      }),
      err: pino.stdSerializers.err,
    },
  }
  return destination === undefined ? pino(options) : pino(options, destination)
}
