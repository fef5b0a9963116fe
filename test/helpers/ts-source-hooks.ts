import { existsSync } from 'node:fs'
import { registerHooks } from 'node:module'
import { fileURLToPath } from 'node:url'

/**
 * Lets a child `node` process run the TypeScript sources directly (Node strips the types): the
 * sources import `./x.js`, which is `./x.ts` until it is compiled. Used with
 * `node --import ./test/helpers/ts-source-hooks.ts`, for tests that need several real processes.
 */
registerHooks({
  resolve(specifier, context, nextResolve) {
    if (
      specifier.startsWith('.') &&
      specifier.endsWith('.js') &&
      context.parentURL?.startsWith('file:') === true
    ) {
      const candidate = new URL(specifier, context.parentURL)
      if (!existsSync(fileURLToPath(candidate))) {
        return nextResolve(`${specifier.slice(0, -'.js'.length)}.ts`, context)
      }
    }
    return nextResolve(specifier, context)
  },
})
