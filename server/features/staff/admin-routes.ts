import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import { recordAudit } from '../../audit/audit.ts'
import type { Role } from '../../db/schema.ts'
import { HttpError } from '../../errors.ts'
import { AnchorError } from '../../security/service-anchor.ts'
import { policyUnits } from '../../../rules/routing/units.ts'
import { AdminAccountsPage, AdminInvitationsPage, AdminUnitsPage, type AdminUnit } from '../../../views/pages/staff/admin.tsx'
import { certifiedUnitKey } from '../../../crypto/index.ts'
import { referralUnits } from '../referrals/repository.ts'
import { staffView } from './view-context.ts'
import { ConfirmActionPage } from '../../../views/pages/staff/confirm.tsx'
import { body, text } from '../../http/input.ts'
import { findAccount, findGroup, IDVA_SERVICE_ID, revokeOpenInvitation } from './repository.ts'
import { createInvitation, removeMember, resetSecondFactor } from './team-routes.ts'

/**
 * The portal administrator (force IT): units, accounts and invitations; counts and health on the
 * home page. Nothing here shows or touches content, and an administrator holds no key to any:
 * they can let someone enrol, but only a member of a team can give them access to its cases.
 */

const ADMIN = { access: { roles: ['admin'] as readonly Role[] } }

/**
 * The IDVA service (a charity, not the force) manages its own people through its IDVA lead. An
 * administrator can do nothing to its accounts or its invitations: not disable, enable (so a
 * member the lead removed stays removed), reset a second factor, remove or revoke.
 */
export const IDVA_SERVICE_MANAGED = 'This account belongs to the IDVA service: only its IDVA lead manages it. Nothing was changed.'
const IDVA_SERVICE_INVITATION = 'This invitation is into the IDVA service: only its IDVA lead manages it. Nothing was changed.'

/** An account (or invitation) of the IDVA service: by its role, or by its team. */
export function belongsToIdvaService(row: { role: Role; group_id: string | null }): boolean {
  return row.role === 'idva_lead' || row.role === 'idva' || row.group_id === IDVA_SERVICE_ID
}

/** Every receiving unit the routing policy names, as units an administrator can open. */
const adminRoutes: FastifyPluginAsync = async (app) => {
  const db = app.database.db

  async function accountsPage(request: FastifyRequest) {
    const accounts = await db
      .selectFrom('accounts')
      .leftJoin('groups', 'groups.id', 'accounts.group_id')
      .select(['accounts.id', 'accounts.username', 'accounts.role', 'accounts.group_id', 'accounts.status', 'accounts.created_at', 'accounts.last_login_at', 'accounts.totp_secret_sealed', 'groups.name as groupName'])
      .orderBy('accounts.username')
      .execute()
    return AdminAccountsPage({
      view: staffView(app, request),
      accounts: accounts.map((account) => ({
        id: account.id,
        username: account.username,
        role: account.role,
        group: account.groupName,
        active: account.status === 'active',
        secondFactorSet: account.totp_secret_sealed !== null,
        createdAt: account.created_at,
        lastLoginAt: account.last_login_at,
        isViewer: account.id === request.staff!.accountId,
        idvaService: belongsToIdvaService({ role: account.role, group_id: account.group_id }),
      })),
    })
  }

  app.get('/staff/admin/accounts', { config: ADMIN }, async (request, reply) => reply.html(await accountsPage(request)))

  async function targetAccount(request: FastifyRequest) {
    const id = (request.params as { accountId: string }).accountId
    const account = await findAccount(db, id)
    if (account === undefined) throw new HttpError(404, 'There is no such account.')
    if (account.id === request.staff!.accountId) throw new HttpError(400, 'You cannot change your own account here. Ask another administrator.')
    if (belongsToIdvaService(account)) {
      await recordAudit(db, { actor: { type: 'staff', id: request.staff!.accountId }, action: 'security.access_denied', object: { type: 'account', id: account.id } })
      throw new HttpError(403, IDVA_SERVICE_MANAGED)
    }
    return account
  }

  // The first step of each destructive action: a page that says what it does (the POST checks again).
  const adminConfirmations = {
    disable: (username: string) => ({
      title: `Disable ${username}'s account`,
      consequences: [`${username} is signed out at once and cannot sign in until an administrator enables the account again.`, 'Nothing is deleted.'],
      confirmLabel: 'Disable the account',
    }),
    'reset-second-factor': (username: string) => ({
      title: `Reset ${username}'s second factor`,
      consequences: [
        `${username}'s authenticator app and recovery codes stop working, and they are signed out.`,
        'At their next sign-in they set up a new one, with their passphrase.',
        'Do this only once you have checked, by phone or in person, that the request came from them.',
      ],
      confirmLabel: 'Reset the second factor',
    }),
    'remove-from-unit': (username: string) => ({
      title: `Remove ${username} from their unit`,
      consequences: [
        `${username} is signed out and can no longer open the unit's referrals.`,
        "The unit should then rotate its key, so that anything they kept cannot open new referrals.",
      ],
      confirmLabel: 'Remove from the unit',
    }),
  } as const
  for (const [action, words] of Object.entries(adminConfirmations)) {
    app.get(`/staff/admin/accounts/:accountId/${action}`, { config: ADMIN }, async (request, reply) => {
      const account = await targetAccount(request)
      if (action === 'remove-from-unit' && (account.role !== 'investigator' || account.group_id === null)) throw new HttpError(400, 'Only investigators are removed from units here.')
      return reply.html(ConfirmActionPage({ view: staffView(app, request), confirm: { ...words(account.username), action: `/staff/admin/accounts/${account.id}/${action}`, cancelHref: '/staff/admin/accounts' } }))
    })
  }

  app.post('/staff/admin/accounts/:accountId/disable', { config: ADMIN }, async (request, reply) => {
    const account = await targetAccount(request)
    await db.transaction().execute(async (trx) => {
      await trx.updateTable('accounts').set({ status: 'disabled' }).where('id', '=', account.id).execute()
      // Its sessions end at once: an old cookie is worth nothing from now on.
      await trx.deleteFrom('sessions').where('account_id', '=', account.id).execute()
      await recordAudit(trx, { actor: { type: 'staff', id: request.staff!.accountId }, action: 'staff.account_disabled', object: { type: 'account', id: account.id } })
    })
    return reply.redirect('/staff/admin/accounts', 303)
  })

  app.post('/staff/admin/accounts/:accountId/enable', { config: ADMIN }, async (request, reply) => {
    const account = await targetAccount(request)
    await db.transaction().execute(async (trx) => {
      await trx.updateTable('accounts').set({ status: 'active', failed_logins: 0, locked_until: null }).where('id', '=', account.id).execute()
      await recordAudit(trx, { actor: { type: 'staff', id: request.staff!.accountId }, action: 'staff.account_enabled', object: { type: 'account', id: account.id } })
    })
    return reply.redirect('/staff/admin/accounts', 303)
  })

  /** A lost phone: the second factor is removed, and the member must set up a new one at next sign-in. */
  app.post('/staff/admin/accounts/:accountId/reset-second-factor', { config: ADMIN }, async (request, reply) => {
    const account = await targetAccount(request)
    await resetSecondFactor(db, request.staff!.accountId, account.id)
    return reply.redirect('/staff/admin/accounts', 303)
  })

  /** Removes an investigator from their unit (IDVA leads remove IDVAs from the service). */
  app.post('/staff/admin/accounts/:accountId/remove-from-unit', { config: ADMIN }, async (request, reply) => {
    const account = await targetAccount(request)
    if (account.role !== 'investigator' || account.group_id === null) throw new HttpError(400, 'Only investigators are removed from units here. IDVA leads remove IDVAs from the service.')
    await removeMember(db, request.staff!.accountId, account.id, account.group_id)
    return reply.redirect('/staff/admin/accounts', 303)
  })

  async function unitsPage(request: FastifyRequest) {
    const groups = await db.selectFrom('groups').selectAll().where('kind', '=', 'investigator_unit').orderBy('id').execute()
    const members = await db.selectFrom('accounts').select(['group_id', 'username']).where('status', '=', 'active').where('role', '=', 'investigator').orderBy('username').execute()
    const keys = await referralUnits(db)
    // Whether each unit's newest key is vouched for, checked here against the service's keys
    // followed from the pinned fingerprint, as the IDVA's browser checks it before sealing.
    let signing: Map<number, Uint8Array> | null = null
    try {
      const service = await app.anchor.verifiedKeys()
      signing = service === null ? null : new Map(service.signing.map((key, index) => [index + 1, key]))
    } catch (error) {
      // Not pinned, or the pin and the database disagree: every unit key is then unchecked.
      if (!(error instanceof AnchorError)) throw error
      signing = null
    }
    const units: AdminUnit[] = []
    for (const group of groups) {
      const generations = keys.find((unit) => unit.id === group.id)?.generations ?? []
      const newest = generations.at(-1)?.generation ?? null
      let state: AdminUnit['keys']['state'] = newest === null ? 'none' : 'waiting'
      if (newest !== null && signing === null) state = 'unchecked'
      if (newest !== null && signing !== null) {
        state = await certifiedUnitKey(
          group.id,
          generations.map((row) => ({ generation: row.generation, publicKeys: { encryption: row.x25519_public, signing: row.ed25519_public }, rotationCertificate: row.rotation_certificate, serviceCertificate: row.service_certificate, serviceGeneration: row.service_generation })),
          signing,
        ).then(
          () => 'certified' as const,
          () => 'waiting' as const,
        )
      }
      units.push({
        id: group.id,
        name: group.name,
        track: group.track ?? 'criminal',
        force: group.force,
        commandUnit: group.command_unit,
        external: group.external,
        disabled: group.disabled_at !== null,
        members: members.filter((row) => row.group_id === group.id).map((row) => row.username),
        keys: { generation: newest, state },
      })
    }
    const forces = app.routingPolicy.names?.forces ?? {}
    return AdminUnitsPage({
      view: staffView(app, request),
      units,
      available: policyUnits(app.routingPolicy).filter((unit) => !groups.some((group) => group.id === unit.id)),
      forceName: (force) => (Object.hasOwn(forces, force) ? forces[force]! : force),
    })
  }

  app.get('/staff/admin/units', { config: ADMIN }, async (request, reply) => reply.html(await unitsPage(request)))

  app.post('/staff/admin/units', { config: ADMIN }, async (request, reply) => {
    const unitId = text(body(request.body), 'unitId', { max: 128 })
    const unit = policyUnits(app.routingPolicy).find((candidate) => candidate.id === unitId)
    if (unit === undefined) throw new HttpError(400, 'That unit is not in the routing policy.')
    if ((await findGroup(db, unit.id)) !== undefined) throw new HttpError(409, 'That unit is already open.')
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('groups').values({ id: unit.id, kind: 'investigator_unit', track: unit.track, force: unit.force, command_unit: unit.commandUnit, name: unit.name, disabled_at: null, rotation_recommended_at: null }).execute()
      await recordAudit(trx, { actor: { type: 'staff', id: request.staff!.accountId }, action: 'staff.unit_opened', object: { type: 'group', id: unit.id } })
    })
    return reply.redirect('/staff/admin/units', 303)
  })

  app.post('/staff/admin/units/:unitId/disable', { config: ADMIN }, async (request, reply) => {
    const unitId = (request.params as { unitId: string }).unitId
    const group = await findGroup(db, unitId)
    if (group === undefined || group.kind !== 'investigator_unit') throw new HttpError(404, 'There is no such unit.')
    await db.transaction().execute(async (trx) => {
      await trx.updateTable('groups').set({ disabled_at: new Date() }).where('id', '=', unitId).execute()
      await recordAudit(trx, { actor: { type: 'staff', id: request.staff!.accountId }, action: 'staff.unit_closed', object: { type: 'group', id: unitId } })
    })
    return reply.redirect('/staff/admin/units', 303)
  })

  async function invitationsPage(request: FastifyRequest, newLink: string | null = null) {
    const invitations = await db
      .selectFrom('invitations')
      .leftJoin('groups', 'groups.id', 'invitations.group_id')
      .select(['invitations.id', 'invitations.role', 'invitations.group_id', 'invitations.created_at', 'invitations.expires_at', 'invitations.used_at', 'invitations.revoked_at', 'groups.name as groupName'])
      .orderBy('invitations.created_at', 'desc')
      .limit(200)
      .execute()
    const groups = await db.selectFrom('groups').select(['id', 'name', 'kind']).where('disabled_at', 'is', null).orderBy('id').execute()
    const now = Date.now()
    return AdminInvitationsPage({
      view: staffView(app, request),
      newLink,
      groups: groups.map((group) => ({ id: group.id, name: group.name, kind: group.kind })),
      invitations: invitations.map((row) => ({
        id: row.id,
        role: row.role,
        group: row.groupName,
        createdAt: row.created_at,
        idvaService: belongsToIdvaService({ role: row.role, group_id: row.group_id }),
        state: row.used_at !== null ? 'used' : row.revoked_at !== null ? 'revoked' : row.expires_at.getTime() < now ? 'expired' : 'open',
      })),
    })
  }

  app.get('/staff/admin/invitations', { config: ADMIN }, async (request, reply) => reply.html(await invitationsPage(request)))

  app.post('/staff/admin/invitations', { config: ADMIN }, async (request, reply) => {
    const input = body(request.body)
    const role = text(input, 'role', { max: 20 })
    // IDVAs are invited only by an IDVA lead: force IT cannot place anyone inside the service.
    if (role === 'idva' || role === 'idva_lead') throw new HttpError(400, 'IDVAs are invited by an IDVA lead, not by an administrator.')
    if (role !== 'investigator' && role !== 'admin') throw new HttpError(400, 'Choose a role: investigator or portal administrator.')
    let groupId: string | null = null
    if (role === 'investigator') {
      groupId = text(input, 'groupId', { max: 128 })
      const group = await findGroup(db, groupId)
      if (group === undefined || group.kind !== 'investigator_unit' || group.disabled_at !== null) throw new HttpError(400, 'Choose an open unit for an investigator.')
    }
    const invitation = await createInvitation(db, app.config.publicOrigin, request.staff!.accountId, role as Role, groupId)
    return reply.html(await invitationsPage(request, invitation.link))
  })

  app.post('/staff/admin/invitations/:invitationId/revoke', { config: ADMIN }, async (request, reply) => {
    const id = (request.params as { invitationId: string }).invitationId
    const invitation = await db.selectFrom('invitations').select(['id', 'role', 'group_id']).where('id', '=', id).executeTakeFirst()
    if (invitation !== undefined && belongsToIdvaService(invitation)) {
      await recordAudit(db, { actor: { type: 'staff', id: request.staff!.accountId }, action: 'security.access_denied', object: { type: 'invitation', id } })
      throw new HttpError(403, IDVA_SERVICE_INVITATION)
    }
    await db.transaction().execute(async (trx) => {
      if (!(await revokeOpenInvitation(trx, id, 'force'))) throw new HttpError(404, 'There is no open invitation with that id.')
      await recordAudit(trx, { actor: { type: 'staff', id: request.staff!.accountId }, action: 'staff.invitation_revoked', object: { type: 'invitation', id } })
    })
    return reply.redirect('/staff/admin/invitations', 303)
  })
}

export default adminRoutes
