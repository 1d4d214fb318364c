import { pino, stdTimeFunctions, type DestinationStream, type Logger } from 'pino'
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

/**
 * Fields that can quote what a client sent or what is stored: PostgreSQL's `detail`, `where` and
 * `hint`, Node's HTTP parser's `rawPacket` (the raw request: URL, headers, cookies), and the like.
 */
const UNSAFE_ERROR_FIELDS = new Set(['detail', 'where', 'hint', 'parameters', 'query', 'body', 'headers', 'rawPacket', 'address', 'port', 'input'])

/** PostgreSQL errors (SQLSTATE codes) quote input in their message: "invalid input syntax ...: "x"". */
function isDatabaseError(error: Error): boolean {
  const { code, severity } = error as { code?: unknown; severity?: unknown }
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && typeof severity === 'string'
}

/** The stack without its first line, which repeats the message. */
function framesOnly(stack: string | undefined): string | undefined {
  return stack?.split('\n').filter((line) => /^\s+at /.test(line)).join('\n')
}

export function serializeError(error: unknown, depth = 0): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: '(a non-error value was thrown)' }
  if (isDatabaseError(error)) {
    const { code, severity, routine, table, column, constraint, dataType } = error as unknown as Record<string, unknown>
    return { type: 'DatabaseError', code, severity, routine, table, column, constraint, dataType, stack: framesOnly(error.stack) }
  }
  if (error instanceof SyntaxError) {
    // JSON.parse and friends quote the text they could not parse.
    return { type: 'SyntaxError', message: '(withheld: it can quote the input)', stack: framesOnly(error.stack) }
  }
  // Not pino's own serializer: it folds the messages and stacks of causes into the error's own,
  // which would carry a database error's quoted input past the checks above.
  const serialized: Record<string, unknown> = { type: error.constructor.name, message: error.message, stack: error.stack }
  for (const [field, value] of Object.entries(error)) {
    if (UNSAFE_ERROR_FIELDS.has(field) || field === 'cause') continue
    if (['string', 'number', 'boolean'].includes(typeof value)) serialized[field] = value
  }
  if (error.cause !== undefined && depth < 3) serialized.cause = serializeError(error.cause, depth + 1)
  return serialized
}

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: stdTimeFunctions.isoTime,
      serializers: { req: serializeRequest, res: serializeReply, err: (error: unknown) => serializeError(error), error: (error: unknown) => serializeError(error) },
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
