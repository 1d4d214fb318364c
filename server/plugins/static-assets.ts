import fp from 'fastify-plugin'
import type { Asset } from '../bundle.ts'

/**
 * Serves the bundle from memory: every file is named by its content, so it may be cached for a
 * year (a change makes a new name). Not rate-limited: no database work. Pages stay no-store.
 */
export default fp<{ assets: ReadonlyMap<string, Asset> }>(
  async function staticAssets(app, { assets }) {
    for (const [path, asset] of assets) {
      app.get(path, { config: { rateLimit: false } }, async (_request, reply) =>
        reply
          .type(asset.contentType)
          // private: a shared cache (a proxy) keeps no copy; the browser may, for a year.
          .header('cache-control', 'private, max-age=31536000, immutable')
          .header('x-content-sha256', asset.sha256)
          .send(asset.body),
      )
    }
  },
  { name: 'static-assets' },
)
