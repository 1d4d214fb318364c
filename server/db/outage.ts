import { serializeError, type Logger } from '../logger.ts'

/**
 * A database outage, said once. While the database cannot be reached every request that needs it
 * is refused with 503; logging each of them would write hundreds of identical errors for a restart
 * of a few seconds (and hide whatever else went wrong in them). Instead the first failure writes
 * one error line, the database is then probed every second, a reminder with the count so far is
 * written every minute while it lasts, and one line says when it answers again and how many
 * requests were refused meanwhile. Nothing about a request is kept: only a count.
 */

/** What a refused person's browser (or client) is told to wait before trying again. */
export const OUTAGE_RETRY_AFTER_SECONDS = 5

export interface OutageTimings {
  /** How often the database is probed while it is unreachable. */
  readonly probeEveryMs: number
  /** The database must answer, with no request refused for this long, before the outage is over. */
  readonly settleMs: number
  /** How often a long outage is reported again, with the count so far. */
  readonly remindEveryMs: number
}

const TIMINGS: OutageTimings = { probeEveryMs: 1_000, settleMs: 2_000, remindEveryMs: 60_000 }

/** The kind of failure, for the log: the error's type and code, never its data. */
function cause(error: unknown): Record<string, unknown> {
  if (error === undefined) return {}
  const { type, code, message } = serializeError(error)
  return { cause: { type, code, message } }
}

export class OutageLog {
  #since: number | null = null
  #refused = 0
  #lastFailure = 0
  #lastReport = 0
  #timer: NodeJS.Timeout | undefined
  #suspecting = false
  #stopped = false

  constructor(
    private readonly logger: Logger,
    /** True when the database answers; must not throw. */
    private readonly probe: () => Promise<boolean>,
    private readonly timings: OutageTimings = TIMINGS,
  ) {}

  /** True from the first failure until the database has answered again. */
  get ongoing(): boolean {
    return this.#since !== null
  }

  /** A request was refused (503) because the database could not be reached. */
  refused(error: unknown): void {
    this.#fail(error)
    this.#refused += 1
  }

  /** The database was found unreachable without refusing a request (a failed health check). */
  noticed(error?: unknown): void {
    this.#fail(error)
  }

  /**
   * Something hints at an outage without proving one (an idle connection was lost: the server may
   * have ended just that one). The database is probed, and only a failed probe opens an outage.
   */
  suspect(error: unknown): void {
    if (this.#since !== null || this.#suspecting || this.#stopped) return
    this.#suspecting = true
    void this.probe().then((answered) => {
      this.#suspecting = false
      if (!answered) this.#fail(error)
    })
  }

  /**
   * Stops probing (the database is being closed); an outage still open is reported with its count,
   * as it is not going to be seen ending. A request refused after this is still said once.
   */
  stop(): void {
    this.#stopped = true
    clearTimeout(this.#timer)
    if (this.#since !== null) this.logger.error(this.#figures(), 'stopping while the database is unreachable')
    this.#since = null
  }

  #fail(error: unknown): void {
    const now = Date.now()
    this.#lastFailure = now
    if (this.#since !== null) return
    this.#since = now
    this.#lastReport = now
    this.#refused = 0
    this.logger.error(
      { ...cause(error), retryAfterSeconds: OUTAGE_RETRY_AFTER_SECONDS },
      'database unreachable: requests that need it are refused (503) until it answers again; this is said once, with a count when it ends',
    )
    if (!this.#stopped) this.#schedule()
  }

  #schedule(): void {
    this.#timer = setTimeout(() => void this.#check(), this.timings.probeEveryMs)
    this.#timer.unref()
  }

  async #check(): Promise<void> {
    const answered = await this.probe()
    if (this.#since === null || this.#stopped) return
    const now = Date.now()
    if (answered && now - this.#lastFailure >= this.timings.settleMs) {
      this.logger.warn(this.#figures(), 'database reachable again')
      this.#since = null
      return
    }
    if (now - this.#lastReport >= this.timings.remindEveryMs) {
      this.#lastReport = now
      this.logger.error(this.#figures(), 'database still unreachable')
    }
    this.#schedule()
  }

  #figures(): { refusedRequests: number; outageSeconds: number } {
    return { refusedRequests: this.#refused, outageSeconds: Math.round((Date.now() - (this.#since ?? Date.now())) / 1000) }
  }
}
