import type { Logger } from 'pino'

export type Defer = (name: string, task: () => Promise<void>) => void

export interface BackgroundTasks {
  defer: Defer
  /** Resolves when every task started so far has settled; used at shutdown and by tests. */
  drain(): Promise<void>
}

/**
 * Work that must not hold up a response, such as sending an email whose timing would otherwise
 * reveal whether an address has an account. Failures are logged, never thrown at the caller.
 */
export function createBackgroundTasks(logger: Logger): BackgroundTasks {
  const pending = new Set<Promise<void>>()
  return {
    defer(name, task) {
      const running = task()
        .catch((error: unknown) => {
          logger.error({ err: error, task: name }, 'background task failed')
        })
        .finally(() => pending.delete(running))
      pending.add(running)
    },
    async drain() {
      while (pending.size > 0) await Promise.allSettled([...pending])
    },
  }
}
