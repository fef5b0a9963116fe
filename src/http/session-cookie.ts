export const SESSION_COOKIE = 'candor_session'

/** Over HTTPS the __Host- prefix pins the cookie to this exact host, path / and Secure. */
export function sessionCookieName(https: boolean): string {
  return https ? `__Host-${SESSION_COOKIE}` : SESSION_COOKIE
}
