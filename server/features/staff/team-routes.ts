import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import { randomBytes } from 'node:crypto'
import { unitInboxCounts } from '../units/repository.ts'
import { fingerprint } from '../../../crypto/fingerprint.ts'
import { verifyKeyCertificate } from '../../../crypto/staff-keys.ts'
import { recordAudit } from '../../audit/audit.ts'
import type { Kysely, Transaction } from 'kysely'
import type { Role, Schema } from '../../db/schema.ts'
import { HttpError } from '../../errors.ts'
import { ALL_STAFF, IDVA_ROLES, type StaffSession } from '../../plugins/staff-auth.ts'
import { sha256 } from '../../security/tokens.ts'
import { StaffHomePage, TeamPage, type GroupSummary } from '../../../views/pages/staff/team.tsx'
import { staffView } from './view-context.ts'
import { ConfirmActionPage } from '../../../views/pages/staff/confirm.tsx'
import { policyUnits } from '../../../rules/routing/units.ts'
import { overdueCutoffs } from '../../../rules/working-days.ts'
import { queueCounts, today } from '../idva/repository.ts'
import { body, bytes, integer, list, text } from '../../http/input.ts'
import { countsByRole, currentGeneration, findAccount, findGroup, groupGenerations, groupMembers, IDVA_SERVICE_ID, revokeOpenInvitation } from './repository.ts'

/**
 * A group's members and keys: giving a newcomer access (their colleague's browser seals the group's
 * key to the newcomer's public key), rotating a group's key, the IDVA lead certifying a unit's key,
 * inviting colleagues and removing a member. The server checks signatures and who may act; it never
 * sees a private key.
 */

export const INVITATION_LIFETIME_MS = 72 * 60 * 60 * 1000

/** Who acts for a group: IDVAs for the service, its own investigators for a unit. */
function memberRoles(groupKind: 'idva_service' | 'investigator_unit'): readonly Role[] {
  return groupKind === 'idva_service' ? IDVA_ROLES : ['investigator']
}

/** `createdBy` null: the portal itself (the first administrator's link, printed at start). */
export async function createInvitation(
  db: Kysely<Schema> | Transaction<Schema>,
  publicOrigin: string,
  createdBy: string | null,
  role: Role,
  groupId: string | null,
  lifetimeMs: number = INVITATION_LIFETIME_MS,
): Promise<{ id: string; link: string; expiresAt: Date }> {
  const token = randomBytes(32).toString('base64url')
  const id = `inv-${randomBytes(9).toString('base64url')}`
  const expiresAt = new Date(Date.now() + lifetimeMs)
  await db.insertInto('invitations').values({ id, token_hash: sha256(token), role, group_id: groupId, created_by: createdBy, expires_at: expiresAt, used_at: null, used_by: null, revoked_at: null }).execute()
  await recordAudit(db, { actor: createdBy === null ? { type: 'system' } : { type: 'staff', id: createdBy }, action: 'staff.invitation_created', object: { type: 'invitation', id } })
  return { id, link: `${publicOrigin}/staff/enrol/${token}`, expiresAt }
}

const teamRoutes: FastifyPluginAsync = async (app) => {
  const db = app.database.db

  async function summary(groupId: string, viewer: StaffSession): Promise<GroupSummary | null> {
    const group = await findGroup(db, groupId)
    if (group === undefined) return null
    const generations = await groupGenerations(db, groupId)
    const current = generations.at(-1)
    const members = await groupMembers(db, groupId)
    return {
      id: group.id,
      name: group.name,
      kind: group.kind,
      track: group.track,
      disabled: group.disabled_at !== null,
      rotationRecommended: group.rotation_recommended_at !== null,
      generation: current?.generation ?? null,
      fingerprint: current === undefined ? null : await fingerprint({ encryption: current.x25519_public, signing: current.ed25519_public }),
      publishedFingerprint: generations[0] === undefined ? null : await fingerprint({ encryption: generations[0].x25519_public, signing: generations[0].ed25519_public }),
      publicKeys: current === undefined ? null : { x25519: current.x25519_public.toString('base64url'), ed25519: current.ed25519_public.toString('base64url') },
      certified: current === undefined ? false : current.service_certificate !== null,
      members: await Promise.all(
        members.map(async (member) => ({
          id: member.id,
          username: member.username,
          role: member.role,
          active: member.status === 'active',
          generation: member.generation === null ? null : Number(member.generation),
          isViewer: member.id === viewer.accountId,
          x25519Public: member.x25519_public.toString('base64url'),
          ed25519Public: member.ed25519_public.toString('base64url'),
          fingerprint: await fingerprint({ encryption: member.x25519_public, signing: member.ed25519_public }),
        })),
      ),
    }
  }

  app.get('/staff', { config: { access: { roles: ALL_STAFF } } }, async (request, reply) => {
    const staff = request.staff!
    const group = staff.groupId === null ? null : await summary(staff.groupId, staff)
    const counts = staff.role === 'admin' ? await countsByRole(db) : null
    const healthy = staff.role === 'admin' ? await app.database.ping() : null
    const sessions = staff.role === 'admin' ? Number((await db.selectFrom('sessions').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n) : null
    const pendingInvitations =
      staff.role === 'admin'
        ? Number((await db.selectFrom('invitations').select((eb) => eb.fn.countAll<number>().as('n')).where('used_at', 'is', null).where('revoked_at', 'is', null).where('expires_at', '>', new Date()).executeTakeFirstOrThrow()).n)
        : null
    let cases: { new: number; overdue: number } | null = null
    if (IDVA_ROLES.includes(staff.role)) {
      const day = await today(db)
      cases = await queueCounts(db, overdueCutoffs(day, { disclosure: app.config.firstReplyTargetDays, consultation: app.config.consultationReplyTargetDays }, app.bankHoliday))
    }
    const inbox = staff.role === 'investigator' && staff.groupId !== null ? await unitInboxCounts(db, staff.groupId, app.config.unitResponseTargetDays, app.bankHoliday) : null
    return reply.html(
      StaffHomePage({
        view: staffView(app, request),
        group,
        cases,
        inbox,
        admin: counts === null ? null : { counts, healthy: healthy === true, sessions: sessions ?? 0, pendingInvitations: pendingInvitations ?? 0, examplePolicy: (app.routingPolicy as { example?: boolean }).example === true },
      }),
    )
  })

  async function teamPage(request: FastifyRequest, groupId: string, invitationLink: string | null = null) {
    const staff = request.staff!
    const group = await summary(groupId, staff)
    if (group === null) throw new HttpError(404, 'This team does not exist.')
    const units =
      group.kind === 'idva_service'
        ? await Promise.all((await db.selectFrom('groups').select('id').where('kind', '=', 'investigator_unit').orderBy('id').execute()).map((row) => summary(row.id, staff)))
        : []
    // The IDVA lead manages invitations into the service (an administrator cannot revoke them).
    const invitations =
      group.kind === 'idva_service' && staff.role === 'idva_lead'
        ? (await openServiceInvitations(db)).map((row) => ({ id: row.id, role: row.role, createdAt: row.created_at, expiresAt: row.expires_at }))
        : []
    // Partner forces' units the lead may add by key (a force with no accounts here receives files).
    const known = new Set((await db.selectFrom('groups').select('id').execute()).map((row) => row.id))
    const outsideUnits =
      group.kind === 'idva_service' && staff.role === 'idva_lead'
        ? policyUnits(app.routingPolicy)
            .filter((unit) => unit.force !== app.routingPolicy.force && !known.has(unit.id))
            .map((unit) => [unit.id, `${unit.name} (${app.routingPolicy.names?.forces?.[unit.force] ?? unit.force})`] as const)
        : []
    return TeamPage({ view: staffView(app, request), group, units: units.filter((unit): unit is GroupSummary => unit !== null), invitationLink, invitations, outsideUnits })
  }

  app.get('/staff/team', { config: { access: { roles: IDVA_ROLES } } }, async (request, reply) => reply.html(await teamPage(request, IDVA_SERVICE_ID)))

  app.get('/staff/unit', { config: { access: { roles: ['investigator'] } } }, async (request, reply) => reply.html(await teamPage(request, request.staff!.groupId!)))

  /** The acting member must belong to the group and hold its current key. */
  async function actingMember(staff: StaffSession, groupId: string) {
    const group = await findGroup(db, groupId)
    if (group === undefined || group.disabled_at !== null) throw new HttpError(404, 'This team does not exist or is closed.')
    if (staff.groupId !== groupId || !memberRoles(group.kind).includes(staff.role)) throw new HttpError(403, 'You are not a member of this team.')
    const current = await currentGeneration(db, groupId)
    if (current === undefined) throw new HttpError(409, 'This team has no keys yet.')
    const held = await db.selectFrom('group_key_grants').select('generation').where('account_id', '=', staff.accountId).where('group_id', '=', groupId).where('generation', '=', current.generation).executeTakeFirst()
    if (held === undefined) throw new HttpError(403, 'You do not hold this team\'s current key yet, so you cannot pass it on.')
    return { group, current }
  }

  app.post('/staff/groups/:groupId/grants', { config: { access: { roles: ['idva_lead', 'idva', 'investigator'] } } }, async (request, reply) => {
    const staff = request.staff!
    const groupId = (request.params as { groupId: string }).groupId
    const { current } = await actingMember(staff, groupId)
    const input = body(request.body)
    const accountId = text(input, 'accountId', { max: 128 })
    const generation = integer(input, 'generation', 1, 1_000_000)
    if (generation !== current.generation) throw new HttpError(409, 'The team\'s key has changed since this page was loaded. Reload it and try again.')
    const wrapped = bytes(input, 'wrapped', { max: 511 })
    const target = await findAccount(db, accountId)
    if (target === undefined || target.group_id !== groupId || target.status !== 'active' || target.role === 'admin') {
      throw new HttpError(400, 'That account is not an active member of this team.')
    }
    await db.transaction().execute(async (trx) => {
      const existing = await trx.selectFrom('group_key_grants').select('generation').where('account_id', '=', accountId).where('group_id', '=', groupId).where('generation', '=', generation).executeTakeFirst()
      if (existing !== undefined) throw new HttpError(409, 'This member already has access.')
      await trx.insertInto('group_key_grants').values({ account_id: accountId, group_id: groupId, generation, wrapped, granted_by: staff.accountId }).execute()
      await recordAudit(trx, { actor: { type: 'staff', id: staff.accountId }, action: 'keys.granted', object: { type: 'account', id: accountId } })
    })
    return reply.send({ granted: accountId })
  })

  app.post('/staff/groups/:groupId/rotate', { config: { access: { roles: ['idva_lead', 'investigator'] } } }, async (request, reply) => {
    const staff = request.staff!
    const groupId = (request.params as { groupId: string }).groupId
    const { group, current } = await actingMember(staff, groupId)
    if (group.kind === 'idva_service' && staff.role !== 'idva_lead') throw new HttpError(403, 'Only an IDVA lead can rotate the service key.')
    const input = body(request.body)
    const next = current.generation + 1
    if (integer(input, 'generation', 2, 1_000_000) !== next) throw new HttpError(409, 'The key has changed since this page was loaded. Reload it and try again.')
    const publicKeys = { encryption: bytes(input, 'x25519Public', { length: 32 }), signing: bytes(input, 'ed25519Public', { length: 32 }) }
    const certificate = bytes(input, 'certificate', { length: 64 })
    if (!(await verifyKeyCertificate(current.ed25519_public, { id: groupId, generation: next, publicKeys }, certificate))) {
      throw new HttpError(400, 'The new key is not certified by the current one, so it was not accepted.')
    }
    const previousKeysSealed = bytes(input, 'previousKeysSealed', { max: 511 })
    const grants = list(input, 'grants', 500).map((grant) => ({ accountId: text(grant, 'accountId', { max: 128 }), wrapped: bytes(grant, 'wrapped', { max: 511 }) }))
    if (!grants.some((grant) => grant.accountId === staff.accountId)) throw new HttpError(400, 'The new key must also be given to you.')
    const members = new Set((await groupMembers(db, groupId)).filter((member) => member.status === 'active').map((member) => member.id))
    for (const grant of grants) if (!members.has(grant.accountId)) throw new HttpError(400, 'The new key can be given only to active members of this team.')
    await db.transaction().execute(async (trx) => {
      await trx
        .insertInto('group_keys')
        .values({ group_id: groupId, generation: next, x25519_public: publicKeys.encryption, ed25519_public: publicKeys.signing, rotation_certificate: certificate, previous_keys_sealed: previousKeysSealed, service_certificate: null, service_generation: null, created_by: staff.accountId })
        .execute()
      await trx.insertInto('group_key_grants').values(grants.map((grant) => ({ account_id: grant.accountId, group_id: groupId, generation: next, wrapped: grant.wrapped, granted_by: staff.accountId }))).execute()
      await trx.updateTable('groups').set({ rotation_recommended_at: null }).where('id', '=', groupId).execute()
      await recordAudit(trx, { actor: { type: 'staff', id: staff.accountId }, action: 'keys.rotated', object: { type: 'group', id: groupId } })
    })
    return reply.send({ generation: next })
  })

  /** The IDVA lead vouches for a unit's key (after comparing its fingerprint with the unit). */
  app.post('/staff/units/:unitId/certify', { config: { access: { roles: ['idva_lead'] } } }, async (request, reply) => {
    const staff = request.staff!
    const unitId = (request.params as { unitId: string }).unitId
    const unit = await findGroup(db, unitId)
    if (unit === undefined || unit.kind !== 'investigator_unit') throw new HttpError(404, 'There is no such unit.')
    const input = body(request.body)
    const generation = integer(input, 'generation', 1, 1_000_000)
    const unitKeys = (await groupGenerations(db, unitId)).find((row) => row.generation === generation)
    if (unitKeys === undefined) throw new HttpError(404, 'The unit has no such key.')
    const service = await currentGeneration(db, IDVA_SERVICE_ID)
    const certificate = bytes(input, 'certificate', { length: 64 })
    const subject = { id: unitId, generation, publicKeys: { encryption: unitKeys.x25519_public, signing: unitKeys.ed25519_public } }
    if (service === undefined || !(await verifyKeyCertificate(service.ed25519_public, subject, certificate))) {
      throw new HttpError(400, 'The certificate is not signed by the IDVA service\'s current key.')
    }
    await db.transaction().execute(async (trx) => {
      await trx.updateTable('group_keys').set({ service_certificate: certificate, service_generation: service.generation }).where('group_id', '=', unitId).where('generation', '=', generation).execute()
      await recordAudit(trx, { actor: { type: 'staff', id: staff.accountId }, action: 'keys.unit_certified', object: { type: 'group', id: unitId } })
    })
    return reply.send({ certified: unitId })
  })

  app.post('/staff/team/invitations', { config: { access: { roles: ['idva_lead'] } } }, async (request, reply) => {
    const staff = request.staff!
    const role = text(body(request.body), 'role', { max: 20 })
    if (role !== 'idva' && role !== 'idva_lead') throw new HttpError(400, 'An IDVA lead can invite IDVAs and IDVA leads.')
    const invitation = await createInvitation(db, app.config.publicOrigin, staff.accountId, role, IDVA_SERVICE_ID)
    return reply.html(await teamPage(request, IDVA_SERVICE_ID, invitation.link))
  })

  /** Another member of the service, named in the URL (404 if not one; 400 if it is the lead themself). */
  async function otherMember(request: FastifyRequest, self: string) {
    const accountId = (request.params as { accountId: string }).accountId
    if (accountId === request.staff!.accountId) throw new HttpError(400, self)
    const target = await findAccount(db, accountId)
    if (target === undefined || target.group_id !== IDVA_SERVICE_ID) throw new HttpError(404, 'There is no such member of the service.')
    return target
  }

  // The first step of removing a member or resetting their second factor: what it does, then the POST.
  app.get('/staff/team/members/:accountId/remove', { config: { access: { roles: ['idva_lead'] } } }, async (request, reply) => {
    const target = await otherMember(request, 'You cannot remove yourself. Ask another IDVA lead.')
    return reply.html(
      ConfirmActionPage({
        view: staffView(app, request),
        confirm: {
          title: `Remove ${target.username} from the service`,
          consequences: [
            `${target.username} is signed out at once and can no longer open the service's cases.`,
            "Then rotate the service's key, so that anything they kept cannot open new cases.",
            'To bring them back later, invite them again.',
          ],
          action: `/staff/team/members/${target.id}/remove`,
          confirmLabel: 'Remove from the service',
          cancelHref: '/staff/team',
        },
      }),
    )
  })

  app.get('/staff/team/members/:accountId/reset-second-factor', { config: { access: { roles: ['idva_lead'] } } }, async (request, reply) => {
    const target = await otherMember(request, 'You cannot reset your own second factor. Ask another IDVA lead, or sign in with a recovery code.')
    if (target.status !== 'active') throw new HttpError(409, 'This member has been removed. To bring them back, invite them again.')
    return reply.html(
      ConfirmActionPage({
        view: staffView(app, request),
        confirm: {
          title: `Reset ${target.username}'s second factor`,
          consequences: [
            `${target.username}'s authenticator app and recovery codes stop working, and they are signed out.`,
            'At their next sign-in they set up a new one, with their passphrase.',
            'Do this only once you have checked, by phone or in person, that the request came from them.',
          ],
          action: `/staff/team/members/${target.id}/reset-second-factor`,
          confirmLabel: 'Reset the second factor',
          cancelHref: '/staff/team',
        },
      }),
    )
  })

  app.post('/staff/team/members/:accountId/remove', { config: { access: { roles: ['idva_lead'] } } }, async (request, reply) => {
    const target = await otherMember(request, 'You cannot remove yourself. Ask another IDVA lead.')
    await removeMember(db, request.staff!.accountId, target.id, IDVA_SERVICE_ID)
    return reply.redirect('/staff/team?removed=1', 303)
  })

  /** A member's lost phone: the IDVA lead (never an administrator) resets their second factor. */
  app.post('/staff/team/members/:accountId/reset-second-factor', { config: { access: { roles: ['idva_lead'] } } }, async (request, reply) => {
    const target = await otherMember(request, 'You cannot reset your own second factor. Ask another IDVA lead, or sign in with a recovery code.')
    if (target.status !== 'active') throw new HttpError(409, 'This member has been removed. To bring them back, invite them again.')
    await resetSecondFactor(db, request.staff!.accountId, target.id)
    return reply.redirect('/staff/team', 303)
  })

  app.post('/staff/team/invitations/:invitationId/revoke', { config: { access: { roles: ['idva_lead'] } } }, async (request, reply) => {
    const staff = request.staff!
    const id = (request.params as { invitationId: string }).invitationId
    await db.transaction().execute(async (trx) => {
      if (!(await revokeOpenInvitation(trx, id, 'idva_service'))) throw new HttpError(404, 'There is no open invitation into the service with that id.')
      await recordAudit(trx, { actor: { type: 'staff', id: staff.accountId }, action: 'staff.invitation_revoked', object: { type: 'invitation', id } })
    })
    return reply.redirect('/staff/team', 303)
  })
}

/** Invitations into the IDVA service that can still be used, newest first. */
async function openServiceInvitations(db: Kysely<Schema>) {
  return db
    .selectFrom('invitations')
    .select(['id', 'role', 'created_at', 'expires_at'])
    .where('group_id', '=', IDVA_SERVICE_ID)
    .where('used_at', 'is', null)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', new Date())
    .orderBy('created_at', 'desc')
    .limit(100)
    .execute()
}

/**
 * A lost phone: the member's second factor and recovery codes are removed and their sessions end;
 * at their next sign-in (with their passphrase) they must set up a new authenticator first.
 */
export async function resetSecondFactor(db: Kysely<Schema>, actorId: string, accountId: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.updateTable('accounts').set({ totp_secret_sealed: null, totp_last_step: 0 }).where('id', '=', accountId).execute()
    await trx.deleteFrom('recovery_codes').where('account_id', '=', accountId).execute()
    await trx.deleteFrom('sessions').where('account_id', '=', accountId).execute()
    await recordAudit(trx, { actor: { type: 'staff', id: actorId }, action: 'staff.second_factor_reset', object: { type: 'account', id: accountId } })
  })
}

/**
 * Removes a member from a group: their account is disabled, their sessions end and their copies of
 * the group's keys are deleted; the group is marked for key rotation (they may have kept the key).
 */
export async function removeMember(db: Kysely<Schema>, actorId: string, accountId: string, groupId: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.updateTable('accounts').set({ status: 'disabled' }).where('id', '=', accountId).execute()
    await trx.deleteFrom('sessions').where('account_id', '=', accountId).execute()
    await trx.deleteFrom('group_key_grants').where('account_id', '=', accountId).where('group_id', '=', groupId).execute()
    await trx.updateTable('groups').set({ rotation_recommended_at: new Date() }).where('id', '=', groupId).execute()
    await recordAudit(trx, { actor: { type: 'staff', id: actorId }, action: 'staff.member_removed', object: { type: 'account', id: accountId } })
  })
}

export default teamRoutes
