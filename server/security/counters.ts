import { createHmac } from 'node:crypto'

/**
 * Names for rate-limit counters that say nothing to whoever reads the table.
 *
 * A counter is for one limit, one subject (a client address, normalised, or '' for a global cap)
 * and one fixed window. Its name is HMAC-SHA256(daily_key, limit ‖ 0x00 ‖ subject ‖ 0x00 ‖ window
 * start in ms), where daily_key = HMAC-SHA256(SERVER_SECRET, "rate-limit" ‖ 0x00 ‖ YYYY-MM-DD), held
 * in memory and never stored. So the table holds neither an address nor a time: only opaque names,
 * counts and the day. Windows are aligned to the epoch and divide a day, so none spans midnight.
 * Every instance computes the same name from its own clock (kept in step by NTP).
 */
const DAY_MS = 86_400_000

export class CounterNames {
  /** The day's key, with the times (ms) its UTC day starts and ends: worked out once a day, not per request. */
  #daily: { from: number; until: number; key: Buffer } | undefined

  constructor(private readonly serverSecret: Buffer) {}

  #key(now: number): Buffer {
    if (this.#daily === undefined || now < this.#daily.from || now >= this.#daily.until) {
      const from = Math.floor(now / DAY_MS) * DAY_MS
      const day = new Date(from).toISOString().slice(0, 10)
      this.#daily = { from, until: from + DAY_MS, key: createHmac('sha256', this.serverSecret).update(`rate-limit\0${day}`).digest() }
    }
    return this.#daily.key
  }

  /** The counter's name for this window, and the seconds until the window ends. */
  name(limit: string, subject: string, windowSeconds: number, now = Date.now()): { counter: string; secondsLeft: number; windowStart: number } {
    const windowMs = windowSeconds * 1000
    const start = Math.floor(now / windowMs) * windowMs
    const counter = createHmac('sha256', this.#key(now)).update(`${limit}\0${subject}\0${start}`).digest('base64url')
    return { counter, secondsLeft: Math.max(1, Math.ceil((start + windowMs - now) / 1000)), windowStart: start }
  }
}
