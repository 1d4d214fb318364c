import { sql, type Kysely } from 'kysely'

/**
 * retention_holds names a case (and why the IDVA lead holds it), so it is a case's own table: like
 * the others (migration 0011), row-level security is enabled and forced on it, and an investigator
 * unit reaches no row of it. alert_state (one counter) and job_leases (which instance runs a job)
 * name no case and no person: they need no policy.
 */
const role = sql`(SELECT coalesce(current_setting('app.role', true), ''))`

export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE retention_holds ENABLE ROW LEVEL SECURITY`.execute(db)
  await sql`ALTER TABLE retention_holds FORCE ROW LEVEL SECURITY`.execute(db)
  await sql`CREATE POLICY retention_holds_not_units ON retention_holds USING (${role} <> 'investigator') WITH CHECK (${role} <> 'investigator')`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP POLICY retention_holds_not_units ON retention_holds`.execute(db)
  await sql`ALTER TABLE retention_holds NO FORCE ROW LEVEL SECURITY`.execute(db)
  await sql`ALTER TABLE retention_holds DISABLE ROW LEVEL SECURITY`.execute(db)
}
