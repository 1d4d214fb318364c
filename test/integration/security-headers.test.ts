import t from 'tap'
import { connect } from 'node:net'
import { buildTestApp } from '../helpers/app.ts'

/** Parses a CSP header into directive -> sources. */
function parseCsp(header: string): Map<string, string[]> {
  const directives = new Map<string, string[]>()
  for (const part of header.split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/)
    if (name !== undefined && name !== '') directives.set(name, sources)
  }
  return directives
}

const { app } = await buildTestApp(t, {
  extend(app) {
    app.get('/test-only/fails', async () => {
      throw new Error('deliberate failure')
    })
  },
})

const responses = {
  'landing page': await app.inject({ method: 'GET', url: '/', headers: { accept: 'text/html' } }),
  'not found page': await app.inject({ method: 'GET', url: '/no-such-page', headers: { accept: 'text/html' } }),
  'JSON error': await app.inject({ method: 'GET', url: '/no-such-page', headers: { accept: 'application/json' } }),
  'server error page': await app.inject({ method: 'GET', url: '/test-only/fails', headers: { accept: 'text/html' } }),
  'health check': await app.inject({ method: 'GET', url: '/healthz' }),
  'undecodable URL (answered before any hook)': await app.inject({ method: 'GET', url: '/%E0%A4%A?x=1', headers: { accept: 'text/html' } }),
  'wrong method': await app.inject({ method: 'PATCH', url: '/', headers: { accept: 'application/json' } }),
  stylesheet: await app.inject({ method: 'GET', url: app.pageContext.assets.css }),
  'browser bundle': await app.inject({ method: 'GET', url: app.pageContext.assets.app }),
  'evidence worker': await app.inject({ method: 'GET', url: app.pageContext.assets.evidenceWorker }),
  'puzzle worker': await app.inject({ method: 'GET', url: app.pageContext.assets.puzzleWorker }),
  htmx: await app.inject({ method: 'GET', url: app.pageContext.assets.htmx }),
}

const STATIC = { stylesheet: true, 'browser bundle': true, 'evidence worker': true, 'puzzle worker': true, htmx: true }

for (const [name, response] of Object.entries(responses)) {
  t.test(`${name}: every protective header is present`, async (t) => {
    const headers = response.headers
    const csp = parseCsp(String(headers['content-security-policy']))
    t.same(csp.get('default-src'), ["'none'"])
    t.same(csp.get('script-src'), ["'self'", "'wasm-unsafe-eval'"])
    t.same(csp.get('style-src'), ["'self'"])
    t.same(csp.get('img-src'), ["'self'"])
    t.same(csp.get('connect-src'), ["'self'"])
    t.same(csp.get('form-action'), ["'self'"])
    t.same(csp.get('frame-ancestors'), ["'none'"])
    t.same(csp.get('base-uri'), ["'none'"])
    t.same(csp.get('object-src'), ["'none'"])
    const everySource = [...csp.values()].flat()
    t.notOk(everySource.includes("'unsafe-inline'"), "no 'unsafe-inline'")
    t.notOk(everySource.includes("'unsafe-eval'"), "no 'unsafe-eval'")
    t.notOk(
      everySource.some((source) => /[a-z]+:\/\/|\*/i.test(source)),
      'no other hosts, schemes or wildcards',
    )

    const hsts = /max-age=(\d+)/.exec(String(headers['strict-transport-security']))
    t.ok(hsts !== null && Number(hsts[1]) >= 31_536_000, 'HSTS max-age of at least a year')
    t.equal(headers['referrer-policy'], 'no-referrer')
    t.equal(headers['cross-origin-opener-policy'], 'same-origin')
    t.equal(headers['cross-origin-resource-policy'], 'same-origin')
    t.equal(headers['x-content-type-options'], 'nosniff')
    t.equal(headers['x-frame-options'], 'DENY')
    const permissions = String(headers['permissions-policy'])
    for (const feature of ['camera', 'microphone', 'geolocation', 'payment', 'usb', 'display-capture']) {
      t.match(permissions, new RegExp(`(^|, )${feature}=\\(\\)`), `Permissions-Policy denies ${feature}`)
    }
    if (name in STATIC) {
      t.equal(headers['cache-control'], 'private, max-age=31536000, immutable', 'content-hashed code may be cached by the browser only')
    } else {
      t.equal(headers['cache-control'], 'no-store', 'Cache-Control: no-store')
    }
    t.notOk(headers['x-powered-by'], 'no X-Powered-By')
    t.notOk(headers['server'], 'no Server header')
  })
}

t.test('every HTML response is no-store and served as UTF-8 HTML', async (t) => {
  for (const name of ['landing page', 'not found page', 'server error page', 'undecodable URL (answered before any hook)'] as const) {
    t.match(responses[name].headers['content-type'], /^text\/html; charset=utf-8/, name)
    t.equal(responses[name].headers['cache-control'], 'no-store', name)
  }
})

t.test('over https, insecure references are upgraded', async (t) => {
  const { app } = await buildTestApp(t, { env: { PUBLIC_ORIGIN: 'https://portal.example.org' } })
  const response = await app.inject({ method: 'GET', url: '/' })
  t.ok(parseCsp(String(response.headers['content-security-policy'])).has('upgrade-insecure-requests'))
})

t.test('a request the HTTP parser rejects gets a plain answer that is not cached and echoes nothing', async (t) => {
  const { app } = await buildTestApp(t, { listen: true })
  const { port } = app.server.address() as { port: number }
  const response = await new Promise<string>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let text = ''
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()))
    socket.on('close', () => resolve(text))
    socket.on('error', reject)
    socket.on('connect', () => socket.end('GET /?secret=echo-me HTTP/1.1\r\nHost: x\r\nnot a header line\r\n\r\n'))
  })
  t.match(response, /^HTTP\/1\.1 400 Bad Request\r\n/)
  t.match(response, /\r\nCache-Control: no-store\r\n/)
  t.match(response, /\r\nX-Content-Type-Options: nosniff\r\n/)
  t.match(response, /\r\nContent-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\n/)
  t.notMatch(response, /echo-me/)
})

t.test("the headers worked out once are exactly those @fastify/helmet sets on every request with the same options", async (t) => {
  const { default: Fastify } = await import('fastify')
  const { default: fastifyHelmet } = await import('@fastify/helmet')
  const { helmetHeaders, helmetOptions, PERMISSIONS_POLICY } = await import('../../server/plugins/security-headers.ts')
  for (const config of [app.config, { ...app.config, secureCookies: !app.config.secureCookies }]) {
    const reference = Fastify({ logger: false })
    await reference.register(fastifyHelmet, helmetOptions(config) as never)
    reference.get('/', async () => 'ok')
    const answer = await reference.inject({ method: 'GET', url: '/' })
    await reference.close()
    const expected = Object.fromEntries(Object.entries(answer.headers).filter(([name]) => !['content-type', 'content-length', 'date', 'connection'].includes(name)))
    t.same(helmetHeaders(config), { ...expected, 'permissions-policy': PERMISSIONS_POLICY }, `secure cookies: ${config.secureCookies}`)
  }
})
