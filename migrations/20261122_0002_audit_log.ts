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
 *
 * Entries hold who, what, which record and when; never content.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('audit_log')
    .addColumn('seq', 'bigint', (column) => column.primaryKey())
    .addColumn('occurred_at', 'timestamptz', (column) => column.notNull())
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

  await sql`
    CREATE FUNCTION audit_log_field(value text) RETURNS bytea
    LANGUAGE sql IMMUTABLE AS $$
      SELECT CASE WHEN value IS NULL THEN int4send(-1)
                  ELSE int4send(octet_length(convert_to(value, 'UTF8'))) || convert_to(value, 'UTF8') END
    $$`.execute(db)

  await sql`
    CREATE FUNCTION audit_log_chain() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
      last_seq bigint;
      last_hash bytea;
    BEGIN
      -- Serialise writers (all instances) so the chain never forks. The lock is released at commit.
      PERFORM pg_advisory_xact_lock(7233012001);
      SELECT seq, hash INTO last_seq, last_hash FROM audit_log ORDER BY seq DESC LIMIT 1;
      NEW.seq := COALESCE(last_seq, 0) + 1;
      NEW.prev_hash := COALESCE(last_hash, '\\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);
      NEW.occurred_at := date_trunc('milliseconds', clock_timestamp());
      NEW.hash := sha256(
        NEW.prev_hash
        || convert_to('sd-audit-v1', 'UTF8')
        || int8send(NEW.seq)
        || int8send((extract(epoch FROM NEW.occurred_at) * 1000)::bigint)
        || audit_log_field(NEW.actor_type)
        || audit_log_field(NEW.actor_id)
        || audit_log_field(NEW.action)
        || audit_log_field(NEW.object_type)
        || audit_log_field(NEW.object_id));
      RETURN NEW;
    END $$`.execute(db)

  await sql`
    CREATE FUNCTION audit_log_refuse_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
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
  await db.schema.dropTable('audit_log').execute()
  await sql`DROP FUNCTION audit_log_refuse_change()`.execute(db)
  await sql`DROP FUNCTION audit_log_chain()`.execute(db)
  await sql`DROP FUNCTION audit_log_field(text)`.execute(db)
}
