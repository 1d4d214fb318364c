import t from 'tap'
import { readFileSync } from 'node:fs'
import { fromUtf8, ITEM_ANSWERS, openEnvelope, readPackageContent, referralContext, type KeySet, type PackageContent } from '../../crypto/index.ts'
import { RISK_QUESTIONS } from '../../rules/risk-checklist.ts'
import { seedAccount, seedGrant, seedService } from '../../scripts/lib/staff-fixtures.ts'
import { buildTestApp, freePort } from '../helpers/app.ts'
import { launchChromium, PageWatch, signIn } from '../helpers/browser.ts'
import { seedReferralUnits } from '../helpers/referrals.ts'
import { withActor } from '../../server/db/actor.ts'
import { referralPackage } from '../../server/features/referrals/repository.ts'

/**
 * Referring a case, in a real Chromium, as ROUTING.md's worked example: a reporter who lives in
 * Camden and works in Westminster discloses on-duty abuse by a sergeant who works in Islington (the
 * same command unit as her home), and agrees to both tracks. The IDVA triages, records consent item
 * by item, opens the routing step (learning from her that the assault was serious), sees the
 * proposal the engine gives with its reasons (criminal: North Area, R2 R3 R4; misconduct:
 * professional standards, R6; a referral to the IOPC, R8), sends the criminal package to another
 * unit with a reason, and sends both packages. Each package opens with its unit's private key and
 * not with the other unit's, and carries nothing the person did not agree to.
 *
 * Then the investigators (issue 16), each in their own browser: the criminal unit's investigator
 * unlocks the unit's key, opens the criminal package and its file, acknowledges it, and cannot
 * reach the misconduct package by its URL; professional standards sees the IOPC flag and the
 * criteria that fired, acknowledges, and records the referral to the IOPC; the IDVA sees both
 * states, with the unit's signed notes. A package an insider changes shows "could not be decrypted".
 */

const browser = await launchChromium(t)
if (browser !== null) {
  const port = await freePort()
  const origin = `http://127.0.0.1:${port}`
  const { app, serviceKeys } = await buildTestApp(t, { listen: true, env: { PORT: String(port), PUBLIC_ORIGIN: origin } })
  const db = app.database.db
  const service = await seedService(db, { keys: serviceKeys })
  const units = await seedReferralUnits(db, service)
  const PASSPHRASE = 'harbour lantern drifts past the quiet mill'
  const idva = await seedAccount(db, app.config.serverSecret, { username: 'idva.one', role: 'idva', groupId: service.id, passphrase: PASSPHRASE })
  await seedGrant(db, idva, service)
  const WORDS = 'Canary-Own-Words-6621 he checks my phone on shift'
  const CONTACT = 'Canary-Contact-3390 after 6pm'
  // The units' members, with the unit keys the fixtures made (Central East takes the criminal package).
  const criminalInvestigator = await seedAccount(db, app.config.serverSecret, { username: 'inv.east', role: 'investigator', groupId: units.other.id, passphrase: PASSPHRASE })
  await seedGrant(db, criminalInvestigator, units.other)
  const psdInvestigator = await seedAccount(db, app.config.serverSecret, { username: 'inv.dps', role: 'investigator', groupId: units.professionalStandards.id, passphrase: PASSPHRASE })
  await seedGrant(db, psdInvestigator, units.professionalStandards)
  const watch = new PageWatch(t, browser, origin)
  const reporter = await watch.newPage()
  const staff = await watch.newPage()
  const criminalPage = await watch.newPage()
  const psdPage = await watch.newPage()
  let caseId = ''
  const referralIds: Record<'criminal' | 'misconduct', string> = { criminal: '', misconduct: '' }
  let caseCode = ''

  await t.test('a reporter discloses on-duty abuse by a sergeant in her own command unit', async (t) => {
    const page = reporter
    await page.goto(`${origin}/report`)
    await page.locator('[data-crypto-missing]').waitFor({ state: 'hidden' })
    await page.check('#abuseTypes-controlling_or_coercive')
    await page.click('[data-step="1"] [data-step-next]')
    await page.locator('[data-step="2"]').waitFor({ state: 'visible' })
    await page.check('#relationship-partner')
    await page.check('#perpetratorPolice-this_force')
    await page.selectOption('#perpetratorRank', 'sergeant')
    await page.selectOption('#perpetratorBorough', 'Islington')
    await page.check('#onDuty-yes')
    await page.click('[data-step="2"] [data-step-next]')
    await page.locator('[data-step="3"]').waitFor({ state: 'visible' })
    await page.selectOption('#liveBorough', 'Camden')
    await page.selectOption('#workBorough', 'Westminster')
    await page.selectOption('#incidentBorough', 'Camden')
    await page.check('#otherForce-no')
    for (const step of [3, 4]) await page.click(`[data-step="${step}"] [data-step-next]`)
    await page.locator('[data-step="5"]').waitFor({ state: 'visible' })
    await page.check('#contactWays-phone')
    await page.fill('#contactTimes', CONTACT)
    await page.click('[data-step="5"] [data-step-next]')
    await page.locator('[data-step="6"]').waitFor({ state: 'visible' })
    await page.fill('#text', WORDS)
    await page.setInputFiles('#evidence', [{ name: 'rota.txt', mimeType: 'text/plain', buffer: Buffer.from('Canary-File-1188 the rota') }])
    await page.click('[data-submit]')
    await page.locator('[data-receipt]').waitFor({ state: 'visible' })
    caseId = (await db.selectFrom('cases').select('id').executeTakeFirstOrThrow()).id
    caseCode = (await page.textContent('[data-case-code]'))!.trim()
    t.ok(caseId)
  })

  await t.test('the IDVA triages and records consent for both tracks, item by item', async (t) => {
    const page = staff
    await signIn(page, origin, idva)
    await page.goto(`${origin}/staff/cases/${caseId}`)
    await page.locator('[data-case-view]').waitFor({ state: 'visible', timeout: 60_000 })
    const glance = (await page.textContent('[data-glance]'))!
    for (const place of [/Lives in\s*Camden/, /Works in\s*Westminster/, /Where it happened\s*Camden/, /Borough they work or live in\s*Islington/]) t.match(glance, place, 'the places at a glance')
    for (const [index, question] of RISK_QUESTIONS.entries()) await page.check(`#risk-${question.id}-${index < 5 ? 'yes' : 'no'}`)
    await page.click('form[data-form="triage"] [data-submit]')
    await page.locator('form[data-form="triage"] [data-done]:not([hidden])').waitFor()
    const consent = async (track: 'criminal' | 'misconduct', items: readonly string[], file: boolean) => {
      await page.check(`#consent-track-${track}`)
      await page.check('#consent-agreed-yes')
      for (const item of items) await page.check(`#consent-item-${item}`)
      if (file) await page.locator('[data-consent-file]').first().check()
      await page.fill('#consent-share', `what she agreed for ${track}`)
      await page.fill('#consent-with', 'investigators outside her area')
      await page.click('form[data-form="consent"] [data-submit]')
      await page.locator('form[data-form="consent"] [data-done]:not([hidden])').waitFor()
    }
    // Criminal: what happened, about him and where; not her own words, not how to contact her.
    await consent('criminal', ['what_happened', 'about_the_person', 'places'], false)
    // Misconduct: about him, and her file; nothing else.
    await consent('misconduct', ['about_the_person'], true)
    t.match(await page.textContent('[data-consent-current]'), /May go to this track: .*About the person harming them/)
  })

  await t.test('the routing step proposes what ROUTING.md predicts, with its reasons', async (t) => {
    const page = staff
    const form = page.locator('form[data-form="routing"]')
    t.equal(await form.locator('#fact-home').inputValue(), 'Camden', 'filled in from what she wrote')
    t.equal(await form.locator('#fact-suspect-work').inputValue(), 'Islington')
    t.equal(await form.locator('#fact-rank').inputValue(), 'sergeant')
    t.ok(await form.locator('#fact-on-duty-yes').isChecked())
    t.ok(await form.locator('#fact-serious-assault-unknown').isChecked(), 'what she did not say stays not known')
    // She tells the IDVA the assault was serious: a matter for the IOPC (R8).
    await form.locator('#fact-serious-assault-yes').check()
    await form.locator('[data-submit]').click()
    await page.locator('[data-decision]').waitFor({ state: 'visible' })
    const criminal = page.locator('[data-decision-track="criminal"]')
    t.match(await criminal.locator('h4').textContent(), /Criminal: North Area safeguarding unit/)
    t.match(await criminal.textContent(), /Rules: R2, R3, R4/)
    t.match(await criminal.textContent(), /Central North and Central West are ruled out/)
    t.match(await page.locator('[data-decision-track="misconduct"] h4').textContent(), /Misconduct: the Directorate of Professional Standards/)
    t.match(await page.locator('[data-decision-track="misconduct"]').textContent(), /Rules: R6/)
    const options = await page.$$eval('#override-criminal option', (all) => all.map((option) => (option as HTMLOptionElement).value))
    t.notOk(options.includes('met-cn-safeguarding'), 'an override cannot pick a conflicted command unit')
    t.notOk(options.includes('met-dps'), 'nor the other track\'s unit')

    // Another unit, with a reason; without one, the browser refuses.
    await page.selectOption('#override-criminal', 'met-ce-safeguarding')
    await page.click('[data-save-routing]')
    await page.locator('[data-routing-error]:not([hidden])').waitFor()
    t.match(await page.textContent('[data-routing-error]'), /Give the reason/)
    await page.fill('#override-reason-criminal', 'The North Area team worked with him last year.')
    await page.click('[data-save-routing]')
    await page.locator('[data-routing-saved]:not([hidden])').waitFor({ timeout: 30_000 })
    await page.locator('[data-packages]').waitFor({ state: 'visible' })
    const decision = await db.selectFrom('audit_log').select('object_id').where('action', '=', 'case.routing_decision').executeTakeFirstOrThrow()
    t.equal(decision.object_id, `${app.routingPolicy.version}|criminal:R2,R3,R4|misconduct:R6|iopc:R8`, 'the audit log keeps the policy version and the rules')
  })

  await t.test('both packages are sealed in the browser and sent', async (t) => {
    const page = staff
    t.match(await page.locator('[data-package="criminal"] legend').textContent(), /Central East safeguarding unit/, 'the override is used')
    t.ok(await page.locator('#package-criminal-their_words').isDisabled(), 'what she did not agree to cannot be ticked')
    await page.fill('#package-criminal-summary', 'Controlling behaviour by a serving sergeant, some on duty.')
    await page.fill('#package-misconduct-summary', 'Conduct by a serving sergeant on and off duty.')
    await page.click('[data-send-packages]')
    await page.locator('[data-packages-sent]:not([hidden])').waitFor({ timeout: 30_000 })
    t.match(await page.textContent('[data-referral-states]'), /Criminal: Central East safeguarding unit .*: sent/)
    t.match(await page.textContent('[data-referral-states]'), /Misconduct: Directorate of Professional Standards .*: sent/)
  })

  await t.test('each package opens with its own unit\'s key only, and holds only what she agreed to', async (t) => {
    const rows = await withActor(db, { role: 'system' }, (trx) => trx.selectFrom('referrals').select(['id', 'track', 'unit_id']).where('case_id', '=', caseId).orderBy('track').execute())
    t.same(rows.map((row) => [row.track, row.unit_id]), [['criminal', 'met-ce-safeguarding'], ['misconduct', 'met-dps']])
    for (const row of rows) referralIds[row.track] = row.id
    const keysOf: Record<string, KeySet> = { 'met-ce-safeguarding': units.other.keys, 'met-dps': units.professionalStandards.keys }
    const opened: Record<string, PackageContent> = {}
    for (const row of rows) {
      const envelope = (await withActor(db, { role: 'system' }, (trx) => referralPackage(trx, app.vault, row.id, caseId)))!.envelope!
      const track = row.track
      const open = (keys: KeySet) =>
        openEnvelope(envelope, { caseId, keys: [keys.encryption], expectKind: 'referral_package', trustedSigners: [service.keys.signing.publicKey], requireSignature: true, context: referralContext(track, row.id) })
      const other = track === 'criminal' ? units.professionalStandards.keys : units.other.keys
      await t.rejects(open(other), `the ${track} package does not open with the other unit's key`)
      opened[track] = readPackageContent(fromUtf8((await open(keysOf[row.unit_id]!)).plaintext), { track, referralId: row.id })
    }
    const criminal = opened.criminal!
    const misconduct = opened.misconduct!
    t.same([...criminal.shared.items].sort(), ['about_the_person', 'places', 'what_happened'])
    t.equal(criminal.shared.text, null, 'not her own words: she did not agree to that')
    t.same(criminal.evidence, [], 'no file')
    const criminalAllowed = new Set([...ITEM_ANSWERS.what_happened, ...ITEM_ANSWERS.about_the_person, ...ITEM_ANSWERS.places])
    t.same(Object.keys(criminal.shared.answers).filter((name) => !criminalAllowed.has(name)), [], 'no answer outside the criminal consent')
    t.equal(criminal.shared.answers.perpetratorRank, 'sergeant')
    t.equal(criminal.shared.answers.liveBorough, 'Camden')
    t.match(criminal.decision.override, { proposedUnit: 'met-na-safeguarding', reason: /worked with him/ }, 'the override and its reason go with it')
    t.same(misconduct.shared.items, ['about_the_person'])
    t.match(misconduct.decision.iopc, { required: true, rules: ['R8'] }, 'the misconduct package says the IOPC must be considered, and why')
    t.equal(criminal.decision.iopc.required, false)
    const misconductAllowed = new Set(ITEM_ANSWERS.about_the_person)
    t.same(Object.keys(misconduct.shared.answers).filter((name) => !misconductAllowed.has(name)), [], 'no answer outside the misconduct consent')
    t.notOk(Object.hasOwn(misconduct.shared.answers, 'liveBorough'), 'places were agreed for the criminal track only')
    t.same(misconduct.evidence.map((file) => file.name), ['rota.txt'], 'the one file she agreed to')
    for (const content of [criminal, misconduct]) {
      const all = JSON.stringify(content)
      t.notMatch(all, /Canary-Own-Words/, 'her words are in neither')
      t.notMatch(all, /Canary-Contact/, 'nor how to contact her')
    }
  })

  await t.test('the criminal unit\'s investigator opens the criminal package and its file, and acknowledges it', async (t) => {
    const page = criminalPage
    await signIn(page, origin, criminalInvestigator)
    t.match(await page.textContent('[data-access]'), /You hold your unit's key .*criminal track\. You cannot see the people's cases/s, 'the home page says what they can see')
    t.match(await page.textContent('[data-home-inbox]'), /1 waiting for your unit's acknowledgement/)
    await page.click('nav a[href="/staff/inbox"]')
    const row = page.locator(`[data-referral-row="${referralIds.criminal}"]`)
    t.match(await row.textContent(), /Criminal.*Waiting for the unit.*Not required.*Acknowledgement due/s)
    t.equal(await page.locator('[data-referral-row]').count(), 1, 'only the package for this unit')
    await row.locator('a').click()
    await page.locator('[data-referral-view]').waitFor({ state: 'visible', timeout: 60_000 })
    t.match(await page.textContent('[data-package-summary]'), /Controlling behaviour by a serving sergeant/)
    t.match(await page.textContent('[data-package-signature]'), /Signed by the IDVA service/)
    t.match(await page.textContent('[data-package-override]'), /worked with him last year/, 'why it came to this unit rather than the one proposed')
    t.match(await page.textContent('[data-package-answers]'), /sergeant/i)
    t.match(await page.textContent('[data-package-basis]'), /agreed on .* investigators outside her area/)
    t.ok(await page.locator('[data-iopc-criteria]').isHidden(), 'no IOPC part on the criminal track')
    const shown = (await page.textContent('main'))!
    t.notMatch(shown, /Canary-Own-Words|Canary-Contact/, 'nothing she did not agree to share with this track')
    t.equal(await page.locator('[data-package-files] [data-evidence-file]').count(), 0, 'and no file: she agreed hers for the misconduct track only')

    await page.check('#action-acknowledged')
    await page.fill('#update-note', 'Received. We will contact the IDVA service before anyone else.')
    await page.click('form[data-form="update"] [data-submit]')
    await page.locator('[data-referral-status="acknowledged"]').waitFor({ timeout: 60_000 })
    await page.locator('[data-updates] [data-update="acknowledged"][data-verified="true"]').waitFor({ timeout: 60_000 })
    t.match(await page.textContent('[data-updates]'), /Acknowledged: .* by inv\.east.*Received\. We will contact the IDVA service/s)
    t.same(
      await page.$$eval('input[data-action]', (all) => all.map((input) => (input as HTMLInputElement).value)),
      ['investigating', 'no_further_action', 'transferred', 'returned'],
      'the steps open from here',
    )
    const audit = await db.selectFrom('audit_log').select('action').where('object_id', '=', referralIds.criminal).execute()
    t.ok(audit.some((entry) => entry.action === 'referral.package_opened'), 'the opening is audited (reported by the browser)')
    t.ok(audit.some((entry) => entry.action === 'referral.acknowledged'))
  })

  await t.test('the criminal unit cannot reach the misconduct package by its URL', async (t) => {
    const page = criminalPage
    for (const path of [`/staff/inbox/${referralIds.misconduct}`, `/staff/inbox/${referralIds.misconduct}/content`, `/staff/cases/${caseId}`, `/staff/cases/${caseId}/referrals/${referralIds.misconduct}/package`]) {
      const response = await page.request.get(`${origin}${path}`, { headers: { accept: path.endsWith('/content') || path.endsWith('/package') ? 'application/json' : 'text/html' } })
      t.ok(response.status() === 404 || response.status() === 403, `${path}: ${response.status()}`)
      t.notMatch(await response.text(), /envelope|Conduct by a serving sergeant/, 'nothing of it')
    }
    const wrongUnit = await page.request.get(`${origin}/staff/inbox/${referralIds.misconduct}/content`)
    t.equal(wrongUnit.status(), 404, 'another unit\'s referral is "no such referral"')
    t.match(await wrongUnit.text(), /There is no such referral for your unit/)
  })

  await t.test('professional standards sees the IOPC flag and the criteria, saves her file, and records the referral to the IOPC', async (t) => {
    const page = psdPage
    await signIn(page, origin, psdInvestigator)
    await page.goto(`${origin}/staff/inbox`)
    const row = page.locator(`[data-referral-row="${referralIds.misconduct}"]`)
    t.match(await row.locator('[data-iopc-flag]').textContent(), /Consider referring to the IOPC/)
    await row.locator('a').click()
    await page.locator('[data-referral-view]').waitFor({ state: 'visible', timeout: 60_000 })
    await page.locator('[data-iopc-criteria]').waitFor({ state: 'visible' })
    t.match(await page.textContent('[data-iopc-reasons]'), /serious assault.*R8/s, 'the criteria that fired')
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-package-files] button:has-text("Download rota.txt")')])
    t.equal(readFileSync((await download.path())!).toString(), 'Canary-File-1188 the rota', 'her file, decrypted in the investigator\'s browser')
    t.same(
      await page.$$eval('input[data-action]', (all) => all.map((input) => (input as HTMLInputElement).value)),
      ['acknowledged', 'returned'],
      'the IOPC decision is offered once the package is acknowledged',
    )
    await page.check('#action-acknowledged')
    await page.click('form[data-form="update"] [data-submit]')
    await page.locator('[data-referral-status="acknowledged"]').waitFor({ timeout: 60_000 })
    await page.locator('[data-referral-view]').waitFor({ state: 'visible', timeout: 60_000 })
    await page.check('#action-iopc_referred')
    await page.locator('[data-iopc-day-field]').waitFor({ state: 'visible' })
    await page.click('form[data-form="update"] [data-submit]')
    await page.locator('form[data-form="update"] [data-error]:not([hidden])').waitFor()
    t.match(await page.textContent('form[data-form="update"] [data-error]'), /Enter the day it was referred to the IOPC/)
    await page.fill('#iopc-day', '2026-12-01')
    await page.click('form[data-form="update"] [data-submit]')
    await page.locator('[data-updates] [data-update="iopc_referred"][data-verified="true"]').waitFor({ timeout: 60_000 })
    t.match(await page.textContent('[data-updates]'), /Referred to the IOPC on 2026-12-01/)
    t.match(await page.textContent('dl.summary'), /Referred to the IOPC/)
  })

  await t.test('the IDVA sees both states, and the units\' notes, checked against their certified keys', async (t) => {
    const page = staff
    await page.goto(`${origin}/staff/cases/${caseId}`)
    await page.locator('[data-case-view]').waitFor({ state: 'visible', timeout: 60_000 })
    await page.locator('[data-referral-states] [data-referral-track="misconduct"][data-iopc-decision="referred"]').waitFor({ timeout: 60_000 })
    const states = (await page.textContent('[data-referral-states]'))!
    t.match(states, /Criminal: Central East safeguarding unit .*: acknowledged/)
    t.match(states, /Misconduct: Directorate of Professional Standards .*: acknowledged.*Referred to the IOPC\./s)
    t.match(states, /Received\. We will contact the IDVA service before anyone else\./, 'the criminal unit\'s note')
    t.match(states, /Referred to the IOPC on 2026-12-01/)
    t.equal(await page.locator('[data-unit-updates] [data-verified="false"]').count(), 0, 'every note signed by its unit')
  })

  await t.test('a package an insider changes shows "could not be decrypted"', async (t) => {
    // The database insider moves the other referral's sealed package onto this one.
    await withActor(db, { role: 'system' }, async (trx) => {
      const other = await trx.selectFrom('referrals').select('envelope').where('id', '=', referralIds.misconduct).executeTakeFirstOrThrow()
      await trx.updateTable('referrals').set({ envelope: other.envelope }).where('id', '=', referralIds.criminal).execute()
    })
    const page = criminalPage
    await page.goto(`${origin}/staff/inbox/${referralIds.criminal}`)
    await page.locator('[data-page-status] [data-error]:not([hidden])').waitFor({ timeout: 60_000 })
    t.match(await page.textContent('[data-page-status] [data-error]'), /could not be decrypted or verified/)
    t.ok(await page.locator('[data-referral-view]').isHidden(), 'nothing of it shown')
  })

  await t.test('she withdraws: told first what the IDVA service keeps and why; the IDVA and the unit are told', async (t) => {
    const page = reporter
    await page.goto(`${origin}/return`)
    await page.locator('[data-crypto-missing]').waitFor({ state: 'hidden' })
    await page.fill('#case-code', caseCode)
    await page.click('[data-open]')
    await page.locator('[data-case]').waitFor({ state: 'visible', timeout: 60_000 })
    await page.click('[data-withdraw]')
    await page.locator('[data-withdraw-kept]').waitFor({ state: 'visible' })
    t.match(await page.textContent('[data-withdraw-kept-why]'), /sent your case to investigators/)
    t.match(await page.textContent('[data-withdraw-kept]'), /Not your words and not your files/)
    await page.click('[data-withdraw-now]')
    await page.locator('[data-withdrawn]').waitFor({ state: 'visible' })
    t.ok(await page.isVisible('[data-withdrawn-kept]'), 'the last message says the short record stays')
    const row = await db.selectFrom('cases').select(['withdrawn_on', 'message_count']).where('id', '=', caseId).executeTakeFirstOrThrow()
    t.ok(row.withdrawn_on !== null)
    t.equal((await db.selectFrom('case_messages').select('id').where('case_id', '=', caseId).execute()).length, 0, 'her words are gone')

    await staff.goto(`${origin}/staff/cases/${caseId}`)
    t.match(await staff.textContent('[data-case-withdrawn]'), /The person withdrew on \d{1,2} [A-Z][a-z]+ \d{4}/)
    await staff.locator('[data-case-view]').waitFor({ state: 'visible', timeout: 60_000 })
    t.equal(await staff.locator('[data-thread] > li').count(), 0, 'no message of hers is shown')

    await criminalPage.goto(`${origin}/staff/inbox/${referralIds.criminal}`)
    await criminalPage.locator('[data-page-status] [data-error]:not([hidden])').waitFor({ timeout: 60_000 })
    t.match(await criminalPage.textContent('[data-page-status] [data-error]'), /The person withdrew on .*removed from the portal/)
  })

  t.same(watch.problems, [], 'no script errors')
}
