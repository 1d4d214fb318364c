import { execFile } from 'node:child_process'
import { mkdirSync, readFileSync, readdirSync, writeFileSync, existsSync, chmodSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { gunzipSync, gzipSync } from 'node:zlib'
import { sql } from 'kysely'
import type { PGlite } from '@electric-sql/pglite'
import type { Config } from '../config.ts'
import { openDatabase, withEmbeddedPglite } from '../db/database.ts'
import { StartupError } from '../errors.ts'
import type { Logger } from '../logger.ts'
import { prepareDatabase } from '../server.ts'
import { verifyAuditChain } from '../audit/verify.ts'
import { RetentionJob, type RetentionReport } from '../retention/job.ts'
import { CaseVault } from '../security/case-vault.ts'
import { migrationNames } from '../db/migrate.ts'

/**
 * Backup and restore (README, "Backups"; SECURITY.md, "Backups").
 *
 * A backup is two parts kept apart: the **data** (every table but the key tables) and the **key
 * store** (`case_keys`, `referral_keys`: each case's and referral's data key, sealed under a key
 * derived from SERVER_SECRET). Everything a case holds is sealed under its data key, so once a case is
 * destroyed and the key-store backups taken while it existed have aged out (keep them for days, not
 * months), every data backup is unreadable for that case, even with SERVER_SECRET, the service's
 * private key and an IDVA's passphrase.
 *
 *   PostgreSQL  `pg_dump --format=custom` of schema and data without the key tables' rows, and a
 *               second `pg_dump` of just those rows; restored with `pg_restore` into an empty
 *               database. Run as a role that row-level security does not bind (BYPASSRLS or the
 *               superuser): the policies are forced, even on the owner.
 *   embedded    each table copied out in PostgreSQL's binary COPY format, with the sequences'
 *               positions, from the data directory (the portal must be stopped: it holds the lock);
 *               restored into an empty DATA_DIR whose schema the migrations make first.
 *
 * A restore checks the backup was made at the same schema version, loads it, verifies both audit
 * chains and runs retention before it says the database is ready.
 */

const run = promisify(execFile)
const FORMAT = 'safe-disclosure-backup'
export const KEY_TABLES = ['case_keys', 'referral_keys'] as const

export interface BackupManifest {
  readonly format: typeof FORMAT
  readonly version: 1
  readonly kind: 'embedded' | 'postgres'
  /** The day it was taken (a file name carries no finer time than the operator chooses). */
  readonly takenOn: string
  /** The migrations applied when it was taken: a restore needs the same. */
  readonly migrations: readonly string[]
  /** The data part's file, and the key store's (written elsewhere). */
  readonly data: string
  readonly keys: string
}

export interface BackupResult {
  readonly dataFile: string
  readonly keysFile: string
  readonly tables: number
}

function stamp(): string {
  return new Date().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-')
}

function postgresEnv(url: string): NodeJS.ProcessEnv {
  // The URL (with any password) goes to the child through its environment, never its arguments.
  const parsed = new URL(url)
  return {
    ...process.env,
    PGHOST: parsed.hostname,
    PGPORT: parsed.port === '' ? '5432' : parsed.port,
    PGUSER: decodeURIComponent(parsed.username),
    PGPASSWORD: decodeURIComponent(parsed.password),
    PGDATABASE: decodeURIComponent(parsed.pathname.slice(1)),
  }
}

async function tool(name: 'pg_dump' | 'pg_restore', args: readonly string[], url: string): Promise<void> {
  try {
    const env = postgresEnv(url)
    // pg_restore wants the database named on its command line (the name only: the rest, and any password, stay in the environment).
    await run(name, name === 'pg_restore' ? [`--dbname=${env.PGDATABASE!}`, ...args] : [...args], { env, maxBuffer: 16 * 1024 * 1024 })
  } catch (error) {
    const detail = ((error as { stderr?: string }).stderr ?? (error as Error).message).trim().split('\n')[0]
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new StartupError(`${name} was not found: install PostgreSQL's client tools (Debian: postgresql-client)`)
    throw new StartupError(`${name} failed: ${detail}`)
  }
}

/** Writes a backup: the data part into `outDir`, the key store into `keysDir`. */
export async function takeBackup(config: Config, logger: Logger, outDir: string, keysDir: string): Promise<BackupResult> {
  const id = `portal-${stamp()}`
  for (const dir of [outDir, keysDir]) {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    chmodSync(dir, 0o700)
  }
  const dataName = `${id}.${config.databaseUrl === null ? 'data.bin' : 'data.dump'}`
  const keysName = `${id}.${config.databaseUrl === null ? 'keys.bin' : 'keys.dump'}`
  let migrations: string[]
  let tables: number
  if (config.databaseUrl === null) {
    const result = await withEmbeddedPglite(config.dataDir, async (pglite) => {
      const names = (await pglite.query<{ tablename: string }>(`SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename`)).rows.map((row) => row.tablename)
      const applied = (await pglite.query<{ name: string }>(`SELECT name FROM kysely_migration ORDER BY name`)).rows.map((row) => row.name)
      await pglite.query('BEGIN ISOLATION LEVEL REPEATABLE READ')
      try {
        writeFileSync(join(outDir, dataName), gzipSync(await copyOut(pglite, names.filter((name) => !(KEY_TABLES as readonly string[]).includes(name)), true)), { mode: 0o600 })
        writeFileSync(join(keysDir, keysName), gzipSync(await copyOut(pglite, [...KEY_TABLES], false)), { mode: 0o600 })
      } finally {
        await pglite.query('COMMIT')
      }
      return { applied, tables: names.length }
    })
    migrations = result.applied
    tables = result.tables
  } else {
    const url = config.databaseMigrationUrl ?? config.databaseUrl
    const database = await openDatabase(config, logger)
    try {
      // As the owner: the application's role cannot read the migrations table.
      ;({ migrations, tables } = await database.asOwner(async (owner) => ({
        migrations: (await sql<{ name: string }>`SELECT name FROM kysely_migration ORDER BY name`.execute(owner)).rows.map((row) => row.name),
        tables: Number((await sql<{ n: string }>`SELECT count(*) AS n FROM pg_tables WHERE schemaname = current_schema()`.execute(owner)).rows[0]!.n),
      })))
    } finally {
      await database.close()
    }
    await tool('pg_dump', ['--format=custom', '--no-owner', ...KEY_TABLES.map((table) => `--exclude-table-data=${table}`), `--file=${join(outDir, dataName)}`], url)
    await tool('pg_dump', ['--format=custom', '--data-only', '--no-owner', ...KEY_TABLES.map((table) => `--table=${table}`), `--file=${join(keysDir, keysName)}`], url)
    chmodSync(join(outDir, dataName), 0o600)
    chmodSync(join(keysDir, keysName), 0o600)
  }
  const manifest: BackupManifest = { format: FORMAT, version: 1, kind: config.databaseUrl === null ? 'embedded' : 'postgres', takenOn: new Date().toISOString().slice(0, 10), migrations, data: dataName, keys: keysName }
  writeFileSync(join(outDir, `${id}.json`), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 })
  return { dataFile: join(outDir, dataName), keysFile: join(keysDir, keysName), tables }
}

/**
 * The embedded format: for each table a header line (JSON: table, byte length) and then the table
 * in PostgreSQL's binary COPY format; with the sequences' positions first when `sequences` is set.
 */
async function copyOut(pglite: PGlite, tables: readonly string[], sequences: boolean): Promise<Buffer> {
  const parts: Buffer[] = []
  if (sequences) {
    const rows = (await pglite.query<{ name: string }>(`SELECT sequencename AS name FROM pg_sequences WHERE schemaname = current_schema() ORDER BY 1`)).rows
    const positions: Record<string, { value: string; called: boolean }> = {}
    for (const { name } of rows) {
      const position = (await pglite.query<{ last_value: string; is_called: boolean }>(`SELECT last_value::text, is_called FROM ${quoteIdent(name)}`)).rows[0]!
      positions[name] = { value: position.last_value, called: position.is_called }
    }
    parts.push(Buffer.from(`${JSON.stringify({ sequences: positions })}\n`))
  }
  for (const table of tables) {
    const result = await pglite.query(`COPY ${quoteIdent(table)} TO '/dev/blob' WITH (FORMAT binary)`)
    const bytes = Buffer.from(await result.blob!.arrayBuffer())
    parts.push(Buffer.from(`${JSON.stringify({ table, bytes: bytes.length })}\n`), bytes)
  }
  return Buffer.concat(parts)
}

interface Unpacked {
  readonly sequences: Record<string, { value: string; called: boolean }>
  readonly tables: { table: string; bytes: Buffer }[]
}

function unpack(file: Buffer): Unpacked {
  const data = gunzipSync(file)
  let at = 0
  let sequences: Unpacked['sequences'] = {}
  const tables: Unpacked['tables'] = []
  while (at < data.length) {
    const end = data.indexOf(0x0a, at)
    if (end < 0) throw new StartupError('the backup file is cut short or not a backup')
    const header = JSON.parse(data.subarray(at, end).toString('utf8')) as { sequences?: Unpacked['sequences']; table?: string; bytes?: number }
    at = end + 1
    if (header.sequences !== undefined) {
      sequences = header.sequences
      continue
    }
    if (typeof header.table !== 'string' || typeof header.bytes !== 'number' || at + header.bytes > data.length) throw new StartupError('the backup file is cut short or not a backup')
    tables.push({ table: header.table, bytes: data.subarray(at, at + header.bytes) })
    at += header.bytes
  }
  return { sequences, tables }
}

function quoteIdent(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new StartupError(`unexpected table name in the backup: ${JSON.stringify(name)}`)
  return `"${name}"`
}

export interface RestoreResult {
  readonly kind: 'embedded' | 'postgres'
  readonly keysRestored: boolean
  readonly auditEntries: { readonly staff: number; readonly case: number }
  readonly retention: RetentionReport
}

function readManifest(from: string): { manifest: BackupManifest; dir: string } {
  const path = resolve(from)
  const file = path.endsWith('.json') ? path : readdirSync(path).filter((name) => name.endsWith('.json')).sort().map((name) => join(path, name)).pop()
  if (file === undefined || !existsSync(file)) throw new StartupError(`no backup found at ${from}: give the backup's .json file, or the folder that holds it`)
  const manifest = JSON.parse(readFileSync(file, 'utf8')) as BackupManifest
  if (manifest.format !== FORMAT || manifest.version !== 1) throw new StartupError(`${file} is not a backup of this portal`)
  return { manifest, dir: file.slice(0, file.lastIndexOf('/')) }
}

/**
 * Loads a backup into the configured database, which must be empty (a new DATA_DIR, or a new
 * PostgreSQL database), then verifies both audit chains and runs retention. Without the key store,
 * the cases come back sealed under keys that are not there: nothing a case held can be read.
 */
export async function restoreBackup(config: Config, logger: Logger, from: string, keysFile: string | null): Promise<RestoreResult> {
  const { manifest, dir } = readManifest(from)
  const kind = config.databaseUrl === null ? 'embedded' : 'postgres'
  if (manifest.kind !== kind) throw new StartupError(`this backup is of ${manifest.kind === 'embedded' ? 'an embedded database' : 'PostgreSQL'}: restore it with ${manifest.kind === 'embedded' ? 'no DATABASE_URL' : 'DATABASE_URL set'}`)
  const ours = migrationNames()
  if (ours.length !== manifest.migrations.length || ours.some((name, index) => name !== manifest.migrations[index])) {
    throw new StartupError('this backup was taken at another version of the portal (its migrations differ): restore it with that version, then upgrade')
  }
  const dataFile = join(dir, manifest.data)
  if (kind === 'embedded') {
    if (existsSync(join(config.dataDir, 'pgdata'))) throw new StartupError(`DATA_DIR ${config.dataDir} already holds a database: restore into an empty folder`)
    // The schema first, as the portal makes it; then the rows, with triggers and checks off while they load.
    const fresh = await openDatabase(config, logger)
    try {
      await prepareDatabase(fresh, logger, config)
    } finally {
      await fresh.close()
    }
    const data = unpack(readFileSync(dataFile))
    const keys = keysFile === null ? null : unpack(readFileSync(keysFile))
    await withEmbeddedPglite(config.dataDir, async (pglite) => {
      await pglite.transaction(async (tx) => {
        await tx.query('SET LOCAL session_replication_role = replica')
        const names = (await tx.query<{ tablename: string }>(`SELECT tablename FROM pg_tables WHERE schemaname = current_schema()`)).rows.map((row) => row.tablename)
        await tx.query(`TRUNCATE ${names.map(quoteIdent).join(', ')}`)
        for (const part of [...data.tables, ...(keys?.tables ?? [])]) {
          await tx.query(`COPY ${quoteIdent(part.table)} FROM '/dev/blob' WITH (FORMAT binary)`, [], { blob: new Blob([new Uint8Array(part.bytes)]) })
        }
        for (const [name, position] of Object.entries(data.sequences)) {
          await tx.query(`SELECT setval($1::regclass, $2::bigint, $3)`, [quoteIdent(name), position.value, position.called])
        }
      })
    })
  } else {
    const url = config.databaseMigrationUrl ?? config.databaseUrl!
    const probe = await openDatabase(config, logger)
    try {
      await probe.asOwner(async (owner) => {
        const existing = Number((await sql<{ n: string }>`SELECT count(*) AS n FROM pg_tables WHERE schemaname = current_schema()`.execute(owner)).rows[0]!.n)
        if (existing > 0) throw new StartupError('the database already holds tables: restore into a new, empty database')
        await sql`
          DO $$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'safe_disclosure_app') THEN CREATE ROLE safe_disclosure_app NOLOGIN; END IF;
          EXCEPTION WHEN insufficient_privilege THEN NULL;
          END $$`.execute(owner)
      })
    } finally {
      await probe.close()
    }
    await tool('pg_restore', ['--no-owner', '--exit-on-error', '--single-transaction', dataFile], url)
    if (keysFile !== null) await tool('pg_restore', ['--data-only', '--no-owner', '--exit-on-error', '--single-transaction', keysFile], url)
  }

  // Before anything is served: the audit chains are whole, and nothing past its day comes back.
  const database = await openDatabase(config, logger)
  try {
    await prepareDatabase(database, logger, config)
    const staff = await verifyAuditChain(database.db, 1_000, 'staff')
    const anonymous = await verifyAuditChain(database.db, 1_000, 'case')
    const broken = [...staff.breaks, ...anonymous.breaks]
    if (broken.length > 0) throw new StartupError(`the restored audit log is broken at entry ${broken[0]!.seq}: ${broken[0]!.reason}. Do not serve this database.`)
    const retention = await new RetentionJob(database, new CaseVault(config.serverSecret), config.retention, logger, null).runOnce()
    return { kind, keysRestored: keysFile !== null, auditEntries: { staff: staff.entries, case: anonymous.entries }, retention }
  } finally {
    await database.close()
  }
}
