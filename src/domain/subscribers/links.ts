import type { KeyRing } from '../../crypto/key-ring.js'
import { safeEqual } from '../../crypto/tokens.js'

const CONTEXT = 'subscriber-links'

/** Whom a link in a notification speaks for. */
export type LinkSubject =
  | { kind: 'subscriber'; subscriberId: string; generation: number }
  | { kind: 'member'; userId: string; pageId: string }

interface Claims {
  k: 's' | 'm'
  i: string
  p?: string
  g?: number
  /** Expiry, seconds since the epoch. */
  e: number
}

/**
 * Signed, expiring links for unsubscribe and manage-preferences: nothing is stored per link, and a
 * subscriber's links all stop working when its generation is bumped (after erasure or on demand).
 */
export function createLinkSigner(keyRing: KeyRing) {
  function sign(subject: LinkSubject, expiresAt: Date): string {
    const claims: Claims =
      subject.kind === 'subscriber'
        ? { k: 's', i: subject.subscriberId, g: subject.generation, e: seconds(expiresAt) }
        : { k: 'm', i: subject.userId, p: subject.pageId, e: seconds(expiresAt) }
    const body = Buffer.from(JSON.stringify(claims), 'utf8').toString('base64url')
    return `${body}.${keyRing.blindIndex(body, CONTEXT)}`
  }

  /** The subject of a valid, unexpired token; undefined for anything else. */
  function verify(token: string, now: Date): LinkSubject | undefined {
    if (token.length > 512) return undefined
    const [body, mac, extra] = token.split('.')
    if (body === undefined || mac === undefined || extra !== undefined) return undefined
    if (!safeEqual(mac, keyRing.blindIndex(body, CONTEXT))) return undefined
    let claims: Claims
    try {
      claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Claims
    } catch {
      return undefined
    }
    if (typeof claims.e !== 'number' || claims.e < seconds(now)) return undefined
    if (claims.k === 's' && typeof claims.g === 'number')
      return { kind: 'subscriber', subscriberId: claims.i, generation: claims.g }
    if (claims.k === 'm' && typeof claims.p === 'string')
      return { kind: 'member', userId: claims.i, pageId: claims.p }
    return undefined
  }

  return { sign, verify }
}

export type LinkSigner = ReturnType<typeof createLinkSigner>

function seconds(date: Date): number {
  return Math.floor(date.getTime() / 1000)
}
