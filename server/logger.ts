import { pino, stdSerializers, stdTimeFunctions, type DestinationStream, type Logger } from 'pino'
import type { LogLevel } from './config.ts'

/**
 * The one logger. It must never hold an IP address, port, user agent, cookie, query string,
 * request body, case code or decrypted content: a log reader may be the person the reporter is
 * hiding from. So the request and response serializers keep only the method, the route pattern
 * (never the raw URL, which could carry a code someone typed into the address bar) and the status,
 * and error serialisation drops driver fields that can echo data values.
 */

interface RequestLike {
  method?: string
  routeOptions?: { url?: string }
}

interface ReplyLike {
  statusCode?: number
}

function serializeRequest(request: RequestLike): Record<string, unknown> {
  return { method: request.method, route: request.routeOptions?.url ?? null }
}

function serializeReply(reply: ReplyLike): Record<string, unknown> {
  return { statusCode: reply.statusCode }
}

/** PostgreSQL errors carry `detail`, `where` and `parameters`, which can quote stored values. */
const UNSAFE_ERROR_FIELDS = ['detail', 'where', 'hint', 'parameters', 'query', 'body', 'headers', 'address', 'port'] as const

function serializeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error) }
  const serialized: Record<string, unknown> = { ...stdSerializers.err(error) }
  for (const field of UNSAFE_ERROR_FIELDS) delete serialized[field]
  return serialized
}

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: stdTimeFunctions.isoTime,
      serializers: { req: serializeRequest, res: serializeReply, err: serializeError, error: serializeError },
      // Belt and braces: if any code ever logs headers or a raw request, these never get through.
      redact: {
        paths: ['headers', 'req.headers', 'request.headers', 'cookie', 'cookies', 'body', 'ip', 'ips', 'remoteAddress'],
        remove: true,
      },
    },
    destination,
  )
}

export type { Logger }
