import fp from 'fastify-plugin'
import FindMyWay, { type HTTPMethod } from 'find-my-way'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { ErrorPage } from '../../views/pages/error.tsx'
import { isDatabaseUnavailable } from '../db/database.ts'
import { HttpError } from '../errors.ts'

/**
 * One place where every error becomes a response a person can understand.
 *
 * - 4xx: a plain message saying what went wrong and what to do; never the parser's own words
 *   (a JSON parse error quotes the body it could not read).
 * - 5xx: a generic message and a reference; the details go to the log under that reference.
 * - Browsers get a page, htmx requests a fragment-sized page, API clients JSON.
 * - 404 for unknown paths; 405 with Allow for a known path and the wrong method.
 */

const MESSAGES: Record<number, { title: string; message: string }> = {
  400: { title: 'Something was wrong with the request', message: 'We could not read what was sent. Please go back and try again.' },
  403: { title: 'You cannot do that here', message: 'This request is not allowed.' },
  404: { title: 'Page not found', message: 'There is no page at this address. If you typed it, check it is correct.' },
  405: { title: 'That action is not available here', message: 'This page does not accept that kind of request.' },
  408: { title: 'The request took too long', message: 'What was being sent took too long to arrive. Please try again.' },
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
}

async function respond(request: FastifyRequest, reply: FastifyReply, outcome: Outcome): Promise<FastifyReply> {
  reply.code(outcome.statusCode)
  for (const [name, value] of Object.entries(outcome.headers ?? {})) reply.header(name, value)
  if (wantsHtml(request)) {
    return reply.html(
      ErrorPage({
        context: request.server.pageContext,
        title: outcome.title,
        message: outcome.message,
        reference: outcome.reference,
      }),
    )
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
  if (isDatabaseUnavailable(error)) return { statusCode: 503, ...messageFor(503), reference: request.id }
  const code = (error as FastifyError).code
  if (code === 'FST_ERR_HANDLER_TIMEOUT') return { statusCode: 503, ...messageFor(503), reference: request.id }
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

    app.setErrorHandler(async (error: FastifyError | HttpError, request, reply) => {
      const outcome = classify(error, request)
      if (outcome.statusCode >= 500) {
        request.log.error({ err: error, reference: request.id, req: request }, 'request failed')
      } else {
        // Only the code: a parser's message can quote the body it rejected.
        request.log.info({ code: (error as FastifyError).code ?? error.name, statusCode: outcome.statusCode }, 'request refused')
      }
      return respond(request, reply, outcome)
    })

    app.setNotFoundHandler(async (request, reply) => {
      const path = request.url.split('?')[0] ?? '/'
      const allowed = (['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const).filter(
        (method) => known.find(method, path) !== null,
      )
      if (allowed.length > 0) {
        return respond(request, reply, { statusCode: 405, ...messageFor(405), headers: { allow: allowed.join(', ') } })
      }
      return respond(request, reply, { statusCode: 404, ...messageFor(404) })
    })
  },
  { name: 'error-handling', dependencies: ['app-context'] },
)
