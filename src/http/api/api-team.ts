import { Type } from '@sinclair/typebox'
import type { FastifyRequest } from 'fastify'
import type { PendingInvitation, TeamMember } from '../../domain/accounts/team-service.js'
import type { AuditEntryView } from '../../domain/audit/audit-service.js'
import { NotFoundError } from '../../domain/errors.js'
import type { ServerDeps } from '../app-type.js'
import { actorOf } from './api-pages.js'
import { paginate, type ApiInstance } from './api-plugin.js'
import {
  IdempotencyHeaders,
  MemberRole,
  Pagination,
  PageIdsOrAll,
  problemResponses,
} from './api-schemas.js'

const Id = Type.String({ maxLength: 64 })

const NewInvitation = Type.Object(
  {
    email: Type.String({ maxLength: 320 }),
    role: MemberRole,
    can_invite: Type.Optional(Type.Boolean()),
    page_ids: Type.Optional(PageIdsOrAll),
  },
  { additionalProperties: false },
)

const MemberChange = Type.Object(
  {
    role: MemberRole,
    can_invite: Type.Optional(Type.Boolean({ description: 'Only the owner may change it' })),
    page_ids: Type.Optional(PageIdsOrAll),
  },
  { additionalProperties: false },
)

const MemberParams = Type.Object({ user_id: Id })
const InvitationParams = Type.Object({ invitation_id: Id })

const AuditQuery = Type.Object({
  action: Type.Optional(
    Type.String({ maxLength: 64, description: 'Entries whose action starts with this' }),
  ),
  actor_user_id: Type.Optional(Id),
  target_type: Type.Optional(Type.String({ maxLength: 32 })),
  target_id: Type.Optional(Id),
  from: Type.Optional(Type.String({ maxLength: 10, description: 'First day, YYYY-MM-DD (UTC)' })),
  to: Type.Optional(Type.String({ maxLength: 10, description: 'Last day, YYYY-MM-DD (UTC)' })),
  before: Type.Optional(
    Type.String({
      pattern: '^[0-9]{1,15}$',
      description: 'Entries before this seq (the next page)',
    }),
  ),
})

const iso = (date: Date) => date.toISOString()

function serializeMember(member: TeamMember) {
  return {
    id: member.userId,
    name: member.name,
    email: member.email,
    role: member.role,
    can_invite: member.canInvite,
    page_ids: member.pageIds === null ? null : [...member.pageIds],
    two_factor: member.twoFactor,
    created_at: iso(member.joinedAt),
  }
}

function serializeInvitation(invitation: PendingInvitation) {
  return {
    id: invitation.id,
    email: invitation.email,
    role: invitation.role,
    can_invite: invitation.canInvite,
    page_ids: invitation.pageIds === null ? null : [...invitation.pageIds],
    invited_by: invitation.invitedBy,
    created_at: iso(invitation.createdAt),
    expires_at: iso(invitation.expiresAt),
  }
}

function serializeAuditEntry(entry: AuditEntryView) {
  return {
    id: entry.id,
    seq: entry.seq,
    created_at: iso(entry.createdAt),
    action: entry.action,
    actor: {
      type: entry.actor.type,
      user_id: entry.actor.userId,
      api_key_id: entry.actor.apiKeyId,
    },
    target: entry.target,
    ip: entry.ip,
    user_agent: entry.userAgent,
    details: entry.details,
    prev_hash: entry.prevHash,
    hash: entry.hash,
  }
}

function accountOf(request: FastifyRequest): string {
  const accountId = actorOf(request).apiKey?.accountId
  if (accountId === undefined) throw new NotFoundError('The account')
  return accountId
}

/** Candor's team, invitation, single sign-on (read-only) and audit-log resources. */
export function registerTeamResources(api: ApiInstance, deps: ServerDeps): void {
  const { team, ssoSettings, auditLog } = deps.services

  api.get(
    '/team',
    {
      schema: {
        tags: ['Team'],
        summary: 'Members of the key’s account, their roles and page limits',
        querystring: Pagination,
        response: { 200: Type.Array(Type.Ref('TeamMember')), ...problemResponses },
      },
    },
    async (request, reply) => {
      const current = await team.team(actorOf(request), accountOf(request))
      return paginate(request, reply, current.members).map(serializeMember)
    },
  )

  api.patch(
    '/team/:user_id',
    {
      schema: {
        tags: ['Team'],
        summary: 'Change a member’s role, nomination or page limits (admins; not the owner)',
        params: MemberParams,
        body: MemberChange,
        response: { 200: Type.Ref('TeamMember'), ...problemResponses },
      },
    },
    async (request) => {
      const actor = actorOf(request)
      const accountId = accountOf(request)
      const body = request.body
      const memberOf = async () =>
        (await team.team(actor, accountId)).members.find((m) => m.userId === request.params.user_id)
      // page_ids left out keeps the member's limits as they are; null lifts them.
      const pageIds =
        body.page_ids === undefined ? ((await memberOf())?.pageIds ?? null) : body.page_ids
      await team.updateMember(actor, accountId, request.params.user_id, {
        role: body.role,
        ...(body.can_invite === undefined ? {} : { canInvite: body.can_invite }),
        pageIds: pageIds ?? [],
      })
      const member = await memberOf()
      if (member === undefined) throw new NotFoundError('The member')
      return serializeMember(member)
    },
  )

  api.delete(
    '/team/:user_id',
    {
      schema: {
        tags: ['Team'],
        summary: 'Remove a member (the owner and members who can invite; never the owner)',
        params: MemberParams,
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (request, reply) => {
      await team.removeMember(actorOf(request), accountOf(request), request.params.user_id)
      return reply.code(204).send(null)
    },
  )

  api.get(
    '/invitations',
    {
      schema: {
        tags: ['Team'],
        summary: 'Pending invitations (for the owner and members who can invite)',
        querystring: Pagination,
        response: { 200: Type.Array(Type.Ref('Invitation')), ...problemResponses },
      },
    },
    async (request, reply) => {
      const current = await team.team(actorOf(request), accountOf(request))
      if (!(current.me.role === 'owner' || current.me.canInvite))
        return paginate(request, reply, []).map(serializeInvitation)
      return paginate(request, reply, current.invitations).map(serializeInvitation)
    },
  )

  api.post(
    '/invitations',
    {
      schema: {
        tags: ['Team'],
        summary: 'Invite someone by email (the link is emailed to them, never returned)',
        headers: IdempotencyHeaders,
        body: NewInvitation,
        response: { 201: Type.Ref('Invitation'), ...problemResponses },
      },
    },
    async (request, reply) => {
      const body = request.body
      const invitation = await team.invite(actorOf(request), accountOf(request), {
        email: body.email,
        role: body.role,
        canInvite: body.can_invite ?? false,
        pageIds: body.page_ids ?? [],
      })
      return reply.code(201).send(serializeInvitation(invitation))
    },
  )

  api.delete(
    '/invitations/:invitation_id',
    {
      schema: {
        tags: ['Team'],
        summary: 'Revoke a pending invitation: its link stops working',
        params: InvitationParams,
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (request, reply) => {
      await team.revokeInvitation(
        actorOf(request),
        accountOf(request),
        request.params.invitation_id,
      )
      return reply.code(204).send(null)
    },
  )

  api.get(
    '/sso',
    {
      schema: {
        tags: ['Single sign-on'],
        summary: 'Single sign-on settings (read-only; secrets are never returned)',
        response: {
          200: Type.Object({
            enforced: Type.Boolean({
              description: 'Members must sign in through an identity provider',
            }),
            connections: Type.Array(Type.Ref('SsoConnection')),
          }),
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const settings = await ssoSettings.settings(actorOf(request), accountOf(request))
      return {
        enforced: settings.ssoEnforced,
        connections: settings.connections.map((connection) => ({
          id: connection.id,
          protocol: connection.protocol,
          name: connection.name,
          enabled: connection.enabled,
          allowed_domains: [...connection.allowedDomains],
          jit_enabled: connection.jitEnabled,
          default_role: connection.defaultRole,
          created_at: iso(connection.createdAt),
          updated_at: iso(connection.updatedAt),
        })),
      }
    },
  )

  api.get(
    '/audit-log',
    {
      schema: {
        tags: ['Audit log'],
        summary:
          'The account’s audit log, newest first, 50 entries at a time (admins and the owner); follow the Link header for older entries',
        querystring: AuditQuery,
        response: { 200: Type.Array(Type.Ref('AuditEntry')), ...problemResponses },
      },
    },
    async (request, reply) => {
      const query = request.query
      const result = await auditLog.list(
        actorOf(request),
        accountOf(request),
        {
          action: query.action,
          actor: query.actor_user_id,
          targetType: query.target_type,
          targetId: query.target_id,
          from: query.from,
          to: query.to,
        },
        { before: query.before },
      )
      if (result.nextBefore !== null) {
        const next = new URL(request.url, 'http://candor.invalid')
        next.searchParams.set('before', String(result.nextBefore))
        void reply.header('Link', `<${next.pathname}${next.search}>; rel="next"`)
      }
      return result.entries.map(serializeAuditEntry)
    },
  )
}
