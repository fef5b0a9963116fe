/**
 * Told after a change to a page has committed, so public renders can be refreshed. On PostgreSQL
 * the notice also reaches every other process (see src/db/page-change-feed.ts).
 */
export interface PageEvents {
  changed(pageId: string): void
}

/** Where readers (the public page cache) hear about changes, '*' meaning "anything may have changed". */
export interface PageEventSource {
  subscribe(listener: (pageId: string) => void): () => void
}
