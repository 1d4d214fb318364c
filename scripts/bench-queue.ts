/**
 * Benchmark: the IDVA queue's first page with 100,000 cases.
 *
 *   npm run bench:queue                      embedded database (PGlite), in a temporary folder
 *   DATABASE_URL=postgres://… npm run bench:queue   a new, temporary database on that server
 *   npm run bench:queue -- --cases 20000 --runs 30
 *
 * Seeds the cases (kinds, statuses, risk levels, replies and days spread over two years), then
 * times GET /staff/cases in-process (app.inject: routing, session and access checks, the queries,
 * rendering; no network) for the first page under each filter, and a later page. Prints the median
 * and 95th percentile in milliseconds, and exits 1 if a first page's median is over 100 ms.
 */
import { sql } from 'kysely'
import { parseArgs } from 'node:util'
import { buildApp } from '../server/app.ts'
import { loadConfig } from '../server/config.ts'
import { createLogger } from '../server/logger.ts'
import { prepareDatabase } from '../server/server.ts'
import { seedAccount, seedGrant, seedService } from './lib/staff-fixtures.ts'
import { createTestDatabase } from '../test/helpers/database.ts'
import { sessionFor } from '../test/helpers/staff.ts'

const { values } = parseArgs({ options: { cases: { type: 'string', default: '100000' }, runs: { type: 'string', default: '50' } } })
const CASES = Number(values.cases)
const RUNS = Number(values.runs)
const LIMIT_MS = 100

const teardowns: (() => Promise<void> | void)[] = []
const testDatabase = await createTestDatabase({ teardown: (fn: () => Promise<void> | void) => teardowns.push(fn) } as never)
const config = loadConfig({ HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'silent', ...testDatabase.env })
const logger = createLogger('silent')
const database = await testDatabase.open(config, logger)
await prepareDatabase(database, logger, config)
const db = database.db

const service = await seedService(db)
const idva = await seedAccount(db, config.serverSecret, { username: 'bench.idva', role: 'idva', groupId: service.id })
await seedGrant(db, idva, service)

const seedStart = performance.now()
await database.asOwner(async (owner) => {
  // Deterministic spread: i picks the kind, status, risk, age and reply of case i.
  await sql`
    INSERT INTO cases (id, kind, lookup_id, auth_public, reply_public, sealed, status, created_on, last_activity_on, first_reply_on, risk_level, message_count)
    SELECT gen_random_uuid(),
           CASE WHEN i % 7 = 0 THEN 'consultation' ELSE 'disclosure' END,
           decode(md5('lookup' || i), 'hex'),
           sha256(('auth' || i)::bytea),
           sha256(('reply' || i)::bytea),
           false,
           (ARRAY['new', 'in_contact', 'support_ongoing', 'referred', 'closed'])[1 + (i % 5)],
           current_date - (i % 730),
           current_date - (i % 730) + (i % 3),
           CASE WHEN i % 5 = 0 THEN NULL ELSE current_date - (i % 730) + (i % 4) END,
           (ARRAY[NULL, 'standard', 'medium', 'high'])[1 + (i % 4)],
           1 + (i % 9)
      FROM generate_series(1, ${CASES}) AS i`.execute(owner)
  // As autovacuum would have by now: the visibility map lets counts use the indexes alone.
  await sql`VACUUM ANALYZE cases`.execute(owner)
})
const seedMs = performance.now() - seedStart

const app = await buildApp({ config, database, logger })
await app.ready()
const client = await sessionFor(app, idva)

async function time(url: string): Promise<{ median: number; p95: number; rows: number }> {
  const samples: number[] = []
  let rows = 0
  for (let run = 0; run < RUNS + 3; run++) {
    const start = performance.now()
    const response = await app.inject({ method: 'GET', url, headers: { cookie: client.cookie }, remoteAddress: `10.9.${run % 250}.1` })
    const elapsed = performance.now() - start
    if (response.statusCode !== 200) throw new Error(`${url}: ${response.statusCode} ${response.body.slice(0, 200)}`)
    rows = (response.body.match(/data-case-row=/g) ?? []).length
    if (run >= 3) samples.push(elapsed) // the first runs warm the caches and the plan
  }
  samples.sort((a, b) => a - b)
  return { median: samples[Math.floor(samples.length / 2)]!, p95: samples[Math.floor(samples.length * 0.95) - 1] ?? samples.at(-1)!, rows }
}

const secondPage = await (async () => {
  const first = await app.inject({ method: 'GET', url: '/staff/cases?status=all', headers: { cookie: client.cookie } })
  const next = /href="\/staff\/cases\?([^"]+)"[^>]*data-next-page/.exec(first.body)?.[1]
  return `/staff/cases?${(next ?? '').replace(/&amp;/g, '&')}`
})()

const cases: [string, string][] = [
  ['open cases (the default)', '/staff/cases'],
  ['all, including closed', '/staff/cases?status=all'],
  ['status: new', '/staff/cases?status=new'],
  ['risk: high', '/staff/cases?risk=high'],
  ['not yet assessed', '/staff/cases?risk=none'],
  ['past the target', '/staff/cases?overdue=1'],
  ['consultations', '/staff/cases?kind=consultation'],
  ['htmx fragment, high and new', '/staff/cases?status=new&risk=high'],
  ['a later page (keyset)', secondPage],
]

console.log(`${CASES} cases on ${database.kind === 'embedded' ? 'the embedded database (PGlite)' : 'PostgreSQL'}, Node ${process.version}; seeded in ${(seedMs / 1000).toFixed(1)} s; ${RUNS} runs each`)
console.log('query'.padEnd(32), 'rows'.padStart(5), 'median ms'.padStart(10), 'p95 ms'.padStart(8))
let over = false
for (const [name, url] of cases) {
  const result = await time(url)
  if (result.median > LIMIT_MS) over = true
  console.log(name.padEnd(32), String(result.rows).padStart(5), result.median.toFixed(1).padStart(10), result.p95.toFixed(1).padStart(8))
}

await app.close()
await database.close()
for (const teardown of teardowns.reverse()) await teardown()
if (over) {
  console.log(`A first page took over ${LIMIT_MS} ms (median).`)
  process.exitCode = 1
}
