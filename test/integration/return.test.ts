import t from 'tap'
import { randomBytes, randomUUID } from 'node:crypto'
import { base64url, signCaseLogin } from '../../crypto/index.ts'
import { seedService } from '../../scripts/lib/staff-fixtures.ts'
import { buildTestApp } from '../helpers/app.ts'
import { ReturnChallenges } from '../../server/security/return-challenge.ts'
import { freshAddress } from '../helpers/staff.ts'
import { b64, disclosureBody, encryptedFile, insertIdvaReply, newReporter, openCase, sealFromReporter, servicePublic, submit, upload } from '../helpers/reporter.ts'

/**
 * /return: the challenge and its signature (replays, expiry, unknown codes), the session and its
 * CSRF token, the thread, new messages and evidence, and withdrawal deleting everything at once.
 */

const { app, logs, serviceKeys: pinned } = await buildTestApp(t)
const db = app.database.db
const service = await seedService(db, { keys: pinned })
const serviceKeys = servicePublic(service.keys)

async function submitted(body: unknown): Promise<void> {
  const response = await submit(app, body)
  if (response.statusCode !== 201) throw new Error(`setting up: ${response.body}`)
}

// A reporter who sent a disclosure with one file.
const reporter = await newReporter()
const file = await encryptedFile(new TextEncoder().encode('evidence bytes'))
const uploaded = (await upload(app, file.encrypted)).json<{ id: string; token: string }>()
await submitted(await disclosureBody(reporter, serviceKeys, undefined, [uploaded]))
// And another reporter's case, to try to reach across.
const other = await newReporter()
const otherFile = await encryptedFile(new TextEncoder().encode('other evidence'))
const otherUpload = (await upload(app, otherFile.encrypted)).json<{ id: string; token: string }>()
await submitted(await disclosureBody(other, serviceKeys, undefined, [otherUpload]))

t.test('the return page works only with the script, and never asks for the code to be sent', async (t) => {
  const page = await app.inject({ method: 'GET', url: '/return' })
  t.equal(page.statusCode, 200)
  t.equal(page.headers['cache-control'], 'no-store')
  t.match(page.body, /data-page="return"/)
  t.notMatch(page.body, /<form/i)
  t.match(page.body, /<input type="text" id="case-code"[^>]* disabled/)
})

t.test('the right code opens the case; challenges are single-use and expire; unknown codes get one answer', async (t) => {
  const opened = await openCase(app, reporter.keys)
  t.equal(opened.status, 200, opened.body)
  t.match(opened.cookie, /^sd_case=/)
  t.equal(opened.csrfToken.length, 43)
  t.ok((await db.selectFrom('case_audit_log').select('action').where('actor_id', '=', reporter.caseId).execute()).some((row) => row.action === 'case.opened_by_reporter'))
  t.notOk((await db.selectFrom('audit_log').select('action').where('actor_id', '=', reporter.caseId).execute()).length, 'not in the timed staff chain')

  // Replay: the same challenge and signature again.
  const { challenge } = (await app.inject({ method: 'POST', url: '/return/challenge', payload: {} })).json<{ challenge: string }>()
  const signature = b64(await signCaseLogin(reporter.keys, base64url.decode(challenge, 'challenge')))
  const payload = { challenge, lookupId: b64(reporter.keys.lookupId), signature }
  t.equal((await app.inject({ method: 'POST', url: '/return/session', payload })).statusCode, 200)
  const replay = await app.inject({ method: 'POST', url: '/return/session', payload })
  t.equal(replay.statusCode, 400)
  t.match(replay.json().message, /expired or was already used/)
  const used = await db.selectFrom('used_challenges').selectAll().execute()
  t.ok(used.length >= 1 && used.every((row) => /^\d{4}-\d{2}-\d{2}$/.test(row.used_on)), 'a used challenge leaves a hash and a day, no time')

  // A challenge past its two minutes, and one the server did not make.
  const late = b64(new ReturnChallenges(app.config.serverSecret).issue(Date.now() - 3 * 60_000))
  const expired = await app.inject({
    method: 'POST',
    url: '/return/session',
    payload: { challenge: late, lookupId: b64(reporter.keys.lookupId), signature: b64(await signCaseLogin(reporter.keys, base64url.decode(late, 'challenge'))) },
  })
  t.equal(expired.statusCode, 400)
  const madeUp = b64(randomBytes(40))
  const notOurs = await app.inject({
    method: 'POST',
    url: '/return/session',
    payload: { challenge: madeUp, lookupId: b64(reporter.keys.lookupId), signature: b64(await signCaseLogin(reporter.keys, base64url.decode(madeUp, 'challenge'))) },
  })
  t.equal(notOurs.statusCode, 400, 'a challenge the server did not issue')

  const unknown = await openCase(app, (await newReporter()).keys)
  t.equal(unknown.status, 404)
  t.match(JSON.parse(unknown.body).message, /could not find a case with that code/)
  // The right case, but a signature made with another case's key.
  const forged = (await app.inject({ method: 'POST', url: '/return/challenge', payload: {} })).json<{ challenge: string }>().challenge
  const wrongKey = await app.inject({
    method: 'POST',
    url: '/return/session',
    payload: { challenge: forged, lookupId: b64(reporter.keys.lookupId), signature: b64(await signCaseLogin(other.keys, base64url.decode(forged, 'challenge'))) },
  })
  t.equal(wrongKey.statusCode, 404, 'same answer as an unknown code')
  t.equal((await app.inject({ method: 'POST', url: '/return/session', payload: { challenge: 'x', lookupId: 'y', signature: 'z' } })).statusCode, 400)
  t.notOk(logs.text().includes(b64(reporter.keys.lookupId)), 'the lookup value is not logged')
})

t.test('code attempts are rate-limited per address', async (t) => {
  const address = freshAddress()
  let status = 0
  for (let attempt = 0; attempt < 21; attempt++) status = (await app.inject({ method: 'POST', url: '/return/challenge', payload: {}, remoteAddress: address })).statusCode
  t.equal(status, 429)
})

t.test('the thread: envelopes in order, IDVA replies, new messages bound to their place, evidence of this case only', async (t) => {
  const { cookie, csrfToken } = await openCase(app, reporter.keys)
  t.equal((await app.inject({ method: 'GET', url: '/return/thread' })).statusCode, 401, 'no session, no thread')
  await insertIdvaReply(app, { caseId: reporter.caseId, seq: 2, text: 'We are here for you.', service: service.keys, replyPublic: reporter.keys.reply.publicKey })
  const thread = (await app.inject({ method: 'GET', url: '/return/thread', headers: { cookie } })).json()
  t.equal(thread.caseId, reporter.caseId)
  t.equal(thread.status, 'in_contact', 'a reporter sees three plain states')
  t.same(thread.messages.map((message: { seq: number; author: string }) => [message.seq, message.author]), [[1, 'reporter'], [2, 'idva']])
  t.same(thread.messages[0].evidence, [{ id: uploaded.id, size: file.encrypted.length }])
  t.equal(thread.service.generations.length, 1)

  const evidence = await app.inject({ method: 'GET', url: `/return/evidence/${uploaded.id}`, headers: { cookie } })
  t.equal(evidence.statusCode, 200)
  t.same(new Uint8Array(evidence.rawPayload), file.encrypted, 'the encrypted file, as uploaded')
  t.equal((await app.inject({ method: 'GET', url: `/return/evidence/${otherUpload.id}`, headers: { cookie } })).statusCode, 404, "another case's file is not reachable")

  const message = await sealFromReporter(reporter, serviceKeys, { kind: 'reporter_message', seq: 3, content: { v: 1, text: 'thank you', evidence: [] } })
  const send = (body: unknown, headers: Record<string, string> = { cookie, 'x-csrf-token': csrfToken }) => app.inject({ method: 'POST', url: '/return/messages', payload: body as Record<string, unknown>, headers })
  t.equal((await send({ ...message, seq: 3 }, { cookie })).statusCode, 403, 'no CSRF token')
  t.equal((await send({ ...message, seq: 3 }, { cookie, 'x-csrf-token': 'x'.repeat(43) })).statusCode, 403, 'wrong CSRF token')
  t.equal((await send({ ...message, seq: 3 }, { cookie, 'x-csrf-token': csrfToken, 'sec-fetch-site': 'cross-site' })).statusCode, 403, 'cross-site')
  t.equal((await send({ ...message, seq: 3 }, {})).statusCode, 401, 'no session')
  const elsewhere = await sealFromReporter(reporter, serviceKeys, { kind: 'reporter_message', seq: 3, caseId: other.caseId })
  t.equal((await send({ ...elsewhere, seq: 3 })).statusCode, 400, 'an envelope bound to another case')
  t.equal((await send({ ...message, seq: 2 })).statusCode, 400, 'sealed for one place, sent for another')
  const early = await sealFromReporter(reporter, serviceKeys, { kind: 'reporter_message', seq: 2 })
  t.equal((await send({ ...early, seq: 2 })).statusCode, 409, 'a place already taken')
  const sent = await send({ ...message, seq: 3 })
  t.equal(sent.statusCode, 201, sent.body)
  t.equal((await send({ ...message, seq: 3 })).statusCode, 409, 'the same message twice')

  // More evidence with a message.
  const more = await encryptedFile(randomBytes(70_000))
  const moreUpload = (await upload(app, more.encrypted)).json<{ id: string; token: string }>()
  const withFile = await sealFromReporter(reporter, serviceKeys, { kind: 'reporter_message', seq: 4 })
  t.equal((await send({ ...withFile, seq: 4, uploads: [moreUpload] })).statusCode, 201)
  const row = await db.selectFrom('cases').selectAll().where('id', '=', reporter.caseId).executeTakeFirstOrThrow()
  t.equal(row.message_count, 4)
  t.equal(row.evidence_count, 2)
  t.equal((await db.selectFrom('case_evidence').select('message_id').where('id', '=', moreUpload.id).executeTakeFirstOrThrow()).message_id, withFile.messageId)
})

t.test('a closed case takes no new messages', async (t) => {
  const closed = await newReporter()
  t.equal((await submit(app, await disclosureBody(closed, serviceKeys))).statusCode, 201)
  await db.updateTable('cases').set({ status: 'closed' }).where('id', '=', closed.caseId).execute()
  const { cookie, csrfToken } = await openCase(app, closed.keys)
  t.equal((await app.inject({ method: 'GET', url: '/return/thread', headers: { cookie } })).json().status, 'closed')
  const message = await sealFromReporter(closed, serviceKeys, { kind: 'reporter_message', seq: 2 })
  const response = await app.inject({ method: 'POST', url: '/return/messages', payload: { ...message, seq: 2 }, headers: { cookie, 'x-csrf-token': csrfToken } })
  t.equal(response.statusCode, 409)
  t.match(response.json().message, /closed/)
})

t.test('withdraw and delete everything: every row of the case goes at once, and the code stops working', async (t) => {
  const { cookie, csrfToken } = await openCase(app, reporter.keys)
  const second = await openCase(app, reporter.keys)
  t.equal((await app.inject({ method: 'POST', url: '/return/withdraw', payload: {}, headers: { cookie } })).statusCode, 403, 'needs the CSRF token')
  const unconfirmed = await app.inject({ method: 'POST', url: '/return/withdraw', payload: {}, headers: { cookie, 'x-csrf-token': csrfToken } })
  t.equal(unconfirmed.statusCode, 400, 'a withdrawal must be confirmed')
  t.match(unconfirmed.json().message, /Nothing was deleted/)
  t.equal((await db.selectFrom('cases').select('id').where('id', '=', reporter.caseId).execute()).length, 1, 'an unconfirmed request deletes nothing')
  const withdrawn = await app.inject({ method: 'POST', url: '/return/withdraw', payload: { confirmed: true }, headers: { cookie, 'x-csrf-token': csrfToken } })
  t.equal(withdrawn.statusCode, 200)
  t.same(withdrawn.json(), { withdrawn: true, recordKept: false })
  t.match([withdrawn.headers['set-cookie']].flat().join(''), /sd_case=;/, 'the cookie is cleared')
  t.equal((await db.selectFrom('cases').select('id').where('id', '=', reporter.caseId).execute()).length, 0)
  t.equal((await db.selectFrom('case_messages').select('id').where('case_id', '=', reporter.caseId).execute()).length, 0)
  t.equal((await db.selectFrom('case_evidence').select('id').where('case_id', '=', reporter.caseId).execute()).length, 0)
  t.equal((await db.selectFrom('case_sessions').select('case_id').where('case_id', '=', reporter.caseId).execute()).length, 0, 'every session of the case ends')
  t.equal((await app.inject({ method: 'GET', url: '/return/thread', headers: { cookie: second.cookie } })).statusCode, 401)
  t.equal((await openCase(app, reporter.keys)).status, 404, 'the code no longer opens anything')
  t.equal((await db.selectFrom('case_keys').select('case_id').where('case_id', '=', reporter.caseId).execute()).length, 0, "the case's data key is destroyed")
  const audit = await db.selectFrom('case_audit_log').selectAll().where('action', '=', 'case.withdrawn_and_deleted').execute()
  t.equal(audit.length, 1)
  t.equal(audit[0]!.actor_id, reporter.caseId)
  t.ok((await db.selectFrom('cases').select('id').where('id', '=', other.caseId).execute()).length === 1, 'other cases are untouched')
})

t.test('the quick exit ends the session on the server too, even if the browser keeps the cookie', async (t) => {
  const { cookie } = await openCase(app, other.keys)
  t.equal((await app.inject({ method: 'GET', url: '/return/thread', headers: { cookie } })).statusCode, 200)
  const left = await app.inject({ method: 'POST', url: '/leave', headers: { cookie, 'sec-fetch-site': 'same-origin' } })
  t.equal(left.statusCode, 204)
  t.match(left.headers['clear-site-data'], /cookies/)
  t.equal((await app.inject({ method: 'GET', url: '/return/thread', headers: { cookie } })).statusCode, 401, 'the cookie opens nothing any more')
})

t.test("a session's times are sealed: the database keeps the day", async (t) => {
  await openCase(app, other.keys)
  const rows = await db.selectFrom('case_sessions').selectAll().where('case_id', '=', other.caseId).execute()
  t.ok(rows.length > 0)
  for (const row of rows) {
    t.match(row.created_on, /^\d{4}-\d{2}-\d{2}$/)
    t.same(Object.keys(row).sort(), ['case_id', 'created_on', 'csrf_token', 'times_sealed', 'token_hash'], 'no timestamp column')
  }
})

t.test('leaving ends the session', async (t) => {
  const { cookie, csrfToken } = await openCase(app, other.keys)
  t.equal((await app.inject({ method: 'POST', url: '/return/end', payload: {}, headers: { cookie, 'x-csrf-token': csrfToken } })).statusCode, 204)
  t.equal((await app.inject({ method: 'GET', url: '/return/thread', headers: { cookie } })).statusCode, 401)
  t.equal((await app.inject({ method: 'GET', url: `/return/evidence/${randomUUID()}`, headers: { cookie } })).statusCode, 401)
})
