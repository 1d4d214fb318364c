/**
 * Benchmark: a mixed load on a real server process for minutes, watching its memory.
 *
 *   npm run bench:soak                               10 minutes, embedded database (PGlite) in a temporary folder
 *   npm run bench:soak -- --minutes 2 --clients 6    shorter, more at once
 *   DATABASE_URL=postgres://… npm run bench:soak     on a new, temporary database on that server
 *   npm run bench:soak -- --json                     the summary as one JSON object (for test/process/soak.test.ts)
 *
 * Seeds a portal as `npm run demo` does (the IDVA service, its pin, an IDVA, an administrator),
 * starts the portal as `npm start` does (scripts/start.mjs) on a free loopback port, and runs `--clients` visitors
 * at once, each doing one thing after another until the time is up:
 *
 *   pages     /, /managers, a guide, /report, /return, /safety, and the bundle's static files
 *   submit    a new disclosure at /report (one in four with an encrypted evidence file uploaded first)
 *   return    /return: challenge, sign-in with the case's key, the thread, a follow-up message, sign-out
 *   staff     an IDVA signed in with passphrase and TOTP code: the queue, a case, its content
 *
 * Each visit comes from its own loopback address (127.a.b.c; Linux routes all of 127/8 to the
 * machine), as visits from many people would, and the per-address and per-network limits are
 * raised as well, so that the soak measures the server, not the limiter (the output says which).
 * The server's resident memory (VmRSS in /proc/<pid>/status) is sampled every two seconds.
 *
 * Prints the requests served by kind with latency percentiles, every error (any answer other than
 * the one expected, or a failed connection), the server's own error log lines, and the slope of its
 * resident memory after the warm-up (least squares, MB a minute). Exits 1 on any error, when the
 * server did not stop cleanly, or when the slope is over --max-slope (default 2 MB a minute)
 * measured over at least three minutes.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { randomBytes, randomInt } from 'node:crypto'
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import { availableParallelism } from 'node:os'
import { parseArgs } from 'node:util'
import { base64url, signCaseLogin } from '../crypto/index.ts'
import { deriveStaffSecrets } from '../crypto/staff-keys.ts'
import { loadGuidance } from '../server/features/managers/guidance.ts'
import { startBenchPortal, type BenchPortal } from './lib/bench-portal.ts'
import type { SeededStaff } from './lib/staff-fixtures.ts'
import { disclosureBody, encryptedFile, newReporter, postNewCase, sealFromReporter, type Reporter } from '../test/helpers/reporter.ts'
import { codeAt } from '../test/helpers/staff.ts'

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    clients: { type: 'string', default: '4' },
    'max-slope': { type: 'string', default: '2' },
    json: { type: 'boolean', default: false },
  },
})
const MINUTES = Number(values.minutes)
const CLIENTS = Number(values.clients)
const MAX_SLOPE = Number(values['max-slope'])
if (!(MINUTES > 0) || !Number.isInteger(CLIENTS) || CLIENTS < 1 || !(MAX_SLOPE > 0)) {
  process.stderr.write('usage: npm run bench:soak -- [--minutes 10] [--clients 4] [--max-slope 2] [--json]\n')
  process.exit(2)
}
const DURATION_MS = MINUTES * 60_000
/** Memory is measured after the warm-up: a fifth of the run, at most two minutes. */
const WARM_UP_MS = Math.min(120_000, DURATION_MS / 5)
/** A slope measured over less than this says little, so it does not fail the run. */
const SLOPE_NEEDS_MS = 3 * 60_000
const say = (line: string) => process.stderr.write(`bench:soak: ${line}\n`)

/** The limits raised for the soak (every visit also comes from its own address). */
const RAISED_LIMITS: Readonly<Record<string, string>> = {
  RATE_LIMIT_PER_MINUTE: '100000',
  CASES_PER_HOUR: '100000',
  CASES_PER_HOUR_PER_ADDRESS: '1000',
  CASES_PER_HOUR_PER_NETWORK: '1000',
  UPLOADS_AT_ONCE: '1000',
  UPLOADS_AT_ONCE_PER_ADDRESS: '1000',
  UPLOAD_MB_PER_HOUR: '1000000',
  UPLOAD_MB_PER_HOUR_PER_ADDRESS: '1000000',
  // The proof of work stays on, made cheap: the soak measures the server, not the client's hashing.
  PROOF_OF_WORK_BITS: '8',
}

// ---- set-up: a seeded portal (scripts/lib/bench-portal.ts) -------------------------------------------

let portal: BenchPortal
try {
  portal = await startBenchPortal({ name: 'soak', env: RAISED_LIMITS })
} catch (error) {
  say((error as Error).message)
  process.exit(1)
}
const { origin, port, idva, serverErrors } = portal
const servicePublic = portal.service
const serverPid = portal.pid

// ---- HTTP from many loopback addresses -------------------------------------------------------------

interface Answer {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly body: Buffer
}

/** A made-up visitor's address: anywhere in 127/8 but 127.0.0.0/16, in its own /24. */
const newAddress = () => `127.${randomInt(1, 255)}.${randomInt(0, 256)}.${randomInt(1, 255)}`

/** One request on a new connection from `address` (a visit's connections all come from its address). */
function send(address: string, method: string, path: string, options: { headers?: Record<string, string>; body?: Buffer | string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const body = options.body === undefined ? undefined : Buffer.from(options.body)
    const request = httpRequest(
      { host: '127.0.0.1', port, method, path, localAddress: address, agent: false, headers: { ...options.headers, ...(body === undefined ? {} : { 'content-length': String(body.length) }) } },
      (response) => {
        const chunks: Buffer[] = []
        response.on('data', (chunk: Buffer) => chunks.push(chunk))
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }))
        response.on('error', reject)
      },
    )
    request.setTimeout(60_000, () => request.destroy(new Error('no answer within 60 s')))
    request.on('error', reject)
    request.end(body)
  })
}

/**
 * postNewCase (test/helpers/reporter.ts) sends what a reporter's browser sends, through the global
 * fetch; inside a visit, that fetch goes out from the visit's address.
 */
const visitAddress = new AsyncLocalStorage<string>()
const realFetch = globalThis.fetch
globalThis.fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
  const address = visitAddress.getStore()
  if (address === undefined) return realFetch(input, init)
  const url = new URL(input instanceof Request ? input.url : input)
  const headers = Object.fromEntries(new Headers(init?.headers).entries())
  const answer = await send(address, init?.method ?? 'GET', `${url.pathname}${url.search}`, { headers, ...(init?.body === undefined || init.body === null ? {} : { body: init.body as string }) })
  const responseHeaders = new Headers()
  for (const [name, value] of Object.entries(answer.headers)) for (const item of [value ?? []].flat()) responseHeaders.append(name, item)
  return new Response([204, 304].includes(answer.status) ? null : new Uint8Array(answer.body), { status: answer.status, headers: responseHeaders })
}

// ---- what is measured ------------------------------------------------------------------------------

const latencies = new Map<string, number[]>()
const errors: { kind: string; status: number | string; detail: string }[] = []
let stopAt = Number.POSITIVE_INFINITY

/** Times one request and checks its answer is the one expected; anything else is an error. */
async function timed(kind: string, expected: readonly number[], work: () => Promise<{ status: number; detail?: () => string }>): Promise<boolean> {
  const start = performance.now()
  try {
    const { status, detail } = await work()
    const elapsed = performance.now() - start
    if (!latencies.has(kind)) latencies.set(kind, [])
    latencies.get(kind)!.push(elapsed)
    if (expected.includes(status)) return true
    errors.push({ kind, status, detail: detail?.() ?? '' })
  } catch (error) {
    errors.push({ kind, status: 'failed', detail: (error as Error).message })
  }
  return false
}

const text = (answer: Answer) => () => answer.body.toString('utf8').slice(0, 300)

// ---- the visits ----------------------------------------------------------------------------------

const landing = await send(newAddress(), 'GET', '/')
const staticPaths = [...landing.body.toString('utf8').matchAll(/(?:href|src)="(\/static\/[^"]+)"/g)].map((match) => match[1]!)
const guides = loadGuidance().map((guide) => `/managers/${guide.slug}`)
const PAGES = ['/', '/managers', '/report', '/return', '/safety', '/information', '/managers/ask']

/** Reporters whose case exists, for returns; each is used by one visit at a time. */
const returning: { reporter: Reporter; seq: number }[] = []
const caseIds: string[] = []

async function pageVisit(address: string): Promise<void> {
  const path = Math.random() < 0.25 ? guides[randomInt(guides.length)]! : PAGES[randomInt(PAGES.length)]!
  await timed('page', [200], async () => {
    const answer = await send(address, 'GET', path, { headers: { accept: 'text/html' } })
    return { status: answer.status, detail: text(answer) }
  })
  for (const asset of staticPaths) await timed('static', [200], async () => ({ status: (await send(address, 'GET', asset)).status }))
}

async function submitVisit(address: string): Promise<void> {
  const reporter = await newReporter()
  const uploads: { id: string; token: string }[] = []
  const evidence: { fileId: string; key: string }[] = []
  if (Math.random() < 0.25) {
    const file = await encryptedFile(randomBytes(randomInt(20_000, 300_000)))
    const ok = await timed('upload', [201], async () => {
      const answer = await send(address, 'POST', '/report/uploads', { headers: { 'content-type': 'application/octet-stream', origin }, body: Buffer.from(file.encrypted) })
      if (answer.status === 201) uploads.push(JSON.parse(answer.body.toString('utf8')) as { id: string; token: string })
      return { status: answer.status, detail: text(answer) }
    })
    if (!ok) return
    evidence.push({ fileId: base64url.encode(file.key.fileId), key: base64url.encode(file.key.key) })
  }
  const content = { v: 1, text: 'A made-up disclosure sent by the soak benchmark.', evidence, caseKeys: { reply: base64url.encode(reporter.keys.reply.publicKey), auth: base64url.encode(reporter.keys.auth.publicKey) } }
  const body = await disclosureBody(reporter, servicePublic, content, uploads)
  const ok = await timed('submit', [201], async () => {
    const answer = await visitAddress.run(address, () => postNewCase(origin, body))
    return { status: answer.status, detail: () => JSON.stringify(answer.body).slice(0, 300) }
  })
  if (ok) {
    returning.push({ reporter, seq: 1 })
    caseIds.push(reporter.caseId)
  }
}

async function returnVisit(address: string): Promise<void> {
  if (returning.length === 0) return submitVisit(address)
  const entry = returning.splice(randomInt(returning.length), 1)[0]!
  const { reporter } = entry
  const json = { 'content-type': 'application/json', origin }
  let challenge = ''
  if (!(await timed('return: challenge', [200], async () => {
    const answer = await send(address, 'POST', '/return/challenge', { headers: json, body: '{}' })
    if (answer.status === 200) challenge = (JSON.parse(answer.body.toString('utf8')) as { challenge: string }).challenge
    return { status: answer.status, detail: text(answer) }
  }))) return
  const signature = await signCaseLogin(reporter.keys, base64url.decode(challenge, 'challenge'))
  let cookie = ''
  let csrf = ''
  if (!(await timed('return: sign-in', [200], async () => {
    const answer = await send(address, 'POST', '/return/session', { headers: json, body: JSON.stringify({ challenge, lookupId: base64url.encode(reporter.keys.lookupId), signature: base64url.encode(signature) }) })
    cookie = /(sd_case=[A-Za-z0-9_-]{43})/.exec([answer.headers['set-cookie'] ?? []].flat().join('\n'))?.[1] ?? ''
    if (answer.status === 200) csrf = (JSON.parse(answer.body.toString('utf8')) as { csrfToken: string }).csrfToken
    return { status: answer.status, detail: text(answer) }
  }))) return
  let seq = entry.seq
  await timed('return: thread', [200], async () => {
    const answer = await send(address, 'GET', '/return/thread', { headers: { cookie } })
    if (answer.status === 200) seq = Math.max(seq, ...(JSON.parse(answer.body.toString('utf8')) as { messages: { seq: number }[] }).messages.map((message) => message.seq))
    return { status: answer.status, detail: text(answer) }
  })
  const message = await sealFromReporter(reporter, servicePublic, { kind: 'reporter_message', seq: seq + 1, content: { v: 1, text: 'A made-up follow-up from the soak benchmark.', evidence: [] } })
  const sent = await timed('return: message', [201], async () => {
    const answer = await send(address, 'POST', '/return/messages', { headers: { ...json, cookie, 'x-csrf-token': csrf }, body: JSON.stringify({ ...message, seq: seq + 1 }) })
    return { status: answer.status, detail: text(answer) }
  })
  await timed('return: sign-out', [200, 204], async () => {
    const answer = await send(address, 'POST', '/return/end', { headers: { ...json, cookie, 'x-csrf-token': csrf }, body: '{}' })
    return { status: answer.status, detail: text(answer) }
  })
  returning.push({ reporter, seq: sent ? seq + 1 : seq })
}

/** The IDVA signs in once, as her browser does (Argon2id in the client, then passphrase verifier and TOTP code). */
async function signIn(member: SeededStaff): Promise<string> {
  const address = '127.0.0.2'
  const headers = { 'content-type': 'application/json', origin }
  const params = JSON.parse((await send(address, 'POST', '/staff/login/params', { headers, body: JSON.stringify({ username: member.username }) })).body.toString('utf8')) as { salt: string; opsLimit: number; memLimit: number }
  const secrets = await deriveStaffSecrets(member.passphrase, { salt: base64url.decode(params.salt, 'salt'), opsLimit: params.opsLimit, memLimit: params.memLimit })
  const answer = await send(address, 'POST', '/staff/login', { headers, body: JSON.stringify({ username: member.username, verifier: base64url.encode(secrets.authVerifier), code: codeAt(member.totpSecret) }) })
  const cookie = /(sd_session=[A-Za-z0-9_-]{43})/.exec([answer.headers['set-cookie'] ?? []].flat().join('\n'))?.[1]
  if (answer.status !== 200 || cookie === undefined) throw new Error(`the IDVA could not sign in: ${answer.status} ${answer.body.toString('utf8').slice(0, 300)}`)
  return cookie
}

const staffCookie = await signIn(idva)

async function staffVisit(): Promise<void> {
  const address = '127.0.0.2'
  const headers = { cookie: staffCookie, accept: 'text/html' }
  await timed('staff: queue', [200], async () => {
    const answer = await send(address, 'GET', '/staff/cases', { headers })
    return { status: answer.status, detail: text(answer) }
  })
  // One of the latest cases; none yet at the very start.
  if (caseIds.length === 0) return
  const caseId = caseIds[caseIds.length - 1 - randomInt(Math.min(caseIds.length, 50))]!
  await timed('staff: case', [200], async () => {
    const answer = await send(address, 'GET', `/staff/cases/${caseId}`, { headers })
    return { status: answer.status, detail: text(answer) }
  })
  await timed('staff: content', [200], async () => {
    const answer = await send(address, 'GET', `/staff/cases/${caseId}/content`, { headers: { cookie: staffCookie } })
    return { status: answer.status, detail: text(answer) }
  })
}

const VISITS: [number, (address: string) => Promise<void>][] = [
  [40, pageVisit],
  [20, submitVisit],
  [25, returnVisit],
  [15, () => staffVisit()],
]

async function visitor(): Promise<void> {
  const total = VISITS.reduce((sum, [weight]) => sum + weight, 0)
  while (Date.now() < stopAt) {
    let pick = randomInt(total)
    const visit = VISITS.find(([weight]) => (pick -= weight) < 0)![1]
    try {
      await visit(newAddress())
    } catch (error) {
      errors.push({ kind: 'visit', status: 'failed', detail: (error as Error).message })
    }
  }
}

// ---- the run ---------------------------------------------------------------------------------------

const memory: { minutes: number; megabytes: number }[] = []
const begun = Date.now()
stopAt = begun + DURATION_MS
say(`${portal.kind} database, ${CLIENTS} visitors at once for ${MINUTES} minutes on ${origin} (server pid ${serverPid})`)
const sampler = setInterval(() => {
  const megabytes = portal.residentMegabytes()
  if (megabytes !== null) memory.push({ minutes: (Date.now() - begun) / 60_000, megabytes })
}, 2000)
const progress = setInterval(() => say(`${Math.round((Date.now() - begun) / 1000)} s: ${[...latencies.values()].reduce((sum, list) => sum + list.length, 0)} requests, ${errors.length} errors, ${memory.at(-1)?.megabytes.toFixed(0) ?? '?'} MB resident`), 60_000)
await Promise.all(Array.from({ length: CLIENTS }, visitor))
clearInterval(sampler)
clearInterval(progress)
const elapsedMinutes = (Date.now() - begun) / 60_000

const exitCode = await portal.stop()
await portal.cleanUp()

// ---- the figures ---------------------------------------------------------------------------------

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0
}

/** Least-squares slope of resident memory over time after the warm-up, in MB a minute. */
function slope(points: readonly { minutes: number; megabytes: number }[]): number | null {
  if (points.length < 3) return null
  const meanX = points.reduce((sum, point) => sum + point.minutes, 0) / points.length
  const meanY = points.reduce((sum, point) => sum + point.megabytes, 0) / points.length
  const spread = points.reduce((sum, point) => sum + (point.minutes - meanX) ** 2, 0)
  return spread === 0 ? null : points.reduce((sum, point) => sum + (point.minutes - meanX) * (point.megabytes - meanY), 0) / spread
}

const warm = memory.filter((point) => point.minutes * 60_000 >= WARM_UP_MS)
const rssSlope = slope(warm)
const measuredMs = warm.length < 2 ? 0 : (warm.at(-1)!.minutes - warm[0]!.minutes) * 60_000
const slopeCounts = measuredMs >= SLOPE_NEEDS_MS
const requests = Object.fromEntries(
  [...latencies].sort(([a], [b]) => a.localeCompare(b)).map(([kind, list]) => {
    const sorted = [...list].sort((a, b) => a - b)
    return [kind, { count: sorted.length, p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99), max: sorted.at(-1) ?? 0 }]
  }),
)
const total = Object.values(requests).reduce((sum, kind) => sum + kind.count, 0)
const summary = {
  database: portal.kind,
  machine: { cores: availableParallelism(), node: process.version },
  minutes: elapsedMinutes,
  clients: CLIENTS,
  raisedLimits: RAISED_LIMITS,
  requests,
  total,
  perSecond: total / (elapsedMinutes * 60),
  errors: errors.length,
  errorSamples: errors.slice(0, 20),
  serverErrorLines: serverErrors,
  stoppedCleanly: exitCode === 0,
  memory: {
    samples: memory.length,
    startMegabytes: memory[0]?.megabytes ?? null,
    endMegabytes: memory.at(-1)?.megabytes ?? null,
    maxMegabytes: memory.length === 0 ? null : Math.max(...memory.map((point) => point.megabytes)),
    warmUpMinutes: WARM_UP_MS / 60_000,
    slopeMegabytesPerMinute: rssSlope,
    slopeMeasuredMinutes: measuredMs / 60_000,
  },
}
const failed = errors.length > 0 || serverErrors.length > 0 || exitCode !== 0 || (slopeCounts && (rssSlope === null || rssSlope > MAX_SLOPE))

if (values.json) {
  process.stdout.write(`${JSON.stringify(summary)}\n`)
} else {
  const ms = (value: number) => value.toFixed(value < 10 ? 1 : 0)
  const rows = Object.entries(requests).map(([kind, figures]) => [kind, String(figures.count), ms(figures.p50), ms(figures.p95), ms(figures.p99), ms(figures.max)])
  const header = ['kind', 'requests', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms']
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)))
  const line = (cells: string[]) => cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ')
  const mb = (value: number | null) => (value === null ? '?' : `${value.toFixed(1)} MB`)
  process.stdout.write(
    [
      `bench:soak: ${summary.database} database, ${CLIENTS} visitors at once for ${elapsedMinutes.toFixed(1)} minutes; ${summary.machine.cores} cores, Node ${summary.machine.node}`,
      `limits raised: ${Object.entries(RAISED_LIMITS).map(([name, value]) => `${name}=${value}`).join(' ')} (and every visit from its own address)`,
      '',
      line(header),
      ...rows.map(line),
      '',
      `served: ${total} requests (${summary.perSecond.toFixed(1)} a second)`,
      `errors: ${errors.length}${errors.length === 0 ? '' : `\n${errors.slice(0, 20).map((error) => `  ${error.kind}: ${error.status} ${error.detail}`).join('\n')}`}`,
      `server error log lines: ${serverErrors.length}${serverErrors.length === 0 ? '' : `\n${serverErrors.slice(0, 10).map((entry) => `  ${entry}`).join('\n')}`}`,
      `server stopped cleanly on SIGTERM: ${exitCode === 0 ? 'yes' : `no (${String(exitCode)})`}`,
      `resident memory: ${mb(summary.memory.startMegabytes)} at the start, ${mb(summary.memory.endMegabytes)} at the end, ${mb(summary.memory.maxMegabytes)} at most (${memory.length} samples)`,
      `resident memory slope after ${(WARM_UP_MS / 60_000).toFixed(1)} minutes of warm-up: ${rssSlope === null ? '?' : `${rssSlope.toFixed(2)} MB a minute`} over ${(measuredMs / 60_000).toFixed(1)} minutes${slopeCounts ? ` (goal: at most ${MAX_SLOPE})` : ' (too short a run to judge)'}`,
      failed ? 'FAILED' : 'goal met: no errors, memory flat',
      '',
    ].join('\n'),
  )
}
process.exit(failed ? 1 : 0)
