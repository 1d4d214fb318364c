import t from 'tap'
import { randomBytes } from 'node:crypto'
import { seedAccount, seedService, type SeededStaff } from '../../scripts/lib/staff-fixtures.ts'
import { recordSecondFactorFailure, recordSignIn } from '../../server/features/staff/repository.ts'
import { FAILURES_PER_ADDRESS, FAILURES_PER_NETWORK, SIGN_IN_WINDOW_SECONDS } from '../../server/features/staff/sign-in-throttle.ts'
import { buildTestApp } from '../helpers/app.ts'
import { b64, codeAt, freshAddress } from '../helpers/staff.ts'

/**
 * Sign-in lockouts that cannot be turned on staff (issue 19): an attacker who knows an IDVA's user
 * name, from one address or rotating through a /48, is paused after a few failures and never locks
 * her out; one who also has her passphrase, from one address or one /48, cannot lock her out
 * either; from many networks they can, for fifteen minutes at first, but attempts during a lock
 * neither count nor move it, and her recovery code still works. Time is a parameter of the
 * repository's lock, so its growth and its end are tested without waiting.
 */

const { app } = await buildTestApp(t)
const db = app.database.db
const service = await seedService(db)

const attacker = '203.0.113.66'
const herNetwork = '198.51.100.20'

function signIn(payload: Record<string, string>, remoteAddress: string) {
  return app.inject({ method: 'POST', url: '/staff/login', payload, remoteAddress })
}

/** What her browser sends: the verifier derived from her passphrase, and a code. */
function rightAnswer(member: SeededStaff, code: string): Record<string, string> {
  return { username: member.username, verifier: b64(member.secrets.authVerifier), code }
}

async function accountRow(id: string) {
  return db.selectFrom('accounts').select(['failed_logins', 'locked_until']).where('id', '=', id).executeTakeFirstOrThrow()
}

async function audited(action: string, accountId: string): Promise<number> {
  return (await db.selectFrom('audit_log').select('seq').where('action', '=', action).where('object_id', '=', accountId).execute()).length
}

/**
 * Budgets are per fixed 15-minute window: a burst that crossed a boundary would get a second
 * budget. Start each burst with at least 40 seconds of its window left (waits at most that long).
 */
async function windowWithRoom(): Promise<void> {
  const left = SIGN_IN_WINDOW_SECONDS - ((Date.now() / 1000) % SIGN_IN_WINDOW_SECONDS)
  if (left < 40) await new Promise((resolve) => setTimeout(resolve, (left + 1) * 1000))
}

/** A hundred attempts sent at once; the statuses, and when the last answer came. */
async function hundred(payload: () => Record<string, string>, address: (i: number) => string) {
  const responses = await Promise.all(Array.from({ length: 100 }, (_, i) => signIn(payload(), address(i))))
  return { statuses: responses.map((response) => response.statusCode), responses, lastAnswerAt: Date.now() }
}

/** A rotating attacker: one address in each of a hundred /64s of one /48. */
const inOne48 = (i: number) => `2001:db8:bad:${i.toString(16)}::${(i + 1).toString(16)}`

t.test('a hundred wrong passphrases from one address: five are tried, the rest paused before the account; she signs in at once', async (t) => {
  const idva = await seedAccount(db, app.config.serverSecret, { username: 'idva.one', role: 'idva', groupId: service.id })
  await windowWithRoom()
  const burst = await hundred(() => ({ username: idva.username, verifier: b64(randomBytes(32)), code: '123456' }), () => attacker)
  t.equal(burst.statuses.filter((status) => status === 401).length, FAILURES_PER_ADDRESS, 'five looked at')
  t.equal(burst.statuses.filter((status) => status === 429).length, 100 - FAILURES_PER_ADDRESS, 'the rest refused')
  for (const response of burst.responses.filter((candidate) => candidate.statusCode === 429)) {
    const wait = Number(response.headers['retry-after'])
    t.ok(wait >= 1 && wait <= SIGN_IN_WINDOW_SECONDS, 'with Retry-After')
    t.match(response.json().message, /Please wait/)
  }
  t.equal(await audited('staff.login_failed', idva.id), FAILURES_PER_ADDRESS, 'paused attempts never reached the account')
  t.same(await accountRow(idva.id), { failed_logins: 0, locked_until: null })

  const mine = await signIn(rightAnswer(idva, codeAt(idva.totpSecret)), herNetwork)
  t.equal(mine.statusCode, 200, 'the IDVA signs in from her own network')
  t.ok(Date.now() - burst.lastAnswerAt < 60_000, 'within a minute of the hundredth failure')
})

t.test('a hundred wrong passphrases rotating through one /48: ten are tried, the rest paused; she signs in at once', async (t) => {
  const idva = await seedAccount(db, app.config.serverSecret, { username: 'idva.two', role: 'idva', groupId: service.id })
  await windowWithRoom()
  const burst = await hundred(() => ({ username: idva.username, verifier: b64(randomBytes(32)), code: '123456' }), inOne48)
  t.equal(burst.statuses.filter((status) => status === 401).length, FAILURES_PER_NETWORK, 'the network\'s ten looked at')
  t.equal(burst.statuses.filter((status) => status === 429).length, 100 - FAILURES_PER_NETWORK)
  t.equal(await audited('staff.login_failed', idva.id), FAILURES_PER_NETWORK)

  const mine = await signIn(rightAnswer(idva, codeAt(idva.totpSecret)), '2001:db8:1d4a:7::3')
  t.equal(mine.statusCode, 200, 'the IDVA signs in from her own IPv6 network')
  t.ok(Date.now() - burst.lastAnswerAt < 60_000, 'within a minute of the hundredth failure')
})

t.test('with her passphrase too, a hundred wrong codes from one address and a hundred from one /48 do not lock her out', async (t) => {
  const idva = await seedAccount(db, app.config.serverSecret, { username: 'idva.three', role: 'idva', groupId: service.id })
  const wrongCode = () => ({ username: idva.username, verifier: b64(idva.secrets.authVerifier), code: codeAt(idva.totpSecret) === '000000' ? '111111' : '000000' })
  await windowWithRoom()
  const fromOne = await hundred(wrongCode, () => '198.18.0.67')
  t.equal(fromOne.statuses.filter((status) => status === 401).length, FAILURES_PER_ADDRESS)
  const from48 = await hundred(wrongCode, (i) => `2001:db8:bad2:${i.toString(16)}::1`)
  t.equal(from48.statuses.filter((status) => status === 401).length, FAILURES_PER_NETWORK)
  const row = await accountRow(idva.id)
  t.equal(row.failed_logins, FAILURES_PER_ADDRESS + FAILURES_PER_NETWORK, 'only the attempts that were tried count against the account')
  t.equal(row.locked_until, null, 'fewer than the twenty that lock it')

  const mine = await signIn(rightAnswer(idva, codeAt(idva.totpSecret)), herNetwork)
  t.equal(mine.statusCode, 200, 'the IDVA signs in')
  t.ok(Date.now() - from48.lastAnswerAt < 60_000, 'within a minute of the last failure')
  t.same(await accountRow(idva.id), { failed_logins: 0, locked_until: null }, 'and her sign-in clears the count')
})

t.test('from many networks with her passphrase: locked for fifteen minutes, not moved by attempts during it, and a recovery code still works', async (t) => {
  const idva = await seedAccount(db, app.config.serverSecret, { username: 'idva.four', role: 'idva', groupId: service.id })
  const wrongCode = codeAt(idva.totpSecret) === '000000' ? '111111' : '000000'
  const first = await Promise.all(Array.from({ length: 20 }, () => signIn({ username: idva.username, verifier: b64(idva.secrets.authVerifier), code: wrongCode }, freshAddress())))
  t.ok(first.every((response) => response.statusCode === 401))
  const locked = await accountRow(idva.id)
  t.equal(locked.failed_logins, 20)
  t.ok(locked.locked_until !== null && Math.abs(locked.locked_until.getTime() - Date.now() - 15 * 60_000) < 60_000, 'locked for fifteen minutes')
  t.equal(await audited('staff.account_locked', idva.id), 1)

  // Thirty more during the lock, of every kind, each from a new network.
  const during = [
    ...Array.from({ length: 10 }, () => ({ username: idva.username, verifier: b64(idva.secrets.authVerifier), code: wrongCode })),
    ...Array.from({ length: 10 }, () => ({ username: idva.username, verifier: b64(randomBytes(32)), code: '123456' })),
    ...Array.from({ length: 10 }, () => ({ username: idva.username, verifier: b64(idva.secrets.authVerifier), code: idva.recoveryCodes[9]!.replace(/.$/, (c) => (c === 'a' ? 'b' : 'a')) })),
  ]
  const answers = await Promise.all(during.map((payload) => signIn(payload, freshAddress())))
  t.ok(answers.every((response) => response.statusCode === 401), 'all refused, as any failure is')
  t.same(await accountRow(idva.id), locked, 'neither counted nor moved')
  t.equal(await audited('staff.account_locked', idva.id), 1, 'no new lock')

  const withCode = await signIn(rightAnswer(idva, codeAt(idva.totpSecret)), herNetwork)
  t.equal(withCode.statusCode, 401, 'the code from her app waits for the lock to end, and is not even checked')
  t.same(await accountRow(idva.id), locked, 'and her attempt moved nothing either')
  const withRecovery = await signIn(rightAnswer(idva, idva.recoveryCodes[0]!), herNetwork)
  t.equal(withRecovery.statusCode, 200, 'a recovery code signs her in during the lock')
  t.same(await accountRow(idva.id), { failed_logins: 0, locked_until: null }, 'which ends it')
})

t.test('once a lock has ended, the right code signs in', async (t) => {
  const idva = await seedAccount(db, app.config.serverSecret, { username: 'idva.five', role: 'idva', groupId: service.id })
  // As the account is when a lock of fifteen minutes has just run out.
  await db.updateTable('accounts').set({ failed_logins: 20, locked_until: new Date(Date.now() - 1000) }).where('id', '=', idva.id).execute()
  const mine = await signIn(rightAnswer(idva, codeAt(idva.totpSecret)), herNetwork)
  t.equal(mine.statusCode, 200)
  t.same(await accountRow(idva.id), { failed_logins: 0, locked_until: null })
})

t.test('the lock, with time as a parameter: fifteen minutes, never moved while it holds, then thirty, then an hour at most', async (t) => {
  const idva = await seedAccount(db, app.config.serverSecret, { username: 'idva.six', role: 'idva', groupId: service.id })
  const policy = { after: 20, minutes: 15, maxMinutes: 60 }
  const t0 = Date.parse('2026-12-08T09:00:00Z')
  const at = (minutes: number) => new Date(t0 + minutes * 60_000)
  // A step later than any the account has used, so only the lock can refuse it.
  const LATER_STEP = 2_000_000_000
  for (let i = 1; i < 20; i++) t.equal(await recordSecondFactorFailure(db, idva.id, at(0), policy), null)
  t.same(await recordSecondFactorFailure(db, idva.id, at(0), policy), { lockedUntil: at(15) }, 'the twentieth locks it for fifteen minutes')
  for (const minute of [1, 5, 14.99]) t.equal(await recordSecondFactorFailure(db, idva.id, at(minute), policy), null, `a failure at ${minute} minutes moves nothing`)
  t.same(await accountRow(idva.id), { failed_logins: 20, locked_until: at(15) })
  t.notOk(await recordSignIn(db, idva.id, at(10), { totpStep: LATER_STEP }), 'no code signs in during it')

  t.same(await recordSecondFactorFailure(db, idva.id, at(15), policy), { lockedUntil: at(45) }, 'after it ends, the next failure locks for thirty minutes')
  t.equal(await recordSecondFactorFailure(db, idva.id, at(30), policy), null)
  t.same(await recordSecondFactorFailure(db, idva.id, at(45), policy), { lockedUntil: at(105) }, 'then an hour')
  t.same(await recordSecondFactorFailure(db, idva.id, at(105), policy), { lockedUntil: at(165) }, 'and never more than an hour')
  t.ok(await recordSignIn(db, idva.id, at(165), { totpStep: LATER_STEP }), 'when the lock has run out, a code signs in')
  t.same(await accountRow(idva.id), { failed_logins: 0, locked_until: null })
})

t.test('a sign-in gives its attempt back: only failures spend an address\'s budget, and a paused address says for how long', async (t) => {
  const idva = await seedAccount(db, app.config.serverSecret, { username: 'idva.seven', role: 'idva', groupId: service.id })
  const office = '192.0.2.44'
  await windowWithRoom()
  for (const code of idva.recoveryCodes.slice(0, FAILURES_PER_ADDRESS + 2)) {
    t.equal((await signIn({ username: idva.username, verifier: b64(idva.secrets.authVerifier), code }, office)).statusCode, 200, 'a sign-in')
  }
  for (let i = 0; i < FAILURES_PER_ADDRESS; i++) {
    t.equal((await signIn({ username: idva.username, verifier: b64(randomBytes(32)), code: '123456' }, office)).statusCode, 401, 'a typing mistake')
  }
  const paused = await signIn({ username: idva.username, verifier: b64(idva.secrets.authVerifier), code: idva.recoveryCodes[9]! }, office)
  t.equal(paused.statusCode, 429, 'the sixth failure in the window pauses the address, even for the right answer')
  const windowEnds = SIGN_IN_WINDOW_SECONDS - Math.floor((Date.now() / 1000) % SIGN_IN_WINDOW_SECONDS)
  t.ok(Math.abs(Number(paused.headers['retry-after']) - windowEnds) <= 2, 'until the end of its window')
  t.match(paused.json().message, /Signing in from your connection is paused for (a minute|\d+ minutes)/)
  t.notMatch(paused.json().message, /passphrase|user name/, 'it says nothing about the account')
  t.equal((await signIn({ username: idva.username, verifier: b64(idva.secrets.authVerifier), code: idva.recoveryCodes[9]! }, herNetwork)).statusCode, 200, 'elsewhere she signs in')
})
