import t from 'tap'
import { seedAccount, seedGrant, seedService } from '../../scripts/lib/staff-fixtures.ts'
import { loadGuidance } from '../../server/features/managers/guidance.ts'
import { buildTestApp, freePort } from '../helpers/app.ts'
import { axe, launchChromium, PageWatch, signIn } from '../helpers/browser.ts'

/**
 * Line managers in real Chromium: every guidance page (and the consultation page) with the quick
 * exit, a print button and no WCAG 2.2 AA violation (the receipt is the reporter's, checked with
 * axe in test/browser/reporter.test.ts); then a consultation round
 * trip: a manager asks without naming anyone, an IDVA reads it in the queue as a consultation and
 * answers, and the manager reads the answer at /return with their own code.
 */

const browser = await launchChromium(t)
if (browser !== null) {
  const port = await freePort()
  const origin = `http://127.0.0.1:${port}`
  const received: string[] = []
  const { app, serviceKeys } = await buildTestApp(t, {
    listen: true,
    env: { PORT: String(port), PUBLIC_ORIGIN: origin, SERVICE_PHONE: '01632 960 123', SERVICE_HOURS: 'Monday to Friday, 9am to 5pm', SERVICE_MEETING: 'An IDVA can meet you face to face, away from your workplace.' },
    extend: (app) =>
      app.addHook('preValidation', async (request) => {
        if (request.body !== undefined) received.push(JSON.stringify(request.body))
      }),
  })
  const db = app.database.db
  const service = await seedService(db, { keys: serviceKeys })
  const idva = await seedAccount(db, app.config.serverSecret, { username: 'idva.advice', role: 'idva', groupId: service.id })
  await seedGrant(db, idva, service)
  const watch = new PageWatch(t, browser, origin)
  const QUESTION = 'Canary-Consultation-6021: someone in my team told me their partner, who works in another station, tracks their car.'
  const ADVICE = 'Canary-Advice-8830: thank you for asking. Offer a change of parking and shift pattern, and let them choose.'
  // Every page is opened before the first subtest: tap ends a file's root test once its queue of
  // subtests is empty, so nothing asynchronous may run between them.
  const guidePage = await watch.newPage({ bypassCSP: true })
  const manager = await watch.newPage()
  const staff = await watch.newPage()

  await t.test('every guidance page: quick exit, print button, and no WCAG 2.2 AA violation', async (t) => {
    const page = guidePage
    const paths = ['/managers', ...loadGuidance().map((guide) => `/managers/${guide.slug}`), '/managers/ask', '/managers/card']
    for (const path of paths) {
      await page.goto(`${origin}${path}`)
      await page.waitForLoadState('networkidle')
      t.ok(await page.locator('[data-quick-exit]').isVisible(), `${path}: the quick exit`)
      if (path !== '/managers' && path !== '/managers/ask') t.ok(await page.locator('[data-print]').isVisible(), `${path}: can be printed`)
      await axe(t, page, path)
    }
    await page.emulateMedia({ media: 'print' })
    await page.goto(`${origin}/managers/what-to-say`)
    t.notOk(await page.locator('[data-quick-exit]').isVisible(), 'printing leaves out the quick exit')
    t.ok(await page.locator('.guidance-box--dont').isVisible(), 'and keeps what never to say')
  })

  let code = ''
  let caseId = ''

  await t.test('a manager asks an IDVA, without naming anyone, and keeps their code', async (t) => {
    await manager.goto(`${origin}/managers/ask`)
    await manager.locator('[data-crypto-missing]').waitFor({ state: 'hidden' })
    t.match(await manager.textContent('#no-names'), /Do not write names, collar or staff numbers, addresses/, 'the form says not to name anyone')
    await manager.click('[data-submit]')
    await manager.locator('[data-error]:not([hidden])').waitFor()
    t.match(await manager.textContent('[data-error]'), /Describe the situation/)
    await manager.check('#managerRole-line_manager')
    await manager.check('#adviceTopics-safety_at_work')
    await manager.check('#adviceTopics-abuser_is_colleague')
    await manager.fill('#text', QUESTION)
    await manager.click('[data-submit]')
    await manager.locator('[data-receipt]').waitFor({ state: 'visible' })
    code = (await manager.textContent('[data-case-code]'))!.trim()
    t.match(code, /^[a-z]+( [a-z]+){8}$/)
    t.match(await manager.textContent('[data-receipt]'), /consultation code/)
    t.equal(await manager.locator('#text').count(), 0, 'what was written is no longer on the page')
    const row = await db.selectFrom('cases').select(['id', 'kind']).executeTakeFirstOrThrow()
    t.equal(row.kind, 'consultation')
    caseId = row.id
    t.notOk(received.some((body) => body.includes('Canary-Consultation-6021')), 'the question reached the server only encrypted')
  })

  await t.test('an IDVA finds it in the queue as a consultation, reads it and answers', async (t) => {
    const page = staff
    await signIn(page, origin, idva)
    await page.goto(`${origin}/staff/cases`)
    const row = page.locator(`tr[data-case-row="${caseId}"]`)
    await row.waitFor()
    t.match(await row.textContent(), /Manager consultation/)
    t.match(await row.textContent(), /Reply due/)
    await row.locator('a').click()
    await page.locator('[data-case-view]').waitFor({ state: 'visible', timeout: 60_000 })
    t.match(await page.textContent('[data-thread]'), /Canary-Consultation-6021/)
    t.match(await page.textContent('[data-thread]'), /The manager asked/)
    const glance = (await page.textContent('[data-glance]'))!
    t.match(glance, /How they know the personI am their line manager/, 'answers in words, not codes')
    t.match(glance, /Safety at work; The person harming them is a colleague or a supervisor/)
    t.equal(await page.locator('form[data-form="triage"]').count(), 0, 'no risk checklist for a consultation')
    await page.fill('#reply-text', ADVICE)
    await page.click('form[data-form="reply"] [data-submit]')
    await page.locator('form[data-form="reply"] [data-done]:not([hidden])').waitFor()
  })

  await t.test('the manager reads the advice at /return with their code', async (t) => {
    await manager.goto(`${origin}/return`)
    await manager.locator('[data-crypto-missing]').waitFor({ state: 'hidden' })
    await manager.fill('#case-code', code)
    await manager.click('[data-open]')
    await manager.locator('[data-case]').waitFor({ state: 'visible' })
    t.equal(await manager.textContent('#case-title'), 'Your consultation')
    const messages = manager.locator('[data-thread] > li')
    await messages.nth(1).waitFor()
    t.match(await messages.nth(0).textContent(), /What you asked/)
    t.match(await manager.textContent('[data-status]'), /Answered/)
    t.ok(await manager.locator('[data-new-evidence-field]').isHidden(), 'a consultation carries no files')
    t.equal(await messages.nth(1).locator('.message__text').textContent(), ADVICE, 'the advice, verified and shown as text')
    t.notOk(received.some((body) => body.includes('Canary-Advice-8830')), 'the advice reached the server only encrypted')
  })

  t.test('no script error or CSP violation, and no request left the portal', async (t) => {
    t.same(watch.problems, [])
    t.same(watch.offsite.flat(), [])
  })
}
