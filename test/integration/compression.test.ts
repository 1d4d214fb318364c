import t from 'tap'
import { createHash } from 'node:crypto'
import { brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib'
import { seedAccount, seedService } from '../../scripts/lib/staff-fixtures.ts'
import { loadGuidance } from '../../server/features/managers/guidance.ts'
import { preferredEncoding } from '../../server/http/encoding.ts'
import { buildTestApp } from '../helpers/app.ts'
import { asStaff, sessionFor } from '../helpers/staff.ts'

/**
 * Compression (issue 20): the bundle goes out precompressed by negotiation, public pages are
 * compressed on a first visit, and nothing that could hold a secret is (BREACH).
 */

const { app, serviceKeys } = await buildTestApp(t)
const BROWSER = { accept: 'text/html', 'accept-encoding': 'gzip, deflate, br, zstd' }
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex')
const opened = (encoding: string | undefined, body: Buffer) => (encoding === 'br' ? brotliDecompressSync(body) : encoding === 'gzip' ? gunzipSync(body) : body)

t.test('Accept-Encoding is read as RFC 9110 says', async (t) => {
  t.equal(preferredEncoding(undefined), null)
  t.equal(preferredEncoding(''), null)
  t.equal(preferredEncoding('gzip, deflate, br'), 'br', 'brotli preferred at equal weight')
  t.equal(preferredEncoding('gzip, deflate'), 'gzip')
  t.equal(preferredEncoding('br;q=0, gzip'), 'gzip', 'q=0 refuses a coding')
  t.equal(preferredEncoding('br;q=0.5, gzip;q=0.8'), 'gzip', 'the higher weight wins')
  t.equal(preferredEncoding('identity'), null)
  t.equal(preferredEncoding('*'), 'br', 'any coding')
  t.equal(preferredEncoding('*;q=0'), null)
  t.equal(preferredEncoding('x-gzip'), 'gzip')
  t.equal(preferredEncoding(' GZIP ; Q=1 '), 'gzip', 'case and spaces do not matter')
})

t.test('every bundle file goes out as the browser accepts it, compressed once at build', async (t) => {
  for (const path of Object.values(app.pageContext.assets)) {
    const plain = await app.inject({ method: 'GET', url: path })
    t.equal(plain.headers['content-encoding'], undefined, `${path}: as it is without Accept-Encoding`)
    t.equal(sha256(plain.rawPayload), plain.headers['x-content-sha256'])
    for (const [accept, encoding] of [['br', 'br'], ['gzip', 'gzip'], ['gzip, deflate, br', 'br'], ['br;q=0, gzip', 'gzip'], ['identity', undefined]] as const) {
      const answer = await app.inject({ method: 'GET', url: path, headers: { 'accept-encoding': accept } })
      t.equal(answer.statusCode, 200)
      t.equal(answer.headers['content-encoding'], encoding, `${path}, Accept-Encoding: ${accept}`)
      t.match(answer.headers.vary, /accept-encoding/i)
      t.equal(Number(answer.headers['content-length']), answer.rawPayload.length)
      t.equal(sha256(opened(encoding, answer.rawPayload)), plain.headers['x-content-sha256'], 'opens to exactly the file in the manifest')
      t.equal(answer.headers['cache-control'], 'private, max-age=31536000, immutable')
    }
  }
})

t.test("public pages are compressed on a first visit, and open to the page as it is", async (t) => {
  const guide = `/managers/${loadGuidance()[0]!.slug}`
  for (const path of ['/', '/managers', guide, '/report', '/return', '/managers/ask', '/no-such-page']) {
    const plain = await app.inject({ method: 'GET', url: path, headers: { accept: 'text/html' } })
    const compressed = await app.inject({ method: 'GET', url: path, headers: BROWSER })
    t.equal(compressed.statusCode, plain.statusCode, path)
    t.equal(compressed.headers['content-encoding'], 'br', `${path} is compressed`)
    t.match(compressed.headers.vary, /accept-encoding/i)
    t.equal(compressed.headers['cache-control'], 'no-store', 'pages stay uncached')
    t.ok(compressed.headers['content-security-policy'], 'with every security header')
    t.equal(opened('br', compressed.rawPayload).toString('utf8'), plain.body, 'the same page')
    t.ok(compressed.rawPayload.length < plain.rawPayload.length / 2, `${path}: ${plain.rawPayload.length} bytes become ${compressed.rawPayload.length}`)
    const gzip = await app.inject({ method: 'GET', url: path, headers: { ...BROWSER, 'accept-encoding': 'gzip' } })
    t.equal(gunzipSync(gzip.rawPayload).toString('utf8'), plain.body)
  }
})

t.test("a first load of the start page is within its gzip budget on the wire", async (t) => {
  const page = await app.inject({ method: 'GET', url: '/', headers: BROWSER })
  const html = opened(page.headers['content-encoding'] as string, page.rawPayload).toString('utf8')
  const assets = [...html.matchAll(/(?:href|src|content)="(\/static\/[^"]+\.(?:js|css))"/g)].map((match) => match[1]!)
  t.ok(assets.length >= 3, 'the stylesheet and the scripts')
  let wire = page.rawPayload.length
  let budget = gzipSync(Buffer.from(html)).length
  for (const path of assets) {
    const asset = await app.inject({ method: 'GET', url: path, headers: BROWSER })
    wire += asset.rawPayload.length
    budget += gzipSync(opened(asset.headers['content-encoding'] as string, asset.rawPayload)).length
  }
  t.ok(wire <= budget, `${wire} bytes on the wire, gzip budget ${budget}`)
})

t.test('nothing that could hold a secret is compressed (BREACH)', async (t) => {
  const db = app.database.db
  const service = await seedService(db, { keys: serviceKeys })
  const idva = await seedAccount(db, app.config.serverSecret, { username: 'idva', role: 'idva', groupId: service.id })
  const client = await sessionFor(app, idva)
  for (const path of ['/staff', '/staff/cases', '/staff/account']) {
    const answer = await asStaff(app, client, { method: 'GET', url: path, headers: BROWSER })
    t.ok(answer.statusCode < 500, `${path} answered ${answer.statusCode}`)
    t.equal(answer.headers['content-encoding'], undefined, `${path} under a staff session: sent as it is`)
  }
  const withCookie = await app.inject({ method: 'GET', url: '/report', headers: { ...BROWSER, cookie: 'anything=1' } })
  t.equal(withCookie.headers['content-encoding'], undefined, 'a request with any cookie may belong to a session: sent as it is')
  t.match(withCookie.headers.vary, /accept-encoding/i)
  const login = await app.inject({ method: 'GET', url: '/staff/login', headers: BROWSER })
  if (login.headers['set-cookie'] !== undefined) t.equal(login.headers['content-encoding'], undefined, 'a response that sets a cookie: sent as it is')
  t.notMatch(opened(login.headers['content-encoding'] as string | undefined, login.rawPayload).toString('utf8'), /csrf-token/, 'the sign-in page holds no token')
  const posted = await app.inject({ method: 'POST', url: '/return/challenge', headers: { ...BROWSER, accept: 'application/json', origin: app.config.publicOrigin } })
  t.equal(posted.headers['content-encoding'], undefined, 'the answer to an action is sent as it is')
})
