import { sql, type Kysely } from 'kysely'

/**
 * The audit log: append-only and hash-chained.
 *
 * The chain is built by the database, not by the application, so no application code path can
 * write an entry that does not commit to the one before it:
 *   - a BEFORE INSERT trigger takes a transaction-scoped advisory lock (so concurrent writers from
 *     several instances queue), reads the last entry, and sets seq = last.seq + 1,
 *     prev_hash = last.hash (32 zero bytes for the first), occurred_at (to the millisecond) and
 *     hash = SHA-256(prev_hash || 'sd-audit-v1' || int8(seq) || int8(epoch ms) || field(actor_type)
 *     || field(actor_id) || field(action) || field(object_type) || field(object_id)), where
 *     field(x) is int4(-1) for NULL and int4(byte length) || UTF-8 bytes otherwise (all integers
 *     big-endian). SECURITY.md documents this so the chain can be checked independently
 *     (scripts/audit-verify.ts does, in Node, without trusting any database function).
 *   - BEFORE UPDATE/DELETE (per row) and BEFORE TRUNCATE triggers refuse the change for everyone,
 *     including the owner, unless the owner first disables the triggers.
 *   - the application role (safe_disclosure_app) gets SELECT and INSERT only, so it can neither
 *     change rows nor disable the triggers.
 *   - the trigger functions run with a fixed search_path (this schema, then pg_temp last) and name
 *     the table with its schema, so a session cannot shadow audit_log with a temporary table of
 *     its own and feed the chain a forged predecessor.
 *   - occurred_at is stored to the millisecond (timestamptz(3)), the precision the hash commits to.
 *
 * Reverting refuses while the log records any activity beyond the migrations themselves: an audit
 * log is never dropped by a routine rollback.
 *
 * Entries hold who, what, which record and when; never content.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('audit_log')
    .addColumn('seq', 'bigint', (column) => column.primaryKey().check(sql`seq >= 1`))
    .addColumn('occurred_at', sql`timestamptz(3)`, (column) => column.notNull())
    .addColumn('actor_type', 'text', (column) => column.notNull().check(sql`actor_type IN ('staff', 'case', 'system')`))
    .addColumn('actor_id', 'text', (column) => column.check(sql`char_length(actor_id) <= 200`))
    .addColumn('action', 'text', (column) =>
      column.notNull().check(sql`char_length(action) <= 100 AND action ~ '^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+$'`),
    )
    .addColumn('object_type', 'text', (column) => column.check(sql`char_length(object_type) <= 100`))
    .addColumn('object_id', 'text', (column) => column.check(sql`char_length(object_id) <= 200`))
    .addColumn('prev_hash', 'bytea', (column) => column.notNull().check(sql`octet_length(prev_hash) = 32`))
    .addColumn('hash', 'bytea', (column) => column.notNull().check(sql`octet_length(hash) = 32`))
    .execute()

  // The schema this migration runs in, fixed into each function's search_path and table names.
  const schema = sql.id((await sql<{ schema: string }>`SELECT current_schema() AS schema`.execute(db)).rows[0]!.schema)
  const searchPath = sql.raw(
    `pg_catalog, ${(await sql<{ quoted: string }>`SELECT quote_ident(current_schema()) AS quoted`.execute(db)).rows[0]!.quoted}, pg_temp`,
  )

  await sql`
    CREATE FUNCTION audit_log_field(value text) RETURNS bytea
    LANGUAGE sql IMMUTABLE SET search_path = ${searchPath} AS $$
      SELECT CASE WHEN value IS NULL THEN int4send(-1)
                  ELSE int4send(octet_length(convert_to(value, 'UTF8'))) || convert_to(value, 'UTF8') END
    $$`.execute(db)

  await sql`
    CREATE FUNCTION audit_log_chain() RETURNS trigger
    LANGUAGE plpgsql SET search_path = ${searchPath} AS $$
    DECLARE
      last_seq bigint;
      last_hash bytea;
    BEGIN
      -- Serialise writers (all instances) so the chain never forks. The lock is released at commit.
      PERFORM pg_advisory_xact_lock(7233012001);
      SELECT seq, hash INTO last_seq, last_hash FROM ${schema}.audit_log ORDER BY seq DESC LIMIT 1;
      NEW.seq := COALESCE(last_seq, 0) + 1;
      NEW.prev_hash := COALESCE(last_hash, '\\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);
      NEW.occurred_at := date_trunc('milliseconds', clock_timestamp());
      NEW.hash := sha256(
        NEW.prev_hash
        || convert_to('sd-audit-v1', 'UTF8')
        || int8send(NEW.seq)
        || int8send((extract(epoch FROM NEW.occurred_at) * 1000)::bigint)
        || ${schema}.audit_log_field(NEW.actor_type)
        || ${schema}.audit_log_field(NEW.actor_id)
        || ${schema}.audit_log_field(NEW.action)
        || ${schema}.audit_log_field(NEW.object_type)
        || ${schema}.audit_log_field(NEW.object_id));
      RETURN NEW;
    END $$`.execute(db)

  await sql`
    CREATE FUNCTION audit_log_refuse_change() RETURNS trigger
    LANGUAGE plpgsql SET search_path = ${searchPath} AS $$
    BEGIN
      RAISE EXCEPTION 'the audit log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
    END $$`.execute(db)

  await sql`CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_chain()`.execute(db)
  await sql`CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change()`.execute(db)
  await sql`CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change()`.execute(db)

  await sql`REVOKE ALL ON audit_log FROM PUBLIC`.execute(db)
  await sql`SELECT safe_disclosure_grant('audit_log', 'SELECT, INSERT')`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  const activity = await sql<{ entries: number }>`
    SELECT count(*)::integer AS entries FROM audit_log WHERE action NOT LIKE 'system.migration\\_%'`.execute(db)
  const entries = activity.rows[0]?.entries ?? 0
  if (entries > 0) {
    throw new Error(
      `the audit log records ${entries} actions besides migrations and is not dropped by a rollback; export it and remove it by hand if that is really intended`,
    )
  }
  await db.schema.dropTable('audit_log').execute()
  await sql`DROP FUNCTION audit_log_refuse_change()`.execute(db)
  await sql`DROP FUNCTION audit_log_chain()`.execute(db)
  await sql`DROP FUNCTION audit_log_field(text)`.execute(db)
}
