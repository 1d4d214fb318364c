import t from 'tap'
import { base64url, fromUtf8, openEnvelope, readUpdateContent, referralUpdateContext } from '../../crypto/index.ts'
import { seedAccount, seedGrant } from '../../scripts/lib/staff-fixtures.ts'
import { withActor } from '../../server/db/actor.ts'
import { buildTestApp } from '../helpers/app.ts'
import { NOTE, recordBody, replyBody, TRIAGE } from '../helpers/idva.ts'
import { packageBody, seedReferralWorld, updateBody } from '../helpers/referrals.ts'
import { disclosureBody, encryptedFile, newReporter, openCase, servicePublic, submit, upload } from '../helpers/reporter.ts'
import { asStaff, sessionFor } from '../helpers/staff.ts'

/**
 * Withdrawal when the IDVA service must keep a record (high risk, a MARAC referral, a referral to
 * investigators), as the person, the IDVA, a unit and a database reader each see it: the person's
 * words and files are gone and the code opens nothing; the service's own records and the referrals'
 * states stay, readable, under new keys; the old keys are gone. Without such a reason, everything
 * goes (test/integration/return.test.ts).
 */

function expectStatus(response: { statusCode: number; body: string }, status: number): void {
  if (response.statusCode !== status) throw new Error(`expected ${status}, got ${response.statusCode}: ${response.body}`)
}

const { app, serviceKeys } = await buildTestApp(t)
const db = app.database.db
const { service, units, asIdva } = await seedReferralWorld(app, serviceKeys)
const member = await seedAccount(db, app.config.serverSecret, { username: 'inv.north', role: 'investigator', groupId: units.criminal.id })
await seedGrant(db, member, units.criminal)
const asUnit = await sessionFor(app, member)
const asSystem = <T>(work: Parameters<typeof withActor<T>>[2]) => withActor(db, { role: 'system' }, work)

async function referredCase() {
  const file = await encryptedFile(new TextEncoder().encode('a photograph of the messages'))
  const uploaded = (await upload(app, file.encrypted)).json<{ id: string; token: string }>()
  const reporter = await newReporter()
  const caseKeys = { reply: base64url.encode(reporter.keys.reply.publicKey), auth: base64url.encode(reporter.keys.auth.publicKey) }
  expectStatus(await submit(app, await disclosureBody(reporter, servicePublic(service.keys), { v: 1, text: 'Canary-Withdrawn-7781', evidence: [], caseKeys }, [uploaded])), 201)
  return { reporter, uploaded }
}

const thread = async (cookie: string) => (await app.inject({ method: 'GET', url: '/return/thread', headers: { cookie } })).json<{ keptOnWithdrawal: unknown }>()
const withdraw = (session: { cookie: string; csrfToken: string }) => app.inject({ method: 'POST', url: '/return/withdraw', payload: { confirmed: true }, headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken } })

t.test('high risk, a MARAC referral and a referral: the person is told first; the words go, the record stays under new keys', async (t) => {
  const { reporter, uploaded } = await referredCase()
  const caseId = reporter.caseId
  const records = `/staff/cases/${caseId}/records`
  expectStatus(await asStaff(app, asIdva, { method: 'POST', url: records, payload: await recordBody({ caseId, kind: 'triage', seq: 1, content: TRIAGE('high'), service: service.keys, riskLevel: 'high', maracReferred: true }) }), 201)
  // A later checklist that does not tick the MARAC box does not undo a referral already made.
  expectStatus(await asStaff(app, asIdva, { method: 'POST', url: records, payload: await recordBody({ caseId, kind: 'triage', seq: 2, content: TRIAGE('high'), service: service.keys, riskLevel: 'high', maracReferred: false }) }), 201)
  expectStatus(await asStaff(app, asIdva, { method: 'POST', url: records, payload: await recordBody({ caseId, kind: 'note', seq: 1, content: NOTE('Called her on the safe number.'), service: service.keys }) }), 201)
  const before = await db.selectFrom('cases').select('lookup_id').where('id', '=', caseId).executeTakeFirstOrThrow()
  expectStatus(await asStaff(app, asIdva, { method: 'POST', url: `/staff/cases/${caseId}/replies`, payload: await replyBody({ caseId, seq: 2, text: 'We are here.', service: service.keys, replyPublic: reporter.keys.reply.publicKey }) }), 201)
  const pkg = await packageBody({ caseId, track: 'criminal', unit: units.criminal, service: service.keys, evidence: [uploaded.id] })
  expectStatus(await asStaff(app, asIdva, { method: 'POST', url: `/staff/cases/${caseId}/referrals`, payload: { packages: [pkg] } }), 201)
  const acknowledged = await updateBody({ caseId, referralId: pkg.referralId, seq: 1, action: 'acknowledged', unit: units.criminal, service: service.keys, note: 'Received; officer assigned.' })
  expectStatus(await asStaff(app, asUnit, { method: 'POST', url: `/staff/inbox/${pkg.referralId}/updates`, payload: acknowledged }), 201)
  const oldCaseKey = (await db.selectFrom('case_keys').select('wrapped').where('case_id', '=', caseId).executeTakeFirstOrThrow()).wrapped
  const oldReferralKey = (await asSystem((trx) => trx.selectFrom('referral_keys').select('wrapped').where('referral_id', '=', pkg.referralId).executeTakeFirstOrThrow())).wrapped

  const session = await openCase(app, reporter.keys)
  t.same((await thread(session.cookie)).keptOnWithdrawal, { highRisk: true, marac: true, referred: true }, 'the page can say what is kept, and why, before the person confirms')
  const withdrawn = await withdraw(session)
  t.equal(withdrawn.statusCode, 200)
  t.same(withdrawn.json(), { withdrawn: true, recordKept: true })

  // What the person sent, and every reply, is gone; the code opens nothing.
  t.equal((await openCase(app, reporter.keys)).status, 404, 'the code no longer opens anything')
  t.equal((await db.selectFrom('case_messages').select('id').where('case_id', '=', caseId).execute()).length, 0)
  t.equal((await db.selectFrom('case_evidence').select('id').where('case_id', '=', caseId).execute()).length, 0)
  t.equal((await db.selectFrom('case_sessions').select('case_id').where('case_id', '=', caseId).execute()).length, 0)
  const row = await db.selectFrom('cases').selectAll().where('id', '=', caseId).executeTakeFirstOrThrow()
  t.ok(row.withdrawn_on !== null, 'the day is kept')
  t.equal(row.keys_sealed, null, 'no key derived from the code is kept')
  t.notSame(row.lookup_id, before.lookup_id, 'the lookup value is replaced')
  t.same([row.risk_level, row.marac_referred, row.status], ['high', true, 'referred'])
  t.equal(row.message_count, 0)
  // The service's records stay, under a new key; the old key is gone.
  const newCaseKey = (await db.selectFrom('case_keys').select('wrapped').where('case_id', '=', caseId).executeTakeFirstOrThrow()).wrapped
  t.notSame(newCaseKey, oldCaseKey, 'the case key is new')
  const content = (await asStaff(app, asIdva, { method: 'GET', url: `/staff/cases/${caseId}/content` })).json<{ messages: unknown[]; records: { kind: string; envelope: string }[] }>()
  t.same(content.messages, [])
  t.same(content.records.map((record) => record.kind).sort(), ['note', 'triage', 'triage'])
  for (const record of content.records) t.ok(base64url.decode(record.envelope, 'record').length > 0, `the ${record.kind} still opens from its seal at rest`)
  // The referral: its content and files are removed; its state and the unit's updates stay, under a new key.
  const referral = await asSystem((trx) => trx.selectFrom('referrals').selectAll().where('id', '=', pkg.referralId).executeTakeFirstOrThrow())
  t.equal(referral.envelope, null)
  t.ok(referral.content_removed_on !== null)
  t.equal(referral.status, 'acknowledged')
  t.equal((await asSystem((trx) => trx.selectFrom('referral_files').select('evidence_id').where('referral_id', '=', pkg.referralId).execute())).length, 0)
  t.notSame((await asSystem((trx) => trx.selectFrom('referral_keys').select('wrapped').where('referral_id', '=', pkg.referralId).executeTakeFirstOrThrow())).wrapped, oldReferralKey, 'the referral key is new')
  const states = (await asStaff(app, asIdva, { method: 'GET', url: `/staff/cases/${caseId}/referrals` })).json<{ referrals: { id: string; updates: { seq: number; envelope: string }[] }[] }>()
  const update = states.referrals[0]!.updates[0]!
  const opened = await openEnvelope(base64url.decode(update.envelope, 'note'), { caseId, keys: [service.keys.encryption], expectKind: 'unit_note', trustedSigners: [units.criminal.keys.signing.publicKey], requireSignature: true, context: referralUpdateContext(pkg.referralId, 1, 'acknowledged') })
  t.equal(readUpdateContent(fromUtf8(opened.plaintext), { referralId: pkg.referralId, seq: 1, action: 'acknowledged' }).note, 'Received; officer assigned.', "the unit's update still opens")

  // The IDVA is told, and nothing more can reach the person.
  const page = await asStaff(app, asIdva, { method: 'GET', url: `/staff/cases/${caseId}`, headers: { accept: 'text/html' } })
  t.match(page.body, /data-case-withdrawn/)
  t.match(page.body, /The person withdrew on \d{1,2} [A-Z][a-z]+ \d{4}/)
  const queue = await asStaff(app, asIdva, { method: 'GET', url: '/staff/cases?status=all', headers: { accept: 'text/html' } })
  t.match(queue.body, new RegExp(`data-case-row="${caseId}"[\\s\\S]*?data-withdrawn-tag`))
  const reply = await asStaff(app, asIdva, { method: 'POST', url: `/staff/cases/${caseId}/replies`, payload: await replyBody({ caseId, seq: 1, text: 'Hello?', service: service.keys, replyPublic: reporter.keys.reply.publicKey }) })
  t.equal(reply.statusCode, 409)
  t.match(reply.json().message, /withdrew/)
  const again = await packageBody({ caseId, track: 'misconduct', unit: units.professionalStandards, service: service.keys })
  t.equal((await asStaff(app, asIdva, { method: 'POST', url: `/staff/cases/${caseId}/referrals`, payload: { packages: [again] } })).statusCode, 409)
  t.equal((await asStaff(app, asIdva, { method: 'POST', url: records, payload: await recordBody({ caseId, kind: 'note', seq: 2, content: NOTE('She withdrew; MARAC told.'), service: service.keys }) })).statusCode, 201, 'the IDVA can still note what they did')
  t.equal((await asStaff(app, asIdva, { method: 'GET', url: `/staff/cases/${caseId}/referrals/${pkg.referralId}/package` })).statusCode, 410)
  // The unit is told plainly, not that the package failed to decrypt.
  const unitView = (await asStaff(app, asUnit, { method: 'GET', url: `/staff/inbox/${pkg.referralId}/content` })).json<{ envelope: string; contentRemovedOn: string | null; files: unknown[]; updates: unknown[] }>()
  t.equal(unitView.envelope, '')
  t.match(unitView.contentRemovedOn, /^\d{4}-\d{2}-\d{2}$/)
  t.same(unitView.files, [])
  t.equal(unitView.updates.length, 1)
  // The anonymous audit chain says it happened, nothing else.
  const audit = await db.selectFrom('case_audit_log').select(['action', 'object_id']).where('actor_id', '=', caseId).execute()
  t.ok(audit.some((entry) => entry.action === 'case.withdrawn_record_kept'))
  // A second try with the same session is refused: it ended.
  t.equal((await withdraw(session)).statusCode, 401)
})

t.test('a MARAC referral alone is reason enough; without any reason everything goes', async (t) => {
  const marac = (await referredCase()).reporter
  expectStatus(await asStaff(app, asIdva, { method: 'POST', url: `/staff/cases/${marac.caseId}/records`, payload: await recordBody({ caseId: marac.caseId, kind: 'triage', seq: 1, content: TRIAGE('medium'), service: service.keys, riskLevel: 'medium', maracReferred: true }) }), 201)
  const session = await openCase(app, marac.keys)
  t.same((await thread(session.cookie)).keptOnWithdrawal, { highRisk: false, marac: true, referred: false })
  t.same((await withdraw(session)).json(), { withdrawn: true, recordKept: true })

  const medium = (await referredCase()).reporter
  expectStatus(await asStaff(app, asIdva, { method: 'POST', url: `/staff/cases/${medium.caseId}/records`, payload: await recordBody({ caseId: medium.caseId, kind: 'triage', seq: 1, content: TRIAGE('medium'), service: service.keys, riskLevel: 'medium' }) }), 201)
  const second = await openCase(app, medium.keys)
  t.equal((await thread(second.cookie)).keptOnWithdrawal, null)
  t.same((await withdraw(second)).json(), { withdrawn: true, recordKept: false })
  t.equal((await db.selectFrom('cases').select('id').where('id', '=', medium.caseId).execute()).length, 0, 'the whole case goes')
  t.equal((await db.selectFrom('case_records').select('id').where('case_id', '=', medium.caseId).execute()).length, 0)
})

t.test('maracReferred must be true or false', async (t) => {
  const { reporter } = await referredCase()
  const response = await asStaff(app, asIdva, { method: 'POST', url: `/staff/cases/${reporter.caseId}/records`, payload: { ...(await recordBody({ caseId: reporter.caseId, kind: 'triage', seq: 1, content: TRIAGE('high'), service: service.keys, riskLevel: 'high' })), maracReferred: 'yes' } })
  t.equal(response.statusCode, 400)
  t.match(response.json().message, /maracReferred/)
})
