import fp from 'fastify-plugin'
import FindMyWay, { type HTTPMethod } from 'find-my-way'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { PageContext } from '../../views/context.ts'
import { ErrorPage } from '../../views/pages/error.tsx'
import type { Config } from '../config.ts'
import { isDatabaseUnavailable } from '../db/database.ts'
import { OUTAGE_RETRY_AFTER_SECONDS } from '../db/outage.ts'
import { HttpError } from '../errors.ts'
import { securityHeadersFor } from './security-headers.ts'

/**
 * One place where every error becomes a response a person can understand.
 *
 * - 4xx: a plain message saying what went wrong and what to do; never the parser's own words
 *   (a JSON parse error quotes the body it could not read).
 * - 5xx: a generic message and a reference; the details go to the log under that reference.
 *   Except when the database cannot be reached: 503 with Retry-After, and no line per request
 *   (the outage is logged once, with a count: server/db/outage.ts).
 * - Browsers get a page, htmx requests a fragment-sized page, API clients JSON.
 * - 404 for unknown paths; 405 with Allow for a known path and the wrong method.
 * - The responses Fastify and Node write before any hook runs (an undecodable URL, a request the
 *   HTTP parser rejects) get the same treatment and headers, and never echo the request back.
 */

const MESSAGES: Record<number, { title: string; message: string }> = {
  400: { title: 'Something was wrong with the request', message: 'We could not read what was sent. Please go back and try again.' },
  403: { title: 'You cannot do that here', message: 'This request is not allowed.' },
  404: { title: 'Page not found', message: 'There is no page at this address. If you typed it, check it is correct.' },
  405: { title: 'That action is not available here', message: 'This page does not accept that kind of request.' },
  408: { title: 'The request took too long', message: 'What was being sent took too long to arrive. Please try again.' },
  414: { title: 'That address is too long', message: 'The web address is longer than this site accepts. If you typed it, check it is correct.' },
  413: { title: 'What was sent is too large', message: 'What was sent is larger than this page accepts.' },
  415: { title: 'That kind of content is not accepted', message: 'This page does not accept content in that format.' },
  429: { title: 'Please wait a moment', message: 'There have been a lot of requests in a short time. Please wait a minute and try again.' },
  500: {
    title: 'Sorry, something went wrong on our side',
    message: 'Nothing was saved half-way. Please try again in a few minutes.',
  },
  503: {
    title: 'The service is not available at the moment',
    message: 'This is a problem on our side, not something you did. Nothing was saved half-way. Please try again in a few minutes.',
  },
}

/**
 * A handler that ran out of time may still finish its work after the person has been answered, so
 * this message does not promise that nothing was saved.
 */
const TIMED_OUT = {
  title: 'This is taking too long',
  message:
    'Something on our side took too long to answer. This is not something you did. Please wait a minute and try again; if you were sending something, check whether it arrived before you send it again.',
}

function messageFor(statusCode: number): { title: string; message: string } {
  return MESSAGES[statusCode] ?? (statusCode >= 500 ? MESSAGES[500]! : MESSAGES[400]!)
}

function wantsHtml(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? ''
  return accept.includes('text/html') || request.headers['hx-request'] === 'true'
}

interface Outcome {
  statusCode: number
  title: string
  message: string
  reference?: string
  headers?: Readonly<Record<string, string>>
  /** Refused because the database could not be reached: counted by the outage log, not logged alone. */
  outage?: true
}

/** As TIMED_OUT says: wait a minute. */
const TIMED_OUT_RETRY_AFTER_SECONDS = 60

async function respond(request: FastifyRequest, reply: FastifyReply, outcome: Outcome, context: PageContext): Promise<FastifyReply> {
  reply.code(outcome.statusCode)
  for (const [name, value] of Object.entries(outcome.headers ?? {})) reply.header(name, value)
  if (wantsHtml(request)) {
    const page = await ErrorPage({ context, title: outcome.title, message: outcome.message, reference: outcome.reference })
    return reply.type('text/html; charset=utf-8').send(page)
  }
  return reply.type('application/json; charset=utf-8').send({
    statusCode: outcome.statusCode,
    error: outcome.title,
    message: outcome.message,
    ...(outcome.reference === undefined ? {} : { reference: outcome.reference }),
  })
}

function classify(error: FastifyError | HttpError | Error, request: FastifyRequest): Outcome {
  if (error instanceof HttpError) {
    return { statusCode: error.statusCode, title: messageFor(error.statusCode).title, message: error.message, headers: error.headers }
  }
  // No reference: an outage is logged once, not request by request, so there is nothing to look up.
  if (isDatabaseUnavailable(error)) return { statusCode: 503, ...messageFor(503), headers: { 'retry-after': String(OUTAGE_RETRY_AFTER_SECONDS) }, outage: true }
  const code = (error as FastifyError).code
  if (code === 'FST_ERR_HANDLER_TIMEOUT') {
    return { statusCode: 503, ...TIMED_OUT, reference: request.id, headers: { 'retry-after': String(TIMED_OUT_RETRY_AFTER_SECONDS) } }
  }
  const statusCode = (error as FastifyError).statusCode
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    if ((error as FastifyError).validation !== undefined) {
      return { statusCode: 400, title: messageFor(400).title, message: 'Some of what was sent is missing or not in the expected form.' }
    }
    return { statusCode, ...messageFor(statusCode) }
  }
  return { statusCode: 500, ...messageFor(500), reference: request.id }
}

export default fp(
  async function errorHandling(app) {
    // A router holding the same routes, to tell "no such page" (404) from "wrong method" (405).
    const known = FindMyWay({ ignoreTrailingSlash: false })
    app.addHook('onRoute', (route) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method]
      for (const method of methods) {
        if (!known.hasRoute(method as HTTPMethod, route.url)) known.on(method as HTTPMethod, route.url, () => undefined)
      }
    })

    // A NUL character (%00) in the path or the query string is no address or value the portal uses,
    // and the database refuses to compare text that holds one: it is refused here, plainly.
    app.addHook('onRequest', async (request) => {
      if (/%00/i.test(request.url)) throw new HttpError(400, 'That address has a character in it that the portal does not use. Please check the link.')
    })

    app.setErrorHandler(async (error: FastifyError | HttpError, request, reply) => {
      const outcome = classify(error, request)
      if (outcome.outage === true) {
        app.database.outage.refused(error)
      } else if (outcome.statusCode >= 500) {
        request.log.error({ err: error, reference: request.id, req: request, statusCode: outcome.statusCode }, 'request failed')
      } else {
        // Only the code: a parser's message can quote the body it rejected.
        request.log.info({ code: (error as FastifyError).code ?? error.name, statusCode: outcome.statusCode }, 'request refused')
      }
      return respond(request, reply, outcome, app.pageContext)
    })

    app.setNotFoundHandler(async (request, reply) => {
      const path = request.url.split('?')[0] ?? '/'
      const allowed = (['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const).filter(
        (method) => known.find(method, path) !== null,
      )
      if (allowed.length > 0) {
        return respond(request, reply, { statusCode: 405, ...messageFor(405), headers: { allow: allowed.join(', ') } }, app.pageContext)
      }
      return respond(request, reply, { statusCode: 404, ...messageFor(404) }, app.pageContext)
    })
  },
  { name: 'error-handling', dependencies: ['app-context'] },
)

/**
 * Fastify's `frameworkErrors`: a URL it cannot decode, or a path parameter over the length limit.
 * These arrive before any hook, so the protective headers are set here; the URL is never repeated.
 */
export function frameworkErrorHandler(
  config: Config,
  context: PageContext,
): (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => void {
  const secure = securityHeadersFor(config)
  return (error, request, reply) => {
    secure(request.raw, reply.raw)
    const statusCode = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 414 : 400
    request.log.info({ code: error.code, statusCode }, 'request refused')
    void respond(request, reply, { statusCode, ...messageFor(statusCode) }, context)
  }
}

/**
 * Node's HTTP parser rejected the request (malformed, headers too large, too slow). The default
 * handler logs the raw packet at trace level, which holds the URL, cookies and user agent; this one
 * logs only the code, and answers with a short plain-text response carrying the protective headers.
 */
export function clientErrorHandler(this: FastifyInstance, error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy()
    return
  }
  const statusCode = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400
  this.log.debug({ code: error.code, statusCode }, 'client error')
  const body = `${statusCode} ${STATUS_CODES[statusCode] ?? 'Error'}: the request could not be read.\n`
  socket.end(
    [
      `HTTP/1.1 ${statusCode} ${STATUS_CODES[statusCode] ?? 'Error'}`,
      'Content-Type: text/plain; charset=utf-8',
      `Content-Length: ${Buffer.byteLength(body)}`,
      'Cache-Control: no-store',
      "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'",
      'X-Content-Type-Options: nosniff',
      'Referrer-Policy: no-referrer',
      'Connection: close',
      '',
      body,
    ].join('\r\n'),
  )
}
