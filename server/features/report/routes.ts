import type { FastifyPluginAsync } from 'fastify'
import { randomBytes, randomUUID } from 'node:crypto'
import { checkEncryptedEvidence, isCryptoError, MAX_ENCRYPTED_EVIDENCE_BYTES } from '../../../crypto/index.ts'
import { HttpError } from '../../errors.ts'
import { ReportPage, ReportStep, REPORT_STEPS, type ReportChoices } from '../../../views/pages/report.tsx'
import { sendingPage } from '../public/service.ts'
import { acceptNewCase, trustedServiceKeys, withinGlobalCap } from '../cases/intake.ts'
import { refuseCrossSite } from '../../http/cross-site.ts'
import { serviceKeyChain, stageUpload } from '../cases/repository.ts'

/**
 * The reporter's way in: /report (the questions, in steps), the IDVA service's key chain for the
 * browser, encrypted evidence uploads, and the submission itself. Nothing readable ever arrives:
 * the page has no form the browser could submit by itself, and the server accepts only envelopes
 * and encrypted files whose shape it checks.
 *
 * Floods: every address has its own (hashed) limits, and the whole portal a global cap per hour,
 * answered with 503, Retry-After and a message that says when to try again.
 */

const reportRoutes: FastifyPluginAsync = async (app) => {
  const db = app.database.db
  const choices: ReportChoices = {
    boroughs: Object.values(app.routingPolicy.commandUnits).flat().sort((a, b) => a.localeCompare(b)),
    ranks: [...app.routingPolicy.ranks],
    staffGrades: [...(app.routingPolicy.staffGrades ?? [])],
  }

  app.get('/report', async (_request, reply) =>
    sendingPage(app, reply, 'Tell the IDVA service what is happening', (service) => ReportPage({ context: app.pageContext, service, firstReplyTargetDays: app.config.firstReplyTargetDays, choices })),
  )

  /** One step of the questions, as an htmx fragment (step 1 is in the page itself). */
  app.get('/report/steps/:step', async (request, reply) => {
    const step = Number((request.params as { step: string }).step)
    if (!Number.isInteger(step) || step < 1 || step > REPORT_STEPS.length) throw new HttpError(404, 'There is no such step.')
    return reply.html(ReportStep({ step, choices }))
  })

  /**
   * The IDVA service's public keys, oldest first, for the browser to follow from the pinned one (it
   * checks them itself). Refused while they do not check out here either.
   */
  app.get('/report/keys', async (_request, reply) => {
    await trustedServiceKeys(app)
    return reply.send(await serviceKeyChain(db))
  })

  // Encrypted evidence, one file per request, held for an hour until the message that carries its
  // key claims it (at /report or /return). Used by both pages.
  await app.register(async (uploads) => {
    uploads.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: MAX_ENCRYPTED_EVIDENCE_BYTES + 1024 }, (_request, payload, done) => done(null, payload))
    uploads.post(
      '/report/uploads',
      { bodyLimit: MAX_ENCRYPTED_EVIDENCE_BYTES + 1024, handlerTimeout: 120_000, config: { rateLimit: { name: 'report-upload', max: 40, windowSeconds: 3600 } } },
      async (request, reply) => {
        refuseCrossSite(request, app.config.publicOrigin)
        if (!Buffer.isBuffer(request.body)) throw new HttpError(415, 'Files are sent encrypted, as application/octet-stream.')
        try {
          checkEncryptedEvidence(request.body)
        } catch (error) {
          if (isCryptoError(error)) throw new HttpError(error.code === 'too_large' ? 413 : 400, 'This is not an encrypted file this portal can store, so nothing was stored. Files are up to 25 MB each.')
          throw error
        }
        await trustedServiceKeys(app)
        await withinGlobalCap(app, 'report-upload', app.config.casesPerHour * 10)
        const id = randomUUID()
        const token = randomBytes(32)
        await stageUpload(db, { id, token, encrypted: request.body })
        return reply.code(201).send({ id, token: token.toString('base64url') })
      },
    )
  })

  app.post('/report', { bodyLimit: 1_600_000, config: { rateLimit: { name: 'report-submit', max: 5, windowSeconds: 3600 } } }, async (request, reply) => {
    await acceptNewCase(app, request, 'disclosure')
    return reply.code(201).send({ received: true, firstReplyTargetDays: app.config.firstReplyTargetDays })
  })
}

export default reportRoutes
