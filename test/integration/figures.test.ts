import t from 'tap'
import { seedAccount, seedGrant } from '../../scripts/lib/staff-fixtures.ts'
import { buildTestApp } from '../helpers/app.ts'
import { replyBody } from '../helpers/idva.ts'
import { packageBody, seedReferralWorld } from '../helpers/referrals.ts'
import { disclosureBody, newReporter, sealFromReporter, servicePublic, submit, withPuzzle } from '../helpers/reporter.ts'
import { asStaff, sessionFor } from '../helpers/staff.ts'

/**
 * Figures from metadata, with small numbers suppressed: a period with six self-referrals, one
 * manager's consultation, one case answered, and one referral to a small unit of another force. No
 * page, chart or CSV shows a count from 1 to 4, nor one that would give such a count away; the IDVA
 * lead and the administrator see them, an IDVA and an investigator are refused.
 */

function expectStatus(response: { statusCode: number; body: string }, status: number): void {
  if (response.statusCode !== status) throw new Error(`expected ${status}, got ${response.statusCode}: ${response.body}`)
}

const { app, serviceKeys } = await buildTestApp(t)
const db = app.database.db
const { service, units, asIdva } = await seedReferralWorld(app, serviceKeys)
const lead = await seedAccount(db, app.config.serverSecret, { username: 'lead.one', role: 'idva_lead', groupId: service.id })
await seedGrant(db, lead, service)
const admin = await seedAccount(db, app.config.serverSecret, { username: 'admin.one', role: 'admin' })
const member = await seedAccount(db, app.config.serverSecret, { username: 'inv.one', role: 'investigator', groupId: units.criminal.id })
await seedGrant(db, member, units.criminal)

const reporters = []
for (let i = 0; i < 6; i++) {
  const reporter = await newReporter()
  expectStatus(await submit(app, await disclosureBody(reporter, servicePublic(service.keys))), 201)
  reporters.push(reporter)
}
const manager = await newReporter()
const asked = { ...(await disclosureBody(manager, servicePublic(service.keys))), ...(await sealFromReporter(manager, servicePublic(service.keys), { kind: 'consultation' })) }
expectStatus(await app.inject({ method: 'POST', url: '/managers/ask', payload: (await withPuzzle(app, asked)) as Record<string, unknown> }), 201)
await db.updateTable('cases').set({ risk_level: 'high' }).where('id', 'in', reporters.slice(0, 5).map((reporter) => reporter.caseId)).execute()
await db.updateTable('cases').set({ risk_level: 'medium' }).where('id', '=', reporters[5]!.caseId).execute()
const answered = reporters[0]!
expectStatus(await asStaff(app, asIdva, { method: 'POST', url: `/staff/cases/${answered.caseId}/replies`, payload: await replyBody({ caseId: answered.caseId, seq: 2, text: 'Hello.', service: service.keys, replyPublic: answered.keys.reply.publicKey }) }), 201)
// The one case from a small unit: a misconduct package to another force's professional standards.
const pkg = await packageBody({ caseId: reporters[1]!.caseId, track: 'misconduct', unit: units.outside, service: service.keys, iopcRequired: true })
expectStatus(await asStaff(app, asIdva, { method: 'POST', url: `/staff/cases/${reporters[1]!.caseId}/referrals`, payload: { packages: [pkg] } }), 201)

const asLead = await sessionFor(app, lead)
const asAdmin = await sessionFor(app, admin)
const page = (await asStaff(app, asLead, { method: 'GET', url: '/staff/figures', headers: { accept: 'text/html' } }))
const csv = await asStaff(app, asLead, { method: 'GET', url: '/staff/figures.csv' })

/** Every count a reader can see: table cells, chart labels, the summary, CSV values. */
function countsIn(html: string): string[] {
  const main = html.slice(html.indexOf('<main'), html.indexOf('</main>'))
  return [
    ...[...main.matchAll(/<td[^>]*>([^<]*)<\/td>/g)].map((match) => match[1]!),
    ...[...main.matchAll(/<text[^>]*class="chart__value"[^>]*>([^<]*)<\/text>/g)].map((match) => match[1]!),
    ...[...main.matchAll(/<dd>([^<]*)<\/dd>/g)].map((match) => match[1]!),
  ]
}

t.test('the IDVA lead and the administrator see the figures; an IDVA and an investigator get 403', async (t) => {
  t.equal(page.statusCode, 200)
  t.equal(page.headers['cache-control'], 'no-store')
  t.equal((await asStaff(app, asAdmin, { method: 'GET', url: '/staff/figures', headers: { accept: 'text/html' } })).statusCode, 200)
  t.equal((await asStaff(app, asIdva, { method: 'GET', url: '/staff/figures' })).statusCode, 403)
  t.equal((await asStaff(app, await sessionFor(app, member), { method: 'GET', url: '/staff/figures.csv' })).statusCode, 403)
  t.equal(csv.statusCode, 200)
  t.match(csv.headers['content-type'], /^text\/csv/)
  t.match(csv.headers['content-disposition'], /attachment; filename="figures.csv"/)
})

t.test('no page, chart or CSV shows a count from 1 to 4', async (t) => {
  const shown = countsIn(page.body)
  t.ok(shown.length > 30, 'the check reads every cell')
  for (const value of shown) t.notMatch(value.trim(), /^[1-4]$/, `"${value}" is not a small count`)
  const rows = csv.body.trim().split('\n').slice(1).map((line) => line.split(','))
  t.ok(rows.length > 30)
  for (const row of rows) t.notMatch(row.at(-1)!, /^[1-4]$/, `CSV ${row.join(' / ')}`)
})

t.test('the one referral to a small unit of another force is not revealed, nor can it be worked out', async (t) => {
  const routes = csv.body.split('\n').filter((line) => line.startsWith('routes,'))
  t.same(routes, ['routes,Criminal,This force,0', 'routes,Criminal,Another force,0', 'routes,Criminal,total,0', 'routes,Misconduct,This force,0', 'routes,Misconduct,Another force,fewer than 5', 'routes,Misconduct,total,fewer than 5'])
  t.match(csv.body, /iopc,Needed an IOPC decision,Packages,fewer than 5/)
  t.match(page.body, /data-figure="routes"/)
  t.match(page.body, /<svg class="chart"[^>]*role="img"[^>]*data-chart="routes"/, 'drawn as SVG, with its table')
})

t.test('a small cell beside a total: the next smallest is not shown either', async (t) => {
  // This week: six self-referrals and one consultation, total seven.
  const thisWeek = csv.body.split('\n').filter((line) => line.startsWith('arrivals-weekly,')).slice(-3)
  t.same(thisWeek.map((line) => line.split(',').slice(2).join(',')), ['Self-referrals,not shown', 'Consultations,fewer than 5', 'total,7'])
  t.match(csv.body, /risk,High,Self-referrals,5/, 'five high-risk cases are shown')
  t.match(csv.body, /risk,Medium,Self-referrals,fewer than 5/)
  t.match(csv.body, /first-response,self-referrals this year,median working days,not shown/, 'no median of one case')
})
