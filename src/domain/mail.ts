export interface OutgoingMail {
  to: string
  subject: string
  text: string
  html: string
  /** The account whose owner may read this message in the dashboard mailbox (embedded mode only). */
  accountId: string | null
}

export type SendMail = (mail: OutgoingMail) => Promise<void>
