import t from 'tap'
import { sql, type Kysely } from 'kysely'
import { readdirSync } from 'node:fs'
import { loadConfig } from '../../server/config.ts'
import { createMigrator, MIGRATIONS_FOLDER } from '../../server/db/migrate.ts'
import { createLogger } from '../../server/logger.ts'
import { createTestDatabase } from '../helpers/database.ts'

/**
 * Every migration, in order, on an empty database: applies, reverts to exactly the schema before
 * it (tables, columns, constraints, indexes, triggers, functions and grants), and applies again.
 * Where a migration has seed data below, the revert runs with that data in place. New migrations
 * are covered automatically; add a seed when a migration changes tables that hold data.
 */

/** A description of everything a migration can change in the current schema. */
async function schemaSnapshot(db: Kysely<any>): Promise<string[]> {
  const result = await sql<{ item: string }>`
    SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '') AS item
      FROM information_schema.columns WHERE table_schema = current_schema() AND table_name NOT LIKE 'kysely_%'
    UNION ALL
    SELECT 'constraint ' || c.conrelid::regclass || ' ' || c.conname || ' ' || pg_get_constraintdef(c.oid)
      FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
      WHERE n.nspname = current_schema() AND c.conrelid::regclass::text NOT LIKE 'kysely_%'
    UNION ALL
    SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename NOT LIKE 'kysely_%'
    UNION ALL
    SELECT 'trigger ' || pg_get_triggerdef(tg.oid) FROM pg_trigger tg
      JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE NOT tg.tgisinternal AND n.nspname = current_schema()
    UNION ALL
    SELECT 'function ' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ') ' || md5(pg_get_functiondef(p.oid))
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = current_schema()
    UNION ALL
    SELECT 'grant ' || grantee || ' ' || privilege_type || ' on ' || table_name
      FROM information_schema.role_table_grants WHERE table_schema = current_schema() AND table_name NOT LIKE 'kysely_%'
        AND grantee <> current_user
    UNION ALL
    SELECT 'schema acl ' || coalesce(nspacl::text, '') FROM pg_namespace WHERE nspname = current_schema()
    UNION ALL
    SELECT 'row security ' || c.relname || ' ' || c.relrowsecurity || ' ' || c.relforcerowsecurity
      FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' AND c.relname NOT LIKE 'kysely_%'
    UNION ALL
    SELECT 'policy ' || tablename || ' ' || policyname || ' ' || cmd || ' ' || array_to_string(roles, ',') || ' ' || coalesce(qual, '') || ' ' || coalesce(with_check, '')
      FROM pg_policies WHERE schemaname = current_schema()
    ORDER BY 1`.execute(db)
  return result.rows.map((row) => row.item)
}

/** Data loaded after a migration is applied, so that reverting it is tested with rows present. */
const seeds: Record<string, (db: Kysely<any>) => Promise<unknown>> = {
  // Migration records only: a log that records activity refuses to be reverted (test/integration/audit.test.ts).
  '20261122_0002_audit_log': (db) =>
    sql`INSERT INTO audit_log (actor_type, action, object_type, object_id)
        VALUES ('system', 'system.migration_applied', 'migration', 'seed')`.execute(db),
  '20261122_0003_rate_limit_counter': (db) =>
    sql`INSERT INTO rate_limit_counter (bucket, window_start, hits, expires_at) VALUES ('k', now(), 1, now())`.execute(db),
  // Rows from before sealing (reverting refuses once any row is sealed: see the integration tests).
  '20261202_0008_cases_sealed_at_rest': async (db) => {
    const b = (n: number, fill = 1) => Buffer.alloc(n, fill)
    const caseId = '77777777-7777-4777-8777-777777777777'
    await sql`INSERT INTO cases (id, kind, lookup_id, auth_public, reply_public, sealed) VALUES (${caseId}, 'disclosure', ${b(16, 7)}, ${b(32)}, ${b(32)}, false)`.execute(db)
    await sql`INSERT INTO case_keys (case_id, wrapped) VALUES (${caseId}, ${b(61)})`.execute(db)
    await sql`INSERT INTO case_sessions (token_hash, case_id, csrf_token, times_sealed) VALUES (${b(32, 7)}, ${caseId}, ${'c'.repeat(43)}, ${b(45)})`.execute(db)
    await sql`INSERT INTO used_challenges (nonce_hash) VALUES (${b(32)})`.execute(db)
  },
  // A referral stored before referrals had keys of their own (0011 re-seals it at start).
  '20261203_0010_referrals': async (db) => {
    const b = (n: number, fill = 1) => Buffer.alloc(n, fill)
    await sql`INSERT INTO groups (id, kind, track, force, name) VALUES ('unit-r', 'investigator_unit', 'criminal', 'met', 'Unit R')`.execute(db)
    await sql`INSERT INTO referrals (id, case_id, track, unit_id, unit_generation, delivery, status, iopc_required, tell_reporter, envelope, padded_size)
      VALUES ('88888888-8888-4888-8888-888888888888', '77777777-7777-4777-8777-777777777777', 'criminal', 'unit-r', 1, 'portal', 'sent', false, true, ${b(300)}, 256)`.execute(db)
  },
  '20261202_0009_counters_by_day': (db) => sql`INSERT INTO rate_limit_counter (counter, hits) VALUES ('k', 1)`.execute(db),
  '20261122_0004_staff_accounts': async (db) => {
    const b = (n: number, fill = 1) => Buffer.alloc(n, fill)
    await sql`INSERT INTO groups (id, kind, track, force, name) VALUES ('idva-service', 'idva_service', NULL, 'Met', 'IDVA'),
      ('unit-a', 'investigator_unit', 'criminal', 'Met', 'Unit A')`.execute(db)
    await sql`INSERT INTO accounts (id, username, role, group_id, passphrase_salt, passphrase_ops, passphrase_mem, verifier_hash,
      x25519_public, ed25519_public, member_keys_wrapped, totp_secret_sealed)
      VALUES ('acct-1', 'lead', 'idva_lead', 'idva-service', ${b(16)}, 3, 134217728, '$argon2id$v=19$m=19456,t=2,p=1$x$y', ${b(32)}, ${b(32)}, ${b(97)}, ${b(60)}),
             ('acct-2', 'admin', 'admin', NULL, ${b(16)}, 3, 134217728, '$argon2id$v=19$m=19456,t=2,p=1$x$y', ${b(32)}, ${b(32)}, ${b(97)}, NULL)`.execute(db)
    await sql`INSERT INTO group_keys (group_id, generation, x25519_public, ed25519_public, created_by) VALUES ('idva-service', 1, ${b(32)}, ${b(32)}, 'acct-1')`.execute(db)
    await sql`INSERT INTO group_keys (group_id, generation, x25519_public, ed25519_public, rotation_certificate, previous_keys_sealed, created_by)
      VALUES ('idva-service', 2, ${b(32, 2)}, ${b(32, 2)}, ${b(64)}, ${b(180)}, 'acct-1')`.execute(db)
    await sql`INSERT INTO group_key_grants (account_id, group_id, generation, wrapped, granted_by) VALUES ('acct-1', 'idva-service', 2, ${b(180)}, 'acct-1')`.execute(db)
    await sql`INSERT INTO invitations (id, token_hash, role, group_id, created_by, expires_at) VALUES ('inv-1', ${b(32)}, 'investigator', 'unit-a', 'acct-2', now())`.execute(db)
    await sql`INSERT INTO setup_tokens (token_hash, expires_at, used_at) VALUES (${b(32)}, now(), now())`.execute(db)
    await sql`INSERT INTO sessions (token_hash, account_id, stage, csrf_token, expires_at) VALUES (${b(32)}, 'acct-1', 'full', ${'c'.repeat(43)}, now())`.execute(db)
    await sql`INSERT INTO recovery_codes (account_id, code_hash) VALUES ('acct-1', ${b(32)})`.execute(db)
  },
  '20261122_0005_cases': async (db) => {
    const b = (n: number, fill = 1) => Buffer.alloc(n, fill)
    const caseId = '11111111-1111-4111-8111-111111111111'
    const messageId = '22222222-2222-4222-8222-222222222222'
    await sql`INSERT INTO cases (id, kind, lookup_id, auth_public, reply_public) VALUES (${caseId}, 'disclosure', ${b(16)}, ${b(32)}, ${b(32)})`.execute(db)
    await sql`INSERT INTO case_messages (id, case_id, seq, author, kind, envelope, padded_size) VALUES (${messageId}, ${caseId}, 1, 'reporter', 'disclosure', ${b(400)}, 256)`.execute(db)
    await sql`INSERT INTO case_evidence (id, case_id, message_id, encrypted, size) VALUES ('33333333-3333-4333-8333-333333333333', ${caseId}, ${messageId}, ${b(100)}, 100)`.execute(db)
    await sql`INSERT INTO case_evidence (id, upload_token_hash, encrypted, size, staged_until) VALUES ('44444444-4444-4444-8444-444444444444', ${b(32)}, ${b(100)}, 100, now())`.execute(db)
    await sql`INSERT INTO case_challenges (id, challenge, expires_at) VALUES (${'c'.repeat(22)}, ${b(32)}, now())`.execute(db)
    await sql`INSERT INTO case_sessions (token_hash, case_id, csrf_token, expires_at) VALUES (${b(32)}, ${caseId}, ${'c'.repeat(43)}, now())`.execute(db)
  },
  // A case marked as junk: reverting drops the mark (the case stays, back in the queue).
  '20261207_0019_junk_cases': async (db) => {
    const b = (n: number, fill = 1) => Buffer.alloc(n, fill)
    await sql`INSERT INTO cases (id, kind, lookup_id, auth_public, reply_public, sealed, junk_on)
      VALUES ('99999999-9999-4999-8999-999999999999', 'disclosure', ${b(16, 9)}, ${b(32)}, ${b(32)}, false, current_date)`.execute(db)
  },
  '20261201_0006_idva_workspace': async (db) => {
    const b = (n: number, fill = 1) => Buffer.alloc(n, fill)
    const caseId = '55555555-5555-4555-8555-555555555555'
    await sql`INSERT INTO cases (id, kind, lookup_id, auth_public, reply_public, risk_level, triaged_on, status_changed_on)
      VALUES (${caseId}, 'disclosure', ${b(16)}, ${b(32)}, ${b(32)}, 'high', current_date, current_date)`.execute(db)
    await sql`INSERT INTO case_records (id, case_id, kind, seq, envelope, padded_size) VALUES ('66666666-6666-4666-8666-666666666666', ${caseId}, 'triage', 1, ${b(400)}, 256)`.execute(db)
  },
}

const names = readdirSync(MIGRATIONS_FOLDER).filter((file) => /\.(ts|js)$/.test(file) && !file.endsWith('.d.ts'))

t.test('migration files are date-prefixed and in order', async (t) => {
  t.ok(names.length > 0)
  for (const name of names) t.match(name, /^\d{8}_\d{4}_[a-z0-9_]+\.ts$/, name)
  t.same([...names].sort(), names)
})

t.test('each migration applies, reverts cleanly and applies again', async (t) => {
  const testDatabase = await createTestDatabase(t)
  const config = loadConfig({ ...testDatabase.env, LOG_LEVEL: 'silent' })
  const database = await testDatabase.open(config, createLogger('silent'))
  t.teardown(() => database.close())

  await database.asOwner(async (db) => {
    const migrator = createMigrator(db)
    const all = await migrator.getMigrations()
    t.equal(all.length, names.length, 'kysely sees every migration file')
    for (const migration of all) {
      const before = await schemaSnapshot(db)
      const up = await migrator.migrateUp()
      t.error(up.error, `${migration.name} applies`)
      t.match(up.results, [{ migrationName: migration.name, direction: 'Up', status: 'Success' }])
      const after = await schemaSnapshot(db)
      t.notSame(after, before, `${migration.name} changes the schema`)
      await seeds[migration.name]?.(db)

      const down = await migrator.migrateDown()
      t.error(down.error, `${migration.name} reverts`)
      t.match(down.results, [{ migrationName: migration.name, direction: 'Down', status: 'Success' }])
      t.same(await schemaSnapshot(db), before, `${migration.name} reverts to exactly the schema before it`)

      const again = await migrator.migrateUp()
      t.error(again.error, `${migration.name} applies again after being reverted`)
      t.same(await schemaSnapshot(db), after, `${migration.name} applies the same schema the second time`)
    }
    const pending = (await migrator.getMigrations()).filter((migration) => migration.executedAt === undefined)
    t.same(pending, [], 'nothing left pending')
  })
})
