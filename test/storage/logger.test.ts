import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import type { LogLevel } from '../../src/config.js'
import { createLogger, redactUrl } from '../../src/logger.js'

function collectingLogger(level: LogLevel = 'info') {
  const lines: string[] = []
  const destination = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      lines.push(...chunk.toString().split('\n').filter(Boolean))
      callback()
    },
  })
  const logger = createLogger(level, destination)
  return {
    logger,
    lines,
    records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
  }
}

const SECRETS = [
  'hunter2-password',
  'new-password-secret',
  'current-password-secret',
  'tok_live_123456',
  'ada@example.com',
  'bob@example.com',
  'sid=session-cookie-value',
  'Bearer api-key-value',
  'csrf-token-value',
]

describe('createLogger', () => {
  it('writes JSON lines with the level, time, service and message', () => {
    const { logger, records } = collectingLogger()
    logger.info({ accountId: 'abc123' }, 'account renamed')
    const [record] = records()
    expect(record).toMatchObject({
      level: 30,
      service: 'candor',
      accountId: 'abc123',
      msg: 'account renamed',
    })
    expect(record?.['time']).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
  })

  it('respects the level', () => {
    const { logger, lines } = collectingLogger('warn')
    logger.info('hidden')
    logger.warn('shown')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain('shown')
    const silent = collectingLogger('silent')
    silent.logger.fatal('nothing')
    expect(silent.lines).toEqual([])
  })

  it('redacts passwords, tokens and email addresses, at the top and one level down', () => {
    const { logger, lines, records } = collectingLogger()
    logger.info({
      password: 'hunter2-password',
      token: 'tok_live_123456',
      email: 'ada@example.com',
    })
    logger.info({
      input: {
        password: 'hunter2-password',
        newPassword: 'new-password-secret',
        currentPassword: 'current-password-secret',
        token: 'tok_live_123456',
        email: 'ada@example.com',
      },
      mail: { to: 'bob@example.com', subject: 'Reset your password' },
    })
    const output = lines.join('\n')
    for (const secret of SECRETS) expect(output).not.toContain(secret)
    const [top, nested] = records()
    expect(top).toMatchObject({ password: '[redacted]', token: '[redacted]', email: '[redacted]' })
    expect(nested?.['input']).toEqual({
      password: '[redacted]',
      newPassword: '[redacted]',
      currentPassword: '[redacted]',
      token: '[redacted]',
      email: '[redacted]',
    })
    // Only the sensitive fields go: the rest stays useful.
    expect(nested?.['mail']).toEqual({ to: '[redacted]', subject: 'Reset your password' })
  })

  it('keeps cookies, authorization and CSRF headers, and set-cookie out of request logs', () => {
    const { logger, lines, records } = collectingLogger()
    logger.info(
      {
        req: {
          id: 'req-1',
          method: 'POST',
          url: '/reset-password?token=tok_live_123456&lang=en',
          ip: '192.0.2.1',
          headers: {
            cookie: 'sid=session-cookie-value',
            authorization: 'Bearer api-key-value',
            'x-csrf-token': 'csrf-token-value',
          },
        },
        res: { statusCode: 303, headers: { 'set-cookie': 'sid=session-cookie-value' } },
      },
      'request completed',
    )
    const output = lines.join('\n')
    for (const secret of SECRETS) expect(output).not.toContain(secret)
    const [record] = records()
    expect(record?.['req']).toEqual({
      id: 'req-1',
      method: 'POST',
      url: '/reset-password?token=[redacted]&lang=en',
      ip: '192.0.2.1',
    })
    expect(record?.['res']).toEqual({ statusCode: 303, headers: { 'set-cookie': '[redacted]' } })
  })

  it('serializes errors with their message and stack', () => {
    const { logger, records } = collectingLogger()
    logger.error({ err: new Error('disk full') }, 'write failed')
    const err = records()[0]?.['err'] as Record<string, unknown>
    expect(err['message']).toBe('disk full')
    expect(err['type']).toBe('Error')
    expect(err['stack']).toContain('disk full')
  })
})

describe('redactUrl', () => {
  it.each([
    ['/reset-password?token=abc123', '/reset-password?token=[redacted]'],
    ['/setup?lang=en&token=abc123', '/setup?lang=en&token=[redacted]'],
    ['/setup?token=abc&token=def', '/setup?token=[redacted]&token=[redacted]'],
    ['/x?TOKEN=abc&next=/a', '/x?TOKEN=[redacted]&next=/a'],
    ['/x?password=p&code=c&key=k', '/x?password=[redacted]&code=[redacted]&key=[redacted]'],
    ['/pages/abc/logo?_csrf=form-token', '/pages/abc/logo?_csrf=[redacted]'],
    [
      'https://candor.test/signup/complete?token=abc#top',
      'https://candor.test/signup/complete?token=[redacted]',
    ],
  ])('redacts %s', (url, expected) => {
    expect(redactUrl(url)).toBe(expected)
  })

  it.each(['/dashboard', '/a/abc123?page=2', '/x?tokens=1&notoken=2', '/token=abc'])(
    'leaves %s alone',
    (url) => {
      expect(redactUrl(url)).toBe(url)
    },
  )
})
