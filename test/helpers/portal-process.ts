import { AsyncLocalStorage } from 'node:async_hooks'
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { base64url, signCaseLogin, type CaseKeys, type KeySet, type PublicKeySet } from '../../crypto/index.ts'
import { fingerprint } from '../../crypto/fingerprint.ts'
import { publicKeysOf } from '../../crypto/keys.ts'
import { newGroupKeys } from '../../crypto/staff-keys.ts'
import { seedService } from '../../scripts/lib/staff-fixtures.ts'
import { loadConfig } from '../../server/config.ts'
import { openDatabase } from '../../server/db/database.ts'
import { createLogger } from '../../server/logger.ts'
import { prepareDatabase } from '../../server/server.ts'
import { b64, disclosureBody, encryptedFile, newReporter, postNewCase, servicePublic, type Reporter } from './reporter.ts'
import { SERVER_NODE_FLAGS } from '../../scripts/lib/server-build.mjs'

/**
 * A real portal process under load, for the fault tests (test/process/): it is started as
 * `npm start` starts it, driven over HTTP by many made-up reporters at once, killed or starved of
 * its database, and started again; then every submission it acknowledged is opened at /return.
 */

const SERVER = [...SERVER_NODE_FLAGS, 'scripts/start.mjs']

/**
 * The process sits behind a made-up reverse proxy (TRUST_PROXY=127.0.0.1): each reporter comes
 * from an address of their own (X-Forwarded-For), as real ones do, so the per-address limits of
 * a single machine do not decide the test. PUBLIC_ORIGIN must then be https.
 */
export const PUBLIC_ORIGIN = 'https://portal.test'

export async function portalEnvironment(t: Test, databaseEnv: Readonly<Record<string, string>>, serviceKeys: KeySet): Promise<Record<string, string>> {
  // No administrator is seeded, so the portal writes its first-run links: into a folder of the
  // test's own (by default, with DATABASE_URL, they would go to the working directory).
  const links = mkdtempSync(join(tmpdir(), 'safe-disclosure-links-'))
  t.teardown(() => rmSync(links, { recursive: true, force: true }))
  return {
    FIRST_RUN_FILE: join(links, 'first-run-links.txt'),
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'info',
    TRUST_PROXY: '127.0.0.1',
    PUBLIC_ORIGIN,
    SERVICE_KEY_FINGERPRINT: await fingerprint(publicKeysOf(serviceKeys)),
    // The whole portal's hourly cap is not what these tests measure.
    CASES_PER_HOUR: '100000',
    // A proof of work the tests' reporters solve at once.
    PROOF_OF_WORK_BITS: '4',
    RETENTION_JOB: 'false',
    ...databaseEnv,
  }
}

/** Migrates the database and seeds the IDVA service (whose keys the portal pins), then closes it. */
export async function seedPortalDatabase(databaseEnv: Readonly<Record<string, string>>): Promise<KeySet> {
  const keys = await newGroupKeys()
  const config = loadConfig({ ...databaseEnv, RETENTION_JOB: 'false', SERVICE_KEY_FINGERPRINT: await fingerprint(publicKeysOf(keys)) })
  const logger = createLogger('warn', process.stderr)
  const database = await openDatabase(config, logger)
  try {
    await prepareDatabase(database, logger, config)
    await seedService(database.db, { keys })
  } finally {
    await database.close()
  }
  return keys
}

export interface PortalProcess {
  readonly child: ChildProcess
  readonly pid: number
  readonly origin: string
  /** Everything it wrote, standard output and standard error. */
  output(): string
  /** Its log lines (JSON) from standard output. */
  logEntries(): Record<string, unknown>[]
  readonly exited: Promise<number | null>
}

/** Starts the portal as `npm start` does (scripts/start.mjs: the compiled server) and waits until it listens. Killed at teardown. */
export async function startPortal(t: Test, env: Readonly<Record<string, string>>): Promise<PortalProcess> {
  const child = spawn(process.execPath, SERVER, { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exited
    }
  })
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the portal did not start within 60 s:\n${output}`)), 60_000)
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      const match = /"port":(\d+),"database":"(embedded|postgres)","msg":"portal listening/.exec(output)
      if (match !== null) {
        clearTimeout(timer)
        resolve(Number(match[1]))
      }
    })
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`the portal exited with ${code}:\n${output}`))
    })
  })
  return {
    child,
    pid: child.pid!,
    origin: `http://127.0.0.1:${port}`,
    output: () => output,
    logEntries: () =>
      output
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    exited,
  }
}

/** A made-up client address: any of many /8s, so no prefix the limits count is shared. */
export function clientAddress(): string {
  const [a = 0, b = 0, c = 0, d = 0] = randomBytes(4)
  return `${11 + (a % 100)}.${b}.${c}.${d | 1}`
}

/** One response a client received, as the tests judge them: never a 500, a 503 says when to retry. */
export interface Seen {
  readonly path: string
  readonly status: number
  readonly retryAfter: string | null
  /** The body of a 5xx answer (the others are not kept). */
  readonly body: string | null
  readonly at: number
}

const client = new AsyncLocalStorage<string>()

/**
 * Everything sent to the portal through fetch from inside `asClient` comes from that client's
 * address (X-Forwarded-For, trusted from 127.0.0.1) and from the portal's own pages
 * (Sec-Fetch-Site, which PUBLIC_ORIGIN's scheme would otherwise not match), as a browser's
 * requests do; each response is noted in `seen`. The helpers that send (postNewCase, which also
 * fetches a proof-of-work puzzle) need not know.
 */
export function watchResponses(t: Test): Seen[] {
  const seen: Seen[] = []
  const original = globalThis.fetch
  globalThis.fetch = async (input: string | URL | Request, init?: RequestInit) => {
    const address = client.getStore()
    if (address === undefined) return original(input, init)
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined))
    headers.set('x-forwarded-for', address)
    headers.set('sec-fetch-site', 'same-origin')
    const response = await original(input, { ...init, headers })
    const url = new URL(input instanceof Request ? input.url : input.toString())
    const body = response.status >= 500 ? await response.clone().text() : null
    seen.push({ path: url.pathname, status: response.status, retryAfter: response.headers.get('retry-after'), body, at: Date.now() })
    return response
  }
  t.teardown(() => {
    globalThis.fetch = original
  })
  return seen
}

/** Runs `work` as one client, from an address of its own. */
export function asClient<T>(work: () => Promise<T>, address = clientAddress()): Promise<T> {
  return client.run(address, work)
}

/** A submission as the load sent it, and what came back. */
export interface Submission {
  readonly reporter: Reporter
  readonly body: Record<string, unknown> & { envelope: string }
  /** The evidence files it carried (encrypted, as uploaded). */
  readonly evidence: { id: string; encrypted: Uint8Array }[]
  /** The answer to POST /report (or to its upload, when that failed); null when none came (no connection, or it was cut). */
  status: number | null
}

/** POST /report/uploads over HTTP, as the browser sends an encrypted file. */
async function uploadEvidence(origin: string, encrypted: Uint8Array): Promise<{ id: string; token: string } | number> {
  const response = await fetch(`${origin}/report/uploads`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from(encrypted) })
  if (response.status !== 201) {
    await response.arrayBuffer()
    return response.status
  }
  return (await response.json()) as { id: string; token: string }
}

/** One reporter: evidence first (when `withEvidence`), then the disclosure that lists it. */
export async function submitOne(origin: string, service: PublicKeySet, withEvidence: boolean): Promise<Submission> {
  return asClient(async () => {
    const reporter = await newReporter()
    const evidence: Submission['evidence'] = []
    const uploads: { id: string; token: string }[] = []
    const keys: { id: string; key: string }[] = []
    let status: number | null = null
    try {
      if (withEvidence) {
        const { key, encrypted } = await encryptedFile(randomBytes(3_000 + (randomBytes(1)[0]! << 6)))
        const uploaded = await uploadEvidence(origin, encrypted)
        if (typeof uploaded === 'number') return { reporter, body: { envelope: '' }, evidence, status: uploaded }
        uploads.push(uploaded)
        evidence.push({ id: uploaded.id, encrypted })
        keys.push({ id: uploaded.id, key: b64(key.key) })
      }
      const content = withEvidence ? { v: 1, text: 'made up for a fault test', evidence: keys } : undefined
      const body = await disclosureBody(reporter, service, content, uploads)
      const submission: Submission = { reporter, body, evidence, status }
      try {
        submission.status = (await postNewCase(origin, body)).status
      } catch {
        // No answer: the connection was cut.
      }
      return submission
    } catch {
      return { reporter, body: { envelope: '' }, evidence, status }
    }
  })
}

export interface Load {
  /** Every submission started, in order. */
  readonly submissions: Submission[]
  /** Those answered 201. */
  acknowledged(): Submission[]
  /** Resolves once `count` more submissions than now have been acknowledged. */
  untilAcknowledged(count: number, timeoutMs?: number): Promise<void>
  /** Stops starting new submissions and waits for those in flight. */
  stop(): Promise<void>
}

/**
 * `concurrency` reporters at a time submit, one after another, until stopped or `limit` have
 * been answered; every `evidenceEvery`-th carries an encrypted file. After a refusal a reporter
 * waits a quarter of a second (less than Retry-After asks: the tests want to be refused often),
 * and a second when nothing answered (the process is down: a restart takes seconds).
 */
export function submissionLoad(options: { origin: () => string; service: PublicKeySet; concurrency: number; limit: number; evidenceEvery: number }): Load {
  const submissions: Submission[] = []
  let running = true
  let started = 0
  let answered = 0
  const acknowledged = () => submissions.filter((submission) => submission.status === 201)
  const lane = async () => {
    while (running && answered < options.limit) {
      const withEvidence = started % options.evidenceEvery === 0
      started += 1
      const submission = await submitOne(options.origin(), options.service, withEvidence)
      submissions.push(submission)
      if (submission.status !== null) answered += 1
      if (submission.status !== 201) await new Promise((resolve) => setTimeout(resolve, submission.status === null ? 1_000 : 250))
    }
  }
  const lanes = Promise.all(Array.from({ length: options.concurrency }, lane))
  return {
    submissions,
    acknowledged,
    async untilAcknowledged(count, timeoutMs = 60_000) {
      const target = acknowledged().length + count
      const deadline = Date.now() + timeoutMs
      while (acknowledged().length < target) {
        if (Date.now() > deadline) throw new Error(`only ${acknowledged().length} of ${target} submissions acknowledged in ${timeoutMs} ms`)
        if (!running || answered >= options.limit) throw new Error(`the load ended with ${acknowledged().length} of ${target} acknowledged`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    },
    async stop() {
      running = false
      await lanes
    },
  }
}

/** The /return sign-in over HTTP, as the browser does it: a challenge, signed with the case's key. */
export async function openCaseOverHttp(origin: string, keys: CaseKeys): Promise<{ status: number; cookie: string }> {
  return asClient(async () => {
    const challenge = ((await (await fetch(`${origin}/return/challenge`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json()) as { challenge: string }).challenge
    const signature = await signCaseLogin(keys, base64url.decode(challenge, 'challenge'))
    const response = await fetch(`${origin}/return/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ challenge, lookupId: b64(keys.lookupId), signature: b64(signature) }),
    })
    await response.arrayBuffer()
    const cookie = /((?:__Host-)?sd_case=[A-Za-z0-9_-]{43})/.exec(response.headers.get('set-cookie') ?? '')?.[1] ?? ''
    return { status: response.status, cookie }
  })
}

/**
 * Opens an acknowledged submission at /return with its case keys, as its reporter would, and
 * checks the case holds exactly what was sent: the disclosure's envelope and each evidence file.
 * Returns what is wrong, or null.
 */
export async function checkReceipt(origin: string, submission: Submission): Promise<string | null> {
  const opened = await openCaseOverHttp(origin, submission.reporter.keys)
  if (opened.status !== 200 || opened.cookie === '') return `its code did not open it at /return (${opened.status})`
  return asClient(async () => {
    const thread = await fetch(`${origin}/return/thread`, { headers: { cookie: opened.cookie } })
    if (thread.status !== 200) return `its thread did not open (${thread.status})`
    const { messages } = (await thread.json()) as { messages: { envelope: string; evidence: { id: string }[] }[] }
    const first = messages[0]
    if (messages.length !== 1 || first === undefined) return `its thread holds ${messages.length} messages`
    if (first.envelope !== submission.body.envelope) return 'its disclosure is not the one sent'
    const listed = first.evidence.map((file) => file.id).sort()
    if (JSON.stringify(listed) !== JSON.stringify(submission.evidence.map((file) => file.id).sort())) return 'its evidence is not the files sent'
    for (const file of submission.evidence) {
      const download = await fetch(`${origin}/return/evidence/${file.id}`, { headers: { cookie: opened.cookie } })
      const bytes = Buffer.from(await download.arrayBuffer())
      if (download.status !== 200 || !bytes.equals(Buffer.from(file.encrypted))) return `its evidence file ${file.id} did not come back as sent`
    }
    return null
  })
}

/** Polls GET /healthz every `everyMs` until stopped; the statuses, in order, with Retry-After. */
export function watchHealth(origin: () => string, everyMs = 200): { statuses: { status: number; retryAfter: string | null }[]; stop(): Promise<void> } {
  const statuses: { status: number; retryAfter: string | null }[] = []
  let running = true
  const loop = (async () => {
    while (running) {
      try {
        const response = await fetch(`${origin()}/healthz`, { signal: AbortSignal.timeout(6_000) })
        await response.arrayBuffer()
        statuses.push({ status: response.status, retryAfter: response.headers.get('retry-after') })
      } catch {
        // The process is down: nothing answered.
      }
      await new Promise((resolve) => setTimeout(resolve, everyMs))
    }
  })()
  return {
    statuses,
    async stop() {
      running = false
      await loop
    },
  }
}

export { servicePublic }
