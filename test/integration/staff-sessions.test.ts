import t from 'tap'
import { randomBytes } from 'node:crypto'
import { seedAccount, seedService, seedGrant, seedUnit } from '../../scripts/lib/staff-fixtures.ts'
import { sha256 } from '../../server/security/tokens.ts'
import { buildTestApp } from '../helpers/app.ts'
import { asStaff, b64, codeAt, freshAddress, login, sessionCookie, sessionFor } from '../helpers/staff.ts'

/**
 * Signing in and sessions: the login's rules (same answer for an unknown name as for a wrong
 * passphrase, codes used once, the lock; staff-lockout.test.ts tries to turn the lock on staff),
 * session fixation, idle and absolute expiry, disabled accounts, signing out here and everywhere,
 * and CSRF and cross-site refusals.
 */

const { app, logs, serviceKeys } = await buildTestApp(t)
const db = app.database.db
const service = await seedService(db, { keys: serviceKeys })
const lead = await seedAccount(db, app.config.serverSecret, { username: 'lead', role: 'idva_lead', groupId: service.id })
await seedGrant(db, lead, service)
const idva = await seedAccount(db, app.config.serverSecret, { username: 'idva.one', role: 'idva', groupId: service.id })
const admin = await seedAccount(db, app.config.serverSecret, { username: 'admin', role: 'admin' })
// The administrator manages investigators (and administrators), never the IDVA service's people.
const unit = (await seedUnit(db, { id: 'met-dps', track: 'misconduct', force: 'Metropolitan Police Service', name: 'Directorate of Professional Standards' }))!

async function audit(action: string) {
  return db.selectFrom('audit_log').selectAll().where('action', '=', action).execute()
}

t.test('a member signs in with passphrase and code, and gets a fresh HttpOnly, SameSite=Strict session', async (t) => {
  const response = await login(app, lead, codeAt(lead.totpSecret), { remoteAddress: freshAddress() })
  t.equal(response.statusCode, 200, response.body)
  t.same(response.json(), { next: '/staff' })
  const setCookie = [response.headers['set-cookie']].flat().join('\n')
  t.match(setCookie, /sd_session=[A-Za-z0-9_-]{43}/)
  t.match(setCookie, /HttpOnly/)
  t.match(setCookie, /SameSite=Strict/)
  t.notMatch(setCookie, /Expires|Max-Age/, 'a session cookie: gone when the browser closes')
  const home = await app.inject({ method: 'GET', url: '/staff', headers: { cookie: sessionCookie(app, response)!, accept: 'text/html' } })
  t.equal(home.statusCode, 200)
  t.match(home.body, /Signed in as <strong>lead<\/strong>/)
  t.ok((await audit('staff.login')).some((row) => row.actor_id === lead.id), 'audited')
})

t.test('over https the cookie is Secure and __Host- prefixed', async (t) => {
  const secure = await buildTestApp(t, { env: { PUBLIC_ORIGIN: 'https://portal.example' } })
  const member = await seedAccount(secure.app.database.db, secure.app.config.serverSecret, { username: 'admin2', role: 'admin' })
  const response = await login(secure.app, member, codeAt(member.totpSecret))
  const setCookie = [response.headers['set-cookie']].flat().join('\n')
  t.match(setCookie, /^__Host-sd_session=/m)
  t.match(setCookie, /Secure/)
  t.match(setCookie, /Path=\//)
  t.notMatch(setCookie, /Domain=/)
})

t.test('an unknown user name gets exactly the answer a wrong passphrase gets', async (t) => {
  const address = freshAddress()
  const unknown = await login(app, { username: 'nobody.here', passphrase: 'some long passphrase here' }, '123456', { remoteAddress: address })
  const wrong = await login(app, { username: idva.username, passphrase: 'some long passphrase here' }, codeAt(idva.totpSecret), { remoteAddress: address })
  t.equal(unknown.statusCode, 401)
  t.equal(wrong.statusCode, 401)
  t.same(unknown.json(), wrong.json(), 'same body')
  t.match(unknown.json().message, /user name, passphrase or code is not right/)

  const params = async (username: string) => (await app.inject({ method: 'POST', url: '/staff/login/params', payload: { username }, remoteAddress: freshAddress() })).json()
  const decoy = await params('nobody.here')
  t.same(await params('nobody.here'), decoy, 'an unknown name gets the same decoy parameters every time')
  t.same(Object.keys(decoy).sort(), Object.keys(await params(idva.username)).sort(), 'decoys look like real parameters')
  t.match(decoy.salt, /^[A-Za-z0-9_-]{22}$/)
  await db.updateTable('accounts').set({ failed_logins: 0, locked_until: null }).execute()
})

t.test('a wrong code, a replayed code and a code from the wrong account are refused', async (t) => {
  const address = freshAddress()
  const wrongCode = await login(app, idva, '000000' === codeAt(idva.totpSecret) ? '111111' : '000000', { remoteAddress: address })
  t.equal(wrongCode.statusCode, 401)
  const code = codeAt(idva.totpSecret)
  const first = await login(app, idva, code, { remoteAddress: address })
  t.equal(first.statusCode, 200, 'the code works once')
  const replay = await login(app, idva, code, { remoteAddress: address })
  t.equal(replay.statusCode, 401, 'the same code again is refused')
  const older = await login(app, idva, codeAt(idva.totpSecret, -1), { remoteAddress: address })
  t.equal(older.statusCode, 401, 'an earlier code than the last one used is refused too')
  const someoneElses = await login(app, idva, codeAt(lead.totpSecret, 1), { remoteAddress: address })
  t.equal(someoneElses.statusCode, 401)
  await db.updateTable('accounts').set({ failed_logins: 0, locked_until: null }).execute()
})

t.test('a recovery code signs in once instead of a code, and is audited', async (t) => {
  const address = freshAddress()
  const code = lead.recoveryCodes[0]!
  const first = await login(app, lead, code.toUpperCase().replace(/-/g, ' '), { remoteAddress: address })
  t.equal(first.statusCode, 200, 'case and separators do not matter')
  const again = await login(app, lead, code, { remoteAddress: address })
  t.equal(again.statusCode, 401, 'used once only')
  t.ok((await audit('staff.recovery_code_used')).some((row) => row.actor_id === lead.id))
  const row = await db.selectFrom('recovery_codes').select('used_at').where('account_id', '=', lead.id).where('used_at', 'is not', null).execute()
  t.equal(row.length, 1)
  await db.updateTable('accounts').set({ failed_logins: 0, locked_until: null }).execute()
})

t.test('a code accepted once signs in once, even when twenty sign-ins send it at the same moment', async (t) => {
  const member = await seedAccount(db, app.config.serverSecret, { username: 'twenty.at.once', role: 'idva', groupId: service.id })
  const payload = { username: member.username, verifier: b64(member.secrets.authVerifier), code: codeAt(member.totpSecret) }
  const started = Date.now()
  const responses = await Promise.all(Array.from({ length: 20 }, () => app.inject({ method: 'POST', url: '/staff/login', payload, remoteAddress: freshAddress() })))
  t.ok(Date.now() - started >= 390, 'still at least 400 ms')
  t.same(responses.map((response) => response.statusCode).sort(), [200, ...Array<number>(19).fill(401)], 'exactly one succeeds; the others get the usual refusal')
  for (const response of responses.filter((candidate) => candidate.statusCode === 401)) t.match(response.json().message, /not right/)
  t.equal((await db.selectFrom('sessions').select('token_hash').where('account_id', '=', member.id).execute()).length, 1, 'one session')
  t.equal((await audit('staff.login')).filter((row) => row.actor_id === member.id).length, 1, 'one sign-in audited')
})

t.test('a recovery code signs in once, even when ten sign-ins send it at the same moment', async (t) => {
  const member = await seedAccount(db, app.config.serverSecret, { username: 'ten.recovery', role: 'idva', groupId: service.id })
  const payload = { username: member.username, verifier: b64(member.secrets.authVerifier), code: member.recoveryCodes[0]! }
  const responses = await Promise.all(Array.from({ length: 10 }, () => app.inject({ method: 'POST', url: '/staff/login', payload, remoteAddress: freshAddress() })))
  t.same(responses.map((response) => response.statusCode).sort(), [200, ...Array<number>(9).fill(401)], 'exactly one succeeds')
  t.equal((await db.selectFrom('recovery_codes').select('used_at').where('account_id', '=', member.id).where('used_at', 'is not', null).execute()).length, 1, 'one code used')
  t.equal((await audit('staff.recovery_code_used')).filter((row) => row.actor_id === member.id).length, 1)
})

t.test('wrong codes at the same moment are each counted until one locks the account, and none after; wrong passphrases never count', async (t) => {
  const member = await seedAccount(db, app.config.serverSecret, { username: 'many.failures', role: 'idva', groupId: service.id })
  const wrongCode = codeAt(member.totpSecret) === '000000' ? '111111' : '000000'
  const attempts = [
    ...Array.from({ length: 21 }, () => ({ username: member.username, verifier: b64(member.secrets.authVerifier), code: wrongCode })),
    ...Array.from({ length: 4 }, () => ({ username: member.username, verifier: b64(randomBytes(32)), code: codeAt(member.totpSecret) })),
  ]
  const responses = await Promise.all(attempts.map((payload) => app.inject({ method: 'POST', url: '/staff/login', payload, remoteAddress: freshAddress() })))
  t.ok(responses.every((response) => response.statusCode === 401))
  const row = await db.selectFrom('accounts').select(['failed_logins', 'locked_until']).where('id', '=', member.id).executeTakeFirstOrThrow()
  t.equal(row.failed_logins, 20, 'twenty wrong codes counted, then the lock; the rest and the wrong passphrases not')
  t.ok(row.locked_until !== null && row.locked_until.getTime() > Date.now(), 'and the account is locked')
  t.equal((await audit('staff.login_failed')).filter((entry) => entry.object_id === member.id).length, 25, 'each attempt audited')
  t.equal((await audit('staff.account_locked')).filter((entry) => entry.object_id === member.id).length, 1, 'the lock audited once')
})

t.test('wrong passphrases do not lock an account; twenty wrong codes do, even against the right code', async (t) => {
  const member = await seedAccount(db, app.config.serverSecret, { username: 'locked.out', role: 'idva', groupId: service.id })
  const attempt = (verifier: Uint8Array, code: string) => app.inject({ method: 'POST', url: '/staff/login', payload: { username: member.username, verifier: b64(verifier), code }, remoteAddress: freshAddress() })
  const wrongPassphrases = await Promise.all(Array.from({ length: 25 }, () => attempt(randomBytes(32), '123456')))
  t.ok(wrongPassphrases.every((response) => response.statusCode === 401))
  const before = await db.selectFrom('accounts').select(['failed_logins', 'locked_until']).where('id', '=', member.id).executeTakeFirstOrThrow()
  t.same(before, { failed_logins: 0, locked_until: null }, 'twenty-five wrong passphrases: not counted against the account')

  const wrongCode = codeAt(member.totpSecret) === '000000' ? '111111' : '000000'
  const wrongCodes = await Promise.all(Array.from({ length: 20 }, () => attempt(member.secrets.authVerifier, wrongCode)))
  t.ok(wrongCodes.every((response) => response.statusCode === 401))
  const row = await db.selectFrom('accounts').select(['failed_logins', 'locked_until']).where('id', '=', member.id).executeTakeFirstOrThrow()
  t.equal(row.failed_logins, 20)
  t.ok(row.locked_until !== null && Math.abs(row.locked_until.getTime() - Date.now() - 15 * 60_000) < 60_000, 'locked for fifteen minutes')
  const right = await login(app, member, codeAt(member.totpSecret), { remoteAddress: freshAddress() })
  t.equal(right.statusCode, 401, 'refused while locked, with the same message')
  t.match(right.json().message, /not right/)
})

t.test('login answers are slowed and rate-limited per address', async (t) => {
  const address = freshAddress()
  const started = Date.now()
  const response = await app.inject({ method: 'POST', url: '/staff/login', payload: { username: 'nobody', verifier: 'A'.repeat(43), code: '123456' }, remoteAddress: address })
  t.equal(response.statusCode, 401)
  t.ok(Date.now() - started >= 390, 'a refusal takes at least 400 ms')
  // Five failures per address per 15-minute window (fixed windows: a run that crosses a boundary
  // gets five more; staff-lockout.test.ts has the details).
  let last = response
  for (let i = 0; i < 21 && last.statusCode !== 429; i++) {
    last = await app.inject({ method: 'POST', url: '/staff/login', payload: { username: 'nobody', verifier: 'A'.repeat(43), code: '123456' }, remoteAddress: address })
  }
  t.equal(last.statusCode, 429)
  t.ok(last.headers['retry-after'])
})

t.test('session fixation: a token planted before login is not adopted, and login ends the old session', async (t) => {
  const planted = `sd_session=${randomBytes(32).toString('base64url')}`
  const response = await login(app, admin, codeAt(admin.totpSecret), { remoteAddress: freshAddress(), cookie: planted })
  t.equal(response.statusCode, 200)
  const issued = sessionCookie(app, response)!
  t.not(issued, planted)
  const plantedUse = await app.inject({ method: 'GET', url: '/staff', headers: { cookie: planted } })
  t.equal(plantedUse.statusCode, 401, 'the planted token is worth nothing')

  // Signing in again from a browser that has a session gives a new token and ends the old one.
  const again = await login(app, admin, codeAt(admin.totpSecret, 1), { remoteAddress: freshAddress(), cookie: issued })
  t.equal(again.statusCode, 200)
  const renewed = sessionCookie(app, again)!
  t.not(renewed, issued)
  t.equal((await app.inject({ method: 'GET', url: '/staff', headers: { cookie: issued } })).statusCode, 401, 'the old token ended')
  t.equal((await app.inject({ method: 'GET', url: '/staff', headers: { cookie: renewed } })).statusCode, 200)
})

t.test('sessions end after 15 minutes idle and 8 hours in all', async (t) => {
  const idle = await sessionFor(app, idva)
  const idleHash = sha256(idle.cookie.split('=')[1]!)
  await db.updateTable('sessions').set({ last_seen_at: new Date(Date.now() - 15 * 60_000 - 1000) }).where('token_hash', '=', idleHash).execute()
  const page = await app.inject({ method: 'GET', url: '/staff', headers: { cookie: idle.cookie, accept: 'text/html' } })
  t.equal(page.statusCode, 303)
  t.equal(page.headers.location, '/staff/login?signed-out=expired')
  t.equal(sessionCookie(app, page), '', 'the cookie is cleared')
  t.notOk(await db.selectFrom('sessions').select('account_id').where('token_hash', '=', idleHash).executeTakeFirst(), 'and the session deleted')

  const busy = await sessionFor(app, idva)
  const busyHash = sha256(busy.cookie.split('=')[1]!)
  await db.updateTable('sessions').set({ created_at: new Date(Date.now() - 8 * 3600_000), expires_at: new Date(Date.now() - 1000) }).where('token_hash', '=', busyHash).execute()
  const json = await app.inject({ method: 'GET', url: '/staff/keys', headers: { cookie: busy.cookie } })
  t.equal(json.statusCode, 401)
  t.match(json.json().message, /session has ended/)

  const fresh = await sessionFor(app, idva)
  await db.updateTable('sessions').set({ last_seen_at: new Date(Date.now() - 14 * 60_000) }).where('token_hash', '=', sha256(fresh.cookie.split('=')[1]!)).execute()
  t.equal((await app.inject({ method: 'GET', url: '/staff/keys', headers: { cookie: fresh.cookie } })).statusCode, 200, 'activity within 15 minutes keeps it')
  const seen = await db.selectFrom('sessions').select('last_seen_at').where('token_hash', '=', sha256(fresh.cookie.split('=')[1]!)).executeTakeFirstOrThrow()
  t.ok(Date.now() - seen.last_seen_at.getTime() < 60_000, 'and moves the idle clock on')

  const login = await app.inject({ method: 'GET', url: '/staff/login?signed-out=expired' })
  t.match(login.body, /Your session ended/)
})

t.test('signing out ends the session, clears the cookie and asks the browser to forget the keys', async (t) => {
  const client = await sessionFor(app, idva)
  // As the page's sign-out form sends it: the token in a form field.
  const response = await app.inject({ method: 'POST', url: '/staff/logout', headers: { cookie: client.cookie }, payload: { _csrf: client.csrf } })
  t.equal(response.statusCode, 303)
  t.equal(response.headers.location, '/staff/login?signed-out=here')
  t.equal(response.headers['clear-site-data'], '"cache", "cookies", "storage"')
  t.equal(sessionCookie(app, response), '')
  t.equal((await app.inject({ method: 'GET', url: '/staff', headers: { cookie: client.cookie } })).statusCode, 401, 'the old cookie no longer works')
  t.match((await app.inject({ method: 'GET', url: '/staff/login?signed-out=here' })).body, /You are signed out/)
})

t.test('signing out everywhere ends every session of the account, and only its own', async (t) => {
  const here = await sessionFor(app, idva)
  const elsewhere = await sessionFor(app, idva)
  const colleague = await sessionFor(app, lead)
  const response = await asStaff(app, here, { method: 'POST', url: '/staff/logout-everywhere', payload: {} })
  t.equal(response.statusCode, 303)
  t.equal(response.headers.location, '/staff/login?signed-out=everywhere')
  t.equal((await app.inject({ method: 'GET', url: '/staff', headers: { cookie: here.cookie } })).statusCode, 401)
  t.equal((await app.inject({ method: 'GET', url: '/staff', headers: { cookie: elsewhere.cookie } })).statusCode, 401)
  t.equal((await app.inject({ method: 'GET', url: '/staff', headers: { cookie: colleague.cookie } })).statusCode, 200, 'a colleague stays signed in')
  t.ok((await audit('staff.logout_everywhere')).some((row) => row.actor_id === idva.id))
})

t.test('a disabled account\'s old cookie is refused at once', async (t) => {
  const member = await seedAccount(db, app.config.serverSecret, { username: 'to.disable', role: 'investigator', groupId: unit.id })
  const client = await sessionFor(app, member)
  const adminClient = await sessionFor(app, admin)
  t.equal((await app.inject({ method: 'GET', url: '/staff', headers: { cookie: client.cookie } })).statusCode, 200)
  const disable = await asStaff(app, adminClient, { method: 'POST', url: `/staff/admin/accounts/${member.id}/disable`, payload: {} })
  t.equal(disable.statusCode, 303)
  t.equal((await app.inject({ method: 'GET', url: '/staff', headers: { cookie: client.cookie } })).statusCode, 401)
  t.equal((await db.selectFrom('sessions').select('account_id').where('account_id', '=', member.id).execute()).length, 0, 'its sessions are deleted')
  const relogin = await login(app, member, codeAt(member.totpSecret), { remoteAddress: freshAddress() })
  t.equal(relogin.statusCode, 401, 'and it cannot sign in')
  t.ok((await audit('staff.account_disabled')).some((row) => row.object_id === member.id))
})

t.test('CSRF: a change without the session\'s token, or with a wrong one, is refused, audited, and changes nothing', async (t) => {
  const member = await seedAccount(db, app.config.serverSecret, { username: 'csrf.target', role: 'investigator', groupId: unit.id })
  const adminClient = await sessionFor(app, admin)
  const before = (await audit('security.csrf_refused')).length
  const missing = await app.inject({ method: 'POST', url: `/staff/admin/accounts/${member.id}/disable`, headers: { cookie: adminClient.cookie }, payload: {} })
  t.equal(missing.statusCode, 403)
  t.match(missing.json().message, /reload the page/)
  const wrong = await asStaff(app, adminClient, { method: 'POST', url: `/staff/admin/accounts/${member.id}/disable`, headers: { 'x-csrf-token': randomBytes(32).toString('base64url') }, payload: {} })
  t.equal(wrong.statusCode, 403)
  const otherSessions = await sessionFor(app, admin)
  const someoneElses = await asStaff(app, adminClient, { method: 'POST', url: `/staff/admin/accounts/${member.id}/disable`, headers: { 'x-csrf-token': otherSessions.csrf }, payload: {} })
  t.equal(someoneElses.statusCode, 403, 'another session\'s token does not work')
  const form = await app.inject({ method: 'POST', url: `/staff/admin/accounts/${member.id}/disable`, headers: { cookie: adminClient.cookie, accept: 'text/html' }, payload: { _csrf: 'x' } })
  t.equal(form.statusCode, 403)
  t.match(form.headers['content-type'], /text\/html/, 'a form gets an error page')
  t.equal((await audit('security.csrf_refused')).length, before + 4)
  const row = await db.selectFrom('accounts').select('status').where('id', '=', member.id).executeTakeFirstOrThrow()
  t.equal(row.status, 'active', 'nothing changed')

  const ok = await app.inject({ method: 'POST', url: `/staff/admin/accounts/${member.id}/disable`, headers: { cookie: adminClient.cookie }, payload: { _csrf: adminClient.csrf } })
  t.equal(ok.statusCode, 303, 'the form field works as well as the header')
})

t.test('cross-site requests are refused before anything else, signed in or not', async (t) => {
  const member = await seedAccount(db, app.config.serverSecret, { username: 'cross.site', role: 'investigator', groupId: unit.id })
  const adminClient = await sessionFor(app, admin)
  for (const headers of [{ 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }, { origin: 'https://attacker.example' }, { origin: 'null' }]) {
    const response = await asStaff(app, adminClient, { method: 'POST', url: `/staff/admin/accounts/${member.id}/disable`, headers, payload: {} })
    t.equal(response.statusCode, 403, JSON.stringify(headers))
    t.match(response.json().message, /did not come from the portal/)
  }
  const anonymous = await app.inject({ method: 'POST', url: '/staff/login', headers: { 'sec-fetch-site': 'cross-site' }, payload: { username: member.username, verifier: 'A'.repeat(43), code: '123456' } })
  t.equal(anonymous.statusCode, 403, 'login too: no login CSRF')
  const sameOrigin = await asStaff(app, adminClient, { method: 'POST', url: `/staff/admin/accounts/${member.id}/disable`, headers: { 'sec-fetch-site': 'same-origin', origin: app.config.publicOrigin }, payload: {} })
  t.equal(sameOrigin.statusCode, 303)
  // A form posted from the portal's own page: same-origin, with Origin "null" (no-referrer policy).
  const form = await asStaff(app, adminClient, { method: 'POST', url: `/staff/admin/accounts/${member.id}/enable`, headers: { 'sec-fetch-site': 'same-origin', origin: 'null' }, payload: {} })
  t.equal(form.statusCode, 303)
  t.ok((await audit('security.cross_site_refused')).length >= 5, 'audited')
})

t.test('the login page and pages without a session', async (t) => {
  const page = await app.inject({ method: 'GET', url: '/staff/login' })
  t.equal(page.statusCode, 200)
  t.match(page.body, /data-page="staff-login"/)
  t.match(page.body, /<input id="passphrase" type="password"[^>]*>/)
  t.notMatch(page.body, /<input id="passphrase"[^>]*name=/, 'the passphrase field has no name: a form post could not send it')
  t.match(page.body, /<button type="submit" class="button" disabled/, 'the submit button waits for the script')
  const redirected = await app.inject({ method: 'GET', url: '/staff/team', headers: { accept: 'text/html' } })
  t.equal(redirected.statusCode, 303)
  t.equal(redirected.headers.location, '/staff/login')
  const json = await app.inject({ method: 'GET', url: '/staff/keys' })
  t.equal(json.statusCode, 401)
  t.match(json.json().message, /sign in/)
})

t.test('nothing secret reaches the log', async (t) => {
  const text = logs.text()
  for (const staff of [lead, idva, admin]) {
    t.notOk(text.includes(staff.passphrase), 'no passphrase')
    t.notOk(text.includes(Buffer.from(staff.secrets.authVerifier).toString('base64url')), 'no verifier')
  }
  t.notMatch(text, /sd_session=/, 'no cookie')
  t.notMatch(text, /"verifier"|"username"|"passphrase"/, 'no login fields')
  for (const code of lead.recoveryCodes) t.notOk(text.includes(code), 'no recovery code')
})
