import type { FastifyInstance, FastifyRequest } from 'fastify'
import { UUID } from '../../../crypto/thread.ts'
import { recordAudit } from '../../audit/audit.ts'
import type { CaseKind } from '../../db/schema.ts'
import { URGENCIES, type Urgency } from '../../../rules/enums.ts'
import { HttpError } from '../../errors.ts'
import { refuseCrossSite } from '../../http/cross-site.ts'
import { body, bytes, text } from '../../http/input.ts'
import { checkReporterEnvelope, FILES_NOT_RECEIVED, readMessage, readUploads } from './incoming.ts'
import { AnchorError, type VerifiedServiceKeys } from '../../security/service-anchor.ts'
import { caseTaken, claimUploads, countArrival, insertCase, insertMessage } from './repository.ts'

/**
 * A new case arriving, anonymously: a reporter's disclosure at /report, or a line manager's
 * consultation at /managers/ask. Both are the same thing to the server: an envelope sealed in the
 * browser to the IDVA service and the case's reply key, signed with the case's key, with the
 * case's public keys and lookup value; the code they come from never arrives.
 */

export const NOT_OPEN = 'The portal is not open yet, so nothing was sent. You can call the National Domestic Abuse Helpline free on 0808 2000 247 at any time.'

/** When the service's key does not match the one pinned outside the database (the browser says the same). */
export const KEY_NOT_CHECKED =
  "We could not check the IDVA service's key, so nothing was sent. Do not send anything now; see the safety page (/safety) for other ways to get help."

/**
 * The service's keys, checked now against the pin: anything sealed to a chain that does not check
 * out is refused (503), and so is everything while the portal is not open.
 */
export async function trustedServiceKeys(app: FastifyInstance): Promise<VerifiedServiceKeys> {
  try {
    const keys = await app.anchor.verifiedKeys()
    if (keys === null) throw new HttpError(503, NOT_OPEN)
    return keys
  } catch (error) {
    if (error instanceof AnchorError) throw new HttpError(503, KEY_NOT_CHECKED)
    throw error
  }
}

/** The global cap: a shared counter per hour for the whole portal, answered with 503 and Retry-After. */
export async function withinGlobalCap(app: FastifyInstance, name: string, max: number): Promise<void> {
  const { hits, secondsLeft } = await app.hitCounter(`global:${name}`, '', 3600)
  if (hits > max) {
    const minutes = Math.ceil(secondsLeft / 60)
    throw new HttpError(
      503,
      `The portal is receiving more than it can take at the moment, so nothing was stored. Please try again in ${minutes === 1 ? 'a minute' : `${minutes} minutes`}. If you are in danger now, call 999.`,
      { 'retry-after': String(secondsLeft) },
    )
  }
}

/**
 * Checks and stores a new case of `kind` from a request body, all or nothing: the case, its first
 * message, and (for a disclosure) the evidence files it claims. Throws HttpError for anything wrong.
 */
export async function acceptNewCase(app: FastifyInstance, request: FastifyRequest, kind: CaseKind): Promise<void> {
  refuseCrossSite(request, app.config.publicOrigin)
  const db = app.database.db
  const input = body(request.body)
  const caseId = text(input, 'caseId', { min: 36, max: 36, pattern: UUID })
  const lookupId = bytes(input, 'lookupId', { length: 16 })
  const authPublic = bytes(input, 'authPublic', { length: 32 })
  const replyPublic = bytes(input, 'replyPublic', { length: 32 })
  const { messageId, envelope } = readMessage(input)
  const uploads = readUploads(input)
  const urgency = input.urgency === undefined || input.urgency === null ? null : input.urgency
  if (urgency !== null && (kind !== 'disclosure' || typeof urgency !== 'string' || !(URGENCIES as readonly string[]).includes(urgency))) {
    throw new HttpError(400, 'urgency must be danger_now, children or police_abuser, and only with a disclosure.')
  }
  // A consultation describes a situation without naming anyone: it carries no files.
  if (kind === 'consultation' && uploads.length > 0) throw new HttpError(400, 'A consultation cannot carry files, so nothing was sent. Describe the situation in words, without naming anyone.')
  const service = await trustedServiceKeys(app)
  const paddedSize = await checkReporterEnvelope(envelope, { kind, caseId, seq: 1, messageId, authPublic, replyPublic, servicePublic: service.current.encryption, previousServiceKeys: service.previousEncryption })
  // Each kind has its own hourly cap, so a burst of managers' questions cannot hold up disclosures.
  await withinGlobalCap(app, kind === 'consultation' ? 'consultation-submit' : 'report-submit', app.config.casesPerHour)

  await db.transaction().execute(async (trx) => {
    const messageTaken = await trx.selectFrom('case_messages').select('id').where('id', '=', messageId).executeTakeFirst()
    if ((await caseTaken(trx, app.vault, caseId, lookupId)) || messageTaken !== undefined) throw new HttpError(409, 'This has already been received. If you did not see your code, please start again: nothing you write is lost from your side until you leave the page.')
    const dataKey = await insertCase(trx, app.vault, { id: caseId, kind, lookupId, authPublic, replyPublic })
    await insertMessage(trx, dataKey, { id: messageId, caseId, seq: 1, author: 'reporter', kind, envelope, paddedSize })
    if (!(await claimUploads(trx, dataKey, caseId, messageId, uploads))) throw new HttpError(400, FILES_NOT_RECEIVED)
    await trx.updateTable('cases').set({ message_count: 1, evidence_count: uploads.length, awaiting_reply: true, urgency: urgency as Urgency | null }).where('id', '=', caseId).execute()
    await countArrival(trx)
    await recordAudit(trx, { actor: { type: 'case', id: caseId }, action: kind === 'consultation' ? 'case.consultation_submitted' : 'case.submitted', object: { type: 'case', id: caseId } })
  })
}
