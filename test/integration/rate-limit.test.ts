import t from 'tap'
import { sql } from 'kysely'
import { normaliseAddress } from '../../server/plugins/rate-limit.ts'
import { LocalCounters } from '../../server/security/local-counters.ts'
import { deleteOldCounters } from '../../server/db/rate-limit-repository.ts'
import { CounterNames } from '../../server/security/counters.ts'
import { buildTestApp } from '../helpers/app.ts'

const ADDRESS = '203.0.113.9'
const env = { RATE_LIMIT_PER_MINUTE: '5', TRUST_PROXY: '1', PUBLIC_ORIGIN: 'https://portal.example.org' }
const from = (address: string) => ({ 'x-forwarded-for': address, accept: 'application/json' })

t.test("the page limit is counted in the instance's memory: no database round trip, no row", async (t) => {
  const { app, database } = await buildTestApp(t, { env })
  const statuses: number[] = []
  for (let i = 0; i < 6; i++) statuses.push((await app.inject({ method: 'GET', url: '/', headers: from(ADDRESS) })).statusCode)
  t.same(statuses, [200, 200, 200, 200, 200, 429], 'the sixth request in the minute is refused')

  const refused = await app.inject({ method: 'GET', url: '/', headers: from(ADDRESS) })
  t.equal(refused.statusCode, 429)
  t.match(refused.json().message, /Please wait (a minute|\d+ minutes) and try again/)
  t.ok(Number(refused.headers['retry-after']) >= 1, 'Retry-After tells the browser when to come back')
  t.equal(refused.headers['ratelimit-limit'], '5')
  t.equal(refused.headers['ratelimit-remaining'], '0')
  t.equal(refused.headers['cache-control'], 'no-store')

  t.equal((await app.inject({ method: 'GET', url: '/', headers: from('198.51.100.200') })).statusCode, 200, 'another address has its own allowance')
  t.equal((await app.inject({ method: 'GET', url: '/healthz', headers: from(ADDRESS) })).statusCode, 200, 'health checks are never rate-limited')
  t.equal((await app.inject({ method: 'GET', url: app.pageContext.assets.css, headers: from(ADDRESS) })).statusCode, 200, 'static files are never rate-limited')
  t.equal((await database.db.selectFrom('rate_limit_counter').selectAll().execute()).length, 0, 'no counter was written to the database')
})

t.test('with several instances each counts its own page views (README says so)', async (t) => {
  const first = await buildTestApp(t, { env })
  const second = await buildTestApp(t, { env, testDatabase: first.testDatabase })
  for (let i = 0; i < 5; i++) t.equal((await first.app.inject({ method: 'GET', url: '/', headers: from(ADDRESS) })).statusCode, 200)
  t.equal((await first.app.inject({ method: 'GET', url: '/', headers: from(ADDRESS) })).statusCode, 429)
  t.equal((await second.app.inject({ method: 'GET', url: '/', headers: from(ADDRESS) })).statusCode, 200, 'the other instance has not seen them')
})

t.test('the limits that must hold across instances are shared through the database', async (t) => {
  const first = await buildTestApp(t, { env })
  const second = await buildTestApp(t, { env, testDatabase: first.testDatabase })
  const statuses: number[] = []
  // Case-code attempts: 20 per 15 minutes from one address, whichever instance answers.
  for (let i = 0; i < 21; i++) {
    const instance = i % 2 === 0 ? first.app : second.app
    statuses.push((await instance.inject({ method: 'POST', url: '/return/challenge', headers: { ...from(ADDRESS), origin: env.PUBLIC_ORIGIN } })).statusCode)
  }
  t.same(statuses, [...Array<number>(20).fill(200), 429], 'the 21st attempt is refused, whichever instance takes it')
  t.equal((await first.database.db.selectFrom('rate_limit_counter').selectAll().execute()).length, 1, 'one counter, in the database')
})

t.test('a flood from more addresses than memory holds is still limited: the newcomers are counted in the database', async (t) => {
  const counters = new LocalCounters(2)
  t.equal(counters.hit('default', 'a', 0), 1)
  t.equal(counters.hit('default', 'b', 0), 1)
  t.equal(counters.hit('default', 'a', 0), 2)
  t.equal(counters.hit('default', 'c', 0), null, 'no room for a third: the caller counts it in the database')
  t.equal(counters.size, 2)
  t.equal(counters.hit('default', 'c', 60_000), 1, 'the next window drops the last one whole')
  t.equal(counters.size, 1)
  t.equal(counters.hit('default', 'c', 0), 2, 'a late request for the window just ended counts in the current one')

  const { app, database } = await buildTestApp(t, { env: { ...env, RATE_LIMIT_PER_MINUTE: '2', RATE_LIMIT_MEMORY_COUNTERS: '2' } })
  for (const address of ['198.51.100.1', '198.51.100.2']) await app.inject({ method: 'GET', url: '/', headers: from(address) })
  t.equal((await database.db.selectFrom('rate_limit_counter').selectAll().execute()).length, 0, 'two addresses fit in memory')
  const third = []
  for (let i = 0; i < 3; i++) third.push((await app.inject({ method: 'GET', url: '/', headers: from('198.51.100.3') })).statusCode)
  t.same(third, [200, 200, 429], 'the third address, with no room in memory, is still held to the limit')
  t.equal((await database.db.selectFrom('rate_limit_counter').selectAll().execute()).length, 1, 'counted in the database')
})

t.test('instances with different secrets do not share counters', async (t) => {
  const first = await buildTestApp(t, { env })
  const second = await buildTestApp(t, { env: { ...env, SERVER_SECRET: 'b'.repeat(64) }, testDatabase: first.testDatabase })
  const attempt = (app: typeof first.app) => app.inject({ method: 'POST', url: '/return/challenge', headers: { ...from(ADDRESS), origin: env.PUBLIC_ORIGIN } })
  for (let i = 0; i < 20; i++) await attempt(first.app)
  t.equal((await attempt(first.app)).statusCode, 429)
  t.equal((await attempt(second.app)).statusCode, 200)
})

t.test('the database holds no address and no time, only keyed hashes, counts and the day', async (t) => {
  const { app, database } = await buildTestApp(t, { env })
  await app.inject({ method: 'POST', url: '/return/challenge', headers: { ...from(ADDRESS), origin: env.PUBLIC_ORIGIN } })
  await app.inject({ method: 'POST', url: '/return/challenge', headers: { ...from('2001:db8:1234:5678:9abc::1'), origin: env.PUBLIC_ORIGIN } })
  const rows = await database.db.selectFrom('rate_limit_counter').selectAll().execute()
  t.equal(rows.length, 2)
  for (const row of rows) {
    t.same(Object.keys(row).sort(), ['counter', 'day', 'hits'], 'no column for a time')
    t.match(row.counter, /^[A-Za-z0-9_-]{43}$/, 'an HMAC-SHA256, base64url')
    t.notMatch(row.counter, /203|2001|db8/)
    t.match(row.day, /^\d{4}-\d{2}-\d{2}$/)
  }
  const dump = JSON.stringify(await sql`SELECT * FROM rate_limit_counter`.execute(database.db))
  t.notMatch(dump, ADDRESS)
  t.notMatch(dump, /\d{2}:\d{2}/, 'no time of day')
})

t.test("a counter's name depends on its window: the next window starts afresh, under a name nobody can link", async (t) => {
  const names = new CounterNames(Buffer.alloc(32, 1))
  const start = Date.UTC(2026, 11, 2, 10, 0, 0)
  const first = names.name('report-submit', ADDRESS, 3600, start + 1_000)
  t.equal(names.name('report-submit', ADDRESS, 3600, start + 3_599_000).counter, first.counter, 'the same hour, the same counter')
  t.equal(first.secondsLeft, 3599)
  t.not(names.name('report-submit', ADDRESS, 3600, start + 3_600_000).counter, first.counter, 'the next hour, another')
  t.not(new CounterNames(Buffer.alloc(32, 2)).name('report-submit', ADDRESS, 3600, start + 1_000).counter, first.counter, 'another secret, another name')
})

t.test("earlier days' counters are deleted", async (t) => {
  const { app, database } = await buildTestApp(t, { env })
  await app.inject({ method: 'POST', url: '/return/challenge', headers: { ...from(ADDRESS), origin: env.PUBLIC_ORIGIN } })
  await database.asOwner((db) => sql`UPDATE rate_limit_counter SET day = current_date - 1`.execute(db))
  t.equal(await deleteOldCounters(database.db), 1)
  t.equal((await database.db.selectFrom('rate_limit_counter').selectAll().execute()).length, 0)
})

t.test('addresses are normalised: IPv4-mapped to IPv4, IPv6 to its /64', async (t) => {
  t.equal(normaliseAddress('::ffff:203.0.113.9'), '203.0.113.9')
  t.equal(normaliseAddress('203.0.113.9'), '203.0.113.9')
  t.equal(normaliseAddress('2001:db8:1234:5678:9abc::1'), '2001:db8:1234:5678::/64')
  t.equal(normaliseAddress('2001:0db8:0000:0001::ffff'), '2001:db8:0:1::/64')
  t.equal(normaliseAddress('::1'), '0:0:0:0::/64')
  t.equal(normaliseAddress('2001:db8::'), '2001:db8:0:0::/64')
})

t.test('a visitor behind the same IPv6 /64 shares one allowance', async (t) => {
  const { app } = await buildTestApp(t, { env })
  for (let i = 0; i < 5; i++) await app.inject({ method: 'GET', url: '/', headers: from(`2001:db8:aa:bb::${i + 1}`) })
  t.equal((await app.inject({ method: 'GET', url: '/', headers: from('2001:db8:aa:bb::99') })).statusCode, 429)
})

t.test('without TRUST_PROXY, X-Forwarded-For is ignored: a client cannot pick a new address per request', async (t) => {
  const { app } = await buildTestApp(t, { env: { RATE_LIMIT_PER_MINUTE: '3' } })
  const statuses: number[] = []
  for (let i = 0; i < 4; i++) statuses.push((await app.inject({ method: 'GET', url: '/', headers: from(`198.51.100.${i}`) })).statusCode)
  t.same(statuses, [200, 200, 200, 429])
})

t.test('with TRUST_PROXY listing the proxy, only the entry that proxy added counts', async (t) => {
  const { app } = await buildTestApp(t, { env: { RATE_LIMIT_PER_MINUTE: '3', TRUST_PROXY: '127.0.0.1', PUBLIC_ORIGIN: 'https://portal.example.org' } })
  const statuses: number[] = []
  // The client writes the left-most entries itself; the proxy appends the address it saw.
  for (let i = 0; i < 4; i++) {
    statuses.push((await app.inject({ method: 'GET', url: '/', headers: from(`198.51.100.${i}, ${ADDRESS}`) })).statusCode)
  }
  t.same(statuses, [200, 200, 200, 429])
})

t.test('the counters are kept out of the write-ahead log', async (t) => {
  const { database } = await buildTestApp(t)
  const persistence = await sql<{ relpersistence: string }>`SELECT relpersistence FROM pg_class WHERE oid = 'rate_limit_counter'::regclass`.execute(database.db)
  t.equal(persistence.rows[0]?.relpersistence, 'u', 'UNLOGGED')
})
