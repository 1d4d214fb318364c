import t from 'tap'
import { seedAccount, seedGrant, seedService } from '../../scripts/lib/staff-fixtures.ts'
import { buildTestApp, freePort } from '../helpers/app.ts'
import { axe, launchChromium, PageWatch, signIn } from '../helpers/browser.ts'
import { disclosureBody, newReporter, servicePublic, submit } from '../helpers/reporter.ts'

/**
 * Junk in real Chromium, under the real CSP: an IDVA ticks two cases in the queue and marks them as
 * junk with the plain form; the queue says so and the undo puts them back; in the "Marked as junk"
 * view one row's "Not junk" puts back that case only; a case's page marks and unmarks it. axe-core
 * finds no WCAG 2.2 AA violation in the queue with its boxes, the notice with its undo, the junk
 * view and a case marked as junk.
 */

const browser = await launchChromium(t)
if (browser !== null) {
  const port = await freePort()
  const origin = `http://127.0.0.1:${port}`
  const { app, serviceKeys } = await buildTestApp(t, { listen: true, env: { PORT: String(port), PUBLIC_ORIGIN: origin } })
  const db = app.database.db
  const service = await seedService(db, { keys: serviceKeys })
  const idva = await seedAccount(db, app.config.serverSecret, { username: 'idva.one', role: 'idva', groupId: service.id, passphrase: 'amber lighthouse whispers across the bay' })
  await seedGrant(db, idva, service)
  const ids: string[] = []
  for (let i = 0; i < 3; i++) {
    const reporter = await newReporter()
    const sent = await submit(app, await disclosureBody(reporter, servicePublic(service.keys)))
    if (sent.statusCode !== 201) throw new Error(`setting up: ${sent.body}`)
    ids.push(reporter.caseId)
  }
  const [first, second, third] = ids as [string, string, string]
  const junk = async () => (await db.selectFrom('cases').select('id').where('junk_on', 'is not', null).execute()).map((row) => row.id).sort()
  const watch = new PageWatch(t, browser, origin)
  const page = await watch.newPage()
  // Only for axe-core, which needs to be injected: the same IDVA, in a context without the CSP.
  const checker = await watch.newPage({ bypassCSP: true })

  await t.test('two ticked cases marked as junk, then put back with the undo', async (t) => {
    await signIn(page, origin, idva)
    await page.goto(`${origin}/staff/cases`)
    await page.check(`#select-${first}`)
    await page.check(`#select-${second}`)
    await page.click('[data-mark-junk]')
    await page.locator('[data-junk-notice="marked"]').waitFor()
    t.match(await page.textContent('[data-junk-notice]'), /2 cases were marked as junk/)
    t.same(await junk(), [first, second].sort())
    t.same(await page.locator('tr[data-case-row]').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-case-row'))), [third], 'only the third is left')
    await page.click('[data-undo-junk]')
    await page.locator('[data-junk-notice="restored"]').waitFor()
    t.same(await junk(), [])
  })

  await t.test('the junk view: one row\'s "Not junk" puts back that case only', async (t) => {
    await page.check(`#select-${first}`)
    await page.check(`#select-${third}`)
    await page.click('[data-mark-junk]')
    await page.locator('[data-junk-notice="marked"]').waitFor()
    // The form posted and the queue loaded again: its filters work once htmx (a deferred script) has
    // started on the new page, which can be after the notice is on screen.
    await page.waitForLoadState('load')
    await page.selectOption('#filter-status', 'junk')
    await page.locator(`tr[data-case-row="${third}"]`).waitFor()
    await page.click(`[data-not-junk="${first}"]`)
    await page.locator('[data-junk-notice="restored"]').waitFor()
    t.match(await page.textContent('[data-junk-notice]'), /1 case was put back in the queue/)
    t.same(await junk(), [third])
  })

  await t.test('a case\'s page marks and unmarks it', async (t) => {
    await page.goto(`${origin}/staff/cases/${second}`)
    await page.click('[data-mark-junk]')
    await page.locator('[data-case-junk]').waitFor()
    t.same(await junk(), [second, third].sort())
    await page.click('[data-not-junk]')
    await page.locator('[data-mark-junk]').waitFor()
    t.same(await junk(), [third])
  })

  await t.test('axe-core: the queue with its boxes, the notice and its undo, the junk view, a case marked as junk', async (t) => {
    // A code works once: this second sign-in, perhaps in the same 30 seconds, uses the next one.
    await signIn(checker, origin, { ...idva, step: 1 })
    await checker.goto(`${origin}/staff/cases`)
    await axe(t, checker, '/staff/cases with a box on each row')
    await checker.check(`#select-${first}`)
    await checker.click('[data-mark-junk]')
    await checker.locator('[data-junk-notice="marked"]').waitFor()
    await axe(t, checker, 'the queue after marking, with the undo')
    await checker.goto(`${origin}/staff/cases?status=junk`)
    await axe(t, checker, 'the "Marked as junk" view')
    await checker.goto(`${origin}/staff/cases/${third}`)
    await checker.locator('[data-case-junk]').waitFor()
    await axe(t, checker, 'a case marked as junk')
  })

  t.test('no script error or CSP violation, and no request left the portal', async (t) => {
    t.same(watch.problems, [])
    t.same(watch.offsite.flat(), [])
  })
}
