import t from 'tap'
import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { seedAccount, seedGrant, seedService } from '../../scripts/lib/staff-fixtures.ts'
import { buildTestApp } from '../helpers/app.ts'
import { disclosureBody, newReporter, openCase, sealFromReporter, servicePublic, submit, type Reporter } from '../helpers/reporter.ts'
import { asStaff, freshAddress, sessionFor, type StaffClient } from '../helpers/staff.ts'

/**
 * Junk (issue 19): cases an IDVA judged not to be from someone seeking support, marked in bulk from
 * the queue (a plain form: ticked boxes, the CSRF token in a hidden field) or one at a time from the
 * case page. Junk leaves the queue, its counts, the waiting count, the urgent list, caseloads,
 * the list of cases due for destruction and the figures; each mark and each undo is one audit
 * line per case, in one transaction per batch; a batch over a page, a wrong role or a missing CSRF
 * token changes nothing; a person who writes again brings their case back; retention destroys junk
 * after RETENTION_JUNK_DAYS unless the IDVA lead holds it.
 */

function expectStatus(response: { statusCode: number; body: string }, status: number): void {
  if (response.statusCode !== status) throw new Error(`expected ${status}, got ${response.statusCode}: ${response.body}`)
}

// A smaller minimum group for the figures, so that this file's few cases show as numbers.
const { app, serviceKeys } = await buildTestApp(t, { env: { RETENTION_JUNK_DAYS: '30', FIGURES_MINIMUM: '2' } })
const db = app.database.db
const service = await seedService(db, { keys: serviceKeys })
const idva = await seedAccount(db, app.config.serverSecret, { username: 'idva.one', role: 'idva', groupId: service.id })
const lead = await seedAccount(db, app.config.serverSecret, { username: 'lead.one', role: 'idva_lead', groupId: service.id })
await seedGrant(db, idva, service)
await seedGrant(db, lead, service)
const admin = await seedAccount(db, app.config.serverSecret, { username: 'admin.one', role: 'admin' })
const asIdva = await sessionFor(app, idva)
const asLead = await sessionFor(app, lead)
const asAdmin = await sessionFor(app, admin)

async function newCase(urgency?: string): Promise<Reporter> {
  const reporter = await newReporter()
  expectStatus(await submit(app, { ...(await disclosureBody(reporter, servicePublic(service.keys))), ...(urgency === undefined ? {} : { urgency }) }), 201)
  return reporter
}

/** A form as the browser sends it without any script: urlencoded, a box ticked per case, the token in `_csrf`. */
function form(client: StaffClient, url: string, fields: [string, string][], withToken = true) {
  const payload = new URLSearchParams([...(withToken ? [['_csrf', client.csrf] as [string, string]] : []), ...fields]).toString()
  return app.inject({ method: 'POST', url, payload, headers: { cookie: client.cookie, 'content-type': 'application/x-www-form-urlencoded' }, remoteAddress: freshAddress() })
}
const OPEN_VIEW: [string, string][] = [['status', 'open'], ['risk', 'any'], ['kind', 'any'], ['owner', 'any']]
const ticked = (ids: readonly string[]) => ids.map((id): [string, string] => ['case', id])

const page = async (url: string, client = asIdva) => (await asStaff(app, client, { method: 'GET', url, headers: { accept: 'text/html' } })).body
const rows = (html: string) => [...html.matchAll(/data-case-row="([^"]+)"/g)].map((match) => match[1]!)
const waiting = async () => Number(/data-waiting="(\d+)"/.exec((await asStaff(app, asIdva, { method: 'GET', url: '/staff/alerts' })).body)?.[1])
const counts = (html: string) => ({ new: /data-count-new="">(\d+)</.exec(html)?.[1], overdue: /data-count-overdue="">(\d+)</.exec(html)?.[1] })
const junkOn = async (ids: readonly string[]) => (await db.selectFrom('cases').select(['id', 'junk_on']).where('id', 'in', [...ids]).execute()).filter((row) => row.junk_on !== null).map((row) => row.id).sort()
const auditOf = (action: string) => db.selectFrom('audit_log').select(['actor_type', 'actor_id', 'object_id']).where('action', '=', action).orderBy('seq').execute()

// A genuine case, overdue, and a flood of six: one claims "danger now", one is owned by the IDVA, one is old enough to be overdue.
const genuine = await newCase()
const flood: Reporter[] = []
for (const urgency of ['danger_now', undefined, undefined, undefined, undefined, undefined]) flood.push(await newCase(urgency))
const floodIds = flood.map((reporter) => reporter.caseId)
await db.updateTable('cases').set({ created_on: sql<string>`current_date - 20`, last_activity_on: sql<string>`current_date - 20` }).where('id', 'in', [genuine.caseId, floodIds[2]!]).execute()
expectStatus(await asStaff(app, asIdva, { method: 'POST', url: `/staff/cases/${floodIds[1]}/owner`, payload: { owner: 'me' } }), 303)

t.test('before: the flood is in the queue, its counts, the waiting count, the urgent list and the caseload', async (t) => {
  const queue = await page('/staff/cases')
  t.same(rows(queue).sort(), [genuine.caseId, ...floodIds].sort())
  t.same(counts(queue), { new: '7', overdue: '2' })
  t.match(queue, new RegExp(`data-urgent-case="${floodIds[0]}"`))
  t.match(queue, /idva\.one \(you\): 1 open case/)
  t.equal(await waiting(), 7)
  t.match(queue, /name="case" value="[0-9a-f-]{36}" id="select-/, 'a box to tick on each row')
  t.match(queue, /<form method="post" action="\/staff\/cases\/junk"[^>]*>\s*<input type="hidden" name="_csrf" value="[^"]+"/, 'a plain form carrying the CSRF token')
  t.match(queue, /Mark selected as junk/)
})

t.test('marking six at once: they leave the queue and every count, one audit line each, and the queue says how many with an undo', async (t) => {
  const response = await form(asIdva, '/staff/cases/junk', [...OPEN_VIEW, ...ticked(floodIds)])
  t.equal(response.statusCode, 303)
  const location = new URL(response.headers.location as string, 'http://portal')
  t.equal(location.pathname, '/staff/cases')
  t.equal(location.searchParams.get('status'), 'open', 'back to the same view')
  t.same(location.searchParams.get('marked')?.split(',').sort(), [...floodIds].sort())
  t.same(await junkOn(floodIds), [...floodIds].sort(), 'all six marked')
  const today = (await sql<{ d: string }>`SELECT current_date::text AS d`.execute(db)).rows[0]!.d
  t.same((await db.selectFrom('cases').select('junk_on').where('id', 'in', floodIds).execute()).map((row) => row.junk_on), floodIds.map(() => today), 'marked with the day only')

  const after = await page(`${location.pathname}${location.search}`)
  t.match(after, /data-junk-notice="marked"/)
  t.match(after, /6 cases were marked as junk\. They have left the queue and will be destroyed after 30 days unless someone puts them back\./)
  const undo = after.slice(after.indexOf('data-junk-notice="marked"'), after.indexOf('data-undo-junk'))
  t.same([...undo.matchAll(/<input type="hidden" name="case" value="([^"]+)"/g)].map((match) => match[1]).sort(), [...floodIds].sort(), 'the undo names the six')
  t.same(rows(after), [genuine.caseId], 'only the genuine case is left in the queue')
  t.same(counts(after), { new: '1', overdue: '1' }, 'the counts leave junk out')
  t.notMatch(after, /data-urgent-case=/, 'and the urgent list')
  t.match(after, /idva\.one \(you\): 0 open cases/, 'and the caseload')
  t.equal(await waiting(), 1, 'and the waiting count')
  t.notMatch(after, /data-due-case=/, 'junk is not listed as due for destruction above the queue')
  t.same(rows(await page('/staff/cases?status=all')), [genuine.caseId], 'nor under "all, including closed"')
  t.same(rows(await page('/staff/cases?status=new')), [genuine.caseId], 'nor under a status')
  t.same(rows(await page('/staff/cases?overdue=1')), [genuine.caseId], 'nor past the target')
  const home = await page('/staff')
  t.match(home, /1 new, 1 past the first-response target/, 'the staff home page counts the same')

  const audit = await auditOf('case.marked_junk')
  t.equal(audit.length, 6, 'one audit line per case')
  t.same(audit.map((row) => row.object_id).sort(), [...floodIds].sort())
  t.ok(audit.every((row) => row.actor_type === 'staff' && row.actor_id === idva.id), 'under the IDVA\'s account')

  const junkView = await page('/staff/cases?status=junk')
  t.same(rows(junkView).sort(), [...floodIds].sort(), 'the "Marked as junk" view lists them')
  t.match(junkView, /<option value="junk" selected>Marked as junk<\/option>/, 'the filter shows which view this is')
  t.match(junkView, /action="\/staff\/cases\/not-junk"/)
  t.equal([...junkView.matchAll(/data-not-junk="/g)].length, 6, 'each with "Not junk"')
  t.match(junkView, /Junk is destroyed 30 days after it was marked/)
  t.match(junkView, /destroyed \d{1,2} [A-Z][a-z]+ \d{4} unless put back/)

  const again = await form(asIdva, '/staff/cases/junk', [...OPEN_VIEW, ...ticked(floodIds)])
  t.equal(again.statusCode, 303, 'the same form sent twice')
  t.equal(new URL(again.headers.location as string, 'http://portal').searchParams.get('marked'), null, 'marks nothing the second time')
  t.equal((await auditOf('case.marked_junk')).length, 6, 'and adds no audit line')
})

t.test('undo puts them back, one audit line each; "Not junk" on one row puts back that one only', async (t) => {
  const response = await form(asIdva, '/staff/cases/not-junk', [...OPEN_VIEW, ...ticked(floodIds)])
  t.equal(response.statusCode, 303)
  const location = new URL(response.headers.location as string, 'http://portal')
  const after = await page(`${location.pathname}${location.search}`)
  t.match(after, /6 cases were put back in the queue\./)
  t.same(rows(after).sort(), [genuine.caseId, ...floodIds].sort(), 'all back in the queue')
  t.same(counts(after), { new: '7', overdue: '2' })
  t.equal(await waiting(), 7)
  t.same(await junkOn(floodIds), [])
  const audit = await auditOf('case.junk_undone')
  t.same(audit.map((row) => row.object_id).sort(), [...floodIds].sort(), 'one audit line per case')

  expectStatus(await form(asIdva, '/staff/cases/junk', [...OPEN_VIEW, ...ticked(floodIds.slice(0, 3))]), 303)
  // In the junk view one row's "Not junk" is pressed while another box is ticked: only that row goes back.
  const one = await form(asIdva, '/staff/cases/not-junk', [['status', 'junk'], ['risk', 'any'], ['kind', 'any'], ['owner', 'any'], ['case', floodIds[1]!], ['only', floodIds[0]!]])
  t.equal(one.statusCode, 303)
  t.equal(new URL(one.headers.location as string, 'http://portal').searchParams.get('status'), 'junk', 'back to the junk view')
  t.same(await junkOn(floodIds.slice(0, 3)), [floodIds[1]!, floodIds[2]!].sort())
  expectStatus(await form(asIdva, '/staff/cases/not-junk', [...OPEN_VIEW, ...ticked(floodIds.slice(1, 3))]), 303)
  t.same(await junkOn(floodIds), [])
})

t.test('one case from its page: marked, said so, put back; neither twice', async (t) => {
  const caseId = floodIds[3]!
  t.match(await page(`/staff/cases/${caseId}`), /data-mark-junk=""/)
  expectStatus(await form(asIdva, `/staff/cases/${caseId}/junk`, []), 303)
  const marked = await page(`/staff/cases/${caseId}`)
  t.match(marked, /Marked as junk on \d{1,2} [A-Z][a-z]+ \d{4}\. It is out of the queue and will be destroyed on \d{1,2} [A-Z][a-z]+ \d{4} unless someone puts it back/)
  t.match(marked, /Due to be destroyed on \d{1,2} [A-Z][a-z]+ \d{4} \(marked as junk\)/, 'the retention panel names the rule')
  t.match(marked, /data-not-junk=""/)
  const twice = await asStaff(app, asIdva, { method: 'POST', url: `/staff/cases/${caseId}/junk`, payload: {} })
  t.equal(twice.statusCode, 409)
  t.match(twice.json().message, /already marked as junk/)
  expectStatus(await form(asIdva, `/staff/cases/${caseId}/not-junk`, []), 303)
  t.equal((await asStaff(app, asIdva, { method: 'POST', url: `/staff/cases/${caseId}/not-junk`, payload: {} })).statusCode, 409)
  t.match(await page(`/staff/cases/${caseId}`), /data-mark-junk=""/)
  t.same((await auditOf('case.marked_junk')).filter((row) => row.object_id === caseId).length, 2, 'once in bulk above, once here')
})

t.test('refused, with nothing written: another role, no CSRF token, over a page, a case that is gone, a withdrawal\'s record, nothing ticked', async (t) => {
  const audited = async () => Number((await db.selectFrom('audit_log').select((eb) => eb.fn.countAll<string>().as('n')).where('action', 'in', ['case.marked_junk', 'case.junk_undone']).executeTakeFirstOrThrow()).n)
  const before = await audited()
  for (const url of ['/staff/cases/junk', '/staff/cases/not-junk', `/staff/cases/${floodIds[4]}/junk`, `/staff/cases/${floodIds[4]}/not-junk`]) {
    const response = await form(asAdmin, url, [...OPEN_VIEW, ...ticked(floodIds)])
    t.equal(response.statusCode, 403, `the administrator → ${url}`)
    t.match(response.json().message, /Your account cannot use this page/)
  }
  const noToken = await form(asIdva, '/staff/cases/junk', [...OPEN_VIEW, ...ticked(floodIds)], false)
  t.equal(noToken.statusCode, 403, 'no CSRF token')
  t.match(noToken.json().message, /did not come from the portal/)
  const wrongToken = await app.inject({ method: 'POST', url: '/staff/cases/junk', payload: new URLSearchParams([['_csrf', asLead.csrf], ...ticked(floodIds)]).toString(), headers: { cookie: asIdva.cookie, 'content-type': 'application/x-www-form-urlencoded' }, remoteAddress: freshAddress() })
  t.equal(wrongToken.statusCode, 403, 'another session\'s token')

  const page26 = [...floodIds, genuine.caseId, ...Array.from({ length: 19 }, () => randomUUID())]
  const tooMany = await form(asIdva, '/staff/cases/junk', [...OPEN_VIEW, ...ticked(page26)])
  t.equal(tooMany.statusCode, 400, 'more than a page (25)')
  t.match(tooMany.json().message, /At most 25 cases can be marked or put back at once, and 26 were chosen\. Nothing was changed/)
  const gone = await form(asIdva, '/staff/cases/junk', [...OPEN_VIEW, ...ticked([...floodIds, randomUUID()])])
  t.equal(gone.statusCode, 404, 'one of the batch no longer exists')
  t.match(gone.json().message, /no longer here.*Nothing was changed/)
  const nothing = await form(asIdva, '/staff/cases/junk', OPEN_VIEW)
  t.equal(nothing.statusCode, 400)
  t.match(nothing.json().message, /tick the box/)
  t.equal((await form(asIdva, '/staff/cases/junk', [...OPEN_VIEW, ['case', 'not-a-case']])).statusCode, 400)
  t.equal((await form(asIdva, '/staff/cases/junk', [['status', 'everything'], ...ticked(floodIds)])).statusCode, 400, 'a filter the queue does not know')

  const withdrawn = await newCase()
  await db.updateTable('cases').set({ withdrawn_on: sql<string>`current_date` }).where('id', '=', withdrawn.caseId).execute()
  const kept = await form(asIdva, '/staff/cases/junk', [...OPEN_VIEW, ...ticked([...floodIds, withdrawn.caseId])])
  t.equal(kept.statusCode, 409, 'a withdrawal\'s kept record is not junk')
  t.notMatch(await page('/staff/cases'), new RegExp(`id="select-${withdrawn.caseId}"`), 'and has no box to tick')

  // A case the service has acted on is a case: marking it would send it, and any referral, to
  // destruction in RETENTION_JUNK_DAYS.
  const answered = await newCase()
  await db.updateTable('cases').set({ first_reply_on: sql<string>`current_date` }).where('id', '=', answered.caseId).execute()
  const assessed = await newCase()
  await db.updateTable('cases').set({ risk_level: 'high' }).where('id', '=', assessed.caseId).execute()
  const actedOn = await form(asIdva, '/staff/cases/junk', [...OPEN_VIEW, ...ticked([...floodIds, answered.caseId, assessed.caseId])])
  t.equal(actedOn.statusCode, 409, 'cases the service answered or assessed are not junk')
  t.match(actedOn.json().message, /2 of the chosen cases have been answered, assessed or referred by the service.*Nothing was changed/)
  const one = await asStaff(app, asIdva, { method: 'POST', url: `/staff/cases/${answered.caseId}/junk`, payload: {} })
  t.equal(one.statusCode, 409, 'nor from its page')
  t.match(one.json().message, /^This case has been answered/)
  const queuePage = await page('/staff/cases')
  for (const id of [answered.caseId, assessed.caseId]) t.notMatch(queuePage, new RegExp(`id="select-${id}"`), 'and has no box to tick')
  t.notMatch(await page(`/staff/cases/${assessed.caseId}`), /data-junk-panel/, 'nor a "Mark as junk" on its page')

  t.same(await junkOn([...floodIds, genuine.caseId, withdrawn.caseId, answered.caseId, assessed.caseId]), [], 'nothing was marked by any of them')
  t.equal(await audited(), before, 'and nothing audited')
  t.ok((await db.selectFrom('audit_log').select('seq').where('action', '=', 'security.csrf_refused').execute()).length >= 2, 'the refused forms are audited as such')
})

t.test('a junk case whose person writes again comes back to the queue, recorded by the day in the anonymous chain', async (t) => {
  const person = flood[5]!
  expectStatus(await form(asIdva, '/staff/cases/junk', [...OPEN_VIEW, ...ticked([person.caseId])]), 303)
  t.notOk(rows(await page('/staff/cases')).includes(person.caseId))
  const before = await waiting()
  const timed = async () => (await db.selectFrom('audit_log').select('seq').where('object_id', '=', person.caseId).execute()).length
  const timedBefore = await timed()
  const session = await openCase(app, person.keys)
  t.equal(session.status, 200, 'their code still opens it')
  const message = await sealFromReporter(person, servicePublic(service.keys), { kind: 'reporter_message', seq: 2 })
  expectStatus(await app.inject({ method: 'POST', url: '/return/messages', payload: { ...message, seq: 2 }, headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken } }), 201)
  t.same(await junkOn([person.caseId]), [], 'no longer junk')
  t.ok(rows(await page('/staff/cases')).includes(person.caseId), 'back in the queue')
  t.equal(await waiting(), before + 1, 'and waiting for a reply')
  const anonymous = await db.selectFrom('case_audit_log').select(['actor_id', 'occurred_on']).where('action', '=', 'case.junk_undone_by_new_message').execute()
  t.same(anonymous.map((row) => row.actor_id), [person.caseId], 'recorded once, as the case')
  t.equal(await timed(), timedBefore, 'and nothing in the timed chain, which would date the message')
})

t.test('retention destroys junk after RETENTION_JUNK_DAYS; not junk marked recently, nor one the lead holds', async (t) => {
  const [old, held, recent] = [floodIds[2]!, floodIds[3]!, floodIds[4]!]
  expectStatus(await form(asIdva, '/staff/cases/junk', [...OPEN_VIEW, ...ticked([old, held, recent])]), 303)
  await db.updateTable('cases').set({ junk_on: sql<string>`current_date - 31` }).where('id', 'in', [old, held]).execute()
  await db.updateTable('cases').set({ junk_on: sql<string>`current_date - 29` }).where('id', '=', recent).execute()
  expectStatus(await form(asLead, `/staff/cases/${held}/hold`, [['reason', 'investigation']]), 303)
  const report = await app.retention.runOnce()
  t.equal(report.destroyed.junk, 1, 'one destroyed as junk')
  t.equal(report.held, 1, 'the held one counted, not destroyed')
  t.same((await db.selectFrom('cases').select('id').where('id', 'in', [old, held, recent, genuine.caseId]).execute()).map((row) => row.id).sort(), [held, recent, genuine.caseId].sort())
  const audit = await db.selectFrom('audit_log').select(['action', 'actor_type']).where('object_id', '=', old).where('action', 'like', 'retention.%').execute()
  t.same(audit, [{ action: 'retention.junk_destroyed', actor_type: 'system' }], 'under its own rule')
  t.match(await page(`/staff/cases/${recent}`), /Due to be destroyed on \d{1,2} [A-Z][a-z]+ \d{4} \(marked as junk\)/)
})

t.test('the figures leave junk out: now, once destroyed, and not once put back', async (t) => {
  const csvValue = async (table: string, row: string | RegExp, column: string) => {
    const csv = (await asStaff(app, asLead, { method: 'GET', url: '/staff/figures.csv' })).body
    const line = csv.split('\n').find((entry) => {
      const [name, label, col] = entry.split(',')
      return name === table && (typeof row === 'string' ? label === row : row.test(label!)) && col === column
    })
    return line?.split(',')[3]
  }
  const thisWeek = (await sql<{ d: string }>`SELECT date_trunc('week', current_date)::date::text AS d`.execute(db)).rows[0]!.d
  // Every disclosure arrived this week (the anonymous chain keeps the day); two are junk now (one of
  // them held) and one was destroyed as junk, so three fewer are counted.
  const arrivals = Number((await db.selectFrom('case_audit_log').select((eb) => eb.fn.countAll<string>().as('n')).where('action', '=', 'case.submitted').executeTakeFirstOrThrow()).n)
  const junkNow = (await db.selectFrom('cases').select('id').where('junk_on', 'is not', null).execute()).length
  t.equal(junkNow, 2)
  t.equal(await csvValue('arrivals-weekly', thisWeek, 'Self-referrals'), String(arrivals - junkNow - 1), 'self-referrals this week: junk now and junk destroyed left out')
  const openUnderAWeek = Number(await csvValue('open-ages', 'Under a week', 'Cases'))
  expectStatus(await form(asIdva, '/staff/cases/not-junk', [...OPEN_VIEW, ...ticked([floodIds[4]!])]), 303)
  t.equal(await csvValue('arrivals-weekly', thisWeek, 'Self-referrals'), String(arrivals - junkNow), 'one put back is counted again')
  t.equal(Number(await csvValue('open-ages', 'Under a week', 'Cases')), openUnderAWeek + 1, 'and is open again')
  t.match(await page('/staff/figures', asLead), /Cases an IDVA marked as junk are not referrals/, 'the page says so')
})
