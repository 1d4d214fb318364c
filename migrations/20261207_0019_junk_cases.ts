import { sql, type Kysely, type RawBuilder } from 'kysely'

/**
 * Junk: a case an IDVA read and judged not to be a real disclosure or consultation (a flood of
 * made-up cases sealed properly, which only a reader can tell from real ones; SECURITY.md,
 * "Availability").
 *
 *   cases.junk_on  the day it was marked as junk (the day only, like the other days of a case;
 *                  who marked it is in the audit log), or NULL. Junk leaves the queue, its counts
 *                  and the figures; retention destroys it after RETENTION_JUNK_DAYS; putting it
 *                  back, or the person writing again, sets it to NULL. The status is left as it
 *                  was: junk is the service's judgement, not a step the person sees.
 *
 * The queue's partial indexes for open and waiting cases now leave junk out, so a flood marked as
 * junk costs the first page nothing; the "Marked as junk" view and the retention job have their
 * own small index, in the queue's order.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('cases').addColumn('junk_on', 'date').execute()
  await db.schema.createIndex('cases_junk').on('cases').columns(['created_on', 'id']).where(sql.ref('junk_on'), 'is not', null).execute()
  await replaceIndex(db, 'cases_queue_open', ['created_on', 'id'], sql<boolean>`status <> 'closed' AND junk_on IS NULL`)
  await replaceIndex(db, 'cases_queue_awaiting_reply', ['created_on', 'id'], sql<boolean>`first_reply_on IS NULL AND status <> 'closed' AND junk_on IS NULL`)
  await replaceIndex(db, 'cases_awaiting_reply', ['created_on'], sql<boolean>`awaiting_reply = true AND junk_on IS NULL`)
}

export async function down(db: Kysely<any>): Promise<void> {
  await replaceIndex(db, 'cases_awaiting_reply', ['created_on'], sql<boolean>`awaiting_reply = true`)
  await replaceIndex(db, 'cases_queue_awaiting_reply', ['created_on', 'id'], sql<boolean>`first_reply_on IS NULL AND status <> 'closed'`)
  await replaceIndex(db, 'cases_queue_open', ['created_on', 'id'], sql<boolean>`status <> 'closed'`)
  await db.schema.dropIndex('cases_junk').execute()
  await db.schema.alterTable('cases').dropColumn('junk_on').execute()
}

async function replaceIndex(db: Kysely<any>, name: string, columns: string[], where: RawBuilder<boolean>): Promise<void> {
  await db.schema.dropIndex(name).execute()
  await db.schema.createIndex(name).on('cases').columns(columns).where(where).execute()
}
