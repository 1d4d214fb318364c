import t from 'tap'
import { readableDay } from '../../rules/dates.ts'
import { randomBytes, randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { base64url, fromUtf8, generateKeySet, messageContext, openEnvelope, readMessageContent } from '../../crypto/index.ts'
import { rotateGroupKeys } from '../../crypto/staff-keys.ts'
import { seedAccount, seedGrant, seedService } from '../../scripts/lib/staff-fixtures.ts'
import type { CaseKind, CaseStatus, RiskLevel } from '../../server/db/schema.ts'
import { addWorkingDays, subtractWorkingDays } from '../../rules/working-days.ts'
import { today } from '../../server/features/idva/repository.ts'
import { buildTestApp } from '../helpers/app.ts'
import { CONSENT, NOTE, recordBody, replyBody, TRIAGE } from '../helpers/idva.ts'
import { disclosureBody, encryptedFile, newReporter, openCase, servicePublic, submit, upload } from '../helpers/reporter.ts'
import { asStaff, freshAddress, sessionFor } from '../helpers/staff.ts'

/**
 * The IDVA workspace on the server: the queue (filters, paging, the first-response clock), the case
 * page and its content, replies the reporter reads, triage, notes and consent as append-only
 * records, status changes, the repeat-perpetrator index, evidence, and every refusal leaving
 * nothing stored. What IDVAs' browsers do is done here in Node (test/helpers/idva.ts).
 */

const { app, logs, serviceKeys } = await buildTestApp(t)
const db = app.database.db
const service = await seedService(db, { keys: serviceKeys })
const idva = await seedAccount(db, app.config.serverSecret, { username: 'idva.one', role: 'idva', groupId: service.id })
await seedGrant(db, idva, service)
const client = await sessionFor(app, idva)
const as = (options: Parameters<typeof asStaff>[2]) => asStaff(app, client, options)
const CANARY = 'Canary-Idva-Workspace-7713'

async function newCase(content?: unknown, uploads: { id: string; token: string }[] = []) {
  const reporter = await newReporter()
  const caseKeys = { reply: base64url.encode(reporter.keys.reply.publicKey), auth: base64url.encode(reporter.keys.auth.publicKey) }
  const response = await submit(app, await disclosureBody(reporter, servicePublic(service.keys), content ?? { v: 1, text: CANARY, evidence: [], caseKeys }, uploads))
  if (response.statusCode !== 201) throw new Error(response.body)
  return reporter
}

/** A case row with chosen metadata (what the queue sees), for filters and paging. */
async function insertCase(options: { createdOn: string; status?: CaseStatus; kind?: CaseKind; riskLevel?: RiskLevel | null; firstReplyOn?: string | null }): Promise<string> {
  const id = randomUUID()
  await db
    .insertInto('cases')
    .values({
      id,
      kind: options.kind ?? 'disclosure',
      lookup_id: randomBytes(16),
      // Queue metadata only: never opened, so written as a row from before sealing at rest.
      auth_public: randomBytes(32),
      reply_public: randomBytes(32),
      sealed: false,
      status: options.status ?? 'new',
      created_on: options.createdOn,
      last_activity_on: options.createdOn,
      first_reply_on: options.firstReplyOn ?? null,
      risk_level: options.riskLevel ?? null,
    })
    .execute()
  return id
}

const audits = async (action: string, objectId?: string) => {
  let query = db.selectFrom('audit_log').select((eb) => eb.fn.countAll<number>().as('n')).where('action', '=', action).where('actor_id', '=', idva.id)
  if (objectId !== undefined) query = query.where('object_id', '=', objectId)
  return Number((await query.executeTakeFirstOrThrow()).n)
}

const rowCounts = async () => ({
  messages: Number((await db.selectFrom('case_messages').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n),
  records: Number((await db.selectFrom('case_records').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n),
})

t.test('the queue: oldest first, with the first-response clock, filters, counts and keyset paging', async (t) => {
  const day = await today(db)
  const ids = {
    overdue: await insertCase({ createdOn: subtractWorkingDays(day, 5) }),
    replied: await insertCase({ createdOn: subtractWorkingDays(day, 4), status: 'in_contact', firstReplyOn: subtractWorkingDays(day, 3), riskLevel: 'high' }),
    closed: await insertCase({ createdOn: subtractWorkingDays(day, 3), status: 'closed' }),
    consultation: await insertCase({ createdOn: subtractWorkingDays(day, 2), kind: 'consultation' }),
    fresh: await insertCase({ createdOn: day, riskLevel: 'medium' }),
  }
  const page = await as({ method: 'GET', url: '/staff/cases' })
  t.equal(page.statusCode, 200)
  t.equal(page.headers['cache-control'], 'no-store')
  const order = [...page.body.matchAll(/data-case-row="([^"]+)"/g)].map((match) => match[1])
  t.same(order, [ids.overdue, ids.replied, ids.consultation, ids.fresh], 'open cases, oldest first; closed ones left out by default')
  t.match(page.body, new RegExp(`data-case-row="${ids.overdue}" class="queue__row--overdue"`), 'an overdue case is highlighted')
  t.match(page.body, /<strong class="tag tag--overdue">Overdue<\/strong> <span>3 working days past the target/, 'in words, not only colour')
  t.match(page.body, /First reply after 1 working day/)
  t.match(page.body, new RegExp(`Reply due by ${readableDay(addWorkingDays(day, 2))}`), 'a date as people read it')
  t.match(page.body, /<dd data-count-new="">3<\/dd>/, 'three new cases')
  t.match(page.body, /<dd data-count-overdue="">1<\/dd>/)
  t.match(page.body, /Manager consultation/)

  const only = async (query: string) => [...(await as({ method: 'GET', url: `/staff/cases?${query}` })).body.matchAll(/data-case-row="([^"]+)"/g)].map((match) => match[1])
  t.same(await only('status=closed'), [ids.closed])
  t.same(await only('status=all'), [ids.overdue, ids.replied, ids.closed, ids.consultation, ids.fresh])
  t.same(await only('risk=high'), [ids.replied])
  t.same(await only('risk=none'), [ids.overdue, ids.consultation])
  t.same(await only('kind=consultation'), [ids.consultation])
  t.same(await only('overdue=1'), [ids.overdue])

  const fragment = await as({ method: 'GET', url: '/staff/cases?risk=medium', headers: { 'hx-request': 'true' } })
  t.equal(fragment.statusCode, 200)
  t.notMatch(fragment.body, /<html/, 'htmx gets the results fragment only')
  t.match(fragment.body, /^<div id="queue-results"/)
  t.match(fragment.body, new RegExp(ids.fresh))

  const bad = await as({ method: 'GET', url: '/staff/cases?status=everything' })
  t.equal(bad.statusCode, 400)
  t.match(bad.json().message, /filter is not one the queue knows/)
  t.equal((await as({ method: 'GET', url: '/staff/cases?after=yesterday' })).statusCode, 400)
  const impossible = await as({ method: 'GET', url: `/staff/cases?after=2026-13-40_${randomUUID()}` })
  t.equal(impossible.statusCode, 400, 'a day that does not exist')

  // Paging: 30 more cases on one day; 25 a page, then the rest, by (created_on, id).
  const many = []
  for (let i = 0; i < 30; i++) many.push(await insertCase({ createdOn: subtractWorkingDays(day, 10) }))
  const first = await as({ method: 'GET', url: '/staff/cases' })
  const firstRows = [...first.body.matchAll(/data-case-row="([^"]+)"/g)].map((match) => match[1])
  t.equal(firstRows.length, 25)
  t.same(firstRows, [...many].sort().slice(0, 25))
  const next = /data-next-page="">|href="\/staff\/cases\?([^"]+)"[^>]*data-next-page/.exec(first.body)
  const nextQuery = /href="\/staff\/cases\?([^"]+)" hx-get="[^"]+" hx-target="#queue-results" hx-swap="outerHTML" class="button button--secondary button--small" data-next-page/.exec(first.body)?.[1]
  t.ok(next !== null && nextQuery !== undefined, 'a next page')
  const second = await as({ method: 'GET', url: `/staff/cases?${nextQuery!.replace(/&amp;/g, '&')}` })
  const secondRows = [...second.body.matchAll(/data-case-row="([^"]+)"/g)].map((match) => match[1])
  t.same(secondRows, [...[...many].sort().slice(25), ids.overdue, ids.replied, ids.consultation, ids.fresh])
  t.notMatch(second.body, /data-next-page/, 'the last page')
  t.match(second.body, /First page/)
  await db.deleteFrom('cases').where('id', 'in', [...Object.values(ids), ...many]).execute()
})

t.test('the case page and its content: envelopes only, opening audited', async (t) => {
  const reporter = await newCase()
  const page = await as({ method: 'GET', url: `/staff/cases/${reporter.caseId}` })
  t.equal(page.statusCode, 200)
  t.match(page.body, /data-page="staff-case"/)
  t.equal([...page.body.matchAll(/data-risk-question="/g)].length, 24, 'the 24 risk indicators')
  t.notMatch(page.body, new RegExp(CANARY), 'nothing readable is in the page: the browser decrypts')
  t.match(page.body, /Not assessed/)

  const before = await audits('case.opened_by_idva', reporter.caseId)
  const content = await as({ method: 'GET', url: `/staff/cases/${reporter.caseId}/content` })
  t.equal(content.statusCode, 200)
  const body = content.json<{ messages: { envelope: string; seq: number; id: string }[]; replyPublic: string; authPublic: string; service: unknown; records: unknown[] }>()
  t.equal(body.messages.length, 1)
  t.equal(body.replyPublic, base64url.encode(reporter.keys.reply.publicKey))
  t.ok(body.service)
  t.same(body.records, [])
  t.equal(await audits('case.opened_by_idva', reporter.caseId), before + 1)
  const opened = await openEnvelope(base64url.decode(body.messages[0]!.envelope, 'e'), { caseId: reporter.caseId, keys: [service.keys.encryption], trustedSigners: [reporter.keys.auth.publicKey], context: messageContext(1, body.messages[0]!.id) })
  t.match(fromUtf8(opened.plaintext), CANARY, 'the service key opens what the server handed out')

  const reported = await as({ method: 'POST', url: `/staff/cases/${reporter.caseId}/decrypted`, payload: { opened: 1, failed: 1 } })
  t.equal(reported.statusCode, 204)
  t.equal(await audits('case.decrypted_by_idva', reporter.caseId), 1)
  t.equal(await audits('case.decryption_failed', reporter.caseId), 1)
  t.equal((await as({ method: 'POST', url: `/staff/cases/${reporter.caseId}/decrypted`, payload: { opened: -1, failed: 0 } })).statusCode, 400)

  for (const url of [`/staff/cases/${randomUUID()}`, `/staff/cases/${randomUUID()}/content`, '/staff/cases/not-a-case']) {
    const missing = await as({ method: 'GET', url })
    t.equal(missing.statusCode, 404, url)
    t.match(missing.body, /no such case/)
  }
})

t.test('a reply: sealed to the person and the service, signed by the service; the reporter reads it', async (t) => {
  const reporter = await newCase()
  const caseId = reporter.caseId
  const reply = await replyBody({ caseId, seq: 2, text: `Hello from the IDVA service ${CANARY}`, service: service.keys, replyPublic: reporter.keys.reply.publicKey })
  const sent = await as({ method: 'POST', url: `/staff/cases/${caseId}/replies`, payload: reply })
  t.equal(sent.statusCode, 201, sent.body)
  const row = await db.selectFrom('cases').selectAll().where('id', '=', caseId).executeTakeFirstOrThrow()
  t.equal(row.status, 'in_contact', 'a first reply puts the case in contact')
  t.equal(row.first_reply_on, await today(db), 'and stops the clock')
  t.equal(row.message_count, 2)
  t.equal(await audits('case.idva_replied', reply.messageId as string), 1)

  // The reporter's side: the thread has it, and it verifies with the service's published chain.
  const session = await openCase(app, reporter.keys)
  const thread = (await app.inject({ method: 'GET', url: '/return/thread', headers: { cookie: session.cookie }, remoteAddress: freshAddress() })).json<{ status: string; messages: { id: string; seq: number; envelope: string }[] }>()
  t.equal(thread.status, 'in_contact')
  const message = thread.messages[1]!
  const opened = await openEnvelope(base64url.decode(message.envelope, 'e'), { caseId, keys: [reporter.keys.reply], expectKind: 'idva_reply', trustedSigners: [service.keys.signing.publicKey], requireSignature: true, context: messageContext(message.seq, message.id) })
  t.match(readMessageContent(fromUtf8(opened.plaintext)).text, /Hello from the IDVA service/)

  const impostor = await generateKeySet()
  const before = await rowCounts()
  const refusals: [string, Record<string, unknown>, number, RegExp][] = [
    ['signed by another key', await replyBody({ caseId, seq: 3, text: 'x', service: service.keys, replyPublic: reporter.keys.reply.publicKey, signer: impostor.signing }), 400, /not signed by the IDVA service/],
    ['not sealed to the reply key', await replyBody({ caseId, seq: 3, text: 'x', service: service.keys, replyPublic: reporter.keys.reply.publicKey, recipients: [service.keys.encryption.publicKey] }), 400, /not locked to the right keys/],
    ['sealed to an extra key', await replyBody({ caseId, seq: 3, text: 'x', service: service.keys, replyPublic: reporter.keys.reply.publicKey, recipients: [service.keys.encryption.publicKey, reporter.keys.reply.publicKey, impostor.encryption.publicKey] }), 400, /not locked to the right keys/],
    ['bound to another place', { ...(await replyBody({ caseId, seq: 4, text: 'x', service: service.keys, replyPublic: reporter.keys.reply.publicKey })), seq: 3 }, 400, /not signed by the IDVA service/],
    ['out of order', await replyBody({ caseId, seq: 5, text: 'x', service: service.keys, replyPublic: reporter.keys.reply.publicKey }), 409, /new message arrived/],
    ['not an envelope', { messageId: randomUUID(), seq: 3, envelope: base64url.encode(randomBytes(300)) }, 400, /not a message this portal can store/],
    ['no envelope', { messageId: randomUUID(), seq: 3 }, 400, /envelope must be base64url/],
  ]
  for (const [what, payload, status, message] of refusals) {
    const refused = await as({ method: 'POST', url: `/staff/cases/${caseId}/replies`, payload })
    t.equal(refused.statusCode, status, what)
    t.match(refused.json().message, message, what)
  }
  const replayed = await as({ method: 'POST', url: `/staff/cases/${caseId}/replies`, payload: reply })
  t.equal(replayed.statusCode, 409, 'the same reply twice')
  t.same(await rowCounts(), before, 'nothing stored by any refusal')

  const noToken = await asStaff(app, client, { method: 'POST', url: `/staff/cases/${caseId}/replies`, payload: reply, headers: { 'x-csrf-token': 'x'.repeat(43) } })
  t.equal(noToken.statusCode, 403, 'a wrong CSRF token is refused')

  await db.updateTable('cases').set({ status: 'closed' }).where('id', '=', caseId).execute()
  const closed = await as({ method: 'POST', url: `/staff/cases/${caseId}/replies`, payload: await replyBody({ caseId, seq: 3, text: 'x', service: service.keys, replyPublic: reporter.keys.reply.publicKey }) })
  t.equal(closed.statusCode, 409)
  t.match(closed.json().message, /closed/)
})

t.test('triage, notes and consent: append-only versions; only the risk level is in clear', async (t) => {
  const reporter = await newCase()
  const caseId = reporter.caseId
  const records = `/staff/cases/${caseId}/records`
  const triage = await as({ method: 'POST', url: records, payload: await recordBody({ caseId, kind: 'triage', seq: 1, content: TRIAGE('high'), service: service.keys, riskLevel: 'high' }) })
  t.equal(triage.statusCode, 201, triage.body)
  const row = await db.selectFrom('cases').select(['risk_level', 'triaged_on']).where('id', '=', caseId).executeTakeFirstOrThrow()
  t.same(row, { risk_level: 'high', triaged_on: await today(db) })
  t.equal(await audits('case.triaged', caseId), 1)

  t.equal((await as({ method: 'POST', url: records, payload: await recordBody({ caseId, kind: 'note', seq: 1, content: NOTE(`A note ${CANARY}`), service: service.keys }) })).statusCode, 201)
  t.equal((await as({ method: 'POST', url: records, payload: await recordBody({ caseId, kind: 'consent', seq: 1, content: CONSENT('criminal', true), service: service.keys }) })).statusCode, 201)
  t.equal((await as({ method: 'POST', url: records, payload: await recordBody({ caseId, kind: 'consent', seq: 2, content: CONSENT('criminal', false), service: service.keys }) })).statusCode, 201, 'a second version')
  t.equal(await audits('case.consent_recorded', caseId), 2)
  t.equal(await audits('case.note_added', caseId), 1)
  const stored = await db.selectFrom('case_records').select(['kind', 'seq']).where('case_id', '=', caseId).orderBy('kind').orderBy('seq').execute()
  t.same(stored, [{ kind: 'consent', seq: 1 }, { kind: 'consent', seq: 2 }, { kind: 'note', seq: 1 }, { kind: 'triage', seq: 1 }])

  const impostor = await generateKeySet()
  const before = await rowCounts()
  const refusals: [string, Record<string, unknown>, number, RegExp][] = [
    ['a version out of order', await recordBody({ caseId, kind: 'consent', seq: 2, content: CONSENT('misconduct', true), service: service.keys }), 409, /saved a new version/],
    ['signed by another key', await recordBody({ caseId, kind: 'note', seq: 2, content: NOTE('x'), service: service.keys, signer: impostor.signing }), 400, /not signed by the IDVA service/],
    ['sealed to someone else too', await recordBody({ caseId, kind: 'note', seq: 2, content: NOTE('x'), service: service.keys, recipients: [service.keys.encryption.publicKey, impostor.encryption.publicKey] }), 400, /not locked to the right keys/],
    ['not sealed to the service', await recordBody({ caseId, kind: 'note', seq: 2, content: NOTE('x'), service: service.keys, recipients: [impostor.encryption.publicKey] }), 400, /not locked to the right keys/],
    ['a note sent as consent', { ...(await recordBody({ caseId, kind: 'note', seq: 3, content: NOTE('x'), service: service.keys })), kind: 'consent' }, 400, /not the kind of record expected/],
    ['a triage without a level', await recordBody({ caseId, kind: 'triage', seq: 2, content: TRIAGE('high'), service: service.keys }), 400, /riskLevel is missing/],
    ['a triage with an unknown level', await recordBody({ caseId, kind: 'triage', seq: 2, content: TRIAGE('high'), service: service.keys, riskLevel: 'extreme' }), 400, /riskLevel must be/],
    ['an unknown kind', { kind: 'diary', recordId: randomUUID(), seq: 1, envelope: 'AA' }, 400, /kind must be/],
    ['an inherited property name as a kind', { kind: 'constructor', recordId: randomUUID(), seq: 1, envelope: 'AA' }, 400, /kind must be/],
  ]
  for (const [what, payload, status, message] of refusals) {
    const refused = await as({ method: 'POST', url: records, payload })
    t.equal(refused.statusCode, status, what)
    t.match(refused.json().message, message, what)
  }
  t.same(await rowCounts(), before, 'nothing stored by any refusal')
  t.equal((await db.selectFrom('cases').select('risk_level').where('id', '=', caseId).executeTakeFirstOrThrow()).risk_level, 'high')

  // Records are never changed, not even by the database's owner.
  const update = await database().asOwner((owner) => sql`UPDATE case_records SET seq = 9 WHERE case_id = ${caseId}`.execute(owner)).then(() => null, (error: unknown) => error as Error)
  t.match(update?.message ?? '', /append-only/)
  const rewrite = await database().asOwner((owner) => sql`UPDATE case_records SET envelope = envelope WHERE case_id = ${caseId}`.execute(owner)).then(() => null, (error: unknown) => error as Error)
  t.match(rewrite?.message ?? '', /append-only/, 'not even the envelope alone, while the case is not withdrawn')
  if (app.database.kind === 'postgres') {
    const removed = await sql`DELETE FROM case_records WHERE case_id = ${caseId}`.execute(db).then(() => null, (error: unknown) => error as Error)
    t.match(removed?.message ?? '', /permission denied/, 'the application role cannot delete a record')
  }

  // A high-risk case: withdrawal removes the person's words, and the service keeps its own records
  // (test/integration/withdrawal.test.ts has the whole of it).
  const session = await openCase(app, reporter.keys)
  const withdrawn = await app.inject({ method: 'POST', url: '/return/withdraw', payload: { confirmed: true }, headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken }, remoteAddress: freshAddress() })
  t.same(withdrawn.json(), { withdrawn: true, recordKept: true })
  t.equal((await db.selectFrom('case_messages').select('id').where('case_id', '=', caseId).execute()).length, 0, 'no message of a withdrawn case is left')
  t.same(await db.selectFrom('case_records').select(['kind', 'seq']).where('case_id', '=', caseId).orderBy('kind').orderBy('seq').execute(), stored, "the service's records stay")
})

function database() {
  return app.database
}

t.test('a reply or record signed with a key the service has rotated away from is refused as stale', async (t) => {
  const reporter = await newCase()
  const caseId = reporter.caseId
  const rotated = await rotateGroupKeys(service.keys, service.id, 1)
  await db
    .insertInto('group_keys')
    .values({ group_id: service.id, generation: 2, x25519_public: Buffer.from(rotated.next.encryption.publicKey), ed25519_public: Buffer.from(rotated.next.signing.publicKey), rotation_certificate: Buffer.from(rotated.certificate), previous_keys_sealed: Buffer.from(rotated.previous), service_certificate: null, service_generation: null, created_by: null })
    .execute()
  const stale = await as({ method: 'POST', url: `/staff/cases/${caseId}/replies`, payload: await replyBody({ caseId, seq: 2, text: 'x', service: service.keys, replyPublic: reporter.keys.reply.publicKey }) })
  t.equal(stale.statusCode, 409)
  t.match(stale.json().message, /key has changed/)
  const fresh = await as({ method: 'POST', url: `/staff/cases/${caseId}/replies`, payload: await replyBody({ caseId, seq: 2, text: 'x', service: rotated.next, replyPublic: reporter.keys.reply.publicKey }) })
  t.equal(fresh.statusCode, 201, 'the new generation is accepted')
  await db.deleteFrom('group_keys').where('group_id', '=', service.id).where('generation', '=', 2).execute()
})

t.test('status changes: a form post or htmx, audited; unknown or unchanged statuses refused', async (t) => {
  const reporter = await newCase()
  const caseId = reporter.caseId
  // A plain form post, as without htmx: the token in the form's _csrf field.
  const form = await app.inject({ method: 'POST', url: `/staff/cases/${caseId}/status`, payload: `status=support_ongoing&_csrf=${client.csrf}`, headers: { cookie: client.cookie, 'content-type': 'application/x-www-form-urlencoded' }, remoteAddress: freshAddress() })
  t.equal(form.statusCode, 303, form.body)
  t.equal(form.headers.location, `/staff/cases/${caseId}`)
  const htmx = await as({ method: 'POST', url: `/staff/cases/${caseId}/status`, payload: { status: 'referred' }, headers: { 'hx-request': 'true' } })
  t.equal(htmx.statusCode, 200)
  t.match(htmx.body, /^<section id="case-status"/)
  t.match(htmx.body, /Status changed to &#34;Referred&#34;/)
  const row = await db.selectFrom('cases').select(['status', 'status_changed_on']).where('id', '=', caseId).executeTakeFirstOrThrow()
  t.same(row, { status: 'referred', status_changed_on: await today(db) })
  t.equal(await audits('case.status_changed', caseId), 2)
  for (const [status, code] of [['new', 400], ['deleted', 400], ['referred', 409]] as const) {
    const refused = await as({ method: 'POST', url: `/staff/cases/${caseId}/status`, payload: { status } })
    t.equal(refused.statusCode, code, status)
  }
  t.equal((await as({ method: 'POST', url: `/staff/cases/${caseId}/status`, payload: { status: 'closed' } })).statusCode, 303)
  t.equal((await as({ method: 'POST', url: `/staff/cases/${caseId}/status`, payload: { status: 'in_contact' } })).statusCode, 303, 'a closed case can be reopened')
})

t.test('the repeat-perpetrator index: envelopes only, paged; unindexed cases offered for indexing', async (t) => {
  await db.deleteFrom('cases').execute()
  const a = await newCase()
  const b = await newCase()
  const consultation = await insertCase({ createdOn: '2026-11-02', kind: 'consultation' })
  const unindexed = (await as({ method: 'GET', url: '/staff/identifiers/unindexed' })).json<{ cases: { caseId: string; authPublic: string; envelope: string; messageId: string }[] }>()
  t.same(unindexed.cases.map((entry) => entry.caseId).sort(), [a.caseId, b.caseId].sort(), 'disclosures only: a consultation names nobody')
  t.notOk(unindexed.cases.some((entry) => entry.caseId === consultation))
  t.equal(await audits('case.opened_for_index', a.caseId), 1, 'handing out a first message for indexing is an opening')
  t.equal(unindexed.cases.find((entry) => entry.caseId === a.caseId)!.authPublic, base64url.encode(a.keys.auth.publicKey))
  const entry = await recordBody({ caseId: a.caseId, kind: 'identifiers', seq: 1, content: { v: 1, type: 'identifiers', names: ['john smith'], numbers: ['1234'] }, service: service.keys })
  t.equal((await as({ method: 'POST', url: `/staff/cases/${a.caseId}/records`, payload: entry })).statusCode, 201)
  t.same((await as({ method: 'GET', url: '/staff/identifiers/unindexed' })).json<{ cases: { caseId: string }[] }>().cases.map((row) => row.caseId), [b.caseId])
  const second = await recordBody({ caseId: a.caseId, kind: 'identifiers', seq: 2, content: { v: 1, type: 'identifiers', names: [], numbers: [] }, service: service.keys })
  t.equal((await as({ method: 'POST', url: `/staff/cases/${a.caseId}/records`, payload: second })).statusCode, 201)
  const index = (await as({ method: 'GET', url: '/staff/identifiers' })).json<{ entries: { caseId: string; seq: number }[]; more: boolean }>()
  t.same(index.entries.map((row) => [row.caseId, row.seq]), [[a.caseId, 2]], 'the newest entry per case')
  t.equal(index.more, false)
  t.equal((await as({ method: 'GET', url: '/staff/identifiers?after=x' })).statusCode, 400)
  t.ok((await audits('cases.index_page_read')) >= 1, 'reading the index is audited')
  t.equal((await as({ method: 'POST', url: `/staff/cases/${a.caseId}/compared`, payload: {} })).statusCode, 204)
  t.equal(await audits('case.compared_with_index', a.caseId), 1)
})

t.test('evidence: the encrypted bytes of this case\'s files only', async (t) => {
  const file = await encryptedFile(new TextEncoder().encode('evidence bytes'))
  const uploaded = (await upload(app, file.encrypted)).json<{ id: string; token: string }>()
  const reporter = await newReporter()
  const caseKeys = { reply: base64url.encode(reporter.keys.reply.publicKey), auth: base64url.encode(reporter.keys.auth.publicKey) }
  t.equal((await submit(app, await disclosureBody(reporter, servicePublic(service.keys), { v: 1, text: 'with a file', evidence: [], caseKeys }, [uploaded]))).statusCode, 201)
  const other = await newCase()
  const fetched = await as({ method: 'GET', url: `/staff/cases/${reporter.caseId}/evidence/${uploaded.id}` })
  t.equal(fetched.statusCode, 200)
  t.same(Buffer.from(fetched.rawPayload), Buffer.from(file.encrypted))
  t.equal(await audits('case.evidence_fetched_by_idva', uploaded.id), 1)
  t.equal((await as({ method: 'GET', url: `/staff/cases/${other.caseId}/evidence/${uploaded.id}` })).statusCode, 404, 'not through another case')
})

t.test('nothing a case says reaches the log', async (t) => {
  t.notOk(logs.text().includes(CANARY))
})
