import { RetentionJob } from '../retention/job.ts'
import { AlertMailer } from '../alerts/alert-mailer.ts'
import fp from 'fastify-plugin'
import { PageCache, samePageForEveryone } from '../http/page-cache.ts'
import type { Config } from '../config.ts'
import type { Database } from '../db/database.ts'
import type { PageContext } from '../../views/context.ts'
import type { Policy } from '../../rules/routing/types.ts'
import type { CaseVault } from '../security/case-vault.ts'
import type { ServiceAnchor } from '../security/service-anchor.ts'
import { Reclaimer } from '../db/reclaim.ts'
import { bankHolidays } from '../bank-holidays.ts'
import { PuzzleIssuer } from '../security/proof-of-work.ts'
import type { HolidayTest } from '../../rules/working-days.ts'

/** Makes the configuration and the database available to every plugin and route. */
declare module 'fastify' {
  interface FastifyInstance {
    config: Config
    database: Database
    /** What every page needs from the server. */
    pageContext: PageContext
    /** The force's routing policy, validated at start. */
    routingPolicy: Policy
    /** Seals what is stored for each case under the case's own key (server/security/case-vault.ts). */
    vault: CaseVault
    /** The IDVA service's key, pinned outside the database (server/security/service-anchor.ts). */
    anchor: ServiceAnchor
    /** Reclaims the space of destroyed cases soon after (server/db/reclaim.ts). */
    reclaimer: Reclaimer
    /** Destroys what has been kept long enough (server/retention/job.ts). */
    retention: RetentionJob
    /** "Something new is waiting" emails to the IDVA service's team (server/alerts/alert-mailer.ts). */
    alerts: AlertMailer
    /** The bank holidays of the service's region (BANK_HOLIDAYS), for every first-response clock. */
    bankHoliday: HolidayTest
    /** The proof of work new cases carry (server/security/proof-of-work.ts). */
    puzzles: PuzzleIssuer
  }
  interface FastifyReply {
    /** Sends a rendered page (or fragment) as UTF-8 HTML. */
    html(this: FastifyReply, markup: JSX.Element): Promise<FastifyReply>
  }
}

export interface AppContextOptions {
  readonly config: Config
  readonly database: Database
  readonly pageContext: PageContext
  readonly routingPolicy: Policy
  readonly vault: CaseVault
  readonly anchor: ServiceAnchor
}

export default fp<AppContextOptions>(
  async function appContext(app, { config, database, pageContext, routingPolicy, vault, anchor }) {
    app.decorate('vault', vault)
    app.decorate('anchor', anchor)
    const reclaimer = new Reclaimer(database, app.log)
    app.decorate('reclaimer', reclaimer)
    app.addHook('onClose', async () => reclaimer.close())
    const retention = new RetentionJob(database, vault, config.retention, app.log, reclaimer)
    app.decorate('retention', retention)
    if (config.retention.automatic) app.addHook('onReady', async () => retention.start())
    app.addHook('onClose', async () => retention.close())
    const alerts = new AlertMailer(database, config.alertEmail, config.publicOrigin, app.log)
    app.decorate('alerts', alerts)
    app.addHook('onReady', async () => alerts.start())
    app.addHook('onClose', async () => alerts.close())
    app.decorate('routingPolicy', routingPolicy)
    app.decorate('bankHoliday', bankHolidays(config.bankHolidays))
    app.decorate('puzzles', new PuzzleIssuer(config.serverSecret, config.proofOfWorkBits))
    app.decorate('config', config)
    app.decorate('database', database)
    app.decorate('pageContext', pageContext)
    app.decorateReply('html', async function html(this, markup) {
      return this.type('text/html; charset=utf-8').send(await markup)
    })
    app.decorateReply('samePageForEveryone', samePageForEveryone(new PageCache()))
  },
  { name: 'app-context' },
)
