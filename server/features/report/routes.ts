import type { FastifyPluginAsync } from 'fastify'
import { HttpError } from '../../errors.ts'
import { ReportPage, ReportStep, REPORT_STEPS, type ReportChoices } from '../../../views/pages/report.tsx'
import { sendingPage } from '../public/service.ts'
import { acceptNewCase, trustedServiceKeys } from '../cases/intake.ts'
import { serviceKeyChain } from '../cases/repository.ts'
import uploadRoutes from './uploads.ts'

/**
 * The reporter's way in: /report (the questions, in steps), the IDVA service's key chain for the
 * browser, encrypted evidence uploads, and the submission itself. Nothing readable ever arrives:
 * the page has no form the browser could submit by itself, and the server accepts only envelopes
 * and encrypted files whose shape it checks.
 *
 * Floods: a new case carries a proof of work bound to it; every address and each network it is in
 * has its own (hashed) hourly share; and the whole portal a global cap per hour, answered with 503,
 * Retry-After and a message that says when to try again (server/features/cases/intake.ts).
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
    return reply.samePageForEveryone(`/report/steps/${step}`, () => ReportStep({ step, choices }))
  })

  /**
   * The IDVA service's public keys, oldest first, for the browser to follow from the pinned one (it
   * checks them itself). Refused while they do not check out here either.
   */
  app.get('/report/keys', async (_request, reply) => {
    await trustedServiceKeys(app)
    return reply.send(await serviceKeyChain(db))
  })

  // Encrypted evidence, streamed to storage, capped and refused early (./uploads.ts). Used by /report and /return.
  await app.register(uploadRoutes)

  /**
   * A proof-of-work challenge for a new case (crypto/proof-of-work.ts), fetched when /report or
   * /managers/ask opens, so the browser solves it while the person writes. Nothing is stored.
   */
  app.get('/report/puzzle', { config: { rateLimit: { name: 'report-puzzle', max: 60, windowSeconds: 3600, perInstance: true } } }, async (_request, reply) => {
    const { challenge, bits } = app.puzzles.issue()
    return reply.send({ challenge: challenge.toString('base64url'), bits })
  })

  // The share that counts is checked inside (server/features/cases/intake.ts), in the database, so
  // it holds across instances: this outer limit only sheds a flood of attempts from one address
  // before any of it is read, so it is counted in each instance's memory (no round trip).
  app.post('/report', { bodyLimit: 1_600_000, config: { rateLimit: { name: 'report-submit', max: 30, windowSeconds: 3600, perInstance: true } } }, async (request, reply) => {
    const accepted = await acceptNewCase(app, request, 'disclosure')
    return reply.code(accepted === 'received' ? 201 : 200).send({ received: true, alreadyReceived: accepted === 'already_received', firstReplyTargetDays: app.config.firstReplyTargetDays })
  })
}

export default reportRoutes
