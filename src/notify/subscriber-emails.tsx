import type { ComponentChildren } from 'preact'
import { renderToStaticMarkup } from 'preact-render-to-string'
import type { AffectedComponent, Incident, IncidentUpdate, Locale } from '../domain/pages/types.js'
import { renderMarkdown } from '../http/public/markdown.js'
import {
  componentStatusLabel,
  impactLabel,
  incidentStatusLabel,
  indicatorDescription,
} from '../http/public/i18n.js'
import type { RenderedEmail } from './email-templates.js'
import type { NotificationMessage } from './message.js'

/*
 * Emails to the subscribers of a status page. Status, impact and component labels come from the
 * public page's dictionary so an email and the page it links to say the same words. Email
 * clients drop <style> and external CSS, so every style is inline; nothing needs an image.
 */

const en = {
  'subject.prefix': '[{page}] ',
  'subject.update': '{name}: {status}',
  'subject.scheduled': 'Scheduled maintenance: {name}',
  'subject.reminder': 'Reminder: {name} starts {time}',
  'subject.component': '{component} is now {status}',
  'heading.scheduled': 'Scheduled maintenance: {name}',
  'heading.reminder': 'Reminder: {name} starts {time}',
  'component.change': '{component} is now {status} (was {old}).',
  'component.since': 'Since {time}.',
  'page.overall': 'Overall status of {page}: {status}.',
  'update.status': '{status} – {time}',
  'components.heading': 'Affected components',
  'components.item': '{name}: {status}',
  'window.heading': 'Maintenance window',
  'impact.line': 'Impact: {impact}',
  'link.incident': 'View incident',
  'link.maintenance': 'View maintenance',
  'link.page': 'View the status page of {page}',
  'footer.reason': 'You are receiving this because you subscribed to updates of {page}.',
  'footer.manage': 'Manage your subscription',
  'footer.unsubscribe': 'Unsubscribe',
  'footer.timeZone': 'Times are shown in the {zone} time zone.',

  'confirm.subject': 'Confirm your subscription to {page}',
  'confirm.intro':
    'Someone, probably you, asked to receive the status updates of {page} at this address.',
  'confirm.action': 'Confirm your subscription',
  'confirm.validity': 'The link is valid for {duration}.',
  'confirm.nothing':
    'Nothing happens unless you open this link: if it was not you, ignore this message and you will receive nothing.',

  'already.subject': 'You are already subscribed to {page}',
  'already.intro':
    'Someone asked to subscribe this address to the status updates of {page}. You are already subscribed, so nothing has changed.',
  'already.manage': 'To choose what you receive or to unsubscribe, manage your subscription.',

  'manage.subject': 'Manage your subscription to {page}',
  'manage.intro':
    'Here is the link you asked for to manage your subscription to the status updates of {page}: choose what you receive or unsubscribe.',

  'ignore.notYou': 'If it was not you, you can ignore this message.',
  'ignore.notAsked': 'If you did not ask for it, ignore this message: nothing changes.',
} as const

type Key = keyof typeof en

const fr: Record<Key, string> = {
  'subject.prefix': '[{page}] ',
  'subject.update': '{name}\u00a0: {status}',
  'subject.scheduled': 'Maintenance planifiée\u00a0: {name}',
  'subject.reminder': 'Rappel\u00a0: {name} commence le {time}',
  'subject.component': 'Nouvel état de {component}\u00a0: {status}',
  'heading.scheduled': 'Maintenance planifiée\u00a0: {name}',
  'heading.reminder': 'Rappel\u00a0: {name} commence le {time}',
  'component.change': 'Nouvel état de {component}\u00a0: {status} (auparavant\u00a0: {old}).',
  'component.since': 'Depuis le {time}.',
  'page.overall': 'État général de {page}\u00a0: {status}.',
  'update.status': '{status} – {time}',
  'components.heading': 'Composants concernés',
  'components.item': '{name}\u00a0: {status}',
  'window.heading': 'Fenêtre de maintenance',
  'impact.line': 'Impact\u00a0: {impact}',
  'link.incident': 'Voir l’incident',
  'link.maintenance': 'Voir la maintenance',
  'link.page': 'Voir la page d’état de {page}',
  'footer.reason':
    'Vous recevez ce message en raison de votre abonnement aux mises à jour de {page}.',
  'footer.manage': 'Gérer votre abonnement',
  'footer.unsubscribe': 'Se désabonner',
  'footer.timeZone': 'Les heures sont indiquées dans le fuseau {zone}.',

  'confirm.subject': 'Confirmez votre abonnement à {page}',
  'confirm.intro':
    'Quelqu’un, sans doute vous, a demandé à recevoir à cette adresse les mises à jour de l’état de {page}.',
  'confirm.action': 'Confirmer votre abonnement',
  'confirm.validity': 'Le lien est valable {duration}.',
  'confirm.nothing':
    'Rien ne se passe tant que vous n’ouvrez pas ce lien\u00a0: si ce n’était pas vous, ignorez ce message et vous ne recevrez rien.',

  'already.subject': 'Cette adresse est déjà abonnée à {page}',
  'already.intro':
    'Quelqu’un a demandé à abonner cette adresse aux mises à jour de l’état de {page}. Elle y est déjà abonnée\u00a0: rien n’a changé.',
  'already.manage': 'Pour choisir ce que vous recevez ou vous désabonner, gérez votre abonnement.',

  'manage.subject': 'Gérer votre abonnement à {page}',
  'manage.intro':
    'Voici le lien demandé pour gérer votre abonnement aux mises à jour de l’état de {page}\u00a0: choisissez ce que vous recevez ou désabonnez-vous.',

  'ignore.notYou': 'Si ce n’était pas vous, vous pouvez ignorer ce message.',
  'ignore.notAsked': 'Si vous ne l’avez pas demandé, ignorez ce message\u00a0: rien ne change.',
}

const strings: Record<Locale, Record<Key, string>> = { en, fr }

function say(locale: Locale, key: Key, params: Record<string, string> = {}): string {
  return strings[locale][key].replace(/\{(\w+)\}/g, (whole, name: string) => params[name] ?? whole)
}

/** "Label: value", with French typography's non-breaking space before the colon. */
function labelled(locale: Locale, label: string, value: string): string {
  return `${label}${locale === 'fr' ? '\u00a0:' : ':'} ${value}`
}

/** A header line must stay one line, whatever an editor typed into a name. */
function oneLine(text: string): string {
  return text.replace(/[ \t\n\v\f\r\u0085\u2028\u2029]+/g, ' ').trim()
}

const timeFormats = new Map<string, Intl.DateTimeFormat>()

/** "Mar 3, 2026, 09:30 EST" / "3 mars 2026, 15:30 UTC+1": the page's zone, named. */
function formatEmailTime(date: Date, locale: Locale, timeZone: string): string {
  const key = `${locale}|${timeZone}`
  let format = timeFormats.get(key)
  if (format === undefined) {
    format = new Intl.DateTimeFormat(locale, {
      timeZone,
      year: 'numeric',
      month: 'short',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'short',
    })
    timeFormats.set(key, format)
  }
  return format.format(date)
}

function formatHours(hours: number, locale: Locale): string {
  return new Intl.NumberFormat(locale, {
    style: 'unit',
    unit: 'hour',
    unitDisplay: 'long',
    maximumFractionDigits: 1,
  }).format(hours)
}

// --- Colours -------------------------------------------------------------------------------

const DEFAULT_BRAND = '#1f2328'
const TEXT = '#1f2328'
const MUTED = '#59636e'
const WHITE = '#ffffff'

function relativeLuminance(hex: string): number {
  const channel = (offset: number) => {
    const c = parseInt(hex.slice(offset, offset + 2), 16) / 255
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4
  }
  return 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5)
}

function contrast(a: string, b: string): number {
  const [hi, lo] = [relativeLuminance(a), relativeLuminance(b)].sort((x, y) => y - x)
  return ((hi ?? 0) + 0.05) / ((lo ?? 0) + 0.05)
}

interface Palette {
  brand: string
  /** Text on the brand-coloured header bar: white or dark, whichever reads better. */
  onBrand: string
  /** Links on white: the brand colour unless it is too pale to read (WCAG 3:1 for links). */
  link: string
}

function palette(brandColor: string): Palette {
  // Validated upstream; checked again because it lands inside style attributes.
  const brand = /^#[0-9a-f]{6}$/i.test(brandColor) ? brandColor : DEFAULT_BRAND
  return {
    brand,
    onBrand: contrast(brand, WHITE) >= contrast(brand, TEXT) ? WHITE : TEXT,
    link: contrast(brand, WHITE) >= 3 ? brand : TEXT,
  }
}

// --- Layout --------------------------------------------------------------------------------

const FONT = 'font-family: Helvetica, Arial, sans-serif;'

interface Frame {
  locale: Locale
  subject: string
  pageName: string
  pageUrl: string
  colors: Palette
}

function Link({ href, colors, children }: { href: string; colors: Palette; children: string }) {
  return (
    <a href={href} style={`color: ${colors.link}; text-decoration: underline;`}>
      {children}
    </a>
  )
}

function Button({ href, colors, children }: { href: string; colors: Palette; children: string }) {
  return (
    <a
      href={href}
      style={`${FONT} display: inline-block; background-color: ${colors.brand}; color: ${colors.onBrand}; font-size: 15px; font-weight: bold; text-decoration: none; padding: 10px 18px; border-radius: 4px;`}
    >
      {children}
    </a>
  )
}

function Paragraph({ children, muted }: { children: ComponentChildren; muted?: boolean }) {
  return (
    <p
      style={`margin: 0 0 16px 0; font-size: ${muted === true ? '13px' : '15px'}; line-height: 1.5; color: ${muted === true ? MUTED : TEXT};`}
    >
      {children}
    </p>
  )
}

function Layout({
  frame,
  heading,
  children,
  footer,
}: {
  frame: Frame
  heading: string
  children: ComponentChildren
  footer: ComponentChildren
}) {
  const { colors } = frame
  return (
    <html lang={frame.locale}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{frame.subject}</title>
      </head>
      <body style={`margin: 0; padding: 0; background-color: #f6f8fa; ${FONT}`}>
        <table
          role="presentation"
          width="100%"
          cellpadding="0"
          cellspacing="0"
          style="width: 100%; background-color: #f6f8fa;"
        >
          <tr>
            <td align="center" style="padding: 24px 12px;">
              <table
                role="presentation"
                width="100%"
                cellpadding="0"
                cellspacing="0"
                style="width: 100%; max-width: 600px; background-color: #ffffff; border: 1px solid #d1d9e0; border-collapse: collapse;"
              >
                <tr>
                  <td
                    style={`background-color: ${colors.brand}; padding: 16px 24px; ${FONT} font-size: 18px; font-weight: bold;`}
                  >
                    <a
                      href={frame.pageUrl}
                      style={`color: ${colors.onBrand}; text-decoration: none;`}
                    >
                      {frame.pageName}
                    </a>
                  </td>
                </tr>
                <tr>
                  <td style={`padding: 24px; ${FONT} color: ${TEXT};`}>
                    <h1
                      style={`margin: 0 0 16px 0; font-size: 20px; line-height: 1.3; color: ${TEXT};`}
                    >
                      {heading}
                    </h1>
                    {children}
                  </td>
                </tr>
                <tr>
                  <td
                    style={`padding: 16px 24px; border-top: 1px solid #d1d9e0; ${FONT} font-size: 13px; line-height: 1.5; color: ${MUTED};`}
                  >
                    {footer}
                  </td>
                </tr>
              </table>
            </td>
          </tr>
        </table>
      </body>
    </html>
  )
}

function renderDocument(
  frame: Frame,
  heading: string,
  body: ComponentChildren,
  footer: ComponentChildren,
): string {
  return `<!doctype html>${renderToStaticMarkup(
    <Layout frame={frame} heading={heading} footer={footer}>
      {body}
    </Layout>,
  )}`
}

// --- Notification of an incident, a maintenance or a component change ----------------------

interface NotificationContent {
  subject: string
  heading: string
  htmlBody: ComponentChildren
  textBody: string[]
}

/** The email telling one subscriber about one event of a page they follow. */
export function notificationEmail(message: NotificationMessage): RenderedEmail {
  const { page, links } = message
  const locale = page.locale
  const colors = palette(page.brandColor)
  const content =
    message.type === 'component.updated'
      ? componentContent(message, colors)
      : incidentContent(message, colors)
  const subject = oneLine(say(locale, 'subject.prefix', { page: page.name }) + content.subject)
  const frame: Frame = { locale, subject, pageName: page.name, pageUrl: page.url, colors }

  const reason = say(locale, 'footer.reason', { page: page.name })
  const zone = say(locale, 'footer.timeZone', { zone: page.timeZone })
  const manage = say(locale, 'footer.manage')
  const unsubscribe = say(locale, 'footer.unsubscribe')
  const footer = (
    <>
      <p style="margin: 0 0 8px 0;">{reason}</p>
      <p style="margin: 0 0 8px 0;">
        <Link href={links.manage} colors={colors}>
          {manage}
        </Link>
        {' · '}
        <Link href={links.unsubscribe} colors={colors}>
          {unsubscribe}
        </Link>
      </p>
      <p style="margin: 0;">{zone}</p>
    </>
  )

  const text = [
    content.heading,
    '',
    ...content.textBody,
    '',
    '--',
    reason,
    labelled(locale, manage, links.manage),
    labelled(locale, unsubscribe, links.unsubscribe),
    zone,
    '',
  ].join('\n')

  return {
    subject,
    text,
    html: renderDocument(frame, content.heading, content.htmlBody, footer),
  }
}

function requireIncident(message: NotificationMessage): Incident {
  if (message.incident === undefined) {
    throw new Error(`A ${message.type} notification needs its incident`)
  }
  return message.incident
}

function incidentContent(message: NotificationMessage, colors: Palette): NotificationContent {
  const { page } = message
  const locale = page.locale
  const incident = requireIncident(message)
  const update: IncidentUpdate | undefined = incident.updates[0]
  const time = (date: Date) => formatEmailTime(date, locale, page.timeZone)
  const statusLabel = incidentStatusLabel(locale, update?.status ?? incident.status)
  const isMaintenance = incident.kind === 'maintenance'
  const startsAt = incident.scheduledFor ?? incident.startedAt

  let subject: string
  let heading: string
  switch (message.type) {
    case 'maintenance.scheduled':
      subject = say(locale, 'subject.scheduled', { name: incident.name })
      heading = say(locale, 'heading.scheduled', { name: incident.name })
      break
    case 'maintenance.reminder':
      subject = say(locale, 'subject.reminder', { name: incident.name, time: time(startsAt) })
      heading = say(locale, 'heading.reminder', { name: incident.name, time: time(startsAt) })
      break
    default:
      subject = say(locale, 'subject.update', { name: incident.name, status: statusLabel })
      heading = incident.name
  }

  const statusLine =
    update === undefined
      ? statusLabel
      : say(locale, 'update.status', { status: statusLabel, time: time(update.displayAt) })
  const components: AffectedComponent[] = update?.affectedComponents ?? []
  const componentLines = components.map((c) =>
    say(locale, 'components.item', {
      name: c.name,
      status: componentStatusLabel(locale, c.newStatus),
    }),
  )
  const window =
    isMaintenance && incident.scheduledFor !== null && incident.scheduledUntil !== null
      ? `${time(incident.scheduledFor)} – ${time(incident.scheduledUntil)}`
      : null
  const impact = say(locale, 'impact.line', { impact: impactLabel(locale, incident.impact) })
  const incidentLink = say(locale, isMaintenance ? 'link.maintenance' : 'link.incident')
  const pageLink = say(locale, 'link.page', { page: page.name })
  const body = update?.body.trim() ?? ''

  const textBody: string[] = [statusLine]
  if (body !== '') textBody.push('', body)
  if (window !== null) textBody.push('', labelled(locale, say(locale, 'window.heading'), window))
  if (componentLines.length > 0) {
    textBody.push('', labelled(locale, say(locale, 'components.heading'), '').trimEnd())
    textBody.push(...componentLines.map((line) => `- ${line}`))
  }
  textBody.push('', impact, '')
  if (message.incidentUrl !== undefined) {
    textBody.push(labelled(locale, incidentLink, message.incidentUrl))
  }
  textBody.push(labelled(locale, pageLink, page.url))

  const sectionHeading = `margin: 16px 0 8px 0; font-size: 15px; color: ${TEXT};`
  const htmlBody = (
    <>
      <Paragraph>
        <strong>{statusLabel}</strong>
        {update === undefined ? null : (
          <span style={`color: ${MUTED};`}> – {time(update.displayAt)}</span>
        )}
      </Paragraph>
      {body === '' ? null : (
        <div
          style={`margin: 0 0 16px 0; font-size: 15px; line-height: 1.5; color: ${TEXT};`}
          // markdown-it with raw HTML off and links restricted to http(s)/mailto: see markdown.ts.
          dangerouslySetInnerHTML={{ __html: renderMarkdown(body) }}
        />
      )}
      {window === null ? null : (
        <>
          <h2 style={sectionHeading}>{say(locale, 'window.heading')}</h2>
          <Paragraph>{window}</Paragraph>
        </>
      )}
      {componentLines.length === 0 ? null : (
        <>
          <h2 style={sectionHeading}>{say(locale, 'components.heading')}</h2>
          <ul style="margin: 0 0 16px 0; padding-left: 20px; font-size: 15px; line-height: 1.5;">
            {componentLines.map((line) => (
              <li>{line}</li>
            ))}
          </ul>
        </>
      )}
      <Paragraph>{impact}</Paragraph>
      <p style="margin: 24px 0 16px 0;">
        {message.incidentUrl === undefined ? (
          <Button href={page.url} colors={colors}>
            {pageLink}
          </Button>
        ) : (
          <Button href={message.incidentUrl} colors={colors}>
            {incidentLink}
          </Button>
        )}
      </p>
      {message.incidentUrl === undefined ? null : (
        <Paragraph>
          <Link href={page.url} colors={colors}>
            {pageLink}
          </Link>
        </Paragraph>
      )}
    </>
  )

  return { subject, heading, htmlBody, textBody }
}

function componentContent(message: NotificationMessage, colors: Palette): NotificationContent {
  const { page } = message
  const locale = page.locale
  const change = message.componentChange
  if (change === undefined) throw new Error('A component.updated notification needs its change')
  const status = componentStatusLabel(locale, change.newStatus)
  const subject = say(locale, 'subject.component', { component: change.componentName, status })
  const changeLine = say(locale, 'component.change', {
    component: change.componentName,
    status,
    old: componentStatusLabel(locale, change.oldStatus),
  })
  const since = say(locale, 'component.since', {
    time: formatEmailTime(change.createdAt, locale, page.timeZone),
  })
  const overall = say(locale, 'page.overall', {
    page: page.name,
    status: indicatorDescription(locale, page.statusIndicator),
  })
  const pageLink = say(locale, 'link.page', { page: page.name })

  return {
    subject,
    heading: subject,
    textBody: [changeLine, since, '', overall, '', labelled(locale, pageLink, page.url)],
    htmlBody: (
      <>
        <Paragraph>{changeLine}</Paragraph>
        <Paragraph>{since}</Paragraph>
        <Paragraph>{overall}</Paragraph>
        <p style="margin: 24px 0 16px 0;">
          <Button href={page.url} colors={colors}>
            {pageLink}
          </Button>
        </p>
      </>
    ),
  }
}

// --- Subscription lifecycle ----------------------------------------------------------------

interface PageInput {
  pageName: string
  pageUrl: string
  locale: Locale
}

function lifecycleEmail(
  input: PageInput,
  subject: string,
  paragraphs: { before: string[]; action: { label: string; url: string }; after: string[] },
): RenderedEmail {
  const colors = palette(DEFAULT_BRAND)
  const cleanSubject = oneLine(subject)
  const frame: Frame = {
    locale: input.locale,
    subject: cleanSubject,
    pageName: input.pageName,
    pageUrl: input.pageUrl,
    colors,
  }
  const { before, action, after } = paragraphs
  const text = [
    ...before.flatMap((p) => [p, '']),
    labelled(input.locale, action.label, action.url),
    '',
    ...after.flatMap((p) => [p, '']),
    labelled(input.locale, input.pageName, input.pageUrl),
    '',
  ].join('\n')
  const html = renderDocument(
    frame,
    cleanSubject,
    <>
      {before.map((p) => (
        <Paragraph>{p}</Paragraph>
      ))}
      <p style="margin: 24px 0;">
        <Button href={action.url} colors={colors}>
          {action.label}
        </Button>
      </p>
      <Paragraph muted>
        <Link href={action.url} colors={colors}>
          {action.url}
        </Link>
      </Paragraph>
      {after.map((p) => (
        <Paragraph>{p}</Paragraph>
      ))}
    </>,
    <Link href={input.pageUrl} colors={colors}>
      {input.pageName}
    </Link>,
  )
  return { subject: cleanSubject, text, html }
}

/** Double opt-in: the address receives nothing until its owner opens confirmUrl. */
export function subscriptionConfirmationEmail(input: {
  pageName: string
  pageUrl: string
  locale: 'en' | 'fr'
  confirmUrl: string
  ttlHours: number
}): RenderedEmail {
  const { locale, pageName: page } = input
  return lifecycleEmail(input, say(locale, 'confirm.subject', { page }), {
    before: [say(locale, 'confirm.intro', { page })],
    action: { label: say(locale, 'confirm.action'), url: input.confirmUrl },
    after: [
      say(locale, 'confirm.validity', { duration: formatHours(input.ttlHours, locale) }),
      say(locale, 'confirm.nothing'),
    ],
  })
}

/** Sent instead of a confirmation when the address already follows the page. */
export function alreadySubscribedEmail(input: {
  pageName: string
  pageUrl: string
  locale: 'en' | 'fr'
  manageUrl: string
}): RenderedEmail {
  const { locale, pageName: page } = input
  return lifecycleEmail(input, say(locale, 'already.subject', { page }), {
    before: [say(locale, 'already.intro', { page }), say(locale, 'already.manage')],
    action: { label: say(locale, 'footer.manage'), url: input.manageUrl },
    after: [say(locale, 'ignore.notYou')],
  })
}

/** The manage-preferences link a subscriber asked for. */
export function manageLinkEmail(input: {
  pageName: string
  pageUrl: string
  locale: 'en' | 'fr'
  manageUrl: string
}): RenderedEmail {
  const { locale, pageName: page } = input
  return lifecycleEmail(input, say(locale, 'manage.subject', { page }), {
    before: [say(locale, 'manage.intro', { page })],
    action: { label: say(locale, 'footer.manage'), url: input.manageUrl },
    after: [say(locale, 'ignore.notAsked')],
  })
}
