export interface OutgoingMail {
  to: string
  subject: string
  text: string
  html: string
  /** The account whose owner may read this message in the dashboard mailbox (embedded mode only). */
  accountId: string | null
  /** Extra headers, such as List-Unsubscribe. */
  headers?: Record<string, string>
  /** A stable Message-ID, so a message sent again after a crash is recognisably the same. */
  messageId?: string
}

export type SendMail = (mail: OutgoingMail) => Promise<void>
