import { sql, type Kysely } from 'kysely'

/**
 * Rate-limit counters keep no time. A counter was (bucket, window_start, hits, expires_at): the
 * window's start said in which minute, or which hour, someone submitted, returned or signed in, and
 * a global counter's start said so for every submission. Now each counter is named by an HMAC, under
 * the day's key (derived from SERVER_SECRET and never stored), of the limit, the hashed subject and
 * the window's start; the row keeps only that name, the count and the day (for clean-up). Without
 * SERVER_SECRET nobody can tell which window, or which address, a counter is for. The table stays
 * UNLOGGED (never in the write-ahead log, replicas or physical backups).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('rate_limit_counter').execute()
  await db.schema
    .createTable('rate_limit_counter')
    .modifyFront(sql`unlogged`)
    .addColumn('counter', 'text', (column) => column.primaryKey().check(sql`char_length(counter) <= 64`))
    .addColumn('hits', 'integer', (column) => column.notNull())
    .addColumn('day', 'date', (column) => column.notNull().defaultTo(sql`current_date`))
    .execute()
  await db.schema.createIndex('rate_limit_counter_day').on('rate_limit_counter').column('day').execute()
  await sql`REVOKE ALL ON rate_limit_counter FROM PUBLIC`.execute(db)
  await sql`SELECT safe_disclosure_grant('rate_limit_counter', 'SELECT, INSERT, UPDATE, DELETE')`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('rate_limit_counter').execute()
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
