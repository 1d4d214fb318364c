import t from 'tap'
import { sql, type Kysely } from 'kysely'
import { seedAccount, seedGrant } from '../../scripts/lib/staff-fixtures.ts'
import { actAs, withActor, type Actor } from '../../server/db/actor.ts'
import type { Schema } from '../../server/db/schema.ts'
import { openDatabase, requestRole } from '../../server/db/database.ts'
import { createLogger } from '../../server/logger.ts'
import { buildTestApp } from '../helpers/app.ts'
import { packageBody, seedReferralWorld, updateBody } from '../helpers/referrals.ts'
import { disclosureBody, encryptedFile, newReporter, openCase, servicePublic, submit, upload } from '../helpers/reporter.ts'
import { asStaff, sessionFor } from '../helpers/staff.ts'
import { NOTE, recordBody } from '../helpers/idva.ts'

/**
 * The separation of the tracks, held by the database itself (migration 0011): connected as the
 * application's role (on PostgreSQL, the restricted login README describes; on the embedded
 * database, its superuser switched to that role), with one unit's setting, `SELECT *` with no
 * WHERE on every protected table returns only that unit's rows, and not one row of the tables
 * that hold disclosures, threads, triage, consent, files or case keys. Writes outside the unit's
 * rows are refused by the policies' checks too. Runs on PGlite and on PostgreSQL (CI runs both).
 */

const { app, serviceKeys, testDatabase } = await buildTestApp(t)
const db = app.database.db
const { service, units, asIdva } = await seedReferralWorld(app, serviceKeys)

/** Set-up checks (no top-level assertion may come before the subtests). */
function expectStatus(response: { statusCode: number; body: string }, status: number): void {
  if (response.statusCode !== status) throw new Error(`expected ${status}, got ${response.statusCode}: ${response.body}`)
}

const UNIT_TABLES = ['referrals', 'referral_keys', 'referral_files', 'referral_updates'] as const
const CASE_TABLES = ['cases', 'case_messages', 'case_records', 'case_evidence', 'case_evidence_pieces', 'case_keys', 'case_sessions', 'retention_holds'] as const

// Case A, with a file (rows of case_evidence and case_evidence_pieces): its criminal package (and
// the file) to North Area, its misconduct package to professional standards. Case B: its criminal package to Central East.
const file = await encryptedFile(new TextEncoder().encode('a photograph'))
const uploaded = (await upload(app, file.encrypted)).json<{ id: string; token: string }>()
const reporterA = await newReporter()
const caseKeys = { reply: Buffer.from(reporterA.keys.reply.publicKey).toString('base64url'), auth: Buffer.from(reporterA.keys.auth.publicKey).toString('base64url') }
expectStatus(await submit(app, await disclosureBody(reporterA, servicePublic(service.keys), { v: 1, text: 'case A', evidence: [], caseKeys }, [uploaded])), 201)
const reporterB = await newReporter()
expectStatus(await submit(app, await disclosureBody(reporterB, servicePublic(service.keys))), 201)
await openCase(app, reporterA.keys) // a case session row
// The IDVA lead holds case A past its retention day: a row of retention_holds.
await db.insertInto('retention_holds').values({ case_id: reporterA.caseId, reason: 'investigation', placed_by: null }).execute()
// An IDVA's note on case A: a row of case_records.
expectStatus(await asStaff(app, asIdva, { method: 'POST', url: `/staff/cases/${reporterA.caseId}/records`, payload: await recordBody({ caseId: reporterA.caseId, kind: 'note', seq: 1, content: NOTE('A note only the IDVA service reads.'), service: service.keys }) }), 201)

const criminalA = await packageBody({ caseId: reporterA.caseId, track: 'criminal', unit: units.criminal, service: service.keys, evidence: [uploaded.id] })
const misconductA = await packageBody({ caseId: reporterA.caseId, track: 'misconduct', unit: units.professionalStandards, service: service.keys, iopcRequired: true, evidence: [uploaded.id] })
const criminalB = await packageBody({ caseId: reporterB.caseId, track: 'criminal', unit: units.other, service: service.keys })
for (const [caseId, packages] of [[reporterA.caseId, [criminalA, misconductA]], [reporterB.caseId, [criminalB]]] as const) {
  expectStatus(await asStaff(app, asIdva, { method: 'POST', url: `/staff/cases/${caseId}/referrals`, payload: { packages } }), 201)
}
// Each unit acknowledges its package: rows in referral_updates for more than one unit.
for (const [unit, referral, caseId] of [[units.criminal, criminalA, reporterA.caseId], [units.professionalStandards, misconductA, reporterA.caseId], [units.other, criminalB, reporterB.caseId]] as const) {
  const member = await seedAccount(db, app.config.serverSecret, { username: `inv.${unit.id}`, role: 'investigator', groupId: unit.id })
  await seedGrant(db, member, unit)
  const body = await updateBody({ caseId, referralId: referral.referralId, seq: 1, action: 'acknowledged', unit, service: service.keys })
  expectStatus(await asStaff(app, await sessionFor(app, member), { method: 'POST', url: `/staff/inbox/${referral.referralId}/updates`, payload: body }), 201)
}

type Row = Record<string, unknown>
async function selectAll(actor: Actor | null, table: string, on: Kysely<Schema> = db): Promise<Row[]> {
  return on.transaction().execute(async (trx) => {
    if (actor !== null) await actAs(trx, actor)
    return (await sql<Row>`SELECT * FROM ${sql.table(table)}`.execute(trx)).rows
  })
}

t.test('connected as the application\'s role: not the tables\' owner, no BYPASSRLS; every protected table enabled and forced', async (t) => {
  const role = (await sql<{ name: string; superuser: boolean; bypass: boolean }>`SELECT current_user AS name, rolsuper AS superuser, rolbypassrls AS bypass FROM pg_roles WHERE rolname = current_user`.execute(db)).rows[0]!
  t.equal(role.superuser, false, `${role.name} is not a superuser`)
  t.equal(role.bypass, false, `${role.name} has no BYPASSRLS`)
  if (testDatabase.kind === 'postgres') t.equal(role.name, testDatabase.appRole, 'PostgreSQL: the restricted login role README advises')
  else t.equal(role.name, 'safe_disclosure_app', 'embedded: the superuser switched to the application\'s role')
  const tables = (
    await sql<{ name: string; enabled: boolean; forced: boolean; owner: string }>`
      SELECT c.relname AS name, c.relrowsecurity AS enabled, c.relforcerowsecurity AS forced, pg_get_userbyid(c.relowner) AS owner
      FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'`.execute(db)
  ).rows
  for (const table of [...UNIT_TABLES, ...CASE_TABLES]) {
    const found = tables.find((row) => row.name === table)
    t.ok(found?.enabled === true && found.forced === true, `${table}: row-level security enabled and forced`)
    t.not(found?.owner, role.name, `${table} is not owned by ${role.name}`)
  }
})

t.test('the owner is used only while asOwner holds a connection; requests are back on the application\'s role after it', async (t) => {
  const roleOf = async (on: Kysely<any>) => (await sql<{ name: string }>`SELECT current_user AS name`.execute(on)).rows[0]!.name
  const before = await roleOf(db)
  const owner = await app.database.asOwner(roleOf)
  t.not(owner, before, `migrations and the reclaimer run as ${owner}`)
  t.equal(await roleOf(db), before, `and requests as ${before} again`)
  if (testDatabase.kind === 'postgres' && testDatabase.ownerUrl !== undefined) {
    // A DATABASE_URL naming a superuser: every request connection switches to the application's role.
    const superuser = await openDatabase({ ...app.config, databaseUrl: testDatabase.ownerUrl, databaseMigrationUrl: null }, createLogger('silent'))
    try {
      const role = await requestRole(superuser.db)
      t.same(role, { name: 'safe_disclosure_app', bypassesPolicies: false, ownsTables: false }, 'a superuser URL serves as safe_disclosure_app')
      t.same(await selectAll({ role: 'investigator', unitId: units.criminal.id }, 'cases', superuser.db), [], 'and the policies bind it')
    } finally {
      await superuser.close()
    }
  }
})

t.test('as the system, every protected table has rows: the empty answers below are the policies at work', async (t) => {
  for (const table of [...UNIT_TABLES, ...CASE_TABLES]) t.ok((await selectAll({ role: 'system' }, table)).length > 0, `${table} has rows`)
  t.equal((await selectAll({ role: 'system' }, 'referrals')).length, 3)
})

t.test('as one unit, SELECT * with no WHERE: only that unit\'s rows, and nothing from a case\'s own tables', async (t) => {
  for (const [unit, own] of [[units.criminal, criminalA], [units.professionalStandards, misconductA], [units.other, criminalB]] as const) {
    const actor: Actor = { role: 'investigator', unitId: unit.id }
    const referrals = await selectAll(actor, 'referrals')
    t.same(referrals.map((row) => [row.id, row.unit_id]), [[own.referralId, unit.id]], `${unit.id}: its own referral only`)
    for (const table of ['referral_keys', 'referral_updates'] as const) {
      const rows = await selectAll(actor, table)
      t.ok(rows.length > 0 && rows.every((row) => row.referral_id === own.referralId), `${unit.id}: ${table} holds only its own referral's rows (${rows.length})`)
    }
    const files = await selectAll(actor, 'referral_files')
    t.ok(files.every((row) => row.referral_id === own.referralId), `${unit.id}: referral_files only its own`)
    t.equal(files.length, own.evidence.length, `${unit.id}: the file copied for its package, and no other`)
    for (const table of CASE_TABLES) t.same(await selectAll(actor, table), [], `${unit.id}: no row of ${table}`)
  }
})

t.test('a unit with no referral sees nothing at all; nobody acting sees no referral', async (t) => {
  for (const table of [...UNIT_TABLES, ...CASE_TABLES]) t.same(await selectAll({ role: 'investigator', unitId: 'met-cs-safeguarding' }, table), [], `an empty unit: no row of ${table}`)
  for (const table of UNIT_TABLES) t.same(await selectAll(null, table), [], `nobody acting: no row of ${table}`)
  for (const table of UNIT_TABLES) t.same(await selectAll({ role: 'investigator', unitId: '' } as Actor, table).catch(() => []), [], `an investigator without a unit: no row of ${table}`)
})

t.test('a reporter sees their own case\'s referrals (to be told they went), nothing of the packages\' keys, files or updates', async (t) => {
  const actor: Actor = { role: 'reporter', caseId: reporterB.caseId }
  t.same((await selectAll(actor, 'referrals')).map((row) => row.id), [criminalB.referralId])
  for (const table of ['referral_keys', 'referral_files', 'referral_updates'] as const) t.same(await selectAll(actor, table), [], `no row of ${table}`)
})

t.test('writes outside the unit\'s rows are refused by the database too', async (t) => {
  const actor: Actor = { role: 'investigator', unitId: units.criminal.id }
  const attempt = (statement: ReturnType<typeof sql>) =>
    withActor(db, actor, async (trx) => (await statement.execute(trx)).numAffectedRows ?? 0n).then(
      (affected) => ({ affected: Number(affected), error: null as string | null }),
      (error: unknown) => ({ affected: 0, error: (error as { code?: string }).code ?? 'error' }),
    )
  t.same(await attempt(sql`UPDATE referrals SET status = 'closed' WHERE id = ${misconductA.referralId}`), { affected: 0, error: null }, 'another unit\'s referral cannot be changed: it is not there')
  t.same(await attempt(sql`DELETE FROM referrals`), { affected: 0, error: null }, 'none deleted, not even its own: a unit may not delete referrals')
  t.equal((await attempt(sql`UPDATE referrals SET unit_id = ${units.professionalStandards.id} WHERE id = ${criminalA.referralId}`)).error, '42501', 'its own cannot be moved to another unit')
  t.equal(
    (await attempt(sql`INSERT INTO referral_updates (id, referral_id, seq, action, envelope, padded_size) VALUES (gen_random_uuid()::text, ${misconductA.referralId}, 9, 'closed', '\\x01', 1)`)).error,
    '42501',
    'no update can be written on another unit\'s referral',
  )
  t.equal((await attempt(sql`UPDATE cases SET status = 'closed'`)).affected, 0, 'no case can be touched')
  t.equal((await selectAll({ role: 'system' }, 'referrals')).find((row) => row.id === misconductA.referralId)?.status, 'acknowledged', 'unchanged')
})
