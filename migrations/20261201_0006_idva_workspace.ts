import { sql, type Kysely } from 'kysely'

/**
 * The IDVA workspace: what the queue needs in clear, and the IDVAs' own records of a case.
 *
 * cases gains three pieces of metadata, the only parts of a triage the server can read:
 *   risk_level         'standard' | 'medium' | 'high', or NULL until the first triage
 *   triaged_on         the day of the latest triage
 *   status_changed_on  the day the status last changed
 *
 * case_records holds what IDVAs write about a case that the reporter never sees: triage (the risk
 * checklist's answers, the level, the MARAC decision), notes, consent versions and the
 * repeat-perpetrator index entry. Each is an envelope sealed to the IDVA service and signed with
 * its key, bound to its kind and place (crypto/records.ts). Records are never changed: a new
 * triage or consent is a new version, and history is kept. A trigger refuses UPDATE to every role,
 * and the application role may not UPDATE or DELETE; rows go only with their case (withdrawal,
 * retention), by the foreign key's cascade.
 *
 * The queue lists cases oldest first with keyset paging on (created_on, id); each filter has an
 * index that serves it in that order, so the first page never scans the table.
 */
const UUID = sql`'^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'`

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('cases')
    .addColumn('risk_level', 'text', (c) => c.check(sql`risk_level IN ('standard', 'medium', 'high')`))
    .addColumn('triaged_on', 'date')
    .addColumn('status_changed_on', 'date')
    .execute()

  await db.schema.createIndex('cases_queue_open').on('cases').columns(['created_on', 'id']).where(sql.ref('status'), '<>', 'closed').execute()
  await db.schema.createIndex('cases_queue_all').on('cases').columns(['created_on', 'id']).execute()
  await db.schema.createIndex('cases_queue_status').on('cases').columns(['status', 'created_on', 'id']).execute()
  await db.schema.createIndex('cases_queue_risk').on('cases').columns(['risk_level', 'created_on', 'id']).execute()
  await db.schema
    .createIndex('cases_queue_awaiting_reply')
    .on('cases')
    .columns(['created_on', 'id'])
    .where(sql<boolean>`first_reply_on IS NULL AND status <> 'closed'`)
    .execute()

  await db.schema
    .createTable('case_records')
    .addColumn('id', 'text', (c) => c.primaryKey().check(sql`id ~ ${UUID}`))
    .addColumn('case_id', 'text', (c) => c.notNull().references('cases.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind IN ('triage', 'note', 'consent', 'identifiers')`))
    .addColumn('seq', 'integer', (c) => c.notNull().check(sql`seq >= 1`))
    .addColumn('envelope', 'bytea', (c) => c.notNull().check(sql`octet_length(envelope) BETWEEN 1 AND 300000`))
    .addColumn('padded_size', 'integer', (c) => c.notNull())
    .addColumn('created_on', 'date', (c) => c.notNull().defaultTo(sql`current_date`))
    .addUniqueConstraint('case_records_case_kind_seq', ['case_id', 'kind', 'seq'])
    .execute()
  await db.schema.createIndex('case_records_kind_case').on('case_records').columns(['kind', 'case_id', 'seq']).execute()

  await sql`
    CREATE FUNCTION case_records_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'case_records is append-only: add a new version instead' USING ERRCODE = 'insufficient_privilege';
    END $$`.execute(db)
  await sql`CREATE TRIGGER case_records_no_update BEFORE UPDATE ON case_records FOR EACH ROW EXECUTE FUNCTION case_records_append_only()`.execute(db)

  await sql`REVOKE ALL ON case_records FROM PUBLIC`.execute(db)
  await sql`SELECT safe_disclosure_grant('case_records', 'SELECT, INSERT')`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('case_records').execute()
  await sql`DROP FUNCTION case_records_append_only()`.execute(db)
  for (const index of ['cases_queue_awaiting_reply', 'cases_queue_risk', 'cases_queue_status', 'cases_queue_all', 'cases_queue_open']) {
    await db.schema.dropIndex(index).execute()
  }
  await db.schema.alterTable('cases').dropColumn('status_changed_on').dropColumn('triaged_on').dropColumn('risk_level').execute()
}
