import t from 'tap'
import { randomBytes, randomUUID } from 'node:crypto'
import { connect } from 'node:net'
import { PassThrough, Readable } from 'node:stream'
import { sql, type Kysely } from 'kysely'
import type { FastifyInstance } from 'fastify'
import { MAX_ENCRYPTED_EVIDENCE_BYTES } from '../../crypto/index.ts'
import { beginUpload, caseKey, caseLabel, deleteUnclaimedUploads, EVIDENCE_PIECE_BYTES, storeUploadPiece } from '../../server/features/cases/repository.ts'
import { sealAtRest } from '../../server/security/case-vault.ts'
import { CounterNames } from '../../server/security/counters.ts'
import { baseUrl, buildTestApp } from '../helpers/app.ts'
import { seedReferralWorld } from '../helpers/referrals.ts'
import { disclosureBody, encryptedFile, newReporter, openCase, servicePublic, submit, upload, type Reporter } from '../helpers/reporter.ts'
import { asStaff, freshAddress } from '../helpers/staff.ts'

/**
 * Evidence uploads streamed to storage, capped and refused early (issue 19, point 4): a file is
 * stored in sealed pieces as it arrives and checked as it streams; it is refused from its headers
 * alone (413, 400, 415, 429, 503, with Retry-After) before any of its body is read; uploads at once
 * and bytes an hour are capped per address and in all (the hourly ones shared by instances); the
 * pieces fail closed when a database insider reorders, drops, changes or swaps them; and they go
 * with the clean-up of unclaimed uploads, withdrawal and retention. On PGlite and PostgreSQL.
 */

const { app, serviceKeys, testDatabase, logs } = await buildTestApp(t, { listen: true })
const db = app.database.db
const { service, asIdva } = await seedReferralWorld(app, serviceKeys)
const URL_PATH = '/report/uploads'
const OCTET = { 'content-type': 'application/octet-stream' }

/** Set-up checks (no top-level assertion may come before the subtests). */
function expectStatus(response: { statusCode: number; body: string }, status: number): void {
  if (response.statusCode !== status) throw new Error(`expected ${status}, got ${response.statusCode}: ${response.body}`)
}

/** An encrypted file of `chunks` chunks (25 + chunks × 65,553 bytes). */
function fileOf(chunks: number) {
  return encryptedFile(randomBytes((chunks - 1) * 65_536 + 10))
}

/** A disclosure claiming these uploads; its reporter. */
async function caseWith(app: FastifyInstance, files: { id: string; token: string }[], keys = serviceKeys): Promise<Reporter> {
  const reporter = await newReporter()
  expectStatus(await submit(app, await disclosureBody(reporter, servicePublic(keys), undefined, files)), 201)
  return reporter
}

/** Staged rows still arriving (admitted, not yet whole). */
async function arriving(on: FastifyInstance = app): Promise<number> {
  return (await on.database.db.selectFrom('case_evidence').select('id').where('case_id', 'is', null).where('size', '=', 0).execute()).length
}

async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  for (let waited = 0; waited < 10_000; waited += 25) {
    if (await condition()) return
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  throw new Error(`timed out waiting for ${what}`)
}

/** An upload whose body the test sends later (or never): the request, and its body to write to. */
function heldUpload(on: FastifyInstance, remoteAddress: string, declared?: number) {
  const body = new PassThrough()
  const response = on.inject({ method: 'POST', url: URL_PATH, payload: body, headers: { ...OCTET, ...(declared === undefined ? {} : { 'content-length': String(declared) }) }, remoteAddress })
  return { body, response }
}

t.test('a file arrives in pieces, each sealed and bound to its place; claimed whole; both downloads give back exactly the bytes sent', async (t) => {
  const big = await fileOf(20)
  const small = await fileOf(1)
  // Sent in chunks of odd sizes with no declared length, as a client may.
  const body = Readable.from((function* () {
    for (let at = 0; at < big.encrypted.length; at += 10_007) yield Buffer.from(big.encrypted.subarray(at, at + 10_007))
  })())
  const streamed = await app.inject({ method: 'POST', url: URL_PATH, payload: body, headers: OCTET, remoteAddress: freshAddress() })
  t.equal(streamed.statusCode, 201, streamed.body)
  const bigUpload = streamed.json<{ id: string; token: string }>()
  const smallResponse = await upload(app, small.encrypted)
  t.equal(smallResponse.statusCode, 201)
  const smallUpload = smallResponse.json<{ id: string; token: string }>()

  const pieces = await db.selectFrom('case_evidence_pieces').select(['piece', 'sealed']).where('evidence_id', '=', bigUpload.id).orderBy('piece').execute()
  const expected = Math.ceil(big.encrypted.length / EVIDENCE_PIECE_BYTES)
  t.equal(expected, 6, 'a file of 20 chunks makes six pieces')
  t.same(pieces.map((piece) => piece.piece), [0, 1, 2, 3, 4, 5], 'in order from 0')
  for (const piece of pieces) {
    const start = piece.piece * EVIDENCE_PIECE_BYTES
    t.notOk(piece.sealed.includes(Buffer.from(big.encrypted.subarray(start, start + 64))), `piece ${piece.piece} is sealed at rest`)
  }
  const row = await db.selectFrom('case_evidence').select(['size', 'encrypted', 'pieces_sealed']).where('id', '=', bigUpload.id).executeTakeFirstOrThrow()
  t.equal(row.size, big.encrypted.length)
  t.equal(row.encrypted, null, 'nothing is stored whole')
  t.ok(row.pieces_sealed !== null, 'its piece record is written once the whole file checked out')

  const reporter = await caseWith(app, [bigUpload, smallUpload])
  for (const [file, uploaded] of [[big, bigUpload], [small, smallUpload]] as const) {
    const byIdva = await asStaff(app, asIdva, { method: 'GET', url: `/staff/cases/${reporter.caseId}/evidence/${uploaded.id}` })
    t.equal(byIdva.statusCode, 200)
    t.equal(byIdva.headers['content-length'], String(file.encrypted.length))
    t.ok(byIdva.rawPayload.equals(Buffer.from(file.encrypted)), 'the IDVA receives the bytes the browser sent')
  }
  const session = await openCase(app, reporter.keys)
  const byReporter = await app.inject({ method: 'GET', url: `/return/evidence/${bigUpload.id}`, headers: { cookie: session.cookie } })
  t.equal(byReporter.statusCode, 200)
  t.equal(byReporter.headers['content-type'], 'application/octet-stream')
  t.equal(byReporter.headers['content-disposition'], 'attachment')
  t.ok(byReporter.rawPayload.equals(Buffer.from(big.encrypted)), 'and so does the person, at /return')
})

t.test('a file stored whole before files were kept in pieces still downloads as before', async (t) => {
  const file = await fileOf(2)
  const reporter = await caseWith(app, [])
  const dataKey = await caseKey(db, app.vault, reporter.caseId)
  const message = await db.selectFrom('case_messages').select('id').where('case_id', '=', reporter.caseId).executeTakeFirstOrThrow()
  const id = randomUUID()
  const fileKey = randomBytes(32)
  await db
    .insertInto('case_evidence')
    .values({
      id,
      case_id: reporter.caseId,
      message_id: message.id,
      upload_token_hash: null,
      encrypted: sealAtRest(fileKey, caseLabel.upload(id), file.encrypted),
      pieces_sealed: null,
      size: file.encrypted.length,
      staged_on: null,
      expiry_sealed: null,
      key_wrapped: sealAtRest(dataKey!, caseLabel.evidenceKey(reporter.caseId, id), fileKey),
      sealed: true,
    })
    .execute()
  const response = await asStaff(app, asIdva, { method: 'GET', url: `/staff/cases/${reporter.caseId}/evidence/${id}` })
  t.equal(response.statusCode, 200)
  t.ok(response.rawPayload.equals(Buffer.from(file.encrypted)))
})

/** Sends a request head (and no body) on a raw socket; resolves with the answer's status and headers, and how long it took. */
function headOnly(lines: string[]): Promise<{ status: number; headers: Record<string, string>; ms: number }> {
  const { port } = new URL(baseUrl(app))
  return new Promise((resolve, reject) => {
    const began = Date.now()
    const socket = connect(Number(port), '127.0.0.1')
    let received = ''
    socket.on('error', reject)
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1')
      const end = received.indexOf('\r\n\r\n')
      if (end < 0) return
      const [statusLine = '', ...rest] = received.slice(0, end).split('\r\n')
      const headers = Object.fromEntries(rest.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]))
      socket.destroy()
      resolve({ status: Number(statusLine.split(' ')[1]), headers, ms: Date.now() - began })
    })
    socket.write([`POST ${URL_PATH} HTTP/1.1`, 'Host: 127.0.0.1', ...lines, '', ''].join('\r\n'))
  })
}

t.test('refused from the headers alone, before any of the body is read', async (t) => {
  const before = await db.selectFrom('case_evidence').select('id').execute()
  const huge = await headOnly(['Content-Type: application/octet-stream', 'Content-Length: 1000000000'])
  t.equal(huge.status, 413, 'a declared gigabyte that never comes is answered at once')
  t.ok(huge.ms < 5_000, `in ${huge.ms} ms`)
  t.equal(huge.headers.connection, 'close', 'and the connection closes rather than wait for the body')
  t.equal((await headOnly(['Content-Type: application/octet-stream', `Content-Length: ${MAX_ENCRYPTED_EVIDENCE_BYTES + 1}`])).status, 413, 'one byte over the largest file')
  t.equal((await headOnly(['Content-Type: application/octet-stream', 'Content-Length: 1000'])).status, 400, 'a length no encrypted file has')
  t.equal((await headOnly(['Content-Type: text/plain', 'Content-Length: 10'])).status, 415)
  t.equal((await headOnly(['Content-Type: application/octet-stream', 'Content-Length: 65578', 'Sec-Fetch-Site: cross-site'])).status, 403)
  t.same(await db.selectFrom('case_evidence').select('id').execute(), before, 'nothing staged')
})

t.test('checked as it streams: the first byte that cannot be an encrypted file stops it, and nothing is left', async (t) => {
  const staged = async () => (await db.selectFrom('case_evidence').select('id').where('case_id', 'is', null).execute()).length
  const before = await staged()
  // Another version in the first byte, on a body that never ends: answered without waiting for it.
  const wrongVersion = heldUpload(app, freshAddress())
  wrongVersion.body.write(Buffer.concat([Buffer.of(2), randomBytes(1000)]))
  const refused = await wrongVersion.response
  wrongVersion.body.destroy()
  t.equal(refused.statusCode, 400)
  t.match(refused.json().message, /not an encrypted file/)

  // No declared length, and more than any file: refused as soon as it passes the limit.
  let sent = 0
  const endless = Readable.from(
    (function* () {
      yield Buffer.concat([Buffer.of(1), Buffer.alloc((1 << 20) - 1)])
      for (;;) {
        sent += 1 << 20
        yield Buffer.alloc(1 << 20)
      }
    })(),
    { objectMode: false },
  )
  const tooLarge = await app.inject({ method: 'POST', url: URL_PATH, payload: endless, headers: OCTET, remoteAddress: freshAddress() })
  endless.destroy()
  t.equal(tooLarge.statusCode, 413)
  t.match(tooLarge.json().message, /up to 25 MB/)
  t.ok(sent < MAX_ENCRYPTED_EVIDENCE_BYTES + 8 * (1 << 20), 'reading stopped just past the limit')

  // A body that ends part-way through a chunk, or short of its declared length.
  const file = await fileOf(3)
  t.equal((await upload(app, file.encrypted.subarray(0, file.encrypted.length - 100))).statusCode, 400, 'part-way through a chunk')
  const short = heldUpload(app, freshAddress(), file.encrypted.length)
  short.body.end(Buffer.from(file.encrypted.subarray(0, 65_578)))
  t.equal((await short.response).statusCode, 400, 'short of its declared length')
  // The client goes away half-way.
  const gone = heldUpload(app, freshAddress(), file.encrypted.length)
  gone.body.write(Buffer.from(file.encrypted.subarray(0, 70_000)))
  await until(async () => (await arriving()) > 0, 'the upload to start')
  gone.body.destroy(new Error('the connection closed'))
  await t.rejects(gone.response, 'nobody is left to answer')
  await until(async () => (await arriving()) === 0, 'the part-way upload to be removed')
  t.equal(await staged(), before, 'nothing of any of them is left')
  t.equal((await db.selectFrom('case_evidence_pieces').innerJoin('case_evidence', 'case_evidence.id', 'case_evidence_pieces.evidence_id').select('piece').where('case_evidence.case_id', 'is', null).where('case_evidence.size', '=', 0).execute()).length, 0, 'not one piece')
})

t.test('uploads at once: each address its share, then the instance\'s, refused at once with Retry-After; places given back', async (t) => {
  const { app: capped } = await buildTestApp(t, { env: { UPLOADS_AT_ONCE: '3', UPLOADS_AT_ONCE_PER_ADDRESS: '2' }, serviceKeys, testDatabase, prepare: false })
  const file = await fileOf(2)
  const length = file.encrypted.length
  const start = await arriving(capped)
  // Two addresses in one IPv6 /64 are one address here.
  const first = heldUpload(capped, '2001:db8:5:6::1', length)
  const second = heldUpload(capped, '2001:db8:5:6::ffff', length)
  await until(async () => (await arriving(capped)) === start + 2, 'two uploads to be admitted')
  const third = heldUpload(capped, '2001:db8:5:6:1:2:3:4', length)
  const busy = await third.response
  third.body.destroy()
  t.equal(busy.statusCode, 429, 'a third from the same /64 waits its turn')
  t.equal(busy.headers['retry-after'], '60')
  t.match(busy.json().message, /already being sent from your connection.*without files/)
  const other = heldUpload(capped, freshAddress(), length)
  await until(async () => (await arriving(capped)) === start + 3, 'a third address to be admitted')
  const full = heldUpload(capped, freshAddress(), length)
  const refused = await full.response
  full.body.destroy()
  t.equal(refused.statusCode, 503, 'beyond the instance\'s places: 503 for anyone')
  t.equal(refused.headers['retry-after'], '60')
  t.match(refused.json().message, /receiving a lot of files.*without files/)
  for (const held of [first, second, other]) held.body.end(Buffer.from(file.encrypted))
  for (const held of [first, second, other]) t.equal((await held.response).statusCode, 201, 'the admitted ones arrive whole')
  const again = await capped.inject({ method: 'POST', url: URL_PATH, payload: Buffer.from(file.encrypted), headers: OCTET, remoteAddress: '2001:db8:5:6::1' })
  t.equal(again.statusCode, 201, 'places are given back when uploads end')
})

t.test('bytes an hour: each address its share, then the portal\'s, counted in the database and shared by instances', async (t) => {
  const env = { UPLOAD_MB_PER_HOUR_PER_ADDRESS: '1', UPLOAD_MB_PER_HOUR: '2' }
  const { testDatabase: fresh, app: one, serviceKeys: keys } = await buildTestApp(t, { env })
  await seedReferralWorld(one, keys)
  const { app: two } = await buildTestApp(t, { env, serviceKeys: keys, testDatabase: fresh, prepare: false })
  // 655,555 bytes (641 KiB): one fits an address's 1 MiB, two do not; three fit the portal's 2 MiB, four do not.
  const file = await fileOf(10)
  const send = (on: FastifyInstance, remoteAddress: string) => on.inject({ method: 'POST', url: URL_PATH, payload: Buffer.from(file.encrypted), headers: OCTET, remoteAddress })
  const a = freshAddress()
  t.equal((await send(one, a)).statusCode, 201)
  const share = await send(two, a)
  t.equal(share.statusCode, 429, 'the same address at another instance: its share is used')
  t.ok(Number(share.headers['retry-after']) > 0 && Number(share.headers['retry-after']) <= 3600, 'Retry-After: the end of the hour')
  t.match(share.json().message, /this hour.*try again in .*without files/)
  t.equal((await send(one, freshAddress())).statusCode, 201)
  t.equal((await send(two, freshAddress())).statusCode, 201)
  const portal = await send(one, freshAddress())
  t.equal(portal.statusCode, 503, 'then the portal\'s hour is used, for everyone, at either instance')
  t.ok(Number(portal.headers['retry-after']) > 0)
  t.match(portal.json().message, /as many files as it can take this hour/)
  t.equal((await send(two, freshAddress())).statusCode, 503)
  const counters = await sql<{ counter: string }>`SELECT counter FROM rate_limit_counter`.execute(one.database.db)
  t.notOk(counters.rows.some((row) => row.counter.includes('10.')), 'the counters name no address')
})

t.test('uploads no message has claimed are held up to UPLOAD_MB_UNCLAIMED: a flood cannot park days of files on the disk', async (t) => {
  const { app: capped, serviceKeys: keys } = await buildTestApp(t, { env: { UPLOAD_MB_UNCLAIMED: '1' } })
  await seedReferralWorld(capped, keys)
  // 655,555 bytes (641 KiB): one fits in 1 MiB held, two do not.
  const file = await fileOf(10)
  const send = () => capped.inject({ method: 'POST', url: URL_PATH, payload: Buffer.from(file.encrypted), headers: OCTET, remoteAddress: freshAddress() })
  const first = await send()
  t.equal(first.statusCode, 201)
  const parked = await send()
  t.equal(parked.statusCode, 503, 'a second would take what is held past the cap, from another address too')
  t.ok(Number(parked.headers['retry-after']) > 0, 'with Retry-After')
  t.match(parked.json().message, /holding as many files as it can.*without files/)
  await caseWith(capped, [first.json<{ id: string; token: string }>()], keys)
  t.equal((await send()).statusCode, 201, 'once a message claims the first, there is room again')
})

t.test('a declared length that never arrives uses none of the hour', async (t) => {
  const { app: capped, serviceKeys: keys } = await buildTestApp(t, { env: { UPLOAD_MB_PER_HOUR_PER_ADDRESS: '1' } })
  await seedReferralWorld(capped, keys)
  const file = await fileOf(10)
  const address = freshAddress()
  const names = new CounterNames(capped.config.serverSecret)
  const reserved = async () => {
    const row = await capped.database.db.selectFrom('rate_limit_counter').select('hits').where('counter', '=', names.name('upload-kib', address, 3600).counter).executeTakeFirst()
    return row?.hits ?? 0
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    const abandoned = heldUpload(capped, address, file.encrypted.length)
    await until(async () => (await reserved()) === 641, 'the upload to reserve its 641 KiB')
    abandoned.body.destroy(new Error('the connection closed'))
    await t.rejects(abandoned.response, 'the client went away')
    await until(async () => (await reserved()) === 0, 'the reservation to be given back')
  }
  const send = () => capped.inject({ method: 'POST', url: URL_PATH, payload: Buffer.from(file.encrypted), headers: OCTET, remoteAddress: address })
  t.equal((await send()).statusCode, 201, 'three abandoned 641 KiB uploads left the address its whole 1 MiB')
  t.equal((await send()).statusCode, 429, 'which a real one then uses')
})

t.test('the database insider: pieces reordered, dropped, added, changed or swapped between files; the download fails closed', async (t) => {
  const fileX = await fileOf(20)
  const fileY = await fileOf(20)
  const x = (await upload(app, fileX.encrypted)).json<{ id: string; token: string }>()
  const y = (await upload(app, fileY.encrypted)).json<{ id: string; token: string }>()
  const reporter = await caseWith(app, [x, y])
  const url = (id: string) => `/staff/cases/${reporter.caseId}/evidence/${id}`
  // The insider: the tables' owner (row-level security still binds it, and lets it reach case tables).
  const asInsider = <T>(work: (owner: Kysely<any>) => Promise<T>) => app.database.asOwner(work)
  const original = await db.selectFrom('case_evidence_pieces').selectAll().where('evidence_id', 'in', [x.id, y.id]).execute()
  const restore = () =>
    asInsider(async (trx) => {
      await trx.deleteFrom('case_evidence_pieces').where('evidence_id', 'in', [x.id, y.id]).execute()
      await trx.insertInto('case_evidence_pieces').values(original).execute()
    })
  const sealedOf = (id: string, piece: number) => original.find((row) => row.evidence_id === id && row.piece === piece)!.sealed
  const renumber = (from: number, to: number) => sql`UPDATE case_evidence_pieces SET piece = ${to} WHERE evidence_id = ${x.id} AND piece = ${from}`

  const tampering: [string, () => Promise<unknown>][] = [
    ['two pieces reordered', () => asInsider(async (trx) => {
      await renumber(0, 100).execute(trx)
      await renumber(1, 0).execute(trx)
      await renumber(100, 1).execute(trx)
    })],
    ['the last piece dropped', () => asInsider((trx) => trx.deleteFrom('case_evidence_pieces').where('evidence_id', '=', x.id).where('piece', '=', 5).execute())],
    ['a middle piece dropped', () => asInsider((trx) => trx.deleteFrom('case_evidence_pieces').where('evidence_id', '=', x.id).where('piece', '=', 2).execute())],
    ['a piece added at the end', () => asInsider((trx) => trx.insertInto('case_evidence_pieces').values({ evidence_id: x.id, piece: 6, sealed: sealedOf(x.id, 5) }).execute())],
    ['a piece of another file put in its place', () => asInsider((trx) => trx.updateTable('case_evidence_pieces').set({ sealed: sealedOf(y.id, 1) }).where('evidence_id', '=', x.id).where('piece', '=', 1).execute())],
    ['a byte changed', () => asInsider((trx) => {
      const changed = Buffer.from(sealedOf(x.id, 0))
      changed[100]! ^= 1
      return trx.updateTable('case_evidence_pieces').set({ sealed: changed }).where('evidence_id', '=', x.id).where('piece', '=', 0).execute()
    })],
  ]
  for (const [what, tamper] of tampering) {
    await tamper()
    const response = await asStaff(app, asIdva, { method: 'GET', url: url(x.id) })
    t.equal(response.statusCode, 500, `${what}: refused before anything is sent`)
    t.match(response.json().message, /could not be opened on the server/, what)
    t.notOk(response.rawPayload.includes(Buffer.from(fileX.encrypted.subarray(0, 64))), `${what}: none of the file`)
    await restore()
  }

  // Found only further on (after the first pieces were sent): the connection is cut short of the declared length.
  await asInsider((trx) => trx.updateTable('case_evidence_pieces').set({ sealed: sealedOf(y.id, 5) }).where('evidence_id', '=', x.id).where('piece', '=', 5).execute())
  const late = await fetch(`${baseUrl(app)}${url(x.id)}`, { headers: { cookie: asIdva.cookie } })
  t.equal(late.status, 200)
  t.equal(late.headers.get('content-length'), String(fileX.encrypted.length))
  const received = await late.arrayBuffer().then((bytes) => bytes.byteLength, () => -1)
  t.ok(received < fileX.encrypted.length, 'the body stops short: no client takes it for the whole file')
  await restore()

  for (const [id, file] of [[x.id, fileX], [y.id, fileY]] as const) {
    const response = await asStaff(app, asIdva, { method: 'GET', url: url(id) })
    t.ok(response.statusCode === 200 && response.rawPayload.equals(Buffer.from(file.encrypted)), 'put back as stored, both download whole again')
  }
  t.notOk(logs.text().includes(Buffer.from(fileX.encrypted.subarray(0, 32)).toString('base64')), 'the log holds none of the file')
})

t.test('a file still arriving cannot be claimed; one left part-way goes with the clean-up of unclaimed uploads', async (t) => {
  // As a process that died while a file arrived leaves it: a staged row and some pieces, never completed.
  const id = randomUUID()
  const token = randomBytes(32)
  const key = await beginUpload(db, { id, token })
  await storeUploadPiece(db, key, id, 0, randomBytes(1000))
  const claim = await submit(app, await disclosureBody(await newReporter(), servicePublic(service.keys), undefined, [{ id, token: token.toString('base64url') }]))
  t.equal(claim.statusCode, 400)
  t.match(claim.json().message, /files was not received/)
  const complete = (await upload(app, (await fileOf(1)).encrypted)).json<{ id: string }>()
  await db.updateTable('case_evidence').set({ staged_on: sql<string>`current_date - 2` }).where('id', 'in', [id, complete.id]).execute()
  const today = (await upload(app, (await fileOf(1)).encrypted)).json<{ id: string }>()
  await deleteUnclaimedUploads(db)
  const left = (await db.selectFrom('case_evidence').select('id').where('id', 'in', [id, complete.id, today.id]).execute()).map((row) => row.id)
  t.same(left, [today.id], 'the part-way and the unclaimed one of two days ago go; today\'s stays')
  t.equal((await db.selectFrom('case_evidence_pieces').select('piece').where('evidence_id', 'in', [id, complete.id]).execute()).length, 0, 'with every piece')
})

t.test('withdrawal and retention take every piece of a case\'s files', async (t) => {
  const pieces = async (id: string) => (await db.selectFrom('case_evidence_pieces').select('piece').where('evidence_id', '=', id).execute()).length
  const withdrawn = (await upload(app, (await fileOf(5)).encrypted)).json<{ id: string; token: string }>()
  const reporter = await caseWith(app, [withdrawn])
  t.equal(await pieces(withdrawn.id), 2)
  const session = await openCase(app, reporter.keys)
  const response = await app.inject({ method: 'POST', url: '/return/withdraw', payload: { confirmed: true }, headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken } })
  t.equal(response.statusCode, 200)
  t.equal(await pieces(withdrawn.id), 0, 'withdrawn: no piece left')

  const expired = (await upload(app, (await fileOf(5)).encrypted)).json<{ id: string; token: string }>()
  const closed = await caseWith(app, [expired])
  await db.updateTable('cases').set({ status: 'closed', status_changed_on: sql<string>`current_date - 400` }).where('id', '=', closed.caseId).execute()
  const report = await app.retention.runOnce()
  t.equal(report.destroyed.closed_disclosure, 1)
  t.equal(await pieces(expired.id), 0, 'destroyed by retention: no piece left')
})
