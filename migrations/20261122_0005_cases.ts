import { sql, type Kysely } from 'kysely'

/**
 * Cases: anonymous disclosures (and, later, managers' consultations), their threads and evidence.
 *
 * Nothing here is readable without the IDVA service's keys or the reporter's case code. A case row
 * holds only what the workflow needs: its kind, status, the day it was created (not the time),
 * counts, and the public keys and lookup value derived from the case code in the reporter's
 * browser. The code itself is never sent.
 *
 *   cases            one per disclosure; lookup_id (16 bytes derived from the code) finds it
 *   case_messages    the thread: the disclosure, the reporter's messages and the IDVA service's
 *                    replies, as envelopes (crypto/envelope.ts) in order (seq, bound into each
 *                    envelope, so the server cannot reorder them or drop one unnoticed)
 *   case_evidence    encrypted evidence files; staged (case_id NULL) between upload and the
 *                    message that carries their keys, and deleted if not claimed within the hour
 *   case_challenges  single-use login challenges for /return (two minutes)
 *   case_sessions    a reporter's session after signing the challenge (only a hash of the cookie)
 *
 * Withdrawing deletes the case row; every other row of the case goes with it (ON DELETE CASCADE).
 */
const UUID = sql`'^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'`

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('cases')
    .addColumn('id', 'text', (c) => c.primaryKey().check(sql`id ~ ${UUID}`))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind IN ('disclosure', 'consultation')`))
    .addColumn('lookup_id', 'bytea', (c) => c.notNull().unique().check(sql`octet_length(lookup_id) = 16`))
    .addColumn('auth_public', 'bytea', (c) => c.notNull().check(sql`octet_length(auth_public) = 32`))
    .addColumn('reply_public', 'bytea', (c) => c.notNull().check(sql`octet_length(reply_public) = 32`))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('new').check(sql`status IN ('new', 'in_contact', 'support_ongoing', 'referred', 'closed')`))
    .addColumn('created_on', 'date', (c) => c.notNull().defaultTo(sql`current_date`))
    .addColumn('last_activity_on', 'date', (c) => c.notNull().defaultTo(sql`current_date`))
    .addColumn('first_reply_on', 'date')
    .addColumn('message_count', 'integer', (c) => c.notNull().defaultTo(0).check(sql`message_count >= 0`))
    .addColumn('evidence_count', 'integer', (c) => c.notNull().defaultTo(0).check(sql`evidence_count >= 0`))
    .execute()
  await db.schema.createIndex('cases_status_created_on').on('cases').columns(['status', 'created_on']).execute()

  await db.schema
    .createTable('case_messages')
    .addColumn('id', 'text', (c) => c.primaryKey().check(sql`id ~ ${UUID}`))
    .addColumn('case_id', 'text', (c) => c.notNull().references('cases.id').onDelete('cascade'))
    .addColumn('seq', 'integer', (c) => c.notNull().check(sql`seq >= 1`))
    .addColumn('author', 'text', (c) => c.notNull().check(sql`author IN ('reporter', 'idva')`))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind IN ('disclosure', 'consultation', 'reporter_message', 'idva_reply')`))
    .addColumn('envelope', 'bytea', (c) => c.notNull().check(sql`octet_length(envelope) BETWEEN 1 AND 1100000`))
    .addColumn('padded_size', 'integer', (c) => c.notNull())
    .addColumn('created_on', 'date', (c) => c.notNull().defaultTo(sql`current_date`))
    .addUniqueConstraint('case_messages_case_seq', ['case_id', 'seq'])
    .execute()

  await db.schema
    .createTable('case_evidence')
    .addColumn('id', 'text', (c) => c.primaryKey().check(sql`id ~ ${UUID}`))
    .addColumn('case_id', 'text', (c) => c.references('cases.id').onDelete('cascade'))
    .addColumn('message_id', 'text', (c) => c.references('case_messages.id').onDelete('cascade'))
    .addColumn('upload_token_hash', 'bytea', (c) => c.check(sql`octet_length(upload_token_hash) = 32`))
    .addColumn('encrypted', 'bytea', (c) => c.notNull())
    .addColumn('size', 'integer', (c) => c.notNull().check(sql`size > 0`))
    .addColumn('staged_until', 'timestamptz')
    .addCheckConstraint('case_evidence_staged', sql`(case_id IS NULL) = (staged_until IS NOT NULL) AND (case_id IS NULL) = (message_id IS NULL) AND (case_id IS NULL) = (upload_token_hash IS NOT NULL)`)
    .execute()
  await db.schema.createIndex('case_evidence_case_id').on('case_evidence').column('case_id').execute()
  await db.schema.createIndex('case_evidence_message_id').on('case_evidence').column('message_id').execute()
  await db.schema.createIndex('case_evidence_staged_until').on('case_evidence').column('staged_until').where(sql.ref('staged_until'), 'is not', null).execute()

  await db.schema
    .createTable('case_challenges')
    .addColumn('id', 'text', (c) => c.primaryKey().check(sql`id ~ '^[A-Za-z0-9_-]{22}$'`))
    .addColumn('challenge', 'bytea', (c) => c.notNull().check(sql`octet_length(challenge) = 32`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('case_challenges_expires_at').on('case_challenges').column('expires_at').execute()

  await db.schema
    .createTable('case_sessions')
    .addColumn('token_hash', 'bytea', (c) => c.primaryKey().check(sql`octet_length(token_hash) = 32`))
    .addColumn('case_id', 'text', (c) => c.notNull().references('cases.id').onDelete('cascade'))
    .addColumn('csrf_token', 'text', (c) => c.notNull().check(sql`char_length(csrf_token) = 43`))
    .addColumn('last_seen_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('case_sessions_case_id').on('case_sessions').column('case_id').execute()
  await db.schema.createIndex('case_sessions_expires_at').on('case_sessions').column('expires_at').execute()

  for (const table of ['cases', 'case_messages', 'case_evidence', 'case_challenges', 'case_sessions']) {
    await sql`REVOKE ALL ON ${sql.table(table)} FROM PUBLIC`.execute(db)
    await sql`SELECT safe_disclosure_grant(${table}, 'SELECT, INSERT, UPDATE, DELETE')`.execute(db)
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['case_sessions', 'case_challenges', 'case_evidence', 'case_messages', 'cases']) {
    await db.schema.dropTable(table).execute()
  }
}
