import type { FastifyPluginAsync } from 'fastify'
import { LandingPage } from '../../../views/pages/landing.tsx'
import { openService } from './service.ts'

/** Pages anyone can open, with no account: the reporter's and the line manager's side. */
const publicRoutes: FastifyPluginAsync = async (app) => {
  app.get('/', async (_request, reply) => reply.html(LandingPage({ context: app.pageContext, service: await openService(app.database.db) })))

  /**
   * The quick exit's beacon: asks the browser to forget everything it holds for this site
   * (cookies, storage, cache). It changes nothing on the server and is not rate-limited, so it
   * always answers at once. Same-origin only, so another site cannot trigger it.
   */
  app.post('/leave', { config: { rateLimit: false } }, async (request, reply) => {
    const site = request.headers['sec-fetch-site']
    if (site !== undefined && site !== 'same-origin') return reply.code(403).send()
    return reply.code(204).header('clear-site-data', '"cache", "cookies", "storage"').send()
  })
}

export default publicRoutes
