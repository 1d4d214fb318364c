import t from 'tap'
import { randomBytes, randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { loadConfig } from '../../server/config.ts'
import { withActor } from '../../server/db/actor.ts'
import { createMigrator } from '../../server/db/migrate.ts'
import { createLogger } from '../../server/logger.ts'
import { CaseVault, sealAtRest } from '../../server/security/case-vault.ts'
import { prepareDatabase } from '../../server/server.ts'
import { referralPackage } from '../../server/features/referrals/repository.ts'
import { createTestDatabase, TEST_SECRET } from '../helpers/database.ts'

/**
 * A referral stored by the previous schema (its package sealed at rest under its case's key) is
 * sealed again under a key of its own when the portal starts on the new one, and reads back the same.
 */

t.test('a referral from before it had a key of its own is re-sealed at start, unchanged', async (t) => {
  const testDatabase = await createTestDatabase(t)
  const config = loadConfig({ ...testDatabase.env, LOG_LEVEL: 'silent', SERVER_SECRET: TEST_SECRET })
  const logger = createLogger('silent')
  const database = await testDatabase.open(config, logger)
  t.teardown(() => database.close())
  const vault = new CaseVault(config.serverSecret)
  const caseId = randomUUID()
  const referralId = randomUUID()
  const envelope = randomBytes(400)
  await database.asOwner(async (db) => {
    const migrated = await createMigrator(db).migrateTo('20261203_0010_referrals')
    if (migrated.error !== undefined) throw migrated.error
    const { key, wrapped } = vault.newCaseKey(caseId)
    await sql`INSERT INTO cases (id, kind, lookup_id, sealed, keys_sealed) VALUES (${caseId}, 'disclosure', ${randomBytes(16)}, true, ${randomBytes(93)})`.execute(db)
    await sql`INSERT INTO case_keys (case_id, wrapped) VALUES (${caseId}, ${wrapped})`.execute(db)
    await sql`INSERT INTO groups (id, kind, track, force, name) VALUES ('unit-r', 'investigator_unit', 'criminal', 'met', 'Unit R')`.execute(db)
    await sql`INSERT INTO referrals (id, case_id, track, unit_id, unit_generation, delivery, status, iopc_required, tell_reporter, envelope, padded_size)
      VALUES (${referralId}, ${caseId}, 'criminal', 'unit-r', 1, 'portal', 'sent', false, true, ${sealAtRest(key, `case:${caseId}:referral:${referralId}`, envelope)}, 256)`.execute(db)
  })
  await prepareDatabase(database, logger, config)
  const { stored, keys } = await withActor(database.db, { role: 'system' }, async (trx) => ({
    stored: await referralPackage(trx, vault, referralId, caseId),
    keys: await trx.selectFrom('referral_keys').select('referral_id').execute(),
  }))
  t.same(keys.map((row) => row.referral_id), [referralId], 'it has a key of its own')
  t.same(stored?.envelope, envelope, 'and its package reads back exactly')
  await prepareDatabase(database, logger, config)
  t.equal((await withActor(database.db, { role: 'system' }, (trx) => trx.selectFrom('referral_keys').select('referral_id').execute())).length, 1, 'once only')
})
