import { sql, type Kysely } from 'kysely'
import type { Schema } from './schema.ts'

/**
 * Counts one hit against a counter (named by server/security/counters.ts: an opaque HMAC of the
 * limit, the hashed subject and the window) and returns the count so far.
 */
export async function countHit(db: Kysely<Schema>, counter: string): Promise<number> {
  return addToCounter(db, counter, 1)
}

/**
 * Adds `amount` to a counter (the weighted form of countHit: the kibibytes of an upload, say) and
 * returns its total so far, in one statement, so instances adding at once each see the others.
 */
export async function addToCounter(db: Kysely<Schema>, counter: string, amount: number): Promise<number> {
  const result = await sql<{ hits: number }>`
    INSERT INTO rate_limit_counter AS existing (counter, hits, day) VALUES (${counter}, ${amount}, current_date)
    ON CONFLICT (counter) DO UPDATE SET hits = existing.hits + ${amount}
    RETURNING existing.hits`.execute(db)
  const row = result.rows[0]
  if (row === undefined) throw new Error('rate limit counter was not returned')
  return row.hits
}

/** Gives back part of what addToCounter added (a reservation not used up); never below zero. */
export async function takeFromCounter(db: Kysely<Schema>, counter: string, amount: number): Promise<void> {
  await db.updateTable('rate_limit_counter').set({ hits: sql<number>`greatest(hits - ${amount}, 0)` }).where('counter', '=', counter).execute()
}

/** Takes back one hit counted earlier (an attempt that turned out not to count); never below zero. */
export async function uncountHit(db: Kysely<Schema>, counter: string): Promise<void> {
  await db.updateTable('rate_limit_counter').set({ hits: sql<number>`hits - 1` }).where('counter', '=', counter).where('hits', '>', 0).execute()
}

/** Deletes the counters of earlier days (every window ends within its day). */
export async function deleteOldCounters(db: Kysely<Schema>): Promise<number> {
  const result = await db.deleteFrom('rate_limit_counter').where('day', '<', sql<string>`current_date`).executeTakeFirst()
  return Number(result.numDeletedRows)
}
