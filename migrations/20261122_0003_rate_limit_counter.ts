import { sql, type Kysely } from 'kysely'

/**
 * Rate-limit counters, shared by every instance of the portal on this database.
 *
 * `bucket` is an HMAC of the limit's name and the client address under a key derived each day from
 * SERVER_SECRET and never stored, so the table holds no address and cannot be joined with anything.
 * Rows are deleted when their window ends. The table is UNLOGGED: counters are worthless after a
 * crash, and this keeps them out of the write-ahead log, and so out of replicas, WAL archives and
 * physical backups (pg_dump still copies unlogged tables unless given --no-unlogged-table-data).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('rate_limit_counter')
    .modifyFront(sql`unlogged`)
    .addColumn('bucket', 'text', (column) => column.notNull().check(sql`char_length(bucket) <= 64`))
    .addColumn('window_start', 'timestamptz', (column) => column.notNull())
    .addColumn('hits', 'integer', (column) => column.notNull())
    .addColumn('expires_at', 'timestamptz', (column) => column.notNull())
    .addPrimaryKeyConstraint('rate_limit_counter_pkey', ['bucket', 'window_start'])
    .execute()
  await db.schema.createIndex('rate_limit_counter_expires_at').on('rate_limit_counter').column('expires_at').execute()
  await sql`REVOKE ALL ON rate_limit_counter FROM PUBLIC`.execute(db)
  await sql`SELECT safe_disclosure_grant('rate_limit_counter', 'SELECT, INSERT, UPDATE, DELETE')`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('rate_limit_counter').execute()
}
