import t, { type Test } from 'tap'
import { sql } from 'kysely'
import { readFileSync } from 'node:fs'
import type { FileChooser, Page } from 'playwright-core'
import { generateKeySet } from '../../crypto/keys.ts'
import { seedService } from '../../scripts/lib/staff-fixtures.ts'
import { buildTestApp, freePort } from '../helpers/app.ts'
import { axe, launchChromium, PageWatch, recordRequestBodies } from '../helpers/browser.ts'
import { storedCase, insertIdvaReply } from '../helpers/reporter.ts'

/**
 * The reporter's journey in real Chromium, under the real CSP and bundle: fill the report with a
 * canary phrase and a small file, send it, note the code; the canary must appear in no request body
 * the server received, no table and no log line. Then come back with the code, read a reply sealed
 * and signed with the service keys (and see a forged one refused), answer, download the evidence,
 * and withdraw: the case's rows are gone. The same path again with the keyboard only, and axe-core
 * on every public page and state (WCAG 2.2 AA).
 */

const browser = await launchChromium(t)
if (browser !== null) {
  const port = await freePort()
  const origin = `http://127.0.0.1:${port}`
  const received: Buffer[] = []
  const { app, logs, serviceKeys } = await buildTestApp(t, {
    listen: true,
    env: { PORT: String(port), PUBLIC_ORIGIN: origin, SERVICE_PHONE: '01632 960 123', SERVICE_HOURS: 'Monday to Friday, 9am to 5pm', SERVICE_MEETING: 'An IDVA can meet you face to face, away from your workplace.' },
    extend: (app) => recordRequestBodies(app, (_url, body) => received.push(body)),
  })
  const db = app.database.db
  const service = await seedService(db, { keys: serviceKeys })
  const CANARY = 'Canary-Quokka-4471 what he does when nobody is watching'
  const FILE_CANARY = 'Canary-File-Contents-9921'
  const REPLY = 'Thank you for telling us. An IDVA will call you on Tuesday. <img src=x data-injected onerror="window.__injected=1">'
  const watch = new PageWatch(t, browser, origin)
  const newPage = (options: { bypassCSP?: boolean } = {}) => watch.newPage(options)

  async function caseRows(caseId: string) {
    const count = async (table: 'cases' | 'case_messages' | 'case_evidence' | 'case_sessions', column: 'id' | 'case_id') =>
      Number((await db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).where(column, '=', caseId).executeTakeFirstOrThrow()).n)
    return { cases: await count('cases', 'id'), messages: await count('case_messages', 'case_id'), evidence: await count('case_evidence', 'case_id'), sessions: await count('case_sessions', 'case_id') }
  }

  async function everything(): Promise<{ tables: string; bytea: Buffer[] }> {
    const tables = await sql<{ table_name: string }>`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`.execute(db)
    let text = ''
    const bytea: Buffer[] = []
    for (const { table_name } of tables.rows) {
      text += (await sql<{ row: string }>`SELECT t::text AS row FROM ${sql.table(table_name)} t`.execute(db)).rows.map((row) => row.row).join('\n')
      const columns = await sql<{ column_name: string }>`SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ${table_name} AND data_type = 'bytea'`.execute(db)
      for (const { column_name } of columns.rows) {
        for (const row of (await sql<{ value: Buffer | null }>`SELECT ${sql.ref(column_name)} AS value FROM ${sql.table(table_name)}`.execute(db)).rows) if (row.value !== null) bytea.push(row.value)
      }
    }
    return { tables: text, bytea }
  }

  function forms(text: string): string[] {
    const bytes = Buffer.from(text)
    return [text, bytes.toString('base64'), bytes.toString('base64url'), bytes.toString('hex'), encodeURIComponent(text)]
  }

  async function assertNowhere(t: Test, secret: string, what: string): Promise<void> {
    const { tables, bytea } = await everything()
    for (const form of forms(secret)) {
      t.notOk(tables.includes(form), `${what} not in any table`)
      t.notOk(logs.text().includes(form), `${what} not in the log`)
      t.notOk(received.some((body) => body.includes(form)), `${what} not in any request body`)
      t.notOk(bytea.some((value) => value.includes(form)), `${what} not in any bytea`)
    }
  }

  const stepVisible = (page: Page, step: number) => page.locator(`[data-step="${step}"]`).waitFor({ state: 'visible' })

  let code = ''
  let caseId = ''

  await t.test('a disclosure is written, encrypted in the browser and sent; the canary reaches the server nowhere', async (t) => {
    const page = await newPage()
    await page.goto(`${origin}/report`)
    await page.locator('[data-crypto-missing]').waitFor({ state: 'hidden' })
    await page.check('#abuseTypes-controlling_or_coercive')
    await page.check('#duration-over_2_years')
    await page.check('#frequency-weekly')
    await page.click('[data-step="1"] [data-step-next]')
    await stepVisible(page, 2)
    t.equal(await page.evaluate(() => document.activeElement?.id), 'step-2-title', 'focus moves to the new step')
    await page.check('#relationship-partner')
    await page.check('#perpetratorPolice-this_force')
    await page.fill('#perpetratorName', 'Canary-Name-Sgt-Example')
    await page.click('[data-step="2"] [data-step-next]')
    await stepVisible(page, 3)
    await page.click('[data-step="3"] [data-step-back]')
    await stepVisible(page, 2)
    t.equal(await page.inputValue('#perpetratorName'), 'Canary-Name-Sgt-Example', 'going back keeps the answers')
    await page.click('[data-step="2"] [data-step-next]')
    await stepVisible(page, 3)
    await page.click('[data-step="3"] [data-step-next]')
    await stepVisible(page, 4)
    await page.check('#safeNow-not_safe')
    await page.click('[data-step="4"] [data-step-next]')
    await stepVisible(page, 5)
    await page.check('#wants-talk_to_idva')
    await page.click('[data-step="5"] [data-step-next]')
    await stepVisible(page, 6)
    await page.fill('#text', CANARY)
    await page.setInputFiles('#evidence', { name: 'screenshot.png', mimeType: 'image/png', buffer: Buffer.from(`PNG ${FILE_CANARY}`) })
    await page.click('[data-submit]')
    await page.locator('[data-receipt]').waitFor({ state: 'visible' })
    code = (await page.textContent('[data-case-code]'))!.trim()
    t.match(code, /^[a-z]+( [a-z]+){8}$/, 'a nine-word code')
    t.equal(await page.evaluate(() => document.activeElement?.id), 'receipt-title')
    t.equal(await page.locator('#text').count(), 0, 'what was written is no longer on the page')

    // The check that it was noted: a wrong word first, then the right ones.
    const words = code.split(' ')
    const position = async (selector: string) => Number(/Word (\d)/.exec((await page.textContent(selector))!)![1]) - 1
    const a = await position('[data-check-label-a]')
    const b = await position('[data-check-label-b]')
    t.not(a, b)
    await page.fill('[data-check-word-a]', 'wrong')
    await page.fill('[data-check-word-b]', words[b]!)
    await page.click('[data-check-code]')
    t.match(await page.textContent('[data-check-result]'), /does not match/)
    t.ok(await page.locator('[data-receipt-done]').isHidden())
    await page.fill('[data-check-word-a]', words[a]!.toUpperCase())
    await page.click('[data-check-code]')
    await page.locator('[data-receipt-done]').waitFor({ state: 'visible' })

    const row = await db.selectFrom('cases').selectAll().executeTakeFirstOrThrow()
    caseId = row.id
    t.equal(row.evidence_count, 1)
    for (const [secret, what] of [[CANARY, 'the canary'], [FILE_CANARY, "the file's contents"], ['Canary-Name-Sgt-Example', 'the named person'], [code, 'the case code'], [code.replace(/ /g, '-'), 'the case code (hyphenated)']] as const) {
      await assertNowhere(t, secret, what)
    }
  })

  await t.test('back at /return: a signed reply is shown as text, a forged one is refused, the reporter answers, downloads and withdraws', async (t) => {
    const thread = await storedCase(app, caseId)
    await insertIdvaReply(app, { caseId, seq: 2, text: REPLY, service: service.keys, replyPublic: thread.replyPublic })
    const impostor = await generateKeySet()
    await insertIdvaReply(app, { caseId, seq: 3, text: 'Your case is closed. Forged-Text-5512', service: service.keys, replyPublic: thread.replyPublic, signer: impostor.signing })

    const page = await newPage()
    await page.goto(`${origin}/return`)
    await page.locator('[data-crypto-missing]').waitFor({ state: 'hidden' })
    await page.fill('#case-code', code.replace(/ /g, '  ').replace(/^(\w+)/, (word) => `${word}x`))
    await page.click('[data-open]')
    t.match(await page.textContent('[data-return-login] [data-error]'), /is not a word used in case codes/, 'a typo is caught in the browser')
    const before = received.length
    await page.fill('#case-code', code.toUpperCase())
    await page.click('[data-open]')
    await page.locator('[data-case]').waitFor({ state: 'visible' })
    t.ok(received.length > before)
    t.equal(await page.inputValue('#case-code'), '', 'the code is cleared from the page')
    const messages = page.locator('[data-thread] > li')
    await messages.nth(2).waitFor()
    t.equal(await messages.count(), 3)
    t.match(await messages.nth(0).textContent(), CANARY, 'the reporter reads their own disclosure, decrypted here')
    t.equal(await messages.nth(1).locator('.message__text').textContent(), REPLY, 'the reply, as text')
    t.equal(await page.locator('[data-injected]').count(), 0, 'no element injected')
    t.equal(await page.evaluate(() => (window as unknown as { __injected?: number }).__injected), undefined, 'no script ran')
    t.match(await messages.nth(2).textContent(), /could not be verified/)
    t.notMatch(await page.content(), /Forged-Text-5512/, "a forged message's text is not shown")
    t.match(await page.textContent('[data-status]'), /In contact/)

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-thread] button:has-text("Download screenshot.png")')])
    const path = await download.path()
    t.equal(readFileSync(path).toString(), `PNG ${FILE_CANARY}`, 'the evidence decrypts in the browser to the original file')

    await page.fill('[data-new-text]', 'Canary-Answer-3310 Tuesday is fine')
    await page.click('[data-send]')
    await page.locator('[data-send-working]', { hasText: 'Sent.' }).waitFor()
    await messages.nth(3).waitFor()
    t.match(await messages.nth(3).textContent(), /Canary-Answer-3310/)
    t.equal((await caseRows(caseId)).messages, 4)
    await assertNowhere(t, 'Canary-Answer-3310', 'the answer')

    // Two steps: the first says what will be lost (nothing is kept here: no assessment yet) and can be undone.
    await page.click('[data-withdraw]')
    await page.locator('[data-withdraw-confirm]').waitFor({ state: 'visible' })
    t.match(await page.textContent('[data-withdraw-confirm]'), /everything you wrote, and every reply to you/)
    t.notOk(await page.isVisible('[data-withdraw-kept]'), 'nothing is kept, so nothing is said about keeping')
    t.equal(await page.evaluate(() => document.activeElement?.hasAttribute('data-withdraw-confirm')), true, 'focus moves to what will be deleted')
    await page.click('[data-withdraw-cancel]')
    t.notOk(await page.isVisible('[data-withdraw-confirm]'))
    t.equal((await caseRows(caseId)).cases, 1, 'keeping the case deletes nothing')
    await page.click('[data-withdraw]')
    await page.click('[data-withdraw-now]')
    await page.locator('[data-withdrawn]').waitFor({ state: 'visible' })
    t.notOk(await page.isVisible('[data-withdrawn-kept]'))
    t.same(await caseRows(caseId), { cases: 0, messages: 0, evidence: 0, sessions: 0 }, "every row of the case is gone")
    t.equal(await page.locator('[data-thread] > li').count(), 0, 'and nothing decrypted is left on the page')
  })

  await t.test('the same journey with the keyboard only', async (t) => {
    const page = await newPage()
    // Playwright turns on file-chooser interception when the first listener is added, without
    // waiting for the browser to acknowledge it: a listener added in the same tick as the key press
    // can lose the race (the chooser then opens natively, headless, and no event comes). Listen from
    // the start so interception is on long before the Space key.
    const choosers: FileChooser[] = []
    page.on('filechooser', (chooser) => choosers.push(chooser))
    const tabTo = async (selector: string, limit = 120) => {
      for (let i = 0; i < limit; i++) {
        await page.keyboard.press('Tab')
        if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return
      }
      throw new Error(`could not reach ${selector} with the Tab key`)
    }
    await page.goto(`${origin}/report`)
    await page.locator('[data-crypto-missing]').waitFor({ state: 'hidden' })
    await tabTo('#abuseTypes-physical')
    await page.keyboard.press('Space')
    t.ok(await page.isChecked('#abuseTypes-physical'), 'a checkbox with Space')
    await tabTo('#duration-under_1_month')
    await page.keyboard.press('ArrowDown')
    t.ok(await page.isChecked('#duration-1_to_6_months'), 'radio buttons with the arrow keys')
    for (let step = 1; step < 6; step++) {
      await tabTo(`[data-step="${step}"] [data-step-next]`)
      await page.keyboard.press('Enter')
      await stepVisible(page, step + 1)
    }
    await tabTo('#text')
    await page.keyboard.type('Keyboard-Canary-8080 typed without a mouse')
    await tabTo('#evidence')
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.keyboard.press('Space')])
    t.equal(choosers.length, 1, 'the Space key opened the file chooser once')
    await chooser.setFiles({ name: 'note.txt', mimeType: 'text/plain', buffer: Buffer.from('a small note') })
    await tabTo('[data-submit]')
    await page.keyboard.press('Enter')
    await page.locator('[data-receipt]').waitFor({ state: 'visible' })
    const keyboardCode = (await page.textContent('[data-case-code]'))!.trim()
    const words = keyboardCode.split(' ')
    const a = Number(/Word (\d)/.exec((await page.textContent('[data-check-label-a]'))!)![1]) - 1
    const b = Number(/Word (\d)/.exec((await page.textContent('[data-check-label-b]'))!)![1]) - 1
    await tabTo('[data-check-word-a]')
    await page.keyboard.type(words[a]!)
    await tabTo('[data-check-word-b]')
    await page.keyboard.type(words[b]!)
    await page.keyboard.press('Enter')
    await page.locator('[data-receipt-done]').waitFor({ state: 'visible' })

    await page.goto(`${origin}/return`)
    await page.locator('[data-crypto-missing]').waitFor({ state: 'hidden' })
    await tabTo('#case-code')
    await page.keyboard.type(keyboardCode)
    await page.keyboard.press('Enter')
    await page.locator('[data-case]').waitFor({ state: 'visible' })
    await tabTo('[data-new-text]')
    await page.keyboard.type('A reply by keyboard')
    await tabTo('[data-send]')
    await page.keyboard.press('Enter')
    await page.locator('[data-thread] > li').nth(1).waitFor()
    const id = (await db.selectFrom('cases').select('id').executeTakeFirstOrThrow()).id
    t.equal((await caseRows(id)).messages, 2)
    await tabTo('[data-withdraw]')
    await page.keyboard.press('Enter')
    await tabTo('[data-withdraw-now]')
    await page.keyboard.press('Enter')
    await page.locator('[data-withdrawn]').waitFor({ state: 'visible' })
    t.same(await caseRows(id), { cases: 0, messages: 0, evidence: 0, sessions: 0 })
  })

  await t.test('axe-core finds no WCAG 2.2 AA violation on any public page, in any state', async (t) => {
    const page = await newPage({ bypassCSP: true })
    for (const path of ['/', '/report', '/return', '/safety', '/information', '/no-such-page']) {
      await page.goto(`${origin}${path}`)
      await page.waitForLoadState('networkidle')
      await axe(t, page, path)
    }
    await page.goto(`${origin}/report`)
    await page.locator('[data-crypto-missing]').waitFor({ state: 'hidden' })
    await page.check('#abuseTypes-economic')
    for (let step = 1; step < 6; step++) {
      await page.click(`[data-step="${step}"] [data-step-next]`)
      await stepVisible(page, step + 1)
      await axe(t, page, `/report step ${step + 1}`)
    }
    await page.click('[data-submit]')
    await page.locator('[data-receipt]').waitFor({ state: 'visible' })
    await axe(t, page, '/report receipt')
    const receiptCode = (await page.textContent('[data-case-code]'))!.trim()
    await page.goto(`${origin}/return`)
    await page.locator('[data-crypto-missing]').waitFor({ state: 'hidden' })
    await page.fill('#case-code', 'not a real code')
    await page.click('[data-open]')
    await axe(t, page, '/return with an error')
    await page.fill('#case-code', receiptCode)
    await page.click('[data-open]')
    await page.locator('[data-case]').waitFor({ state: 'visible' })
    await axe(t, page, '/return case')
    await page.click('[data-withdraw]')
    await axe(t, page, '/return withdrawal step')
    await page.click('[data-withdraw-now]')
    await page.locator('[data-withdrawn]').waitFor({ state: 'visible' })
    await axe(t, page, '/return withdrawn')
  })

  await t.test('on a 390 px phone: the introduction once, each step\'s question on the first screen, the receipt\'s heading first', async (t) => {
    const page = await newPage()
    await page.setViewportSize({ width: 390, height: 844 })
    await page.goto(`${origin}/report`)
    await page.locator('[data-crypto-missing]').waitFor({ state: 'hidden' })
    // Where the step's heading and its first question are on the screen (viewport pixels).
    const positions = (step: number) =>
      page.evaluate((n) => {
        const section = document.querySelector(`[data-step="${n}"]`)!
        const question = [...section.querySelectorAll<HTMLElement>('[data-step-fields] :is(legend, label)')].find((node) => !node.classList.contains('visually-hidden') && node.getBoundingClientRect().height > 0)!
        return { heading: section.querySelector('h2')!.getBoundingClientRect().top, question: question.getBoundingClientRect().bottom }
      }, step)
    const first = await positions(1)
    t.ok(first.question <= 844, `step 1: its first question is on the first screen (bottom at ${Math.round(first.question)} px)`)
    t.ok(await page.locator('[data-private-window]').isVisible(), 'the private-window advice comes first')
    await page.check('#abuseTypes-physical')
    for (let step = 2; step <= 6; step++) {
      await page.click(`[data-step="${step - 1}"] [data-step-next]`)
      await stepVisible(page, step)
      const at = await positions(step)
      t.ok(at.heading < 300, `step ${step}: "Step ${step} of 6" near the top (${Math.round(at.heading)} px)`)
      t.ok(at.question <= 844, `step ${step}: its first question on the first screen (${Math.round(at.question)} px)`)
    }
    t.notOk(await page.locator('[data-report-intro]').isVisible(), 'the introduction is shown once')
    await page.click('[data-step="6"] [data-submit]')
    await page.locator('[data-receipt]').waitFor({ state: 'visible', timeout: 60_000 })
    t.notOk(await page.locator('[data-page-title]').isVisible(), 'the form\'s heading gives way')
    const receiptTop = await page.evaluate(() => document.querySelector('#receipt-title')!.getBoundingClientRect().top)
    t.ok(receiptTop < 300, `the receipt's heading is the first on the screen (${Math.round(receiptTop)} px)`)
    t.ok(await page.locator('[data-case-code]').isVisible())
  })

  t.test('no script error or CSP violation on any page, and no request left the portal', async (t) => {
    // The only expected console line: the 404 page's own status, from the axe run over it.
    t.same(watch.problems.filter((problem) => !/\/no-such-page: Failed to load resource: .* 404/.test(problem)), [])
    t.same(watch.offsite.flat(), [])
  })
}
