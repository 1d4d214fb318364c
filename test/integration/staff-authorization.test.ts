import t from 'tap'
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { seedAccount, seedGrant, seedService, seedUnit } from '../../scripts/lib/staff-fixtures.ts'
import type { Role } from '../../server/db/schema.ts'
import { withActor } from '../../server/db/actor.ts'
import { buildTestApp } from '../helpers/app.ts'
import { disclosureBody, newReporter, servicePublic, submit } from '../helpers/reporter.ts'
import { asStaff, freshAddress, sessionFor } from '../helpers/staff.ts'

/**
 * The authorisation matrix: every /staff route the application registers, for every role (and for
 * no session, and for a session that has not finished setting up its second factor). A role the
 * route does not allow gets 403 with a plain message, the refusal is audited, and nothing changes.
 * Routes are read from the app itself, so a new route is covered the day it is added.
 */

const { app, serviceKeys } = await buildTestApp(t)
const db = app.database.db
const service = await seedService(db, { keys: serviceKeys })
const unit = (await seedUnit(db, { id: 'met-dps', track: 'misconduct', force: 'Metropolitan Police Service', name: 'Directorate of Professional Standards' }))!
const ROLES: Role[] = ['idva_lead', 'idva', 'investigator', 'admin']
const members = {
  idva_lead: await seedAccount(db, app.config.serverSecret, { username: 'lead', role: 'idva_lead', groupId: service.id }),
  idva: await seedAccount(db, app.config.serverSecret, { username: 'idva', role: 'idva', groupId: service.id }),
  investigator: await seedAccount(db, app.config.serverSecret, { username: 'investigator', role: 'investigator', groupId: unit.id }),
  admin: await seedAccount(db, app.config.serverSecret, { username: 'admin', role: 'admin' }),
}
await seedGrant(db, members.idva_lead, service)
await seedGrant(db, members.idva, service)
await seedGrant(db, members.investigator, unit)
const target = await seedAccount(db, app.config.serverSecret, { username: 'target', role: 'investigator', groupId: unit.id })
// A case for the IDVA routes to name (its content is never reached by a refused request).
const reporter = await newReporter()
const caseId = reporter.caseId
t.equal((await submit(app, await disclosureBody(reporter, servicePublic(service.keys)))).statusCode, 201)

function concrete(url: string): string {
  return url
    .replace(':groupId', service.id)
    .replace(':unitId', unit.id)
    .replace(':accountId', target.id)
    .replace(':invitationId', 'inv-none')
    .replace(':token', randomBytes(32).toString('base64url'))
    .replace(':caseId', caseId)
    .replace(':fileId', randomUUID())
    .replace(':referralId', randomUUID())
    .replace(':evidenceId', randomUUID())
}

/** Everything a refused request must leave as it was (sessions' last-seen times aside). */
async function state(): Promise<string> {
  const hash = createHash('sha256')
  for (const table of ['groups', 'accounts', 'group_keys', 'group_key_grants', 'invitations', 'setup_tokens', 'recovery_codes', 'cases', 'case_messages', 'case_evidence', 'case_records']) {
    const rows = await sql<{ row: string }>`SELECT t::text AS row FROM ${sql.table(table)} t ORDER BY 1`.execute(db)
    hash.update(`${table}\n${rows.rows.map((row) => row.row).join('\n')}\n`)
  }
  // The referral tables answer only someone acting (row-level security): read them as the system.
  await withActor(db, { role: 'system' }, async (trx) => {
    for (const table of ['referrals', 'referral_keys', 'referral_files', 'referral_updates']) {
      const rows = await sql<{ row: string }>`SELECT t::text AS row FROM ${sql.table(table)} t ORDER BY 1`.execute(trx)
      hash.update(`${table}\n${rows.rows.map((row) => row.row).join('\n')}\n`)
    }
  })
  const sessions = await sql<{ row: string }>`SELECT account_id || stage AS row FROM sessions ORDER BY 1`.execute(db)
  hash.update(sessions.rows.map((row) => row.row).join('\n'))
  return hash.digest('hex')
}

const denials = async () => Number((await db.selectFrom('audit_log').select((eb) => eb.fn.countAll<number>().as('n')).where('action', '=', 'security.access_denied').executeTakeFirstOrThrow()).n)
const routes = app.staffRoutes.filter((route) => route.access !== 'public')

t.test('the app declares access for every staff route', async (t) => {
  t.ok(app.staffRoutes.length >= 25, `${app.staffRoutes.length} staff routes`)
  const publicOnes = app.staffRoutes.filter((route) => route.access === 'public').map((route) => `${route.method} ${route.url}`).sort()
  t.same(publicOnes, [
    'GET /staff/enrol/:token',
    'GET /staff/login',
    'GET /staff/setup/:token',
    'POST /staff/enrol/:token',
    'POST /staff/login',
    'POST /staff/login/params',
    'POST /staff/setup/:token',
  ], 'only signing in, set-up and enrolment are open without a session')
})

t.test('every route × every role it does not allow: 403, audited, nothing changed', async (t) => {
  for (const route of routes) {
    if (route.access === 'public') continue
    for (const role of ROLES.filter((candidate) => !(route.access as { roles: readonly Role[] }).roles.includes(candidate))) {
      const client = await sessionFor(app, members[role])
      const before = await state()
      const deniedBefore = await denials()
      const response = await asStaff(app, client, { method: route.method as 'GET', url: concrete(route.url), ...(route.method === 'GET' ? {} : { payload: {} }) })
      t.equal(response.statusCode, 403, `${role} → ${route.method} ${route.url}`)
      t.match(response.json().message, /Your account cannot use this page/)
      t.equal(await denials(), deniedBefore + 1, 'audited')
      t.equal(await state(), before, 'nothing changed')
    }
  }
})

t.test('investigators and administrators are refused every IDVA route', async (t) => {
  const idvaRoutes = routes.filter((route) => route.url.startsWith('/staff/cases') || route.url.startsWith('/staff/identifiers') || route.url === '/staff/referrals/policy')
  t.ok(idvaRoutes.length >= 10, `${idvaRoutes.length} IDVA routes`)
  // Marking junk (in bulk from the queue, or one case from its page) and putting it back are among them.
  const listed = idvaRoutes.map((route) => `${route.method} ${route.url}`)
  for (const junk of ['POST /staff/cases/junk', 'POST /staff/cases/not-junk', 'POST /staff/cases/:caseId/junk', 'POST /staff/cases/:caseId/not-junk']) t.ok(listed.includes(junk), `${junk} is an IDVA route`)
  // Holding a case past its retention day is the IDVA lead's alone; every other IDVA route is for both.
  const LEAD_ONLY = new Set(['/staff/cases/:caseId/hold', '/staff/cases/:caseId/hold/lift'])
  for (const route of idvaRoutes) {
    const leadOnly = LEAD_ONLY.has(route.url)
    t.same((route.access as { roles: readonly Role[] }).roles, leadOnly ? ['idva_lead'] : ['idva_lead', 'idva'], `${route.method} ${route.url} is for ${leadOnly ? 'the IDVA lead' : 'IDVAs'} only`)
    for (const role of leadOnly ? (['idva', 'investigator', 'admin'] as const) : (['investigator', 'admin'] as const)) {
      const response = await asStaff(app, await sessionFor(app, members[role]), { method: route.method as 'GET', url: concrete(route.url), ...(route.method === 'GET' ? {} : { payload: {} }) })
      t.equal(response.statusCode, 403, `${role} → ${route.method} ${route.url}`)
      t.notMatch(response.body, /envelope/, 'and nothing of the case')
    }
  }
})

t.test('the units\' inbox is for investigators only: every IDVA role and the administrator are refused', async (t) => {
  const unitRoutes = routes.filter((route) => route.url.startsWith('/staff/inbox'))
  t.ok(unitRoutes.length >= 6, `${unitRoutes.length} unit routes`)
  for (const route of unitRoutes) {
    t.same((route.access as { roles: readonly Role[] }).roles, ['investigator'], `${route.method} ${route.url} is for investigators only`)
    for (const role of ['idva_lead', 'idva', 'admin'] as const) {
      const response = await asStaff(app, await sessionFor(app, members[role]), { method: route.method as 'GET', url: concrete(route.url), ...(route.method === 'GET' ? {} : { payload: {} }) })
      t.equal(response.statusCode, 403, `${role} → ${route.method} ${route.url}`)
    }
  }
})

t.test('team actions are also bound to the member\'s own team', async (t) => {
  const investigator = await sessionFor(app, members.investigator)
  for (const action of ['grants', 'rotate']) {
    const response = await asStaff(app, investigator, { method: 'POST', url: `/staff/groups/${service.id}/${action}`, payload: {} })
    t.equal(response.statusCode, 403, `an investigator cannot act for the IDVA service (${action})`)
    t.match(response.json().message, /not a member of this team/)
  }
  const idva = await sessionFor(app, members.idva)
  const response = await asStaff(app, idva, { method: 'POST', url: `/staff/groups/${unit.id}/grants`, payload: {} })
  t.equal(response.statusCode, 403, 'an IDVA cannot act for a unit')
})

// Last: allowed requests may change things (close the unit, disable the target account).
t.test('every route × every role it allows: not refused for the role', async (t) => {
  for (const route of routes) {
    if (route.access === 'public') continue
    for (const role of route.access.roles) {
      const client = await sessionFor(app, members[role])
      const response = await asStaff(app, client, { method: route.method as 'GET', url: concrete(route.url), ...(route.method === 'GET' ? {} : { payload: {} }) })
      t.not(response.statusCode, 401, `${role} → ${route.method} ${route.url}`)
      t.notMatch(response.body, /Your account cannot use this page/, `${role} → ${route.method} ${route.url} (${response.statusCode})`)
      t.ok(response.statusCode < 500, `no server error (${response.statusCode})`)
    }
  }
})

t.test('without a session: 401 (or, for a page, the sign-in page)', async (t) => {
  for (const route of routes) {
    const response = await app.inject({ method: route.method as 'GET', url: concrete(route.url), remoteAddress: freshAddress(), ...(route.method === 'GET' ? {} : { payload: {} }) })
    t.equal(response.statusCode, 401, `${route.method} ${route.url}`)
    if (route.method === 'GET') {
      const page = await app.inject({ method: 'GET', url: concrete(route.url), remoteAddress: freshAddress(), headers: { accept: 'text/html' } })
      t.equal(page.statusCode, 303)
      t.equal(page.headers.location, '/staff/login')
    }
  }
})

t.test('a session still setting up its second factor reaches only that page and sign-out', async (t) => {
  for (const route of routes) {
    if (route.access === 'public') continue
    const client = await sessionFor(app, members.idva, 'second_factor_enrolment')
    const response = await asStaff(app, client, { method: route.method as 'GET', url: concrete(route.url), ...(route.method === 'GET' ? {} : { payload: {} }) })
    if (route.access.secondFactorEnrolment === true) {
      t.not(response.statusCode, 403, `${route.method} ${route.url} is allowed`)
    } else {
      t.equal(response.statusCode, 403, `${route.method} ${route.url}`)
      t.match(response.json().message, /second factor/)
    }
  }
})

