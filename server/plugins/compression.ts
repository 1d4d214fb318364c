import fp from 'fastify-plugin'
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib'
import { preferredEncoding } from '../http/encoding.ts'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** false: never compress this route's responses (static files come compressed already). */
    compress?: false
  }
}

/** Smaller bodies gain too little to be worth the work (a TCP packet holds about 1,400 bytes). */
const SMALLEST = 1024
const COMPRESSIBLE = /^(?:text\/html|application\/json|text\/plain)\b/

/**
 * Compresses pages for a browser that accepts brotli or gzip, but only pages that cannot hold a
 * secret, because of BREACH: when a response holds a secret (a CSRF token, a case's messages, a
 * staff member's queue) next to text an attacker chose (a query string, a form field echoed back),
 * its compressed size leaks the secret a guess at a time to someone who can see the sizes on the
 * wire and make the browser send requests. So a response is compressed only when
 *
 *   - it answers a GET (or HEAD): a page, not the result of an action;
 *   - the request carried no cookie and the response sets none: without a session it can only be
 *     what any anonymous visitor gets, the same for everyone, with nothing secret in it;
 *   - it is HTML, JSON or text of at least 1 KiB, and its route did not opt out.
 *
 * So the public pages (the start page, guidance, /report, /return and /managers/ask before a code
 * is entered, error pages) are compressed on a person's first visit, and every staff page and
 * anything under a case's session is sent as it is. SECURITY.md lists this.
 */
export default fp(
  async function compression(app) {
    app.addHook('onSend', async (request, reply, payload) => {
      if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) return payload
      if (request.routeOptions.config.compress === false || reply.hasHeader('content-encoding')) return payload
      if (!COMPRESSIBLE.test(String(reply.getHeader('content-type') ?? ''))) return payload
      // The answer depends on Accept-Encoding whether or not this one is compressed.
      const vary = reply.getHeader('vary')
      if (vary === undefined) reply.header('vary', 'accept-encoding')
      else if (!/accept-encoding/i.test(String(vary))) reply.header('vary', `${String(vary)}, accept-encoding`)
      if (request.method !== 'GET' && request.method !== 'HEAD') return payload
      if (request.headers.cookie !== undefined || reply.hasHeader('set-cookie')) return payload
      const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length
      if (size < SMALLEST) return payload
      const encoding = preferredEncoding(request.headers['accept-encoding'])
      if (encoding === null) return payload
      const body =
        encoding === 'br'
          ? brotliCompressSync(payload, { params: { [zlib.BROTLI_PARAM_QUALITY]: 5, [zlib.BROTLI_PARAM_MODE]: zlib.BROTLI_MODE_TEXT, [zlib.BROTLI_PARAM_SIZE_HINT]: size } })
          : gzipSync(payload, { level: 6 })
      reply.header('content-encoding', encoding)
      reply.removeHeader('content-length')
      return body
    })
  },
  { name: 'compression' },
)
