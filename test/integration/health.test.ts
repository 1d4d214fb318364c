import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { buildTestApp } from '../helpers/app.ts'
import { seedService } from '../../scripts/lib/staff-fixtures.ts'
import { createTestDatabase } from '../helpers/database.ts'
import { databaseRelay, throughRelay } from '../helpers/relay.ts'

t.test('healthz answers 200 when the database answers, and says whether the service key is pinned', async (t) => {
  const { app, serviceKeys } = await buildTestApp(t)
  const response = await app.inject({ method: 'GET', url: '/healthz' })
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /^application\/json/)
  t.same(response.json(), { status: 'ok', database: 'ok', serviceKey: 'not_set_up' })
  await seedService(app.database.db, { keys: serviceKeys })
  t.same((await app.inject({ method: 'GET', url: '/healthz' })).json(), { status: 'ok', database: 'ok', serviceKey: 'pinned' })
})

t.test('healthz answers 503, saying why, when the service key is not pinned or does not match the pin', async (t) => {
  const unpinned = await buildTestApp(t, { unpinned: true })
  await seedService(unpinned.app.database.db)
  const notPinned = await unpinned.app.inject({ method: 'GET', url: '/healthz' })
  t.equal(notPinned.statusCode, 503)
  t.match(notPinned.json(), { status: 'unavailable', database: 'ok', serviceKey: 'not_pinned', problem: /SERVICE_KEY_FINGERPRINT is not set/ })

  const wrong = await buildTestApp(t, { env: { SERVICE_KEY_FINGERPRINT: '12345 12345 12345 12345 12345 12345' } })
  await seedService(wrong.app.database.db, { keys: wrong.serviceKeys })
  const mismatch = await wrong.app.inject({ method: 'GET', url: '/healthz' })
  t.equal(mismatch.statusCode, 503)
  t.match(mismatch.json(), { status: 'unavailable', database: 'ok', serviceKey: 'mismatch', problem: /does not match SERVICE_KEY_FINGERPRINT/ })
})

/** Builds the portal, checks it is healthy, then takes its database away. */
async function appLosingItsDatabase(t: Test): Promise<FastifyInstance> {
  const serverUrl = process.env.DATABASE_URL
  if (serverUrl === undefined || serverUrl === '') {
    const { app, database } = await buildTestApp(t)
    t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'healthy before')
    // Closing the embedded database removes its socket: the same as a database server going away.
    await database.close()
    return app
  }
  const testDatabase = await createTestDatabase(t)
  const appUrl = new URL(testDatabase.env.DATABASE_URL ?? '')
  const gate = await databaseRelay(t, appUrl)
  // Migrate directly (the relay is only for the application's own connections).
  const { app } = await buildTestApp(t, {
    testDatabase: { ...testDatabase, env: { ...testDatabase.env, DATABASE_URL: throughRelay(appUrl, gate) } },
    prepare: true,
  })
  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'healthy before')
  gate.cut()
  return app
}

t.test('healthz answers 503 when the database cannot be reached, and pages say so kindly', async (t) => {
  const app = await appLosingItsDatabase(t)
  const health = await app.inject({ method: 'GET', url: '/healthz' })
  t.equal(health.statusCode, 503)
  t.same(health.json(), { status: 'unavailable', database: 'unreachable' })
  const page = await app.inject({ method: 'GET', url: '/', headers: { accept: 'text/html' } })
  t.equal(page.statusCode, 503, 'a page that needs the database answers 503')
  t.match(page.body, /The service is not available at the moment/)
  t.match(page.body, /not something you did/)
})
