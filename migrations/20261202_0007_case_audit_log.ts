import { sql, type Kysely } from 'kysely'

/**
 * A second audit chain for what anonymous people do: reporters and line managers, who act through
 * their case's pseudonym (the case id).
 *
 * The staff chain (audit_log) keeps each entry's time to the millisecond: staff are accountable.
 * A reporter's submission, return, message or withdrawal kept to the millisecond could be matched
 * with a staff rota, a building's door log or a phone's network log, and so name the person. And an
 * entry placed in the staff chain, even without a time, would sit between two staff entries whose
 * times bound it. So anonymous actions have a chain of their own, in which each entry keeps only
 * its UTC day and its position (seq): the order of anonymous actions among themselves, never the
 * clock. It is built, guarded and granted exactly like audit_log:
 *
 *   hash(n) = SHA-256( prev_hash(n) || "sd-case-audit-v1" || int8(seq) || field(occurred_on as
 *                      YYYY-MM-DD) || field(actor_type) || field(actor_id) || field(action)
 *                      || field(object_type) || field(object_id) )
 *
 * with field() as in audit_log. audit_log refuses new entries whose actor is a case (entries made
 * before this migration keep their times; SECURITY.md says so).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('case_audit_log')
    .addColumn('seq', 'bigint', (column) => column.primaryKey().check(sql`seq >= 1`))
    .addColumn('occurred_on', 'date', (column) => column.notNull())
    .addColumn('actor_type', 'text', (column) => column.notNull().check(sql`actor_type = 'case'`))
    .addColumn('actor_id', 'text', (column) => column.notNull().check(sql`char_length(actor_id) <= 200`))
    .addColumn('action', 'text', (column) =>
      column.notNull().check(sql`char_length(action) <= 100 AND action ~ '^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+$'`),
    )
    .addColumn('object_type', 'text', (column) => column.check(sql`char_length(object_type) <= 100`))
    .addColumn('object_id', 'text', (column) => column.check(sql`char_length(object_id) <= 200`))
    .addColumn('prev_hash', 'bytea', (column) => column.notNull().check(sql`octet_length(prev_hash) = 32`))
    .addColumn('hash', 'bytea', (column) => column.notNull().check(sql`octet_length(hash) = 32`))
    .execute()

  const schema = sql.id((await sql<{ schema: string }>`SELECT current_schema() AS schema`.execute(db)).rows[0]!.schema)
  const searchPath = sql.raw(
    `pg_catalog, ${(await sql<{ quoted: string }>`SELECT quote_ident(current_schema()) AS quoted`.execute(db)).rows[0]!.quoted}, pg_temp`,
  )

  await sql`
    CREATE FUNCTION case_audit_log_chain() RETURNS trigger
    LANGUAGE plpgsql SET search_path = ${searchPath} AS $$
    DECLARE
      last_seq bigint;
      last_hash bytea;
    BEGIN
      PERFORM pg_advisory_xact_lock(7233012002);
      SELECT seq, hash INTO last_seq, last_hash FROM ${schema}.case_audit_log ORDER BY seq DESC LIMIT 1;
      NEW.seq := COALESCE(last_seq, 0) + 1;
      NEW.prev_hash := COALESCE(last_hash, '\\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);
      -- The day only, in UTC, whatever the session's time zone.
      NEW.occurred_on := (clock_timestamp() AT TIME ZONE 'UTC')::date;
      NEW.hash := sha256(
        NEW.prev_hash
        || convert_to('sd-case-audit-v1', 'UTF8')
        || int8send(NEW.seq)
        || ${schema}.audit_log_field(to_char(NEW.occurred_on, 'YYYY-MM-DD'))
        || ${schema}.audit_log_field(NEW.actor_type)
        || ${schema}.audit_log_field(NEW.actor_id)
        || ${schema}.audit_log_field(NEW.action)
        || ${schema}.audit_log_field(NEW.object_type)
        || ${schema}.audit_log_field(NEW.object_id));
      RETURN NEW;
    END $$`.execute(db)

  await sql`CREATE TRIGGER case_audit_log_chain BEFORE INSERT ON case_audit_log FOR EACH ROW EXECUTE FUNCTION case_audit_log_chain()`.execute(db)
  await sql`CREATE TRIGGER case_audit_log_no_change BEFORE UPDATE OR DELETE ON case_audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change()`.execute(db)
  await sql`CREATE TRIGGER case_audit_log_no_truncate BEFORE TRUNCATE ON case_audit_log FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change()`.execute(db)
  await sql`REVOKE ALL ON case_audit_log FROM PUBLIC`.execute(db)
  await sql`SELECT safe_disclosure_grant('case_audit_log', 'SELECT, INSERT')`.execute(db)

  // From now on, anonymous actions go only to their own chain.
  await sql`ALTER TABLE audit_log ADD CONSTRAINT audit_log_no_case_actor CHECK (actor_type <> 'case') NOT VALID`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  const activity = await sql<{ entries: number }>`SELECT count(*)::integer AS entries FROM case_audit_log`.execute(db)
  const entries = activity.rows[0]?.entries ?? 0
  if (entries > 0) {
    throw new Error(`the case audit log records ${entries} actions and is not dropped by a rollback; export it and remove it by hand if that is really intended`)
  }
  await sql`ALTER TABLE audit_log DROP CONSTRAINT audit_log_no_case_actor`.execute(db)
  await db.schema.dropTable('case_audit_log').execute()
  await sql`DROP FUNCTION case_audit_log_chain()`.execute(db)
}
