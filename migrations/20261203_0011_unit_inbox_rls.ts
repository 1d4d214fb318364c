import { sql, type Kysely } from 'kysely'

/**
 * Investigator units' inboxes, and the separation of the tracks held by the database itself.
 *
 *   referrals          gains the unit's IOPC decision for a package that required one
 *                      ('referred' or 'not_referred'; the day and the reason are in the sealed note);
 *                      its envelope is now sealed at rest under a data key of the referral's own, so
 *                      a unit's request never needs the case's key (a referral stored before this
 *                      is re-sealed at start: server/features/referrals/repository.ts)
 *   referral_keys      that data key, sealed under a key derived from SERVER_SECRET: a small table of
 *                      its own, like case_keys, so destroying a referral's key can rewrite the
 *                      table's files at once (server/db/reclaim.ts)
 *   referral_files     the evidence files a package names, copied when it is sent (still encrypted by
 *                      the reporter's browser) and sealed under the referral's key: what a unit
 *                      reads never comes from the case's own tables
 *   referral_updates   what a unit records on a referral (acknowledged, investigation opened, no
 *                      further action, transferred, closed, returned to the IDVA service, the IOPC
 *                      decision), each with a note sealed to the service and the unit, signed by the
 *                      unit, stored sealed at rest under the referral's key; staff actions, timed
 *
 * Row-level security, enabled and forced (so it binds the tables' owner too; the application's
 * role is not their owner and has no BYPASSRLS, and the embedded database's superuser switches to
 * that role for these requests). Each request that touches them runs in a transaction that says who
 * is acting (server/db/actor.ts: SET LOCAL app.role, app.unit_id, app.case_id), and:
 *   referrals, referral_keys, referral_files, referral_updates
 *       IDVAs, IDVA leads and the system: every row. An investigator: the referrals addressed to their
 *       unit (app.unit_id), to read and to change their state (never to another unit), and those
 *       referrals' keys, files and updates, to read, and updates to add; no other command. A reporter:
 *       the referrals of their own case (app.case_id), to be told they went, never a package, key,
 *       file or update. Nobody else (app.role unset): nothing
 *   cases, case_messages, case_records, case_evidence, case_keys, case_sessions
 *       never an investigator: a query that forgets its WHERE still returns no disclosure, thread,
 *       triage, consent or file to a unit
 */

const UNIT_TABLES = ['referrals', 'referral_keys', 'referral_files', 'referral_updates'] as const
const CASE_TABLES = ['cases', 'case_messages', 'case_records', 'case_evidence', 'case_keys', 'case_sessions'] as const

// Each setting read once per statement (a scalar subquery is an InitPlan), not once per row: the
// queue reads the case tables through these policies too.
const role = sql`(SELECT coalesce(current_setting('app.role', true), ''))`
const unitSetting = sql`(SELECT current_setting('app.unit_id', true))`
const caseSetting = sql`(SELECT current_setting('app.case_id', true))`

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('referrals').addColumn('iopc_decision', 'text', (c) => c.check(sql`iopc_decision IN ('referred', 'not_referred')`)).execute()

  await db.schema
    .createTable('referral_keys')
    .addColumn('referral_id', 'text', (c) => c.primaryKey().references('referrals.id').onDelete('cascade'))
    .addColumn('wrapped', 'bytea', (c) => c.notNull().check(sql`octet_length(wrapped) = 61`))
    .execute()
  await sql`REVOKE ALL ON referral_keys FROM PUBLIC`.execute(db)
  await sql`SELECT safe_disclosure_grant('referral_keys', 'SELECT, INSERT, DELETE')`.execute(db)

  await db.schema
    .createTable('referral_files')
    .addColumn('referral_id', 'text', (c) => c.notNull().references('referrals.id').onDelete('cascade'))
    .addColumn('evidence_id', 'text', (c) => c.notNull().check(sql`evidence_id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'`))
    .addColumn('encrypted', 'bytea', (c) => c.notNull())
    .addColumn('size', 'integer', (c) => c.notNull().check(sql`size > 0`))
    .addPrimaryKeyConstraint('referral_files_pkey', ['referral_id', 'evidence_id'])
    .execute()
  await sql`REVOKE ALL ON referral_files FROM PUBLIC`.execute(db)
  await sql`SELECT safe_disclosure_grant('referral_files', 'SELECT, INSERT, DELETE')`.execute(db)

  await db.schema
    .createTable('referral_updates')
    .addColumn('id', 'text', (c) => c.primaryKey().check(sql`id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'`))
    .addColumn('referral_id', 'text', (c) => c.notNull().references('referrals.id').onDelete('cascade'))
    .addColumn('seq', 'integer', (c) => c.notNull().check(sql`seq >= 1`))
    .addColumn('action', 'text', (c) =>
      c.notNull().check(sql`action IN ('acknowledged', 'investigating', 'no_further_action', 'transferred', 'closed', 'returned', 'iopc_referred', 'iopc_not_referred')`),
    )
    .addColumn('envelope', 'bytea', (c) => c.notNull().check(sql`octet_length(envelope) BETWEEN 1 AND 100100`))
    .addColumn('padded_size', 'integer', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.references('accounts.id'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('referral_updates_referral_seq', ['referral_id', 'seq'])
    .execute()
  await sql`REVOKE ALL ON referral_updates FROM PUBLIC`.execute(db)
  await sql`SELECT safe_disclosure_grant('referral_updates', 'SELECT, INSERT')`.execute(db)

  for (const table of [...UNIT_TABLES, ...CASE_TABLES]) {
    await sql`ALTER TABLE ${sql.table(table)} ENABLE ROW LEVEL SECURITY`.execute(db)
    await sql`ALTER TABLE ${sql.table(table)} FORCE ROW LEVEL SECURITY`.execute(db)
  }
  // The IDVA service and the portal's own jobs: every referral's rows, every command the grants allow.
  const staff = sql`${role} IN ('idva', 'idva_lead', 'system')`
  for (const table of UNIT_TABLES) {
    await sql`CREATE POLICY ${sql.id(`${table}_staff`)} ON ${sql.table(table)} USING (${staff}) WITH CHECK (${staff})`.execute(db)
  }
  // A unit: reads the referrals addressed to it, and changes only their state (never moves one to
  // another unit: the check applies to the new row too); it neither adds nor deletes a referral.
  const unit = sql`${role} = 'investigator' AND unit_id = ${unitSetting}`
  await sql`CREATE POLICY referrals_unit_read ON referrals FOR SELECT USING (${unit})`.execute(db)
  await sql`CREATE POLICY referrals_unit_update ON referrals FOR UPDATE USING (${unit}) WITH CHECK (${unit})`.execute(db)
  // The rows of a referral the unit may see (the subquery is itself bound by the policies above):
  // read its key, its files and its updates, and add updates; nothing else.
  const ofUnit = sql`${role} = 'investigator' AND EXISTS (SELECT 1 FROM referrals AS r WHERE r.id = referral_id)`
  for (const table of ['referral_keys', 'referral_files', 'referral_updates'] as const) {
    await sql`CREATE POLICY ${sql.id(`${table}_unit_read`)} ON ${sql.table(table)} FOR SELECT USING (${ofUnit})`.execute(db)
  }
  await sql`CREATE POLICY referral_updates_unit_write ON referral_updates FOR INSERT WITH CHECK (${ofUnit})`.execute(db)
  // The person whose case it is: that it was referred (/return says so when they agreed), no more.
  await sql`CREATE POLICY referrals_reporter ON referrals FOR SELECT USING (${role} = 'reporter' AND case_id = ${caseSetting})`.execute(db)
  // A case's own tables: everyone as before, except a unit, which reaches no row of them at all.
  for (const table of CASE_TABLES) {
    await sql`CREATE POLICY ${sql.id(`${table}_not_units`)} ON ${sql.table(table)} USING (${role} <> 'investigator') WITH CHECK (${role} <> 'investigator')`.execute(db)
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  const moved = await sql<{ n: number }>`SELECT count(*)::integer AS n FROM referral_keys`.execute(db)
  if ((moved.rows[0]?.n ?? 0) > 0) throw new Error('referrals are sealed under keys of their own, which the previous schema cannot hold; export those cases first if that is really intended')
  for (const table of CASE_TABLES) await sql`DROP POLICY ${sql.id(`${table}_not_units`)} ON ${sql.table(table)}`.execute(db)
  await sql`DROP POLICY referrals_reporter ON referrals`.execute(db)
  await sql`DROP POLICY referral_updates_unit_write ON referral_updates`.execute(db)
  for (const table of ['referral_keys', 'referral_files', 'referral_updates'] as const) await sql`DROP POLICY ${sql.id(`${table}_unit_read`)} ON ${sql.table(table)}`.execute(db)
  await sql`DROP POLICY referrals_unit_update ON referrals`.execute(db)
  await sql`DROP POLICY referrals_unit_read ON referrals`.execute(db)
  for (const table of UNIT_TABLES) await sql`DROP POLICY ${sql.id(`${table}_staff`)} ON ${sql.table(table)}`.execute(db)
  for (const table of [...UNIT_TABLES, ...CASE_TABLES]) {
    await sql`ALTER TABLE ${sql.table(table)} NO FORCE ROW LEVEL SECURITY`.execute(db)
    await sql`ALTER TABLE ${sql.table(table)} DISABLE ROW LEVEL SECURITY`.execute(db)
  }
  await db.schema.dropTable('referral_updates').execute()
  await db.schema.dropTable('referral_files').execute()
  await db.schema.dropTable('referral_keys').execute()
  await db.schema.alterTable('referrals').dropColumn('iopc_decision').execute()
}
