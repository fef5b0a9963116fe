import type { ComponentChildren } from 'preact'
import type { Component, Locale, Page } from '../../domain/pages/types.js'
import type { Subscriber } from '../../domain/subscribers/types.js'
import { homeHref, pageHref, type PublicRenderContext } from '../public/views/context.js'
import { PublicLayout, renderPublicDocument } from '../public/views/layout.js'

/**
 * The subscriber's pages: the subscribe form on the page's own surfaces, and the pages that the
 * links of our emails open on the main host (confirm, manage, unsubscribe, erase). No scripts and
 * no inline styles; every form works without JavaScript.
 */

const en = {
  'subscribe.title': 'Subscribe to updates',
  'subscribe.intro':
    'Get an email when {name} reports an incident or schedules maintenance, and when it is resolved.',
  'subscribe.email': 'Email address',
  'subscribe.components': 'Components',
  'subscribe.componentsHint':
    'Pick the components you care about, or none to hear about everything.',
  'subscribe.group': '{name} (the whole group)',
  'subscribe.honeypot': 'Leave this field empty',
  'subscribe.consent': 'Before you subscribe',
  'subscribe.submit': 'Subscribe',
  'subscribe.errors': 'Please correct the following:',
  'error.email': 'Enter an email address like name@example.com.',
  'error.componentIds': 'Pick components from the list.',
  'error.consentVersion':
    'The privacy notice changed since the form was shown: read it again and send the form once more.',
  'error.field': 'This field is not valid.',
  'sent.title': 'Check your inbox',
  'sent.body':
    'If this address can receive our messages, an email is on its way. Follow the link in it to confirm your subscription to {name}.',
  'sent.back': 'Back to the status page',
  'manageLink.heading': 'Already subscribed?',
  'manageLink.intro':
    'Enter your address and we will email you a link to change or cancel your subscription.',
  'manageLink.submit': 'Email me a link',
  'manageLink.body':
    'If this address is subscribed to {name}, we have sent it a link to manage the subscription.',
  'limited.title': 'Too many requests',
  'limited.body': 'Too many requests came from your network. Try again in {minutes} minutes.',
  'confirm.title': 'Confirm your subscription',
  'confirm.body': 'Confirm that you want to receive the updates of {name} by email.',
  'confirm.button': 'Confirm my subscription',
  'confirmed.title': 'You are subscribed',
  'confirmed.body': 'You will receive the updates of {name} by email.',
  'confirmed.manage': 'Choose what you receive, or unsubscribe',
  'expired.title': 'This link no longer works',
  'expired.body':
    'It has expired, was already used, or is incomplete. Ask for a new link from the subscribe form of the status page.',
  'manage.title': 'Your subscription',
  'manage.intro': 'The updates of {name} go to {address}.',
  'manage.pending': 'This subscription is not confirmed yet: follow the link in the email we sent.',
  'manage.unsubscribed':
    'You are unsubscribed: nothing more is sent to this address. To receive updates again, subscribe from the status page.',
  'manage.what': 'What you receive',
  'manage.save': 'Save my choice',
  'manage.saved': 'Your choice is saved.',
  'manage.unsubscribeHeading': 'Unsubscribe',
  'manage.unsubscribeIntro': 'Stop every message about {name}.',
  'manage.unsubscribe': 'Unsubscribe',
  'manage.data': 'Your data',
  'manage.dataIntro':
    'Download everything kept about this subscription, or erase it for good (unsubscribing keeps the record; erasing deletes it).',
  'manage.export': 'Download my data (JSON)',
  'manage.eraseConfirm':
    'I understand that my subscription and the record of my consent are deleted for good.',
  'manage.erase': 'Erase my data',
  'manage.eraseRequired': 'Tick the box to confirm the erasure.',
  'erased.title': 'Your data is erased',
  'erased.body':
    'Your subscription to {name} and everything kept with it are deleted. Nothing more will be sent to you.',
  'unsubscribed.title': 'You are unsubscribed',
  'unsubscribed.body': 'You will receive no more updates about {name}.',
  'unsubscribed.manage': 'Manage your subscription',
  'confirmUnsubscribe.title': 'Unsubscribe?',
  'confirmUnsubscribe.body': 'Stop receiving the updates of {name}?',
  'member.title': 'Your notifications',
  'member.on': 'As a member of its team, you receive the updates of {name} by email.',
  'member.off': 'You chose not to receive the updates of {name}.',
  'member.optOut': 'Stop these notifications',
  'member.optIn': 'Notify me again',
  'member.optedIn': 'You will be notified again.',
  'back.page': 'Go to the status page',
} as const

type Key = keyof typeof en

const fr: Record<Key, string> = {
  'subscribe.title': 'S’abonner aux mises à jour',
  'subscribe.intro':
    'Recevez un e-mail quand {name} signale un incident ou planifie une maintenance, et quand il est résolu.',
  'subscribe.email': 'Adresse e-mail',
  'subscribe.components': 'Composants',
  'subscribe.componentsHint':
    'Choisissez les composants qui vous intéressent, ou aucun pour tout recevoir.',
  'subscribe.group': '{name} (tout le groupe)',
  'subscribe.honeypot': 'Laissez ce champ vide',
  'subscribe.consent': 'Avant de vous abonner',
  'subscribe.submit': 'S’abonner',
  'subscribe.errors': 'Veuillez corriger ce qui suit :',
  'error.email': 'Saisissez une adresse e-mail comme nom@exemple.fr.',
  'error.componentIds': 'Choisissez des composants dans la liste.',
  'error.consentVersion':
    'La notice de confidentialité a changé depuis l’affichage du formulaire : relisez-la et envoyez le formulaire à nouveau.',
  'error.field': 'Ce champ n’est pas valide.',
  'sent.title': 'Consultez votre boîte de réception',
  'sent.body':
    'Si cette adresse peut recevoir nos messages, un e-mail est en route. Suivez le lien qu’il contient pour confirmer votre abonnement à {name}.',
  'sent.back': 'Retour à la page d’état',
  'manageLink.heading': 'Déjà abonné ?',
  'manageLink.intro':
    'Saisissez votre adresse : nous vous enverrons un lien pour modifier ou annuler votre abonnement.',
  'manageLink.submit': 'M’envoyer un lien',
  'manageLink.body':
    'Si cette adresse est abonnée à {name}, nous lui avons envoyé un lien pour gérer l’abonnement.',
  'limited.title': 'Trop de demandes',
  'limited.body': 'Trop de demandes sont venues de votre réseau. Réessayez dans {minutes} minutes.',
  'confirm.title': 'Confirmez votre abonnement',
  'confirm.body': 'Confirmez que vous souhaitez recevoir par e-mail les mises à jour de {name}.',
  'confirm.button': 'Confirmer mon abonnement',
  'confirmed.title': 'Vous êtes abonné',
  'confirmed.body': 'Vous recevrez les mises à jour de {name} par e-mail.',
  'confirmed.manage': 'Choisir ce que vous recevez, ou vous désabonner',
  'expired.title': 'Ce lien ne fonctionne plus',
  'expired.body':
    'Il a expiré, a déjà servi ou est incomplet. Demandez un nouveau lien depuis le formulaire d’abonnement de la page d’état.',
  'manage.title': 'Votre abonnement',
  'manage.intro': 'Les mises à jour de {name} sont envoyées à {address}.',
  'manage.pending':
    'Cet abonnement n’est pas encore confirmé : suivez le lien de l’e-mail que nous avons envoyé.',
  'manage.unsubscribed':
    'Vous êtes désabonné : plus rien n’est envoyé à cette adresse. Pour recevoir à nouveau les mises à jour, abonnez-vous depuis la page d’état.',
  'manage.what': 'Ce que vous recevez',
  'manage.save': 'Enregistrer mon choix',
  'manage.saved': 'Votre choix est enregistré.',
  'manage.unsubscribeHeading': 'Se désabonner',
  'manage.unsubscribeIntro': 'Ne plus recevoir aucun message sur {name}.',
  'manage.unsubscribe': 'Se désabonner',
  'manage.data': 'Vos données',
  'manage.dataIntro':
    'Téléchargez tout ce qui est conservé sur cet abonnement, ou effacez-le définitivement (se désabonner garde l’enregistrement ; l’effacement le supprime).',
  'manage.export': 'Télécharger mes données (JSON)',
  'manage.eraseConfirm':
    'Je comprends que mon abonnement et la preuve de mon consentement sont supprimés définitivement.',
  'manage.erase': 'Effacer mes données',
  'manage.eraseRequired': 'Cochez la case pour confirmer l’effacement.',
  'erased.title': 'Vos données sont effacées',
  'erased.body':
    'Votre abonnement à {name} et tout ce qui était conservé avec lui sont supprimés. Plus rien ne vous sera envoyé.',
  'unsubscribed.title': 'Vous êtes désabonné',
  'unsubscribed.body': 'Vous ne recevrez plus de mises à jour de {name}.',
  'unsubscribed.manage': 'Gérer votre abonnement',
  'confirmUnsubscribe.title': 'Se désabonner ?',
  'confirmUnsubscribe.body': 'Ne plus recevoir les mises à jour de {name} ?',
  'member.title': 'Vos notifications',
  'member.on': 'Membre de son équipe, vous recevez les mises à jour de {name} par e-mail.',
  'member.off': 'Vous avez choisi de ne pas recevoir les mises à jour de {name}.',
  'member.optOut': 'Arrêter ces notifications',
  'member.optIn': 'Me notifier à nouveau',
  'member.optedIn': 'Vous serez à nouveau notifié.',
  'back.page': 'Aller à la page d’état',
}

export const subscriptionDictionaries: Record<Locale, Record<Key, string>> = { en, fr }

export function say(locale: Locale, key: Key, params: Record<string, string> = {}): string {
  return subscriptionDictionaries[locale][key].replace(
    /\{(\w+)\}/g,
    (whole, name: string) => params[name] ?? whole,
  )
}

export type FieldErrors = Readonly<Record<string, string>>

/** Messages of the subscribe forms in the page's language: the fields the service names. */
export function localizedErrors(locale: Locale, fields: FieldErrors): FieldErrors {
  const known: Record<string, Key> = {
    email: 'error.email',
    componentIds: 'error.componentIds',
    consentVersion: 'error.consentVersion',
  }
  return Object.fromEntries(
    Object.keys(fields).map((field) => [field, say(locale, known[field] ?? 'error.field')]),
  )
}

// ---------------------------------------------------------------------------------------------
// Shared pieces
// ---------------------------------------------------------------------------------------------

function Csrf({ token }: { token: string }) {
  return <input type="hidden" name="_csrf" value={token} />
}

function ErrorList({ locale, errors }: { locale: Locale; errors: FieldErrors }) {
  const messages = [...new Set(Object.values(errors))]
  if (messages.length === 0) return null
  return (
    <div class="form-errors" role="alert">
      <p>{say(locale, 'subscribe.errors')}</p>
      <ul>
        {messages.map((message) => (
          <li key={message}>{message}</li>
        ))}
      </ul>
    </div>
  )
}

/** The components of a page as checkboxes: each group with its components under it. */
export function ComponentChoices(props: {
  locale: Locale
  components: readonly Component[]
  selected: readonly string[]
  idPrefix: string
}) {
  const top = props.components.filter((c) => c.groupId === null)
  const children = (groupId: string) => props.components.filter((c) => c.groupId === groupId)
  const choice = (component: Component, text: string) => {
    const id = `${props.idPrefix}-${component.id}`
    return (
      <span class="choice">
        <input
          type="checkbox"
          id={id}
          name="componentIds"
          value={component.id}
          checked={props.selected.includes(component.id)}
        />{' '}
        <label for={id}>{text}</label>
      </span>
    )
  }
  return (
    <ul class="choices">
      {top.map((component) =>
        component.isGroup ? (
          <li key={component.id} class="choice-group">
            {choice(component, say(props.locale, 'subscribe.group', { name: component.name }))}
            <ul class="choices">
              {children(component.id).map((child) => (
                <li key={child.id}>{choice(child, child.name)}</li>
              ))}
            </ul>
          </li>
        ) : (
          <li key={component.id}>{choice(component, component.name)}</li>
        ),
      )}
    </ul>
  )
}

/** The consent text: a sentence, then the page's own privacy notice, as paragraphs. */
function ConsentText({ text }: { text: string }) {
  return (
    <>
      {text
        .split(/\n{2,}/)
        .filter((p) => p.trim() !== '')
        .map((paragraph, index) => (
          <p key={index}>
            {paragraph
              .split('\n')
              .flatMap((line, i) => (i === 0 ? [line] : [<br key={i} />, line]))}
          </p>
        ))}
    </>
  )
}

// ---------------------------------------------------------------------------------------------
// On the page's surface: /subscribe
// ---------------------------------------------------------------------------------------------

export interface SurfacePage {
  page: Page
  version: number
}

function SurfaceLayout(props: {
  ctx: PublicRenderContext
  surface: SurfacePage
  title: string
  children: ComponentChildren
}) {
  return (
    <PublicLayout
      ctx={props.ctx}
      page={props.surface.page}
      version={props.surface.version}
      title={`${props.title} · ${props.surface.page.name}`}
    >
      {props.children}
    </PublicLayout>
  )
}

/** Keeps `?lang=` on the forms of a page that was asked for in another language. */
function withLang(path: string, lang: Locale | undefined): string {
  return lang === undefined ? path : `${path}?lang=${lang}`
}

export interface SubscribeFormProps {
  ctx: PublicRenderContext
  /** The language named in the address (`?lang=`), kept on the forms. */
  lang: Locale | undefined
  surface: SurfacePage
  components: readonly Component[]
  consentText: string
  consentVersion: string
  csrfToken: string
  values?: { email?: string | undefined; componentIds?: readonly string[] } | undefined
  errors?: FieldErrors | undefined
  manageErrors?: FieldErrors | undefined
  manageEmail?: string | undefined
}

export function renderSubscribePage(props: SubscribeFormProps): string {
  const { ctx, surface } = props
  const l = ctx.locale
  const errors = props.errors ?? {}
  const manageErrors = props.manageErrors ?? {}
  const emailError = errors['email']
  const manageError = manageErrors['email']
  return renderPublicDocument(
    <SurfaceLayout ctx={ctx} surface={surface} title={say(l, 'subscribe.title')}>
      <section class="card subscribe" aria-labelledby="subscribe-heading">
        <h1 id="subscribe-heading">{say(l, 'subscribe.title')}</h1>
        <p>{say(l, 'subscribe.intro', { name: surface.page.name })}</p>
        <form
          method="post"
          action={withLang(pageHref(ctx, '/subscribe'), props.lang)}
          class="subscribe-form"
        >
          <Csrf token={props.csrfToken} />
          <input type="hidden" name="consentVersion" value={props.consentVersion} />
          <ErrorList locale={l} errors={errors} />
          <div class={emailError === undefined ? 'field' : 'field invalid'}>
            <label for="subscribe-email">{say(l, 'subscribe.email')}</label>
            {emailError !== undefined && (
              <p class="field-error" id="subscribe-email-error">
                {emailError}
              </p>
            )}
            <input
              type="email"
              id="subscribe-email"
              name="email"
              autocomplete="email"
              required
              maxLength={254}
              value={props.values?.email}
              aria-invalid={emailError === undefined ? undefined : 'true'}
              aria-describedby={emailError === undefined ? undefined : 'subscribe-email-error'}
            />
          </div>
          {props.components.length > 0 && (
            <fieldset class="subscribe-components">
              <legend>{say(l, 'subscribe.components')}</legend>
              <p class="quiet">{say(l, 'subscribe.componentsHint')}</p>
              {errors['componentIds'] !== undefined && (
                <p class="field-error">{errors['componentIds']}</p>
              )}
              <ComponentChoices
                locale={l}
                components={props.components}
                selected={props.values?.componentIds ?? []}
                idPrefix="subscribe-component"
              />
            </fieldset>
          )}
          <div class="subscribe-hp" aria-hidden="true">
            <label for="subscribe-website">{say(l, 'subscribe.honeypot')}</label>
            <input
              type="text"
              id="subscribe-website"
              name="website"
              autocomplete="off"
              tabindex={-1}
            />
          </div>
          <div class="consent" id="subscribe-consent">
            <h2>{say(l, 'subscribe.consent')}</h2>
            <ConsentText text={props.consentText} />
          </div>
          <button type="submit" class="button" aria-describedby="subscribe-consent">
            {say(l, 'subscribe.submit')}
          </button>
        </form>
      </section>
      <section class="card subscribe" aria-labelledby="manage-link-heading">
        <h2 id="manage-link-heading">{say(l, 'manageLink.heading')}</h2>
        <p>{say(l, 'manageLink.intro')}</p>
        <form method="post" action={withLang(pageHref(ctx, '/subscribe/manage-link'), props.lang)}>
          <Csrf token={props.csrfToken} />
          <div class={manageError === undefined ? 'field' : 'field invalid'}>
            <label for="manage-link-email">{say(l, 'subscribe.email')}</label>
            {manageError !== undefined && (
              <p class="field-error" id="manage-link-email-error" role="alert">
                {manageError}
              </p>
            )}
            <input
              type="email"
              id="manage-link-email"
              name="email"
              autocomplete="email"
              required
              maxLength={254}
              value={props.manageEmail}
              aria-invalid={manageError === undefined ? undefined : 'true'}
              aria-describedby={manageError === undefined ? undefined : 'manage-link-email-error'}
            />
          </div>
          <button type="submit" class="button secondary">
            {say(l, 'manageLink.submit')}
          </button>
        </form>
      </section>
    </SurfaceLayout>,
  )
}

/** The one answer to every subscribe request: new, pending or subscribed address, or a bot. */
export function renderSubscribeSentPage(
  ctx: PublicRenderContext,
  surface: SurfacePage,
  kind: 'subscribe' | 'manage-link',
): string {
  const l = ctx.locale
  const name = surface.page.name
  return renderPublicDocument(
    <SurfaceLayout ctx={ctx} surface={surface} title={say(l, 'sent.title')}>
      <section class="card subscribe" aria-labelledby="sent-heading">
        <h1 id="sent-heading">{say(l, 'sent.title')}</h1>
        <p>{say(l, kind === 'subscribe' ? 'sent.body' : 'manageLink.body', { name })}</p>
        <p>
          <a href={homeHref(ctx)}>{say(l, 'sent.back')}</a>
        </p>
      </section>
    </SurfaceLayout>,
  )
}

export function renderRateLimitedPage(
  ctx: PublicRenderContext,
  surface: SurfacePage,
  retryAfterSeconds: number,
): string {
  const l = ctx.locale
  const minutes = String(Math.max(1, Math.ceil(retryAfterSeconds / 60)))
  return renderPublicDocument(
    <SurfaceLayout ctx={ctx} surface={surface} title={say(l, 'limited.title')}>
      <section class="card subscribe" aria-labelledby="limited-heading">
        <h1 id="limited-heading">{say(l, 'limited.title')}</h1>
        <p>{say(l, 'limited.body', { minutes })}</p>
        <p>
          <a href={homeHref(ctx)}>{say(l, 'sent.back')}</a>
        </p>
      </section>
    </SurfaceLayout>,
  )
}

// ---------------------------------------------------------------------------------------------
// Links from emails, on the main host: /subscriptions/...
// ---------------------------------------------------------------------------------------------

export interface LinkPage {
  name: string
  slug: string
}

/** The page's name and a link home; no theme or logo, which sit behind a private page's gate. */
function LinkLayout(props: {
  locale: Locale
  page: LinkPage | undefined
  title: string
  children: ComponentChildren
}) {
  const ctx: PublicRenderContext = {
    basePath: props.page === undefined ? '' : `/p/${encodeURIComponent(props.page.slug)}`,
    locale: props.locale,
    now: new Date(),
  }
  return (
    <PublicLayout
      ctx={ctx}
      page={{ name: props.page?.name ?? '' }}
      title={props.page === undefined ? props.title : `${props.title} · ${props.page.name}`}
      withFeeds={false}
    >
      <section class="card subscribe" aria-labelledby="subscription-heading">
        <h1 id="subscription-heading">{props.title}</h1>
        {props.children}
      </section>
    </PublicLayout>
  )
}

function pageLink(page: LinkPage): string {
  return `/p/${encodeURIComponent(page.slug)}`
}

export function subscriptionPath(token: string, suffix = ''): string {
  return `/subscriptions/${encodeURIComponent(token)}${suffix}`
}

export function renderLinkExpiredPage(locale: Locale): string {
  return renderPublicDocument(
    <LinkLayout locale={locale} page={undefined} title={say(locale, 'expired.title')}>
      <p>{say(locale, 'expired.body')}</p>
    </LinkLayout>,
  )
}

/** GET of the confirmation link: a button, because link scanners follow links. */
export function renderConfirmSubscriptionPage(props: {
  locale: Locale
  token: string
  csrfToken: string
  page: LinkPage
}): string {
  const l = props.locale
  return renderPublicDocument(
    <LinkLayout locale={l} page={props.page} title={say(l, 'confirm.title')}>
      <p>{say(l, 'confirm.body', { name: props.page.name })}</p>
      <form method="post" action={`/subscriptions/confirm/${encodeURIComponent(props.token)}`}>
        <Csrf token={props.csrfToken} />
        <button type="submit" class="button">
          {say(l, 'confirm.button')}
        </button>
      </form>
    </LinkLayout>,
  )
}

export function renderConfirmedPage(locale: Locale, page: LinkPage, manageToken: string): string {
  return renderPublicDocument(
    <LinkLayout locale={locale} page={page} title={say(locale, 'confirmed.title')}>
      <p>{say(locale, 'confirmed.body', { name: page.name })}</p>
      <p>
        <a href={subscriptionPath(manageToken)}>{say(locale, 'confirmed.manage')}</a>
      </p>
      <p>
        <a href={pageLink(page)}>{say(locale, 'back.page')}</a>
      </p>
    </LinkLayout>,
  )
}

export interface ManagePageProps {
  locale: Locale
  token: string
  csrfToken: string
  page: LinkPage
  subscriber: Subscriber
  components: readonly Component[]
  saved?: boolean | undefined
  selected?: readonly string[] | undefined
  errors?: FieldErrors | undefined
}

export function renderManagePage(props: ManagePageProps): string {
  const l = props.locale
  const { subscriber, page } = props
  const errors = props.errors ?? {}
  const active = subscriber.state !== 'unsubscribed'
  const selected = props.selected ?? (subscriber.allComponents ? [] : subscriber.componentIds)
  return renderPublicDocument(
    <LinkLayout locale={l} page={page} title={say(l, 'manage.title')}>
      <p>{say(l, 'manage.intro', { name: page.name, address: subscriber.address })}</p>
      {props.saved === true && (
        <p class="form-notice" role="status">
          {say(l, 'manage.saved')}
        </p>
      )}
      {subscriber.state === 'pending' && <p class="quiet">{say(l, 'manage.pending')}</p>}
      {subscriber.state === 'unsubscribed' && <p>{say(l, 'manage.unsubscribed')}</p>}
      <ErrorList locale={l} errors={errors} />
      {active && props.components.length > 0 && (
        <form method="post" action={subscriptionPath(props.token)} class="subscribe-form">
          <Csrf token={props.csrfToken} />
          <fieldset class="subscribe-components">
            <legend>{say(l, 'manage.what')}</legend>
            <p class="quiet">{say(l, 'subscribe.componentsHint')}</p>
            <ComponentChoices
              locale={l}
              components={props.components}
              selected={selected}
              idPrefix="manage-component"
            />
          </fieldset>
          <button type="submit" class="button">
            {say(l, 'manage.save')}
          </button>
        </form>
      )}
      {active && (
        <>
          <h2>{say(l, 'manage.unsubscribeHeading')}</h2>
          <p>{say(l, 'manage.unsubscribeIntro', { name: page.name })}</p>
          <form method="post" action={subscriptionPath(props.token, '/unsubscribe')}>
            <Csrf token={props.csrfToken} />
            <button type="submit" class="button secondary">
              {say(l, 'manage.unsubscribe')}
            </button>
          </form>
        </>
      )}
      <h2>{say(l, 'manage.data')}</h2>
      <p>{say(l, 'manage.dataIntro')}</p>
      <p>
        <a href={subscriptionPath(props.token, '/export')} download>
          {say(l, 'manage.export')}
        </a>
      </p>
      <form method="post" action={subscriptionPath(props.token, '/erase')}>
        <Csrf token={props.csrfToken} />
        <p class={errors['confirm'] === undefined ? 'choice' : 'choice invalid'}>
          <input
            type="checkbox"
            id="erase-confirm"
            name="confirm"
            value="yes"
            required
            aria-invalid={errors['confirm'] === undefined ? undefined : 'true'}
          />{' '}
          <label for="erase-confirm">{say(l, 'manage.eraseConfirm')}</label>
        </p>
        <button type="submit" class="button danger">
          {say(l, 'manage.erase')}
        </button>
      </form>
    </LinkLayout>,
  )
}

export function renderMemberPage(props: {
  locale: Locale
  token: string
  csrfToken: string
  page: LinkPage
  optedOut: boolean
  saved?: boolean | undefined
}): string {
  const l = props.locale
  const name = props.page.name
  return renderPublicDocument(
    <LinkLayout locale={l} page={props.page} title={say(l, 'member.title')}>
      {props.saved === true && (
        <p class="form-notice" role="status">
          {say(l, props.optedOut ? 'unsubscribed.body' : 'member.optedIn', { name })}
        </p>
      )}
      <p>{say(l, props.optedOut ? 'member.off' : 'member.on', { name })}</p>
      <form
        method="post"
        action={subscriptionPath(props.token, props.optedOut ? '/resubscribe' : '/unsubscribe')}
      >
        <Csrf token={props.csrfToken} />
        <button type="submit" class={props.optedOut ? 'button' : 'button secondary'}>
          {say(l, props.optedOut ? 'member.optIn' : 'member.optOut')}
        </button>
      </form>
    </LinkLayout>,
  )
}

/** GET of the unsubscribe link: a question and a button, because link scanners follow links. */
export function renderConfirmUnsubscribePage(props: {
  locale: Locale
  token: string
  csrfToken: string
  page: LinkPage
}): string {
  const l = props.locale
  return renderPublicDocument(
    <LinkLayout locale={l} page={props.page} title={say(l, 'confirmUnsubscribe.title')}>
      <p>{say(l, 'confirmUnsubscribe.body', { name: props.page.name })}</p>
      <form method="post" action={subscriptionPath(props.token, '/unsubscribe')}>
        <Csrf token={props.csrfToken} />
        <button type="submit" class="button">
          {say(l, 'manage.unsubscribe')}
        </button>
      </form>
      <p>
        <a href={subscriptionPath(props.token)}>{say(l, 'unsubscribed.manage')}</a>
      </p>
    </LinkLayout>,
  )
}

export function renderUnsubscribedPage(locale: Locale, page: LinkPage, token: string): string {
  return renderPublicDocument(
    <LinkLayout locale={locale} page={page} title={say(locale, 'unsubscribed.title')}>
      <p>{say(locale, 'unsubscribed.body', { name: page.name })}</p>
      <p>
        <a href={subscriptionPath(token)}>{say(locale, 'unsubscribed.manage')}</a>
      </p>
    </LinkLayout>,
  )
}

export function renderErasedPage(locale: Locale, page: LinkPage): string {
  return renderPublicDocument(
    <LinkLayout locale={locale} page={page} title={say(locale, 'erased.title')}>
      <p>{say(locale, 'erased.body', { name: page.name })}</p>
      <p>
        <a href={pageLink(page)}>{say(locale, 'back.page')}</a>
      </p>
    </LinkLayout>,
  )
}
