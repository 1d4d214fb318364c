import type { FastifyInstance, FastifyReply } from 'fastify'
import type { ServiceSummary } from '../../../views/components/service.tsx'
import { KeyUncheckedPage } from '../../../views/pages/safety.tsx'

/**
 * The IDVA service as the public pages show it: its name and the fingerprint pinned in the
 * configuration (never one read from the database), or null while the portal is not open.
 * 'unchecked' when the service's key cannot be checked against the pin (not pinned, or the
 * database holds another key): then nothing may be sent.
 */
export async function publicService(app: FastifyInstance): Promise<ServiceSummary | null | 'unchecked'> {
  const state = await app.anchor.state()
  if (state.kind === 'not_set_up') return null
  if (state.kind === 'open') return { name: state.name, fingerprint: state.fingerprint }
  return 'unchecked'
}

/**
 * Renders a page that can send or open a case (/report, /managers/ask, /return): refused with a
 * clear 503 page while the service's key cannot be checked.
 */
export async function sendingPage(app: FastifyInstance, reply: FastifyReply, title: string, page: (service: ServiceSummary | null) => JSX.Element): Promise<FastifyReply> {
  const service = await publicService(app)
  if (service === 'unchecked') return reply.code(503).html(KeyUncheckedPage({ context: app.pageContext, title }))
  // One page per route and state of the service: it holds nothing of the visitor's.
  return reply.samePageForEveryone(`${reply.request.routeOptions.url ?? ''} ${JSON.stringify(service)}`, () => page(service))
}
