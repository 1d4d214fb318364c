import { sql, type Kysely } from 'kysely'
import type { Schema } from './schema.ts'

/**
 * Counts one hit against a counter (named by server/security/counters.ts: an opaque HMAC of the
 * limit, the hashed subject and the window) and returns the count so far.
 */
export async function countHit(db: Kysely<Schema>, counter: string): Promise<number> {
  const result = await sql<{ hits: number }>`
    INSERT INTO rate_limit_counter AS existing (counter, hits, day) VALUES (${counter}, 1, current_date)
    ON CONFLICT (counter) DO UPDATE SET hits = existing.hits + 1
    RETURNING existing.hits`.execute(db)
  const row = result.rows[0]
  if (row === undefined) throw new Error('rate limit counter was not returned')
  return row.hits
}

/** Deletes the counters of earlier days (every window ends within its day). */
export async function deleteOldCounters(db: Kysely<Schema>): Promise<number> {
  const result = await db.deleteFrom('rate_limit_counter').where('day', '<', sql<string>`current_date`).executeTakeFirst()
  return Number(result.numDeletedRows)
}
