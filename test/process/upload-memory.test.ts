import t from 'tap'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MAX_ENCRYPTED_EVIDENCE_BYTES } from '../../crypto/index.ts'
import { fingerprint } from '../../crypto/fingerprint.ts'
import { publicKeysOf } from '../../crypto/keys.ts'
import { newGroupKeys } from '../../crypto/staff-keys.ts'
import { seedService } from '../../scripts/lib/staff-fixtures.ts'
import { loadConfig } from '../../server/config.ts'
import { openDatabase } from '../../server/db/database.ts'
import { createLogger } from '../../server/logger.ts'
import { prepareDatabase } from '../../server/server.ts'
import { createTestDatabase } from '../helpers/database.ts'

/**
 * The target for uploads (issue 19, point 4), against the real process as `npm start` runs
 * it: twenty 25 MB uploads at once raise its resident memory by at most 64 MiB, because each is
 * written to the database piece by piece as it arrives, never held whole. The caps are raised (by
 * environment) so that all twenty are taken; every one must arrive whole and be stored.
 *
 * Resident memory is read from /proc/<pid>/status: VmRSS, sampled throughout, and VmHWM, the
 * peak, reset through /proc/<pid>/clear_refs after the warm-up where the kernel allows it. One
 * upload goes first, alone, so that the baseline already holds what any first upload brings (code
 * loaded and compiled, the database's first use of the table); with the embedded database the
 * baseline includes PostgreSQL itself, which runs inside the process.
 */

const UPLOADS = 20
const LIMIT_MIB = 64

function residentKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (match === null) throw new Error(`no ${field} for ${pid}`)
  return Number(match[1])
}

/** Resets the process's peak resident size (Linux 4.0+); false where the kernel does not allow it. */
function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5')
    return true
  } catch {
    return false
  }
}

function post(port: number, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const sending = request({ host: '127.0.0.1', port, method: 'POST', path: '/report/uploads', headers: { 'content-type': 'application/octet-stream', 'content-length': body.length } }, (response) => {
      response.resume()
      response.on('end', () => resolve(response.statusCode ?? 0))
    })
    sending.on('error', reject)
    sending.end(body)
  })
}

t.test(`${UPLOADS} uploads of 25 MB at once raise the server's resident memory by at most ${LIMIT_MIB} MiB`, async (t) => {
  const testDatabase = await createTestDatabase(t)
  const scratch = mkdtempSync(join(tmpdir(), 'safe-disclosure-upload-memory-'))
  t.teardown(() => rmSync(scratch, { recursive: true, force: true }))
  const serviceKeys = await newGroupKeys()
  const env = {
    ...testDatabase.env,
    SERVICE_KEY_FINGERPRINT: await fingerprint(publicKeysOf(serviceKeys)),
    RETENTION_JOB: 'false',
    UPLOADS_AT_ONCE: String(UPLOADS),
    UPLOADS_AT_ONCE_PER_ADDRESS: String(UPLOADS),
    UPLOAD_MB_PER_HOUR: '100000',
    UPLOAD_MB_PER_HOUR_PER_ADDRESS: '100000',
    // No administrator exists here, so the server writes a first-run link: into a temporary folder,
    // not the working directory (where it goes by default on PostgreSQL).
    FIRST_RUN_FILE: join(scratch, 'first-run-links.txt'),
  }
  // The schema and the IDVA service, made here; then the database is left to the server process.
  const config = loadConfig({ ...env, LOG_LEVEL: 'silent' })
  const logger = createLogger('silent')
  const database = await openDatabase(config, logger)
  await prepareDatabase(database, logger, config)
  await seedService(database.db, { keys: serviceKeys })
  await database.close()

  const child = spawn(process.execPath, ['--import', 'tsx', 'server/server.ts'], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  t.teardown(async () => {
    if (child.exitCode === null) child.kill('SIGKILL')
    await exited
  })
  const pid = child.pid!
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setInterval(() => {
      const match = /"port":(\d+),"database":"\w+","msg":"portal listening/.exec(output)
      if (match !== null) {
        clearInterval(timer)
        resolve(Number(match[1]))
      }
    }, 50)
    void exited.then((code) => {
      clearInterval(timer)
      reject(new Error(`server exited with ${code}:\n${output}`))
    })
  })

  // The largest encrypted file there can be: the server checks its framing, not its content.
  const file = randomBytes(MAX_ENCRYPTED_EVIDENCE_BYTES)
  file[0] = 1
  const warmUps = 1
  for (let i = 0; i < warmUps; i++) t.equal(await post(port, file), 201, `warm-up upload ${i + 1}`)
  await new Promise((resolve) => setTimeout(resolve, 1_000))
  const baseline = residentKiB(pid, 'VmRSS')
  const peakReset = resetPeak(pid)

  let sampled = baseline
  const sampler = setInterval(() => {
    sampled = Math.max(sampled, residentKiB(pid, 'VmRSS'))
  }, 20)
  const began = Date.now()
  const statuses = await Promise.all(Array.from({ length: UPLOADS }, () => post(port, file)))
  const elapsed = Date.now() - began
  clearInterval(sampler)
  const peak = Math.max(sampled, peakReset ? residentKiB(pid, 'VmHWM') : 0)

  t.same(statuses, Array<number>(UPLOADS).fill(201), `all ${UPLOADS} arrive whole (${elapsed} ms)`)
  const risenMiB = (peak - baseline) / 1024
  t.ok(risenMiB <= LIMIT_MIB, `resident memory rose by ${risenMiB.toFixed(1)} MiB (from ${(baseline / 1024).toFixed(0)} MiB; peak ${(peak / 1024).toFixed(0)} MiB${peakReset ? ', VmHWM' : ', sampled'}; ${testDatabase.kind})`)

  child.kill('SIGTERM')
  t.equal(await exited, 0, 'and it stops cleanly', { output })
  const after = await openDatabase(config, logger)
  t.teardown(() => after.close())
  const stored = await after.db
    .selectFrom('case_evidence')
    .leftJoin('case_evidence_pieces', 'case_evidence_pieces.evidence_id', 'case_evidence.id')
    .select(['case_evidence.id', (eb) => eb.fn.count<number>('case_evidence_pieces.piece').as('pieces')])
    .where('case_evidence.size', '=', MAX_ENCRYPTED_EVIDENCE_BYTES)
    .where('case_evidence.pieces_sealed', 'is not', null)
    .groupBy('case_evidence.id')
    .execute()
  t.equal(stored.length, UPLOADS + warmUps, 'every upload is stored, whole')
  t.ok(stored.every((row) => Number(row.pieces) === Math.ceil(MAX_ENCRYPTED_EVIDENCE_BYTES / (256 * 1024))), 'each in all its pieces')
})
