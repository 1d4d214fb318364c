import t from 'tap'
import { randomBytes, randomUUID } from 'node:crypto'
import { base64url, MAX_ENCRYPTED_EVIDENCE_BYTES, openEnvelope, fromUtf8, messageContext } from '../../crypto/index.ts'
import { rotateGroupKeys } from '../../crypto/staff-keys.ts'
import { seedService } from '../../scripts/lib/staff-fixtures.ts'
import { buildTestApp } from '../helpers/app.ts'
import { freshAddress } from '../helpers/staff.ts'
import { disclosureBody, encryptedFile, newReporter, sealFromReporter, servicePublic, storedMessage, submit, upload } from '../helpers/reporter.ts'

/**
 * /report: the pages, the key chain, encrypted uploads and the submission, with every refusal the
 * issue lists (not an envelope, bound to another case, not sealed to the service, oversized, files
 * not received, a different body for a known case, cross-site, floods), each leaving nothing stored;
 * the same submission again is answered as received (test/integration/submission-floods.test.ts has more).
 */

const { app, logs, serviceKeys } = await buildTestApp(t)
const db = app.database.db
const CANARY = 'canary-7f3a-report-test'

const counts = async () => ({
  cases: (await db.selectFrom('cases').select('id').execute()).length,
  messages: (await db.selectFrom('case_messages').select('id').execute()).length,
  attached: (await db.selectFrom('case_evidence').select('id').where('case_id', 'is not', null).execute()).length,
})

t.test('before the IDVA service exists, the form is not offered and nothing is accepted', async (t) => {
  const { app } = await buildTestApp(t)
  const db = app.database.db
  const counts = async () => ({
    cases: (await db.selectFrom('cases').select('id').execute()).length,
    messages: (await db.selectFrom('case_messages').select('id').execute()).length,
    attached: (await db.selectFrom('case_evidence').select('id').where('case_id', 'is not', null).execute()).length,
  })
  const page = await app.inject({ method: 'GET', url: '/report' })
  t.equal(page.statusCode, 200)
  t.match(page.body, /The portal is not open yet/)
  t.notMatch(page.body, /data-report=/)
  t.equal((await app.inject({ method: 'GET', url: '/report/keys' })).statusCode, 503)
  const reporter = await newReporter()
  const body = await disclosureBody(reporter, { encryption: randomBytes(32), signing: randomBytes(32) })
  const response = await submit(app, body)
  t.equal(response.statusCode, 503)
  t.match(response.json().message, /not open yet/)
  t.same(await counts(), { cases: 0, messages: 0, attached: 0 })
})

const service = await seedService(db, { keys: serviceKeys })
const servicePublicKeys = servicePublic(service.keys)

t.test('the report page: questions switched off until the script can encrypt, no form to submit, steps as fragments', async (t) => {
  const page = await app.inject({ method: 'GET', url: '/report' })
  t.equal(page.statusCode, 200)
  t.equal(page.headers['cache-control'], 'no-store')
  t.match(page.body, /data-page="report"/)
  t.match(page.body, /data-crypto-missing/)
  t.match(page.body, /data-service-fingerprint/)
  t.notMatch(page.body, /<form/i, 'no form a browser could submit in plain text')
  t.match(page.body, /<fieldset class="report-step__fields" data-step-fields="" disabled>/)
  for (let step = 2; step <= 6; step++) {
    const fragment = await app.inject({ method: 'GET', url: `/report/steps/${step}`, headers: { 'hx-request': 'true' } })
    t.equal(fragment.statusCode, 200)
    t.match(fragment.body, new RegExp(`data-step="${step}"`))
    t.notMatch(fragment.body, /<html/i, 'a fragment, not a page')
  }
  t.match((await app.inject({ method: 'GET', url: '/report/steps/3' })).body, /Where do you live\?/)
  t.equal((await app.inject({ method: 'GET', url: '/report/steps/7' })).statusCode, 404)
  t.equal((await app.inject({ method: 'GET', url: '/report/steps/x' })).statusCode, 404)
  const landing = await app.inject({ method: 'GET', url: '/' })
  t.match(landing.body, /href="\/report"/)
  t.match(landing.body, /href="\/return"/)
})

t.test('the key chain starts at the published key', async (t) => {
  const chain = (await app.inject({ method: 'GET', url: '/report/keys' })).json()
  t.equal(chain.serviceId, 'idva-service')
  t.equal(chain.generations.length, 1)
  t.equal(chain.generations[0].x25519, base64url.encode(service.keys.encryption.publicKey))
  t.equal(chain.generations[0].certificate, null)
})

t.test('a disclosure with a file is stored as an envelope and an encrypted file, and only the service can read it', async (t) => {
  const file = await encryptedFile(new TextEncoder().encode(`photo bytes ${CANARY}`))
  const uploaded = await upload(app, file.encrypted)
  t.equal(uploaded.statusCode, 201, uploaded.body)
  const { id, token } = uploaded.json<{ id: string; token: string }>()
  const staged = await db.selectFrom('case_evidence').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
  t.equal(staged.case_id, null, 'held unclaimed until the disclosure arrives')
  t.match(staged.staged_on, /^\d{4}-\d{2}-\d{2}$/, 'the day it arrived, not the time')
  const pieces = await db.selectFrom('case_evidence_pieces').select('sealed').where('evidence_id', '=', id).execute()
  t.ok(pieces.length > 0 && pieces.every((piece) => !piece.sealed.includes(Buffer.from(file.encrypted.subarray(0, 64)))), 'stored in pieces, each sealed at rest under a key only its token gives')

  const reporter = await newReporter()
  const content = { v: 1, text: `what is happening ${CANARY}`, answers: { abuseTypes: ['controlling_or_coercive'] }, evidence: [{ id, fileId: base64url.encode(file.key.fileId), key: base64url.encode(file.key.key), name: 'photo.jpg', type: 'image/jpeg', size: 10 }] }
  const body = await disclosureBody(reporter, servicePublicKeys, content, [{ id, token }])
  const response = await submit(app, body)
  t.equal(response.statusCode, 201, response.body)
  t.same(response.json(), { received: true, alreadyReceived: false, firstReplyTargetDays: 2 })

  const row = await db.selectFrom('cases').selectAll().where('id', '=', reporter.caseId).executeTakeFirstOrThrow()
  t.equal(row.status, 'new')
  t.equal(row.kind, 'disclosure')
  t.match(row.created_on, /^\d{4}-\d{2}-\d{2}$/, 'a day, not a time')
  t.equal(row.message_count, 1)
  t.equal(row.evidence_count, 1)
  const message = await db.selectFrom('case_messages').selectAll().where('case_id', '=', reporter.caseId).executeTakeFirstOrThrow()
  t.equal(message.seq, 1)
  t.ok([256, 512, 1024, 2048].includes(message.padded_size), 'a padded size, not the length')
  t.notOk(message.envelope.includes(Buffer.from(base64url.decode(body.envelope, 'envelope').subarray(0, 64))), 'the envelope is sealed at rest')
  const opened = await openEnvelope(await storedMessage(app, message), { caseId: reporter.caseId, keys: [service.keys.encryption], trustedSigners: [reporter.keys.auth.publicKey], context: messageContext(1, message.id) })
  t.match(fromUtf8(opened.plaintext), CANARY, 'the service can read it')
  const attached = await db.selectFrom('case_evidence').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
  t.equal(attached.case_id, reporter.caseId)
  t.equal(attached.message_id, message.id)
  t.equal(attached.upload_token_hash, null)
  t.equal(attached.staged_on, null)
  t.ok((await db.selectFrom('case_audit_log').selectAll().where('action', '=', 'case.submitted').execute()).some((entry) => entry.actor_id === reporter.caseId))

  const repeat = await submit(app, body)
  t.equal(repeat.statusCode, 200, 'the same disclosure again (its answer was lost) is answered as received')
  t.equal(repeat.json().alreadyReceived, true)
  t.equal((await db.selectFrom('cases').select('id').where('id', '=', reporter.caseId).execute()).length, 1, 'and stored once')
  const replay = await submit(app, { ...body, ...(await sealFromReporter(reporter, servicePublicKeys, { messageId: body.messageId, content: { v: 1, text: 'another version', evidence: [] } })) })
  t.equal(replay.statusCode, 409, 'a different body for a case that exists is refused')
  t.notOk(logs.text().includes(CANARY))
  t.notOk(logs.text().includes(body.lookupId), 'the lookup value is not logged')
  t.notOk(logs.text().includes(reporter.code.split(' ')[0]! + ' ' + reporter.code.split(' ')[1]!), 'nor the code')
})

t.test('bad submissions get a clear 4xx and store nothing', async (t) => {
  const before = await counts()
  const reporter = await newReporter()
  const good = await disclosureBody(reporter, servicePublicKeys)
  const cases: [string, Record<string, unknown>, number, RegExp][] = [
    ['not an object', [] as unknown as Record<string, unknown>, 400, /JSON object/],
    ['a case id that is not a UUID', { ...good, caseId: 'case-1' }, 400, /caseId/],
    ['not an envelope', { ...good, envelope: base64url.encode(randomBytes(300)) }, 400, /not a message this portal can store/],
    ['an envelope bound to another case', { ...good, ...(await sealFromReporter(reporter, servicePublicKeys, { caseId: randomUUID(), messageId: good.messageId })) }, 400, /different case/],
    ['an envelope for another place in the thread', { ...good, ...(await sealFromReporter(reporter, servicePublicKeys, { seq: 2, messageId: good.messageId })) }, 400, /different case/],
    ['an envelope signed by another case key', { ...good, authPublic: base64url.encode((await newReporter()).keys.auth.publicKey) }, 400, /different case/],
    ['an envelope the service cannot read', { ...good, ...(await sealFromReporter(reporter, servicePublicKeys, { messageId: good.messageId, recipients: [randomKey(), reporter.keys.reply.publicKey] })) }, 400, /right keys|changed its key/],
    ['an envelope with an extra reader', { ...good, ...(await sealFromReporter(reporter, servicePublicKeys, { messageId: good.messageId, recipients: [servicePublicKeys.encryption, reporter.keys.reply.publicKey, randomKey()] })) }, 400, /right keys/],
    ['a message kind that is not a disclosure', { ...good, ...(await sealFromReporter(reporter, servicePublicKeys, { kind: 'reporter_message', messageId: good.messageId })) }, 400, /not a message/],
    ['a file that was never uploaded', { ...good, uploads: [{ id: randomUUID(), token: base64url.encode(randomBytes(32)) }] }, 400, /files was not received/],
    ['the same file twice', { ...good, uploads: [{ id: good.messageId, token: base64url.encode(randomBytes(32)) }, { id: good.messageId, token: base64url.encode(randomBytes(32)) }] }, 400, /named twice/],
  ]
  for (const [what, body, status, message] of cases) {
    const response = await submit(app, body)
    t.equal(response.statusCode, status, what)
    t.match(response.json().message, message, what)
    t.notMatch(response.body, /at .*\.ts:\d+/, 'no stack trace')
  }
  // A real upload with the wrong token: refused, and the case is not half-written.
  const file = await encryptedFile(randomBytes(100))
  const { id } = (await upload(app, file.encrypted)).json<{ id: string }>()
  const wrongToken = await submit(app, { ...good, uploads: [{ id, token: base64url.encode(randomBytes(32)) }] })
  t.equal(wrongToken.statusCode, 400)
  t.same(await counts(), before, 'nothing stored by any refusal')
  t.equal((await db.selectFrom('case_evidence').select('case_id').where('id', '=', id).executeTakeFirstOrThrow()).case_id, null, 'the upload is still unclaimed')

  const crossSite = await submit(app, good, { 'sec-fetch-site': 'cross-site' })
  t.equal(crossSite.statusCode, 403)
  const tooLarge = await app.inject({ method: 'POST', url: '/report', payload: { ...good, envelope: 'A'.repeat(1_700_000) }, remoteAddress: freshAddress() })
  t.equal(tooLarge.statusCode, 413)
  t.same(await counts(), before)
})

t.test('uploads must be encrypted evidence files within the limits', async (t) => {
  const notEvidence = await upload(app, randomBytes(70_000))
  t.equal(notEvidence.statusCode, 400)
  t.match(notEvidence.json().message, /not an encrypted file/)
  const oversized = await app.inject({ method: 'POST', url: '/report/uploads', payload: Buffer.alloc(MAX_ENCRYPTED_EVIDENCE_BYTES + 2048, 1), headers: { 'content-type': 'application/octet-stream' }, remoteAddress: freshAddress() })
  t.equal(oversized.statusCode, 413)
  const wrongType = await app.inject({ method: 'POST', url: '/report/uploads', payload: 'hello', headers: { 'content-type': 'text/plain' }, remoteAddress: freshAddress() })
  t.equal(wrongType.statusCode, 415)
  const file = await encryptedFile(randomBytes(10))
  t.equal((await upload(app, file.encrypted, { 'sec-fetch-site': 'cross-site' })).statusCode, 403)
})

t.test('a disclosure sealed to an old service key is refused with a 409 the browser can act on', async (t) => {
  // Stored just before the key changes; its answer is lost, and the browser sends it again after.
  const storedBefore = await disclosureBody(await newReporter(), servicePublicKeys)
  t.equal((await submit(app, storedBefore)).statusCode, 201)
  const rotation = await rotateGroupKeys(service.keys, service.id, 1)
  await db
    .insertInto('group_keys')
    .values({ group_id: service.id, generation: 2, x25519_public: Buffer.from(rotation.next.encryption.publicKey), ed25519_public: Buffer.from(rotation.next.signing.publicKey), rotation_certificate: Buffer.from(rotation.certificate), previous_keys_sealed: Buffer.from(rotation.previous), service_certificate: null, service_generation: null, created_by: null })
    .execute()
  for (const when of ['before this instance has read the new key', 'after']) {
    const again = await submit(app, storedBefore)
    t.equal(again.statusCode, 200, `a repeat of a case stored before the change is still received (${when})`)
    t.equal(again.json().alreadyReceived, true)
  }
  const reporter = await newReporter()
  const stale = await submit(app, await disclosureBody(reporter, servicePublicKeys))
  t.equal(stale.statusCode, 409)
  t.match(stale.json().message, /changed its key/)
  const chain = (await app.inject({ method: 'GET', url: '/report/keys' })).json()
  t.equal(chain.generations.length, 2)
  t.equal(chain.generations[1].certificate, base64url.encode(rotation.certificate))
  const fresh = await submit(app, await disclosureBody(reporter, servicePublic(rotation.next)))
  t.equal(fresh.statusCode, 201, fresh.body)

  // Another rotation, made through another instance: this one has not read it, and a message
  // sealed to the newest key is taken at once (the chain is read again and checked against the pin).
  const third = await rotateGroupKeys(rotation.next, service.id, 2)
  await db
    .insertInto('group_keys')
    .values({ group_id: service.id, generation: 3, x25519_public: Buffer.from(third.next.encryption.publicKey), ed25519_public: Buffer.from(third.next.signing.publicKey), rotation_certificate: Buffer.from(third.certificate), previous_keys_sealed: Buffer.from(third.previous), service_certificate: null, service_generation: null, created_by: null })
    .execute()
  const newest = await submit(app, await disclosureBody(await newReporter(), servicePublic(third.next)))
  t.equal(newest.statusCode, 201, 'sealed to a generation this instance had not seen yet')
  t.equal((await submit(app, await disclosureBody(await newReporter(), servicePublic(rotation.next)))).statusCode, 409, 'and the one before is now stale')
})

t.test('per-address limits, and a global cap answered with 503 and Retry-After', async (t) => {
  const address = freshAddress()
  let last = 0
  for (let attempt = 0; attempt < 31; attempt++) last = (await app.inject({ method: 'POST', url: '/report', payload: {}, remoteAddress: address })).statusCode
  t.equal(last, 429, 'one address cannot flood submissions')

  const capped = await buildTestApp(t, { env: { CASES_PER_HOUR: '1' } })
  const cappedService = await seedService(capped.app.database.db, { keys: capped.serviceKeys })
  const first = await submit(capped.app, await disclosureBody(await newReporter(), servicePublic(cappedService.keys)))
  t.equal(first.statusCode, 201)
  const second = await submit(capped.app, await disclosureBody(await newReporter(), servicePublic(cappedService.keys)))
  t.equal(second.statusCode, 503)
  t.ok(Number(second.headers['retry-after']) > 0)
  t.match(second.json().message, /try again in/)
  t.equal((await capped.app.database.db.selectFrom('cases').select('id').execute()).length, 1)
})

function randomKey(): Uint8Array {
  return new Uint8Array(randomBytes(32))
}
