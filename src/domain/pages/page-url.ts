/** A page's public address: its custom domain when it has one, else /p/<slug> on the base URL. */
export function publicPageUrl(
  baseUrl: URL,
  page: { slug: string; customDomain: string | null },
): string {
  return page.customDomain === null
    ? new URL(`/p/${page.slug}`, baseUrl).toString()
    : `https://${page.customDomain}`
}
