import { sql, type Kysely } from 'kysely'

/**
 * Everything stored for a case is sealed a second time, by the server, under a key of the case's
 * own; and nothing stored about an anonymous person's visit keeps a time finer than the day.
 *
 *   case_keys          one random data key per case, sealed under a key derived from SERVER_SECRET
 *                      (never in the database); deleting it (withdrawal, retention) leaves what
 *                      remains of the case in table files and the write-ahead log sealed under a
 *                      key that no longer exists (server/security/case-vault.ts)
 *   cases              lookup_id now holds an HMAC of the value the code gives, under a key derived
 *                      from SERVER_SECRET, so a copy of the database alone cannot test codes; the
 *                      public keys derived from the code move into keys_sealed (under the case key):
 *                      they too would let whoever holds a code confirm that it was used
 *   case_messages,     envelopes sealed under the case key
 *   case_records
 *   case_evidence      staged uploads sealed under a key derived from their upload token (which only
 *                      the uploading browser holds); claimed ones keep that key sealed under the
 *                      case key (key_wrapped); staged_on (a day) replaces staged_until (a time), and
 *                      the hour a staged file may wait is kept sealed under the token's key
 *   case_sessions      the session's start and last request are sealed under a key derived from the
 *                      session's cookie, which only the browser holds: the database keeps the day
 *   used_challenges    replaces case_challenges: a challenge is now a server-authenticated value the
 *                      browser returns, and only its use (the day, and a hash) is stored
 *
 * `sealed` marks rows written this way (every insert must say which it is: there is no default).
 * Rows written before this migration are sealed by the server at start (sealLegacyCases in
 * server/features/cases/repository.ts), since only it holds SERVER_SECRET. Reverting refuses
 * while any sealed row exists: it would leave cases nobody can read.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('case_keys')
    .addColumn('case_id', 'text', (c) => c.primaryKey().references('cases.id').onDelete('cascade'))
    .addColumn('wrapped', 'bytea', (c) => c.notNull().check(sql`octet_length(wrapped) = 61`))
    .execute()
  await sql`REVOKE ALL ON case_keys FROM PUBLIC`.execute(db)
  await sql`SELECT safe_disclosure_grant('case_keys', 'SELECT, INSERT, DELETE')`.execute(db)

  await db.schema
    .alterTable('cases')
    .alterColumn('auth_public', (c) => c.dropNotNull())
    .alterColumn('reply_public', (c) => c.dropNotNull())
    .addColumn('keys_sealed', 'bytea', (c) => c.check(sql`octet_length(keys_sealed) = 93`))
    .addColumn('sealed', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute()
  await db.schema
    .alterTable('cases')
    .alterColumn('sealed', (c) => c.dropDefault())
    .execute()
  await db.schema
    .alterTable('cases')
    .addCheckConstraint('cases_sealed_keys', sql`sealed = (keys_sealed IS NOT NULL) AND sealed = (auth_public IS NULL) AND sealed = (reply_public IS NULL)`)
    .execute()

  for (const [table, limit] of [['case_messages', 1_100_000], ['case_records', 300_000]] as const) {
    await sql`ALTER TABLE ${sql.table(table)} DROP CONSTRAINT ${sql.id(`${table}_envelope_check`)}`.execute(db)
    await sql`ALTER TABLE ${sql.table(table)} ADD CONSTRAINT ${sql.id(`${table}_envelope_check`)} CHECK (octet_length(envelope) BETWEEN 1 AND ${sql.lit(limit + 100)})`.execute(db)
    await db.schema.alterTable(table).addColumn('sealed', 'boolean', (c) => c.notNull().defaultTo(false)).execute()
    await db.schema.alterTable(table).alterColumn('sealed', (c) => c.dropDefault()).execute()
  }

  // Unclaimed uploads are worth nothing after their hour, and have no day to move to.
  await sql`DELETE FROM case_evidence WHERE case_id IS NULL`.execute(db)
  await db.schema.alterTable('case_evidence').dropConstraint('case_evidence_staged').execute()
  await db.schema.dropIndex('case_evidence_staged_until').execute()
  await db.schema
    .alterTable('case_evidence')
    .dropColumn('staged_until')
    .addColumn('staged_on', 'date')
    .addColumn('expiry_sealed', 'bytea', (c) => c.check(sql`octet_length(expiry_sealed) = 37`))
    .addColumn('key_wrapped', 'bytea', (c) => c.check(sql`octet_length(key_wrapped) = 61`))
    .addColumn('sealed', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute()
  await db.schema.alterTable('case_evidence').alterColumn('sealed', (c) => c.dropDefault()).execute()
  await db.schema
    .alterTable('case_evidence')
    .addCheckConstraint(
      'case_evidence_staged',
      sql`(case_id IS NULL) = (staged_on IS NOT NULL) AND (case_id IS NULL) = (message_id IS NULL) AND (case_id IS NULL) = (upload_token_hash IS NOT NULL)
          AND (case_id IS NULL) = (expiry_sealed IS NOT NULL) AND (sealed AND case_id IS NOT NULL) = (key_wrapped IS NOT NULL)`,
    )
    .execute()
  await db.schema.createIndex('case_evidence_staged_on').on('case_evidence').column('staged_on').where(sql.ref('staged_on'), 'is not', null).execute()

  // Sessions cannot be carried over: their times are to be sealed under keys only browsers hold.
  await sql`DELETE FROM case_sessions`.execute(db)
  await db.schema.dropIndex('case_sessions_expires_at').execute()
  await db.schema
    .alterTable('case_sessions')
    .dropColumn('last_seen_at')
    .dropColumn('expires_at')
    .addColumn('times_sealed', 'bytea', (c) => c.notNull().check(sql`octet_length(times_sealed) = 45`))
    .addColumn('created_on', 'date', (c) => c.notNull().defaultTo(sql`current_date`))
    .execute()
  await db.schema.createIndex('case_sessions_created_on').on('case_sessions').column('created_on').execute()

  await db.schema.dropTable('case_challenges').execute()
  await db.schema
    .createTable('used_challenges')
    .addColumn('nonce_hash', 'bytea', (c) => c.primaryKey().check(sql`octet_length(nonce_hash) = 32`))
    .addColumn('used_on', 'date', (c) => c.notNull().defaultTo(sql`current_date`))
    .execute()
  await db.schema.createIndex('used_challenges_used_on').on('used_challenges').column('used_on').execute()
  await sql`REVOKE ALL ON used_challenges FROM PUBLIC`.execute(db)
  await sql`SELECT safe_disclosure_grant('used_challenges', 'SELECT, INSERT, DELETE')`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  const sealed = await sql<{ n: number }>`
    SELECT (SELECT count(*) FROM cases WHERE sealed) + (SELECT count(*) FROM case_evidence WHERE sealed)
           + (SELECT count(*) FROM case_messages WHERE sealed) + (SELECT count(*) FROM case_records WHERE sealed) AS n`.execute(db)
  const rows = Number(sealed.rows[0]?.n ?? 0)
  if (rows > 0) {
    throw new Error(`${rows} rows are sealed under case keys; reverting would leave them unreadable. Withdraw or export those cases first if that is really intended`)
  }
  await db.schema.dropTable('used_challenges').execute()
  await db.schema
    .createTable('case_challenges')
    .addColumn('id', 'text', (c) => c.primaryKey().check(sql`id ~ '^[A-Za-z0-9_-]{22}$'`))
    .addColumn('challenge', 'bytea', (c) => c.notNull().check(sql`octet_length(challenge) = 32`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('case_challenges_expires_at').on('case_challenges').column('expires_at').execute()
  await sql`REVOKE ALL ON case_challenges FROM PUBLIC`.execute(db)
  await sql`SELECT safe_disclosure_grant('case_challenges', 'SELECT, INSERT, UPDATE, DELETE')`.execute(db)

  await sql`DELETE FROM case_sessions`.execute(db)
  await db.schema.dropIndex('case_sessions_created_on').execute()
  await db.schema
    .alterTable('case_sessions')
    .dropColumn('times_sealed')
    .dropColumn('created_on')
    .addColumn('last_seen_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('case_sessions_expires_at').on('case_sessions').column('expires_at').execute()

  await sql`DELETE FROM case_evidence WHERE case_id IS NULL`.execute(db)
  await db.schema.dropIndex('case_evidence_staged_on').execute()
  await db.schema.alterTable('case_evidence').dropConstraint('case_evidence_staged').execute()
  await db.schema
    .alterTable('case_evidence')
    .dropColumn('sealed')
    .dropColumn('key_wrapped')
    .dropColumn('expiry_sealed')
    .dropColumn('staged_on')
    .addColumn('staged_until', 'timestamptz')
    .execute()
  await db.schema
    .alterTable('case_evidence')
    .addCheckConstraint('case_evidence_staged', sql`(case_id IS NULL) = (staged_until IS NOT NULL) AND (case_id IS NULL) = (message_id IS NULL) AND (case_id IS NULL) = (upload_token_hash IS NOT NULL)`)
    .execute()
  await db.schema.createIndex('case_evidence_staged_until').on('case_evidence').column('staged_until').where(sql.ref('staged_until'), 'is not', null).execute()

  for (const [table, limit] of [['case_messages', 1_100_000], ['case_records', 300_000]] as const) {
    await db.schema.alterTable(table).dropColumn('sealed').execute()
    await sql`ALTER TABLE ${sql.table(table)} DROP CONSTRAINT ${sql.id(`${table}_envelope_check`)}`.execute(db)
    await sql`ALTER TABLE ${sql.table(table)} ADD CONSTRAINT ${sql.id(`${table}_envelope_check`)} CHECK (octet_length(envelope) BETWEEN 1 AND ${sql.lit(limit)})`.execute(db)
  }

  await db.schema.alterTable('cases').dropConstraint('cases_sealed_keys').execute()
  await db.schema.alterTable('cases').dropColumn('sealed').dropColumn('keys_sealed').execute()
  await db.schema
    .alterTable('cases')
    .alterColumn('auth_public', (c) => c.setNotNull())
    .alterColumn('reply_public', (c) => c.setNotNull())
    .execute()
  await db.schema.dropTable('case_keys').execute()
}
