import t from 'tap'
import { request } from 'node:http'
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
  env: { TRUST_PROXY: 'true', RATE_LIMIT_PER_MINUTE: '8' },
  extend(app) {
    app.get('/test-only/fails', async () => {
      throw new Error('deliberate failure')
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

const sent: Sent[] = [
  await send('GET', `/?code=${CANARY.query}`),
  await send('GET', `/${CANARY.path}?code=${CANARY.query}`),
  await send('GET', `/test-only/fails?code=${CANARY.query}`),
  await send('POST', '/leave', `{"text": "${CANARY.body}`, 'application/json'),
  await send('POST', '/', `text=${CANARY.body}`, 'application/x-www-form-urlencoded'),
  await send('POST', '/leave', CANARY.body, 'text/canary'),
  await send('POST', '/leave'),
  await send('GET', '/healthz'),
  await send('GET', '/static/app.css'),
]
// Exceed the rate limit, so the refusal path is logged too.
for (let i = 0; i < 8; i++) sent.push(await send('GET', `/?code=${CANARY.query}`))

t.test('the requests exercised every kind of response', async (t) => {
  const statuses = new Set(sent.map((s) => s.status))
  for (const status of [200, 204, 404, 405, 415, 400, 429, 500]) t.ok(statuses.has(status), `a ${status} response was logged`)
})

t.test('no canary value appears in any log line', async (t) => {
  const text = logs.text()
  t.ok(logs.lines.length > 10, 'the portal did log the requests')
  for (const [name, value] of Object.entries(CANARY)) t.notMatch(text, value, `no ${name} in the log`)
})

t.test('no client port or socket address appears in request log lines', async (t) => {
  const requestLines = logs.entries().filter((entry) => 'reqId' in entry)
  t.ok(requestLines.length >= sent.length, 'one or more lines per request')
  for (const entry of requestLines) {
    const line = JSON.stringify(entry)
    t.notMatch(line, /127\.0\.0\.1|remoteAddress|remotePort|hostname|userAgent|user-agent/i)
    for (const { localPort } of sent) t.notMatch(line, new RegExp(`\\b${localPort}\\b`), 'no client port')
  }
})

t.test('request lines keep what operators need: method, route pattern, status, time', async (t) => {
  const completed = logs.entries().filter((entry) => entry.msg === 'request completed')
  t.ok(completed.length >= sent.length)
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
