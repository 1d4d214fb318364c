import type { FastifyPluginAsync } from 'fastify'
import { LandingPage } from '../../../views/pages/landing.tsx'
import { SafetyPage } from '../../../views/pages/safety.tsx'
import { InformationPage } from '../../../views/pages/information.tsx'
import { publicService } from './service.ts'

/** Pages anyone can open, with no account: the reporter's and the line manager's side. */
const publicRoutes: FastifyPluginAsync = async (app) => {
  app.get('/', async (_request, reply) => {
    const service = await publicService(app)
    return reply.samePageForEveryone(`/ ${JSON.stringify(service)}`, () =>
      LandingPage({ context: app.pageContext, service: service === 'unchecked' ? null : service, keyUnchecked: service === 'unchecked' }),
    )
  })

  app.get('/safety', async (_request, reply) => reply.samePageForEveryone('/safety', () => SafetyPage({ context: app.pageContext })))

  app.get('/information', async (_request, reply) => reply.samePageForEveryone('/information', () => InformationPage({ context: app.pageContext })))

  /**
   * The quick exit's beacon: asks the browser to forget everything it holds for this site
   * (cookies, storage, cache), and ends the reporter's session at /return if there is one, so a
   * cookie left behind (the browser may not honour Clear-Site-Data) opens nothing. It is not
   * rate-limited, and the page never waits for it. Same-origin only, so another site cannot
   * trigger it.
   */
  app.post('/leave', { config: { rateLimit: false } }, async (request, reply) => {
    const site = request.headers['sec-fetch-site']
    if (site !== undefined && site !== 'same-origin') return reply.code(403).send()
    await app.endCaseSession(request, reply)
    return reply.code(204).header('clear-site-data', '"cache", "cookies", "storage"').send()
  })
}

export default publicRoutes
