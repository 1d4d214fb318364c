import t from 'tap'
import { sql } from 'kysely'
import { base64url, fromUtf8, generateKeySet, openEnvelope, readPackageContent, readUpdateContent, referralContext, referralUpdateContext } from '../../crypto/index.ts'
import { seedAccount, seedGrant } from '../../scripts/lib/staff-fixtures.ts'
import { withActor } from '../../server/db/actor.ts'
import { buildTestApp } from '../helpers/app.ts'
import { packageBody, seedReferralWorld, updateBody } from '../helpers/referrals.ts'
import { disclosureBody, encryptedFile, newReporter, openCase, servicePublic, submit, upload } from '../helpers/reporter.ts'
import { asStaff, sessionFor } from '../helpers/staff.ts'

/**
 * An investigator unit's inbox, the server's side: its own referrals only (another unit's answers
 * exactly as one that does not exist), the package, files and updates handed out sealed, what the
 * unit records accepted only when signed by the unit for that referral, place and action, and
 * only for the steps open from where the referral stands; the IOPC decision once, where it is due;
 * each audited; and the IDVA service seeing every state and note.
 */

function expectStatus(response: { statusCode: number; body: string }, status: number): void {
  if (response.statusCode !== status) throw new Error(`expected ${status}, got ${response.statusCode}: ${response.body}`)
}

const { app, serviceKeys } = await buildTestApp(t)
const db = app.database.db
const { service, units, asIdva } = await seedReferralWorld(app, serviceKeys)
const criminalMember = await seedAccount(db, app.config.serverSecret, { username: 'inv.north', role: 'investigator', groupId: units.criminal.id })
await seedGrant(db, criminalMember, units.criminal)
const psdMember = await seedAccount(db, app.config.serverSecret, { username: 'inv.dps', role: 'investigator', groupId: units.professionalStandards.id })
await seedGrant(db, psdMember, units.professionalStandards)
const asCriminal = await sessionFor(app, criminalMember)
const asPsd = await sessionFor(app, psdMember)

const bytes = new TextEncoder().encode('a photograph of the messages')
const file = await encryptedFile(bytes)
const uploaded = (await upload(app, file.encrypted)).json<{ id: string; token: string }>()
const reporter = await newReporter()
const caseKeys = { reply: base64url.encode(reporter.keys.reply.publicKey), auth: base64url.encode(reporter.keys.auth.publicKey) }
expectStatus(await submit(app, await disclosureBody(reporter, servicePublic(service.keys), { v: 1, text: 'Canary-Disclosure-5521', evidence: [], caseKeys }, [uploaded])), 201)
const caseId = reporter.caseId
const criminal = await packageBody({ caseId, track: 'criminal', unit: units.criminal, service: service.keys, evidence: [uploaded.id] })
const misconduct = await packageBody({ caseId, track: 'misconduct', unit: units.professionalStandards, service: service.keys, iopcRequired: true })
expectStatus(await asStaff(app, asIdva, { method: 'POST', url: `/staff/cases/${caseId}/referrals`, payload: { packages: [criminal, misconduct] } }), 201)

const audits = async (action: string) => (await db.selectFrom('audit_log').select('object_id').where('action', '=', action).execute()).map((row) => row.object_id)
const record = (client: typeof asCriminal, referralId: string, body: Record<string, unknown>) => asStaff(app, client, { method: 'POST', url: `/staff/inbox/${referralId}/updates`, payload: body })
const status = async (referralId: string) => (await withActor(db, { role: 'system' }, (trx) => trx.selectFrom('referrals').select(['status', 'iopc_decision']).where('id', '=', referralId).executeTakeFirstOrThrow()))

t.test('the inbox: the unit\'s own referrals, newest first, with the day, the state, the IOPC flag and the clock; no content', async (t) => {
  const page = await asStaff(app, asCriminal, { method: 'GET', url: '/staff/inbox', headers: { accept: 'text/html' } })
  t.equal(page.statusCode, 200)
  t.match(page.body, /Referrals to North Area safeguarding unit/)
  t.match(page.body, new RegExp(`data-referral-row="${criminal.referralId}"`))
  t.notMatch(page.body, new RegExp(misconduct.referralId), 'not the other track\'s referral')
  t.match(page.body, /Acknowledgement due/, 'the first-response clock')
  t.notMatch(page.body, /\d{2}:\d{2}:\d{2}/, 'the day it came, never the time')
  t.notMatch(page.body, /Canary-Disclosure|Summary for/, 'nothing of any content')
  const psd = await asStaff(app, asPsd, { method: 'GET', url: '/staff/inbox', headers: { accept: 'text/html' } })
  t.match(psd.body, new RegExp(`data-referral-row="${misconduct.referralId}"`))
  t.match(psd.body, /data-iopc-flag/, 'the IOPC flag on the misconduct package that required it')
  t.notMatch(psd.body, new RegExp(criminal.referralId))
  const home = await asStaff(app, asCriminal, { method: 'GET', url: '/staff', headers: { accept: 'text/html' } })
  t.match(home.body, /1 waiting for your unit&#39;s acknowledgement|1 waiting for your unit's acknowledgement/, 'the home page says what waits')
  t.notMatch(home.body, /access to this team's cases|access to this team&#39;s cases/, 'and no longer that an investigator has access to cases')
})

t.test('another unit\'s referral answers as one that does not exist, on every route', async (t) => {
  const missing = '00000000-0000-4000-8000-000000000000'
  for (const id of [misconduct.referralId, missing, 'not-a-uuid']) {
    for (const [method, url] of [
      ['GET', `/staff/inbox/${id}`],
      ['GET', `/staff/inbox/${id}/content`],
      ['POST', `/staff/inbox/${id}/opened`],
      ['GET', `/staff/inbox/${id}/files/${uploaded.id}`],
      ['POST', `/staff/inbox/${id}/updates`],
    ] as const) {
      const payload = url.endsWith('/opened') ? { opened: true } : url.endsWith('/updates') ? await updateBody({ caseId, referralId: misconduct.referralId, seq: 1, action: 'acknowledged', unit: units.criminal, service: service.keys }) : undefined
      const response = await asStaff(app, asCriminal, { method, url, ...(payload === undefined ? {} : { payload }) })
      t.equal(response.statusCode, 404, `${method} ${url}`)
      if (response.headers['content-type']?.toString().includes('json')) t.equal(response.json().message, 'There is no such referral for your unit.')
    }
  }
  t.equal((await status(misconduct.referralId)).status, 'sent', 'nothing recorded on it')
})

t.test('the package, its files and the service chain: everything sealed; the unit\'s key opens it', async (t) => {
  const response = await asStaff(app, asCriminal, { method: 'GET', url: `/staff/inbox/${criminal.referralId}/content` })
  t.equal(response.statusCode, 200)
  const content = response.json<{ caseId: string; track: 'criminal'; envelope: string; files: { id: string; size: number }[]; service: { generations: unknown[] }; updates: unknown[]; nextActions: string[] }>()
  t.equal(content.caseId, caseId)
  t.same(content.nextActions, ['acknowledged', 'returned'])
  t.equal(content.service.generations.length, 1)
  const opened = await openEnvelope(base64url.decode(content.envelope, 'package'), { caseId, keys: [units.criminal.keys.encryption], expectKind: 'referral_package', trustedSigners: [service.keys.signing.publicKey], requireSignature: true, context: referralContext('criminal', criminal.referralId) })
  t.equal(readPackageContent(fromUtf8(opened.plaintext), { track: 'criminal', referralId: criminal.referralId }).summary, 'Summary for the criminal track.')
  t.same(content.files.map((entry) => entry.id), [uploaded.id])
  const fetched = await asStaff(app, asCriminal, { method: 'GET', url: `/staff/inbox/${criminal.referralId}/files/${uploaded.id}` })
  t.equal(fetched.statusCode, 200)
  t.same(new Uint8Array(fetched.rawPayload), file.encrypted, 'the file as the reporter\'s browser encrypted it (its key is in the package)')
  t.same(await audits('referral.file_fetched_by_unit'), [criminal.referralId])
  const psdContent = await asStaff(app, asPsd, { method: 'GET', url: `/staff/inbox/${misconduct.referralId}/content` })
  t.same(psdContent.json<{ files: unknown[] }>().files, [], 'a package that named no file has none')
  t.equal((await asStaff(app, asPsd, { method: 'GET', url: `/staff/inbox/${misconduct.referralId}/files/${uploaded.id}` })).statusCode, 404, 'nor can it fetch another package\'s file')
})

t.test('the browser says whether the package opened; the audit log keeps it', async (t) => {
  t.equal((await asStaff(app, asCriminal, { method: 'POST', url: `/staff/inbox/${criminal.referralId}/opened`, payload: { opened: true } })).statusCode, 204)
  t.equal((await asStaff(app, asCriminal, { method: 'POST', url: `/staff/inbox/${criminal.referralId}/opened`, payload: { opened: false } })).statusCode, 204)
  t.equal((await asStaff(app, asCriminal, { method: 'POST', url: `/staff/inbox/${criminal.referralId}/opened`, payload: { opened: 'yes' } })).statusCode, 400)
  t.same(await audits('referral.package_opened'), [criminal.referralId])
  t.same(await audits('referral.package_unreadable'), [criminal.referralId])
})

t.test('what a unit records: signed by the unit for this referral, place and action, and only the steps open now', async (t) => {
  const body = (seq: number, action: Parameters<typeof updateBody>[0]['action'], extra: Partial<Parameters<typeof updateBody>[0]> = {}) =>
    updateBody({ caseId, referralId: criminal.referralId, seq, action, unit: units.criminal, service: service.keys, ...extra })
  const impostor = await generateKeySet()
  const refusals: [string, Promise<Record<string, unknown>>, number, RegExp][] = [
    ['signed by another key', body(1, 'acknowledged', { signer: impostor.signing }), 400, /not signed with your unit's key/],
    ['signed by the IDVA service', body(1, 'acknowledged', { signer: service.keys.signing }), 400, /not signed with your unit's key/],
    ['bound to another action', body(1, 'acknowledged', { context: referralUpdateContext(criminal.referralId, 1, 'closed') }), 400, /not signed/],
    ['not sealed to the service', body(1, 'acknowledged', { recipients: [units.criminal.keys.encryption.publicKey] }), 400, /not locked to the right keys/],
    ['a step not open yet', body(1, 'investigating'), 409, /Acknowledge the referral/],
    ['an IOPC decision on a criminal package', body(1, 'iopc_referred'), 409, /did not require/],
    ['a later place than the next', body(2, 'acknowledged'), 409, /recorded something on this referral meanwhile/],
    ['not an action', body(1, 'acknowledged').then((payload) => ({ ...payload, action: 'deleted' })), 400, /Choose what to record/],
  ]
  for (const [what, payload, code, message] of refusals) {
    const response = await record(asCriminal, criminal.referralId, await payload)
    t.equal(response.statusCode, code, what)
    t.match(response.json().message, message, what)
  }
  t.equal((await status(criminal.referralId)).status, 'sent', 'nothing recorded by any refusal')

  t.equal((await record(asCriminal, criminal.referralId, await body(1, 'acknowledged'))).statusCode, 201)
  t.equal((await status(criminal.referralId)).status, 'acknowledged')
  t.equal((await record(asCriminal, criminal.referralId, await body(2, 'acknowledged'))).statusCode, 409, 'not twice')
  t.equal((await record(asCriminal, criminal.referralId, await body(2, 'investigating'))).statusCode, 201)
  t.equal((await record(asCriminal, criminal.referralId, await body(3, 'closed', { note: 'Charged with assault.' }))).statusCode, 201)
  t.equal((await status(criminal.referralId)).status, 'closed')
  t.equal((await record(asCriminal, criminal.referralId, await body(4, 'returned'))).statusCode, 409, 'nothing after it is closed')
  t.same(await audits('referral.acknowledged'), [criminal.referralId])
  t.same(await audits('referral.investigation_opened'), [criminal.referralId])
  t.same(await audits('referral.closed'), [criminal.referralId])
  const stored = await withActor(db, { role: 'system' }, (trx) => trx.selectFrom('referral_updates').select(['envelope']).where('referral_id', '=', criminal.referralId).execute())
  t.notOk(stored.some((row) => row.envelope.includes(Buffer.from('Charged with assault.'))), 'notes are sealed (and sealed again at rest)')
})

t.test('the watchdog referral: professional standards records the IOPC decision once, after acknowledging', async (t) => {
  const body = (seq: number, action: Parameters<typeof updateBody>[0]['action'], note?: string) =>
    updateBody({ caseId, referralId: misconduct.referralId, seq, action, unit: units.professionalStandards, service: service.keys, ...(note === undefined ? {} : { note }) })
  t.equal((await record(asPsd, misconduct.referralId, await body(1, 'iopc_referred'))).statusCode, 409, 'acknowledge first')
  t.equal((await record(asPsd, misconduct.referralId, await body(1, 'acknowledged'))).statusCode, 201)
  t.equal((await record(asPsd, misconduct.referralId, await body(2, 'iopc_referred'))).statusCode, 201)
  t.same(await status(misconduct.referralId), { status: 'acknowledged', iopc_decision: 'referred' })
  t.equal((await record(asPsd, misconduct.referralId, await body(3, 'iopc_not_referred', 'Changed our mind.'))).statusCode, 409, 'once')
  t.same(await audits('referral.iopc_referred'), [misconduct.referralId])
  const inbox = await asStaff(app, asPsd, { method: 'GET', url: '/staff/inbox', headers: { accept: 'text/html' } })
  t.match(inbox.body, /Referred to the IOPC/)
})

t.test('the IDVA service sees every state and note, signed by the unit', async (t) => {
  const response = await asStaff(app, asIdva, { method: 'GET', url: `/staff/cases/${caseId}/referrals` })
  const referrals = response.json<{ referrals: { id: string; track: string; status: string; iopcDecision: string | null; updates: { seq: number; action: 'acknowledged'; envelope: string }[] }[] }>().referrals
  const byTrack = Object.fromEntries(referrals.map((row) => [row.track, row]))
  t.equal(byTrack.criminal?.status, 'closed')
  t.same(byTrack.criminal?.updates.map((update) => update.action), ['acknowledged', 'investigating', 'closed'])
  t.equal(byTrack.misconduct?.iopcDecision, 'referred')
  const closed = byTrack.criminal!.updates[2]!
  const opened = await openEnvelope(base64url.decode(closed.envelope, 'note'), { caseId, keys: [service.keys.encryption], expectKind: 'unit_note', trustedSigners: [units.criminal.keys.signing.publicKey], requireSignature: true, context: referralUpdateContext(byTrack.criminal!.id, closed.seq, 'closed') })
  t.equal(readUpdateContent(fromUtf8(opened.plaintext), { referralId: byTrack.criminal!.id, seq: 3, action: 'closed' }).note, 'Charged with assault.')
  // The person is told their referral went (they agreed), never by whom or how it stands.
  const session = await openCase(app, reporter.keys)
  const thread = (await app.inject({ method: 'GET', url: '/return/thread', headers: { cookie: session.cookie } })).json<{ referrals: unknown[] }>()
  t.same(thread.referrals, [{ track: 'criminal', outsideForce: false }, { track: 'misconduct', outsideForce: false }])
})

t.test('returned to the IDVA service: a reason, the first-response clock stops, and the person is no longer told it is with investigators', async (t) => {
  const other = await newReporter()
  expectStatus(await submit(app, await disclosureBody(other, servicePublic(service.keys))), 201)
  const pkg = await packageBody({ caseId: other.caseId, track: 'criminal', unit: units.criminal, service: service.keys })
  expectStatus(await asStaff(app, asIdva, { method: 'POST', url: `/staff/cases/${other.caseId}/referrals`, payload: { packages: [pkg] } }), 201)
  const returned = await updateBody({ caseId: other.caseId, referralId: pkg.referralId, seq: 1, action: 'returned', unit: units.criminal, service: service.keys, note: 'An officer here knows the people involved.' })
  t.equal((await record(asCriminal, pkg.referralId, returned)).statusCode, 201)
  t.equal((await status(pkg.referralId)).status, 'returned')
  t.same(await audits('referral.returned'), [pkg.referralId])
  const session = await openCase(app, other.keys)
  t.same((await app.inject({ method: 'GET', url: '/return/thread', headers: { cookie: session.cookie } })).json<{ referrals: unknown[] }>().referrals, [])
  const inbox = await asStaff(app, asCriminal, { method: 'GET', url: '/staff/inbox', headers: { accept: 'text/html' } })
  t.match(inbox.body, /Returned to the IDVA service/)
})

t.test('a package changed in the database is handed out unreadable, never as something else', async (t) => {
  await withActor(db, { role: 'system' }, (trx) => sql`UPDATE referrals SET envelope = overlay(envelope placing '\\x00'::bytea from 40 for 1) WHERE id = ${misconduct.referralId}`.execute(trx))
  const content = (await asStaff(app, asPsd, { method: 'GET', url: `/staff/inbox/${misconduct.referralId}/content` })).json<{ envelope: string }>()
  t.equal(content.envelope, '', 'its seal at rest does not open: the browser says it could not be decrypted')
})
