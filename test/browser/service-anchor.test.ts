import t from 'tap'
import type { Page } from 'playwright-core'
import { generateKeySet } from '../../crypto/keys.ts'
import { base64url } from '../../crypto/bytes.ts'
import { seedService } from '../../scripts/lib/staff-fixtures.ts'
import { buildTestApp, freePort } from '../helpers/app.ts'
import { launchChromium, PageWatch } from '../helpers/browser.ts'
import { disclosureBody, insertIdvaReply, newReporter, servicePublic, submit } from '../helpers/reporter.ts'

/**
 * The trust anchor, tried as the database insider would: on a running portal, replace the IDVA
 * service's first-generation public keys in the database with keys of their own (the two UPDATEs
 * of the review), and write a reply signed with them. The pin (SERVICE_KEY_FINGERPRINT) is in the
 * configuration, not the database, so in a real Chromium:
 *   - /return shows the insider's reply (and every reply) as not verified, says why, and will not send;
 *   - /report will not seal: the server refuses the swapped chain, and so does the browser on its
 *     own when it is handed that chain (a server that failed to check);
 * and, with SERVICE_KEY_FINGERPRINT set to a wrong value, /report offers no form.
 */

const browser = await launchChromium(t)
if (browser !== null) {
  const port = await freePort()
  const origin = `http://127.0.0.1:${port}`
  const { app, serviceKeys } = await buildTestApp(t, { listen: true, env: { PORT: String(port), PUBLIC_ORIGIN: origin } })
  const db = app.database.db
  const service = await seedService(db, { keys: serviceKeys })
  const watch = new PageWatch(t, browser, origin)

  const reporter = await newReporter()
  const insider = await generateKeySet()
  /** Every POST the page makes from now on (there must be none). */
  const postsFrom = (page: Page) => {
    const posts: string[] = []
    page.on('request', (request) => {
      if (request.method() === 'POST') posts.push(request.url())
    })
    return posts
  }
  // Pages are opened before the first subtest (tap ends a file whose root test is idle between subtests).
  const [returnPage, reportPage, unguardedPage] = [await watch.newPage(), await watch.newPage(), await watch.newPage()]
  const wrongPort = await freePort()
  const wrongOrigin = `http://127.0.0.1:${wrongPort}`
  const wrongPage = await new PageWatch(t, browser, wrongOrigin).newPage()

  await t.test("setting up: a case with a genuine reply, then the insider's swap", async (t) => {
    t.equal((await submit(app, await disclosureBody(reporter, servicePublic(service.keys)))).statusCode, 201)
    await insertIdvaReply(app, { caseId: reporter.caseId, seq: 2, text: 'Genuine reply 4410', service: service.keys, replyPublic: reporter.keys.reply.publicKey })
    // This instance has seen the service open (it keeps that for up to a minute).
    t.equal((await app.inject({ method: 'GET', url: '/return' })).statusCode, 200)
    // Their own keys as generation 1, and a reply signed with them.
    await db.updateTable('group_keys').set({ x25519_public: Buffer.from(insider.encryption.publicKey) }).where('group_id', '=', service.id).where('generation', '=', 1).execute()
    await db.updateTable('group_keys').set({ ed25519_public: Buffer.from(insider.signing.publicKey) }).where('group_id', '=', service.id).where('generation', '=', 1).execute()
    await insertIdvaReply(app, { caseId: reporter.caseId, seq: 3, text: 'Your case is closed. Forged 8831', service: service.keys, replyPublic: reporter.keys.reply.publicKey, signer: insider.signing })
  })

  await t.test('/return: every reply is shown as not verified, with the reason, and nothing can be sent', async (t) => {
    const page = returnPage
    await page.goto(`${origin}/return`)
    await page.locator('[data-crypto-missing]').waitFor({ state: 'hidden' })
    await page.fill('#case-code', reporter.code)
    await page.click('[data-open]')
    await page.locator('[data-case]').waitFor({ state: 'visible', timeout: 10_000 }).catch(async (error: unknown) => {
      t.comment(`login error: ${await page.textContent('[data-return-login] [data-error]')}; problems: ${watch.problems.join(' | ')}`)
      throw error
    })
    const items = page.locator('[data-thread] > li')
    t.equal(await items.count(), 3)
    t.equal(await items.nth(2).getAttribute('data-unverified'), 'true', "the insider's reply is not verified")
    t.equal(await items.nth(1).getAttribute('data-unverified'), 'true', 'no reply is trusted while the key does not check out')
    const text = (await page.textContent('[data-thread]')) ?? ''
    t.notMatch(text, /Forged 8831/, "the insider's words are not shown")
    t.notMatch(text, /The IDVA service replied[\s\S]*Genuine reply/, 'nothing is shown as a verified reply')
    t.match(text, /could not check the IDVA service's key/)
    t.ok(await page.locator('[data-key-problem]').isVisible(), 'the page says why, with a way to other help')
    t.equal(await page.getAttribute('[data-key-problem] a', 'href'), '/safety')
    t.ok(await page.locator('[data-write]').isHidden(), 'no way to send anything')
  })

  await t.test('/report: the questions stay switched off and nothing is sealed', async (t) => {
    const page = reportPage
    const posts = postsFrom(page)
    await page.goto(`${origin}/report`)
    await page.locator('[data-key-problem]').waitFor({ state: 'visible' })
    t.not(await page.getAttribute('[data-step="1"] [data-step-fields]', 'disabled'), null, 'the questions stay switched off')
    t.same(posts, [], 'nothing was sent')
  })

  await t.test('handed the swapped chain as if the server had not checked it, the browser refuses on its own', async (t) => {
    const page = unguardedPage
    await page.route(`${origin}/report/keys`, (route) =>
      route.fulfill({
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify({
          serviceId: service.id,
          generations: [{ generation: 1, x25519: base64url.encode(insider.encryption.publicKey), ed25519: base64url.encode(insider.signing.publicKey), certificate: null }],
        }),
      }),
    )
    // The page as an instance serves it before it notices (the pin is from its configuration).
    await page.route(`${origin}/report`, async (route) => {
      const { ReportPage } = await import('../../views/pages/report.tsx')
      const body = await ReportPage({ context: app.pageContext, service: { name: 'x', fingerprint: app.anchor.pin! }, firstReplyTargetDays: 2, choices: { boroughs: [], ranks: [], staffGrades: [] } })
      return route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: String(body) })
    })
    const posts = postsFrom(page)
    await page.goto(`${origin}/report`)
    await page.locator('[data-key-problem]').waitFor({ state: 'visible' })
    t.not(await page.getAttribute('[data-step="1"] [data-step-fields]', 'disabled'), null, 'the questions stay switched off')
    t.same(posts, [], 'nothing was sealed or sent')
  })

  await t.test('the server notices too: healthz and the pages refuse', async (t) => {
    const health = await app.inject({ method: 'GET', url: '/healthz' })
    t.equal(health.statusCode, 503)
    t.match(health.json(), { serviceKey: 'mismatch' })
    for (const url of ['/report', '/managers/ask', '/return']) {
      const page = await app.inject({ method: 'GET', url, headers: { accept: 'text/html' } })
      t.equal(page.statusCode, 503, url)
      t.match(page.body, /could not check the IDVA service's key/, url)
      t.notMatch(page.body, /data-report=|data-ask=|data-step-fields/, `${url} offers no form`)
    }
  })

  await t.test('with SERVICE_KEY_FINGERPRINT set to a wrong value, /report offers no form', async (t) => {
    const wrong = await buildTestApp(t, { listen: true, env: { PORT: String(wrongPort), PUBLIC_ORIGIN: wrongOrigin, SERVICE_KEY_FINGERPRINT: '00000 11111 22222 33333 44444 55555' } })
    await seedService(wrong.app.database.db, { keys: wrong.serviceKeys })
    const page = wrongPage
    const response = await page.goto(`${wrongOrigin}/report`)
    t.equal(response?.status(), 503)
    t.equal(await page.locator('[data-step-fields]').count(), 0, 'no questions at all')
    t.match((await page.textContent('main')) ?? '', /Do not send anything now/)
  })

  t.same(watch.problems.filter((problem) => !/503|Failed to load resource/.test(problem)), [], 'no script errors')
}
