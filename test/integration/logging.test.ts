import t from 'tap'
import { sql } from 'kysely'
import { request } from 'node:http'
import { connect } from 'node:net'
import { baseUrl, buildTestApp } from '../helpers/app.ts'

/**
 * The log canary: requests carry recognisable values in every place a client can put something
 * (address, user agent, cookie, query, path, body, referrer), through every kind of response,
 * over a real socket. None of them may appear in anything the portal logged.
 *
 * Staff routes and /healthz are logged line by line; everything an anonymous person can reach is
 * counted instead, and summed up once a day (server/anonymous-log.ts). The test-only routes that
 * fail on purpose sit under /staff so their lines can be read as soon as they are written.
 */

const CANARY = {
  address: '203.0.113.77',
  forwardedAddress: '198.51.100.23',
  userAgent: 'CanaryBrowser/9.9 (canary-ua-7f3a)',
  cookie: 'canary-cookie-91b2',
  query: 'canary-query-44de',
  path: 'canary-path-aa11',
  body: 'canary-body-5c1d',
  referrer: 'canary-referrer-0e9d',
}

const { app, logs } = await buildTestApp(t, {
  listen: true,
  // trace: the most talkative level must be as discreet as the default.
  env: { TRUST_PROXY: '1', RATE_LIMIT_PER_MINUTE: '10', LOG_LEVEL: 'trace', PUBLIC_ORIGIN: 'https://portal.example.org' },
  extend(app) {
    const open = { config: { access: 'public' as const } }
    app.get('/staff/test-only/fails', open, async () => {
      throw new Error('deliberate failure')
    })
    // A database error quotes the value it could not use: "invalid input syntax for type bigint".
    app.get<{ Querystring: { value: string } }>('/staff/test-only/database-error', open, async (request) => {
      await sql`SELECT ${request.query.value}::bigint`.execute(app.database.db)
    })
    // JSON.parse quotes the text it could not parse.
    app.post<{ Body: string }>('/staff/test-only/parse', open, async (request) => JSON.parse(request.body) as unknown)
    // And one that fails where anonymous people are: its fault goes to the day's summary.
    app.get('/test-only/anonymous-fails', async () => {
      throw new Error('deliberate anonymous failure')
    })
  },
})
const base = baseUrl(app)

interface Sent {
  status: number
  localPort: number
}

function send(method: string, path: string, body?: string, contentType?: string): Promise<Sent> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}${path}`,
      {
        method,
        headers: {
          'user-agent': CANARY.userAgent,
          'x-forwarded-for': `${CANARY.address}, ${CANARY.forwardedAddress}`,
          'x-real-ip': CANARY.address,
          forwarded: `for=${CANARY.address}`,
          cookie: `session=${CANARY.cookie}`,
          referer: `https://example.org/${CANARY.referrer}`,
          accept: 'text/html',
          ...(contentType === undefined ? {} : { 'content-type': contentType }),
        },
      },
      (res) => {
        res.resume()
        res.on('end', () => resolve({ status: res.statusCode ?? 0, localPort: req.socket?.localPort ?? 0 }))
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

/** A request the HTTP parser rejects, carrying the canaries in its raw bytes. */
function sendMalformed(): Promise<Sent> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(new URL(base).port), '127.0.0.1')
    let response = ''
    let localPort = 0
    socket.on('connect', () => (localPort = socket.localPort ?? 0))
    socket.on('data', (chunk: Buffer) => (response += chunk.toString()))
    socket.on('error', reject)
    socket.on('close', () => resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(response)?.[1] ?? 0), localPort }))
    socket.on('connect', () =>
      socket.end(
        `GET /?code=${CANARY.query} HTTP/1.1\r\nHost: x\r\nUser-Agent: ${CANARY.userAgent}\r\nCookie: s=${CANARY.cookie}\r\nthis is not a header\r\n\r\n`,
      ),
    )
  })
}

const sent: Sent[] = [
  await send('GET', `/?code=${CANARY.query}`),
  await send('GET', `/${CANARY.path}?code=${CANARY.query}`),
  await send('GET', `/staff/test-only/fails?code=${CANARY.query}`),
  await send('GET', `/test-only/anonymous-fails?code=${CANARY.query}`),
  await send('POST', '/leave', `{"text": "${CANARY.body}`, 'application/json'),
  await send('POST', '/', `text=${CANARY.body}`, 'application/x-www-form-urlencoded'),
  await send('POST', '/leave', CANARY.body, 'text/canary'),
  await send('POST', '/leave'),
  await send('GET', '/healthz'),
  await send('GET', app.pageContext.assets.css),
  await send('GET', `/%E0%A4%A?code=${CANARY.query}`),
  await send('GET', `/staff/test-only/database-error?value=${CANARY.query}`),
  await send('POST', '/staff/test-only/parse', `{"text": "${CANARY.body}`, 'text/plain'),
  await sendMalformed(),
]
// Exceed the rate limit, so the refusal path is logged (or counted) too.
for (let i = 0; i < 8; i++) sent.push(await send('GET', `/?code=${CANARY.query}`))
const linesBeforeTheDayEnds = logs.lines.length
// The day ends: the summary of the anonymous requests is written.
app.anonymousRequests.rollOver(new Date(Date.now() + 86_400_000))

t.test('the requests exercised every kind of response', async (t) => {
  const statuses = new Set(sent.map((s) => s.status))
  for (const status of [200, 204, 404, 405, 415, 400, 429, 500]) t.ok(statuses.has(status), `a ${status} response was logged`)
  t.equal(sent.filter((s) => s.status === 400).length, 3, 'bad JSON, a bad URL and a malformed request were refused')
})

t.test('no canary value appears in any log line', async (t) => {
  const text = logs.text()
  t.ok(logs.lines.length > 5, 'the portal did log the requests')
  for (const [name, value] of Object.entries(CANARY)) t.notMatch(text, value, `no ${name} in the log`)
})

t.test('errors that quote their input are logged by kind only', async (t) => {
  const failures = logs.entries().filter((entry) => entry.msg === 'request failed')
  const database = failures.find((entry) => (entry.err as { type?: string }).type === 'DatabaseError')
  t.match(database?.err, { code: '22P02', severity: 'ERROR', routine: String }, 'the SQLSTATE and routine are kept for the operator')
  t.notOk((database?.err as { message?: string }).message, 'the message (which quotes the value) is not')
  const syntax = failures.find((entry) => (entry.err as { type?: string }).type === 'SyntaxError')
  t.match(syntax?.err, { message: '(withheld: it can quote the input)' })
})

t.test('no client port or socket address appears in request log lines', async (t) => {
  const requestLines = logs.entries().filter((entry) => Object.hasOwn(entry, 'reqId'))
  t.ok(requestLines.length >= 5, 'one or more lines per staff and health request')
  for (const { pid: _pid, time: _time, ...entry } of requestLines) {
    const line = JSON.stringify(entry)
    t.notMatch(line, /127\.0\.0\.1|remoteAddress|remotePort|hostname|userAgent|user-agent/i)
    for (const { localPort } of sent) t.notMatch(line, new RegExp(`\\b${localPort}\\b`), 'no client port')
  }
})

t.test('staff request lines keep what operators need: method, route pattern, status, time', async (t) => {
  const completed = logs.entries().filter((entry) => entry.msg === 'request completed')
  t.ok(logs.entries().some((entry) => entry.msg === 'client error' && entry.code === 'HPE_INVALID_HEADER_TOKEN'))
  const health = completed.find((entry) => (entry.req as { route?: string }).route === '/healthz')
  t.ok(health)
  t.same(Object.keys(health?.req as object).sort(), ['method', 'route'])
  t.same(Object.keys(health?.res as object), ['statusCode'])
  t.type(health?.responseTime, 'number')
})

t.test("anonymous people's requests are counted, not logged one by one, and summed up once a day", async (t) => {
  const beforeSummary = logs.entries().slice(0, linesBeforeTheDayEnds)
  const anonymousRoutes = ['/', '/leave', '/test-only/anonymous-fails', '/static/*']
  for (const entry of beforeSummary) {
    const route = (entry.req as { route?: string } | undefined)?.route
    t.notOk(route !== undefined && anonymousRoutes.includes(route), `no line of its own for ${route ?? 'a request'}`)
    t.not(entry.msg, 'route not found', 'not even for an unknown page')
  }
  const summaries = logs.entries().filter((entry) => entry.msg === 'anonymous requests of the day (counted, not logged one by one)')
  t.equal(summaries.length, 1, 'one summary when the day ends')
  const summary = summaries[0]!
  t.match(summary.day, /^\d{4}-\d{2}-\d{2}$/)
  const requests = summary.requests as Record<string, number>
  t.ok(requests['GET / 200']! >= 1, 'counted by method, route and status')
  t.ok(requests['GET / 429']! >= 1, 'the refusals too')
  const faults = summary.faults as { route: string; statusCode: number; reference: string; error: { type: string; message: string } }[]
  const fault = faults.find((entry) => entry.route === 'GET /test-only/anonymous-fails')
  t.match(fault, { statusCode: 500, reference: /^[0-9a-f]{12}$/, error: { type: 'Error', message: 'deliberate anonymous failure' } }, 'a fault keeps its kind and reference for the operator')
  t.notOk(Object.hasOwn(summary, 'reqId'), 'the summary is not a request line')
})

t.test('a server error is logged with its reference, and the reference is shown to the person', async (t) => {
  const response = await app.inject({ method: 'GET', url: '/staff/test-only/fails', headers: { accept: 'application/json' } })
  const reference = (response.json() as { reference: string }).reference
  t.match(reference, /^[0-9a-f]{12}$/)
  const logged = logs.entries().find((entry) => entry.reference === reference)
  t.ok(logged, 'the failure is in the log under the same reference')
  t.match((logged?.err as { stack?: string }).stack, /deliberate failure/, 'with the details for the operator')
})
