import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Kysely } from 'kysely'
import nodemailer from 'nodemailer'
import type { Logger } from 'pino'
import type { SmtpConfig } from '../config.js'
import type { KeyRing } from '../crypto/key-ring.js'
import { generateId } from '../crypto/tokens.js'
import type { DatabaseSchema } from '../db/schema.js'
import { emailIndex } from '../domain/accounts/user-repository.js'
import type { OutgoingMail, SendMail } from '../domain/mail.js'

export interface EmailSender {
  send: SendMail
  readonly transport: 'smtp' | 'file'
  /** Where .eml files go when no SMTP server is configured. */
  readonly mailDir: string | undefined
  verify(): Promise<void>
  close(): void
}

export interface EmailSenderOptions {
  db: Kysely<DatabaseSchema>
  keyRing: KeyRing
  logger: Logger
  from: string
  smtp: SmtpConfig | undefined
  dataDir: string
}

/**
 * SMTP through a pooled nodemailer transport when configured. Without SMTP (the embedded default)
 * each message is written as an .eml file under DATA_DIR/mail, so every email flow still works
 * on a first install; the owner reads them in the dashboard.
 */
export function createEmailSender(options: EmailSenderOptions): EmailSender {
  const { db, keyRing, logger, from, smtp } = options
  if (smtp !== undefined) {
    const transporter = nodemailer.createTransport({
      pool: true,
      maxConnections: smtp.poolSize,
      host: smtp.host,
      port: smtp.port,
      secure: smtp.secure === 'tls',
      ignoreTLS: smtp.secure === 'none',
      requireTLS: smtp.secure === 'starttls',
      ...(smtp.user !== undefined && smtp.password !== undefined
        ? { auth: { user: smtp.user, pass: smtp.password } }
        : {}),
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
    })
    return {
      transport: 'smtp',
      mailDir: undefined,
      async send(mail) {
        await transporter.sendMail({
          from,
          to: mail.to,
          subject: mail.subject,
          text: mail.text,
          html: mail.html,
          ...extras(mail),
        })
        await record(mail, 'smtp', null)
      },
      async verify() {
        await transporter.verify()
      },
      close() {
        transporter.close()
      },
    }
  }

  const mailDir = join(options.dataDir, 'mail')
  const transporter = nodemailer.createTransport({
    streamTransport: true,
    buffer: true,
    newline: 'unix',
  })
  return {
    transport: 'file',
    mailDir,
    async send(mail) {
      const info = await transporter.sendMail({
        from,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        ...extras(mail),
      })
      const id = generateId()
      const fileName = `${new Date().toISOString().replace(/[:.]/g, '-')}-${id}.eml`
      mkdirSync(mailDir, { recursive: true, mode: 0o700 })
      writeFileSync(join(mailDir, fileName), info.message as Buffer, { mode: 0o600 })
      await record(mail, 'file', fileName, id)
      logger.info(
        { file: join(mailDir, fileName) },
        'email written to file (no SMTP_HOST configured)',
      )
    },
    verify: () => Promise.resolve(),
    close() {
      transporter.close()
    },
  }

  async function record(
    mail: OutgoingMail,
    transport: 'smtp' | 'file',
    fileName: string | null,
    id = generateId(),
  ) {
    await db
      .insertInto('mail_messages')
      .values({
        id,
        account_id: mail.accountId,
        recipient_index: emailIndex(keyRing, mail.to),
        subject: mail.subject,
        transport,
        file_name: fileName,
        created_at: new Date(),
      })
      .execute()
  }
}

function extras(mail: OutgoingMail): { headers?: Record<string, string>; messageId?: string } {
  return {
    ...(mail.headers === undefined ? {} : { headers: mail.headers }),
    ...(mail.messageId === undefined ? {} : { messageId: mail.messageId }),
  }
}
