import t, { type Test } from 'tap'
import { cookieName } from '../helpers/staff.ts'
import { disclosureBody, newReporter, servicePublic, submit } from '../helpers/reporter.ts'
import { buildTestApp, type TestApp } from '../helpers/app.ts'
import { createTestDatabase } from '../helpers/database.ts'
import { databaseRelay, throughRelay } from '../helpers/relay.ts'
import { seedService } from '../../scripts/lib/staff-fixtures.ts'

/**
 * While the database cannot be reached: every request that needs it gets 503 with Retry-After and
 * a plain message (a page for browsers, JSON for scripts), never a 500 or a stack trace; and the
 * log says so once, not once per request, then once more with the count when it answers again.
 * On both databases: the embedded one goes when it is closed; PostgreSQL is reached through a
 * relay the test cuts and restores.
 */

/** A portal with a service set up, and a way to take its database away (and, on PostgreSQL, to give it back). */
async function portalWithFragileDatabase(t: Test): Promise<{ portal: TestApp; cut(): Promise<void>; restore: (() => void) | null }> {
  const serverUrl = process.env.DATABASE_URL
  if (serverUrl === undefined || serverUrl === '') {
    const portal = await buildTestApp(t)
    await seedService(portal.database.db, { keys: portal.serviceKeys })
    // Closing the embedded database removes its socket: the same as a database server going away.
    return { portal, cut: () => portal.database.close(), restore: null }
  }
  const testDatabase = await createTestDatabase(t)
  const appUrl = new URL(testDatabase.env.DATABASE_URL ?? '')
  const gate = await databaseRelay(t, appUrl)
  const portal = await buildTestApp(t, { testDatabase: { ...testDatabase, env: { ...testDatabase.env, DATABASE_URL: throughRelay(appUrl, gate) } }, prepare: true })
  await seedService(portal.database.db, { keys: portal.serviceKeys })
  return { portal, cut: async () => gate.cut(), restore: () => gate.restore() }
}

const outageStarts = (portal: TestApp) => portal.logs.entries().filter((entry) => /^database unreachable/.test(String(entry.msg)))

t.test('a database outage: 503 with Retry-After and a plain message, and one log line for it all', async (t) => {
  const { portal, cut, restore } = await portalWithFragileDatabase(t)
  const { app } = portal
  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'healthy before')
  await cut()

  const health = await app.inject({ method: 'GET', url: '/healthz' })
  t.equal(health.statusCode, 503)
  t.equal(health.headers['retry-after'], '5', '/healthz says when to look again')
  t.same(health.json(), { status: 'unavailable', database: 'unreachable' })

  // /report itself needs no database now (its rate limit is in memory, the service's state cached):
  // it still opens, and what it sends is refused below.
  t.equal((await app.inject({ method: 'GET', url: '/report', headers: { accept: 'text/html' }, remoteAddress: '10.1.2.3' })).statusCode, 200, 'a page that reads no data still opens')
  const page = await app.inject({ method: 'GET', url: '/staff/cases', headers: { accept: 'text/html', cookie: `${cookieName(app)}=${'x'.repeat(43)}` }, remoteAddress: '10.1.2.3' })
  t.equal(page.statusCode, 503, 'a page that needs the database')
  t.equal(page.headers['retry-after'], '5')
  t.match(page.body, /The service is not available at the moment/)
  t.match(page.body, /not something you did/)
  t.notMatch(page.body, /ECONNREFUSED|ENOENT|Connection terminated|\n\s+at /, 'nothing of the fault itself')

  const secret = 'a disclosure that must never reach the log'
  // The page above was refused; a failed health check is not a refusal (nobody was turned away).
  let refused = 1
  const service = servicePublic(portal.serviceKeys)
  for (let i = 0; i < 30; i++) {
    // A sign-in's first step, or a well-formed disclosure (one that is malformed is refused with 400
    // before anything needs the database).
    const submission =
      i % 3 === 0
        ? await app.inject({ method: 'POST', url: '/staff/login/params', payload: { username: secret }, remoteAddress: `10.9.${i}.1` })
        : await submit(app, await disclosureBody(await newReporter(), service, { text: secret }), {}, `10.9.${i}.1`)
    refused += 1
    t.equal(submission.statusCode, 503, `request ${i}: 503`)
    t.equal(submission.headers['retry-after'], '5', 'with Retry-After')
    const body = submission.json<{ statusCode: number; message: string; reference?: string }>()
    t.equal(body.statusCode, 503)
    t.match(body.message, /not something you did/, 'in plain words')
    t.equal(body.reference, undefined, 'without a reference (there is no log line for it to name)')
  }

  t.equal(outageStarts(portal).length, 1, 'one line for the outage, not one per request')
  t.match(outageStarts(portal)[0], { level: 50, retryAfterSeconds: 5 })
  t.same(portal.logs.entries().filter((entry) => /request failed|request errored|connection lost/.test(String(entry.msg))), [], 'no line per refused request')
  t.notOk(portal.logs.text().includes(secret), 'and nothing of what was sent')

  if (restore === null) return
  restore()
  for (let waited = 0; portal.logs.entries().every((entry) => entry.msg !== 'database reachable again') && waited < 15_000; waited += 100) {
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.match(portal.logs.entries().find((entry) => entry.msg === 'database reachable again'), { level: 40, refusedRequests: refused }, 'its end, once, with the count of requests refused')
  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'and the same portal is healthy again, without a restart')
})
