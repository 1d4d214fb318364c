import t from 'tap'
import type { Page } from 'playwright-core'
import { randomUUID } from 'node:crypto'
import { base64url } from '../../crypto/index.ts'
import { seedAccount, seedGrant, seedService } from '../../scripts/lib/staff-fixtures.ts'
import { buildTestApp, freePort } from '../helpers/app.ts'
import { axe, launchChromium, PageWatch, signIn } from '../helpers/browser.ts'
import { packageBody, packageContent, seedReferralUnits, updateBody } from '../helpers/referrals.ts'
import { disclosureBody, newReporter, servicePublic, submit } from '../helpers/reporter.ts'
import { asStaff, sessionFor } from '../helpers/staff.ts'
import { XSS_PAYLOADS } from '../helpers/xss-payloads.ts'
import { readable } from '../../client/answers.ts'

/**
 * What investigators read is only ever text, and so is what they write back. A package full of
 * injection payloads (the summary, the person's words, every shared answer, file names, the routing
 * explanation and warnings, the override's reason, the basis, the IOPC criteria, the names) is opened
 * by a unit's investigator in real Chromium with the CSP switched off (so an injected handler would run
 * if it were ever parsed); then a unit's note full of payloads is read by the IDVA. No script runs and
 * no element appears, and the inbox and the referral page pass axe's WCAG 2.2 AA checks.
 */

const browser = await launchChromium(t)
if (browser !== null) {
  const port = await freePort()
  const origin = `http://127.0.0.1:${port}`
  const { app, serviceKeys } = await buildTestApp(t, { listen: true, env: { PORT: String(port), PUBLIC_ORIGIN: origin } })
  const db = app.database.db
  const service = await seedService(db, { keys: serviceKeys })
  const units = await seedReferralUnits(db, service)
  const idva = await seedAccount(db, app.config.serverSecret, { username: 'idva.xss', role: 'idva', groupId: service.id })
  await seedGrant(db, idva, service)
  const investigator = await seedAccount(db, app.config.serverSecret, { username: 'inv.xss', role: 'investigator', groupId: units.professionalStandards.id })
  await seedGrant(db, investigator, units.professionalStandards)
  const TEXT = XSS_PAYLOADS.join('\n')
  const some = (from: number, count = 3) => XSS_PAYLOADS.slice(from, from + count)

  const reporter = await newReporter()
  const caseKeys = { reply: base64url.encode(reporter.keys.reply.publicKey), auth: base64url.encode(reporter.keys.auth.publicKey) }
  const submitted = await submit(app, await disclosureBody(reporter, servicePublic(service.keys), { v: 1, text: 'An ordinary disclosure', evidence: [], caseKeys }))
  if (submitted.statusCode !== 201) throw new Error(`setting up: ${submitted.body}`)
  const caseId = reporter.caseId
  const referralId = randomUUID()
  const answers = { perpetratorName: some(0).join(' '), perpetratorRank: some(3).join(' '), usedPositionDetail: some(6).join(' '), abuseTypes: some(9), liveBorough: some(12).join(' ') }
  const content = packageContent('misconduct', referralId, { id: units.professionalStandards.id, name: XSS_PAYLOADS[15]!, force: XSS_PAYLOADS[16]! }, {
    from: { service: XSS_PAYLOADS[17]!, author: XSS_PAYLOADS[18]!.slice(0, 64) },
    decision: { policyVersion: XSS_PAYLOADS[19]!.slice(0, 100), rules: ['R6'], explanation: some(20), warnings: some(23), iopc: { required: true, rules: ['R8'], explanation: some(26) }, override: { proposedUnit: null, reason: some(29).join(' ') } },
    basis: { kind: 'safeguarding', reason: some(32).join(' ') },
    summary: TEXT,
    shared: { items: ['their_words', 'about_the_person', 'what_happened', 'places'], text: TEXT, answers },
    evidence: some(35, 8).map((name, index) => ({ id: randomUUID(), fileId: `f${index}`, key: `k${index}`, name: name.slice(0, 255), type: 'text/html', size: 10 })),
  })
  const sent = await asStaff(app, await sessionFor(app, idva), {
    method: 'POST',
    url: `/staff/cases/${caseId}/referrals`,
    payload: { packages: [await packageBody({ caseId, track: 'misconduct', unit: units.professionalStandards, service: service.keys, referralId, content, iopcRequired: true, tellReporter: false })] },
  })
  if (sent.statusCode !== 201) throw new Error(`setting up: ${sent.body}`)
  // The unit acknowledges, with a note full of payloads (written as its browser would).
  const noted = await asStaff(app, await sessionFor(app, investigator), {
    method: 'POST',
    url: `/staff/inbox/${referralId}/updates`,
    payload: await updateBody({ caseId, referralId, seq: 1, action: 'acknowledged', unit: units.professionalStandards, service: service.keys, note: TEXT, content: { author: XSS_PAYLOADS[44]!.slice(0, 64) } }),
  })
  if (noted.statusCode !== 201) throw new Error(`setting up: ${noted.body}`)

  const watch = new PageWatch(t, browser, origin)
  const unitPage = await watch.newPage({ bypassCSP: true })
  const idvaPage = await watch.newPage({ bypassCSP: true })
  const SUSPICIOUS = 'script, img, svg, iframe, object, embed, video, audio, math, marquee, template, base, meta, link, style, isindex, keygen, custom-element, xss, [data-xss], [hx-get], [hx-on\\:click], [onerror], [onload], [onclick]'

  async function nothingInjected(page: Page, what: string): Promise<void> {
    await page.waitForTimeout(1500)
    t.equal(await page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss), undefined, `${what}: no payload's script ran`)
    // The case page's status panel is its own htmx element (it asks for itself again after a reply).
    t.equal(await page.locator(`main :is(${SUSPICIOUS}):not(#case-status[hx-get$="/status"])`).count(), 0, `${what}: no element injected`)
  }

  await t.test('the investigator reads the hostile package as text, and nothing runs', async (t) => {
    await signIn(unitPage, origin, investigator)
    await unitPage.goto(`${origin}/staff/inbox`)
    await axe(t, unitPage, 'the inbox')
    await unitPage.goto(`${origin}/staff/inbox/${referralId}`)
    await unitPage.locator('[data-referral-view]').waitFor({ state: 'visible', timeout: 60_000 })
    t.equal(await unitPage.textContent('[data-package-summary]'), TEXT, 'the summary, character for character')
    t.equal(await unitPage.textContent('[data-package-text]'), TEXT, 'their words, character for character')
    t.ok((await unitPage.textContent('[data-package-answers]'))!.includes(readable('perpetratorName', some(0).join(' '))), 'answers as text (what the person typed, exactly as typed)')
    t.match(await unitPage.textContent('[data-iopc-reasons]'), XSS_PAYLOADS[26]!, 'the IOPC criteria as text')
    t.match(await unitPage.textContent('[data-package-override]'), XSS_PAYLOADS[29]!, 'the override reason as text')
    t.equal(await unitPage.locator('[data-package-files] button').count(), 8)
    t.equal(await unitPage.locator('[data-updates] .message__text').textContent(), TEXT, 'the unit\'s own note, as text')
    await nothingInjected(unitPage, 'the referral page')
    await axe(t, unitPage, 'the referral page')
  })

  await t.test('the IDVA reads the unit\'s hostile note as text, and nothing runs', async (t) => {
    await signIn(idvaPage, origin, idva)
    await idvaPage.goto(`${origin}/staff/cases/${caseId}`)
    await idvaPage.locator('[data-case-view]').waitFor({ state: 'visible', timeout: 60_000 })
    await idvaPage.locator('[data-unit-updates] [data-verified="true"]').waitFor({ timeout: 60_000 })
    t.equal(await idvaPage.locator('[data-unit-updates] .message__text').textContent(), TEXT, 'the note, character for character')
    await nothingInjected(idvaPage, 'the case page')
  })

  t.test('no page error, no dialog, no request off the portal', async (t) => {
    t.same(watch.problems, [])
    t.same(watch.offsite.flat(), [], 'no payload reached another host')
  })
}
