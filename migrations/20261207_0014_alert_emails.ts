import { sql, type Kysely } from 'kysely'

/**
 * "Something new is waiting" emails to the IDVA service's team address, sent at most once per
 * interval and saying nothing about what or when.
 *
 *   arrivals     a sequence: a new case or a person's new message takes a number from it, in the
 *                same transaction. A sequence rather than a counter row, so arrivals never wait on
 *                one another for a lock. It counts; it keeps no time and no case.
 *   alert_state  one row: the last arrival an email has told the team about. Each instance's job
 *                claims the newer arrivals with one conditional UPDATE, so only one instance emails.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE SEQUENCE arrivals AS bigint MINVALUE 1`.execute(db)
  await db.schema
    .createTable('alert_state')
    .addColumn('id', 'smallint', (c) => c.primaryKey().defaultTo(1).check(sql`id = 1`))
    .addColumn('alerted', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute()
  await sql`INSERT INTO alert_state (id, alerted) VALUES (1, 0)`.execute(db)
  // nextval needs UPDATE on the sequence; reading where it stands needs SELECT.
  await sql`SELECT safe_disclosure_grant('arrivals', 'SELECT, UPDATE')`.execute(db)
  await sql`SELECT safe_disclosure_grant('alert_state', 'SELECT, UPDATE')`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('alert_state').execute()
  await sql`DROP SEQUENCE arrivals`.execute(db)
}
