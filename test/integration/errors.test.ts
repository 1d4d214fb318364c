import t, { type Test } from 'tap'
import { recordAudit } from '../../server/audit/audit.ts'
import { BODY_LIMIT_BYTES } from '../../server/app.ts'
import { buildTestApp } from '../helpers/app.ts'

const { app, database } = await buildTestApp(t, {
  extend(app) {
    app.get('/test-only/fails', async () => {
      throw new Error('deliberate failure with internal detail /etc/secret-path')
    })
    app.get('/test-only/items/:id', async () => 'an item')
    app.get('/test-only/slow', { handlerTimeout: 200 }, async () => {
      await new Promise((resolve) => setTimeout(resolve, 1_000))
      return 'too late'
    })
    app.post('/test-only/half-written', async () => {
      await database.db.transaction().execute(async (trx) => {
        await recordAudit(trx, { actor: { type: 'system' }, action: 'test.first_step' })
        throw new Error('second step failed')
      })
    })
  },
})

const html = { accept: 'text/html,application/xhtml+xml' }
const json = { accept: 'application/json' }

function noInternals(t: Test, body: string): void {
  t.notMatch(body, /\bat .+\(.*:\d+:\d+\)/, 'no stack trace')
  t.notMatch(body, /node_modules|\/work\/|server\//, 'no file paths')
  t.notMatch(body, /FST_ERR|SyntaxError|Unexpected token|deliberate|secret-path/, 'no internal error names or messages')
}

t.test('malformed JSON gets a 400 in plain words', async (t) => {
  const response = await app.inject({ method: 'POST', url: '/leave', headers: { ...json, 'content-type': 'application/json' }, payload: '{"a": ' })
  t.equal(response.statusCode, 400)
  t.equal(response.json().message, 'We could not read what was sent. Please go back and try again.')
  noInternals(t, response.body)
})

t.test('a body over the limit gets a 413', async (t) => {
  const payload = `text=${'x'.repeat(BODY_LIMIT_BYTES + 10)}`
  const response = await app.inject({ method: 'POST', url: '/leave', headers: { ...html, 'content-type': 'application/x-www-form-urlencoded' }, payload })
  t.equal(response.statusCode, 413)
  t.match(response.body, /What was sent is too large/)
  noInternals(t, response.body)
})

t.test('an unsupported content type gets a 415', async (t) => {
  const response = await app.inject({ method: 'POST', url: '/leave', headers: { ...json, 'content-type': 'application/x-unknown' }, payload: 'x' })
  t.equal(response.statusCode, 415)
  t.equal(response.json().error, 'That kind of content is not accepted')
})

t.test('an unknown page gets a 404 page for people and JSON for programs', async (t) => {
  const page = await app.inject({ method: 'GET', url: '/nothing/here?x=1', headers: html })
  t.equal(page.statusCode, 404)
  t.match(page.headers['content-type'], /text\/html/)
  t.match(page.body, /<h1>Page not found<\/h1>/)
  t.match(page.body, /Leave this site/, 'the quick exit is on the 404 page too')
  const api = await app.inject({ method: 'GET', url: '/nothing/here', headers: json })
  t.equal(api.statusCode, 404)
  t.same(api.json(), {
    statusCode: 404,
    error: 'Page not found',
    message: 'There is no page at this address. If you typed it, check it is correct.',
  })
})

t.test('an address that cannot be decoded gets a 400 that does not repeat it', async (t) => {
  const page = await app.inject({ method: 'GET', url: '/%E0%A4%A?q=do-not-echo', headers: html })
  t.equal(page.statusCode, 400)
  t.match(page.body, /<h1>Something was wrong with the request<\/h1>/)
  t.notMatch(page.body, /do-not-echo|%E0/)
  const api = await app.inject({ method: 'GET', url: '/%E0%A4%A', headers: json })
  t.equal(api.statusCode, 400)
  t.notMatch(api.body, /FST_ERR|%E0/)
})

t.test('an over-long path parameter gets a 414', async (t) => {
  const response = await app.inject({ method: 'GET', url: `/test-only/items/${'x'.repeat(300)}`, headers: json })
  t.equal(response.statusCode, 414)
  t.equal(response.json().error, 'That address is too long')
  t.notMatch(response.body, /xxxxx/)
})

t.test('a known page with the wrong method gets a 405 with Allow', async (t) => {
  const response = await app.inject({ method: 'DELETE', url: '/', headers: json })
  t.equal(response.statusCode, 405)
  t.equal(response.headers.allow, 'GET, HEAD')
  const post = await app.inject({ method: 'PUT', url: '/leave', headers: json })
  t.equal(post.statusCode, 405)
  t.equal(post.headers.allow, 'POST')
})

t.test('a fault shows a generic message and a reference, never the details', async (t) => {
  const page = await app.inject({ method: 'GET', url: '/test-only/fails', headers: html })
  t.equal(page.statusCode, 500)
  t.match(page.body, /Sorry, something went wrong on our side/)
  t.match(page.body, /the reference for this problem is <code>[0-9a-f]{12}<\/code>/)
  noInternals(t, page.body)
  const api = await app.inject({ method: 'GET', url: '/test-only/fails', headers: json })
  t.equal(api.statusCode, 500)
  t.match(api.json(), { statusCode: 500, reference: /^[0-9a-f]{12}$/ })
  noInternals(t, api.body)
})

t.test('a handler that takes too long answers 503 instead of hanging', async (t) => {
  const response = await app.inject({ method: 'GET', url: '/test-only/slow', headers: json })
  t.equal(response.statusCode, 503)
  t.equal(response.json().error, 'This is taking too long')
  t.match(response.json().message, /check whether it arrived before you send it again/, 'no promise that nothing was saved')
})

t.test('a failed request leaves nothing half-written', async (t) => {
  const before = await database.db.selectFrom('audit_log').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
  const response = await app.inject({ method: 'POST', url: '/test-only/half-written', headers: json })
  t.equal(response.statusCode, 500)
  const after = await database.db.selectFrom('audit_log').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
  t.equal(Number(after.n), Number(before.n), 'the first step was rolled back with the second')
})

t.test('htmx requests get the error as HTML too', async (t) => {
  const response = await app.inject({ method: 'GET', url: '/missing', headers: { 'hx-request': 'true', accept: '*/*' } })
  t.equal(response.statusCode, 404)
  t.match(response.headers['content-type'], /text\/html/)
})
