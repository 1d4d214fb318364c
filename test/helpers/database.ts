import { PGlite } from '@electric-sql/pglite'
import pg from 'pg'
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createHash, randomBytes } from 'node:crypto'
import type { Test } from 'tap'
import type { Database } from '../../server/db/database.ts'
import { openDatabase } from '../../server/db/database.ts'
import { loadConfig, type Config } from '../../server/config.ts'
import { MIGRATIONS_FOLDER } from '../../server/db/migrate.ts'
import { createLogger } from '../../server/logger.ts'
import { prepareDatabase } from '../../server/server.ts'
import type { Logger } from '../../server/logger.ts'

/**
 * A fresh database for one test file.
 *
 * Without DATABASE_URL: an embedded database in a temporary DATA_DIR, copied from a template made
 * once per PGlite version (initdb takes seconds; a copy takes milliseconds).
 *
 * With DATABASE_URL: a new, uniquely named database on that server, migrated by its owner, and a
 * new login role in `safe_disclosure_app` for the application, exactly as README advises for
 * production. So every test on PostgreSQL runs the application with its restricted privileges.
 */

export interface TestDatabase {
  readonly kind: 'embedded' | 'postgres'
  /** Environment variables that point the portal at this database. */
  readonly env: Readonly<Record<string, string>>
  /** Owner connection string (PostgreSQL only), for tests that act as an administrator. */
  readonly ownerUrl?: string
  /** Application role name (PostgreSQL only). */
  readonly appRole?: string
  /**
   * Opens the database for one app instance. The embedded database can be opened by one process
   * only, so every call returns the same handle; on PostgreSQL each call gets its own pool.
   */
  open(config: Config, logger: Logger): Promise<Database>
}

const require = createRequire(import.meta.url)

/** The server secret every test portal uses (a real deployment's is random). */
export const TEST_SECRET = 'a'.repeat(64)

/** PGlite's version (its package.json is not exported, so find it next to the entry point). */
function pgliteVersion(): string {
  let folder = dirname(require.resolve('@electric-sql/pglite'))
  while (!existsSync(join(folder, 'package.json'))) folder = dirname(folder)
  return (JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8')) as { version: string }).version
}

/** A template folder in the temporary directory, made once by `fill` and shared by every test process. */
async function template(name: string, fill: (work: string) => Promise<void>): Promise<string> {
  const folder = join(tmpdir(), name)
  if (existsSync(join(folder, 'READY'))) return folder
  const work = mkdtempSync(join(tmpdir(), 'safe-disclosure-template-'))
  await fill(work)
  writeFileSync(join(work, 'READY'), '')
  try {
    renameSync(work, folder)
  } catch {
    // Another test process made it first.
    rmSync(work, { recursive: true, force: true })
  }
  return folder
}

/** The initialised (but empty) PGlite data folder all embedded tests copy. */
export async function pgliteTemplate(): Promise<string> {
  return template(`safe-disclosure-test-pglite-${pgliteVersion()}`, async (work) => {
    const pglite = await PGlite.create(join(work, 'pgdata'))
    await pglite.close()
  })
}

/** A hash of every migration file: a migrated template is kept for exactly these migrations. */
function migrationsHash(): string {
  const hash = createHash('sha256')
  for (const file of readdirSync(MIGRATIONS_FOLDER).sort()) hash.update(`${file}\0`).update(readFileSync(join(MIGRATIONS_FOLDER, file))).update('\0')
  return hash.digest('hex').slice(0, 16)
}

/**
 * The template again, with every migration applied, for the apps the tests build (buildTestApp
 * migrates each new database at start: with this template there is nothing left to apply, which
 * saves about half a second per app). Made once per PGlite version and set of migrations.
 */
export async function migratedPgliteTemplate(): Promise<string> {
  const empty = await pgliteTemplate()
  return template(`safe-disclosure-test-pglite-${pgliteVersion()}-migrated-${migrationsHash()}`, async (work) => {
    cpSync(join(empty, 'pgdata'), join(work, 'pgdata'), { recursive: true })
    const config = loadConfig({ HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'silent', DATA_DIR: work, SERVER_SECRET: TEST_SECRET, RETENTION_JOB: 'false' })
    const logger = createLogger('silent')
    const database = await openDatabase(config, logger)
    try {
      await prepareDatabase(database, logger, config)
    } finally {
      await database.close()
    }
  })
}

export async function embeddedDataDir(t: Test, options: { migrated?: boolean } = {}): Promise<string> {
  const template = options.migrated === true ? await migratedPgliteTemplate() : await pgliteTemplate()
  const dataDir = mkdtempSync(join(tmpdir(), 'safe-disclosure-test-data-'))
  cpSync(join(template, 'pgdata'), join(dataDir, 'pgdata'), { recursive: true })
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  return dataDir
}

function withCredentials(url: string, database: string, user?: string, password?: string): string {
  const parsed = new URL(url)
  parsed.pathname = `/${database}`
  if (user !== undefined) {
    parsed.username = user
    parsed.password = password ?? ''
  }
  return parsed.toString()
}

async function createPostgresDatabase(t: Test, serverUrl: string): Promise<TestDatabase> {
  const suffix = randomBytes(6).toString('hex')
  const name = `sd_test_${suffix}`
  const appRole = `sd_test_app_${suffix}`
  const appPassword = randomBytes(18).toString('base64url')
  const admin = new pg.Client({ connectionString: serverUrl })
  await admin.connect()
  try {
    await admin.query(`CREATE DATABASE ${name}`)
    // The group role is normally created by the first migration; make sure it exists before the
    // application's login role joins it (several test files may race here).
    await admin.query(`
      DO $$ BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'safe_disclosure_app') THEN
          CREATE ROLE safe_disclosure_app NOLOGIN;
        END IF;
      EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
      END $$`)
    await admin.query(`CREATE ROLE ${appRole} LOGIN PASSWORD '${appPassword}' IN ROLE safe_disclosure_app`)
  } finally {
    await admin.end()
  }
  t.teardown(async () => {
    const cleanup = new pg.Client({ connectionString: serverUrl })
    await cleanup.connect()
    try {
      await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await cleanup.query(`DROP ROLE IF EXISTS ${appRole}`)
    } finally {
      await cleanup.end()
    }
  })
  const ownerUrl = withCredentials(serverUrl, name)
  const appUrl = withCredentials(serverUrl, name, appRole, appPassword)
  return {
    kind: 'postgres',
    env: { DATABASE_URL: appUrl, DATABASE_MIGRATION_URL: ownerUrl, SERVER_SECRET: TEST_SECRET },
    ownerUrl,
    appRole,
    open: (config, logger) => openDatabase(config, logger),
  }
}

/**
 * A new database for a test. `migrated`: the embedded one comes with every migration applied
 * already (for apps that would migrate it at start anyway); PostgreSQL's is always new and empty.
 */
export async function createTestDatabase(t: Test, options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const serverUrl = process.env.DATABASE_URL
  if (serverUrl !== undefined && serverUrl !== '') return createPostgresDatabase(t, serverUrl)
  const dataDir = await embeddedDataDir(t, options)
  let shared: Promise<Database> | undefined
  return {
    kind: 'embedded',
    env: { DATA_DIR: dataDir, SERVER_SECRET: TEST_SECRET },
    open(config, logger) {
      shared ??= openDatabase(config, logger)
      return shared
    },
  }
}
