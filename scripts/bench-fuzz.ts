/**
 * Benchmark: the fuzz test's generators (test/helpers/fuzz.ts), long.
 *
 *   npm run bench:fuzz                              100,000 requests, embedded database (PGlite) in a temporary folder
 *   npm run bench:fuzz -- --runs 20000 --seed 42    fewer, and replayable
 *   DATABASE_URL=postgres://… npm run bench:fuzz    on a new, temporary database on that server
 *
 * Sends malformed requests to every route the app serves (in-process, app.inject), spread evenly
 * over the routes (the bundle's static files get a few each), then raw bytes over a socket to the
 * HTTP parser (one for every 50 requests, at most 2,000). Prints the requests by status class and
 * route, how many reached a handler, and every failure of the properties: a 5xx that is not a
 * designed 503, a stack trace or the request repeated in an error, a raw request answered 5xx, an
 * unhandled rejection, request content or a client address in the log. Exits 1 on any of them.
 */
import fc from 'fast-check'
import { parseArgs } from 'node:util'
import { buildTestApp } from '../test/helpers/app.ts'
import { fuzzRoutes, installReachCounter, logProblems, prepareFuzzWorld, rawRequests, rawStatuses, sendRaw, type RouteTally } from '../test/helpers/fuzz.ts'

const { values } = parseArgs({ options: { runs: { type: 'string', default: '100000' }, seed: { type: 'string' } } })
const RUNS = Number(values.runs)
if (!Number.isInteger(RUNS) || RUNS < 1) {
  process.stderr.write('--runs must be a whole number of requests, such as 100000\n')
  process.exit(2)
}
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed)

const rejections: unknown[] = []
process.on('unhandledRejection', (reason) => rejections.push(reason))

const teardowns: (() => unknown)[] = []
let reached = () => 0
const { app, logs, serviceKeys } = await buildTestApp({ teardown: (fn: () => unknown) => teardowns.push(fn) } as never, {
  listen: true,
  env: { LOG_LEVEL: 'trace', RATE_LIMIT_PER_MINUTE: '100000', CASES_PER_HOUR: '100000', PROOF_OF_WORK_BITS: '4' },
  extend(app) {
    reached = installReachCounter(app)
  },
})
const world = await prepareFuzzWorld(app, serviceKeys)
const statics = world.routes.filter((route) => route.url.startsWith('/static/')).length
const STATIC_RUNS = 3
const rawRuns = Math.min(2000, Math.floor(RUNS / 50))
const perRoute = Math.max(1, Math.round((RUNS - rawRuns - statics * STATIC_RUNS) / (world.routes.length - statics)))
process.stderr.write(`bench:fuzz: ${world.routes.length} routes, ${perRoute} requests each (${STATIC_RUNS} for each static file), ${rawRuns} raw; seed ${seed}\n`)

const started = performance.now()
const report = await fuzzRoutes(world, () => reached(), {
  runs: (route) => (route.url.startsWith('/static/') ? STATIC_RUNS : perRoute),
  seed,
  onProgress(done) {
    if (done % 5000 === 0) process.stderr.write(`  ${done} requests, ${Math.round((performance.now() - started) / 1000)} s\n`)
  },
})

const port = (app.server.address() as { port: number }).port
const rawByStatus = new Map<string, number>()
const raw = await fc.check(
  fc.asyncProperty(rawRequests(world), async (request) => {
    const statuses = rawStatuses(await sendRaw(port, request, 1500))
    const key = statuses.length === 0 ? 'closed unanswered' : statuses.join('+')
    rawByStatus.set(key, (rawByStatus.get(key) ?? 0) + 1)
    return statuses.every((status) => status < 500)
  }),
  { numRuns: rawRuns, seed },
)
const seconds = (performance.now() - started) / 1000

app.anonymousRequests.rollOver(new Date(Date.now() + 86_400_000))
const inLog = logProblems(logs.text(), world.marker)

const classOf = (status: number) => `${Math.floor(status / 100)}xx`
const classes = ['2xx', '3xx', '4xx', '5xx']
const count = (tally: RouteTally, wanted: string) => [...tally.statuses].filter(([status]) => classOf(status) === wanted).reduce((sum, [, n]) => sum + n, 0)
const rows = [...report.routes].map(([route, tally]) => [route, String(tally.runs), `${Math.round((tally.reached / Math.max(1, tally.runs)) * 100)}%`, ...classes.map((wanted) => String(count(tally, wanted)))])
const header = ['route', 'requests', 'reached', ...classes]
const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)))
const line = (cells: string[]) => cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ')
const overall = new Map<number, number>()
for (const tally of report.routes.values()) for (const [status, n] of tally.statuses) overall.set(status, (overall.get(status) ?? 0) + n)

process.stdout.write(
  [
    `bench:fuzz: ${report.total} requests to ${report.routes.size} routes and ${rawRuns} raw requests in ${seconds.toFixed(0)} s (seed ${seed}; --seed ${seed} replays it)`,
    '',
    line(header),
    ...rows.map(line),
    '',
    `by status class: ${classes.map((wanted) => `${wanted} ${[...overall].filter(([status]) => classOf(status) === wanted).reduce((sum, [, n]) => sum + n, 0)}`).join(', ')}`,
    `by status: ${[...overall].sort(([a], [b]) => a - b).map(([status, n]) => `${status} ${n}`).join(', ')}`,
    `reached a handler (past the limits, sessions, CSRF checks and body parsing): ${report.reached} of ${report.total} (${((report.reached / report.total) * 100).toFixed(1)}%)`,
    `raw requests: ${[...rawByStatus].sort(([, a], [, b]) => b - a).map(([status, n]) => `${status} ${n}`).join(', ')}`,
    `log: ${logs.lines.length} lines searched for the marker and for client addresses`,
    '',
  ].join('\n'),
)

const failures = [
  ...report.failures.map((failure) => `${failure.route}: ${failure.problems.join('; ')} (status ${failure.status})\n    request: ${failure.request}\n    response: ${failure.response}`),
  ...(raw.failed ? [`a raw request was answered 5xx: ${JSON.stringify(raw.counterexample?.[0]?.bytes.toString('latin1').slice(0, 400))}`] : []),
  ...inLog,
  ...rejections.map((reason) => `unhandled rejection: ${String(reason)}`),
]
process.stdout.write(failures.length === 0 ? 'no failures\n' : `${failures.length} FAILURES:\n${failures.map((failure) => `  ${failure}`).join('\n')}\n`)
for (const teardown of teardowns.reverse()) await teardown()
process.exit(failures.length === 0 ? 0 : 1)
