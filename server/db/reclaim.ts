import { sql } from 'kysely'
import type { FastifyBaseLogger } from 'fastify'
import type { Database } from './database.ts'

/**
 * After a case is destroyed (withdrawal, and later retention), the space its rows held is reclaimed
 * soon rather than whenever autovacuum gets round to it: deleted rows stay in the table files
 * until then. VACUUM FULL rewrites the small key tables (the cases' and their referrals') into new
 * files (the old ones are removed), so the destroyed keys are gone from the table files at once;
 * the case and referral tables are vacuumed so their space is reused. On the embedded database a CHECKPOINT follows, so the
 * write-ahead log segments that held the rows can be recycled. SECURITY.md says which copies can
 * still hold what, and for how long.
 *
 * VACUUM needs the tables' owner, so this runs as the owner (DATABASE_MIGRATION_URL); it cannot
 * run inside a transaction, so it runs after the destruction commits, at most once every few
 * seconds however many cases go at once.
 */

const CASE_TABLES = ['cases', 'case_messages', 'case_evidence', 'case_evidence_pieces', 'case_records', 'case_sessions', 'referrals', 'referral_files', 'referral_updates']
/** The small tables of sealed keys, rewritten so a destroyed key leaves their files at once. */
const KEY_TABLES = ['case_keys', 'referral_keys']
const DELAY_MS = 2_000

export class Reclaimer {
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined
  #closed = false

  constructor(
    private readonly database: Database,
    private readonly logger: FastifyBaseLogger,
  ) {}

  /** Asks for a reclaim soon (coalescing many destructions into one). */
  schedule(): void {
    if (this.#closed || this.#timer !== undefined) return
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      void this.run().catch((error: unknown) => this.logger.warn({ err: error }, 'could not reclaim the space of destroyed cases; autovacuum will'))
    }, DELAY_MS)
    this.#timer.unref()
  }

  /** Reclaims now (one run at a time). */
  async run(): Promise<void> {
    await this.#running
    this.#running = this.database.asOwner(async (db) => {
      for (const table of KEY_TABLES) await sql`VACUUM FULL ${sql.table(table)}`.execute(db)
      for (const table of CASE_TABLES) await sql`VACUUM ${sql.table(table)}`.execute(db)
      if (this.database.kind === 'embedded') await sql`CHECKPOINT`.execute(db)
    })
    try {
      await this.#running
    } finally {
      this.#running = undefined
    }
  }

  async close(): Promise<void> {
    this.#closed = true
    clearTimeout(this.#timer)
    this.#timer = undefined
    await this.#running?.catch(() => undefined)
  }
}
