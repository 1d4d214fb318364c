import type { FastifyInstance } from 'fastify'
import { createServer } from 'node:net'
import { Writable } from 'node:stream'
import type { Test } from 'tap'
import { buildApp } from '../../server/app.ts'
import { loadConfig, type Config } from '../../server/config.ts'
import type { Database } from '../../server/db/database.ts'
import { createLogger } from '../../server/logger.ts'
import { prepareDatabase } from '../../server/server.ts'
import { createTestDatabase, TEST_SECRET, type TestDatabase } from './database.ts'
import { fingerprint } from '../../crypto/fingerprint.ts'
import { publicKeysOf, type KeySet } from '../../crypto/keys.ts'
import { newGroupKeys } from '../../crypto/staff-keys.ts'

/** Everything the portal logged during a test, as text, to assert on what must never appear. */
export class LogCapture extends Writable {
  readonly lines: string[] = []
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter((line) => line !== ''))
    done()
  }
  text(): string {
    return this.lines.join('\n')
  }
  entries(): Record<string, unknown>[] {
    return this.lines.map((line) => JSON.parse(line) as Record<string, unknown>)
  }
}

export { TEST_SECRET }

export interface TestApp {
  readonly app: FastifyInstance
  /**
   * The IDVA service keys this portal has pinned (SERVICE_KEY_FINGERPRINT): seed the service with
   * them (seedService(db, { keys: serviceKeys })) for the reporter's pages to open.
   */
  readonly serviceKeys: KeySet
  readonly config: Config
  readonly database: Database
  readonly testDatabase: TestDatabase
  readonly logs: LogCapture
}

export interface TestAppOptions {
  /** Extra environment variables (config is built with loadConfig, as in production). */
  readonly env?: Readonly<Record<string, string>>
  /** Reuse a database (a second instance of the portal on the same database). */
  readonly testDatabase?: TestDatabase
  /** Apply migrations even though the database was passed in (default: only for a new one). */
  readonly prepare?: boolean
  /** Listen on a free local port (for browsers and raw HTTP), instead of inject only. */
  readonly listen?: boolean
  /** Called before the app is ready, to add routes a test needs (e.g. one that fails). */
  readonly extend?: (app: FastifyInstance) => void
  /** Pin these service keys instead of new ones (a second instance of the same portal). */
  readonly serviceKeys?: KeySet
  /** Leave SERVICE_KEY_FINGERPRINT unset (as a portal before its operator pins the key). */
  readonly unpinned?: boolean
}

/** Builds the real application on a fresh test database; everything is closed at teardown. */
export async function buildTestApp(t: Test, options: TestAppOptions = {}): Promise<TestApp> {
  const testDatabase = options.testDatabase ?? (await createTestDatabase(t, { migrated: true }))
  const serviceKeys = options.serviceKeys ?? (await newGroupKeys())
  const config = loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'info',
    SERVER_SECRET: TEST_SECRET,
    QUICK_EXIT_URL: 'https://www.bbc.co.uk/weather',
    // Tests run the retention job when they mean to (app.retention.runOnce()), never on a timer.
    RETENTION_JOB: 'false',
    // New cases carry a proof of work; 4 bits keeps hundreds of test submissions quick, and the
    // flood test checks the real difficulty.
    PROOF_OF_WORK_BITS: '4',
    ...(options.unpinned === true ? {} : { SERVICE_KEY_FINGERPRINT: await fingerprint(publicKeysOf(serviceKeys)) }),
    ...testDatabase.env,
    ...options.env,
  })
  const logs = new LogCapture()
  const logger = createLogger(config.logLevel, logs)
  const database = await testDatabase.open(config, logger)
  if (options.testDatabase === undefined || options.prepare === true) await prepareDatabase(database, logger, config)
  // The embedded handle is shared by every instance on it; PostgreSQL instances each have a pool.
  if (options.testDatabase === undefined || testDatabase.kind === 'postgres') t.teardown(() => database.close())
  const app = await buildApp({ config, database, logger })
  options.extend?.(app)
  t.teardown(() => app.close())
  if (options.listen === true) await app.listen({ host: '127.0.0.1', port: config.port })
  else await app.ready()
  return { app, config, database, testDatabase, logs, serviceKeys }
}

/** A port free at the moment (for a test app whose PUBLIC_ORIGIN must name its port). */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise((resolve) => server.close(resolve))
  if (address === null || typeof address !== 'object') throw new Error('no port')
  return address.port
}

/** The base URL of a listening test app. */
export function baseUrl(app: FastifyInstance): string {
  const address = app.server.address()
  if (address === null || typeof address !== 'object') throw new Error('app is not listening')
  return `http://127.0.0.1:${address.port}`
}
