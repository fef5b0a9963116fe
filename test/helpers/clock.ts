import type { Clock } from '../../src/domain/clock.js'

export interface TestClock extends Clock {
  advance(ms: number): void
  set(date: Date): void
}

/** A clock the test moves by hand: expiry is tested by advancing time, never by sleeping. */
export function createTestClock(start: Date = new Date()): TestClock {
  let current = start.getTime()
  return {
    now: () => new Date(current),
    advance(ms) {
      current += ms
    },
    set(date) {
      current = date.getTime()
    },
  }
}
