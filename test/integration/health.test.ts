import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { createServer, connect, type Server, type Socket } from 'node:net'
import { buildTestApp } from '../helpers/app.ts'
import { createTestDatabase } from '../helpers/database.ts'

t.test('healthz answers 200 {"status":"ok"} when the database answers', async (t) => {
  const { app } = await buildTestApp(t)
  const response = await app.inject({ method: 'GET', url: '/healthz' })
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /^application\/json/)
  t.same(response.json(), { status: 'ok' })
})

/**
 * A TCP relay in front of PostgreSQL that can be cut, to make the database unreachable while the
 * portal runs (PostgreSQL only; the embedded database is cut by stopping its socket instead).
 */
async function relay(target: URL): Promise<{ port: number; cut(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>()
  let open = true
  const server: Server = createServer((client) => {
    if (!open) return client.destroy()
    const upstream = connect(Number(target.port || 5432), target.hostname)
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('error', () => socket.destroy())
      socket.on('close', () => sockets.delete(socket))
    }
    client.pipe(upstream).pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address !== 'object') throw new Error('relay did not start')
  return {
    port: address.port,
    cut() {
      open = false
      for (const socket of sockets) socket.destroy()
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

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
  const gate = await relay(appUrl)
  t.teardown(() => gate.close())
  const relayed = new URL(appUrl)
  relayed.hostname = '127.0.0.1'
  relayed.port = String(gate.port)
  // Migrate directly (the relay is only for the application's own connections).
  const { app } = await buildTestApp(t, {
    testDatabase: { ...testDatabase, env: { ...testDatabase.env, DATABASE_URL: relayed.toString() } },
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
  t.same(health.json(), { status: 'unavailable' })
  const page = await app.inject({ method: 'GET', url: '/', headers: { accept: 'text/html' } })
  t.equal(page.statusCode, 503, 'a page that needs the database answers 503')
  t.match(page.body, /The service is not available at the moment/)
  t.match(page.body, /not something you did/)
})
