import fp from 'fastify-plugin'
import type { Asset } from '../bundle.ts'
import { preferredEncoding } from '../http/encoding.ts'

/**
 * Serves the bundle from memory: every file is named by its content, so it may be cached for a
 * year (a change makes a new name). Not rate-limited: no database work. Pages stay no-store.
 *
 * Each file goes out as the client accepts it: brotli or gzip, compressed once at build (no work
 * per request), or as it is; `Vary: Accept-Encoding` tells caches the answer depends on it.
 * X-Content-SHA256 is always the hash of the uncompressed file, the one in the manifest.
 */
export default fp<{ assets: ReadonlyMap<string, Asset> }>(
  async function staticAssets(app, { assets }) {
    for (const [path, asset] of assets) {
      app.get(path, { config: { rateLimit: false, compress: false } }, async (request, reply) => {
        const encoding = preferredEncoding(request.headers['accept-encoding'])
        reply
          .type(asset.contentType)
          // private: a shared cache (a proxy) keeps no copy; the browser may, for a year.
          .header('cache-control', 'private, max-age=31536000, immutable')
          .header('x-content-sha256', asset.sha256)
          .header('vary', 'accept-encoding')
        if (encoding === null) return reply.send(asset.body)
        return reply.header('content-encoding', encoding).send(encoding === 'br' ? asset.brotli : asset.gzip)
      })
    }
  },
  { name: 'static-assets' },
)
