import t from 'tap'
import { sql } from 'kysely'
import { normaliseAddress } from '../../server/plugins/rate-limit.ts'
import { deleteOldCounters } from '../../server/db/rate-limit-repository.ts'
import { CounterNames } from '../../server/security/counters.ts'
import { buildTestApp } from '../helpers/app.ts'

const ADDRESS = '203.0.113.9'
const env = { RATE_LIMIT_PER_MINUTE: '5', TRUST_PROXY: '1', PUBLIC_ORIGIN: 'https://portal.example.org' }
const from = (address: string) => ({ 'x-forwarded-for': address, accept: 'application/json' })

t.test('two instances on one database share the same counters', async (t) => {
  const first = await buildTestApp(t, { env })
  const second = await buildTestApp(t, { env, testDatabase: first.testDatabase })
  const statuses: number[] = []
  for (let i = 0; i < 6; i++) {
    const instance = i % 2 === 0 ? first.app : second.app
    statuses.push((await instance.inject({ method: 'GET', url: '/', headers: from(ADDRESS) })).statusCode)
  }
  t.same(statuses, [200, 200, 200, 200, 200, 429], 'the sixth request is refused, whichever instance takes it')

  const refused = await first.app.inject({ method: 'GET', url: '/', headers: from(ADDRESS) })
  t.equal(refused.statusCode, 429)
  t.match(refused.json().message, /Please wait (a minute|\d+ minutes) and try again/)
  t.ok(Number(refused.headers['retry-after']) >= 1, 'Retry-After tells the browser when to come back')
  t.equal(refused.headers['ratelimit-limit'], '5')
  t.equal(refused.headers['ratelimit-remaining'], '0')

  const other = await second.app.inject({ method: 'GET', url: '/', headers: from('198.51.100.200') })
  t.equal(other.statusCode, 200, 'another address has its own allowance')

  const health = await first.app.inject({ method: 'GET', url: '/healthz', headers: from(ADDRESS) })
  t.equal(health.statusCode, 200, 'health checks are never rate-limited')
  const asset = await first.app.inject({ method: 'GET', url: first.app.pageContext.assets.css, headers: from(ADDRESS) })
  t.equal(asset.statusCode, 200, 'static files are never rate-limited')
})

t.test('instances with different secrets do not share counters', async (t) => {
  const first = await buildTestApp(t, { env })
  const second = await buildTestApp(t, { env: { ...env, SERVER_SECRET: 'b'.repeat(64) }, testDatabase: first.testDatabase })
  for (let i = 0; i < 5; i++) await first.app.inject({ method: 'GET', url: '/', headers: from(ADDRESS) })
  t.equal((await second.app.inject({ method: 'GET', url: '/', headers: from(ADDRESS) })).statusCode, 200)
})

t.test('the database holds no address and no time, only keyed hashes, counts and the day', async (t) => {
  const { app, database } = await buildTestApp(t, { env })
  await app.inject({ method: 'GET', url: '/', headers: from(ADDRESS) })
  await app.inject({ method: 'GET', url: '/missing', headers: from('2001:db8:1234:5678:9abc::1') })
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
  await app.inject({ method: 'GET', url: '/', headers: from(ADDRESS) })
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
