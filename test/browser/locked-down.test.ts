import t, { type Test } from 'tap'
import { readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import type { Browser, Page } from 'playwright-core'
import { fromUtf8, messageContext, openEnvelope } from '../../crypto/index.ts'
import { seedAccount, seedGrant, seedService } from '../../scripts/lib/staff-fixtures.ts'
import { buildTestApp, freePort } from '../helpers/app.ts'
import { JITLESS, launchChromium, PageWatch, recordRequestBodies, signIn } from '../helpers/browser.ts'
import { insertIdvaReply, storedCase, storedMessage } from '../helpers/reporter.ts'

/**
 * Issue 21: disclosing from a locked-down phone. Chromium with `--js-flags=--jitless` has no
 * WebAssembly, as iPhone Lockdown Mode and Tor Browser's Safer level leave a page; there the
 * reporter's cryptography runs in plain JavaScript (crypto/sodium-js.ts) with the same formats.
 *
 * The whole reporter journey (six steps with a file, the receipt, /return with a verified reply, a
 * follow-up with a file) runs in that browser and in an ordinary one; each case is then opened by
 * the other path's browser at /return and by an IDVA's browser (WebAssembly), and the disclosure by
 * libsodium in Node. Staff pages say plainly that they need WebAssembly. With JavaScript switched
 * off, /report, /managers/ask and /return say exactly why nothing can be sent, and how to reach a
 * person; on an address that is not a secure context, the page names that instead.
 */

// Two browsers, three portals' worth of journeys, one of them without a JIT: more than the suite's
// default three minutes a file when the machine is busy with the rest of the suite.
t.setTimeout(480_000)

const normal = await launchChromium(t)
const locked = normal === null ? null : await launchChromium(t, { args: JITLESS })
if (normal !== null && locked !== null) {
  const port = await freePort()
  const origin = `http://127.0.0.1:${port}`
  const received: Buffer[] = []
  const { app, serviceKeys } = await buildTestApp(t, {
    listen: true,
    env: { PORT: String(port), PUBLIC_ORIGIN: origin, SERVICE_PHONE: '01632 960 123', SERVICE_HOURS: 'Monday to Friday, 9am to 5pm' },
    extend: (app) => recordRequestBodies(app, (_url, body) => received.push(body)),
  })
  const db = app.database.db
  const service = await seedService(db, { keys: serviceKeys })
  const idva = await seedAccount(db, app.config.serverSecret, { username: 'idva.locked', role: 'idva', groupId: service.id, passphrase: 'quiet harbour lanterns under a winter moon' })
  await seedGrant(db, idva, service)
  const watches = { locked: new PageWatch(t, locked, origin), normal: new PageWatch(t, normal, origin) }

  type Site = { readonly origin: string; readonly db: typeof db }
  const main: Site = { origin, db }
  const stepVisible = (page: Page, step: number) => page.locator(`[data-step="${step}"]`).waitFor({ state: 'visible', timeout: 60_000 })
  const knownCases = async (site: Site) => new Set((await site.db.selectFrom('cases').select('id').execute()).map((row) => row.id))

  /** The six steps, with a file; the receipt and its check. Returns the code and the new case's id. */
  async function disclose(t: Test, page: Page, canary: string, file: { name: string; content: string }, site = main): Promise<{ code: string; caseId: string }> {
    const before = await knownCases(site)
    await page.goto(`${site.origin}/report`)
    await page.locator('[data-crypto-missing]').waitFor({ state: 'hidden', timeout: 60_000 })
    await page.check('#abuseTypes-controlling_or_coercive')
    await page.check('#duration-over_2_years')
    await page.click('[data-step="1"] [data-step-next]')
    await stepVisible(page, 2)
    await page.check('#relationship-partner')
    await page.check('#perpetratorPolice-this_force')
    await page.click('[data-step="2"] [data-step-next]')
    for (const step of [3, 4, 5]) {
      await stepVisible(page, step)
      if (step === 4) await page.check('#safeNow-not_safe')
      if (step === 5) await page.check('#wants-talk_to_idva')
      await page.click(`[data-step="${step}"] [data-step-next]`)
    }
    await stepVisible(page, 6)
    const slow = await page.evaluate(() => typeof WebAssembly === 'undefined')
    t.equal(await page.locator('[data-slow-crypto]').isVisible(), slow, slow ? 'the note that files are locked more slowly here is shown' : 'no note about slower files')
    await page.fill('#text', canary)
    await page.setInputFiles('#evidence', { name: file.name, mimeType: 'text/plain', buffer: Buffer.from(file.content) })
    await page.click('[data-submit]')
    await page.locator('[data-receipt]').waitFor({ state: 'visible', timeout: 120_000 })
    const code = (await page.textContent('[data-case-code]'))!.trim()
    t.match(code, /^[a-z]+( [a-z]+){8}$/, 'a nine-word code')
    const words = code.split(' ')
    const position = async (selector: string) => Number(/Word (\d)/.exec((await page.textContent(selector))!)![1]) - 1
    await page.fill('[data-check-word-a]', words[await position('[data-check-label-a]')]!)
    await page.fill('[data-check-word-b]', words[await position('[data-check-label-b]')]!)
    await page.click('[data-check-code]')
    await page.locator('[data-receipt-done]').waitFor({ state: 'visible' })
    const created = [...(await knownCases(site))].filter((id) => !before.has(id))
    t.equal(created.length, 1, 'one case stored')
    return { code, caseId: created[0]! }
  }

  /** /return with the code: every message in the thread read, each verified; the file downloaded. */
  async function openAtReturn(t: Test, page: Page, code: string, expected: { texts: readonly (string | RegExp)[]; file: { name: string; content: string } }, site = main): Promise<void> {
    await page.goto(`${site.origin}/return`)
    await page.locator('[data-crypto-missing]').waitFor({ state: 'hidden', timeout: 60_000 })
    await page.fill('#case-code', code)
    await page.click('[data-open]')
    await page.locator('[data-case]').waitFor({ state: 'visible', timeout: 120_000 })
    const messages = page.locator('[data-thread] > li')
    await messages.nth(expected.texts.length - 1).waitFor({ timeout: 60_000 })
    t.equal(await messages.count(), expected.texts.length, `${expected.texts.length} messages in the thread`)
    for (const [index, text] of expected.texts.entries()) t.match(await messages.nth(index).textContent(), text, `message ${index + 1} read`)
    t.notMatch(await page.textContent('[data-thread]'), /could not be verified/, 'every message verified')
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 120_000 }), page.click(`[data-thread] button:has-text("Download ${expected.file.name}")`)])
    t.equal(readFileSync((await download.path())!).toString(), expected.file.content, `${expected.file.name} decrypts in this browser`)
  }

  /** The reporter's follow-up at /return (already open), with a file. */
  async function followUp(t: Test, page: Page, text: string, file: { name: string; content: string }, messagesBefore: number): Promise<void> {
    await page.fill('[data-new-text]', text)
    await page.setInputFiles('[data-new-evidence]', { name: file.name, mimeType: 'text/plain', buffer: Buffer.from(file.content) })
    await page.click('[data-send]')
    await page.locator('[data-send-working]', { hasText: 'Sent.' }).waitFor({ timeout: 120_000 })
    await page.locator('[data-thread] > li').nth(messagesBefore).waitFor()
    t.match(await page.locator('[data-thread] > li').nth(messagesBefore).textContent(), text, 'the follow-up is in the thread')
  }

  await t.test('without a JIT there is no WebAssembly, and /report still gets ready to encrypt, saying files are slower here', async (t) => {
    const scripts = (page: Page) => {
      const loaded: string[] = []
      page.on('response', (response) => {
        const url = new URL(response.url())
        if (url.pathname.endsWith('.js')) loaded.push(url.pathname)
      })
      return loaded
    }
    const page = await watches.locked.newPage()
    const lockedScripts = scripts(page)
    await page.goto(`${origin}/report`)
    t.equal(await page.evaluate(() => typeof WebAssembly), 'undefined', 'no WebAssembly in this browser')
    await page.locator('[data-crypto-missing]').waitFor({ state: 'hidden', timeout: 60_000 })
    t.equal(await page.locator('#abuseTypes-physical').isDisabled(), false, 'the questions are switched on')
    t.equal(await page.evaluate(() => document.documentElement.dataset.cryptoBuild), 'javascript', 'the page knows it runs the plain JavaScript build')
    const ordinary = await watches.normal.newPage()
    const ordinaryScripts = scripts(ordinary)
    await ordinary.goto(`${origin}/report`)
    await ordinary.locator('[data-crypto-missing]').waitFor({ state: 'hidden', timeout: 60_000 })
    // The JavaScript build is loaded only where WebAssembly is missing: the usual crypto step is unchanged.
    const onlyLocked = lockedScripts.filter((path) => !ordinaryScripts.includes(path))
    t.ok(onlyLocked.length > 0, `the page without WebAssembly loads the JavaScript build (${onlyLocked.join(', ')})`)
    const source = (path: string) => readFileSync(`dist/public/${path.replace(/^\/static\//, '')}`)
    t.ok(onlyLocked.some((path) => source(path).includes('expand 32-byte k')), 'which holds the noble libraries')
    const gzipped = ordinaryScripts.reduce((sum, path) => sum + gzipSync(source(path), { level: 9 }).length, 0)
    t.ok(gzipped <= 250 * 1000, `the usual crypto step of /report: ${(gzipped / 1000).toFixed(0)} KB of script gzipped (budget 250 KB)`)
    t.equal(await ordinary.evaluate(() => typeof WebAssembly), 'object')
    t.equal(await ordinary.evaluate(() => document.documentElement.dataset.cryptoBuild), undefined, 'with WebAssembly, the WebAssembly build')
  })

  let staffPage: Page | null = null
  const codes: Record<'locked' | 'normal', string> = { locked: '', normal: '' }

  for (const [path, other] of [['locked', 'normal'], ['normal', 'locked']] as const) {
    const label = path === 'locked' ? 'without WebAssembly (no JIT)' : 'with WebAssembly'
    const otherLabel = other === 'locked' ? 'the browser without WebAssembly' : 'a browser with WebAssembly'
    const canary = `Canary-${path}-7731 he checks my phone every night`
    const answer = `Canary-${path}-answer-4412 Thursday evening is safe`
    const reply = `Canary-${path}-reply-9090: an IDVA can call you on Thursday.`
    const first = { name: `${path}-photo.txt`, content: `Canary-${path}-file-1 the first file` }
    const second = { name: `${path}-later.txt`, content: `Canary-${path}-file-2 added later` }
    let code = ''
    let caseId = ''

    await t.test(`${label}: the whole journey, then the other path, the IDVA's browser and libsodium open what it sealed`, async (t) => {
      const page = await watches[path].newPage()
      ;({ code, caseId } = await disclose(t, page, canary, first))
      codes[path] = code

      // libsodium (WebAssembly, in Node) opens the disclosure this browser sealed.
      const stored = await storedCase(app, caseId)
      const message = await db.selectFrom('case_messages').selectAll().where('case_id', '=', caseId).where('seq', '=', 1).executeTakeFirstOrThrow()
      const opened = await openEnvelope(await storedMessage(app, message), { caseId, keys: [serviceKeys.encryption], trustedSigners: [stored.authPublic], context: messageContext(1, message.id) })
      t.match(fromUtf8(opened.plaintext), canary, 'the disclosure opens with libsodium in Node')

      await insertIdvaReply(app, { caseId, seq: 2, text: reply, service: serviceKeys, replyPublic: stored.replyPublic })
      await openAtReturn(t, page, code, { texts: [canary, reply], file: first })
      await followUp(t, page, answer, second, 2)

      // The other path's browser opens the same case: everything this one sealed, and the reply.
      const otherPage = await watches[other].newPage()
      await openAtReturn(t, otherPage, code, { texts: [canary, reply, answer], file: second })

      // The IDVA's browser (WebAssembly, the sumo build) opens the disclosure, the follow-up and both files.
      if (staffPage === null) {
        staffPage = await watches.normal.newPage()
        await signIn(staffPage, origin, idva)
      }
      await staffPage.goto(`${origin}/staff/cases/${caseId}`)
      await staffPage.locator('[data-case-view]').waitFor({ state: 'visible', timeout: 60_000 })
      const thread = (await staffPage.textContent('[data-thread]'))!
      t.match(thread, canary, "the IDVA reads the disclosure")
      t.match(thread, answer, 'and the follow-up')
      for (const file of [first, second]) {
        const [download] = await Promise.all([staffPage.waitForEvent('download'), staffPage.click(`[data-thread] button:has-text("Download ${file.name}")`)])
        t.equal(readFileSync((await download.path())!).toString(), file.content, `${file.name} decrypts in the IDVA's browser`)
      }
      t.comment(`${label}: opened at /return in ${otherLabel} too`)
    })
  }

  await t.test('without WebAssembly, a line manager asks an IDVA for advice at /managers/ask; libsodium opens it', async (t) => {
    const page = await watches.locked.newPage()
    const before = await knownCases(main)
    await page.goto(`${origin}/managers/ask`)
    await page.locator('[data-crypto-missing]').waitFor({ state: 'hidden', timeout: 60_000 })
    await page.check('#managerRole-line_manager')
    await page.check('#adviceTopics-safety_at_work')
    await page.fill('#text', 'Canary-manager-6060 a colleague told me about her partner')
    await page.click('[data-submit]')
    await page.locator('[data-receipt]').waitFor({ state: 'visible', timeout: 120_000 })
    const caseId = [...(await knownCases(main))].find((id) => !before.has(id))!
    const stored = await storedCase(app, caseId)
    const message = await db.selectFrom('case_messages').selectAll().where('case_id', '=', caseId).executeTakeFirstOrThrow()
    const opened = await openEnvelope(await storedMessage(app, message), { caseId, keys: [serviceKeys.encryption], trustedSigners: [stored.authPublic], context: messageContext(1, message.id) })
    t.match(fromUtf8(opened.plaintext), 'Canary-manager-6060', 'the consultation sealed without WebAssembly opens with libsodium')
  })

  await t.test('a larger file without WebAssembly: a progress bar and an estimate of the time left while it is locked', async (t) => {
    const page = await watches.locked.newPage()
    await page.goto(`${origin}/return`)
    await page.locator('[data-crypto-missing]').waitFor({ state: 'hidden', timeout: 60_000 })
    await page.fill('#case-code', codes.locked)
    await page.click('[data-open]')
    await page.locator('[data-case]').waitFor({ state: 'visible', timeout: 120_000 })
    t.ok(await page.locator('[data-slow-crypto]').isVisible(), 'the note that files are locked more slowly here')
    const big = Buffer.alloc(6 * 1024 * 1024, 'Canary-big-file ')
    await page.fill('[data-new-text]', 'A larger file')
    await page.setInputFiles('[data-new-evidence]', { name: 'recording.txt', mimeType: 'text/plain', buffer: big })
    await page.click('[data-send]')
    const working = page.locator('[data-send-working]')
    await working.locator('progress').waitFor({ state: 'visible', timeout: 30_000 })
    t.match(await working.textContent(), /Locking your file on this device/, 'it says what it is doing')
    await working.filter({ hasText: /\d+% done, (about \d+ seconds left|nearly finished|about a minute left)/ }).waitFor({ timeout: 60_000 })
    t.pass('with how far it has got and the time left')
    await working.filter({ hasText: 'Sent.' }).waitFor({ timeout: 120_000 })
    t.equal(await working.locator('progress').count(), 0, 'the bar goes when it is done')
  })

  await t.test('nothing readable reached the server on either path', async (t) => {
    for (const secret of ['he checks my phone every night', 'Thursday evening is safe', 'the first file', 'added later']) {
      t.notOk(received.some((body) => body.includes(secret)), `"${secret}" in no request body`)
    }
  })

  await t.test('staff pages without WebAssembly say plainly that they need it; nothing fails', async (t) => {
    const page = await watches.locked.newPage()
    await page.goto(`${origin}/staff/login`)
    const notice = page.locator('[data-needs-webassembly]')
    await notice.waitFor({ state: 'visible' })
    t.match(await notice.textContent(), /The staff pages need WebAssembly, which is switched off in this browser/)
    t.equal(await page.locator('[data-submit]').isDisabled(), true, 'sign-in stays switched off')
  })

  await t.test('with JavaScript switched off, the pages say exactly why nothing can be sent, and how to reach a person', async (t) => {
    const context = await normal.newContext({ javaScriptEnabled: false })
    t.teardown(() => context.close())
    const page = await context.newPage()
    for (const [path, what] of [['/report', /nothing is sent: the questions are switched off/], ['/managers/ask', /nothing is sent: the questions are switched off/], ['/return', /Without it nothing can be unlocked here/]] as const) {
      await page.goto(`${origin}${path}`)
      const notice = page.locator('[data-crypto-missing]')
      t.ok(await notice.isVisible(), `${path}: the notice is shown`)
      const text = (await notice.innerText({ timeout: 5_000 })).replace(/\s+/g, ' ')
      t.match(text, /JavaScript is switched off in this browser \(Tor Browser's "Safest" security level switches it off\)/, `${path}: names the cause`)
      t.match(text, what, `${path}: and that this is why nothing is sent`)
      t.match(text, /Call the IDVA service on 01632 960 123 \(Monday to Friday, 9am to 5pm\)/, `${path}: the IDVA service's phone`)
      t.match(text, /National Domestic Abuse Helpline free, at any time, on 0808 2000 247/, `${path}: a helpline`)
      t.notMatch(text, /out of date|up-to-date/, `${path}: no "out of date"`)
    }
  })

  await t.test('on an address that is not a secure context, the page names that as the cause', async (t) => {
    // A name other than localhost over plain http: browsers give such a page no web cryptography.
    const browser: Browser | null = await launchChromium(t, { args: [`--host-resolver-rules=MAP portal.invalid 127.0.0.1`] })
    if (browser === null) return
    const page = await browser.newPage()
    const errors: string[] = []
    page.on('pageerror', (error) => errors.push(error.message))
    await page.goto(`http://portal.invalid:${port}/report`)
    t.equal(await page.evaluate(() => isSecureContext), false, 'not a secure context')
    const reason = page.locator('[data-crypto-reason]')
    await reason.waitFor({ state: 'visible' })
    t.same(errors, [], 'no script error')
    t.match(await reason.textContent(), /not opened over a secure connection/, 'the cause is named')
    t.equal(await page.locator('#abuseTypes-physical').isDisabled(), true, 'the questions stay switched off')
  })

  await t.test('behind a Tor onion service: an http://….onion origin is a secure context there, and the journey works', async (t) => {
    // Tor Browser treats .onion addresses as secure contexts; Chromium is told to, and to send the
    // onion name to this test's second portal, configured with PUBLIC_ORIGIN=http://….onion.
    const onion = `${'safedisclosureonionservicetest'.padEnd(56, 'a')}.onion`
    const onionPort = await freePort()
    const onionApp = await buildTestApp(t, { listen: true, env: { PORT: String(onionPort), PUBLIC_ORIGIN: `http://${onion}` } })
    await seedService(onionApp.app.database.db, { keys: onionApp.serviceKeys })
    t.equal(onionApp.app.config.secureCookies, false, 'its cookies are not marked Secure (the origin is http://)')
    const browser = await launchChromium(t, { args: [...JITLESS, `--host-rules=MAP ${onion} 127.0.0.1:${onionPort}`, `--unsafely-treat-insecure-origin-as-secure=http://${onion}`] })
    if (browser === null) return
    const onionWatch = new PageWatch(t, browser, `http://${onion}`)
    const page = await onionWatch.newPage()
    const site: Site = { origin: `http://${onion}`, db: onionApp.app.database.db }
    await page.goto(`${site.origin}/`)
    t.equal(await page.evaluate(() => isSecureContext), true, 'a secure context, as in Tor Browser')
    const headers = (await page.goto(`${site.origin}/report`))!.headers()
    t.notMatch(headers['content-security-policy'] ?? '', /upgrade-insecure-requests/, 'no upgrade to an https:// address that an onion service does not have')
    const file = { name: 'onion.txt', content: 'Canary-onion-file' }
    const { code, caseId } = await disclose(t, page, 'Canary-onion-3131 sent through Tor', file, site)
    await insertIdvaReply(onionApp.app, { caseId, seq: 2, text: 'Canary-onion-reply', service: onionApp.serviceKeys, replyPublic: (await storedCase(onionApp.app, caseId)).replyPublic })
    await openAtReturn(t, page, code, { texts: ['Canary-onion-3131 sent through Tor', 'Canary-onion-reply'], file }, site)
    t.same(onionWatch.problems, [], 'no script error or CSP violation')
    t.same(onionWatch.offsite.flat(), [], 'no request left the onion service')
  })

  t.test('no script error or CSP violation on any page', async (t) => {
    t.same([...watches.locked.problems, ...watches.normal.problems], [])
    t.same([...watches.locked.offsite, ...watches.normal.offsite].flat(), [], 'no request left the portal')
  })
}
