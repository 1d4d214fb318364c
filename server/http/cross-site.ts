import type { FastifyRequest } from 'fastify'
import { HttpError } from '../errors.ts'

/**
 * True when a request did not come from the portal's own pages: Sec-Fetch-Site first (every current
 * browser sends it, and a page cannot set it); only without it, Origin (a form's Origin is "null"
 * under the portal's no-referrer policy). A client that sends neither is not a browser, so not a
 * CSRF vector; signed-in changes still need a synchronizer token.
 */
export function isCrossSite(request: FastifyRequest, publicOrigin: string): boolean {
  const site = request.headers['sec-fetch-site']
  const origin = request.headers.origin
  return site !== undefined ? site !== 'same-origin' : origin !== undefined && origin !== publicOrigin
}

export const CROSS_SITE_REFUSED = 'This request did not come from the portal\'s own pages, so it was not carried out.'

/** Refuses (403) a request from another site: for the anonymous pages' changes, which have no session to carry a token. */
export function refuseCrossSite(request: FastifyRequest, publicOrigin: string): void {
  if (isCrossSite(request, publicOrigin)) throw new HttpError(403, CROSS_SITE_REFUSED)
}
