import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import Provider, { type GrantContext, type ProviderAccount } from 'oidc-provider'

export interface TestUser {
  email: string
  email_verified: boolean
  name?: string
  hd?: string
}

/** Changes the provider's behaviour for one test: another nonce, a forged ID token. */
export interface ProviderFaults {
  replaceNonce?: string | undefined
  tamperIdToken?: boolean | undefined
}

export interface TestOidcProvider {
  issuer: string
  clientId: string
  clientSecret: string
  users: Map<string, TestUser>
  faults: ProviderFaults
  /** How many times the discovery document was read. */
  discoveryReads(): number
  /**
   * Plays the person at the provider: follows the authorization URL, signs in as `subject` on the
   * development login form, and returns the redirect back to the relying party.
   */
  authorize(authorizationUrl: string, subject: string): Promise<string>
  close(): Promise<void>
}

/** A real OpenID Provider (oidc-provider) on 127.0.0.1 and a random port, with one client. */
export async function startOidcProvider(redirectPrefix: string): Promise<TestOidcProvider> {
  const server: Server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const issuer = `http://127.0.0.1:${String(port)}`
  const clientId = 'candor-test'
  const clientSecret = 'a-long-client-secret-that-must-never-show-up-in-html'
  const users = new Map<string, TestUser>()
  const faults: ProviderFaults = {}
  let discoveryReads = 0

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [`${redirectPrefix}placeholder/callback`],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    findAccount(_ctx: unknown, sub: string): ProviderAccount | undefined {
      const user = users.get(sub)
      if (user === undefined) return undefined
      return { accountId: sub, claims: () => Promise.resolve({ sub, ...user }) }
    },
    claims: {
      openid: ['sub', 'hd'],
      email: ['email', 'email_verified'],
      profile: ['name'],
    },
    // Claims in the ID token itself, as Google does, rather than only at the userinfo endpoint.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true } },
    pkce: { required: () => true },
    cookies: { keys: ['test-cookie-key-0123456789'] },
    // A first-party client: no consent screen.
    async loadExistingGrant(ctx: GrantContext) {
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      })
      grant.addOIDCScope('openid email profile')
      grant.addOIDCClaims(['email', 'email_verified', 'name', 'hd'])
      await grant.save()
      return grant
    },
  })
  // Every connection has its own callback path under the prefix.
  provider.Client.prototype.redirectUriAllowed = (uri: string) =>
    uri.startsWith(redirectPrefix) && uri.endsWith('/callback')

  provider.use(async (ctx, next) => {
    if (ctx.path === '/.well-known/openid-configuration') discoveryReads++
    if (ctx.path === '/auth' && faults.replaceNonce !== undefined) {
      const query = new URLSearchParams(ctx.querystring)
      query.set('nonce', faults.replaceNonce)
      ctx.querystring = query.toString()
    }
    await next()
    if (ctx.path === '/token' && faults.tamperIdToken === true && isTokenBody(ctx.body)) {
      const [header = '', payload = '', signature = ''] = ctx.body.id_token.split('.')
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<
        string,
        unknown
      >
      claims['email'] = 'mallory@example.com'
      const forged = Buffer.from(JSON.stringify(claims)).toString('base64url')
      ctx.body.id_token = `${header}.${forged}.${signature}`
    }
  })
  server.on('request', provider.callback())

  async function authorize(authorizationUrl: string, subject: string): Promise<string> {
    const jar = new Map<string, string>()
    let url = authorizationUrl
    let body: URLSearchParams | undefined
    for (let step = 0; step < 10; step++) {
      const response = await fetch(url, {
        method: body === undefined ? 'GET' : 'POST',
        redirect: 'manual',
        headers: {
          cookie: [...jar].map(([name, value]) => `${name}=${value}`).join('; '),
          ...(body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }),
        },
        ...(body === undefined ? {} : { body }),
      })
      for (const cookie of response.headers.getSetCookie()) {
        const [pair = ''] = cookie.split(';')
        const at = pair.indexOf('=')
        const name = pair.slice(0, at)
        const value = pair.slice(at + 1)
        if (value === '') jar.delete(name)
        else jar.set(name, value)
      }
      body = undefined
      const location = response.headers.get('location')
      if (response.status >= 300 && response.status < 400 && location !== null) {
        const next = new URL(location, url)
        if (next.origin !== issuer) return next.href
        url = next.href
        continue
      }
      await response.text()
      if (response.status === 200 && new URL(url).pathname.startsWith('/interaction/')) {
        body = new URLSearchParams({ prompt: 'login', login: subject, password: 'any' })
        continue
      }
      throw new Error(`The provider answered ${String(response.status)} at ${url}`)
    }
    throw new Error('Too many steps at the provider')
  }

  return {
    issuer,
    clientId,
    clientSecret,
    users,
    faults,
    discoveryReads: () => discoveryReads,
    authorize,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections()
        server.close((error) => {
          if (error === undefined) resolve()
          else reject(error)
        })
      }),
  }
}

function isTokenBody(body: unknown): body is { id_token: string } {
  return (
    typeof body === 'object' &&
    body !== null &&
    'id_token' in body &&
    typeof body.id_token === 'string'
  )
}
