import { sql, type Kysely } from 'kysely'

/**
 * What the IDVA service needs to see first and to own its work.
 *
 *   cases   urgency: the band the reporter's browser chose to put in clear beside the sealed
 *           disclosure (danger now, children involved, police abuser; the most urgent that applies),
 *           so the queue shows urgent cases first without decrypting anything (SECURITY.md says what
 *           it reveals). Null for a consultation or when none applies.
 *           owner_id: the IDVA who owns the case (assigned, reassigned; null when nobody does yet).
 *           awaiting_reply: the latest message is the person's (a new case, or a new message after a
 *           reply), so staff pages can count what waits for the service; a reply clears it.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('cases')
    .addColumn('urgency', 'text', (c) => c.check(sql`urgency IN ('danger_now', 'children', 'police_abuser')`))
    .addColumn('owner_id', 'text', (c) => c.references('accounts.id').onDelete('set null'))
    .addColumn('awaiting_reply', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute()
  await sql`UPDATE cases SET awaiting_reply = coalesce((SELECT m.author = 'reporter' FROM case_messages AS m WHERE m.case_id = cases.id ORDER BY m.seq DESC LIMIT 1), false)`.execute(db)
  // The urgent list at the top of the queue, and "my cases": small partial indexes in queue order.
  await db.schema.createIndex('cases_queue_urgent').on('cases').columns(['created_on', 'id']).where(sql.ref('urgency'), 'is not', null).execute()
  await db.schema.createIndex('cases_queue_owner').on('cases').columns(['owner_id', 'created_on', 'id']).where(sql.ref('owner_id'), 'is not', null).execute()
  await db.schema.createIndex('cases_awaiting_reply').on('cases').column('created_on').where(sql.ref('awaiting_reply'), '=', true).execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const index of ['cases_awaiting_reply', 'cases_queue_owner', 'cases_queue_urgent']) await db.schema.dropIndex(index).execute()
  await db.schema.alterTable('cases').dropColumn('awaiting_reply').dropColumn('owner_id').dropColumn('urgency').execute()
}
