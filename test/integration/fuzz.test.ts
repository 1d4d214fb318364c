import t from 'tap'
import fc from 'fast-check'
import { buildTestApp } from '../helpers/app.ts'
import { fuzzRoutes, installReachCounter, logProblems, prepareFuzzWorld, rawRequests, rawStatuses, routeKey, sendRaw } from '../helpers/fuzz.ts'

/**
 * The fuzz: malformed requests to every route the app serves (read from the app itself, so a new
 * route is fuzzed the day it is added), as nobody, as a reporter signed in at /return and as each
 * staff role with its CSRF token (test/helpers/fuzz.ts says what is generated). Then raw bytes the
 * HTTP parser has to refuse. Whatever arrives: no 5xx (a 503 only where it is the designed answer
 * to a limit or an outage, and says so), no stack trace, no error that repeats what was sent, no
 * unhandled rejection, and nothing of any request, nor the address it came from, in the log.
 *
 * Each run draws new requests; the seed is printed, and FUZZ_SEED=<seed> replays a run.
 * `npm run bench:fuzz` runs the same generators for 100,000 requests.
 */

const rejections: unknown[] = []
process.on('unhandledRejection', (reason) => rejections.push(reason))

let reached = () => 0
const { app, logs, serviceKeys } = await buildTestApp(t, {
  listen: true,
  // The most talkative level must be as discreet as the default. The limits are raised so that
  // requests reach the handlers (each comes from its own made-up address as well).
  env: { LOG_LEVEL: 'trace', RATE_LIMIT_PER_MINUTE: '100000', CASES_PER_HOUR: '100000', PROOF_OF_WORK_BITS: '4' },
  extend(app) {
    reached = installReachCounter(app)
  },
})
const world = await prepareFuzzWorld(app, serviceKeys)
const seed = process.env.FUZZ_SEED === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.FUZZ_SEED)
t.comment(`fuzz seed ${seed} (FUZZ_SEED=${seed} replays this run)`)

t.test('every route, sent malformed requests: no 5xx, no stack trace, nothing repeated back', async (t) => {
  t.ok(world.routes.length >= 90, `${world.routes.length} routes read from the app`)
  for (const route of app.staffRoutes) t.ok(world.routes.some((candidate) => routeKey(candidate) === routeKey(route)), `${routeKey(route)} is fuzzed`)
  const report = await fuzzRoutes(world, () => reached(), { runs: (route) => (route.url.startsWith('/static/') ? 2 : 12), seed })
  for (const failure of report.failures) {
    t.fail(`${failure.route}: ${failure.problems.join('; ')}`, { request: failure.request, status: failure.status, response: failure.response, seed: failure.seed })
  }
  t.equal(report.failures.length, 0, `${report.total} requests to ${report.routes.size} routes, none failed`)
  const unreached = [...report.routes].filter(([, tally]) => tally.reached === 0).map(([key]) => key)
  t.same(unreached, [], "every route's handler was reached by some request")
  const share = report.reached / report.total
  t.comment(`${report.reached} of ${report.total} requests (${Math.round(share * 100)}%) got past the limits, sessions, CSRF checks and body parsing to a handler`)
  t.ok(share >= 0.3, 'and at least 30% of all requests did: the fuzz reaches the code that reads what was sent')
  const limited = [...report.routes.values()].reduce((sum, tally) => sum + (tally.statuses.get(429) ?? 0), 0)
  t.ok(limited < report.total / 100, `${limited} requests were refused by a rate limit (under 1%)`)
})

t.test('raw bytes: the HTTP parser refuses or reads them, and never answers 5xx', async (t) => {
  const port = (app.server.address() as { port: number }).port
  let answered = 0
  const details = await fc.check(
    fc.asyncProperty(rawRequests(world), async (raw) => {
      const statuses = rawStatuses(await sendRaw(port, raw, 1500))
      if (statuses.length > 0) answered += 1
      return statuses.every((status) => status < 500)
    }),
    { numRuns: 120, seed },
  )
  t.notOk(details.failed, details.failed ? `a raw request was answered with a 5xx: ${JSON.stringify(details.counterexample?.[0]?.bytes.toString('latin1').slice(0, 400))}` : 'no 5xx')
  t.ok(answered > 60, `${answered} of 120 raw requests were answered (the rest were closed unread)`)
})

t.test('the log holds no request content and no client address', async (t) => {
  // Anonymous requests are counted, not logged, until the day ends: end it now, so the day's
  // summary (with its faults) is written and searched as well.
  app.anonymousRequests.rollOver(new Date(Date.now() + 86_400_000))
  t.match(logs.text(), /anonymous requests of the day/, "the anonymous requests' summary was written")
  t.same(logProblems(logs.text(), world.marker), [], `${logs.lines.length} log lines searched`)
})

t.test('no unhandled rejection', async (t) => {
  t.same(rejections.map((reason) => String(reason)), [])
})
