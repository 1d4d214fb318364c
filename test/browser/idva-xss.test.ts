import t from 'tap'
import type { Page } from 'playwright-core'
import { randomUUID } from 'node:crypto'
import { base64url } from '../../crypto/index.ts'
import { seedAccount, seedGrant, seedService } from '../../scripts/lib/staff-fixtures.ts'
import { buildTestApp, freePort } from '../helpers/app.ts'
import { axe, launchChromium, PageWatch, signIn } from '../helpers/browser.ts'
import { CONSENT, NOTE, recordBody, replyBody } from '../helpers/idva.ts'
import { disclosureBody, newReporter, servicePublic, submit, type Reporter } from '../helpers/reporter.ts'
import { asStaff, sessionFor } from '../helpers/staff.ts'
import { XSS_PAYLOADS } from '../helpers/xss-payloads.ts'
import { readable } from '../../client/answers.ts'

/**
 * Decrypted content is only ever text. A corpus of injection payloads goes through a disclosure
 * (its text, every answer shown at a glance, file names), an IDVA reply, a note, a consent record
 * and a triage; the IDVA's case page and the reporter's /return page show them in real Chromium
 * with the CSP switched off (so an injected handler would run if it were ever parsed), and no
 * script runs and no element is injected. A tampered envelope is shown as "could not be
 * decrypted", and the rest of the page keeps working.
 */

const browser = await launchChromium(t)
if (browser !== null) {
  const port = await freePort()
  const origin = `http://127.0.0.1:${port}`
  const { app, serviceKeys } = await buildTestApp(t, { listen: true, env: { PORT: String(port), PUBLIC_ORIGIN: origin } })
  const db = app.database.db
  const service = await seedService(db, { keys: serviceKeys })
  const idva = await seedAccount(db, app.config.serverSecret, { username: 'idva.xss', role: 'idva', groupId: service.id })
  await seedGrant(db, idva, service)
  const staffClient = await sessionFor(app, idva)
  const TEXT = XSS_PAYLOADS.join('\n')
  const GLANCE = ['abuseTypes', 'duration', 'frequency', 'relationship', 'perpetratorPolice', 'perpetratorRank', 'usedPosition', 'safeNow', 'children', 'wants', 'contactWays', 'contactDetails', 'contactTimes', 'contactAvoid', 'perpetratorName']

  async function send(url: string, payload: Record<string, unknown>): Promise<void> {
    const response = await asStaff(app, staffClient, { method: 'POST', url, payload })
    if (response.statusCode !== 201) throw new Error(`setting up ${url}: ${response.body}`)
  }

  async function newCase(content: Record<string, unknown>): Promise<Reporter> {
    const reporter = await newReporter()
    const caseKeys = { reply: base64url.encode(reporter.keys.reply.publicKey), auth: base64url.encode(reporter.keys.auth.publicKey) }
    const response = await submit(app, await disclosureBody(reporter, servicePublic(service.keys), { v: 1, evidence: [], caseKeys, ...content }))
    if (response.statusCode !== 201) throw new Error(`setting up: ${response.body}`)
    return reporter
  }

  // Everything at once: the disclosure, a reply, a note, consent and a triage, each full of payloads.
  const answers = Object.fromEntries(GLANCE.map((name, index) => [name, XSS_PAYLOADS.slice(index * 3, index * 3 + 3).join(' ')]))
  const evidence = XSS_PAYLOADS.slice(0, 10).map((name, index) => ({ id: randomUUID(), fileId: `f${index}`, key: `k${index}`, name: name.slice(0, 255), type: 'text/html', size: 10 }))
  const hostile = await newCase({ text: TEXT, answers, evidence })
  await send(`/staff/cases/${hostile.caseId}/replies`, await replyBody({ caseId: hostile.caseId, seq: 2, text: TEXT, service: service.keys, replyPublic: hostile.keys.reply.publicKey }))
  await send(`/staff/cases/${hostile.caseId}/records`, await recordBody({ caseId: hostile.caseId, kind: 'note', seq: 1, content: NOTE(TEXT), service: service.keys }))
  await send(`/staff/cases/${hostile.caseId}/records`, await recordBody({ caseId: hostile.caseId, kind: 'consent', seq: 1, content: { ...CONSENT('criminal', true), share: XSS_PAYLOADS.slice(0, 20).join(' '), withWhom: XSS_PAYLOADS[1], words: TEXT }, service: service.keys }))
  const triage = { v: 1, type: 'triage', author: 'idva.xss', writtenOn: '2026-12-01', answers: { injured: 'yes' }, incidentsLastYear: null, computedLevel: 'standard', level: 'high', judgementReason: XSS_PAYLOADS.slice(20, 40).join(' '), marac: { eligible: true, refer: true, reason: XSS_PAYLOADS.slice(40).join(' ') } }
  await send(`/staff/cases/${hostile.caseId}/records`, await recordBody({ caseId: hostile.caseId, kind: 'triage', seq: 1, content: triage, service: service.keys, riskLevel: 'high' }))

  // A case whose disclosure and note were altered in the database.
  const tampered = await newCase({ text: 'An ordinary disclosure' })
  await send(`/staff/cases/${tampered.caseId}/records`, await recordBody({ caseId: tampered.caseId, kind: 'note', seq: 1, content: NOTE('An ordinary note'), service: service.keys }))
  await send(`/staff/cases/${tampered.caseId}/records`, await recordBody({ caseId: tampered.caseId, kind: 'note', seq: 2, content: NOTE('A second note that is intact'), service: service.keys }))
  const flip = (envelope: Buffer) => {
    const copy = Buffer.from(envelope)
    copy[copy.length - 100]! ^= 0x01
    return copy
  }
  const message = await db.selectFrom('case_messages').select(['id', 'envelope']).where('case_id', '=', tampered.caseId).executeTakeFirstOrThrow()
  await db.updateTable('case_messages').set({ envelope: flip(message.envelope) }).where('id', '=', message.id).execute()
  const note = await db.selectFrom('case_records').select(['id', 'envelope']).where('case_id', '=', tampered.caseId).where('seq', '=', 1).executeTakeFirstOrThrow()
  // Records are append-only for the application: the owner replaces the row, as an intruder would.
  await app.database.asOwner(async (owner) => {
    await owner.deleteFrom('case_records').where('id', '=', note.id).execute()
    await owner.insertInto('case_records').values({ id: note.id, case_id: tampered.caseId, kind: 'note', seq: 1, envelope: flip(note.envelope), padded_size: 256, sealed: true }).execute()
  })

  const watch = new PageWatch(t, browser, origin)
  const newPage = () => watch.newPage({ bypassCSP: true })

  const SUSPICIOUS = 'script, img, svg, iframe, object, embed, video, audio, math, marquee, template, base, meta, link, style, isindex, keygen, custom-element, xss, [data-xss], [hx-get], [hx-on\\:click], [onerror], [onload], [onclick]'

  async function nothingInjected(page: Page, what: string): Promise<void> {
    await page.waitForTimeout(1500)
    t.equal(await page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss), undefined, `${what}: no payload's script ran`)
    // The status panel is the page's own htmx element (it asks for itself again after a reply).
    t.equal(await page.locator(`main :is(${SUSPICIOUS}):not(#case-status[hx-get$="/status"])`).count(), 0, `${what}: no element injected`)
  }

  const staff = await newPage()
  await signIn(staff, origin, idva)

  await t.test(`${XSS_PAYLOADS.length} payloads on the IDVA's case page are text, and nothing runs`, async (t) => {
    t.ok(XSS_PAYLOADS.length >= 50)
    await staff.goto(`${origin}/staff/cases/${hostile.caseId}`)
    await staff.locator('[data-case-view]').waitFor({ state: 'visible', timeout: 60_000 })
    await staff.locator('[data-notes] li').first().waitFor()
    const thread = staff.locator('[data-thread] > li')
    t.equal(await thread.count(), 2)
    t.equal(await thread.nth(0).locator('.message__text').textContent(), TEXT, 'the disclosure, character for character')
    t.equal(await thread.nth(1).locator('.message__text').textContent(), TEXT, 'the reply, character for character')
    const glance = (await staff.textContent('[data-glance]'))!
    for (const name of GLANCE.slice(0, -1)) t.ok(glance.includes(readable(name, answers[name]!)), `${name} at a glance, as text`)
    t.equal(await thread.nth(0).locator('button').count(), evidence.length)
    t.equal(await thread.nth(0).locator('button').first().textContent(), `${XSS_PAYLOADS[0]} (missing)`)
    t.equal(await staff.locator('[data-notes] .message__text').textContent(), TEXT, 'the note')
    t.match(await staff.textContent('[data-consent-current]'), XSS_PAYLOADS[1]!, 'consent')
    t.match(await staff.textContent('[data-triage-latest]'), XSS_PAYLOADS[40]!, 'triage')
    await nothingInjected(staff, 'case page')
    await axe(t, staff, 'the case page')
    await staff.goto(`${origin}/staff/cases`)
    await axe(t, staff, 'the queue')
  })

  await t.test('the same payloads at /return, as the reporter reads them', async (t) => {
    const page = await newPage()
    await page.goto(`${origin}/return`)
    await page.locator('[data-crypto-missing]').waitFor({ state: 'hidden' })
    await page.fill('#case-code', hostile.code)
    await page.click('[data-open]')
    await page.locator('[data-case]').waitFor({ state: 'visible' })
    const thread = page.locator('[data-thread] > li')
    await thread.nth(1).waitFor()
    t.equal(await thread.nth(0).locator('.message__text').textContent(), TEXT)
    t.equal(await thread.nth(1).locator('.message__text').textContent(), TEXT, 'the verified reply, as text')
    await nothingInjected(page, '/return')
  })

  await t.test('a tampered envelope is "could not be decrypted", and the page keeps working', async (t) => {
    await staff.goto(`${origin}/staff/cases/${tampered.caseId}`)
    await staff.locator('[data-case-view]').waitFor({ state: 'visible', timeout: 60_000 })
    t.match(await staff.textContent('[data-thread] > li'), /could not be decrypted( or verified)?, so it is not shown/)
    t.notMatch(await staff.textContent('[data-thread]'), /An ordinary disclosure/)
    t.match(await staff.textContent('[data-glance]'), /could not be read/)
    const notes = staff.locator('[data-notes] li')
    t.equal(await notes.count(), 2)
    t.match(await notes.nth(0).textContent(), /could not be decrypted or verified/)
    t.match(await notes.nth(1).textContent(), /A second note that is intact/, 'the intact record is still shown')
    t.ok(await staff.locator('[data-case-records]').isVisible(), 'the checklist, consent and notes still work')
    await staff.fill('#note-text', 'Noted after the tampering')
    await staff.click('form[data-form="note"] [data-submit]')
    await staff.locator('[data-notes] li', { hasText: 'Noted after the tampering' }).waitFor()
    const audited = await db.selectFrom('audit_log').select('action').where('object_id', '=', tampered.caseId).where('action', '=', 'case.decryption_failed').execute()
    t.ok(audited.length >= 1, 'the failure is reported and audited')
  })

  t.test('no page error, no dialog, no request off the portal', async (t) => {
    t.same(watch.problems, [])
    t.same(watch.offsite.flat(), [], 'no payload reached another host')
  })
}
