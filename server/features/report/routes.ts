import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import { randomBytes, randomUUID } from 'node:crypto'
import { checkEncryptedEvidence, isCryptoError, MAX_ENCRYPTED_EVIDENCE_BYTES } from '../../../crypto/index.ts'
import { UUID } from '../../../crypto/thread.ts'
import { recordAudit } from '../../audit/audit.ts'
import { countHit } from '../../db/rate-limit-repository.ts'
import { HttpError } from '../../errors.ts'
import { isCrossSite, sha256 } from '../../plugins/staff-auth.ts'
import { ReportPage, ReportStep, REPORT_STEPS, type ReportChoices } from '../../../views/pages/report.tsx'
import { body, bytes, text } from '../staff/input.ts'
import { openService } from '../public/service.ts'
import { checkReporterEnvelope, FILES_NOT_RECEIVED, readMessage, readUploads } from '../cases/incoming.ts'
import { claimUploads, serviceEncryptionKeys, serviceKeyChain, STAGED_UPLOAD_MS } from '../cases/repository.ts'

/**
 * The reporter's way in: /report (the questions, in steps), the IDVA service's key chain for the
 * browser, encrypted evidence uploads, and the submission itself. Nothing readable ever arrives:
 * the page has no form the browser could submit by itself, and the server accepts only envelopes
 * and encrypted files whose shape it checks.
 *
 * Floods: every address has its own (hashed) limits, and the whole portal a global cap per hour,
 * answered with 503, Retry-After and a message that says when to try again.
 */

export function notCrossSite(request: FastifyRequest, publicOrigin: string): void {
  if (isCrossSite(request, publicOrigin)) throw new HttpError(403, 'This request did not come from the portal\'s own pages, so it was not carried out.')
}

const NOT_OPEN = 'The portal is not open yet, so nothing was sent. You can call the National Domestic Abuse Helpline free on 0808 2000 247 at any time.'

const reportRoutes: FastifyPluginAsync = async (app) => {
  const db = app.database.db
  const choices: ReportChoices = {
    boroughs: Object.values(app.routingPolicy.commandUnits).flat().sort((a, b) => a.localeCompare(b)),
    ranks: [...app.routingPolicy.ranks],
  }

  /** The global cap: a shared counter per hour for the whole portal. */
  async function withinGlobalCap(name: string, max: number): Promise<void> {
    const { hits, secondsLeft } = await countHit(db, `global:${name}`, 3600)
    if (hits > max) {
      const minutes = Math.ceil(secondsLeft / 60)
      throw new HttpError(
        503,
        `The portal is receiving more than it can take at the moment, so nothing was stored. Please try again in ${minutes === 1 ? 'a minute' : `${minutes} minutes`}. If you are in danger now, call 999.`,
        { 'retry-after': String(secondsLeft) },
      )
    }
  }

  app.get('/report', async (_request, reply) => reply.html(ReportPage({ context: app.pageContext, service: await openService(db), firstReplyTargetDays: app.config.firstReplyTargetDays, choices })))

  /** One step of the questions, as an htmx fragment (step 1 is in the page itself). */
  app.get('/report/steps/:step', async (request, reply) => {
    const step = Number((request.params as { step: string }).step)
    if (!Number.isInteger(step) || step < 1 || step > REPORT_STEPS.length) throw new HttpError(404, 'There is no such step.')
    return reply.html(ReportStep({ step, choices }))
  })

  /** The IDVA service's public keys, oldest first, for the browser to follow from the published one. */
  app.get('/report/keys', async (_request, reply) => {
    const chain = await serviceKeyChain(db)
    if (chain === null) throw new HttpError(503, NOT_OPEN)
    return reply.send(chain)
  })

  // Encrypted evidence, one file per request, held for an hour until the message that carries its
  // key claims it (at /report or /return). Used by both pages.
  await app.register(async (uploads) => {
    uploads.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: MAX_ENCRYPTED_EVIDENCE_BYTES + 1024 }, (_request, payload, done) => done(null, payload))
    uploads.post(
      '/report/uploads',
      { bodyLimit: MAX_ENCRYPTED_EVIDENCE_BYTES + 1024, handlerTimeout: 120_000, config: { rateLimit: { name: 'report-upload', max: 40, windowSeconds: 3600 } } },
      async (request, reply) => {
        notCrossSite(request, app.config.publicOrigin)
        if (!Buffer.isBuffer(request.body)) throw new HttpError(415, 'Files are sent encrypted, as application/octet-stream.')
        try {
          checkEncryptedEvidence(request.body)
        } catch (error) {
          if (isCryptoError(error)) throw new HttpError(error.code === 'too_large' ? 413 : 400, 'This is not an encrypted file this portal can store, so nothing was stored. Files are up to 25 MB each.')
          throw error
        }
        if ((await serviceEncryptionKeys(db)) === null) throw new HttpError(503, NOT_OPEN)
        await withinGlobalCap('report-upload', app.config.casesPerHour * 10)
        const id = randomUUID()
        const token = randomBytes(32)
        await db
          .insertInto('case_evidence')
          .values({ id, case_id: null, message_id: null, upload_token_hash: sha256(token), encrypted: request.body, size: request.body.length, staged_until: new Date(Date.now() + STAGED_UPLOAD_MS) })
          .execute()
        return reply.code(201).send({ id, token: token.toString('base64url') })
      },
    )
  })

  app.post('/report', { bodyLimit: 1_600_000, config: { rateLimit: { name: 'report-submit', max: 5, windowSeconds: 3600 } } }, async (request, reply) => {
    notCrossSite(request, app.config.publicOrigin)
    const input = body(request.body)
    const caseId = text(input, 'caseId', { min: 36, max: 36, pattern: UUID })
    const lookupId = bytes(input, 'lookupId', { length: 16 })
    const authPublic = bytes(input, 'authPublic', { length: 32 })
    const replyPublic = bytes(input, 'replyPublic', { length: 32 })
    const { messageId, envelope } = readMessage(input)
    const uploads = readUploads(input)
    const service = await serviceEncryptionKeys(db)
    if (service === null) throw new HttpError(503, NOT_OPEN)
    const paddedSize = await checkReporterEnvelope(envelope, { kind: 'disclosure', caseId, seq: 1, messageId, authPublic, replyPublic, servicePublic: service.current, previousServiceKeys: service.previous })
    await withinGlobalCap('report-submit', app.config.casesPerHour)

    await db.transaction().execute(async (trx) => {
      const taken = await trx
        .selectFrom('cases')
        .select('id')
        .where((eb) => eb.or([eb('id', '=', caseId), eb('lookup_id', '=', lookupId)]))
        .executeTakeFirst()
      const messageTaken = await trx.selectFrom('case_messages').select('id').where('id', '=', messageId).executeTakeFirst()
      if (taken !== undefined || messageTaken !== undefined) throw new HttpError(409, 'This disclosure has already been received. If you did not see your case code, please start again: nothing you write is lost from your side until you leave the page.')
      await trx.insertInto('cases').values({ id: caseId, kind: 'disclosure', lookup_id: lookupId, auth_public: authPublic, reply_public: replyPublic, first_reply_on: null }).execute()
      await trx.insertInto('case_messages').values({ id: messageId, case_id: caseId, seq: 1, author: 'reporter', kind: 'disclosure', envelope, padded_size: paddedSize }).execute()
      if (!(await claimUploads(trx, caseId, messageId, uploads))) throw new HttpError(400, FILES_NOT_RECEIVED)
      await trx.updateTable('cases').set({ message_count: 1, evidence_count: uploads.length }).where('id', '=', caseId).execute()
      await recordAudit(trx, { actor: { type: 'case', id: caseId }, action: 'case.submitted', object: { type: 'case', id: caseId } })
    })
    return reply.code(201).send({ received: true, firstReplyTargetDays: app.config.firstReplyTargetDays })
  })
}

export default reportRoutes
