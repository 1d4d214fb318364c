import type { FastifyInstance } from 'fastify'
import { pathToFileURL } from 'node:url'
import { buildApp } from './app.ts'
import { ConfigError, loadConfig, type Config } from './config.ts'
import { APPLICATION_ROLE, openDatabase, requestRole, type Database } from './db/database.ts'
import { migrateToLatest } from './db/migrate.ts'
import { StartupError } from './errors.ts'
import { withPersistentSecret } from './server-secret.ts'
import { CaseVault } from './security/case-vault.ts'
import { sealLegacyCases } from './features/cases/repository.ts'
import { sealLegacyReferrals } from './features/referrals/repository.ts'
import { publishFirstRunLinks } from './features/staff/first-run-file.ts'
import { createLogger, type Logger } from './logger.ts'
import { loadGuidance, GuidanceError } from './features/managers/guidance.ts'
import { loadPolicyFile, PolicyFileError } from './routing/policy-file.ts'

/**
 * Process start: config -> logger -> database -> migrations -> app -> listen, and a graceful stop.
 */

export interface RunningServer {
  readonly app: FastifyInstance
  readonly database: Database
  /** Stops accepting connections, lets in-flight requests finish, then closes the database. */
  stop(): Promise<void>
}

/**
 * Applies pending migrations as the schema owner (each is recorded in the audit log), then seals
 * at rest any case stored before that existed (only the server holds the key for that).
 */
export async function prepareDatabase(database: Database, logger: Logger, config: Config): Promise<void> {
  const applied = await database.asOwner(migrateToLatest)
  if (applied.length > 0) logger.info({ migrations: applied }, 'database migrations applied')
  // Requests must run as a role the row-level policies bind (server/db/actor.ts).
  const role = await requestRole(database.db)
  if (role.bypassesPolicies) {
    throw new StartupError(
      `The portal connects to the database as "${role.name}", which row-level security does not bind (a superuser, or a role with BYPASSRLS), and cannot switch to the role ${APPLICATION_ROLE}: it does not exist. Connect as a restricted role that is a member of ${APPLICATION_ROLE} (README, "PostgreSQL"), or let the migrations create it by running them as a role with CREATEROLE.`,
    )
  }
  if (role.ownsTables) {
    logger.warn(
      { role: role.name },
      `the portal connects as the owner of its tables: the row-level policies still bind it (they are forced), but an owner could lift them. Set DATABASE_MIGRATION_URL to the owner and DATABASE_URL to a restricted member of ${APPLICATION_ROLE} (README, "PostgreSQL")`,
    )
  }
  const vault = new CaseVault(config.serverSecret)
  const sealed = await sealLegacyCases(database.db, vault)
  if (sealed > 0) logger.info({ cases: sealed }, 'cases stored before sealing at rest are now sealed')
  const referrals = await sealLegacyReferrals(database.db, vault)
  if (referrals > 0) logger.info({ referrals }, 'referrals stored before they had keys of their own are now sealed under them')
}

export async function startServer(config: Config, logger: Logger): Promise<RunningServer> {
  // A bad routing policy stops the server before anything else starts.
  let policy: ReturnType<typeof loadPolicyFile>
  try {
    policy = loadPolicyFile(config.routingPolicyPath)
  } catch (error) {
    if (error instanceof PolicyFileError) throw new StartupError(`ROUTING_POLICY: ${error.message}`)
    throw error
  }
  // So does a guidance file for line managers with a mistake in it (a bad name, title or link).
  try {
    loadGuidance()
  } catch (error) {
    if (error instanceof GuidanceError) throw new StartupError(`managers' guidance: ${error.message}`)
    throw error
  }
  if (policy.example) {
    logger.warn({ policyVersion: policy.version }, 'the routing policy is the shipped EXAMPLE: the force must check it and set ROUTING_POLICY to its own')
  }
  const database = await openDatabase(config, logger)
  let app: FastifyInstance
  try {
    config = withPersistentSecret(config)
    await prepareDatabase(database, logger, config)
    app = await buildApp({ config, database, logger })
    await app.listen({ host: config.host, port: config.port })
  } catch (error) {
    await database.close()
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new StartupError(`PORT ${config.port} on HOST ${config.host} is already in use by another program`)
    }
    if ((error as NodeJS.ErrnoException).code === 'EADDRNOTAVAIL') {
      throw new StartupError(`HOST ${config.host} is not an address of this machine`)
    }
    throw error
  }
  let stopping: Promise<void> | undefined
  return {
    app,
    database,
    stop() {
      stopping ??= app.close().finally(() => database.close())
      return stopping
    },
  }
}

/** How long a stop may take before the process gives up waiting for slow requests. */
const STOP_DEADLINE_MS = 20_000

/** Reads the configuration from the environment; a bad value ends the process with one line. */
export function configFromEnvironment(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env)
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`safe-disclosure: configuration error: ${error.message}\n`)
      process.exit(1)
    }
    throw error
  }
}

/** Runs the portal until SIGTERM or SIGINT: `npm start`, and `npm run demo` once it has prepared its data. */
export async function serve(config: Config): Promise<void> {
  const logger = createLogger(config.logLevel)
  let server: RunningServer
  try {
    server = await startServer(config, logger)
  } catch (error) {
    const message = error instanceof StartupError ? error.message : `could not start: ${(error as Error).message.split('\n')[0]}`
    logger.fatal({ err: error }, 'start-up failed')
    logger.flush()
    process.stderr.write(`safe-disclosure: ${message}\n`)
    process.exit(1)
  }
  const address = server.app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : config.port
  logger.info({ host: config.host, port, database: server.database.kind }, `portal listening on ${config.publicOrigin}`)
  // While no IDVA service (or no administrator) exists, issue the one-time link to create it, valid
  // once, for an hour. It goes to FIRST_RUN_FILE (mode 0600) and, on a terminal, to the screen;
  // never into the log (standard output under a service manager): only the file's path is printed.
  await publishFirstRunLinks(server.database.db, { publicOrigin: config.publicOrigin, file: config.firstRunFile })

  const stop = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'stopping: finishing requests in progress')
    const deadline = setTimeout(() => {
      logger.error('stop took too long; exiting')
      process.exit(1)
    }, STOP_DEADLINE_MS)
    deadline.unref()
    server
      .stop()
      .then(() => {
        logger.info('stopped')
        process.exit(0)
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, 'error while stopping')
        process.exit(1)
      })
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}

/** `npm start` (scripts/start.mjs, through the compiled server) and `node --import tsx server/server.ts`. */
export async function main(): Promise<void> {
  await serve(configFromEnvironment())
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main()
