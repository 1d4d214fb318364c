import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import type { Transaction } from 'kysely'
import { isReferralAction, referralUpdateContext, UUID } from '../../../crypto/index.ts'
import { hasResponded, iopcDecisionDue, isStatusAction, nextActions, type ReferralAction } from '../../../rules/referral-states.ts'
import { responseClock } from '../../../rules/working-days.ts'
import { InboxPage, UnitReferralPage, type InboxItem } from '../../../views/pages/staff/inbox.tsx'
import { recordAudit } from '../../audit/audit.ts'
import { withActor } from '../../db/actor.ts'
import type { Role, Schema } from '../../db/schema.ts'
import { HttpError } from '../../errors.ts'
import { body, bytes, text } from '../../http/input.ts'
import { VaultError } from '../../security/case-vault.ts'
import { serviceKeyChain } from '../cases/repository.ts'
import { trustedServiceKeys } from '../cases/intake.ts'
import { checkSignedEnvelope } from '../idva/incoming.ts'
import { today } from '../idva/repository.ts'
import { referralFile, referralFileList, referralKey, referralPackage, referralUpdates } from '../referrals/repository.ts'
import { groupGenerations } from '../staff/repository.ts'
import { staffView } from '../staff/view-context.ts'
import { insertUpdate, nextUpdateSeq, unitInbox, unitReferral, type InboxRow, type UnitReferral } from './repository.ts'

/**
 * An investigator unit's inbox: the referrals the IDVA service sent to the unit, on its track only.
 *
 * The server hands out what the unit's browser needs, all sealed: the package (sealed to the unit's
 * key and the service's), the evidence files it names (encrypted by the reporter's browser; their
 * keys are in the package), the service's public key chain (checked in the browser against the
 * fingerprint pinned in the configuration) and the unit's updates. The browser unwraps the unit's
 * key with the member's own, opens everything, and sends back only what the unit records, each with
 * a note sealed to the service and the unit and signed by the unit.
 *
 * Every request runs as the unit's member (server/db/actor.ts): the database's row-level policies
 * return no other unit's referral and no row of any case's own tables, whatever a query says. An
 * investigator never reaches the reporter: questions go to the IDVA service in a note.
 */

const ACCESS = { access: { roles: ['investigator'] as readonly Role[] } }
const NO_SUCH_REFERRAL = 'There is no such referral for your unit.'
const NO_UNIT = 'You are not a member of a unit, so there is no inbox to show. The portal administrator adds investigators to units.'
const MAX_NOTE_ENVELOPE = 100_000

function unitOf(request: FastifyRequest): string {
  const unitId = request.staff!.groupId
  if (unitId === null) throw new HttpError(403, NO_UNIT)
  return unitId
}

function referralIdOf(request: FastifyRequest): string {
  const referralId = (request.params as { referralId: string }).referralId
  // Another unit's referral answers exactly as one that does not exist.
  if (!UUID.test(referralId)) throw new HttpError(404, NO_SUCH_REFERRAL)
  return referralId
}

const unitRoutes: FastifyPluginAsync = async (app) => {
  const db = app.database.db
  const targetDays = app.config.unitResponseTargetDays
  const clockWords = { done: 'First response', due: 'Acknowledgement', closed: 'Returned without an acknowledgement' }

  function item(row: InboxRow, day: string): InboxItem {
    return {
      ...row,
      clock: responseClock({ createdOn: row.receivedOn, firstReplyOn: row.respondedOn, closed: false, targetDays, today: day, words: clockWords, holidays: app.bankHoliday }),
      iopcDue: iopcDecisionDue(row),
    }
  }

  /** Runs `work` as a member of the signed-in investigator's unit. */
  function asUnit<T>(request: FastifyRequest, work: (trx: Transaction<Schema>) => Promise<T>): Promise<T> {
    return withActor(db, { role: 'investigator', unitId: unitOf(request) }, work)
  }

  async function found(request: FastifyRequest, trx: Transaction<Schema>, lock = false): Promise<UnitReferral> {
    const referral = await unitReferral(trx, unitOf(request), referralIdOf(request), lock)
    if (referral === undefined) throw new HttpError(404, NO_SUCH_REFERRAL)
    return referral
  }

  app.get('/staff/inbox', { config: ACCESS }, async (request, reply) => {
    const unitId = request.staff!.groupId
    if (unitId === null) return reply.code(403).html(InboxPage({ view: staffView(app, request), unit: null, items: [], targetDays }))
    const { rows, day, unit } = await asUnit(request, async (trx) => ({
      rows: await unitInbox(trx, unitId),
      day: await today(trx),
      unit: await trx.selectFrom('groups').select(['name', 'track']).where('id', '=', unitId).executeTakeFirst(),
    }))
    return reply.html(InboxPage({ view: staffView(app, request), unit: unit === undefined ? null : { name: unit.name, track: unit.track ?? 'criminal' }, items: rows.map((row) => item(row, day)), targetDays }))
  })

  app.get('/staff/inbox/:referralId', { config: ACCESS }, async (request, reply) => {
    const { referral, day } = await asUnit(request, async (trx) => ({ referral: await found(request, trx), day: await today(trx) }))
    return reply.html(UnitReferralPage({ view: staffView(app, request), referral: { ...item(referral, day), caseId: referral.caseId, unitGeneration: referral.unitGeneration, nextActions: nextActions(referral.status) } }))
  })

  /** Everything the unit's browser needs to open the package, its files and the unit's history, all sealed. */
  app.get('/staff/inbox/:referralId/content', { config: ACCESS }, async (request, reply) => {
    const unitId = unitOf(request)
    const content = await asUnit(request, async (trx) => {
      const referral = await found(request, trx)
      const envelope = await referralPackage(trx, app.vault, referral.id)
      const files = await referralFileList(trx, referral.id)
      const updates = (await referralUpdates(trx, app.vault, [referral.id])).get(referral.id) ?? []
      return { referral, envelope: envelope?.envelope ?? Buffer.alloc(0), removedOn: envelope?.removedOn ?? null, files, updates }
    })
    const { referral } = content
    const generations = await groupGenerations(db, unitId)
    return reply.send({
      referralId: referral.id,
      caseId: referral.caseId,
      track: referral.track,
      unitId,
      unitGeneration: referral.unitGeneration,
      unitGenerations: generations.map((row) => ({ generation: row.generation, x25519: row.x25519_public.toString('base64url'), ed25519: row.ed25519_public.toString('base64url') })),
      status: referral.status,
      iopcRequired: referral.iopcRequired,
      iopcDecision: referral.iopcDecision,
      iopcDue: iopcDecisionDue(referral),
      nextActions: nextActions(referral.status),
      envelope: content.envelope.toString('base64url'),
      // The person withdrew after this was sent: what it held was removed (its state and updates stay).
      contentRemovedOn: content.removedOn,
      // The service's public chain: the browser follows it from the pinned fingerprint before it
      // trusts the package's signature.
      service: await serviceKeyChain(db),
      files: content.files.map((file) => ({ id: file.evidence_id, size: file.size })),
      updates: content.updates.map((update) => ({ seq: update.seq, action: update.action, envelope: update.envelope.toString('base64url'), recordedAt: update.createdAt.toISOString() })),
    })
  })

  /** The browser says whether the package opened (it is the only one that can know). */
  app.post('/staff/inbox/:referralId/opened', { config: ACCESS }, async (request, reply) => {
    const opened = body(request.body).opened
    if (typeof opened !== 'boolean') throw new HttpError(400, 'opened must be true or false.')
    await asUnit(request, async (trx) => {
      const referral = await found(request, trx)
      await recordAudit(trx, { actor: { type: 'staff', id: request.staff!.accountId }, action: opened ? 'referral.package_opened' : 'referral.package_unreadable', object: { type: 'referral', id: referral.id } })
    })
    return reply.code(204).send()
  })

  /** One evidence file of the package, still encrypted: the browser decrypts it with the key the package holds. */
  app.get('/staff/inbox/:referralId/files/:evidenceId', { config: ACCESS }, async (request, reply) => {
    const evidenceId = (request.params as { evidenceId: string }).evidenceId
    if (!UUID.test(evidenceId)) throw new HttpError(404, 'That file is not part of this referral.')
    const file = await asUnit(request, async (trx) => {
      const referral = await found(request, trx)
      const stored = await referralFile(trx, app.vault, referral.id, evidenceId)
      if (stored !== null) await recordAudit(trx, { actor: { type: 'staff', id: request.staff!.accountId }, action: 'referral.file_fetched_by_unit', object: { type: 'referral', id: referral.id } })
      return stored
    })
    if (file === null) throw new HttpError(404, 'That file is not part of this referral.')
    return reply.type('application/octet-stream').header('content-disposition', 'attachment').send(file)
  })

  /**
   * The unit records a step (acknowledged, investigation opened, no further action, transferred,
   * closed, returned) or the IOPC decision, with a note the member's browser sealed to the service
   * and the unit and signed with the unit's current key, bound to this referral, its place in the
   * history and the action. Only the steps open from the referral's state are accepted.
   */
  app.post('/staff/inbox/:referralId/updates', { bodyLimit: 3 * MAX_NOTE_ENVELOPE, config: ACCESS }, async (request, reply) => {
    const unitId = unitOf(request)
    const input = body(request.body)
    const action = input.action
    if (!isReferralAction(action)) throw new HttpError(400, 'Choose what to record from the list.')
    const updateId = text(input, 'updateId', { min: 36, max: 36, pattern: UUID })
    const seq = typeof input.seq === 'number' && Number.isSafeInteger(input.seq) && input.seq >= 1 ? input.seq : 0
    if (seq === 0) throw new HttpError(400, 'seq must be a whole number from 1.')
    const envelope = bytes(input, 'envelope', { max: 2 * MAX_NOTE_ENVELOPE })
    if (envelope.length > MAX_NOTE_ENVELOPE) throw new HttpError(413, 'This note is too long. Keep it to the point: details belong in the unit\'s own records.')

    const generations = await groupGenerations(db, unitId)
    const current = generations.at(-1)
    if (current === undefined) throw new HttpError(409, 'Your unit has no keys yet.')
    const service = await trustedServiceKeys(app)

    const result = await asUnit(request, async (trx) => {
      const referral = await found(request, trx, true)
      checkStep(referral, action)
      if (seq !== (await nextUpdateSeq(trx, referral.id))) {
        throw new HttpError(409, 'Someone in your unit recorded something on this referral meanwhile. Reload the page to see it, then try again.')
      }
      const paddedSize = await checkSignedEnvelope(envelope, {
        kind: 'unit_note',
        caseId: referral.caseId,
        context: referralUpdateContext(referral.id, seq, action),
        signer: {
          current: current.ed25519_public,
          previous: generations.slice(0, -1).map((row) => row.ed25519_public),
          notSigned: 'This note is not signed with your unit\'s key for this referral, so nothing was recorded. Reload the page and try again.',
          keyChanged: 'Your unit\'s key has changed since this page was loaded, so nothing was recorded. Reload the page (your keys will catch up) and try again.',
        },
        recipients: [service.current.encryption, current.x25519_public],
      })
      let key: Buffer | null
      try {
        key = await referralKey(trx, app.vault, referral.id)
      } catch (error) {
        if (error instanceof VaultError) throw new HttpError(409, 'This referral\'s stored key does not open on the server (it may have been changed in the database), so nothing was recorded. Tell the IDVA service and the portal\'s administrator.')
        throw error
      }
      if (key === null) throw new HttpError(404, NO_SUCH_REFERRAL)
      await insertUpdate(trx, key, { id: updateId, referralId: referral.id, seq, action, envelope, paddedSize, createdBy: request.staff!.accountId })
      await recordAudit(trx, { actor: { type: 'staff', id: request.staff!.accountId }, action: AUDIT_ACTIONS[action], object: { type: 'referral', id: referral.id } })
      return unitReferral(trx, unitId, referral.id)
    })
    return reply.code(201).send({ status: result?.status, iopcDecision: result?.iopcDecision ?? null, nextActions: result === undefined ? [] : nextActions(result.status) })
  })

}


const AUDIT_ACTIONS: Readonly<Record<ReferralAction, string>> = {
  acknowledged: 'referral.acknowledged',
  investigating: 'referral.investigation_opened',
  no_further_action: 'referral.no_further_action',
  transferred: 'referral.transferred',
  closed: 'referral.closed',
  returned: 'referral.returned',
  iopc_referred: 'referral.iopc_referred',
  iopc_not_referred: 'referral.iopc_not_referred',
}

/** Throws a 409 with the reason when `action` is not open for the referral now. */
function checkStep(referral: UnitReferral, action: ReferralAction): void {
  if (isStatusAction(action)) {
    if (nextActions(referral.status).includes(action)) return
    throw new HttpError(409, referral.status === 'sent' ? 'Acknowledge the referral (or return it to the IDVA service) first.' : 'That step is not open for this referral now: reload the page to see where it stands.')
  }
  if (referral.track !== 'misconduct' || !referral.iopcRequired) throw new HttpError(409, 'This referral did not require a decision on referring it to the IOPC.')
  if (referral.iopcDecision !== null) throw new HttpError(409, 'The IOPC decision for this referral has already been recorded.')
  if (!hasResponded(referral.status)) throw new HttpError(409, 'Acknowledge the referral first.')
  if (!iopcDecisionDue(referral)) throw new HttpError(409, 'The IOPC decision cannot be recorded on a referral returned to the IDVA service.')
}

export default unitRoutes
