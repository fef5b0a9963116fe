import { Secret, TOTP } from 'otpauth'

/** RFC 6238 with the parameters every authenticator app understands: SHA-1, 6 digits, 30 s. */
const PERIOD_SECONDS = 30
const DIGITS = 6
const ISSUER = 'Candor'

/** A new random secret (160 bits, RFC 4226's recommendation), base32 as apps expect it. */
export function generateTotpSecret(): string {
  return new Secret({ size: 20 }).base32
}

function totpFor(secretBase32: string, label = ''): TOTP {
  return new TOTP({
    issuer: ISSUER,
    label,
    algorithm: 'SHA1',
    digits: DIGITS,
    period: PERIOD_SECONDS,
    secret: Secret.fromBase32(secretBase32),
  })
}

/** The otpauth:// URI an authenticator app reads from the QR code. */
export function totpUri(secretBase32: string, label: string): string {
  return totpFor(secretBase32, label).toString()
}

/** The time step a moment falls in. */
export function totpStep(now: Date): number {
  return Math.floor(now.getTime() / 1000 / PERIOD_SECONDS)
}

/**
 * The step a code belongs to when it is the code of the current step or one step either side
 * (clocks drift, people type slowly); undefined otherwise. The caller refuses a step already used.
 */
export function matchTotpStep(secretBase32: string, code: string, now: Date): number | undefined {
  const token = code.replace(/\s+/g, '')
  if (!/^\d{6}$/.test(token)) return undefined
  const delta = totpFor(secretBase32).validate({ token, timestamp: now.getTime(), window: 1 })
  return delta === null ? undefined : totpStep(now) + delta
}
