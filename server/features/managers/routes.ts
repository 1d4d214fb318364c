import type { FastifyPluginAsync } from 'fastify'
import { AskPage, CardPage, GuidePage, ManagersIndexPage } from '../../../views/pages/managers.tsx'
import { HttpError } from '../../errors.ts'
import { acceptNewCase } from '../cases/intake.ts'
import { publicService, sendingPage } from '../public/service.ts'
import { loadGuidance } from './guidance.ts'

/**
 * /managers: guidance for line managers, and /managers/ask, an anonymous consultation with an IDVA.
 * No account, no name: a consultation is a case of its own kind, sealed in the browser to the IDVA
 * service like a disclosure, with its own code; the manager reads the advice at /return.
 */
const managersRoutes: FastifyPluginAsync = async (app) => {
  const guides = loadGuidance()
  const summaries = guides.map(({ slug, title, summary }) => ({ slug, title, summary }))

  app.get('/managers', async (_request, reply) =>
    reply.samePageForEveryone('/managers', () => ManagersIndexPage({ context: app.pageContext, guides: summaries, targetDays: app.config.consultationReplyTargetDays })),
  )

  app.get('/managers/ask', async (_request, reply) =>
    sendingPage(app, reply, 'Ask an IDVA for advice', (service) => AskPage({ context: app.pageContext, service, guides: summaries, targetDays: app.config.consultationReplyTargetDays })),
  )

  // The printable card: the fingerprint only when it checks out against the pin.
  app.get('/managers/card', async (_request, reply) => {
    const service = await publicService(app)
    return reply.html(CardPage({ context: app.pageContext, service: service === 'unchecked' ? null : service, address: app.config.publicOrigin }))
  })

  app.post('/managers/ask', { bodyLimit: 400_000, config: { rateLimit: { name: 'consultation-submit', max: 30, windowSeconds: 3600, perInstance: true } } }, async (request, reply) => {
    const accepted = await acceptNewCase(app, request, 'consultation')
    return reply.code(accepted === 'received' ? 201 : 200).send({ received: true, alreadyReceived: accepted === 'already_received', firstReplyTargetDays: app.config.consultationReplyTargetDays })
  })

  app.get('/managers/:slug', async (request, reply) => {
    const guide = guides.find((candidate) => candidate.slug === (request.params as { slug: string }).slug)
    if (guide === undefined) throw new HttpError(404, 'There is no such guidance page. All the guidance for line managers is at /managers.')
    return reply.samePageForEveryone(`/managers/${guide.slug}`, () => GuidePage({ context: app.pageContext, guides: summaries, guide }))
  })
}

export default managersRoutes
