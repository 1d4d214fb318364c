import { LogController, type FastifyReply, type FastifyRequest } from 'fastify'

/**
 * Fastify's own request log lines include the client address, port, host and full URL. This
 * replaces them: one line per completed request with the method, the route pattern (never the raw
 * URL), the status and the time taken. Nothing that identifies a person or a case.
 */
export class PrivacyLogController extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const entry = { req: request, res: reply, responseTime: Math.round(reply.elapsedTime) }
    if (error) reply.log.error({ ...entry, err: error }, 'request errored')
    else reply.log.info(entry, 'request completed')
  }

  override routeNotFound(request: FastifyRequest): void {
    request.log.info({ method: request.method }, 'route not found')
  }

  override defaultErrorLog(error: Error, request: FastifyRequest, reply: FastifyReply): void {
    if (reply.statusCode >= 500) reply.log.error({ req: request, res: reply, err: error }, 'request failed')
    else reply.log.info({ res: reply, code: (error as { code?: string }).code }, 'request refused')
  }

  override writeHeadError(error: Error, request: FastifyRequest, reply: FastifyReply): void {
    reply.log.warn({ req: request, res: reply, err: error }, 'could not write response headers')
  }
}
