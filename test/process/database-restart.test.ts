import t from 'tap'
import { privatePostgresUnavailable, startPrivatePostgres } from '../helpers/private-postgres.ts'
import { checkReceipt, portalEnvironment, seedPortalDatabase, servicePublic, startPortal, submissionLoad, watchHealth, watchResponses } from '../helpers/portal-process.ts'

/**
 * PostgreSQL restarted, then stopped for eight seconds, while reporters submit (some with
 * evidence) to a running portal: clients are told plainly to come back (503 with Retry-After,
 * never a 500 or a stack trace), /healthz goes 503 and back to 200 by itself, the pool reconnects
 * without a restart of the portal, nothing answered 201 is lost, and the log says each outage
 * once, with a count, rather than once per refused request.
 *
 * PostgreSQL only (with DATABASE_URL, as the suite's other PostgreSQL tests): the test starts a
 * PostgreSQL server of its own to stop, never the shared one. (The embedded database lives and
 * dies with the portal's process: test/process/kill-under-load.test.ts.)
 */

const skip =
  (process.env.DATABASE_URL ?? '') === ''
    ? 'PostgreSQL only: runs when DATABASE_URL is set'
    : privatePostgresUnavailable()

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

t.test('a PostgreSQL restart and an 8-second stop under load: clear 503s, recovery by itself, nothing acknowledged lost', { skip: skip ?? false }, async (t) => {
  const postgres = await startPrivatePostgres(t)
  const databaseEnv = await postgres.portalDatabase()
  const serviceKeys = await seedPortalDatabase(databaseEnv)
  const seen = watchResponses(t)
  const portal = await startPortal(t, await portalEnvironment(t, databaseEnv, serviceKeys))
  const health = watchHealth(() => portal.origin)
  const load = submissionLoad({ origin: () => portal.origin, service: servicePublic(serviceKeys), concurrency: 6, limit: 600, evidenceEvery: 3 })
  await load.untilAcknowledged(15)

  await postgres.restart()
  await load.untilAcknowledged(10)
  t.pass('after a restart of PostgreSQL, submissions are accepted again')

  const healthBeforeStop = health.statuses.length
  const refusedBeforeStop = seen.filter((response) => response.status === 503).length
  await postgres.stop()
  await sleep(8_000)
  await postgres.start()
  await load.untilAcknowledged(10)
  for (let waited = 0; health.statuses.at(-1)?.status !== 200 && waited < 10_000; waited += 100) await sleep(100)
  await load.stop()
  await health.stop()

  t.equal(portal.child.exitCode, null, 'the same portal process served throughout: its pool reconnected by itself')
  const during = health.statuses.slice(healthBeforeStop)
  const firstDown = during.findIndex((answer) => answer.status === 503)
  t.ok(firstDown >= 0, '/healthz answered 503 while PostgreSQL was stopped')
  t.ok(during.filter((answer) => answer.status === 503).every((answer) => answer.retryAfter === '5'), 'with Retry-After')
  t.equal(during.at(-1)?.status, 200, 'and 200 again once it was back, by itself')

  const refused = seen.filter((response) => response.status >= 500)
  t.ok(refused.length - refusedBeforeStop > 0, `clients were refused while it was stopped (${refused.length} refusals in all, of ${seen.length} responses)`)
  t.same(refused.filter((response) => response.status !== 503), [], 'never a 500 (or any 5xx but 503)')
  t.same(refused.filter((response) => response.retryAfter !== '5'), [], 'every 503 says when to try again (Retry-After: 5)')
  const unclear = refused.filter((response) => {
    const body = JSON.parse(response.body ?? '{}') as { message?: string }
    return !/not something you did/.test(body.message ?? '') || /\n\s+at |Error:|ECONNREFUSED|57P0/.test(response.body ?? '')
  })
  t.same(unclear, [], 'each in plain words, without a stack trace or an error code')

  const acknowledged = load.acknowledged()
  const problems: string[] = []
  for (const submission of acknowledged) {
    const problem = await checkReceipt(portal.origin, submission)
    if (problem !== null) problems.push(`${submission.reporter.caseId}: ${problem}`)
  }
  t.same(problems, [], `every one of the ${acknowledged.length} acknowledged submissions (${acknowledged.filter((submission) => submission.evidence.length > 0).length} with evidence) is there and opens at /return`)

  // An outage is said to be over once the database has answered for a while with nothing refused
  // (server/db/outage.ts: 2 s), which can be after /healthz is back to 200: wait for that line.
  const outageLines = () => {
    const entries = portal.logEntries()
    return { entries, down: entries.filter((entry) => /^database unreachable/.test(String(entry.msg))), up: entries.filter((entry) => entry.msg === 'database reachable again') }
  }
  for (let waited = 0; outageLines().up.length < outageLines().down.length && waited < 15_000; waited += 100) await sleep(100)
  const { entries, down, up } = outageLines()
  t.ok(down.length >= 1 && down.length <= 2, `each outage is said once (${down.length} outages: the restart may have been too quick to refuse anyone)`)
  t.equal(up.length, down.length, 'and its end once')
  t.equal(
    up.reduce((sum, entry) => sum + (entry.refusedRequests as number), 0),
    refused.length,
    'with the count of requests refused, which is every refusal a client saw',
  )
  t.same(entries.filter((entry) => /request failed|request errored|connection lost/.test(String(entry.msg))), [], 'no line per refused request or lost connection')
  t.same(
    entries.filter((entry) => (entry.level as number) >= 50 && !down.includes(entry)),
    [],
    'and no other error in the log',
  )
})
