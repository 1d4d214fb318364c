import type { FastifyBaseLogger } from 'fastify'
import type { Bindings, ChildLoggerOptions, LevelWithSilentOrString } from 'pino'
import type { Logger } from './logger.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** The day's count of anonymous requests (written once a day; see AnonymousTally). */
    readonly anonymousRequests: AnonymousTally
  }
}

/**
 * Requests from anonymous people (everything except the staff side and /healthz) are counted, not
 * logged line by line.
 *
 * A log line written when a reporter submits, returns or withdraws carries its time, whatever its
 * own fields say: the log shipper or the journal stamps every line as it is written, and a line's
 * place among timed lines bounds it too. With a staff rota, a door log or a phone's network log,
 * that time can name the person. So for these requests the request logger is a tally: each
 * completed request adds one to a count by method, route and status; refusals and faults add a
 * short entry (the error's kind and code, its reference, the route; never the request); and once
 * a day, after midnight UTC, one line sums up the previous day. The counts of a day an instance
 * stops in are not written (a line at stopping time would bound them); faults that stop the
 * server itself are logged as they happen, like every system event.
 */

/** The staff side and the health check are accountable: their requests are logged one by one. */
export function isAccountableUrl(url: string | undefined): boolean {
  return url !== undefined && /^\/(staff|healthz)(\/|\?|$)/.test(url)
}

const MAX_FAULTS_A_DAY = 100
const MAX_COUNTED_KEYS = 500

interface Fault {
  readonly route: string | null
  readonly statusCode: number | null
  readonly reference: string | null
  readonly error: Record<string, unknown> | null
  readonly message: string
}

function utcDay(now = new Date()): string {
  return now.toISOString().slice(0, 10)
}

/** The end (ms) of the UTC day `now` is in. */
function dayEnd(now: number): number {
  return (Math.floor(now / 86_400_000) + 1) * 86_400_000
}

function msUntilNextDay(now = Date.now()): number {
  const next = new Date(now)
  next.setUTCHours(24, 0, 5, 0)
  return next.getTime() - now
}

/** What of an entry may be kept for the day's summary: route, status and the error's kind, never the request. */
function summarise(entry: Record<string, unknown>, message: string, bindings: Bindings, serializeError: (error: unknown) => Record<string, unknown>): Fault {
  const request = entry.req as { routeOptions?: { url?: string }; method?: string } | undefined
  const reply = entry.res as { statusCode?: number } | undefined
  const route = request?.routeOptions?.url === undefined ? null : `${request.method ?? ''} ${request.routeOptions.url}`
  const statusCode = typeof entry.statusCode === 'number' ? entry.statusCode : (reply?.statusCode ?? null)
  const error = entry.err ?? entry.error
  return {
    route,
    statusCode,
    reference: typeof bindings.reqId === 'string' ? bindings.reqId : null,
    error: error === undefined ? null : serializeError(error),
    message,
  }
}

export class AnonymousTally {
  #day = utcDay()
  /** When #day ends (ms): a request before then needs no date worked out. */
  #dayEndsAt = dayEnd(Date.now())
  #counts = new Map<string, number>()
  #faults: Fault[] = []
  #faultsDropped = 0
  #timer: NodeJS.Timeout | undefined

  constructor(
    private readonly logger: Logger,
    private readonly serializeError: (error: unknown) => Record<string, unknown>,
  ) {
    this.#schedule()
  }

  #schedule(): void {
    this.#timer = setTimeout(() => {
      this.rollOver()
      this.#schedule()
    }, msUntilNextDay())
    this.#timer.unref()
  }

  /** Writes the summary of a day that has ended (if `now` is a later day), and starts the next. */
  rollOver(now = new Date()): void {
    const today = utcDay(now)
    if (today === this.#day) return
    if (this.#counts.size > 0 || this.#faults.length > 0) {
      this.logger.info(
        { day: this.#day, requests: Object.fromEntries([...this.#counts].sort(([a], [b]) => a.localeCompare(b))), faults: this.#faults, faultsNotKept: this.#faultsDropped },
        'anonymous requests of the day (counted, not logged one by one)',
      )
    }
    this.#day = today
    this.#dayEndsAt = dayEnd(now.getTime())
    this.#counts = new Map()
    this.#faults = []
    this.#faultsDropped = 0
  }

  count(key: string): void {
    if (Date.now() >= this.#dayEndsAt) this.rollOver()
    if (!this.#counts.has(key) && this.#counts.size >= MAX_COUNTED_KEYS) key = '(other)'
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1)
  }

  fault(entry: Record<string, unknown>, message: string, bindings: Bindings): void {
    this.rollOver()
    if (this.#faults.length >= MAX_FAULTS_A_DAY) {
      this.#faultsDropped += 1
      return
    }
    this.#faults.push(summarise(entry, message, bindings, this.serializeError))
  }

  stop(): void {
    clearTimeout(this.#timer)
  }

  /** A request logger that counts instead of writing. */
  loggerFor(bindings: Bindings): FastifyBaseLogger {
    return new TallyLogger(this, bindings, this.logger.level)
  }
}

type LogArguments = [unknown?, ...unknown[]]

function split(args: LogArguments): { entry: Record<string, unknown>; message: string } {
  const [first, second] = args
  if (typeof first === 'string') return { entry: {}, message: first }
  return { entry: typeof first === 'object' && first !== null ? (first as Record<string, unknown>) : {}, message: typeof second === 'string' ? second : '' }
}

/** pino's interface, over the tally: info and below count, warn and above keep a fault entry. */
class TallyLogger {
  constructor(
    private readonly tally: AnonymousTally,
    private readonly bindings: Bindings,
    public level: LevelWithSilentOrString,
  ) {}

  #count(args: LogArguments): void {
    const { entry, message } = split(args)
    const request = entry.req as { method?: string; routeOptions?: { url?: string } } | undefined
    const reply = entry.res as { statusCode?: number } | undefined
    const status = typeof entry.statusCode === 'number' ? entry.statusCode : reply?.statusCode
    const route = request?.routeOptions?.url
    this.tally.count([request?.method, route ?? (message === 'route not found' ? '(no such page)' : message), status].filter((part) => part !== undefined && part !== '').join(' '))
  }

  #fault(args: LogArguments): void {
    const { entry, message } = split(args)
    this.#count(args)
    this.tally.fault(entry, message, this.bindings)
  }

  // Methods on the prototype, not a closure each per request logger.
  fatal(...args: LogArguments): void {
    this.#fault(args)
  }
  error(...args: LogArguments): void {
    this.#fault(args)
  }
  warn(...args: LogArguments): void {
    this.#fault(args)
  }
  info(...args: LogArguments): void {
    this.#count(args)
  }
  debug(): void {}
  trace(): void {}
  silent(): void {}

  child(bindings: Bindings, _options?: ChildLoggerOptions): FastifyBaseLogger {
    return new TallyLogger(this.tally, { ...this.bindings, ...bindings }, this.level) as unknown as FastifyBaseLogger
  }
}
