import { sql, type Kysely } from 'kysely'
import type { Schema } from './schema.ts'

/**
 * Counts one hit against `bucket` in the current fixed window and returns the count so far and the
 * seconds until the window ends. The window is computed by the database clock, so every instance
 * agrees on it.
 */
export async function countHit(
  db: Kysely<Schema>,
  bucket: string,
  windowSeconds: number,
): Promise<{ hits: number; secondsLeft: number }> {
  const window = `${windowSeconds} seconds`
  const result = await sql<{ hits: number; seconds_left: number }>`
    INSERT INTO rate_limit_counter AS counter (bucket, window_start, hits, expires_at)
    VALUES (${bucket}, date_bin(${window}::interval, now(), timestamptz 'epoch'), 1,
            date_bin(${window}::interval, now(), timestamptz 'epoch') + ${window}::interval)
    ON CONFLICT (bucket, window_start) DO UPDATE SET hits = counter.hits + 1
    RETURNING counter.hits, ceil(extract(epoch FROM counter.expires_at - now()))::integer AS seconds_left`.execute(db)
  const row = result.rows[0]
  if (row === undefined) throw new Error('rate limit counter was not returned')
  return { hits: row.hits, secondsLeft: Math.max(1, row.seconds_left) }
}

/** Deletes counters whose window has ended. */
export async function deleteExpiredCounters(db: Kysely<Schema>): Promise<number> {
  const result = await db.deleteFrom('rate_limit_counter').where('expires_at', '<', sql<Date>`now()`).executeTakeFirst()
  return Number(result.numDeletedRows)
}
