import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import { recordAudit } from '../../audit/audit.ts'
import { fingerprint } from '../../../crypto/fingerprint.ts'
import { HttpError } from '../../errors.ts'
import { ALL_STAFF } from '../../plugins/staff-auth.ts'
import { sha256 } from '../../security/tokens.ts'
import { AccountPage, EnrolPage, LoginPage, SecondFactorPage, SetupPage } from '../../../views/pages/staff/auth.tsx'
import { staffView } from './view-context.ts'
import { ServerKeys } from '../../security/server-keys.ts'
import { body, bytes, text, username as readUsername } from '../../http/input.ts'
import { createAccount, issueTicket, newRecoveryCodes, normaliseRecoveryCode, openTicket, readMember, readPassphrase, readPublicKeys } from './enrolment.ts'
import { findAccount, findAccountByUsername, findGroup, groupGenerations, grantsOf, IDVA_SERVICE_ID, insertRecoveryCodes, recordSecondFactorFailure, recordSignIn, serviceExists, signInWithRecoveryCode } from './repository.ts'
import { SignInThrottle } from './sign-in-throttle.ts'
import { verifyTotp } from './totp.ts'

/**
 * Signing in and out, first-run setup, enrolment by invitation, the second factor, and a member's
 * own account. Passphrases never reach the server: the browser derives a verifier and a key-encryption
 * key from it with Argon2id, and sends only the verifier (and keys it wrapped).
 */

const LOGIN_FAILURE = 'The user name, passphrase or code is not right. Check them and try again.'
/** Every login answer takes at least this long, so timing does not tell which part was wrong. */
const LOGIN_MIN_MS = 400
/**
 * Only wrong codes after a right passphrase lock an account (SECURITY.md, "Staff sign-in: lockouts
 * that cannot be turned on staff"): 20 of them, from addresses not already paused, lock it for 15
 * minutes; each one after a lock has ended locks it again for twice as long, up to an hour.
 */
const LOCK_POLICY = { after: 20, minutes: 15, maxMinutes: 60 } as const
const DEFAULT_PASSPHRASE_PARAMS = { opsLimit: 3, memLimit: 128 * 1024 * 1024 }

function tokenParam(request: FastifyRequest): string {
  const token = (request.params as { token?: string }).token ?? ''
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) throw new HttpError(404, 'This link is not valid. Ask for a new one.')
  return token
}

const authRoutes: FastifyPluginAsync = async (app) => {
  const keys = new ServerKeys(app.config.serverSecret)
  const db = app.database.db
  const throttle = new SignInThrottle(db, app.config.serverSecret)
  const qrSvg = (uri: string) => app.heavyWork.qrSvg(uri)

  // ---- first run ------------------------------------------------------------------------------

  async function validSetupToken(token: string) {
    const row = await db.selectFrom('setup_tokens').selectAll().where('token_hash', '=', sha256(token)).executeTakeFirst()
    if (row === undefined || row.used_at !== null || row.expires_at.getTime() < Date.now() || (await serviceExists(db))) {
      await recordAudit(db, { actor: { type: 'system' }, action: 'staff.setup_refused' })
      throw new HttpError(404, 'This set-up link has expired or has already been used. Restart the portal to print a new one (only while no IDVA service exists).')
    }
    return row
  }

  app.get('/staff/setup/:token', { config: { access: 'public', rateLimit: { name: 'staff-setup', max: 30, windowSeconds: 600 } } }, async (request, reply) => {
    const token = tokenParam(request)
    await validSetupToken(token)
    const enrolment = await issueTicket(keys, { kind: 'setup', bound: sha256(token).toString('hex') }, 'IDVA lead')
    return reply.html(SetupPage({ view: staffView(app, request), ticket: enrolment.ticket, accountId: enrolment.accountId, groupId: IDVA_SERVICE_ID, totpSecret: enrolment.secret, safeQrSvg: await qrSvg(enrolment.uri) }))
  })

  app.post('/staff/setup/:token', { config: { access: 'public', rateLimit: { name: 'staff-setup', max: 30, windowSeconds: 600 } } }, async (request, reply) => {
    const token = tokenParam(request)
    const input = body(request.body)
    const serviceName = text(input, 'serviceName', { max: 120 })
    const service = readPublicKeys(input, 'service')
    const serviceGrant = bytes(input, 'serviceGrant', { max: 511 })
    await validSetupToken(token) // audits a refusal; checked again under lock below
    const passphrase = await readPassphrase(input, app.heavyWork)
    const result = await db.transaction().execute(async (trx) => {
      const setup = await trx.selectFrom('setup_tokens').selectAll().where('token_hash', '=', sha256(token)).forUpdate().executeTakeFirst()
      if (setup === undefined || setup.used_at !== null || setup.expires_at.getTime() < Date.now() || (await serviceExists(trx))) {
        throw new HttpError(404, 'This set-up link has expired or has already been used.')
      }
      await trx.insertInto('groups').values({ id: IDVA_SERVICE_ID, kind: 'idva_service', track: null, force: app.routingPolicy.force, name: serviceName, disabled_at: null, rotation_recommended_at: null }).execute()
      const account = await createAccount(trx, keys, input, passphrase, { kind: 'setup', bound: setup.token_hash.toString('hex') }, 'idva_lead', IDVA_SERVICE_ID)
      await trx.insertInto('group_keys').values({ group_id: IDVA_SERVICE_ID, generation: 1, ...service, rotation_certificate: null, previous_keys_sealed: null, service_certificate: null, service_generation: null, created_by: account.accountId }).execute()
      await trx.insertInto('group_key_grants').values({ account_id: account.accountId, group_id: IDVA_SERVICE_ID, generation: 1, wrapped: serviceGrant, granted_by: account.accountId }).execute()
      await trx.updateTable('setup_tokens').set({ used_at: new Date() }).where('token_hash', '=', setup.token_hash).execute()
      const actor = { type: 'staff', id: account.accountId } as const
      await recordAudit(trx, { actor, action: 'staff.service_created', object: { type: 'group', id: IDVA_SERVICE_ID } })
      await recordAudit(trx, { actor, action: 'staff.enrolled', object: { type: 'account', id: account.accountId } })
      return account
    })
    await app.startSession(reply, result.accountId, 'full')
    // The trust anchor: with the embedded database the new service's fingerprint is pinned beside
    // the server secret at once; otherwise the operator must add the line to the configuration.
    const pin = await app.anchor.pinAfterSetup(await fingerprint({ encryption: service.x25519_public, signing: service.ed25519_public }))
    return reply.send({ recoveryCodes: result.recoveryCodes, next: '/staff', pin })
  })

  // ---- enrolment by invitation ----------------------------------------------------------------

  async function validInvitation(token: string) {
    const row = await db.selectFrom('invitations').selectAll().where('token_hash', '=', sha256(token)).executeTakeFirst()
    if (row === undefined || row.used_at !== null || row.revoked_at !== null || row.expires_at.getTime() < Date.now()) {
      await recordAudit(db, { actor: { type: 'system' }, action: 'staff.invitation_refused', ...(row === undefined ? {} : { object: { type: 'invitation', id: row.id } }) })
      throw new HttpError(404, 'This invitation has expired, has been used, or is not valid. Ask for a new one.')
    }
    return row
  }

  app.get('/staff/enrol/:token', { config: { access: 'public', rateLimit: { name: 'staff-enrol', max: 30, windowSeconds: 600 } } }, async (request, reply) => {
    const token = tokenParam(request)
    const invitation = await validInvitation(token)
    const group = invitation.group_id === null ? null : await findGroup(db, invitation.group_id)
    const generations = group === null || group === undefined ? [] : await groupGenerations(db, group.id)
    const enrolment = await issueTicket(keys, { kind: 'enrol', bound: invitation.token_hash.toString('hex') }, invitation.role)
    return reply.html(
      EnrolPage({
        view: staffView(app, request),
        role: invitation.role,
        groupName: group?.name ?? null,
        groupId: group?.id ?? null,
        createsGroupKeys: group !== undefined && group !== null && group.kind === 'investigator_unit' && generations.length === 0,
        ticket: enrolment.ticket,
        accountId: enrolment.accountId,
        totpSecret: enrolment.secret,
        safeQrSvg: await qrSvg(enrolment.uri),
      }),
    )
  })

  app.post('/staff/enrol/:token', { config: { access: 'public', rateLimit: { name: 'staff-enrol', max: 30, windowSeconds: 600 } } }, async (request, reply) => {
    const token = tokenParam(request)
    const input = body(request.body)
    await validInvitation(token) // audits a refusal; checked again under lock below
    const passphrase = await readPassphrase(input, app.heavyWork)
    const result = await db.transaction().execute(async (trx) => {
      const invitation = await trx.selectFrom('invitations').selectAll().where('token_hash', '=', sha256(token)).forUpdate().executeTakeFirst()
      if (invitation === undefined || invitation.used_at !== null || invitation.revoked_at !== null || invitation.expires_at.getTime() < Date.now()) {
        throw new HttpError(404, 'This invitation has expired, has been used, or is not valid. Ask for a new one.')
      }
      const group = invitation.group_id === null ? undefined : await findGroup(trx, invitation.group_id)
      if (invitation.group_id !== null && (group === undefined || group.disabled_at !== null)) throw new HttpError(409, 'The team this invitation is for is no longer open.')
      const account = await createAccount(trx, keys, input, passphrase, { kind: 'enrol', bound: invitation.token_hash.toString('hex') }, invitation.role, invitation.group_id)
      await trx.updateTable('invitations').set({ used_at: new Date(), used_by: account.accountId }).where('id', '=', invitation.id).execute()
      const actor = { type: 'staff', id: account.accountId } as const
      await recordAudit(trx, { actor, action: 'staff.enrolled', object: { type: 'account', id: account.accountId } })
      await recordAudit(trx, { actor, action: 'staff.invitation_used', object: { type: 'invitation', id: invitation.id } })

      // The first member of a unit creates its keys (a unit's keys are made in a member's browser).
      if (group !== undefined && group.kind === 'investigator_unit' && (await groupGenerations(trx, group.id)).length === 0) {
        if (input.groupKeys === undefined) throw new HttpError(400, 'groupKeys is missing: the first member of a unit creates its keys.')
        const unit = readPublicKeys(input, 'groupKeys')
        await trx.insertInto('group_keys').values({ group_id: group.id, generation: 1, ...unit, rotation_certificate: null, previous_keys_sealed: null, service_certificate: null, service_generation: null, created_by: account.accountId }).execute()
        await trx.insertInto('group_key_grants').values({ account_id: account.accountId, group_id: group.id, generation: 1, wrapped: bytes(input, 'groupGrant', { max: 511 }), granted_by: account.accountId }).execute()
        await recordAudit(trx, { actor, action: 'keys.group_created', object: { type: 'group', id: group.id } })
      }
      return account
    })
    await app.startSession(reply, result.accountId, 'full')
    return reply.send({ recoveryCodes: result.recoveryCodes, next: '/staff' })
  })

  // ---- signing in -----------------------------------------------------------------------------

  app.get('/staff/login', { config: { access: 'public' } }, async (request, reply) => {
    const query = request.query as Record<string, unknown>
    const signedOut = query['signed-out'] === 'everywhere' ? 'everywhere' : query['signed-out'] === 'expired' ? 'expired' : query['signed-out'] === undefined ? null : 'here'
    return reply.html(LoginPage({ view: staffView(app, request), serviceOpen: await serviceExists(db), signedOut }))
  })

  /** The passphrase parameters for a user name; for an unknown name, decoys that look the same. */
  app.post('/staff/login/params', { config: { access: 'public', rateLimit: { name: 'staff-login-params', max: 30, windowSeconds: 300 } } }, async (request, reply) => {
    const name = readUsername(body(request.body))
    const account = await findAccountByUsername(db, name)
    if (account === undefined) {
      return reply.send({ salt: keys.decoySalt(name).toString('base64url'), ...DEFAULT_PASSPHRASE_PARAMS })
    }
    return reply.send({ salt: account.passphrase_salt.toString('base64url'), opsLimit: account.passphrase_ops, memLimit: account.passphrase_mem })
  })

  /**
   * Where an attempt comes from pays for its failure first (sign-in-throttle.ts): from an address or
   * network that has failed too often, attempts are refused before the account is looked at. The
   * account itself counts only wrong codes after the right passphrase, which only someone holding
   * the passphrase can make; a lock stops codes from the authenticator app, is never moved by
   * attempts made while it holds, and does not stop a recovery code.
   */
  app.post('/staff/login', { config: { access: 'public', rateLimit: { name: 'staff-login', max: 30, windowSeconds: 900 } } }, async (request, reply) => {
    const started = Date.now()
    const slowly = async <T>(value: T): Promise<T> => {
      const wait = LOGIN_MIN_MS - (Date.now() - started)
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
      return value
    }
    const input = body(request.body)
    const name = readUsername(input)
    const verifier = bytes(input, 'verifier', { length: 32 })
    const code = text(input, 'code', { min: 0, max: 40 })
    const attempt = await throttle.admit(request.ip)
    // Only a failure keeps its place in the budgets of where it came from.
    let failed = false
    let givenBack = false
    const giveBack = async () => {
      if (givenBack) return
      givenBack = true
      await attempt.release().catch((error: unknown) => request.log.warn({ err: error }, 'could not give a sign-in attempt back to its budget'))
    }
    try {
      const account = await findAccountByUsername(db, name)
      const verifierOk = await app.heavyWork.checkVerifier(account?.verifier_hash ?? null, verifier)

      /** `wrongCode`: the passphrase was right and the second factor was not, the one failure an account counts. */
      const refuse = async (wrongCode: boolean): Promise<never> => {
        failed = true
        const lock = wrongCode && account !== undefined ? await recordSecondFactorFailure(db, account.id, new Date(), LOCK_POLICY) : null
        const object = account === undefined ? {} : { object: { type: 'account', id: account.id } as const }
        await recordAudit(db, { actor: { type: 'system' }, action: 'staff.login_failed', ...object })
        if (lock !== null) await recordAudit(db, { actor: { type: 'system' }, action: 'staff.account_locked', ...object })
        throw await slowly(new HttpError(401, LOGIN_FAILURE))
      }
      if (account === undefined || !verifierOk || account.status !== 'active') return await refuse(false)
      const recovery = normaliseRecoveryCode(code)
      // While a lock holds, a code from the app is not even checked, so the answer says nothing about it.
      const locked = account.locked_until !== null && account.locked_until.getTime() > Date.now()
      if (locked && (recovery === null || account.totp_secret_sealed === null)) return await refuse(false)

      // What was read above may be stale by now (another sign-in at the same moment): acceptance is
      // one conditional write that checks again, so a code or a recovery code works once only.
      let stage: 'full' | 'second_factor_enrolment' = 'full'
      let usedRecovery = false
      let accepted: boolean
      if (account.totp_secret_sealed === null) {
        // The second factor was reset: this session may only set up a new one.
        stage = 'second_factor_enrolment'
        accepted = await recordSignIn(db, account.id, new Date(), { withoutSecondFactor: true })
        if (!accepted) return await refuse(false)
      } else if (recovery !== null) {
        usedRecovery = await signInWithRecoveryCode(db, account.id, sha256(recovery), new Date())
        accepted = usedRecovery
      } else {
        const secret = await keys.open(account.totp_secret_sealed, `totp:${account.id}`)
        const matched = secret === null ? null : verifyTotp(secret, code, Date.now(), account.totp_last_step)
        accepted = matched !== null && (await recordSignIn(db, account.id, new Date(), { totpStep: matched }))
      }
      if (!accepted) return await refuse(true)
      // Whatever session the browser had before is ended: a new token for a new login.
      await app.endSession(request, reply)
      await app.startSession(reply, account.id, stage)
      const actor = { type: 'staff', id: account.id } as const
      await recordAudit(db, { actor, action: 'staff.login' })
      if (usedRecovery) await recordAudit(db, { actor, action: 'staff.recovery_code_used' })
      // Given back before the wait, so that colleagues signing in from one office at the same
      // moment hold its budget for as short a time as possible.
      await giveBack()
      return await slowly(reply.send({ next: stage === 'full' ? '/staff' : '/staff/second-factor' }))
    } finally {
      if (!failed) await giveBack()
    }
  })

  app.post('/staff/logout', { config: { access: { roles: ALL_STAFF, secondFactorEnrolment: true } } }, async (request, reply) => {
    const accountId = request.staff!.accountId
    await app.endSession(request, reply)
    await recordAudit(db, { actor: { type: 'staff', id: accountId }, action: 'staff.logout' })
    // The browser forgets everything it held for the portal, including the keys in this tab.
    reply.header('clear-site-data', '"cache", "cookies", "storage"')
    return reply.redirect('/staff/login?signed-out=here', 303)
  })

  app.post('/staff/logout-everywhere', { config: { access: { roles: ALL_STAFF } } }, async (request, reply) => {
    const accountId = request.staff!.accountId
    const ended = await app.endAllSessions(accountId)
    await app.endSession(request, reply)
    await recordAudit(db, { actor: { type: 'staff', id: accountId }, action: 'staff.logout_everywhere', object: { type: 'sessions', id: String(ended) } })
    reply.header('clear-site-data', '"cache", "cookies", "storage"')
    return reply.redirect('/staff/login?signed-out=everywhere', 303)
  })

  // ---- second factor after a reset ------------------------------------------------------------

  app.get('/staff/second-factor', { config: { access: { roles: ALL_STAFF, secondFactorEnrolment: true } } }, async (request, reply) => {
    const staff = request.staff!
    if (staff.stage === 'full') return reply.redirect('/staff', 303)
    const enrolment = await issueTicket(keys, { kind: 'second-factor', bound: staff.accountId }, staff.username, staff.accountId)
    return reply.html(SecondFactorPage({ view: staffView(app, request), ticket: enrolment.ticket, totpSecret: enrolment.secret, safeQrSvg: await qrSvg(enrolment.uri) }))
  })

  app.post('/staff/second-factor', { config: { access: { roles: ALL_STAFF, secondFactorEnrolment: true } } }, async (request, reply) => {
    const staff = request.staff!
    if (staff.stage === 'full') throw new HttpError(409, 'Your second factor is already set up.')
    const input = body(request.body)
    const { secret } = await openTicket(keys, { kind: 'second-factor', bound: staff.accountId }, bytes(input, 'ticket', { max: 512 }))
    const step = verifyTotp(secret, text(input, 'code', { min: 6, max: 12 }), Date.now(), 0)
    if (step === null) {
      await recordAudit(db, { actor: { type: 'staff', id: staff.accountId }, action: 'staff.second_factor_refused' })
      throw new HttpError(400, 'That code from your authenticator app is not right. Try the code it shows now.')
    }
    const recoveryCodes = newRecoveryCodes()
    await db.transaction().execute(async (trx) => {
      await trx.updateTable('accounts').set({ totp_secret_sealed: await keys.seal(secret, `totp:${staff.accountId}`), totp_last_step: step }).where('id', '=', staff.accountId).execute()
      await insertRecoveryCodes(trx, staff.accountId, recoveryCodes.map((code) => sha256(normaliseRecoveryCode(code)!)))
      await trx.deleteFrom('sessions').where('account_id', '=', staff.accountId).execute()
      await recordAudit(trx, { actor: { type: 'staff', id: staff.accountId }, action: 'staff.second_factor_enrolled' })
    })
    await app.startSession(reply, staff.accountId, 'full')
    return reply.send({ recoveryCodes, next: '/staff' })
  })

  // ---- keys for this browser tab --------------------------------------------------------------

  /**
   * Everything the browser needs to unlock its keys: the passphrase parameters, the member's wrapped
   * keys, and the group's key chain with the member's grant. All of it public or wrapped.
   */
  app.get('/staff/keys', { config: { access: { roles: ALL_STAFF } } }, async (request, reply) => {
    const staff = request.staff!
    const account = (await findAccount(db, staff.accountId))!
    const encode = (value: Buffer | null) => (value === null ? null : value.toString('base64url'))
    let group = null
    if (account.group_id !== null) {
      const generations = await groupGenerations(db, account.group_id)
      const grant = (await grantsOf(db, account.id)).find((row) => row.group_id === account.group_id) ?? null
      group = {
        id: account.group_id,
        generations: generations.map((row) => ({
          generation: row.generation,
          x25519Public: encode(row.x25519_public),
          ed25519Public: encode(row.ed25519_public),
          certificate: encode(row.rotation_certificate),
          previousKeysSealed: encode(row.previous_keys_sealed),
        })),
        grant: grant === null ? null : { generation: grant.generation, wrapped: encode(grant.wrapped) },
      }
    }
    return reply.send({
      accountId: account.id,
      username: account.username,
      role: account.role,
      passphrase: { salt: encode(account.passphrase_salt), opsLimit: account.passphrase_ops, memLimit: account.passphrase_mem },
      member: { x25519Public: encode(account.x25519_public), ed25519Public: encode(account.ed25519_public), wrappedKeys: encode(account.member_keys_wrapped) },
      group,
    })
  })

  // ---- a member's own account -----------------------------------------------------------------

  app.get('/staff/account', { config: { access: { roles: ALL_STAFF } } }, async (request, reply) => {
    const account = (await findAccount(db, request.staff!.accountId))!
    const remaining = await db.selectFrom('recovery_codes').select((eb) => eb.fn.countAll<number>().as('n')).where('account_id', '=', account.id).where('used_at', 'is', null).executeTakeFirstOrThrow()
    const sessions = await db.selectFrom('sessions').select((eb) => eb.fn.countAll<number>().as('n')).where('account_id', '=', account.id).executeTakeFirstOrThrow()
    return reply.html(
      AccountPage({
        view: staffView(app, request),
        createdAt: account.created_at,
        lastLoginAt: account.last_login_at,
        recoveryCodesLeft: Number(remaining.n),
        sessions: Number(sessions.n),
        passphraseChanged: (request.query as Record<string, unknown>).passphrase === 'changed',
      }),
    )
  })

  /** Change passphrase: proves the current one, re-wraps the same keys under the new one. */
  app.post('/staff/account/passphrase', { config: { access: { roles: ALL_STAFF }, rateLimit: { name: 'staff-passphrase', max: 10, windowSeconds: 900 } } }, async (request, reply) => {
    const staff = request.staff!
    const input = body(request.body)
    const account = (await findAccount(db, staff.accountId))!
    if (!(await app.heavyWork.checkVerifier(account.verifier_hash, bytes(input, 'currentVerifier', { length: 32 })))) {
      await recordAudit(db, { actor: { type: 'staff', id: staff.accountId }, action: 'staff.passphrase_change_refused' })
      throw new HttpError(403, 'Your current passphrase is not right, so nothing was changed.')
    }
    const passphrase = await readPassphrase(input, app.heavyWork, 'passphrase', 'verifier')
    const member = readMember(input)
    if (!member.x25519_public.equals(account.x25519_public) || !member.ed25519_public.equals(account.ed25519_public)) {
      throw new HttpError(400, 'A passphrase change re-wraps the same keys; these are different keys.')
    }
    await db.transaction().execute(async (trx) => {
      await trx.updateTable('accounts').set({ ...passphrase, member_keys_wrapped: member.member_keys_wrapped }).where('id', '=', staff.accountId).execute()
      // Every other session ends: whoever knew the old passphrase is signed out.
      await trx.deleteFrom('sessions').where('account_id', '=', staff.accountId).where('token_hash', '!=', staff.tokenHash).execute()
      await recordAudit(trx, { actor: { type: 'staff', id: staff.accountId }, action: 'staff.passphrase_changed' })
    })
    return reply.send({ next: '/staff/account?passphrase=changed' })
  })

}

export default authRoutes
