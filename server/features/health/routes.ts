import type { FastifyPluginAsync } from 'fastify'
import { OUTAGE_RETRY_AFTER_SECONDS } from '../../db/outage.ts'
import { anchorProblem } from '../../security/service-anchor.ts'

/**
 * GET /healthz for load balancers and monitoring: 200 when the database answers and the IDVA
 * service's key checks out against the fingerprint pinned in the configuration (or the service is
 * not set up yet); 503 otherwise, saying why (with Retry-After while the database is unreachable).
 * It says nothing else (no versions, no counts).
 *
 *   {"status": "ok", "database": "ok", "serviceKey": "pinned" | "not_set_up"}
 *   {"status": "unavailable", "database": "unreachable"}
 *   {"status": "unavailable", "database": "ok", "serviceKey": "not_pinned" | "mismatch", "problem": "..."}
 */
const healthRoutes: FastifyPluginAsync = async (app) => {
  app.get('/healthz', { config: { rateLimit: false }, handlerTimeout: 5_000 }, async (_request, reply) => {
    if (!(await app.database.ping(2_000))) {
      // An outage seen only by the health check is still an outage: the log says so once.
      app.database.outage.noticed()
      return reply.code(503).header('retry-after', String(OUTAGE_RETRY_AFTER_SECONDS)).send({ status: 'unavailable', database: 'unreachable' })
    }
    const state = await app.anchor.refresh()
    if (state.kind === 'not_pinned' || state.kind === 'mismatch') {
      return reply.code(503).send({ status: 'unavailable', database: 'ok', serviceKey: state.kind, problem: anchorProblem(state.kind) })
    }
    return reply.code(200).send({ status: 'ok', database: 'ok', serviceKey: state.kind === 'open' ? 'pinned' : 'not_set_up' })
  })
}

export default healthRoutes
