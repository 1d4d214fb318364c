import { sql, type Kysely } from 'kysely'

/**
 * A withdrawal that leaves the IDVA service a minimal record, when the service has a duty to keep
 * one: the case was assessed as high risk, referred to a MARAC, or referred to investigators.
 *
 *   cases              withdrawn_on: the day the person withdrew, when a minimal record was kept
 *                      (otherwise the case row goes, as before). Such a case keeps no lookup value
 *                      its code could give (a random one replaces it) and no public key derived from
 *                      the code, so the code opens nothing and proves nothing.
 *                      marac_referred: the IDVA recorded a MARAC referral in the risk checklist; the
 *                      IDVA's browser says so in clear beside the risk level, which is already in
 *                      clear, so that withdrawal knows to keep the record (SECURITY.md)
 *   referrals          envelope may be empty and content_removed_on says when: the person's words in
 *                      a package sent before they withdrew are removed with the rest of their words;
 *                      the referral's state and the units' updates stay
 *   case_records,      the application may rewrite a stored envelope (never anything else): kept
 *   referral_updates   records move from the withdrawn case's key to a new one, so that every copy
 *                      of the words and files deleted at withdrawal (backups, old table files) stays
 *                      sealed under a key that no longer exists. case_records stays append-only
 *                      otherwise: its trigger lets an update through only when it changes the
 *                      envelope alone, of a case already marked withdrawn (in the same transaction)
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('cases')
    .addColumn('withdrawn_on', 'date')
    .addColumn('marac_referred', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute()
  await sql`ALTER TABLE cases DROP CONSTRAINT cases_sealed_keys`.execute(db)
  await db.schema
    .alterTable('cases')
    .addCheckConstraint(
      'cases_sealed_keys',
      sql`(sealed = (keys_sealed IS NOT NULL) OR (withdrawn_on IS NOT NULL AND sealed AND keys_sealed IS NULL)) AND sealed = (auth_public IS NULL) AND sealed = (reply_public IS NULL)`,
    )
    .execute()
  await db.schema.alterTable('referrals').alterColumn('envelope', (c) => c.dropNotNull()).execute()
  await db.schema.alterTable('referrals').addColumn('content_removed_on', 'date').execute()
  await db.schema.alterTable('referrals').addCheckConstraint('referrals_content_removed', sql`(envelope IS NULL) = (content_removed_on IS NOT NULL)`).execute()
  await sql`
    CREATE OR REPLACE FUNCTION case_records_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      IF (NEW.id, NEW.case_id, NEW.kind, NEW.seq, NEW.padded_size, NEW.created_on, NEW.sealed)
           IS NOT DISTINCT FROM (OLD.id, OLD.case_id, OLD.kind, OLD.seq, OLD.padded_size, OLD.created_on, OLD.sealed)
         AND EXISTS (SELECT 1 FROM cases WHERE cases.id = OLD.case_id AND cases.withdrawn_on IS NOT NULL) THEN
        RETURN NEW;
      END IF;
      RAISE EXCEPTION 'case_records is append-only: add a new version instead' USING ERRCODE = 'insufficient_privilege';
    END $$`.execute(db)
  await sql`SELECT safe_disclosure_grant('case_records', 'UPDATE (envelope)')`.execute(db)
  await sql`SELECT safe_disclosure_grant('referral_updates', 'UPDATE (envelope)')`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  const kept = await sql<{ n: number }>`SELECT count(*)::integer AS n FROM cases WHERE withdrawn_on IS NOT NULL`.execute(db)
  if ((kept.rows[0]?.n ?? 0) > 0) throw new Error('minimal records of withdrawn cases exist, which the previous schema cannot hold')
  await sql`DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'safe_disclosure_app') THEN
    REVOKE UPDATE (envelope) ON case_records FROM safe_disclosure_app;
    REVOKE UPDATE (envelope) ON referral_updates FROM safe_disclosure_app;
  END IF; END $$`.execute(db)
  await sql`
    CREATE OR REPLACE FUNCTION case_records_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'case_records is append-only: add a new version instead' USING ERRCODE = 'insufficient_privilege';
    END $$`.execute(db)
  await db.schema.alterTable('referrals').dropConstraint('referrals_content_removed').execute()
  await db.schema.alterTable('referrals').dropColumn('content_removed_on').execute()
  await db.schema.alterTable('referrals').alterColumn('envelope', (c) => c.setNotNull()).execute()
  await sql`ALTER TABLE cases DROP CONSTRAINT cases_sealed_keys`.execute(db)
  await db.schema
    .alterTable('cases')
    .addCheckConstraint('cases_sealed_keys', sql`sealed = (keys_sealed IS NOT NULL) AND sealed = (auth_public IS NULL) AND sealed = (reply_public IS NULL)`)
    .execute()
  await db.schema.alterTable('cases').dropColumn('marac_referred').dropColumn('withdrawn_on').execute()
}
