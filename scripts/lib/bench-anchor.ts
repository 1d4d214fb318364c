/**
 * An anchor for `npm run bench:http` (scripts/bench-http.ts): the least a server could do for the
 * same request, in its own process as the portal is, so each ratio compares like with like.
 *
 *   node --import tsx scripts/lib/bench-anchor.ts --kind bare   --port N --page FILE [--page FILE …]
 *   node --import tsx scripts/lib/bench-anchor.ts --kind helmet --port N --page FILE [--page FILE …]
 *   node --import tsx scripts/lib/bench-anchor.ts --kind insert --port N [--data DIR]
 *
 *   bare    Fastify answering GET /page/0, /page/1, … with each FILE's bytes as text/html (for each
 *           of the portal's pages, a page of the same size)
 *   helmet  the same behind @fastify/helmet with its defaults
 *   insert  Fastify taking POST /insert (JSON, the same body a new case is) and inserting it as one
 *           row with pg: on the DATABASE_URL server (a table of its own, dropped at exit), or on an
 *           embedded database in DIR served as the portal serves its own (PGlite behind a Unix
 *           socket, one pg connection)
 *
 * Prints "listening" on standard output when ready; stops on SIGTERM.
 */
import Fastify from 'fastify'
import fastifyHelmet from '@fastify/helmet'
import { createPglite } from '../../server/db/database.ts'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'
import pg from 'pg'
import { randomUUID } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

const { values } = parseArgs({ options: { kind: { type: 'string' }, port: { type: 'string' }, page: { type: 'string', multiple: true }, data: { type: 'string' } } })
const kind = values.kind
const port = Number(values.port)
if (!['bare', 'helmet', 'insert'].includes(kind ?? '') || !Number.isInteger(port)) {
  process.stderr.write('usage: bench-anchor.ts --kind bare|helmet|insert --port N [--page FILE] [--data DIR]\n')
  process.exit(2)
}

const app = Fastify({ logger: false, bodyLimit: 1_600_000 })
const closers: (() => Promise<unknown> | unknown)[] = []

if (kind === 'bare' || kind === 'helmet') {
  if (kind === 'helmet') await app.register(fastifyHelmet)
  for (const [index, file] of (values.page ?? []).entries()) {
    const page = readFileSync(file)
    app.get(`/page/${index}`, async (_request, reply) => reply.type('text/html; charset=utf-8').send(page))
  }
} else {
  let pool: pg.Pool
  const table = `bench_anchor_${process.pid}`
  const url = process.env.DATABASE_URL ?? ''
  if (url !== '') {
    pool = new pg.Pool({ connectionString: url, max: 10 })
    closers.push(async () => {
      await pool.query(`DROP TABLE IF EXISTS ${table}`)
      await pool.end()
    })
  } else {
    const dataDir = values.data ?? mkdtempSync(join(tmpdir(), 'safe-disclosure-anchor-'))
    mkdirSync(dataDir, { recursive: true })
    const socketDir = mkdtempSync(join(tmpdir(), 'safe-disclosure-anchor-socket-'))
    // The same PGlite settings as the portal's own (server/db/database.ts).
    const pglite = await createPglite(join(dataDir, 'pgdata'))
    const server = new PGLiteSocketServer({ db: pglite, path: join(socketDir, '.s.PGSQL.5432'), maxConnections: 4 })
    await server.start()
    pool = new pg.Pool({ host: socketDir, port: 5432, user: 'postgres', database: 'postgres', max: 1 })
    closers.push(async () => {
      await pool.end()
      await server.stop()
      await pglite.close()
      rmSync(socketDir, { recursive: true, force: true })
      if (values.data === undefined) rmSync(dataDir, { recursive: true, force: true })
    })
  }
  await pool.query(`CREATE TABLE IF NOT EXISTS ${table} (id uuid PRIMARY KEY, body jsonb NOT NULL, created_on date NOT NULL DEFAULT current_date)`)
  app.post('/insert', async (request, reply) => {
    const caseId = (request.body as { caseId?: unknown }).caseId
    await pool.query(`INSERT INTO ${table} (id, body) VALUES ($1, $2)`, [typeof caseId === 'string' ? caseId : randomUUID(), request.body])
    return reply.code(201).send({ received: true })
  })
}

await app.listen({ host: '127.0.0.1', port })
process.stdout.write('listening\n')
process.once('SIGTERM', () => {
  void (async () => {
    await app.close()
    for (const close of closers) await close()
    process.exit(0)
  })()
})
