import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { sql } from 'kysely'
import { verifyAuditChain } from '../../server/audit/verify.ts'
import { FullShares, MAX_FULL_SHARES } from '../../server/features/cases/intake.ts'
import { leadingZeroBits, puzzleInput } from '../../crypto/proof-of-work.ts'
import { seedService } from '../../scripts/lib/staff-fixtures.ts'
import { buildTestApp } from '../helpers/app.ts'
import { freshAddress } from '../helpers/staff.ts'
import { b64, disclosureBody, encryptedFile, newReporter, sealFromReporter, servicePublic, solvedPuzzle, submit, upload } from '../helpers/reporter.ts'

/**
 * Floods of new cases, written as the person who knows the portal and wants it switched off for an
 * afternoon: rotating addresses inside one network, reusing one solved puzzle, sending none; and a
 * reporter whose connection drops, sending the same case again (issue 19, points 1 and 5a).
 */

const { app, serviceKeys } = await buildTestApp(t)
const db = app.database.db
const service = servicePublic((await seedService(db, { keys: serviceKeys })).keys)
const caseCount = async () => (await db.selectFrom('cases').select('id').execute()).length
const hex = (bits: number) => randomBytes(4).readUInt32BE().toString(16).padStart(8, '0').slice(0, bits / 4)

/** An address inside the IPv6 /48 2001:db8:<network>::/48, in a random /64 of it. */
const inNetwork = (network: string) => `2001:db8:${network}:${hex(16)}:${hex(16)}:${hex(16)}:${hex(16)}:${hex(16)}`
/** Shares are per clock hour: a short test that counts them starts well inside one. */
async function insideOneHour(): Promise<void> {
  const left = 3_600_000 - (Date.now() % 3_600_000)
  if (left < 20_000) await new Promise((resolve) => setTimeout(resolve, left + 100))
}
/** Whether `puzzle`'s nonce happens to solve the puzzle for `caseId` as well, at the configured difficulty. */
function solves(puzzle: { challenge: string; nonce: string }, caseId: string): boolean {
  const input = puzzleInput(Buffer.from(puzzle.challenge, 'base64url'), caseId)
  input.set(Buffer.from(puzzle.nonce, 'base64url'), input.length - 8)
  return leadingZeroBits(createHash('sha256').update(input).digest()) >= app.config.proofOfWorkBits
}

const challengeOf = async () => (await app.inject({ method: 'GET', url: '/report/puzzle', remoteAddress: freshAddress() })).json<{ challenge: string; bits: number }>()

t.test('1,000 submissions in an hour from one /48 leave a genuine reporter able to send, and only a handful of cases in the queue', async (t) => {
  const before = await caseCount()
  // Shares are per clock hour: a run that crosses the hour may use the next hour's share too.
  const hour = () => Math.floor(Date.now() / 3_600_000)
  const startHour = hour()
  const statuses = new Map<number, number>()
  let withoutRetryAfter = 0
  const one = async () => {
    const response = await submit(app, await disclosureBody(await newReporter(), service), {}, inNetwork('a5a5'))
    statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1)
    if (response.statusCode === 429 && !(Number(response.headers['retry-after']) > 0)) withoutRetryAfter++
  }
  // Ten at a time, as a script would send them.
  for (let batch = 0; batch < 100; batch++) await Promise.all(Array.from({ length: 10 }, one))
  const accepted = statuses.get(201) ?? 0
  const hours = hour() - startHour + 1
  t.ok(accepted <= app.config.casesPerHourPerNetwork * hours, `at most the network's share was stored (${accepted} of 1,000, in ${hours} clock hour${hours === 1 ? '' : 's'})`)
  t.equal(accepted + (statuses.get(429) ?? 0), 1000, `every other one was refused as over its share: ${JSON.stringify(Object.fromEntries(statuses))}`)
  t.equal((await caseCount()) - before, accepted, 'the queue holds only those')
  t.equal(withoutRetryAfter, 0, 'every refusal says when to try again')

  const genuine = await submit(app, await disclosureBody(await newReporter(), service), {}, '2001:db8:77:1::1')
  t.equal(genuine.statusCode, 201, 'a reporter from another network is received')
  const neighbour = await submit(app, await disclosureBody(await newReporter(), service), {}, '198.51.100.7')
  t.equal(neighbour.statusCode, 201, 'and one on IPv4')
})

t.test('each address, and each network it is in, has its own share', async (t) => {
  await insideOneHour()
  const address = '203.0.113.9'
  const results: number[] = []
  for (let index = 0; index < app.config.casesPerHourPerAddress + 1; index++) results.push((await submit(app, await disclosureBody(await newReporter(), service), {}, address)).statusCode)
  t.same(results, [...Array<number>(app.config.casesPerHourPerAddress).fill(201), 429], 'one IPv4 address: its share, then 429')
  const refused = await submit(app, await disclosureBody(await newReporter(), service), {}, address)
  t.match(refused.json().message, /A lot has been sent from your connection.*If you are in danger now, call 999/)
  t.notMatch(refused.json().message, /you (did|have done) (something )?wrong/i)
  // The rest of its /24 shares what is left of the network's share.
  const next = await submit(app, await disclosureBody(await newReporter(), service), {}, '203.0.113.10')
  const after = await submit(app, await disclosureBody(await newReporter(), service), {}, '203.0.113.11')
  const third = await submit(app, await disclosureBody(await newReporter(), service), {}, '203.0.113.12')
  t.same([next.statusCode, after.statusCode, third.statusCode], [201, 201, 429], 'its /24 is held to the network share (6)')
  t.equal((await submit(app, await disclosureBody(await newReporter(), service), {}, '203.0.114.1')).statusCode, 201, 'the next /24 is not')
})

t.test("a network's share is never more than 5% of the global cap", async (t) => {
  await insideOneHour()
  const small = await buildTestApp(t, { env: { CASES_PER_HOUR: '40', CASES_PER_HOUR_PER_ADDRESS: '1', CASES_PER_HOUR_PER_NETWORK: '10' } })
  const smallService = servicePublic((await seedService(small.app.database.db, { keys: small.serviceKeys })).keys)
  const codes: number[] = []
  for (let index = 0; index < 4; index++) codes.push((await submit(small.app, await disclosureBody(await newReporter(), smallService), {}, inNetwork('beef'))).statusCode)
  t.same(codes, [201, 201, 429, 429], 'a /48 gets 2 of 40 an hour')
})

t.test('the proof of work: required, bound to its case, and unforgeable', async (t) => {
  const reporter = await newReporter()
  const body = await disclosureBody(reporter, service)
  const without = await submit(app, { ...body, puzzle: undefined })
  t.equal(without.statusCode, 400)
  t.equal(without.headers['sd-puzzle'], 'renew', 'the page knows to get a new puzzle')
  t.match(without.json().message, /get ready again/)

  // At the tests' 4 bits, one nonce in 16 solves any puzzle by chance: the wrong answers below are
  // drawn until they truly do not solve this case's, so the refusals are certain.
  let solvedForOther = await solvedPuzzle(challengeOf, (await newReporter()).caseId)
  while (solves(solvedForOther, reporter.caseId)) solvedForOther = await solvedPuzzle(challengeOf, (await newReporter()).caseId)
  t.equal((await submit(app, { ...body, puzzle: solvedForOther })).statusCode, 400, "another case's solution does not fit this case")

  const solved = await solvedPuzzle(challengeOf, reporter.caseId)
  const challenge = Buffer.from(solved.challenge, 'base64url')
  challenge[1] = 0 // claims a difficulty of 0 bits
  t.equal((await submit(app, { ...body, puzzle: { ...solved, challenge: challenge.toString('base64url') } })).statusCode, 400, 'a challenge altered to be easier is refused')
  let wrongNonce = 0
  while (solves({ challenge: solved.challenge, nonce: b64(Buffer.alloc(8, wrongNonce)) }, reporter.caseId)) wrongNonce += 1
  t.equal((await submit(app, { ...body, puzzle: { challenge: solved.challenge, nonce: b64(Buffer.alloc(8, wrongNonce)) } })).statusCode, 400, 'an unsolved nonce is refused')
  t.equal((await submit(app, { ...body, puzzle: { challenge: solved.challenge, nonce: 'AAAA' } })).statusCode, 400, 'a malformed nonce is refused')
  t.equal((await db.selectFrom('cases').select('id').where('id', '=', reporter.caseId).execute()).length, 0, 'nothing was stored')

  const good = await submit(app, { ...body, puzzle: solved })
  t.equal(good.statusCode, 201, 'the right solution is accepted')
  const puzzleResponse = await app.inject({ method: 'GET', url: '/report/puzzle', remoteAddress: freshAddress() })
  t.equal(puzzleResponse.headers['cache-control'], 'no-store')
  t.equal(puzzleResponse.json().bits, 4, 'the configured difficulty (tests use 4 bits; the default is 16)')
})

t.test('the same submission again is answered as received; a different one for the same case is refused', async (t) => {
  const reporter = await newReporter()
  const file = await encryptedFile(randomBytes(5000))
  const staged = (await upload(app, file.encrypted)).json<{ id: string; token: string }>()
  const body = { ...(await disclosureBody(reporter, service, undefined, [staged])), puzzle: await solvedPuzzle(challengeOf, reporter.caseId) }
  await insideOneHour()
  const address = '192.0.2.44'
  // Sent five times at once (a retry racing the first), then five more times.
  const first = await Promise.all(Array.from({ length: 5 }, () => submit(app, body, {}, address)))
  const codes = first.map((response) => response.statusCode).sort()
  t.same(codes, [200, 200, 200, 200, 201], 'one is received, the others are answered as already received')
  for (let index = 0; index < 5; index++) {
    const again = await submit(app, body, {}, address)
    t.equal(again.statusCode, 200)
    t.same(again.json(), { received: true, alreadyReceived: true, firstReplyTargetDays: app.config.firstReplyTargetDays })
  }
  t.equal((await db.selectFrom('cases').select('id').where('id', '=', reporter.caseId).execute()).length, 1, 'one case')
  t.equal((await db.selectFrom('case_messages').select('id').where('case_id', '=', reporter.caseId).execute()).length, 1, 'one message')
  t.equal((await db.selectFrom('case_audit_log').select('seq').where('actor_id', '=', reporter.caseId).execute()).length, 1, 'one audit line')
  // Repeats cost no share: this address can still send its other three new cases.
  for (let index = 0; index < app.config.casesPerHourPerAddress - 1; index++) t.equal((await submit(app, await disclosureBody(await newReporter(), service), {}, address)).statusCode, 201)

  const changed = { ...body, ...(await sealFromReporter(reporter, service, { messageId: body.messageId, content: { v: 1, text: 'changed after sending', evidence: [] } })) }
  const different = await submit(app, changed)
  t.equal(different.statusCode, 409)
  t.equal(different.headers['sd-case'], 'received-different', 'the page can tell the earlier version arrived')
  t.match(different.json().message, /already received.*different/)
  t.equal((await submit(app, { ...body, uploads: [] })).statusCode, 409, 'without its file it is a different submission')
  t.equal((await submit(app, { ...body, urgency: 'danger_now' })).statusCode, 409, 'with another urgency, too')
  const otherId = await newReporter()
  t.equal((await submit(app, { ...(await disclosureBody(otherId, service)), lookupId: body.lookupId })).statusCode, 409, 'a known lookup value under another case id is refused')
})

t.test('many at once, all past the first look: the write counts each, the cap holds exactly, and a refusal leaves nothing', async (t) => {
  // Every one of these reads the counts before any is stored, so only the write can refuse them
  // (accept_case, migrations/20261207_0020_accept_case.ts).
  const capped = await buildTestApp(t, { env: { CASES_PER_HOUR: '5' } })
  const cappedDb = capped.app.database.db
  const cappedService = servicePublic((await seedService(cappedDb, { keys: capped.serviceKeys })).keys)
  await insideOneHour()
  const arrivalsBefore = await arrivals(cappedDb)
  const bodies = await Promise.all(Array.from({ length: 12 }, async () => disclosureBody(await newReporter(), cappedService)))
  const answers = await Promise.all(bodies.map((body) => submit(capped.app, body)))
  const codes = answers.map((answer) => answer.statusCode).sort()
  t.same(codes, [201, 201, 201, 201, 201, 503, 503, 503, 503, 503, 503, 503], 'five stored, the rest refused by the hourly cap')
  for (const answer of answers.filter((answer) => answer.statusCode === 503)) {
    t.ok(Number(answer.headers['retry-after']) > 0, 'with Retry-After')
    t.match(answer.json().message, /more than it can take at the moment, so nothing was stored/)
  }
  const stored = bodies.filter((_, index) => answers[index]!.statusCode === 201).map((body) => body.caseId).sort()
  t.same((await cappedDb.selectFrom('cases').select('id').orderBy('id').execute()).map((row) => row.id), stored, 'only the accepted cases')
  t.equal((await cappedDb.selectFrom('case_messages').select('id').execute()).length, 5, 'and their messages')
  t.equal((await cappedDb.selectFrom('case_keys').select('case_id').execute()).length, 5, 'and their keys')
  t.same((await cappedDb.selectFrom('case_audit_log').select('actor_id').where('action', '=', 'case.submitted').orderBy('actor_id').execute()).map((row) => row.actor_id), stored, 'one audit entry each, none for a refusal')
  t.equal((await arrivals(cappedDb)) - arrivalsBefore, 5, 'the arrivals count moved once per stored case')
  const global = await cappedDb.selectFrom('rate_limit_counter').select('hits').where('counter', '=', capped.app.counterName('global:report-submit', '', 3600).counter).executeTakeFirstOrThrow()
  t.equal(global.hits, 5, 'the refusals were rolled back out of the count')
  t.match(await verifyAuditChain(cappedDb, 1_000, 'case'), { ok: true })

  // The instance remembers the cap as full until the hour ends: with the count taken out of the
  // database behind its back, it still refuses, without asking the database.
  await cappedDb.deleteFrom('rate_limit_counter').execute()
  const after = await submit(capped.app, await disclosureBody(await newReporter(), cappedService))
  t.equal(after.statusCode, 503, 'refused from memory')
  t.equal((await cappedDb.selectFrom('cases').select('id').execute()).length, 5, 'nothing stored')
  const repeat = await submit(capped.app, bodies[answers.findIndex((answer) => answer.statusCode === 201)]!)
  t.equal(repeat.statusCode, 200, 'a repeat of a stored case is still answered as received')
  t.equal(repeat.json().alreadyReceived, true)
})

t.test('the shares remembered as full: each until its hour ends, and no more than MAX_FULL_SHARES', async (t) => {
  const full = new FullShares()
  full.add('a', 2_000)
  t.ok(full.has('a', 1_999))
  t.notOk(full.has('a', 2_000), 'forgotten when its hour ends')
  t.equal(full.size, 0)
  for (let index = 0; index <= MAX_FULL_SHARES; index++) full.add(`c${index}`, Number.MAX_SAFE_INTEGER)
  t.equal(full.size, MAX_FULL_SHARES)
  t.notOk(full.has('c0'), 'the oldest forgotten first')
  t.ok(full.has(`c${MAX_FULL_SHARES}`))
})

t.test('one file claimed by two submissions at once goes with one of them; the other is refused and stores nothing', async (t) => {
  const file = await encryptedFile(randomBytes(3000))
  const staged = (await upload(app, file.encrypted)).json<{ id: string; token: string }>()
  const bodies = await Promise.all([0, 1].map(async () => {
    const reporter = await newReporter()
    return { ...(await disclosureBody(reporter, service, undefined, [staged])), puzzle: await solvedPuzzle(challengeOf, reporter.caseId) }
  }))
  const answers = await Promise.all(bodies.map((body) => submit(app, body)))
  t.same(answers.map((answer) => answer.statusCode).sort(), [201, 400])
  const refused = answers.findIndex((answer) => answer.statusCode === 400)
  t.match(answers[refused]!.json().message, /One of your files was not received/)
  t.equal((await db.selectFrom('cases').select('id').where('id', '=', bodies[refused]!.caseId).execute()).length, 0, 'the refused case is not stored')
  t.equal((await db.selectFrom('case_audit_log').select('seq').where('actor_id', '=', bodies[refused]!.caseId).execute()).length, 0, 'nor audited')
  const owner = await db.selectFrom('case_evidence').select('case_id').where('id', '=', staged.id).executeTakeFirstOrThrow()
  t.equal(owner.case_id, bodies[1 - refused]!.caseId, 'the file went with the one stored')
})

async function arrivals(db: typeof app.database.db): Promise<number> {
  const row = (await sql<{ last_value: string; is_called: boolean }>`SELECT last_value, is_called FROM arrivals`.execute(db)).rows[0]!
  return row.is_called ? Number(row.last_value) : 0
}
