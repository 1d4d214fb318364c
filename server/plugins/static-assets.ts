import fp from 'fastify-plugin'
import { loadAssets } from '../assets.ts'

/** Serves the stylesheet, htmx and the browser bundle from memory. Not rate-limited: no DB work. */
export default fp(
  async function staticAssets(app) {
    const assets = await loadAssets()
    for (const [path, asset] of assets) {
      app.get(path, { config: { rateLimit: false } }, async (_request, reply) =>
        reply.type(asset.contentType).header('x-content-sha256', asset.sha256).send(asset.body),
      )
    }
  },
  { name: 'static-assets' },
)
