import t from 'tap'
import { createHash } from 'node:crypto'
import { sql } from 'kysely'
import { seedAccount, seedGrant, seedService, seedUnit, type SeededStaff } from '../../scripts/lib/staff-fixtures.ts'
import { buildTestApp } from '../helpers/app.ts'
import { asStaff, codeAt, csrfOf, freshAddress, login, newMemberBody, readEnrolmentPage, sessionCookie, sessionFor, type StaffClient } from '../helpers/staff.ts'

/**
 * Who manages whom. The IDVA service (a charity) manages its own people through its IDVA lead; the
 * force's portal administrator manages units, investigators and administrators, and can do nothing
 * to an account of the IDVA service: not disable, enable, reset its second factor, or revoke an
 * invitation into it. A member the IDVA lead removed stays removed: only the lead brings someone
 * back, by a new invitation, with new keys.
 */

const { app } = await buildTestApp(t)
const db = app.database.db
const secret = app.config.serverSecret
const service = await seedService(db)
const unit = (await seedUnit(db, { id: 'met-dps', track: 'misconduct', force: 'Metropolitan Police Service', name: 'Directorate of Professional Standards' }))!
const lead = await seedAccount(db, secret, { username: 'lead', role: 'idva_lead', groupId: service.id })
await seedGrant(db, lead, service)
const otherLead = await seedAccount(db, secret, { username: 'lead.two', role: 'idva_lead', groupId: service.id })
await seedGrant(db, otherLead, service)
const idva = await seedAccount(db, secret, { username: 'idva.one', role: 'idva', groupId: service.id })
await seedGrant(db, idva, service)
const investigator = await seedAccount(db, secret, { username: 'investigator', role: 'investigator', groupId: unit.id })
await seedGrant(db, investigator, unit)
const admin = await seedAccount(db, secret, { username: 'admin', role: 'admin' })
const otherAdmin = await seedAccount(db, secret, { username: 'admin.two', role: 'admin' })

const ADMIN_ACTIONS = ['disable', 'enable', 'reset-second-factor', 'remove-from-unit'] as const

/** Everything a refused request must leave as it was (sessions' last-seen times aside). */
async function state(): Promise<string> {
  const hash = createHash('sha256')
  for (const table of ['groups', 'accounts', 'group_keys', 'group_key_grants', 'invitations', 'recovery_codes']) {
    const rows = await sql<{ row: string }>`SELECT t::text AS row FROM ${sql.table(table)} t ORDER BY 1`.execute(db)
    hash.update(`${table}\n${rows.rows.map((row) => row.row).join('\n')}\n`)
  }
  const sessions = await sql<{ row: string }>`SELECT account_id || stage AS row FROM sessions ORDER BY 1`.execute(db)
  hash.update(sessions.rows.map((row) => row.row).join('\n'))
  return hash.digest('hex')
}

const denials = async (objectId: string) =>
  Number((await db.selectFrom('audit_log').select((eb) => eb.fn.countAll<number>().as('n')).where('action', '=', 'security.access_denied').where('object_id', '=', objectId).executeTakeFirstOrThrow()).n)
const statusOf = async (id: string) => (await db.selectFrom('accounts').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status
const linkIn = (html: string) => /<code class="invitation-link">([^<]+)<\/code>/.exec(html)?.[1] ?? null
/** The actions column of one account's row on the administrator's accounts page. */
const rowOf = (html: string, id: string) => new RegExp(`<tr data-account="${id}">([\\s\\S]*?)</tr>`).exec(html)?.[1] ?? ''

async function adminTries(client: StaffClient, target: SeededStaff, action: (typeof ADMIN_ACTIONS)[number]) {
  return asStaff(app, client, { method: 'POST', url: `/staff/admin/accounts/${target.id}/${action}`, payload: {} })
}

t.test('a member the IDVA lead removed stays removed: the administrator cannot enable them again', async (t) => {
  const leaving = await seedAccount(db, secret, { username: 'idva.leaving', role: 'idva', groupId: service.id })
  await seedGrant(db, leaving, service)
  const removed = await asStaff(app, await sessionFor(app, lead), { method: 'POST', url: `/staff/team/members/${leaving.id}/remove`, payload: {} })
  t.equal(removed.statusCode, 303)
  t.equal(await statusOf(leaving.id), 'disabled')

  const adminClient = await sessionFor(app, admin)
  const before = await state()
  const enable = await adminTries(adminClient, leaving, 'enable')
  t.equal(enable.statusCode, 403, 'the administrator is refused')
  t.match(enable.json().message, /IDVA lead/)
  t.equal(await state(), before, 'nothing changed')
  t.equal(await statusOf(leaving.id), 'disabled', 'the account stays disabled')
  const signIn = await login(app, leaving, codeAt(leaving.totpSecret), { remoteAddress: freshAddress() })
  t.equal(signIn.statusCode, 401, 'and cannot sign in')
  t.equal(sessionCookie(app, signIn), null, 'no session')

  // The lead brings them back, if ever, by a new invitation: a new account with new keys.
  const invitation = await asStaff(app, await sessionFor(app, lead), { method: 'POST', url: '/staff/team/invitations', payload: { role: 'idva' }, headers: { accept: 'text/html' } })
  const link = linkIn(invitation.body)!
  const page = readEnrolmentPage((await app.inject({ method: 'GET', url: new URL(link).pathname, remoteAddress: freshAddress() })).body)
  const member = await newMemberBody(page, 'idva.returning', 'a fresh passphrase for coming back')
  const enrolled = await app.inject({ method: 'POST', url: new URL(link).pathname, payload: member.body, remoteAddress: freshAddress() })
  t.equal(enrolled.statusCode, 200, enrolled.body)
  t.not(page.accountId, leaving.id, 'a new account')
  t.notSame(Buffer.from(member.keys.encryption.publicKey), Buffer.from(leaving.keys.encryption.publicKey), 'with new keys')
  t.equal(await statusOf(leaving.id), 'disabled', 'the removed account stays disabled')
  const keys = (await app.inject({ method: 'GET', url: '/staff/keys', headers: { cookie: sessionCookie(app, enrolled)! } })).json()
  t.equal(keys.group.grant, null, 'and sees nothing until a colleague compares fingerprints and gives access')
})

t.test('the administrator can do nothing to an account of the IDVA service: 403, audited, nothing changed', async (t) => {
  const adminClient = await sessionFor(app, admin)
  const disabledIdva = await seedAccount(db, secret, { username: 'idva.disabled', role: 'idva', groupId: service.id, status: 'disabled' })
  for (const target of [lead, otherLead, idva, disabledIdva]) {
    for (const action of ADMIN_ACTIONS) {
      const before = await state()
      const deniedBefore = await denials(target.id)
      const response = await adminTries(adminClient, target, action)
      t.equal(response.statusCode, 403, `${action} ${target.username}`)
      t.equal(response.json().message, 'This account belongs to the IDVA service: only its IDVA lead manages it. Nothing was changed.')
      t.equal(await denials(target.id), deniedBefore + 1, 'audited')
      t.equal(await state(), before, 'nothing changed')
    }
  }
  // A form posted from the page gets an error page, not JSON.
  const form = await app.inject({ method: 'POST', url: `/staff/admin/accounts/${idva.id}/disable`, headers: { cookie: adminClient.cookie, accept: 'text/html' }, payload: { _csrf: adminClient.csrf }, remoteAddress: freshAddress() })
  t.equal(form.statusCode, 403)
  t.match(form.headers['content-type'], /text\/html/)
  t.match(form.body, /only its IDVA lead manages it/)
  t.equal(await statusOf(idva.id), 'active')
  t.equal((await login(app, idva, codeAt(idva.totpSecret), { remoteAddress: freshAddress() })).statusCode, 200, 'the IDVA still signs in as before')
})

t.test('the administrator still manages investigators and administrators', async (t) => {
  const adminClient = await sessionFor(app, admin)
  for (const target of [investigator, otherAdmin]) {
    t.equal((await adminTries(adminClient, target, 'disable')).statusCode, 303, `disable ${target.username}`)
    t.equal(await statusOf(target.id), 'disabled')
    t.equal((await adminTries(adminClient, target, 'enable')).statusCode, 303, `enable ${target.username}`)
    t.equal(await statusOf(target.id), 'active')
    t.equal((await adminTries(adminClient, target, 'reset-second-factor')).statusCode, 303, `reset ${target.username}'s second factor`)
  }
})

t.test('the accounts page offers no action on the IDVA service\'s accounts, and says who manages them', async (t) => {
  const client = await sessionFor(app, admin)
  const page = await app.inject({ method: 'GET', url: '/staff/admin/accounts', headers: { cookie: client.cookie } })
  t.equal(page.statusCode, 200)
  for (const member of [lead, otherLead, idva]) {
    const row = rowOf(page.body, member.id)
    t.match(row, new RegExp(member.username.replace('.', '\\.')), `${member.username} is listed`)
    t.notMatch(row, /<form|<button/, 'with no button')
    t.match(row, /Managed by the IDVA lead/)
  }
  t.match(page.body, /The IDVA service's accounts are managed by its IDVA lead/)
  const other = rowOf(page.body, otherAdmin.id)
  t.match(other, new RegExp(`/staff/admin/accounts/${otherAdmin.id}/(disable|enable)`), 'an administrator\'s row keeps its buttons')
})

t.test('invitations into the IDVA service: the lead lists and revokes them; the administrator cannot', async (t) => {
  const leadClient = await sessionFor(app, lead)
  const invitation = await asStaff(app, leadClient, { method: 'POST', url: '/staff/team/invitations', payload: { role: 'idva' }, headers: { accept: 'text/html' } })
  const token = new URL(linkIn(invitation.body)!).pathname.split('/').pop()!
  const row = await db.selectFrom('invitations').select('id').where('token_hash', '=', createHash('sha256').update(token).digest()).executeTakeFirstOrThrow()

  const adminClient = await sessionFor(app, admin)
  const invitationsPage = await app.inject({ method: 'GET', url: '/staff/admin/invitations', headers: { cookie: adminClient.cookie } })
  t.notMatch(invitationsPage.body, new RegExp(`/staff/admin/invitations/${row.id}/revoke`), 'no Revoke button for it on the administrator\'s page')
  t.match(invitationsPage.body, /Managed by the IDVA lead/)
  const before = await state()
  const deniedBefore = await denials(row.id)
  const refused = await asStaff(app, adminClient, { method: 'POST', url: `/staff/admin/invitations/${row.id}/revoke`, payload: {} })
  t.equal(refused.statusCode, 403)
  t.match(refused.json().message, /only its IDVA lead/)
  t.equal(await denials(row.id), deniedBefore + 1, 'audited')
  t.equal(await state(), before, 'nothing changed')

  const team = await app.inject({ method: 'GET', url: '/staff/team', headers: { cookie: leadClient.cookie } })
  t.match(team.body, new RegExp(`action="/staff/team/invitations/${row.id}/revoke"`), 'the lead sees it, with a Revoke button')
  const idvaTeam = await app.inject({ method: 'GET', url: '/staff/team', headers: { cookie: (await sessionFor(app, idva)).cookie } })
  t.notMatch(idvaTeam.body, /\/staff\/team\/invitations\/[^/]+\/revoke/, 'an IDVA who is not a lead does not')
  t.equal((await asStaff(app, await sessionFor(app, idva), { method: 'POST', url: `/staff/team/invitations/${row.id}/revoke`, payload: {} })).statusCode, 403, 'and cannot revoke')
  const revoked = await asStaff(app, leadClient, { method: 'POST', url: `/staff/team/invitations/${row.id}/revoke`, payload: {} })
  t.equal(revoked.statusCode, 303)
  t.equal(revoked.headers.location, '/staff/team')
  t.equal((await app.inject({ method: 'GET', url: `/staff/enrol/${token}` })).statusCode, 404, 'the link no longer works')
  t.equal((await asStaff(app, leadClient, { method: 'POST', url: `/staff/team/invitations/${row.id}/revoke`, payload: {} })).statusCode, 404, 'revoked once')

  // An invitation into a unit is the administrator's, not the lead's.
  const unitInvitation = await asStaff(app, adminClient, { method: 'POST', url: '/staff/admin/invitations', payload: { role: 'investigator', groupId: unit.id }, headers: { accept: 'text/html' } })
  const unitToken = new URL(linkIn(unitInvitation.body)!).pathname.split('/').pop()!
  const unitRow = await db.selectFrom('invitations').select('id').where('token_hash', '=', createHash('sha256').update(unitToken).digest()).executeTakeFirstOrThrow()
  t.equal((await asStaff(app, leadClient, { method: 'POST', url: `/staff/team/invitations/${unitRow.id}/revoke`, payload: {} })).statusCode, 404, 'the lead cannot revoke it')
  t.equal((await asStaff(app, adminClient, { method: 'POST', url: `/staff/admin/invitations/${unitRow.id}/revoke`, payload: {} })).statusCode, 303, 'the administrator can')
})

t.test('the IDVA lead resets a member\'s lost second factor; nobody else can', async (t) => {
  const member = await seedAccount(db, secret, { username: 'idva.lost.phone', role: 'idva', groupId: service.id })
  const memberSession = await sessionFor(app, member)
  const leadClient = await sessionFor(app, lead)
  const team = await app.inject({ method: 'GET', url: '/staff/team', headers: { cookie: leadClient.cookie } })
  t.match(team.body, new RegExp(`href="/staff/team/members/${member.id}/reset-second-factor"`), 'the team page offers it to the lead, as a first step')
  t.notMatch(team.body, new RegExp(`href="/staff/team/members/${lead.id}/reset-second-factor"`), 'not for themselves')
  t.equal((await asStaff(app, leadClient, { method: 'POST', url: `/staff/team/members/${lead.id}/reset-second-factor`, payload: {} })).statusCode, 400, 'not their own')
  t.equal((await asStaff(app, leadClient, { method: 'POST', url: `/staff/team/members/${investigator.id}/reset-second-factor`, payload: {} })).statusCode, 404, 'not someone outside the service')
  t.equal((await asStaff(app, await sessionFor(app, idva), { method: 'POST', url: `/staff/team/members/${member.id}/reset-second-factor`, payload: {} })).statusCode, 403, 'an IDVA cannot')
  t.equal((await adminTries(await sessionFor(app, admin), member, 'reset-second-factor')).statusCode, 403, 'the administrator cannot')

  const reset = await asStaff(app, leadClient, { method: 'POST', url: `/staff/team/members/${member.id}/reset-second-factor`, payload: {} })
  t.equal(reset.statusCode, 303)
  t.equal(reset.headers.location, '/staff/team')
  const row = await db.selectFrom('accounts').select(['totp_secret_sealed', 'status']).where('id', '=', member.id).executeTakeFirstOrThrow()
  t.equal(row.totp_secret_sealed, null, 'the second factor is gone')
  t.equal(row.status, 'active', 'the account stays active')
  t.equal((await db.selectFrom('recovery_codes').select('account_id').where('account_id', '=', member.id).execute()).length, 0, 'and its recovery codes')
  t.equal((await app.inject({ method: 'GET', url: '/staff', headers: { cookie: memberSession.cookie } })).statusCode, 401, 'its sessions ended')
  t.ok((await db.selectFrom('audit_log').select('actor_id').where('action', '=', 'staff.second_factor_reset').where('object_id', '=', member.id).execute()).some((entry) => entry.actor_id === lead.id), 'audited')
  const signIn = await login(app, member, '', { remoteAddress: freshAddress() })
  t.equal(signIn.statusCode, 200, signIn.body)
  t.same(signIn.json(), { next: '/staff/second-factor' }, 'the member must set up a new one')
  const page = await app.inject({ method: 'GET', url: '/staff/second-factor', headers: { cookie: sessionCookie(app, signIn)! } })
  t.ok(csrfOf(page.body), 'and can')
})

t.test('the IDVA lead still removes members of the service, and the administrator still removes investigators', async (t) => {
  const member = await seedAccount(db, secret, { username: 'idva.moving.on', role: 'idva', groupId: service.id })
  await seedGrant(db, member, service)
  const team = await app.inject({ method: 'GET', url: '/staff/team', headers: { cookie: (await sessionFor(app, lead)).cookie } })
  t.match(team.body, new RegExp(`href="/staff/team/members/${member.id}/remove"`))
  t.equal((await asStaff(app, await sessionFor(app, lead), { method: 'POST', url: `/staff/team/members/${member.id}/remove`, payload: {} })).statusCode, 303)
  t.equal(await statusOf(member.id), 'disabled')
  const leaver = await seedAccount(db, secret, { username: 'investigator.leaving', role: 'investigator', groupId: unit.id })
  t.equal((await adminTries(await sessionFor(app, admin), leaver, 'remove-from-unit')).statusCode, 303)
  t.equal(await statusOf(leaver.id), 'disabled')
})

t.test('destructive actions take two steps: a page that says what happens, then the same checked POST', async (t) => {
  const member = await seedAccount(db, secret, { username: 'idva.second.step', role: 'idva', groupId: service.id })
  const officer = await seedAccount(db, secret, { username: 'investigator.second.step', role: 'investigator', groupId: unit.id })
  const leadClient = await sessionFor(app, lead)
  const adminClient = await sessionFor(app, admin)
  const idvaClient = await sessionFor(app, idva)
  const before = await state()
  const get = (client: StaffClient, url: string) => app.inject({ method: 'GET', url, headers: { cookie: client.cookie, accept: 'text/html' } })

  const accounts = (await get(adminClient, '/staff/admin/accounts')).body
  t.match(rowOf(accounts, officer.id), new RegExp(`<a href="/staff/admin/accounts/${officer.id}/disable" class="button button--small button--secondary">Disable</a>`), 'the table offers a first step, not styled as the main action')
  t.notMatch(rowOf(accounts, officer.id), /button--warning/)
  for (const [action, words, label] of [
    ['disable', /is signed out at once and cannot sign in until an administrator enables the account again/, 'Disable the account'],
    ['reset-second-factor', /authenticator app and recovery codes stop working/, 'Reset the second factor'],
    ['remove-from-unit', /can no longer open the unit(&#39;|')s referrals/, 'Remove from the unit'],
  ] as const) {
    const page = await get(adminClient, `/staff/admin/accounts/${officer.id}/${action}`)
    t.equal(page.statusCode, 200, action)
    t.match(page.body, words, `${action}: what happens, said first`)
    t.match(page.body, new RegExp(`<form method="post" action="/staff/admin/accounts/${officer.id}/${action}"`), `${action}: the same POST`)
    t.ok(page.body.includes(`class="button button--warning" data-confirm-submit="">${label}</button>`), `${action}: the action as a warning button`)
    t.match(page.body, /href="\/staff\/admin\/accounts" class="button button--secondary">Go back without changing anything/)
    t.match(page.body, /name="_csrf" value="[^"]+"/, `${action}: with the CSRF token`)
    t.equal((await get(leadClient, `/staff/admin/accounts/${officer.id}/${action}`)).statusCode, 403, `${action}: an IDVA lead gets 403`)
  }
  t.equal((await get(adminClient, `/staff/admin/accounts/${member.id}/disable`)).statusCode, 403, 'not for the IDVA service\'s accounts')
  t.equal((await get(adminClient, `/staff/admin/accounts/${admin.id}/disable`)).statusCode, 400, 'not for their own')

  const team = (await get(leadClient, '/staff/team')).body
  t.notMatch(team, new RegExp(`<form method="post" action="/staff/team/members/${member.id}/remove"`), 'the team page does not remove in one step')
  for (const [action, words] of [
    ['remove', /can no longer open the service(&#39;|')s cases[\s\S]*rotate the service(&#39;|')s key/],
    ['reset-second-factor', /Do this only once you have checked, by phone or in person/],
  ] as const) {
    const page = await get(leadClient, `/staff/team/members/${member.id}/${action}`)
    t.equal(page.statusCode, 200, action)
    t.match(page.body, words)
    t.match(page.body, new RegExp(`<form method="post" action="/staff/team/members/${member.id}/${action}"`))
    t.equal((await get(idvaClient, `/staff/team/members/${member.id}/${action}`)).statusCode, 403, `${action}: an IDVA gets 403`)
    t.equal((await get(adminClient, `/staff/team/members/${member.id}/${action}`)).statusCode, 403, `${action}: an administrator gets 403`)
  }
  t.equal((await get(leadClient, `/staff/team/members/${lead.id}/remove`)).statusCode, 400, 'not themselves')
  t.equal(await state(), before, 'opening the first step changes nothing')
})
