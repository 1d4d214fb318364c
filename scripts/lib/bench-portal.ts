import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fingerprint } from '../../crypto/fingerprint.ts'
import { publicKeysOf } from '../../crypto/keys.ts'
import type { PublicKeySet } from '../../crypto/index.ts'
import { loadConfig } from '../../server/config.ts'
import { createLogger } from '../../server/logger.ts'
import { prepareDatabase } from '../../server/server.ts'
import { freePort } from '../../test/helpers/app.ts'
import { SERVER_NODE_FLAGS } from './server-build.mjs'
import { createTestDatabase } from '../../test/helpers/database.ts'
import { seedAccount, seedGrant, seedService, type SeededStaff } from './staff-fixtures.ts'

/**
 * A portal for the benchmarks (bench:soak, bench:http): a new database (a temporary embedded one,
 * or a temporary database on the DATABASE_URL server) seeded as `npm run demo` seeds one (the IDVA
 * service and its pin, an IDVA with access, an administrator, so no first-run link is issued), and
 * `npm start`'s own launcher (scripts/start.mjs: the compiled server) started on a free loopback port with the given settings. Its
 * error log lines are collected, and its resident memory can be read while it runs.
 */

export interface BenchPortal {
  /** `embedded` or `postgresql`. */
  readonly kind: string
  readonly origin: string
  readonly port: number
  readonly pid: number
  readonly child: ChildProcess
  readonly service: PublicKeySet
  /** The seeded IDVA, with access to the service. */
  readonly idva: SeededStaff
  /** Error lines (level 50 and above) the server has logged so far. */
  readonly serverErrors: string[]
  /** The server's resident memory (VmRSS), in MB; null once it has gone. */
  residentMegabytes(): number | null
  /** SIGTERM, then up to 30 s for a clean exit: the exit code, or 'still running' (then killed). */
  stop(): Promise<number | null | 'still running'>
  /** Kills the server if it still runs and removes the database and the scratch folder. */
  cleanUp(): Promise<void>
}

/** Starts a seeded portal; on failure, cleans up and throws with the server's last output. */
export async function startBenchPortal(options: { name: string; env: Readonly<Record<string, string>> }): Promise<BenchPortal> {
  const teardowns: (() => unknown)[] = []
  const cleanUp = async () => {
    for (const teardown of teardowns.splice(0).reverse()) await teardown()
  }
  const scratch = mkdtempSync(join(tmpdir(), `safe-disclosure-${options.name}-`))
  teardowns.push(() => rmSync(scratch, { recursive: true, force: true }))
  const testDatabase = await createTestDatabase({ teardown: (fn: () => unknown) => teardowns.push(fn) } as never)
  const seedConfig = loadConfig({ HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'silent', ...testDatabase.env })
  const seedLogger = createLogger('silent')
  const database = await testDatabase.open(seedConfig, seedLogger)
  let seeded: { service: Awaited<ReturnType<typeof seedService>>; idva: SeededStaff }
  try {
    await prepareDatabase(database, seedLogger, seedConfig)
    const service = await seedService(database.db)
    const idva = await seedAccount(database.db, seedConfig.serverSecret, { username: `${options.name}.idva`, role: 'idva', groupId: service.id, passphrase: `${options.name} idva passphrase for a made-up portal` })
    await seedGrant(database.db, idva, service)
    // An administrator exists, so the server issues no first-run link.
    await seedAccount(database.db, seedConfig.serverSecret, { username: `${options.name}.admin`, role: 'admin' })
    seeded = { service, idva }
  } finally {
    await database.close()
  }

  const port = await freePort()
  const serverEnv: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'info',
    RETENTION_JOB: 'false',
    FIRST_RUN_FILE: join(scratch, 'first-run-links.txt'),
    SERVICE_KEY_FINGERPRINT: await fingerprint(publicKeysOf(seeded.service.keys)),
    ...testDatabase.env,
    ...options.env,
  }
  // BENCH_CPU_PROFILE=folder: the server writes a V8 CPU profile there when it stops (node --cpu-prof).
  const profile = process.env.BENCH_CPU_PROFILE === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROFILE}`]
  const child = spawn(process.execPath, [...profile, ...SERVER_NODE_FLAGS, 'scripts/start.mjs'], { env: serverEnv, stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const serverErrors: string[] = []
  let serverOutput = ''
  let listening: () => void = () => undefined
  const ready = new Promise<void>((resolve) => (listening = resolve))
  let pending = ''
  child.stdout!.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8')
    const lines = pending.split('\n')
    pending = lines.pop() ?? ''
    for (const line of lines) {
      if (line.includes('"msg":"portal listening')) listening()
      try {
        const entry = JSON.parse(line) as { level?: number; msg?: string; err?: { type?: string; message?: string } }
        if ((entry.level ?? 0) >= 50) serverErrors.push(`${entry.msg ?? ''}${entry.err === undefined ? '' : `: ${entry.err.type ?? ''} ${entry.err.message ?? ''}`}`)
      } catch {
        serverOutput += `${line}\n`
      }
    }
  })
  child.stderr!.on('data', (chunk: Buffer) => (serverOutput += chunk.toString('utf8')))
  teardowns.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exited
    }
  })
  const started = await Promise.race([ready.then(() => true), exited.then(() => false), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 120_000))])
  if (!started) {
    await cleanUp()
    throw new Error(`the server did not start:\n${serverOutput.slice(-2000)}`)
  }
  const pid = child.pid!
  return {
    kind: testDatabase.kind,
    origin: `http://127.0.0.1:${port}`,
    port,
    pid,
    child,
    service: { encryption: seeded.service.keys.encryption.publicKey, signing: seeded.service.keys.signing.publicKey },
    idva: seeded.idva,
    serverErrors,
    residentMegabytes() {
      try {
        const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
        return match === null ? null : Number(match[1]) / 1024
      } catch {
        return null
      }
    },
    async stop() {
      child.kill('SIGTERM')
      return Promise.race([exited, new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), 30_000))])
    },
    cleanUp,
  }
}
