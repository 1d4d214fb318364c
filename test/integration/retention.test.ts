import t from 'tap'
import { sql } from 'kysely'
import { base64url } from '../../crypto/index.ts'
import { seedAccount, seedGrant } from '../../scripts/lib/staff-fixtures.ts'
import { withActor } from '../../server/db/actor.ts'
import { buildTestApp } from '../helpers/app.ts'
import { NOTE, recordBody, replyBody } from '../helpers/idva.ts'
import { packageBody, seedReferralWorld, updateBody } from '../helpers/referrals.ts'
import { disclosureBody, encryptedFile, newReporter, openCase, servicePublic, submit, upload } from '../helpers/reporter.ts'
import { asStaff, sessionFor } from '../helpers/staff.ts'

/**
 * Retention, as the job, the IDVA lead, the person and a database reader each see it: a closed case
 * past its day is destroyed with nothing of it left in any table but the audit log's line; a case
 * not yet due, an open one and a held one stay; two instances running at once destroy it once; a
 * closed case's code stops opening it after CODE_AFTER_CLOSE_DAYS; a unit's package content goes
 * after its own period; the queue and the case page warn, and only the IDVA lead holds.
 */

function expectStatus(response: { statusCode: number; body: string }, status: number): void {
  if (response.statusCode !== status) throw new Error(`expected ${status}, got ${response.statusCode}: ${response.body}`)
}

const { app, serviceKeys, testDatabase } = await buildTestApp(t, { env: { RETENTION_CLOSED_DISCLOSURE_DAYS: '365', RETENTION_CLOSED_CONSULTATION_DAYS: '90', CODE_AFTER_CLOSE_DAYS: '30', RETENTION_REFERRAL_PACKAGE_DAYS: '180' } })
// A second instance on the same database, as a second server would be.
const { app: second } = await buildTestApp(t, { testDatabase, serviceKeys, env: { RETENTION_CLOSED_DISCLOSURE_DAYS: '365' } })
const db = app.database.db
const { service, units, asIdva } = await seedReferralWorld(app, serviceKeys)
const lead = await seedAccount(db, app.config.serverSecret, { username: 'lead.one', role: 'idva_lead', groupId: service.id })
await seedGrant(db, lead, service)
const asLead = await sessionFor(app, lead)
const member = await seedAccount(db, app.config.serverSecret, { username: 'inv.north', role: 'investigator', groupId: units.criminal.id })
await seedGrant(db, member, units.criminal)
const asUnit = await sessionFor(app, member)
const asSystem = <T>(work: Parameters<typeof withActor<T>>[2]) => withActor(db, { role: 'system' }, work)

/** A case with a reply, a note and a file: something in every table a case reaches. */
async function fullCase() {
  const file = await encryptedFile(new TextEncoder().encode('a photograph'))
  const uploaded = (await upload(app, file.encrypted)).json<{ id: string; token: string }>()
  const reporter = await newReporter()
  const caseKeys = { reply: base64url.encode(reporter.keys.reply.publicKey), auth: base64url.encode(reporter.keys.auth.publicKey) }
  expectStatus(await submit(app, await disclosureBody(reporter, servicePublic(service.keys), { v: 1, text: 'Canary-Retention-6203', evidence: [], caseKeys }, [uploaded])), 201)
  const caseId = reporter.caseId
  expectStatus(await asStaff(app, asIdva, { method: 'POST', url: `/staff/cases/${caseId}/replies`, payload: await replyBody({ caseId, seq: 2, text: 'We are here.', service: service.keys, replyPublic: reporter.keys.reply.publicKey }) }), 201)
  expectStatus(await asStaff(app, asIdva, { method: 'POST', url: `/staff/cases/${caseId}/records`, payload: await recordBody({ caseId, kind: 'note', seq: 1, content: NOTE('A note.'), service: service.keys }) }), 201)
  return reporter
}

/** Closes a case as if `daysAgo` days ago (the status change is the IDVA's; the day is what retention reads). */
async function closedDaysAgo(caseId: string, daysAgo: number): Promise<void> {
  await db
    .updateTable('cases')
    .set({ status: 'closed', status_changed_on: sql<string>`current_date - ${daysAgo}::int` })
    .where('id', '=', caseId)
    .execute()
}

/** Every row anywhere that names the case, outside the audit logs. */
async function traces(caseId: string): Promise<string[]> {
  const found: string[] = []
  const tables = await sql<{ table_name: string }>`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name NOT IN ('audit_log', 'case_audit_log')`.execute(db)
  await asSystem(async (trx) => {
    for (const { table_name } of tables.rows) {
      const rows = await sql<{ row: string }>`SELECT t::text AS row FROM ${sql.table(table_name)} t`.execute(trx)
      if (rows.rows.some((row) => row.row.includes(caseId))) found.push(table_name)
    }
  })
  return found
}

const old = await fullCase()
const recent = await fullCase()
const open = await fullCase()
const held = await fullCase()
await closedDaysAgo(old.caseId, 400)
await closedDaysAgo(recent.caseId, 100)
await closedDaysAgo(held.caseId, 500)
const oldKey = (await db.selectFrom('case_keys').select('wrapped').where('case_id', '=', old.caseId).executeTakeFirstOrThrow()).wrapped

t.test('the queue and the case page warn; only the IDVA lead holds, with a listed reason, audited', async (t) => {
  const queue = (await asStaff(app, asIdva, { method: 'GET', url: '/staff/cases', headers: { accept: 'text/html' } })).body
  t.match(queue, new RegExp(`data-due-case="${old.caseId}"`), 'a case past its day is listed')
  t.notMatch(queue, new RegExp(`data-due-case="${recent.caseId}"`), 'one due in 265 days is not (the window is 30)')
  const page = (await asStaff(app, asIdva, { method: 'GET', url: `/staff/cases/${held.caseId}`, headers: { accept: 'text/html' } })).body
  t.match(page, /Due to be destroyed on \d{1,2} [A-Z][a-z]+ \d{4} \(closed self-referral\)/)
  t.notMatch(page, /data-hold=""/, 'an IDVA is not offered the hold')
  const byIdva = await asStaff(app, asIdva, { method: 'POST', url: `/staff/cases/${held.caseId}/hold`, payload: { reason: 'court_order' } })
  t.equal(byIdva.statusCode, 403, 'an IDVA who is not the lead gets 403')
  t.equal((await asStaff(app, asUnit, { method: 'POST', url: `/staff/cases/${held.caseId}/hold`, payload: { reason: 'court_order' } })).statusCode, 403, 'an investigator gets 403')
  t.match((await asStaff(app, asLead, { method: 'GET', url: `/staff/cases/${held.caseId}`, headers: { accept: 'text/html' } })).body, /data-hold=""/, 'the lead is')
  const bad = await asStaff(app, asLead, { method: 'POST', url: `/staff/cases/${held.caseId}/hold`, payload: { reason: 'because the sergeant asked' } })
  t.equal(bad.statusCode, 400)
  t.match(bad.json().message, /Choose a reason/)
  expectStatus(await asStaff(app, asLead, { method: 'POST', url: `/staff/cases/${held.caseId}/hold`, payload: { reason: 'court_order' } }), 303)
  t.equal((await asStaff(app, asLead, { method: 'POST', url: `/staff/cases/${held.caseId}/hold`, payload: { reason: 'investigation' } })).statusCode, 409, 'once')
  t.match((await asStaff(app, asIdva, { method: 'GET', url: `/staff/cases/${held.caseId}`, headers: { accept: 'text/html' } })).body, /Held since [^:]+ by lead\.one: A court order or court proceedings/)
  const audit = await db.selectFrom('audit_log').select(['action', 'actor_id']).where('object_id', '=', held.caseId).where('action', 'like', 'case.retention%').execute()
  t.same(audit, [{ action: 'case.retention_hold_placed.court_order', actor_id: lead.id }])
})

t.test('the job destroys the case past its day, and nothing of it is left but the audit log\'s line', async (t) => {
  const [one, two] = await Promise.all([app.retention.runOnce(), second.retention.runOnce()])
  const reports = [one, two].filter((report) => report.ran)
  t.equal(reports.length, 1, 'two instances at once: one runs, the other finds the lease held')
  const again = await second.retention.runOnce()
  t.equal(again.destroyed.closed_disclosure, 0, 'a later run finds nothing more to do')
  t.equal(reports[0]!.destroyed.closed_disclosure, 1)
  t.equal(reports[0]!.held, 1, 'the held case is counted, not destroyed')
  t.ok((await traces(recent.caseId)).includes('case_messages'), 'the scan does find a case that exists')
  t.same(await traces(old.caseId), [], 'no table holds a row naming the destroyed case')
  t.equal((await db.selectFrom('case_keys').select('wrapped').where('wrapped', '=', oldKey).execute()).length, 0, 'its data key is gone')
  const audit = await db.selectFrom('audit_log').select(['action', 'actor_type']).where('object_id', '=', old.caseId).where('action', 'like', 'retention.%').execute()
  t.same(audit, [{ action: 'retention.closed_disclosure_destroyed', actor_type: 'system' }], 'destroyed once, under its rule')
  for (const kept of [recent, open, held]) t.ok((await db.selectFrom('cases').select('id').where('id', '=', kept.caseId).executeTakeFirst()) !== undefined, 'a case not due, an open case and a held case stay')
  t.equal((await openCase(app, old.keys)).status, 404, 'the code opens nothing')
})

t.test('a lifted hold: destroyed at the next run', async (t) => {
  expectStatus(await asStaff(app, asLead, { method: 'POST', url: `/staff/cases/${held.caseId}/hold/lift`, payload: {} }), 303)
  t.equal((await asStaff(app, asLead, { method: 'POST', url: `/staff/cases/${held.caseId}/hold/lift`, payload: {} })).statusCode, 409)
  const report = await app.retention.runOnce()
  t.equal(report.destroyed.closed_disclosure, 1)
  t.same(await traces(held.caseId), [])
})

t.test('a closed case\'s code opens it for CODE_AFTER_CLOSE_DAYS, then not', async (t) => {
  const person = await fullCase()
  await closedDaysAgo(person.caseId, 10)
  t.equal((await openCase(app, person.keys)).status, 200, 'ten days after closing, to read the last reply')
  await closedDaysAgo(person.caseId, 31)
  const refused = await openCase(app, person.keys)
  t.equal(refused.status, 404, 'after thirty days, the same answer as for no case')
  t.match(refused.body, /closed some time ago, no longer opens/)
})

t.test('a unit\'s package content goes after its own period; the referral\'s state stays', async (t) => {
  const person = await fullCase()
  const caseId = person.caseId
  const pkg = await packageBody({ caseId, track: 'criminal', unit: units.criminal, service: service.keys })
  expectStatus(await asStaff(app, asIdva, { method: 'POST', url: `/staff/cases/${caseId}/referrals`, payload: { packages: [pkg] } }), 201)
  const send = async (seq: number, action: 'acknowledged' | 'no_further_action') =>
    expectStatus(await asStaff(app, asUnit, { method: 'POST', url: `/staff/inbox/${pkg.referralId}/updates`, payload: await updateBody({ caseId, referralId: pkg.referralId, seq, action, unit: units.criminal, service: service.keys, note: 'Noted.' }) }), 201)
  await send(1, 'acknowledged')
  await send(2, 'no_further_action')
  t.equal((await app.retention.runOnce()).referralPackages, 0, 'not yet')
  await asSystem((trx) => trx.updateTable('referrals').set({ status_changed_at: sql<Date>`now() - interval '181 days'` }).where('id', '=', pkg.referralId).execute())
  const report = await app.retention.runOnce()
  t.equal(report.referralPackages, 1)
  const row = await asSystem((trx) => trx.selectFrom('referrals').select(['envelope', 'status', 'content_removed_on']).where('id', '=', pkg.referralId).executeTakeFirstOrThrow())
  t.equal(row.envelope, null, 'the package is gone')
  t.equal(row.status, 'no_further_action', 'its state stays')
  t.ok(row.content_removed_on !== null)
  t.equal((await db.selectFrom('cases').select('id').where('id', '=', caseId).executeTakeFirst())?.id, caseId, 'the case is still open, and stays')
  t.ok((await db.selectFrom('audit_log').select('action').where('object_id', '=', pkg.referralId).where('action', '=', 'retention.referral_package_destroyed').executeTakeFirst()) !== undefined)
})

t.test('an item that cannot be destroyed does not stop the others, and is tried again', async (t) => {
  const stuck = await fullCase()
  const next = await fullCase()
  await closedDaysAgo(stuck.caseId, 400)
  await closedDaysAgo(next.caseId, 400)
  // A fault the job did not cause: this one case cannot be deleted for now.
  await app.database.asOwner(async (owner) => {
    await sql`CREATE FUNCTION refuse_one() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF OLD.id = ${sql.lit(stuck.caseId)} THEN RAISE EXCEPTION 'held by a fault'; END IF; RETURN OLD; END $$`.execute(owner)
    await sql`CREATE TRIGGER refuse_one BEFORE DELETE ON cases FOR EACH ROW EXECUTE FUNCTION refuse_one()`.execute(owner)
  })
  const report = await app.retention.runOnce()
  t.equal(report.failed, 1, 'the stuck case is counted as failed')
  t.equal(report.destroyed.closed_disclosure, 1, 'the other is destroyed')
  t.same(await traces(next.caseId), [])
  await app.database.asOwner(async (owner) => {
    await sql`DROP TRIGGER refuse_one ON cases`.execute(owner)
    await sql`DROP FUNCTION refuse_one()`.execute(owner)
  })
  const again = await app.retention.runOnce()
  t.same([again.failed, again.destroyed.closed_disclosure], [0, 1], 'and it goes at the next run')
})
