import t from 'tap'
import { fromUtf8, ITEM_ANSWERS, openEnvelope, readPackageContent, referralContext, type KeySet, type PackageContent } from '../../crypto/index.ts'
import { RISK_QUESTIONS } from '../../rules/risk-checklist.ts'
import { seedAccount, seedGrant, seedService } from '../../scripts/lib/staff-fixtures.ts'
import { buildTestApp, freePort } from '../helpers/app.ts'
import { launchChromium, PageWatch, signIn } from '../helpers/browser.ts'
import { seedReferralUnits } from '../helpers/referrals.ts'
import { storedCase } from '../helpers/reporter.ts'
import { referralPackage } from '../../server/features/referrals/repository.ts'

/**
 * Referring a case, in a real Chromium, as ROUTING.md's worked example: a reporter who lives in
 * Camden and works in Westminster discloses on-duty abuse by a sergeant who works in Islington (the
 * same command unit as her home), and agrees to both tracks. The IDVA triages, records consent item
 * by item, opens the routing step, sees the proposal the engine gives with its reasons (criminal:
 * North Area, R2 R3 R4; misconduct: professional standards, R6), sends the criminal package to
 * another unit with a reason, and sends both packages. Then each package opens with its unit's
 * private key and not with the other unit's, and carries nothing the person did not agree to.
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
  const watch = new PageWatch(t, browser, origin)
  const reporter = await watch.newPage()
  const staff = await watch.newPage()
  let caseId = ''

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
    t.ok(caseId)
  })

  await t.test('the IDVA triages and records consent for both tracks, item by item', async (t) => {
    const page = staff
    await signIn(page, origin, idva)
    await page.goto(`${origin}/staff/cases/${caseId}`)
    await page.locator('[data-case-view]').waitFor({ state: 'visible', timeout: 60_000 })
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
    t.equal(decision.object_id, `${app.routingPolicy.version}|criminal:R2,R3,R4|misconduct:R6|iopc:`, 'the audit log keeps the policy version and the rules')
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
    const rows = await db.selectFrom('referrals').select(['id', 'track', 'unit_id']).where('case_id', '=', caseId).orderBy('track').execute()
    t.same(rows.map((row) => [row.track, row.unit_id]), [['criminal', 'met-ce-safeguarding'], ['misconduct', 'met-dps']])
    const { dataKey } = await storedCase(app, caseId)
    const keysOf: Record<string, KeySet> = { 'met-ce-safeguarding': units.other.keys, 'met-dps': units.professionalStandards.keys }
    const opened: Record<string, PackageContent> = {}
    for (const row of rows) {
      const envelope = (await referralPackage(db, dataKey, caseId, row.id))!
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

  t.same(watch.problems, [], 'no script errors')
}
