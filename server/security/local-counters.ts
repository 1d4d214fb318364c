/**
 * Rate-limit counters held in this process's memory, for limits that need not hold across
 * instances (the default per-minute limit on pages): counting a page view then costs a map lookup
 * instead of a database round trip.
 *
 * Keyed by the same opaque names as the database's counters (server/security/counters.ts), so even
 * a dump of the process's memory holds no address. Each limit keeps only its current window: when
 * the window moves on, the old counts are dropped whole. The number of counters is bounded: a flood
 * from more distinct addresses in one window than `capacity` gets `null` for the newcomers, and the
 * caller counts those in the database as before, so memory stays bounded and the limit still holds.
 */
export class LocalCounters {
  readonly #windows = new Map<string, { start: number; counts: Map<string, number> }>()
  #size = 0

  constructor(private readonly capacity: number) {}

  /**
   * Counts one hit for `counter` of `limit` in the window that starts at `windowStart` (ms) and
   * returns the count so far, or null when the counter is new and there is no room for it.
   */
  hit(limit: string, counter: string, windowStart: number): number | null {
    let window = this.#windows.get(limit)
    if (window === undefined || window.start !== windowStart) {
      if (window !== undefined) {
        // A late request for the window just ended is counted in a fresh one: never more lenient.
        if (windowStart < window.start) return this.#countIn(window.counts, counter)
        this.#size -= window.counts.size
      }
      window = { start: windowStart, counts: new Map() }
      this.#windows.set(limit, window)
    }
    return this.#countIn(window.counts, counter)
  }

  #countIn(counts: Map<string, number>, counter: string): number | null {
    const hits = (counts.get(counter) ?? 0) + 1
    if (hits === 1) {
      if (this.#size >= this.capacity) return null
      this.#size++
    }
    counts.set(counter, hits)
    return hits
  }

  /** How many counters are held now (for tests and the health of the process). */
  get size(): number {
    return this.#size
  }
}
