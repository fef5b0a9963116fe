import type { InvitationPreview, Team, TeamMember } from '../../domain/accounts/team-service.js'
import { CsrfField, Field, Notice, Page, type NavContext } from './layout.js'
import { Checkbox } from './page-views.js'

type Errors = Readonly<Record<string, string>>
type PageRef = { id: string; name: string }

export interface InviteFormValues {
  email: string
  role: string
  canInvite: boolean
  pageIds: readonly string[]
}

export const EMPTY_INVITE_FORM: InviteFormValues = {
  email: '',
  role: 'viewer',
  canInvite: false,
  pageIds: [],
}

const ROLE_HELP: Record<string, string> = {
  admin: 'Admin: everything except the owner-only actions.',
  editor: 'Editor: publishes incidents and maintenance, edits components.',
  viewer: 'Viewer: reads the dashboard and private pages.',
}

const RANKS: Record<string, number> = { viewer: 1, editor: 2, admin: 3, owner: 4 }
const rank = (role: string): number => RANKS[role] ?? 0

function formatDate(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`
}

function RoleSelect(props: { id: string; value: string; max: string; error?: string | undefined }) {
  const allowed = ['admin', 'editor', 'viewer'].filter((role) => rank(role) <= rank(props.max))
  return (
    <div class={props.error === undefined ? 'field' : 'field invalid'}>
      <label for={props.id}>Role</label>
      {props.error !== undefined && (
        <p class="error" id={`${props.id}-error`}>
          {props.error}
        </p>
      )}
      <select id={props.id} name="role">
        {allowed.map((role) => (
          <option key={role} value={role} selected={props.value === role}>
            {ROLE_HELP[role]}
          </option>
        ))}
      </select>
    </div>
  )
}

function PagePicker(props: {
  idPrefix: string
  pages: readonly PageRef[]
  selected: readonly string[]
  error?: string | undefined
}) {
  if (props.pages.length === 0) return null
  return (
    <fieldset class={props.error === undefined ? 'field' : 'field invalid'}>
      <legend>Pages (none ticked: every page)</legend>
      {props.error !== undefined && <p class="error">{props.error}</p>}
      {props.pages.map((page) => (
        <Checkbox
          key={page.id}
          id={`${props.idPrefix}-${page.id}`}
          name="pageIds"
          value={page.id}
          label={page.name}
          checked={props.selected.includes(page.id)}
        />
      ))}
    </fieldset>
  )
}

function MemberRow(props: {
  member: TeamMember
  team: Team
  pages: readonly PageRef[]
  base: string
  csrf: string
  userId: string
}) {
  const { member, team } = props
  const me = team.me
  const pageName = (id: string) => props.pages.find((p) => p.id === id)?.name ?? id
  const isSelf = member.userId === props.userId
  const canEdit = (me.role === 'owner' || me.role === 'admin') && member.role !== 'owner' && !isSelf
  const canRemove =
    member.role !== 'owner' &&
    !isSelf &&
    (me.role === 'owner' || me.canInvite) &&
    rank(me.role) >= rank(member.role)
  const memberPath = `${props.base}/members/${encodeURIComponent(member.userId)}`
  return (
    <tr data-member={member.userId}>
      <td>
        {member.name}
        {isSelf && <span class="muted"> (you)</span>}
        <br />
        <span class="muted">{member.email}</span>
      </td>
      <td>
        {member.role}
        {member.canInvite && member.role !== 'owner' && (
          <>
            <br />
            <span class="muted">can invite</span>
          </>
        )}
      </td>
      <td>{member.pageIds === null ? 'All pages' : member.pageIds.map(pageName).join(', ')}</td>
      <td>{member.twoFactor ? 'On' : 'Off'}</td>
      <td>
        {canEdit && (
          <details>
            <summary>
              Change<span class="visually-hidden"> {member.name}</span>
            </summary>
            <form method="post" action={memberPath}>
              <CsrfField token={props.csrf} />
              <RoleSelect id={`role-${member.userId}`} value={member.role} max={me.role} />
              {me.role === 'owner' ? (
                <Checkbox
                  id={`invite-${member.userId}`}
                  name="canInvite"
                  label="Can invite and remove people"
                  checked={member.canInvite}
                  hiddenFalse
                />
              ) : null}
              <PagePicker
                idPrefix={`pages-${member.userId}`}
                pages={props.pages}
                selected={member.pageIds ?? []}
              />
              <button type="submit">Save</button>
            </form>
          </details>
        )}
        {canRemove && (
          <form method="post" action={`${memberPath}/remove`} class="inline-form">
            <CsrfField token={props.csrf} />
            <button type="submit" class="danger small">
              Remove<span class="visually-hidden"> {member.name}</span>
            </button>
          </form>
        )}
      </td>
    </tr>
  )
}

export function TeamPage(props: {
  nav: NavContext
  accountId: string
  userId: string
  team: Team
  pages: readonly PageRef[]
  values?: InviteFormValues | undefined
  errors?: Errors | undefined
  notice?: string | undefined
  error?: string | undefined
}) {
  const { team } = props
  const base = `/a/${encodeURIComponent(props.accountId)}/team`
  const values = props.values ?? EMPTY_INVITE_FORM
  const errors = props.errors ?? {}
  const me = team.me
  const manager = me.role === 'owner' || me.canInvite
  const nameOf = (userId: string) =>
    team.members.find((m) => m.userId === userId)?.name ?? 'a former member'
  const transfer = team.pendingTransfer
  return (
    <Page title="Team" nav={props.nav}>
      {props.notice !== undefined && <Notice kind="success">{props.notice}</Notice>}
      {props.error !== undefined && <Notice kind="error">{props.error}</Notice>}
      {transfer !== null && transfer.toUserId === props.userId && (
        <section class="card" aria-labelledby="transfer-h">
          <h2 id="transfer-h">You are asked to become the owner</h2>
          <p>
            {nameOf(transfer.fromUserId)} asked to transfer the ownership of this account to you.
            The owner alone can delete the account and its pages, transfer ownership and turn single
            sign-on enforcement off. {nameOf(transfer.fromUserId)} will become an admin.
          </p>
          <form method="post" action={`${base}/transfer/confirm`} class="inline-form">
            <CsrfField token={props.nav.csrfToken} />
            <button type="submit">Become the owner</button>
          </form>{' '}
          <form method="post" action={`${base}/transfer/cancel`} class="inline-form">
            <CsrfField token={props.nav.csrfToken} />
            <button type="submit" class="secondary">
              Decline
            </button>
          </form>
        </section>
      )}
      <table class="team">
        <caption>Members</caption>
        <thead>
          <tr>
            <th scope="col">Person</th>
            <th scope="col">Role</th>
            <th scope="col">Pages</th>
            <th scope="col">Two-factor</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {team.members.map((member) => (
            <MemberRow
              key={member.userId}
              member={member}
              team={team}
              pages={props.pages}
              base={base}
              csrf={props.nav.csrfToken}
              userId={props.userId}
            />
          ))}
        </tbody>
      </table>
      {manager && team.invitations.length > 0 && (
        <table class="invitations">
          <caption>Pending invitations</caption>
          <thead>
            <tr>
              <th scope="col">Email</th>
              <th scope="col">Role</th>
              <th scope="col">Expires</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {team.invitations.map((invitation) => (
              <tr key={invitation.id} data-invitation={invitation.id}>
                <td>{invitation.email}</td>
                <td>{invitation.role}</td>
                <td>{formatDate(invitation.expiresAt)}</td>
                <td>
                  <form
                    method="post"
                    action={`${base}/invitations/${encodeURIComponent(invitation.id)}/revoke`}
                    class="inline-form"
                  >
                    <CsrfField token={props.nav.csrfToken} />
                    <button type="submit" class="danger small">
                      Revoke<span class="visually-hidden"> {invitation.email}</span>
                    </button>
                  </form>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {manager ? (
        <section class="card narrow" aria-labelledby="invite-h">
          <h2 id="invite-h">Invite someone</h2>
          {Object.keys(errors).length > 0 && (
            <Notice kind="error">The invitation was not sent: see the form below.</Notice>
          )}
          <form method="post" action={`${base}/invitations`}>
            <CsrfField token={props.nav.csrfToken} />
            <Field
              name="email"
              label="Email"
              type="email"
              value={values.email}
              error={errors['email']}
              maxLength={254}
              autocomplete="off"
            />
            <RoleSelect id="field-role" value={values.role} max={me.role} error={errors['role']} />
            <Checkbox
              name="canInvite"
              label="Can invite and remove people"
              checked={values.canInvite}
            />
            <PagePicker
              idPrefix="invite-pages"
              pages={props.pages}
              selected={values.pageIds}
              error={errors['pageIds']}
            />
            <p class="hint">
              The invitation link is emailed, works once and expires; accepting it creates a login
              or adds an existing one to the team.
            </p>
            <button type="submit">Send invitation</button>
          </form>
        </section>
      ) : (
        <p class="muted">Only the owner and members allowed to invite people can add people.</p>
      )}
      {me.role === 'owner' && (
        <section class="card narrow" aria-labelledby="owner-h">
          <h2 id="owner-h">Transfer ownership</h2>
          {transfer !== null ? (
            <>
              <p>
                Waiting for {nameOf(transfer.toUserId)} to confirm, until{' '}
                {formatDate(transfer.expiresAt)}.
              </p>
              <form method="post" action={`${base}/transfer/cancel`}>
                <CsrfField token={props.nav.csrfToken} />
                <button type="submit" class="secondary">
                  Call off the transfer
                </button>
              </form>
            </>
          ) : team.members.length > 1 ? (
            <form method="post" action={`${base}/transfer`}>
              <CsrfField token={props.nav.csrfToken} />
              <div class="field">
                <label for="field-userId">New owner</label>
                <p class="hint" id="field-userId-hint">
                  They must confirm; you then become an admin. You will be asked to confirm it is
                  you.
                </p>
                <select id="field-userId" name="userId" aria-describedby="field-userId-hint">
                  {team.members
                    .filter((member) => member.userId !== props.userId)
                    .map((member) => (
                      <option key={member.userId} value={member.userId}>
                        {member.name} ({member.email})
                      </option>
                    ))}
                </select>
              </div>
              <button type="submit">Ask to transfer</button>
            </form>
          ) : (
            <p>Invite someone first: the new owner must already be a member.</p>
          )}
          <p>
            <a href={`/a/${encodeURIComponent(props.accountId)}/delete`}>Delete this account</a>
          </p>
        </section>
      )}
      {me.role !== 'owner' && (
        <form method="post" action={`${base}/leave`}>
          <CsrfField token={props.nav.csrfToken} />
          <button type="submit" class="danger secondary">
            Leave this team
          </button>
        </form>
      )}
    </Page>
  )
}

export function InvitationPage(props: {
  preview: InvitationPreview | undefined
  token: string
  csrfToken: string
  signedInAs?: string | undefined
  errors?: Errors | undefined
  name?: string | undefined
  error?: string | undefined
}) {
  const { preview } = props
  if (preview === undefined)
    return (
      <Page title="Invitation">
        <Notice kind="error">
          This invitation has expired, was revoked or was already used. Ask the person who invited
          you for a new one.
        </Notice>
      </Page>
    )
  const errors = props.errors ?? {}
  const action = `/invitations/accept?token=${encodeURIComponent(props.token)}`
  return (
    <Page title={`Join ${preview.accountName}`}>
      {props.error !== undefined && <Notice kind="error">{props.error}</Notice>}
      <p>
        {preview.inviterName ?? 'Someone'} invited <strong>{preview.email}</strong> to join{' '}
        <strong>{preview.accountName}</strong> as {preview.role}. The invitation is valid until{' '}
        {formatDate(preview.expiresAt)}.
      </p>
      {preview.hasLogin ? (
        props.signedInAs === preview.email ? (
          <form method="post" action={action} class="card narrow">
            <CsrfField token={props.csrfToken} />
            <button type="submit">Join {preview.accountName}</button>
          </form>
        ) : (
          <p>
            {preview.email} already has a Candor login.{' '}
            {props.signedInAs !== undefined
              ? `You are signed in as ${props.signedInAs}: sign out, then `
              : ''}
            <a href="/login">sign in as {preview.email}</a> and open this link again to accept.
          </p>
        )
      ) : (
        <form method="post" action={action} class="card narrow">
          <CsrfField token={props.csrfToken} />
          <Field
            name="name"
            label="Your name"
            value={props.name ?? ''}
            error={errors['name']}
            autocomplete="name"
            maxLength={100}
          />
          <Field
            name="password"
            label="Choose a password"
            type="password"
            error={errors['password']}
            autocomplete="new-password"
            hint="At least 8 characters. A passphrase of several words works well."
            maxLength={1024}
          />
          <button type="submit">Create my login and join</button>
        </form>
      )}
    </Page>
  )
}

export function DeleteAccountPage(props: {
  nav: NavContext
  accountId: string
  accountName: string
  error?: string | undefined
}) {
  return (
    <Page title="Delete this account" nav={props.nav}>
      <Notice kind="error">
        Deleting <strong>{props.accountName}</strong> deletes its status pages, components,
        incidents, subscribers and settings for good. Members lose access. The audit log keeps its
        entries. This cannot be undone.
      </Notice>
      <form
        method="post"
        action={`/a/${encodeURIComponent(props.accountId)}/delete`}
        class="card narrow"
      >
        <CsrfField token={props.nav.csrfToken} />
        <Field
          name="confirmName"
          label={`Type the account name (${props.accountName}) to confirm`}
          error={props.error}
          autocomplete="off"
          maxLength={200}
        />
        <button type="submit" class="danger">
          Delete the account
        </button>
      </form>
    </Page>
  )
}
