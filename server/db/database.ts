import { PGlite } from '@electric-sql/pglite'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'
import { CompiledQuery, Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setFlagsFromString } from 'node:v8'
import type { Config } from '../config.ts'
import { StartupError } from '../errors.ts'
import type { Logger } from '../logger.ts'
import { OutageLog } from './outage.ts'
import type { Schema } from './schema.ts'

/**
 * One driver path for both deployments: the application always talks to PostgreSQL through `pg`.
 * With DATABASE_URL that is the operator's PostgreSQL; without it, an embedded PostgreSQL (PGlite,
 * kept under DATA_DIR) is served in-process over a private Unix socket, so the embedded mode
 * exercises exactly the driver, pooling and error handling that production uses.
 */

export interface Database {
  readonly db: Kysely<Schema>
  readonly kind: 'embedded' | 'postgres'
  /** Says an outage once, with a count of the requests it refused (server/db/outage.ts). */
  readonly outage: OutageLog
  /** True when the database answers a trivial query within the time allowed. */
  ping(timeoutMs?: number): Promise<boolean>
  /**
   * Runs `work` with a connection as the role that owns the schema (DATABASE_MIGRATION_URL),
   * which may differ from the application's restricted role. Never for requests.
   */
  asOwner<T>(work: (db: Kysely<any>) => Promise<T>): Promise<T>
  close(): Promise<void>
}

/**
 * The role requests run as (the first migration creates it; README's PostgreSQL section). Row-level
 * security binds it: it owns no table and has no BYPASSRLS.
 */
export const APPLICATION_ROLE = 'safe_disclosure_app'

/**
 * Run on every new connection used for requests: when the login role would pass every row-level
 * policy unchecked (a superuser, as the embedded database's only user is, or a role with
 * BYPASSRLS) and the application's role exists, the connection becomes that role for the rest of
 * its life (SET ROLE). A restricted login role (README) is left as it is.
 */
const ENTER_APPLICATION_ROLE = CompiledQuery.raw(
  `SELECT set_config('role', '${APPLICATION_ROLE}', false) FROM pg_roles WHERE rolname = '${APPLICATION_ROLE}' AND EXISTS (SELECT FROM pg_roles WHERE rolname = session_user AND (rolsuper OR rolbypassrls))`,
)

/** Who requests run as, for the check at start (checkRequestRole). */
export interface RequestRole {
  readonly name: string
  /** A superuser or BYPASSRLS role: row-level security would not bind it. */
  readonly bypassesPolicies: boolean
  /** It owns the protected tables (forced policies still bind it, but it could lift them). */
  readonly ownsTables: boolean
}

export async function requestRole(db: Kysely<Schema>): Promise<RequestRole> {
  const result = await sql<{ name: string; bypasses: boolean; owns: boolean }>`
    SELECT current_user AS name, (r.rolsuper OR r.rolbypassrls) AS bypasses,
           EXISTS (SELECT FROM pg_tables t WHERE t.schemaname = current_schema() AND t.tablename = 'referrals' AND t.tableowner = current_user) AS owns
    FROM pg_roles r WHERE r.rolname = current_user`.execute(db)
  const row = result.rows[0]
  if (row === undefined) throw new StartupError('The database did not say which role this portal connects as.')
  return { name: row.name, bypassesPolicies: row.bypasses, ownsTables: row.owns }
}

/** pg returns int8 as a string; every int8 here is a count or a sequence, so map it to a number. */
function parseInt8(value: string): number {
  const parsed = Number(value)
  if (!Number.isSafeInteger(parsed)) throw new RangeError('int8 value is outside the safe integer range')
  return parsed
}

const INT8_OID = 20
/** A date (no time) stays a 'YYYY-MM-DD' string: no time zone can move it to another day. */
const DATE_OID = 1082
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID && format !== 'binary') return parseInt8
    if (oid === DATE_OID && format !== 'binary') return (value: string) => value
    return format === undefined ? pg.types.getTypeParser(oid) : pg.types.getTypeParser(oid, format)
  },
} as pg.CustomTypesConfig

/** Codes that mean "the database cannot be reached", as opposed to a fault in a query. */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ENOENT', 'EPIPE', 'EHOSTUNREACH',
  '57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006', '53300',
])

/**
 * True for an error that means the database could not be reached, also when it is wrapped: as the
 * cause of another error, or among the attempts of an AggregateError (a host name with an IPv4 and
 * an IPv6 address refuses twice).
 */
export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (!(error instanceof Error) || depth > 3) return false
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true
  if (/Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed and is not queryable|Cannot use a pool after calling end|driver has already been destroyed/i.test(error.message)) {
    return true
  }
  if (error instanceof AggregateError && error.errors.some((inner) => isDatabaseUnavailable(inner, depth + 1))) return true
  return isDatabaseUnavailable(error.cause, depth + 1)
}

/** "host:port/database" of a URL, without user name or password, for messages. */
export function describeDatabaseUrl(url: string): string {
  const parsed = new URL(url)
  const database = decodeURIComponent(parsed.pathname.slice(1))
  const host = parsed.hostname || parsed.searchParams.get('host') || 'localhost'
  return `${host}:${parsed.port || '5432'}/${database}`
}

function connectionProblem(error: unknown): string {
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused: is PostgreSQL running and listening there?'
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host name not found'
    case 'ETIMEDOUT':
      return 'timed out'
    case '28P01':
    case '28000':
      return 'the server refused the user name or password'
    case '3D000':
      return 'that database does not exist'
    default: {
      const message = error instanceof Error ? error.message.split('\n')[0] : String(error)
      return /timeout/i.test(message ?? '') ? 'timed out' : (message ?? 'unknown error')
    }
  }
}

/**
 * A client losing its connection emits 'error': when idle, through the pool; when checked out
 * between queries, on the client itself. Either would crash the process without a listener.
 * The pool discards broken clients, so the next query makes a new connection; `lost` hears of
 * the idle ones (for the request pools, the outage log, which says so once if the database has
 * gone, rather than once for each connection it held).
 */
function guarded(pool: pg.Pool, lost: (error: Error) => void): pg.Pool {
  pool.on('error', lost)
  pool.on('connect', (client) => client.on('error', () => undefined))
  return pool
}

function createPool(connectionString: string, max: number, lost: (error: Error) => void): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max,
    types,
    application_name: 'safe-disclosure',
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    statement_timeout: 15_000,
  })
  return guarded(pool, lost)
}

async function checkConnection(pool: pg.Pool, url: string, role: string): Promise<void> {
  try {
    await pool.query('SELECT 1')
  } catch (error) {
    await pool.end().catch(() => undefined)
    throw new StartupError(`Could not connect to PostgreSQL (${role}) at ${describeDatabaseUrl(url)}: ${connectionProblem(error)}`, {
      cause: error,
    })
  }
}

/** Kysely over `pool`; for requests, each new connection enters the application's role. */
function kyselyOver(pool: pg.Pool, forRequests: boolean): Kysely<Schema> {
  const onCreateConnection = forRequests ? async (connection: { executeQuery(query: CompiledQuery): Promise<unknown> }) => void (await connection.executeQuery(ENTER_APPLICATION_ROLE)) : undefined
  return new Kysely<Schema>({ dialect: new PostgresDialect({ pool, onCreateConnection }) })
}

async function ping(db: Kysely<Schema>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs)
  })
  try {
    const answer = sql<{ ok: number }>`SELECT 1 AS ok`
      .execute(db)
      .then((result) => result.rows[0]?.ok === 1)
      .catch(() => false)
    return await Promise.race([answer, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** The schema owner's short-lived pools (migrations, scripts) are not the requests' concern: each loss is logged. */
function ownerConnectionLost(logger: Logger): (error: Error) => void {
  return (error) => logger.warn({ err: error }, 'database connection lost (schema owner)')
}

async function openPostgres(config: Config & { databaseUrl: string }, logger: Logger): Promise<Database> {
  // The pool's listener needs the outage log, which probes through kysely over the pool: all three
  // exist before the first await, so no event can arrive before its listener's target.
  const pool = createPool(config.databaseUrl, config.databasePoolSize, (error) => outage.suspect(error))
  const db = kyselyOver(pool, true)
  const outage = new OutageLog(logger, () => ping(db, 2_000))
  await checkConnection(pool, config.databaseUrl, 'DATABASE_URL')
  const ownerUrl = config.databaseMigrationUrl ?? config.databaseUrl
  let closed: Promise<void> | undefined
  return {
    db,
    kind: 'postgres',
    outage,
    ping: (timeoutMs = 2_000) => ping(db, timeoutMs),
    async asOwner(work) {
      // A connection of its own, even when it is the same URL: the request pool's connections may
      // have switched to the application's role.
      const ownerPool = createPool(ownerUrl, 1, ownerConnectionLost(logger))
      await checkConnection(ownerPool, ownerUrl, ownerUrl === config.databaseUrl ? 'DATABASE_URL' : 'DATABASE_MIGRATION_URL')
      const ownerDb = kyselyOver(ownerPool, false)
      try {
        return await work(ownerDb)
      } finally {
        await ownerDb.destroy()
      }
    },
    close() {
      outage.stop()
      closed ??= db.destroy()
      return closed
    },
  }
}

/**
 * A lock file so two processes never open the same embedded database (PGlite has no lock of its
 * own, and two writers would corrupt it). A lock left by a process that has died is taken over:
 * it is moved aside (only one process can move it) after checking it still names the dead process,
 * and the new lock is read back a moment later, so two processes starting at once cannot both win.
 */
async function acquireLock(dataDir: string): Promise<() => void> {
  const lockPath = join(dataDir, 'portal.lock')
  const readHolder = (path: string): number | null => {
    try {
      const pid = Number(readFileSync(path, 'utf8').trim())
      return Number.isInteger(pid) && pid > 0 ? pid : null
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw error
    }
  }
  const inUse = (pid: number) =>
    new StartupError(`DATA_DIR ${dataDir} is in use by another portal process (pid ${pid}). Stop that process, or set DATA_DIR to another folder.`)

  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      writeFileSync(lockPath, String(process.pid), { flag: 'wx', mode: 0o600 })
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const holder = readHolder(lockPath)
      if (holder !== null && holder !== process.pid && isRunning(holder)) throw inUse(holder)
      if (readHolder(lockPath) !== holder) continue // changed hands meanwhile: look again
      const aside = `${lockPath}.stale-${process.pid}`
      try {
        renameSync(lockPath, aside)
      } catch (renameError) {
        if ((renameError as NodeJS.ErrnoException).code === 'ENOENT') continue // another process moved it
        throw renameError
      }
      rmSync(aside, { force: true })
      continue
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
    const holder = readHolder(lockPath)
    if (holder !== process.pid) throw inUse(holder ?? 0)
    return () => {
      if (readHolder(lockPath) === process.pid) rmSync(lockPath, { force: true })
    }
  }
  throw new StartupError(`DATA_DIR ${dataDir}: could not take the lock file ${lockPath}; another process keeps changing it`)
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Each embedded database serves on a Unix socket in a private folder of the temporary directory,
 * named with the owning process's id: safe-disclosure-db-<pid>-<random>.
 */
const SOCKET_FOLDER_PREFIX = 'safe-disclosure-db-'
const SOCKET_NAME = '.s.PGSQL.5432'
const SOCKET_FOLDER = /^safe-disclosure-db-(?:(\d+)-)?[A-Za-z0-9]{6}$/
/** A folder named before the process id was part of the name is left alone while this young. */
const UNNAMED_FOLDER_GRACE_MS = 10 * 60_000

/** True when something accepts connections on the Unix socket at `path`; in doubt (no answer, no permission), true. */
function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path)
    const done = (answer: boolean) => {
      socket.destroy()
      resolve(answer)
    }
    socket.setTimeout(1_000, () => done(true))
    socket.once('connect', () => done(true))
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code !== 'ECONNREFUSED' && error.code !== 'ENOENT'))
  })
}

/**
 * A process that is killed (kill -9, the out-of-memory killer, a power cut) cannot remove its
 * socket folder, and each such stop would leave one more in the temporary directory. At start,
 * the folders of embedded databases whose process has ended are removed: the process named in the
 * folder no longer exists, and nothing answers on its socket. A live instance's folder is never
 * touched: its process exists (in this process's view) and its socket answers (also from another
 * container sharing the directory, where its process id means nothing). Another user's folders
 * are left alone.
 */
export async function removeStaleSocketFolders(folder: string, logger: Logger): Promise<number> {
  let names: string[]
  try {
    names = readdirSync(folder).filter((name) => SOCKET_FOLDER.test(name))
  } catch {
    return 0
  }
  let removed = 0
  for (const name of names) {
    const path = join(folder, name)
    const pid = SOCKET_FOLDER.exec(name)?.[1]
    try {
      const info = lstatSync(path)
      if (!info.isDirectory() || info.uid !== process.getuid?.()) continue
      if (pid === undefined ? Date.now() - info.mtimeMs < UNNAMED_FOLDER_GRACE_MS : isRunning(Number(pid))) continue
      if (await socketAnswers(join(path, SOCKET_NAME))) continue
      rmSync(path, { recursive: true, force: true })
      removed += 1
    } catch {
      // Gone meanwhile, or not ours to remove: leave it.
    }
  }
  if (removed > 0) logger.info({ removed }, 'removed socket folders left in the temporary directory by embedded databases whose process had ended')
  return removed
}

async function openEmbedded(config: Config, logger: Logger): Promise<Database> {
  try {
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 })
    // Also when the folder already existed: only the portal's own user may enter it.
    chmodSync(config.dataDir, 0o700)
  } catch (error) {
    throw new StartupError(`DATA_DIR ${config.dataDir} cannot be created: ${(error as Error).message}`, { cause: error })
  }
  let releaseLock: () => void
  try {
    releaseLock = await acquireLock(config.dataDir)
  } catch (error) {
    if (error instanceof StartupError) throw error
    throw new StartupError(`DATA_DIR ${config.dataDir} cannot be written: ${(error as Error).message}`, { cause: error })
  }

  await removeStaleSocketFolders(tmpdir(), logger)
  let pglite: PGlite | undefined
  let server: PGLiteSocketServer | undefined
  let socketDir: string | undefined
  const cleanUp = async () => {
    await server?.stop().catch(() => undefined)
    await pglite?.close().catch(() => undefined)
    if (socketDir !== undefined) rmSync(socketDir, { recursive: true, force: true })
    releaseLock()
  }
  try {
    pglite = await createPglite(join(config.dataDir, 'pgdata'))
    chmodSync(join(config.dataDir, 'pgdata'), 0o700)
    // A private folder (mode 0700) for the socket, so no other local user can connect to it; made
    // only now, just before serving, so that a folder without a socket is never one being set up.
    socketDir = mkdtempSync(join(tmpdir(), `${SOCKET_FOLDER_PREFIX}${process.pid}-`))
    // The multiplexer serialises statements on PGlite's single backend; the pool keeps one
    // connection (never closed when idle), and the spare slots only absorb reconnects.
    server = new PGLiteSocketServer({ db: pglite, path: join(socketDir, SOCKET_NAME), maxConnections: 4 })
    await server.start()
  } catch (error) {
    await cleanUp()
    throw new StartupError(`The embedded database in ${config.dataDir} could not be opened: ${(error as Error).message}`, {
      cause: error,
    })
  }
  const pool = guarded(new pg.Pool({
    host: socketDir,
    port: 5432,
    user: 'postgres',
    database: 'postgres',
    max: 1,
    types,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 0,
  }), (error) => outage.suspect(error))
  // The embedded database has one user, a superuser, whom no row-level policy binds: its one
  // connection enters the application's role (SET ROLE) for requests, and leaves it only while
  // asOwner holds the connection (nothing else can use it meanwhile).
  const db = kyselyOver(pool, true)
  const outage = new OutageLog(logger, () => ping(db, 2_000))
  let closed: Promise<void> | undefined
  return {
    db,
    kind: 'embedded',
    outage,
    ping: (timeoutMs = 2_000) => ping(db, timeoutMs),
    asOwner: (work) =>
      db.connection().execute(async (connection) => {
        await sql`RESET ROLE`.execute(connection)
        try {
          return await work(connection)
        } finally {
          await connection.executeQuery(ENTER_APPLICATION_ROLE)
        }
      }),
    close() {
      outage.stop()
      closed ??= db.destroy().then(cleanUp)
      return closed
    },
  }
}

/**
 * PGlite as the portal runs it, for the server, the scripts and the tests alike:
 *
 * - shared_buffers of 16 MB instead of PostgreSQL's 128 MB: the buffers live in PGlite's
 *   WebAssembly memory, which never shrinks, and the operating system caches the data files anyway;
 *   this takes about 130 MB off the resident memory;
 * - its WebAssembly compiled by V8's baseline compiler (Liftoff) only: optimising PostgreSQL's
 *   9 MB of WebAssembly again with TurboFan costs about 80 MB of code and the CPU to compile it,
 *   for queries that measured no faster here (bench:http, README). The flag is set around PGlite's
 *   compilation only; libsodium's WebAssembly is compiled as usual.
 */
export async function createPglite(pgdata: string): Promise<PGlite> {
  setFlagsFromString('--liftoff-only')
  try {
    return await PGlite.create(pgdata, { startParams: [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB'] })
  } finally {
    setFlagsFromString('--no-liftoff-only')
  }
}

export async function openDatabase(config: Config, logger: Logger): Promise<Database> {
  if (config.databaseUrl !== null) return openPostgres({ ...config, databaseUrl: config.databaseUrl }, logger)
  return openEmbedded(config, logger)
}

/**
 * The embedded database opened directly (not served), for the backup and restore scripts: the
 * portal must not be running on it (the lock says so if it is). Its one user is a superuser.
 */
export async function withEmbeddedPglite<T>(dataDir: string, work: (pglite: PGlite) => Promise<T>): Promise<T> {
  const release = await acquireLock(dataDir)
  let pglite: PGlite | undefined
  try {
    pglite = await createPglite(join(dataDir, 'pgdata'))
    return await work(pglite)
  } finally {
    await pglite?.close().catch(() => undefined)
    release()
  }
}
