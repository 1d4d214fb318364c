import fp from 'fastify-plugin'
import type { Config } from '../config.ts'
import type { Database } from '../db/database.ts'
import type { PageContext } from '../../views/context.ts'
import type { Policy } from '../routing/types.ts'

/** Makes the configuration and the database available to every plugin and route. */
declare module 'fastify' {
  interface FastifyInstance {
    config: Config
    database: Database
    /** What every page needs from the server. */
    pageContext: PageContext
    /** The force's routing policy, validated at start. */
    routingPolicy: Policy
  }
  interface FastifyReply {
    /** Sends a rendered page (or fragment) as UTF-8 HTML. */
    html(this: FastifyReply, markup: JSX.Element): Promise<FastifyReply>
  }
}

export default fp<{ config: Config; database: Database; pageContext: PageContext; routingPolicy: Policy }>(
  async function appContext(app, { config, database, pageContext, routingPolicy }) {
    app.decorate('routingPolicy', routingPolicy)
    app.decorate('config', config)
    app.decorate('database', database)
    app.decorate('pageContext', pageContext)
    app.decorateReply('html', async function html(this, markup) {
      return this.type('text/html; charset=utf-8').send(await markup)
    })
  },
  { name: 'app-context' },
)
