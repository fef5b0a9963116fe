import type { ComponentChildren } from 'preact'
import { renderToStaticMarkup } from 'preact-render-to-string'

export interface RenderedEmail {
  subject: string
  text: string
  html: string
}

function Layout({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <title>{title}</title>
      </head>
      <body style="font-family: system-ui, sans-serif; color: #1f2328; max-width: 560px; margin: 0 auto; padding: 24px;">
        <h1 style="font-size: 20px;">{title}</h1>
        {children}
        <p style="color: #59636e; font-size: 13px;">
          Sent by Candor. If you did not expect this message, you can ignore it.
        </p>
      </body>
    </html>
  )
}

function render(title: string, body: ComponentChildren): string {
  return `<!doctype html>${renderToStaticMarkup(<Layout title={title}>{body}</Layout>)}`
}

export function passwordResetEmail({
  link,
  ttlMinutes,
}: {
  link: string
  ttlMinutes: number
}): RenderedEmail {
  const subject = 'Reset your Candor password'
  return {
    subject,
    text: `Someone asked to reset the password of your Candor login.\n\nOpen this link to choose a new password (valid for ${String(ttlMinutes)} minutes, once):\n${link}\n\nIf it was not you, ignore this message: your password stays as it is.\n`,
    html: render(
      subject,
      <>
        <p>Someone asked to reset the password of your Candor login.</p>
        <p>
          <a href={link}>Choose a new password</a> (the link works once, for {ttlMinutes} minutes).
        </p>
        <p>If it was not you, ignore this message: your password stays as it is.</p>
      </>,
    ),
  }
}

export function signupEmail({
  link,
  ttlMinutes,
}: {
  link: string
  ttlMinutes: number
}): RenderedEmail {
  const subject = 'Finish creating your Candor account'
  return {
    subject,
    text: `Open this link to finish creating your Candor account (valid for ${String(ttlMinutes)} minutes, once):\n${link}\n`,
    html: render(
      subject,
      <p>
        <a href={link}>Finish creating your account</a> (the link works once, for {ttlMinutes}{' '}
        minutes).
      </p>,
    ),
  }
}

export function alreadyRegisteredEmail({
  loginLink,
  resetLink,
}: {
  loginLink: string
  resetLink: string
}): RenderedEmail {
  const subject = 'You already have a Candor login'
  return {
    subject,
    text: `Someone tried to create a Candor account with this address, which already has a login.\n\nSign in: ${loginLink}\nForgot your password? ${resetLink}\n`,
    html: render(
      subject,
      <>
        <p>
          Someone tried to create a Candor account with this address, which already has a login.
        </p>
        <p>
          <a href={loginLink}>Sign in</a> or <a href={resetLink}>reset your password</a>.
        </p>
      </>,
    ),
  }
}

export function invitationEmail({
  accountName,
  inviterName,
  role,
  link,
  expiresAt,
}: {
  accountName: string
  inviterName: string
  role: string
  link: string
  expiresAt: Date
}): RenderedEmail {
  const subject = `${inviterName} invited you to ${accountName} on Candor`
  const until = expiresAt.toUTCString()
  return {
    subject,
    text: `${inviterName} invited you to join ${accountName} on Candor as ${role}.\n\nAccept the invitation (the link works once, until ${until}):\n${link}\n\nIf you were not expecting this, ignore this message.\n`,
    html: render(
      subject,
      <>
        <p>
          {inviterName} invited you to join <strong>{accountName}</strong> on Candor as {role}.
        </p>
        <p>
          <a href={link}>Accept the invitation</a> (the link works once, until {until}).
        </p>
      </>,
    ),
  }
}

export function ownershipTransferEmail({
  accountName,
  ownerName,
  link,
}: {
  accountName: string
  ownerName: string
  link: string
}): RenderedEmail {
  const subject = `${ownerName} wants to make you the owner of ${accountName}`
  return {
    subject,
    text: `${ownerName} asked to transfer the ownership of ${accountName} on Candor to you. Nothing changes until you confirm.\n\nReview and confirm on the team page:\n${link}\n`,
    html: render(
      subject,
      <>
        <p>
          {ownerName} asked to transfer the ownership of <strong>{accountName}</strong> on Candor to
          you. Nothing changes until you confirm.
        </p>
        <p>
          <a href={link}>Review and confirm</a>
        </p>
      </>,
    ),
  }
}
