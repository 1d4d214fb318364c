import { execFile, execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import type { Test } from 'tap'
import { promisify } from 'node:util'
import { freePort } from './app.ts'
import { TEST_SECRET } from './database.ts'

/**
 * A PostgreSQL server of the test's own, in a temporary folder on a free port, for tests that stop
 * and restart it: never the machine's shared server, which other test files use at the same time.
 * Trust authentication on 127.0.0.1 only; removed at teardown.
 */

export interface PrivatePostgres {
  /** The superuser's URL (database postgres). */
  readonly url: string
  /** Environment for the portal: a new database, migrated by its owner, and a restricted application role (as test/helpers/database.ts sets up). */
  portalDatabase(): Promise<Record<string, string>>
  start(): Promise<void>
  /** pg_ctl stop -m fast: connections are ended at once. */
  stop(): Promise<void>
  restart(): Promise<void>
  /** The server's own log, for a failure's message. */
  readonly logFile: string
}

function binaries(): string | null {
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return null
  const versions = readdirSync(root).filter((version) => existsSync(join(root, version, 'bin', 'initdb')) && existsSync(join(root, version, 'bin', 'pg_ctl')))
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0]
  return newest === undefined ? null : join(root, newest, 'bin')
}

/** The user to run PostgreSQL as: ourselves, or (initdb refuses root) the postgres user. */
function runAs(): { uid: number; gid: number; prefix: string[] } | null {
  const uid = process.getuid?.() ?? 0
  if (uid !== 0) return { uid, gid: process.getgid?.() ?? 0, prefix: [] }
  try {
    const id = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim())
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim())
    execFileSync('runuser', ['--help'], { stdio: 'ignore' })
    return { uid: id, gid, prefix: ['runuser', '-u', 'postgres', '--'] }
  } catch {
    return null
  }
}

/** Why a private server cannot be started here, or null when it can. */
export function privatePostgresUnavailable(): string | null {
  if (binaries() === null) return 'no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql/*/bin'
  if (runAs() === null) return 'running as root, and there is no postgres user (or no runuser) to run initdb as'
  return null
}

export async function startPrivatePostgres(t: Test): Promise<PrivatePostgres> {
  const bin = binaries()
  const user = runAs()
  if (bin === null || user === null) throw new Error(privatePostgresUnavailable() ?? 'no private PostgreSQL')
  const folder = mkdtempSync(join(tmpdir(), 'safe-disclosure-private-pg-'))
  const dataDir = join(folder, 'data')
  const logFile = join(folder, 'server.log')
  chownSync(folder, user.uid, user.gid)
  const port = await freePort()
  // Asynchronous, so the load the test runs meanwhile goes on while PostgreSQL stops and starts.
  const run = async (program: string, args: string[]) => {
    const [command = '', ...before] = [...user.prefix, join(bin, program)]
    await promisify(execFile)(command, [...before, ...args], { encoding: 'utf8', timeout: 60_000 })
  }
  await run('initdb', ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8'])
  // Its socket in its own folder, TCP on 127.0.0.1 only; fsync off: the test throws it away.
  const options = `-p ${port} -k ${folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=40`
  let running = false
  const server: PrivatePostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    logFile,
    async start() {
      await run('pg_ctl', ['start', '-D', dataDir, '-w', '-t', '30', '-l', logFile, '-o', options])
      running = true
    },
    async stop() {
      await run('pg_ctl', ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '30'])
      running = false
    },
    async restart() {
      await run('pg_ctl', ['restart', '-D', dataDir, '-m', 'fast', '-w', '-t', '30', '-l', logFile, '-o', options])
      running = true
    },
    async portalDatabase() {
      const suffix = randomBytes(4).toString('hex')
      const name = `sd_fault_${suffix}`
      const appRole = `sd_fault_app_${suffix}`
      const admin = new pg.Client({ connectionString: server.url })
      await admin.connect()
      try {
        await admin.query(`CREATE DATABASE ${name}`)
        await admin.query(`DO $$ BEGIN
          IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'safe_disclosure_app') THEN CREATE ROLE safe_disclosure_app NOLOGIN; END IF;
        END $$`)
        await admin.query(`CREATE ROLE ${appRole} LOGIN IN ROLE safe_disclosure_app`)
      } finally {
        await admin.end()
      }
      const owner = `postgres://postgres@127.0.0.1:${port}/${name}`
      return { DATABASE_URL: `postgres://${appRole}@127.0.0.1:${port}/${name}`, DATABASE_MIGRATION_URL: owner, SERVER_SECRET: TEST_SECRET }
    },
  }
  await server.start()
  t.teardown(async () => {
    try {
      if (running) await server.stop()
    } finally {
      rmSync(folder, { recursive: true, force: true })
    }
  })
  return server
}
