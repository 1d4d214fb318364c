import { sql, type Kysely } from 'kysely'

/**
 * Retention (README, "Retention"; rules/retention.ts).
 *
 *   retention_holds  a case the IDVA lead holds past its day, and why (one of a fixed list of
 *                    reasons: the reason is metadata, so it is never free text), by whom, which day.
 *                    Goes with its case. Placing and lifting are audited.
 *   job_leases       which instance runs a scheduled job now, until when: an instance claims the
 *                    lease with one conditional UPDATE, so several instances never run it at once.
 *
 * Indexes for the job's scans: closed cases by the day they closed, withdrawn records by the day,
 * and referrals in a final state by the day they got there.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('retention_holds')
    .addColumn('case_id', 'text', (c) => c.primaryKey().references('cases.id').onDelete('cascade'))
    .addColumn('reason', 'text', (c) => c.notNull().check(sql`reason IN ('investigation', 'court_order', 'complaint', 'safeguarding_review', 'person_asked')`))
    .addColumn('placed_by', 'text', (c) => c.references('accounts.id').onDelete('set null'))
    .addColumn('placed_on', 'date', (c) => c.notNull().defaultTo(sql`current_date`))
    .execute()
  await db.schema
    .createTable('job_leases')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('holder', 'text')
    .addColumn('until', 'timestamptz')
    .execute()
  await sql`INSERT INTO job_leases (name) VALUES ('retention')`.execute(db)
  await db.schema.createIndex('cases_closed_on').on('cases').columns(['kind', 'status_changed_on']).where(sql.ref('status'), '=', 'closed').execute()
  await db.schema.createIndex('cases_withdrawn_on').on('cases').column('withdrawn_on').where(sql.ref('withdrawn_on'), 'is not', null).execute()
  await sql`SELECT safe_disclosure_grant('retention_holds', 'SELECT, INSERT, DELETE')`.execute(db)
  await sql`SELECT safe_disclosure_grant('job_leases', 'SELECT, UPDATE')`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('cases_withdrawn_on').execute()
  await db.schema.dropIndex('cases_closed_on').execute()
  await db.schema.dropTable('job_leases').execute()
  await db.schema.dropTable('retention_holds').execute()
}
