/**
 * Told after a change to a page has committed, so public renders can be refreshed. On PostgreSQL
 * the notice also reaches every other process (see src/db/page-change-feed.ts).
 */
export interface PageEvents {
  changed(pageId: string): void
}
