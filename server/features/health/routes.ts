import type { FastifyPluginAsync } from 'fastify'

/**
 * GET /healthz for load balancers and monitoring: 200 {"status":"ok"} when the database answers,
 * 503 {"status":"unavailable"} otherwise. It says nothing else (no versions, no counts).
 */
const healthRoutes: FastifyPluginAsync = async (app) => {
  app.get('/healthz', { config: { rateLimit: false }, handlerTimeout: 5_000 }, async (_request, reply) => {
    const ok = await app.database.ping(2_000)
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable' })
  })
}

export default healthRoutes
