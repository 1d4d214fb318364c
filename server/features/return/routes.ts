import { codeStillOpens } from '../../../rules/retention.ts'
import { today } from '../idva/repository.ts'
import type { FastifyPluginAsync } from 'fastify'
import { sql } from 'kysely'
import { verifyCaseLogin } from '../../../crypto/index.ts'
import { recordAudit } from '../../audit/audit.ts'
import { HttpError } from '../../errors.ts'
import { ReturnPage } from '../../../views/pages/return.tsx'
import { body, bytes } from '../../http/input.ts'
import { UUID } from '../../../crypto/thread.ts'
import { sendingPage } from '../public/service.ts'
import { ReturnChallenges } from '../../security/return-challenge.ts'
import { sha256 } from '../../security/tokens.ts'
import { checkReporterEnvelope, FILES_NOT_RECEIVED, readMessage, readUploads } from '../cases/incoming.ts'
import { trustedServiceKeys } from '../cases/intake.ts'
import { caseReferrals } from '../referrals/repository.ts'
import { withActor } from '../../db/actor.ts'
import { keptOnWithdrawal, withdrawCase } from '../cases/withdrawal.ts'
import { caseThread, claimUploads, findCase, findCaseByLookup, insertMessage, serviceKeyChain, touchCase } from '../cases/repository.ts'
import { evidenceDownload, sendEvidence } from '../cases/evidence-download.ts'

/**
 * /return: a reporter comes back with their case code. The browser derives the case's keys from
 * the code (the code is never sent), asks for a challenge, signs it with the case's auth key, and
 * gets a short session. Then: the thread (envelopes, decrypted and checked in the browser), new
 * messages and evidence, and withdrawal, which destroys the case at once.
 *
 * A code that finds no case gets the same answer whether it never existed or was withdrawn.
 */

const UNKNOWN_CODE = 'We could not find a case with that code. Check each word against where you noted it. A case that was withdrawn, or closed some time ago, no longer opens.'

/** What a reporter sees of the workflow: three plain states. */
export function reporterStatus(status: string): 'received' | 'in_contact' | 'closed' {
  if (status === 'new') return 'received'
  if (status === 'closed') return 'closed'
  return 'in_contact'
}

const returnRoutes: FastifyPluginAsync = async (app) => {
  const db = app.database.db
  const challenges = new ReturnChallenges(app.config.serverSecret)
  const codeAttempts = { rateLimit: { name: 'case-code', max: 20, windowSeconds: 900 } }

  app.get('/return', { config: { caseAccess: 'public' } }, async (_request, reply) =>
    sendingPage(app, reply, 'Come back to your case', (service) => ReturnPage({ context: app.pageContext, service, firstReplyTargetDays: app.config.firstReplyTargetDays })),
  )

  /** A fresh single-use challenge (nothing is stored). It names no case: the signature over it does. */
  app.post('/return/challenge', { config: { caseAccess: 'public', ...codeAttempts } }, async (_request, reply) =>
    reply.send({ challenge: challenges.issue().toString('base64url') }),
  )

  app.post('/return/session', { config: { caseAccess: 'public', ...codeAttempts } }, async (request, reply) => {
    const input = body(request.body)
    const challenge = bytes(input, 'challenge', { max: 64 })
    const lookupId = bytes(input, 'lookupId', { length: 16 })
    const signature = bytes(input, 'signature', { length: 64 })
    const expiredOrUsed = 'This attempt to open your case has expired or was already used. Please enter your code again.'
    const nonce = challenges.check(challenge)
    if (nonce === null) throw new HttpError(400, expiredOrUsed)
    // Used once, whatever happens next: recording its use is what makes a replay fail.
    const used = await db
      .insertInto('used_challenges')
      .values({ nonce_hash: sha256(nonce), used_on: sql<string>`current_date` })
      .onConflict((conflict) => conflict.doNothing())
      .returning('nonce_hash')
      .executeTakeFirst()
    if (used === undefined) throw new HttpError(400, expiredOrUsed)
    const found = await findCaseByLookup(db, app.vault, lookupId)
    if (found === undefined || !(await verifyCaseLogin(found.authPublic, lookupId, challenge, signature))) {
      throw new HttpError(404, UNKNOWN_CODE)
    }
    // A closed case opens for CODE_AFTER_CLOSE_DAYS (to read the last reply), then answers as if it were gone.
    const facts = { kind: found.kind, status: found.status, statusChangedOn: found.status_changed_on, createdOn: found.created_on, withdrawnOn: found.withdrawn_on }
    if (!codeStillOpens(facts, app.config.retention, await today(db))) throw new HttpError(404, UNKNOWN_CODE)
    const csrfToken = await app.startCaseSession(reply, found.id)
    await recordAudit(db, { actor: { type: 'case', id: found.id }, action: 'case.opened_by_reporter', object: { type: 'case', id: found.id } })
    return reply.send({ csrfToken })
  })

  /** The case and its thread, for the browser to check and decrypt. */
  app.get('/return/thread', { config: { caseAccess: 'case' } }, async (request, reply) => {
    const caseId = request.caseSession!.caseId
    const found = await findCase(db, app.vault, caseId)
    if (found === undefined) throw new HttpError(404, UNKNOWN_CODE)
    const messages = await caseThread(db, found.dataKey, caseId)
    // As the person (server/db/actor.ts): the policies let them see their own case's referrals.
    const { referrals, kept } = await withActor(db, { role: 'reporter', caseId }, async (trx) => ({ referrals: await caseReferrals(trx, caseId), kept: await keptOnWithdrawal(trx, caseId) }))
    return reply.send({
      caseId,
      kind: found.kind,
      status: reporterStatus(found.status),
      createdOn: found.created_on,
      firstReplyTargetDays: found.kind === 'consultation' ? app.config.consultationReplyTargetDays : app.config.firstReplyTargetDays,
      service: await serviceKeyChain(db),
      // What the person agreed to, now done: the track, and whether it went outside this force.
      // Never the unit. Referrals made without their agreement are not shown here.
      referrals: referrals.filter((row) => row.tell_reporter && row.status !== 'returned').map((row) => ({ track: row.track, outsideForce: row.force !== app.routingPolicy.force })),
      // What a withdrawal would leave with the IDVA service, and why: the page says so before the person confirms.
      keptOnWithdrawal: kept,
      messages: messages.map((message) => ({
        id: message.id,
        seq: message.seq,
        author: message.author,
        kind: message.kind,
        createdOn: message.created_on,
        envelope: message.envelope.toString('base64url'),
        evidence: message.evidence,
      })),
    })
  })

  app.get('/return/evidence/:id', { config: { caseAccess: 'case' } }, async (request, reply) => {
    const id = (request.params as { id: string }).id
    const caseId = request.caseSession!.caseId
    const found = UUID.test(id) ? await findCase(db, app.vault, caseId) : undefined
    const file = found === undefined ? null : await evidenceDownload(db, found.dataKey, caseId, id)
    if (file === null) throw new HttpError(404, 'That file is not part of your case.')
    return sendEvidence(reply, file)
  })

  app.post('/return/messages', { bodyLimit: 1_600_000, config: { caseAccess: 'case', rateLimit: { name: 'case-message', max: 30, windowSeconds: 3600 } } }, async (request, reply) => {
    const caseId = request.caseSession!.caseId
    const input = body(request.body)
    const { messageId, envelope } = readMessage(input)
    const uploads = readUploads(input)
    const seq = typeof input.seq === 'number' && Number.isInteger(input.seq) ? input.seq : 0
    const found = await findCase(db, app.vault, caseId)
    if (found === undefined) throw new HttpError(404, UNKNOWN_CODE)
    const service = await trustedServiceKeys(app)
    if (found.status === 'closed') throw new HttpError(409, 'This case is closed, so new messages cannot be added. You can start a new disclosure at any time.')
    if (found.kind === 'consultation' && uploads.length > 0) throw new HttpError(400, 'A consultation cannot carry files, so nothing was sent. Describe the situation in words, without naming anyone.')
    const paddedSize = await checkReporterEnvelope(envelope, {
      kind: 'reporter_message',
      caseId,
      seq,
      messageId,
      authPublic: found.authPublic,
      replyPublic: found.replyPublic,
      servicePublic: service.current.encryption,
      previousServiceKeys: service.previousEncryption,
    })
    await db.transaction().execute(async (trx) => {
      // The case row is locked, so two messages cannot take the same place in the thread.
      const locked = await trx.selectFrom('cases').select(['message_count', 'junk_on']).where('id', '=', caseId).forUpdate().executeTakeFirst()
      if (locked === undefined) throw new HttpError(404, UNKNOWN_CODE)
      const last = await trx.selectFrom('case_messages').select((eb) => eb.fn.max('seq').as('seq')).where('case_id', '=', caseId).executeTakeFirst()
      if (seq !== (last?.seq ?? 0) + 1) throw new HttpError(409, 'A new message arrived in your case while you were writing. Your browser will place yours after it.')
      if ((await trx.selectFrom('case_messages').select('id').where('id', '=', messageId).executeTakeFirst()) !== undefined) throw new HttpError(409, 'This message has already been received.')
      await insertMessage(trx, found.dataKey, { id: messageId, caseId, seq, author: 'reporter', kind: 'reporter_message', envelope, paddedSize })
      if (!(await claimUploads(trx, found.dataKey, caseId, messageId, uploads))) throw new HttpError(400, FILES_NOT_RECEIVED)
      await touchCase(trx, caseId, uploads.length)
      await recordAudit(trx, { actor: { type: 'case', id: caseId }, action: 'case.reporter_message_added', object: { type: 'message', id: messageId } })
      // A case marked as junk whose person writes again was a person: it comes back to the queue. Kept
      // in the anonymous chain, by the day, because it happens when the person writes.
      if (locked.junk_on !== null) {
        await trx.updateTable('cases').set({ junk_on: null }).where('id', '=', caseId).execute()
        await recordAudit(trx, { actor: { type: 'case', id: caseId }, action: 'case.junk_undone_by_new_message', object: { type: 'case', id: caseId } })
      }
    })
    return reply.code(201).send({ seq })
  })

  /**
   * Withdraw: the person's words and files are deleted at once and the code stops working; when the
   * IDVA service must keep a minimal record, it stays (server/features/cases/withdrawal.ts). The page
   * asks for a second step that says what will be lost; the request must say it was confirmed.
   */
  app.post('/return/withdraw', { config: { caseAccess: 'case' } }, async (request, reply) => {
    const caseId = request.caseSession!.caseId
    if (body(request.body).confirmed !== true) throw new HttpError(400, 'Nothing was deleted. To withdraw, read what will be deleted and choose "Withdraw now".')
    const result = await db.transaction().execute(async (trx) => {
      const withdrawn = await withdrawCase(trx, app.vault, caseId)
      if (withdrawn.outcome === 'missing') throw new HttpError(404, UNKNOWN_CODE)
      const action = withdrawn.outcome === 'kept' ? 'case.withdrawn_record_kept' : 'case.withdrawn_and_deleted'
      await recordAudit(trx, { actor: { type: 'case', id: caseId }, action, object: { type: 'case', id: caseId } })
      return withdrawn
    })
    app.reclaimer.schedule()
    request.caseSession = null
    await app.endCaseSession(request, reply)
    return reply.send({ withdrawn: true, recordKept: result.outcome === 'kept' })
  })

  /** Leaving: the session ends here and now. */
  app.post('/return/end', { config: { caseAccess: 'public' } }, async (request, reply) => {
    await app.endCaseSession(request, reply)
    return reply.code(204).send()
  })
}

export default returnRoutes
