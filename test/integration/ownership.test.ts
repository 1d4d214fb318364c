import t from 'tap'
import { seedAccount, seedGrant, seedService } from '../../scripts/lib/staff-fixtures.ts'
import { buildTestApp } from '../helpers/app.ts'
import { replyBody } from '../helpers/idva.ts'
import { disclosureBody, newReporter, openCase, sealFromReporter, servicePublic, submit, withPuzzle } from '../helpers/reporter.ts'
import { asStaff, sessionFor } from '../helpers/staff.ts'

/**
 * What the IDVA service sees first and owns: the urgency band a reporter's browser puts in clear
 * (validated, shown first above the queue, most urgent band first), the count of cases waiting for
 * the service on every IDVA page (a new case or message raises it, a reply lowers it), and owners
 * (assign to me, to a colleague, to nobody; "my cases"; caseloads), each change audited.
 */

function expectStatus(response: { statusCode: number; body: string }, status: number): void {
  if (response.statusCode !== status) throw new Error(`expected ${status}, got ${response.statusCode}: ${response.body}`)
}

const { app, serviceKeys } = await buildTestApp(t)
const db = app.database.db
const service = await seedService(db, { keys: serviceKeys })
const idva = await seedAccount(db, app.config.serverSecret, { username: 'idva.one', role: 'idva', groupId: service.id })
const lead = await seedAccount(db, app.config.serverSecret, { username: 'lead.one', role: 'idva_lead', groupId: service.id })
await seedGrant(db, idva, service)
await seedGrant(db, lead, service)
const investigator = await seedAccount(db, app.config.serverSecret, { username: 'someone.else', role: 'admin' })
const client = await sessionFor(app, idva)
const as = (options: Parameters<typeof asStaff>[2]) => asStaff(app, client, options)

async function newCase(urgency?: string) {
  const reporter = await newReporter()
  const payload = { ...(await disclosureBody(reporter, servicePublic(service.keys))), ...(urgency === undefined ? {} : { urgency }) }
  expectStatus(await submit(app, payload), 201)
  return reporter
}

const children = await newCase('children')
const danger = await newCase('danger_now')
const plain = await newCase()
const policeAbuser = await newCase('police_abuser')
const waiting = async () => Number(/data-waiting="(\d+)"/.exec((await as({ method: 'GET', url: '/staff/alerts' })).body)?.[1])

t.test('the urgency band: only the three bands, only with a disclosure, stored in clear', async (t) => {
  const rows = await db.selectFrom('cases').select(['id', 'urgency']).execute()
  const byId = new Map(rows.map((row) => [row.id, row.urgency]))
  t.equal(byId.get(danger.caseId), 'danger_now')
  t.equal(byId.get(children.caseId), 'children')
  t.equal(byId.get(plain.caseId), null)
  for (const bad of ['urgent', 7, { band: 'danger_now' }]) {
    const reporter = await newReporter()
    const response = await submit(app, { ...(await disclosureBody(reporter, servicePublic(service.keys))), urgency: bad })
    t.equal(response.statusCode, 400, JSON.stringify(bad))
    t.match(response.json().message, /urgency must be/)
  }
  const manager = await newReporter()
  const consultation = await app.inject({ method: 'POST', url: '/managers/ask', payload: (await withPuzzle(app, { ...(await disclosureBody(manager, servicePublic(service.keys))), urgency: 'danger_now' })) as Record<string, unknown> })
  t.equal(consultation.statusCode, 400, 'a consultation carries no urgency')
})

t.test('urgent cases waiting for the service come first, most urgent band first', async (t) => {
  const page = (await as({ method: 'GET', url: '/staff/cases', headers: { accept: 'text/html' } })).body
  const list = page.slice(page.indexOf('data-urgent-list'), page.indexOf('</section>', page.indexOf('data-urgent-list')))
  const order = [...list.matchAll(/data-urgent-case="([^"]+)"/g)].map((match) => match[1])
  t.same(order, [danger.caseId, children.caseId, policeAbuser.caseId], 'danger now, then children, then a police abuser; the plain case is not listed')
  t.match(page, new RegExp(`data-case-row="${danger.caseId}"[\\s\\S]*?data-urgency="danger_now"`), 'and tagged in the queue')
  // Answered, it is no longer waiting, so no longer listed.
  expectStatus(await as({ method: 'POST', url: `/staff/cases/${danger.caseId}/replies`, payload: await replyBody({ caseId: danger.caseId, seq: 2, text: 'We will call you now.', service: service.keys, replyPublic: danger.keys.reply.publicKey }) }), 201)
  const after = (await as({ method: 'GET', url: '/staff/cases', headers: { accept: 'text/html' } })).body
  t.notMatch(after, new RegExp(`data-urgent-case="${danger.caseId}"`))
  const casePage = (await as({ method: 'GET', url: `/staff/cases/${children.caseId}`, headers: { accept: 'text/html' } })).body
  t.match(casePage, /Children involved/)
})

t.test('the count on every IDVA page: a new case or message raises it, a reply lowers it', async (t) => {
  const before = await waiting()
  t.equal(before, 3, 'three cases wait (one was answered)')
  expectStatus(await as({ method: 'POST', url: `/staff/cases/${plain.caseId}/replies`, payload: await replyBody({ caseId: plain.caseId, seq: 2, text: 'Hello.', service: service.keys, replyPublic: plain.keys.reply.publicKey }) }), 201)
  t.equal(await waiting(), 2)
  const session = await openCase(app, plain.keys)
  const message = await sealFromReporter(plain, servicePublic(service.keys), { kind: 'reporter_message', seq: 3 })
  expectStatus(await app.inject({ method: 'POST', url: '/return/messages', payload: { ...message, seq: 3 }, headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken } }), 201)
  t.equal(await waiting(), 3, 'the person wrote again')
  const home = (await as({ method: 'GET', url: '/staff', headers: { accept: 'text/html' } })).body
  t.match(home, /hx-get="\/staff\/alerts"/, 'every IDVA page asks for the count')
})

t.test('owners: assign to me, to a colleague, to nobody; my cases; caseloads; each change audited', async (t) => {
  const assign = (caseId: string, owner: string) => as({ method: 'POST', url: `/staff/cases/${caseId}/owner`, payload: { owner } })
  const mine = await assign(children.caseId, 'me')
  t.equal(mine.statusCode, 303)
  t.equal((await db.selectFrom('cases').select('owner_id').where('id', '=', children.caseId).executeTakeFirstOrThrow()).owner_id, idva.id)
  expectStatus(await assign(plain.caseId, lead.id), 303)
  const queue = (await as({ method: 'GET', url: '/staff/cases?owner=me', headers: { accept: 'text/html' } })).body
  t.same([...queue.matchAll(/data-case-row="([^"]+)"/g)].map((match) => match[1]), [children.caseId], 'my cases only')
  const nobody = (await as({ method: 'GET', url: '/staff/cases?owner=nobody', headers: { accept: 'text/html' } })).body
  t.notMatch(nobody, new RegExp(`data-case-row="(${children.caseId}|${plain.caseId})"`))
  const all = (await as({ method: 'GET', url: '/staff/cases', headers: { accept: 'text/html' } })).body
  t.match(all, /idva\.one \(you\): 1 open case/)
  t.match(all, /lead\.one: 1 open case/)
  const casePage = (await as({ method: 'GET', url: `/staff/cases/${children.caseId}`, headers: { accept: 'text/html' } })).body
  t.match(casePage, /You own this case/)
  const refused = await assign(danger.caseId, investigator.id)
  t.equal(refused.statusCode, 400, 'not an IDVA of the service')
  t.match(refused.json().message, /Choose an IDVA/)
  t.equal((await db.selectFrom('cases').select('owner_id').where('id', '=', danger.caseId).executeTakeFirstOrThrow()).owner_id, null, 'nothing changed')
  expectStatus(await assign(children.caseId, 'nobody'), 303)
  t.equal((await db.selectFrom('cases').select('owner_id').where('id', '=', children.caseId).executeTakeFirstOrThrow()).owner_id, null)
  const audit = await db.selectFrom('audit_log').select(['action', 'object_id']).where('action', 'like', 'case.owner%').orderBy('seq').execute()
  t.same(audit.map((row) => row.action), ['case.owner_assigned', 'case.owner_is', 'case.owner_assigned', 'case.owner_is', 'case.owner_removed'])
  t.equal((await as({ method: 'POST', url: `/staff/cases/${children.caseId}/owner`, payload: {} })).statusCode, 400, 'an owner must be named')
})

t.test('the status panel alone, asked for again after a reply: a first reply moves "new" to "in contact"', async (t) => {
  const fresh = await newCase()
  const panel = async () => as({ method: 'GET', url: `/staff/cases/${fresh.caseId}/status`, headers: { 'hx-request': 'true' } })
  const before = await panel()
  t.equal(before.statusCode, 200)
  t.match(before.body, /<strong data-status="">New<\/strong>/)
  t.match(before.body, new RegExp(`hx-get="/staff/cases/${fresh.caseId}/status" hx-trigger="sd-replied from:body"`), 'it listens for the reply')
  expectStatus(await as({ method: 'POST', url: `/staff/cases/${fresh.caseId}/replies`, payload: await replyBody({ caseId: fresh.caseId, seq: 2, text: 'Hello.', service: service.keys, replyPublic: fresh.keys.reply.publicKey }) }), 201)
  t.match((await panel()).body, /<strong data-status="">In contact<\/strong>/)
  const outsider = await sessionFor(app, investigator)
  t.equal((await asStaff(app, outsider, { method: 'GET', url: `/staff/cases/${fresh.caseId}/status` })).statusCode, 403, 'a wrong role gets 403')
  t.equal((await as({ method: 'GET', url: '/staff/cases/no-such-case/status' })).statusCode, 404)
})
