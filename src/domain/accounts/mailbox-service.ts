import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Kysely } from 'kysely'
import type { DatabaseSchema } from '../../db/schema.js'
import type { Actor } from '../actor.js'
import { NotFoundError } from '../errors.js'
import { authorize } from './authorization.js'

export interface MailboxEntry {
  id: string
  subject: string
  createdAt: Date
}

export type MailboxService = ReturnType<typeof createMailboxService>

/**
 * On the embedded default without SMTP, emails are written to DATA_DIR/mail. The owner reads the
 * ones that belong to their account here, so a first install can finish every email flow.
 */
export function createMailboxService({
  db,
  mailDir,
}: {
  db: Kysely<DatabaseSchema>
  mailDir: string | undefined
}) {
  const isEnabled = mailDir !== undefined

  async function list(actor: Actor, accountId: string): Promise<MailboxEntry[]> {
    await authorize(db, actor, accountId, 'mailbox.read')
    if (!isEnabled) return []
    const rows = await db
      .selectFrom('mail_messages')
      .select(['id', 'subject', 'created_at'])
      .where('account_id', '=', accountId)
      .where('transport', '=', 'file')
      .orderBy('created_at', 'desc')
      .limit(100)
      .execute()
    return rows.map((row) => ({
      id: row.id,
      subject: row.subject,
      createdAt: new Date(row.created_at),
    }))
  }

  async function read(
    actor: Actor,
    accountId: string,
    messageId: string,
  ): Promise<{ entry: MailboxEntry; raw: string }> {
    await authorize(db, actor, accountId, 'mailbox.read')
    const row = isEnabled
      ? await db
          .selectFrom('mail_messages')
          .select(['id', 'subject', 'created_at', 'file_name'])
          .where('id', '=', messageId)
          .where('account_id', '=', accountId)
          .where('transport', '=', 'file')
          .executeTakeFirst()
      : undefined
    if (row?.file_name == null || mailDir === undefined) throw new NotFoundError('The message')
    let raw: string
    try {
      raw = await readFile(join(mailDir, row.file_name), 'latin1')
    } catch {
      throw new NotFoundError('The message file')
    }
    return {
      entry: { id: row.id, subject: row.subject, createdAt: new Date(row.created_at) },
      raw: decodeQuotedPrintable(raw),
    }
  }

  return { isEnabled, list, read }
}

/** Undoes quoted-printable soft line breaks and escapes, so links in the message read whole. */
function decodeQuotedPrintable(raw: string): string {
  const joined = raw.replace(/=\r?\n/g, '')
  return Buffer.from(
    joined.replace(/=([0-9A-F]{2})/g, (_, hex: string) =>
      String.fromCharCode(Number.parseInt(hex, 16)),
    ),
    'latin1',
  ).toString('utf8')
}
