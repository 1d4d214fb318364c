import type { FastifyPluginAsync } from 'fastify'
import { fingerprint } from '../../../crypto/fingerprint.ts'
import { LandingPage, type ServiceSummary } from '../../../views/pages/landing.tsx'
import { findGroup, firstGeneration, IDVA_SERVICE_ID } from '../staff/repository.ts'

/** Pages anyone can open, with no account: the reporter's and the line manager's side. */
const publicRoutes: FastifyPluginAsync = async (app) => {
  /**
   * The IDVA service and its published fingerprint, or null while the portal is not open. The
   * published key is the first generation: later ones are certified by the one before, so the
   * posters stay right when the key is rotated (the reporter's browser follows the chain).
   */
  async function openService(): Promise<ServiceSummary | null> {
    const group = await findGroup(app.database.db, IDVA_SERVICE_ID)
    const first = await firstGeneration(app.database.db, IDVA_SERVICE_ID)
    if (group === undefined || first === undefined) return null
    return { name: group.name, fingerprint: await fingerprint({ encryption: first.x25519_public, signing: first.ed25519_public }) }
  }

  app.get('/', async (_request, reply) => reply.html(LandingPage({ context: app.pageContext, service: await openService() })))

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
