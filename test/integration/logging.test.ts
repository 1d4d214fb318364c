import t from 'tap'
import { sql } from 'kysely'
import { request } from 'node:http'
import { connect } from 'node:net'
import { baseUrl, buildTestApp } from '../helpers/app.ts'

/**
 * The log canary: requests carry recognisable values in every place a client can put something
 * (address, user agent, cookie, query, path, body, referrer), through every kind of response,
 * over a real socket. None of them may appear in anything the portal logged.
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
  env: { TRUST_PROXY: '1', RATE_LIMIT_PER_MINUTE: '10', LOG_LEVEL: 'trace' },
  extend(app) {
    app.get('/test-only/fails', async () => {
      throw new Error('deliberate failure')
    })
    // A database error quotes the value it could not use: "invalid input syntax for type bigint".
    app.get<{ Querystring: { value: string } }>('/test-only/database-error', async (request) => {
      await sql`SELECT ${request.query.value}::bigint`.execute(app.database.db)
    })
    // JSON.parse quotes the text it could not parse.
    app.post<{ Body: string }>('/test-only/parse', async (request) => JSON.parse(request.body) as unknown)
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
  await send('GET', `/test-only/fails?code=${CANARY.query}`),
  await send('POST', '/leave', `{"text": "${CANARY.body}`, 'application/json'),
  await send('POST', '/', `text=${CANARY.body}`, 'application/x-www-form-urlencoded'),
  await send('POST', '/leave', CANARY.body, 'text/canary'),
  await send('POST', '/leave'),
  await send('GET', '/healthz'),
  await send('GET', app.pageContext.assets.css),
  await send('GET', `/%E0%A4%A?code=${CANARY.query}`),
  await send('GET', `/test-only/database-error?value=${CANARY.query}`),
  await send('POST', '/test-only/parse', `{"text": "${CANARY.body}`, 'text/plain'),
  await sendMalformed(),
]
// Exceed the rate limit, so the refusal path is logged too.
for (let i = 0; i < 8; i++) sent.push(await send('GET', `/?code=${CANARY.query}`))

t.test('the requests exercised every kind of response', async (t) => {
  const statuses = new Set(sent.map((s) => s.status))
  for (const status of [200, 204, 404, 405, 415, 400, 429, 500]) t.ok(statuses.has(status), `a ${status} response was logged`)
  t.equal(sent.filter((s) => s.status === 400).length, 3, 'bad JSON, a bad URL and a malformed request were refused')
})

t.test('no canary value appears in any log line', async (t) => {
  const text = logs.text()
  t.ok(logs.lines.length > 10, 'the portal did log the requests')
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
  const requestLines = logs.entries().filter((entry) => 'reqId' in entry)
  t.ok(requestLines.length >= sent.length, 'one or more lines per request')
  for (const { pid: _pid, time: _time, ...entry } of requestLines) {
    const line = JSON.stringify(entry)
    t.notMatch(line, /127\.0\.0\.1|remoteAddress|remotePort|hostname|userAgent|user-agent/i)
    for (const { localPort } of sent) t.notMatch(line, new RegExp(`\\b${localPort}\\b`), 'no client port')
  }
})

t.test('request lines keep what operators need: method, route pattern, status, time', async (t) => {
  const completed = logs.entries().filter((entry) => entry.msg === 'request completed')
  // The bad URL and the malformed request are refused before routing, with a line of their own.
  t.ok(completed.length >= sent.length - 2)
  t.ok(logs.entries().some((entry) => entry.msg === 'client error' && entry.code === 'HPE_INVALID_HEADER_TOKEN'))
  const landing = completed.find((entry) => (entry.req as { route?: string }).route === '/')
  t.ok(landing)
  t.same(Object.keys(landing?.req as object).sort(), ['method', 'route'])
  t.same(Object.keys(landing?.res as object), ['statusCode'])
  t.type(landing?.responseTime, 'number')
})

t.test('a server error is logged with its reference, and the reference is shown to the person', async (t) => {
  const response = await app.inject({ method: 'GET', url: '/test-only/fails', headers: { accept: 'application/json' } })
  const reference = (response.json() as { reference: string }).reference
  t.match(reference, /^[0-9a-f]{12}$/)
  const logged = logs.entries().find((entry) => entry.reference === reference)
  t.ok(logged, 'the failure is in the log under the same reference')
  t.match((logged?.err as { stack?: string }).stack, /deliberate failure/, 'with the details for the operator')
})
