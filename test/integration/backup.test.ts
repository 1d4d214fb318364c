import t from 'tap'
import { sql } from 'kysely'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { base64url } from '../../crypto/index.ts'
import { restoreBackup, takeBackup } from '../../server/backup/backup.ts'
import { loadConfig, type Config } from '../../server/config.ts'
import { createLogger } from '../../server/logger.ts'
import { buildTestApp } from '../helpers/app.ts'
import { createTestDatabase, TEST_SECRET, type TestDatabase } from '../helpers/database.ts'
import { NOTE, recordBody, replyBody } from '../helpers/idva.ts'
import { seedReferralWorld } from '../helpers/referrals.ts'
import { disclosureBody, encryptedFile, newReporter, openCase, servicePublic, submit, upload } from '../helpers/reporter.ts'
import { asStaff, sessionFor } from '../helpers/staff.ts'

/**
 * The backup round trip, on the database the tests run on (embedded, or PostgreSQL with
 * DATABASE_URL): a backup restores into a new, empty database, the audit chains verify, retention
 * runs before anything is served (a case past its day does not come back), the restored portal opens
 * the same envelopes and the same case code; and the data part alone holds no case's key, so without
 * the key store nothing a case held can be opened.
 */

function expectStatus(response: { statusCode: number; body: string }, status: number): void {
  if (response.statusCode !== status) throw new Error(`expected ${status}, got ${response.statusCode}: ${response.body}`)
}

const logger = createLogger('silent')
const folder = (prefix: string) => {
  const path = mkdtempSync(join(tmpdir(), prefix))
  t.teardown(() => rmSync(path, { recursive: true, force: true }))
  return path
}

/** An empty target: a new PostgreSQL database, or an empty DATA_DIR (no cluster yet). */
async function emptyTarget(): Promise<{ testDatabase: TestDatabase; config: (extra?: Record<string, string>) => Config }> {
  if (process.env.DATABASE_URL !== undefined && process.env.DATABASE_URL !== '') {
    const testDatabase = await createTestDatabase(t)
    return { testDatabase, config: (extra = {}) => loadConfig({ ...testDatabase.env, ...extra }) }
  }
  const dataDir = folder('safe-disclosure-restore-')
  const testDatabase = await createTestDatabase(t)
  const env = { DATA_DIR: dataDir, SERVER_SECRET: TEST_SECRET }
  return { testDatabase: { ...testDatabase, env }, config: (extra = {}) => loadConfig({ ...env, ...extra }) }
}

const source = await createTestDatabase(t)
const { app, serviceKeys } = await buildTestApp(t, { testDatabase: source, prepare: true })
const db = app.database.db
const { service, asIdva, idva } = await seedReferralWorld(app, serviceKeys)
const file = await encryptedFile(new TextEncoder().encode('a photograph'))
const uploaded = (await upload(app, file.encrypted)).json<{ id: string; token: string }>()
const reporter = await newReporter()
const caseKeys = { reply: base64url.encode(reporter.keys.reply.publicKey), auth: base64url.encode(reporter.keys.auth.publicKey) }
expectStatus(await submit(app, await disclosureBody(reporter, servicePublic(service.keys), { v: 1, text: 'Canary-Backup-3307', evidence: [], caseKeys }, [uploaded])), 201)
const caseId = reporter.caseId
expectStatus(await asStaff(app, asIdva, { method: 'POST', url: `/staff/cases/${caseId}/replies`, payload: await replyBody({ caseId, seq: 2, text: 'We are here.', service: service.keys, replyPublic: reporter.keys.reply.publicKey }) }), 201)
expectStatus(await asStaff(app, asIdva, { method: 'POST', url: `/staff/cases/${caseId}/records`, payload: await recordBody({ caseId, kind: 'note', seq: 1, content: NOTE('A note.'), service: service.keys }) }), 201)
// A case closed long ago, past its day: the source never ran retention (tests run it by hand).
const expired = await newReporter()
expectStatus(await submit(app, await disclosureBody(expired, servicePublic(service.keys))), 201)
await db.updateTable('cases').set({ status: 'closed', status_changed_on: sql<string>`current_date - 400` }).where('id', '=', expired.caseId).execute()
const content = (await asStaff(app, asIdva, { method: 'GET', url: `/staff/cases/${caseId}/content` })).body
const sourceConfig = app.config
await app.close()
if (source.kind === 'embedded') await app.database.close()

const backupDir = folder('safe-disclosure-backup-')
const keysDir = folder('safe-disclosure-keys-')
const written = await takeBackup(sourceConfig, logger, backupDir, keysDir)

t.test('a backup is two parts kept apart, private to the portal\'s user', async (t) => {
  t.ok(written.dataFile.startsWith(backupDir))
  t.ok(written.keysFile.startsWith(keysDir), 'the key store goes elsewhere')
  t.equal(readdirSync(backupDir).filter((name) => name.endsWith('.json')).length, 1, 'with a manifest')
  t.ok(written.tables > 20)
})

t.test('restored with its key store: verified, retention run first, the same envelopes and the same code', async (t) => {
  const target = await emptyTarget()
  const result = await restoreBackup(target.config(), logger, backupDir, written.keysFile)
  t.ok(result.auditEntries.staff > 0, 'the staff audit chain verifies')
  t.ok(result.auditEntries.case > 0, 'and the anonymous one')
  t.equal(result.retention.destroyed.closed_disclosure, 1, 'the case past its day is destroyed before anything is served')
  const { app: restored } = await buildTestApp(t, { testDatabase: target.testDatabase, serviceKeys, env: target.testDatabase.env })
  if (target.testDatabase.kind === 'embedded') t.teardown(() => restored.database.close())
  const session = await sessionFor(restored, idva)
  t.equal((await asStaff(restored, session, { method: 'GET', url: `/staff/cases/${caseId}/content` })).body, content, 'the IDVA gets the same envelopes')
  t.equal((await openCase(restored, reporter.keys)).status, 200, 'the person\'s code opens their case')
  t.equal((await openCase(restored, expired.keys)).status, 404, 'the expired case did not come back')
  t.equal((await restored.database.db.selectFrom('cases').select('id').where('id', '=', expired.caseId).execute()).length, 0)
})

t.test('restored without the key store: the data alone opens nothing', async (t) => {
  const target = await emptyTarget()
  const result = await restoreBackup(target.config(), logger, backupDir, null)
  t.equal(result.keysRestored, false)
  const { app: restored } = await buildTestApp(t, { testDatabase: target.testDatabase, serviceKeys, env: target.testDatabase.env })
  if (target.testDatabase.kind === 'embedded') t.teardown(() => restored.database.close())
  const rows = await sql<{ n: string }>`SELECT count(*) AS n FROM case_keys`.execute(restored.database.db)
  t.equal(Number(rows.rows[0]!.n), 0, 'no case key is in the data part')
  t.equal((await restored.database.db.selectFrom('cases').select('id').where('id', '=', caseId).execute()).length, 1, 'the case row is there')
  t.not((await openCase(restored, reporter.keys)).status, 200, 'but the code opens nothing')
  const session = await sessionFor(restored, idva)
  t.not((await asStaff(restored, session, { method: 'GET', url: `/staff/cases/${caseId}/content` })).statusCode, 200, 'and the IDVA gets no envelope')
})

t.test('a database that is not empty is refused, and nothing is written to it', async (t) => {
  const target = await emptyTarget()
  await restoreBackup(target.config(), logger, backupDir, written.keysFile)
  await t.rejects(restoreBackup(target.config(), logger, backupDir, written.keysFile), /already holds/)
})
