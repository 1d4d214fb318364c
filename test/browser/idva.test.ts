import t, { type Test } from 'tap'
import { readFileSync } from 'node:fs'
import type { Page } from 'playwright-core'
import { seedAccount, seedGrant, seedService } from '../../scripts/lib/staff-fixtures.ts'
import { base64url } from '../../crypto/index.ts'
import { buildTestApp, freePort } from '../helpers/app.ts'
import { launchChromium, PageWatch, recordRequestBodies, signIn } from '../helpers/browser.ts'
import { disclosureBody, newReporter, servicePublic, submit } from '../helpers/reporter.ts'
import { RISK_QUESTIONS } from '../../rules/risk-checklist.ts'

/**
 * The whole first response in real Chromium, under the real CSP and bundle: a reporter submits at
 * /report; an IDVA signs in with passphrase and code, finds the case in the queue with its
 * first-response clock, opens it (decrypted in the IDVA's browser, with the repeat-perpetrator
 * signal from two earlier cases; an evidence file whose name hides its extension behind a
 * right-to-left override is shown cleaned, with its real type and a warning), completes the risk checklist (high risk at 14 "yes" answers),
 * records consent, adds a note, changes the status and replies; the reporter comes back at
 * /return and reads the reply, verified. Nothing the reporter wrote is in any request the IDVA's
 * browser sent.
 */

const browser = await launchChromium(t)
if (browser !== null) {
  const port = await freePort()
  const origin = `http://127.0.0.1:${port}`
  const received: { url: string; body: string }[] = []
  const { app, logs, serviceKeys } = await buildTestApp(t, {
    listen: true,
    env: { PORT: String(port), PUBLIC_ORIGIN: origin },
    extend: (app) => recordRequestBodies(app, (url, body) => received.push({ url, body: body.toString('latin1') })),
  })
  const db = app.database.db
  const service = await seedService(db, { keys: serviceKeys })
  const PASSPHRASE = 'amber lighthouse whispers across the bay'
  const idva = await seedAccount(db, app.config.serverSecret, { username: 'idva.one', role: 'idva', groupId: service.id, passphrase: PASSPHRASE })
  await seedGrant(db, idva, service)
  const CANARY = 'Canary-Disclosure-5150 he reads my messages at work'
  const REPLY = 'Thank you for trusting us. Canary-Reply-2718: can we call you on Thursday after 6pm?'
  const watch = new PageWatch(t, browser, origin)
  const newPage = (options: { bypassCSP?: boolean } = {}) => watch.newPage(options)

  // Two earlier cases naming the same person, differently written, sent as a reporter's browser would.
  const earlier: string[] = []
  for (const name of ['Sgt John O\'Brien', 'john obrien']) {
    const reporter = await newReporter()
    const caseKeys = { reply: base64url.encode(reporter.keys.reply.publicKey), auth: base64url.encode(reporter.keys.auth.publicKey) }
    const content = { v: 1, text: 'An earlier case', answers: { perpetratorName: name }, evidence: [], caseKeys }
    const sent = await submit(app, await disclosureBody(reporter, servicePublic(service.keys), content))
    if (sent.statusCode !== 201) throw new Error(`setting up: ${sent.body}`)
    earlier.push(reporter.caseId)
    await db.updateTable('cases').set({ created_on: '2026-01-05', last_activity_on: '2026-01-05' }).where('id', '=', reporter.caseId).execute()
  }

  let code = ''
  let caseId = ''
  const reporter = await newPage()
  const staff = await newPage()

  await t.test('a reporter submits a disclosure at /report', async (t) => {
    const page = reporter
    await page.goto(`${origin}/report`)
    await page.locator('[data-crypto-missing]').waitFor({ state: 'hidden' })
    await page.check('#abuseTypes-controlling_or_coercive')
    await page.check('#abuseTypes-physical')
    await page.check('#duration-over_2_years')
    await page.click('[data-step="1"] [data-step-next]')
    await page.locator('[data-step="2"]').waitFor({ state: 'visible' })
    await page.check('#relationship-partner')
    await page.check('#perpetratorPolice-this_force')
    await page.fill('#perpetratorName', 'PC John O\u2019Brien')
    await page.click('[data-step="2"] [data-step-next]')
    for (const step of [3, 4]) {
      await page.locator(`[data-step="${step}"]`).waitFor({ state: 'visible' })
      if (step === 4) await page.check('#safeNow-not_safe')
      await page.click(`[data-step="${step}"] [data-step-next]`)
    }
    await page.locator('[data-step="5"]').waitFor({ state: 'visible' })
    await page.check('#wants-talk_to_idva')
    await page.check('#contactWays-phone')
    await page.fill('#contactTimes', 'Weekdays after 6pm')
    await page.click('[data-step="5"] [data-step-next]')
    await page.locator('[data-step="6"]').waitFor({ state: 'visible' })
    await page.fill('#text', CANARY)
    await page.setInputFiles('#evidence', [
      { name: 'messages.txt', mimeType: 'text/plain', buffer: Buffer.from('Canary-Evidence-4404 screenshots of his messages') },
      // Its name hides the real extension behind a right-to-left override: shown raw, "invoiceexe.pdf".
      { name: 'invoice\u202Efdp.exe', mimeType: 'application/pdf', buffer: Buffer.from('not really a program') },
    ])
    await page.click('[data-submit]')
    await page.locator('[data-receipt]').waitFor({ state: 'visible' })
    code = (await page.textContent('[data-case-code]'))!.trim()
    const row = await db.selectFrom('cases').select('id').where('id', 'not in', earlier).executeTakeFirstOrThrow()
    caseId = row.id
    t.ok(caseId)
  })

  await t.test('an IDVA signs in and finds the case in the queue with its clock', async (t) => {
    const page = staff
    await signIn(page, origin, idva)
    t.match(await page.textContent('[data-home-cases]'), /3 new, 2 past the first-response target/, 'the home page says what is waiting')
    await page.click('nav a[href="/staff/cases"]')
    await page.waitForURL(`${origin}/staff/cases`)
    const row = page.locator(`tr[data-case-row="${caseId}"]`)
    await row.waitFor()
    t.match(await row.textContent(), /Reply due (today|by \d{1,2} [A-Z][a-z]+ \d{4})/, 'the first-response clock')
    t.match(await page.locator(`tr[data-case-row="${earlier[0]}"]`).textContent(), /Overdue/, 'an old case is overdue')
    t.equal(await page.locator('tr[data-case-row]').first().getAttribute('data-case-row'), earlier.sort()[0], 'oldest first')
    const tableWidth = await page.evaluate(() => document.querySelector('tr[data-case-row]')!.closest('table')!.getBoundingClientRect().width)
    t.ok(tableWidth >= 1200, `the queue uses the width of a 1280 px screen (${tableWidth} px)`)

    // The filters swap the results with htmx, without reloading the page.
    await page.evaluate(() => ((window as unknown as { __marker: number }).__marker = 1))
    await page.selectOption('#filter-risk', 'high')
    await page.locator('[data-queue-empty]').waitFor()
    await page.locator('[data-announcer]', { hasText: 'No cases match these filters.' }).waitFor()
    t.equal(await page.evaluate(() => document.activeElement?.id), 'queue-results', 'focus moves to the new results')
    await page.check('#filter-overdue')
    await page.selectOption('#filter-risk', 'any')
    await page.locator(`tr[data-case-row="${earlier[0]}"]`).waitFor()
    t.equal(await page.locator(`tr[data-case-row="${caseId}"]`).count(), 0, 'only overdue cases')
    t.equal(await page.evaluate(() => (window as unknown as { __marker?: number }).__marker), 1, 'the same page: htmx swapped the results')
    await page.uncheck('#filter-overdue')
    await page.locator(`tr[data-case-row="${caseId}"] a`).click()
    await page.waitForURL(`${origin}/staff/cases/${caseId}`)
  })

  await t.test('the case decrypts in the browser: at a glance, the thread, and the repeat-perpetrator signal', async (t) => {
    const page = staff
    await page.locator('[data-case-view]').waitFor({ state: 'visible', timeout: 60_000 })
    const glance = (await page.textContent('[data-glance]'))!
    for (const expected of [/Physical abuse; Controlling or coercive behaviour/, /More than 2 years/, /My partner/, /Yes, for this force/, /To talk to an IDVA/, /Call me/, /Weekdays after 6pm/, /I do not feel safe/]) t.match(glance, expected)
    t.match(await page.textContent('[data-thread]'), CANARY)
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-thread] button:has-text("Download messages.txt")')])
    t.equal(readFileSync((await download.path())!).toString(), 'Canary-Evidence-4404 screenshots of his messages', 'the evidence file, decrypted in the IDVA\'s browser')
    t.equal(download.suggestedFilename(), 'messages.txt', 'saved under its own name')
    t.notMatch(await page.textContent('[data-thread]'), /[\u202A-\u202E\u2066-\u2069]/u, 'no reordering character on the page')
    const disguised = page.locator('[data-thread] button', { hasText: /^Download invoice/ })
    t.equal(await disguised.textContent(), 'Download invoicefdp.exe', 'the override is taken out of the name')
    const row = page.locator('[data-thread] [data-evidence-file]', { hasText: /^Download invoice/ })
    t.match(await row.textContent(), /invoicefdp\.exe — EXE file/, 'the real extension, stated separately')
    t.match(await row.locator('[data-file-warning]').textContent(), /can run a program or macros when it is opened\. Do not open it on a work computer/, 'and a warning')
    await page.locator('[data-repeat]').waitFor({ state: 'visible', timeout: 30_000 })
    t.match(await page.textContent('[data-repeat-text]'), /named in 2 other cases/)
    const links = await page.$$eval('[data-repeat-links] a', (anchors) => anchors.map((anchor) => anchor.getAttribute('href')))
    t.same(links.sort(), earlier.map((id) => `/staff/cases/${id}`).sort())
    const index = await db.selectFrom('case_records').select(['case_id']).where('kind', '=', 'identifiers').execute()
    t.same(index.map((row) => row.case_id).sort(), [...earlier, caseId].sort(), 'every case now has an encrypted index entry')
    const actions = (await db.selectFrom('audit_log').select('action').where('object_id', '=', caseId).execute()).map((row) => row.action)
    for (const action of ['case.opened_by_idva', 'case.decrypted_by_idva', 'case.compared_with_index']) t.ok(actions.includes(action), action)
  })

  await t.test('the risk checklist reaches high risk at 14 "yes" answers; consent, a note and the status are recorded', async (t) => {
    const page = staff
    const summary = page.locator('[data-risk-summary]')
    await page.check(`#risk-${RISK_QUESTIONS[0]!.id}-no`)
    t.equal(await summary.getAttribute('data-level'), 'unfinished', 'with questions unanswered, no level')
    t.match(await summary.textContent(), /Assessment not finished/)
    t.notMatch(await summary.textContent(), /Standard/, 'never "Standard risk" for an unfinished checklist')
    await page.click('form[data-form="triage"] [data-submit]')
    await page.locator('form[data-form="triage"] [data-error]:not([hidden])').waitFor()
    t.match(await page.textContent('form[data-form="triage"] [data-error]'), /not finished: 23 questions have no answer/, 'and it cannot be saved as if it were')
    for (const [index, question] of RISK_QUESTIONS.entries()) {
      await page.check(`#risk-${question.id}-${index < 13 ? 'yes' : index < 20 ? 'no' : 'unknown'}`)
    }
    t.equal(await summary.getAttribute('data-yes'), '13')
    t.equal(await summary.getAttribute('data-level'), 'medium', '13 yes: medium')
    await page.check(`#risk-${RISK_QUESTIONS[13]!.id}-yes`)
    t.equal(await summary.getAttribute('data-level'), 'high', '14 yes: high')
    t.match(await summary.textContent(), /Qualifies for a MARAC referral: 14 of 24 indicators answered yes/)
    await page.fill('#risk-incidents', '4')
    await page.check('#marac-refer')
    await page.click('form[data-form="triage"] [data-submit]')
    await page.locator('form[data-form="triage"] [data-error]:not([hidden])').waitFor()
    t.match(await page.textContent('form[data-form="triage"] [data-error]'), /reason for the MARAC referral/, 'a referral needs a reason')
    await page.fill('#marac-reason', 'High risk and escalating')
    await page.click('form[data-form="triage"] [data-submit]')
    await page.locator('form[data-form="triage"] [data-done]:not([hidden])').waitFor()
    t.match(await page.textContent('[data-triage-latest]'), /High risk, 14 of 24 yes; referred to the MARAC \(High risk and escalating\)/)
    t.equal((await db.selectFrom('cases').select('risk_level').where('id', '=', caseId).executeTakeFirstOrThrow()).risk_level, 'high', 'only the level is in clear')
    t.equal(await page.locator('[data-triage-latest] .notice--warning').count(), 0, 'the level in clear matches the assessment')
    t.match(await page.textContent('[data-risk-level]'), /High risk/)

    await page.check('#consent-track-criminal')
    await page.check('#consent-agreed-yes')
    await page.fill('#consent-share', 'what happened in November')
    await page.fill('#consent-with', 'an investigator outside my borough')
    await page.fill('#consent-words', 'I want it looked at, but not by anyone at my station')
    await page.check('#consent-item-what_happened')
    await page.click('form[data-form="consent"] [data-submit]')
    await page.locator('form[data-form="consent"] [data-done]:not([hidden])').waitFor()
    t.match(await page.textContent('[data-consent-current]'), /Criminal track: on \d{1,2} [A-Z][a-z]+ \d{4}, the person agreed to share what happened in November with an investigator outside my borough/)
    t.match(await page.textContent('[data-consent-current]'), /Misconduct track: no consent recorded/)
    await page.check('#consent-track-criminal')
    await page.check('#consent-agreed-no')
    await page.fill('#consent-words', 'Not yet, I need to think')
    await page.click('form[data-form="consent"] [data-submit]')
    await page.locator('form[data-form="consent"] [data-done]:not([hidden])').waitFor()
    t.match(await page.textContent('[data-consent-current]'), /did not agree/)
    t.equal(await page.locator('[data-consent-history] li').count(), 2, 'the earlier version is kept')

    await page.fill('#note-text', 'Prefers calls after 6pm. Canary-Note-3141')
    await page.click('form[data-form="note"] [data-submit]')
    await page.locator('[data-notes] li', { hasText: 'Canary-Note-3141' }).waitFor()

    await page.selectOption('#new-status', 'support_ongoing')
    await page.click('[data-change-status]')
    await page.locator('#case-status [role="status"]', { hasText: 'Support ongoing' }).waitFor()
    await page.locator('[data-announcer]', { hasText: 'Status changed' }).waitFor()
    t.equal(await page.evaluate(() => document.activeElement?.id), 'case-status', 'focus moves to the new status panel')
    t.equal((await db.selectFrom('cases').select('status').where('id', '=', caseId).executeTakeFirstOrThrow()).status, 'support_ongoing')
  })

  await t.test('the IDVA replies; the reporter reads the verified reply at /return', async (t) => {
    await staff.fill('#reply-text', REPLY)
    const panelAgain = staff.waitForResponse((response) => response.url().endsWith(`/staff/cases/${caseId}/status`) && response.request().method() === 'GET')
    const countAgain = staff.waitForResponse((response) => response.url().endsWith('/staff/alerts'))
    await staff.click('form[data-form="reply"] [data-submit]')
    await staff.locator('form[data-form="reply"] [data-done]:not([hidden])').waitFor()
    t.equal((await panelAgain).status(), 200, 'the status panel is asked for again after a reply, without a reload')
    t.equal((await countAgain).status(), 200, 'and so is the waiting count')
    await staff.locator('#case-status [data-status]').waitFor()
    await staff.locator('[data-thread] li.message--idva', { hasText: 'Canary-Reply-2718' }).waitFor()

    const page = reporter
    await page.goto(`${origin}/return`)
    await page.locator('[data-crypto-missing]').waitFor({ state: 'hidden' })
    await page.fill('#case-code', code)
    await page.click('[data-open]')
    await page.locator('[data-case]').waitFor({ state: 'visible' })
    const reply = page.locator('[data-thread] > li').nth(1)
    await reply.waitFor()
    t.equal(await reply.locator('.message__text').textContent(), REPLY, 'the reply, verified against the service key and shown as text')
    t.equal(await reply.getAttribute('data-unverified'), null)
    t.match(await page.textContent('[data-status]'), /In contact/)
  })

  await t.test('nothing the reporter wrote left the IDVA\'s browser, or reached the log', async (t: Test) => {
    const fromStaff = received.filter((entry) => entry.url.startsWith('/staff'))
    t.ok(fromStaff.length > 5)
    for (const secret of ['Canary-Disclosure-5150', 'Canary-Reply-2718', 'Canary-Note-3141', 'Canary-Evidence-4404', 'obrien', 'Weekdays after 6pm', code]) {
      t.notOk(fromStaff.some((entry) => entry.body.includes(secret)), `${secret} is in no request from the IDVA's browser`)
      t.notOk(logs.text().includes(secret), `${secret} is not in the log`)
    }
  })

  t.test('no script error or CSP violation, and no request left the portal', async (t) => {
    t.same(watch.problems, [])
    t.same(watch.offsite.flat(), [])
  })
}
