import formbody from '@fastify/formbody'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import { randomFillSync } from 'node:crypto'
import type { PageContext } from '../views/context.ts'
import { loadBundle } from './bundle.ts'
import { loadPolicyFile } from './routing/policy-file.ts'
import type { Config } from './config.ts'
import type { Database } from './db/database.ts'
import healthRoutes from './features/health/routes.ts'
import publicRoutes from './features/public/routes.ts'
import { PrivacyLogController } from './log-controller.ts'
import { AnonymousTally, isAccountableUrl } from './anonymous-log.ts'
import { CaseVault } from './security/case-vault.ts'
import { ServiceAnchor } from './security/service-anchor.ts'
import { serializeError, type Logger } from './logger.ts'
import appContext from './plugins/app-context.ts'
import errorHandling, { clientErrorHandler, frameworkErrorHandler } from './plugins/errors.ts'
import compression from './plugins/compression.ts'
import rateLimit from './plugins/rate-limit.ts'
import securityHeaders from './plugins/security-headers.ts'
import staffAuth from './plugins/staff-auth.ts'
import caseSession from './plugins/case-session.ts'
import reportRoutes from './features/report/routes.ts'
import returnRoutes from './features/return/routes.ts'
import managersRoutes from './features/managers/routes.ts'
import staticAssets from './plugins/static-assets.ts'
import staffAdminRoutes from './features/staff/admin-routes.ts'
import staffAuthRoutes from './features/staff/auth-routes.ts'
import staffTeamRoutes from './features/staff/team-routes.ts'
import idvaRoutes from './features/idva/routes.ts'
import figuresRoutes from './features/figures/routes.ts'
import referralRoutes from './features/referrals/routes.ts'
import unitRoutes from './features/units/routes.ts'
import heavyWork from './workers/heavy-work.ts'

export interface AppDependencies {
  readonly config: Config
  readonly database: Database
  readonly logger: Logger
}

/** Fastify takes a hop count as a function: trust the nearest `hops` proxies. */
function trustProxyOption(trust: Config['trustProxy']): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof trust === 'number') return (_address, hop) => hop < trust
  return trust === false ? false : [...trust]
}

/**
 * Request ids: 48 random bits as 12 hex digits, short enough to read out as a reference. Drawn from
 * a pool of random bytes refilled 6 KiB (1,024 ids) at a time, not by a system call per request.
 */
function requestIds(): () => string {
  const pool = Buffer.alloc(6 * 1024)
  let offset = pool.length
  return () => {
    if (offset === pool.length) {
      randomFillSync(pool)
      offset = 0
    }
    offset += 6
    return pool.toString('hex', offset - 6, offset)
  }
}

/** Default body limit; routes that take evidence files raise it for themselves. */
export const BODY_LIMIT_BYTES = 256 * 1024

/**
 * The root plugin: builds the Fastify instance (not listening) with every plugin in order.
 * server.ts starts it; tests build it on a test database and use `inject` or `listen`.
 */
export async function buildApp({ config, database, logger }: AppDependencies): Promise<FastifyInstance> {
  const { manifest, assets } = await loadBundle()
  const routingPolicy = loadPolicyFile(config.routingPolicyPath)
  const pageContext: PageContext = Object.freeze({
    quickExitUrl: config.quickExitUrl,
    demo: config.demo,
    contact: config.serviceContact,
    timeZone: config.timeZone,
    assets: Object.freeze({
      css: `/static/${manifest.entries.css}`,
      htmx: `/static/${manifest.entries.htmx}`,
      app: `/static/${manifest.entries.app}`,
      evidenceWorker: `/static/${manifest.entries.evidenceWorker}`,
      puzzleWorker: `/static/${manifest.entries.puzzleWorker}`,
    }),
  })
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new PrivacyLogController(),
    // Requests of anonymous people are counted, not logged one by one (server/anonymous-log.ts).
    childLoggerFactory: (parent, bindings, options, raw) => (isAccountableUrl(raw.url) ? parent.child(bindings, options) : tally.loggerFor(bindings)),
    // Our own ids (never taken from a client header), short enough to read out as a reference.
    genReqId: requestIds(),
    requestIdHeader: false,
    trustProxy: trustProxyOption(config.trustProxy),
    bodyLimit: BODY_LIMIT_BYTES,
    // Slow or stalled clients are cut off; handlers that hang answer 503 rather than never. The
    // handler timeout counts from routing, so it includes reading the body: routes that take
    // large uploads set a longer one of their own.
    connectionTimeout: 120_000,
    requestTimeout: 60_000,
    keepAliveTimeout: 10_000,
    handlerTimeout: 30_000,
    // While stopping, requests on open connections are still served in full (with every header);
    // the listening socket is closed, so no new connections arrive.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    frameworkErrors: frameworkErrorHandler(config, pageContext),
    clientErrorHandler,
    routerOptions: { maxParamLength: 200 },
  })

  const tally = new AnonymousTally(logger, (error) => serializeError(error))
  const anchor = new ServiceAnchor(config, database.db, logger)
  // A pin that does not match the database is logged as an error now, not at the first visitor.
  await anchor.refresh()
  await app.register(appContext, { config, database, pageContext, routingPolicy, vault: new CaseVault(config.serverSecret), anchor })
  app.decorate('anonymousRequests', tally)
  app.addHook('onClose', async () => tally.stop())
  await app.register(heavyWork)
  await app.register(securityHeaders)
  await app.register(compression)
  await app.register(errorHandling)
  await app.register(rateLimit)
  await app.register(formbody, { bodyLimit: BODY_LIMIT_BYTES })
  await app.register(staticAssets, { assets })
  await app.register(staffAuth)
  await app.register(caseSession)
  await app.register(healthRoutes)
  await app.register(publicRoutes)
  await app.register(reportRoutes)
  await app.register(returnRoutes)
  await app.register(managersRoutes)
  await app.register(staffAuthRoutes)
  await app.register(staffTeamRoutes)
  await app.register(staffAdminRoutes)
  await app.register(idvaRoutes)
  await app.register(figuresRoutes)
  await app.register(referralRoutes)
  await app.register(unitRoutes)
  return app
}
