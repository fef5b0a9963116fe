/** The part of oidc-provider (which ships no types) that the tests use. */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http'

  export interface ProviderContext {
    path: string
    method: string
    querystring: string
    body: unknown
  }

  export interface ProviderAccount {
    accountId: string
    claims: () => Promise<Record<string, unknown>>
  }

  export interface ProviderGrant {
    addOIDCScope(scope: string): void
    addOIDCClaims(claims: string[]): void
    save(): Promise<string>
  }

  export interface GrantContext {
    oidc: {
      client: { clientId: string }
      session: { accountId: string }
      provider: Provider
    }
  }

  export default class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>)
    callback(): (request: IncomingMessage, response: ServerResponse) => void
    use(middleware: (ctx: ProviderContext, next: () => Promise<void>) => Promise<void>): void
    Grant: new (options: { clientId: string; accountId: string }) => ProviderGrant
    Client: { prototype: { redirectUriAllowed(uri: string): boolean } }
  }
}
