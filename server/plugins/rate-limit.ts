import fp from 'fastify-plugin'
import { isIPv6 } from 'node:net'
import { countHit, deleteOldCounters } from '../db/rate-limit-repository.ts'
import { HttpError } from '../errors.ts'
import { CounterNames } from '../security/counters.ts'
import { LocalCounters } from '../security/local-counters.ts'

/**
 * Rate limiting: the default per-minute limit on pages in each instance's memory, every other limit
 * shared by every instance, with counters in the database.
 *
 * The client address is used for one thing only: it is combined with the limit's name and the
 * window under an HMAC whose key is derived from SERVER_SECRET and today's date (UTC), which names
 * the counter (server/security/counters.ts). The daily key is held in memory, never stored or
 * logged, and differs every day; the table holds neither addresses nor times, and is kept out of
 * the write-ahead log; counters go at the end of their day. What remains possible, and SECURITY.md
 * says so: someone holding SERVER_SECRET and a copy of the table could test candidate addresses
 * and windows of that day against it.
 *
 * Routes choose their limit with `config: { rateLimit: { name, max, windowSeconds } }`, or opt out
 * with `rateLimit: false` (health checks, static files). Everything else, including unknown URLs,
 * shares the default limit, RATE_LIMIT_PER_MINUTE. That one is counted in this process's memory
 * (server/security/local-counters.ts, under the same opaque names), so a page that reads no data
 * makes no database round trip; with several instances behind a balancer each counts its own, so
 * one address may make up to that many requests a minute to each. The limits that must hold across
 * instances (case creation, sign-ins, codes, uploads, the global caps) are named and stay in the
 * database. If a flood from more addresses than the memory holds arrives in one minute, the
 * newcomers are counted in the database, as every request was before.
 */

export interface RateLimitRule {
  readonly name: string
  readonly max: number
  readonly windowSeconds: number
  /** Counted in this instance's memory rather than shared through the database. */
  readonly perInstance?: boolean
}


declare module 'fastify' {
  interface FastifyContextConfig {
    rateLimit?: false | RateLimitRule
  }
  interface FastifyInstance {
    /** The opaque name of the counter for `limit` and `subject` in the current window, for counting inside a transaction. */
    counterName(limit: string, subject: string, windowSeconds: number): { counter: string; secondsLeft: number }
  }
}

/** The eight 16-bit groups of an IPv6 address, as lower-case hex without leading zeros. */
function ipv6Groups(address: string): string[] {
  const [head = '', tail = ''] = address.toLowerCase().split('::')
  const headGroups = head === '' ? [] : head.split(':')
  const tailGroups = tail === '' ? [] : tail.split(':')
  const groups = [...headGroups, ...Array<string>(Math.max(0, 8 - headGroups.length - tailGroups.length)).fill('0'), ...tailGroups]
  return groups.map((group) => group.replace(/^0+(?=.)/, ''))
}

function ipv4Of(address: string): string | null {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped?.[1] !== undefined) return mapped[1]
  return isIPv6(address) ? null : address
}

/** One IPv6 customer usually holds a whole /64, so count the /64; IPv4-mapped becomes IPv4. */
export function normaliseAddress(address: string): string {
  const ipv4 = ipv4Of(address)
  if (ipv4 !== null) return ipv4
  return `${ipv6Groups(address).slice(0, 4).join(':')}::/64`
}

/**
 * The networks an address belongs to, wider than normaliseAddress's: for IPv6 its /56 and /48
 * (what ISPs give one household or one site, so one person can rotate through a /48's 65,536 /64s),
 * for IPv4 its /24. Counting these too is what keeps one person from filling a global cap.
 */
export function addressNetworks(address: string): string[] {
  const ipv4 = ipv4Of(address)
  if (ipv4 !== null) {
    const octets = ipv4.split('.')
    return octets.length === 4 ? [`${octets.slice(0, 3).join('.')}.0/24`] : []
  }
  const groups = ipv6Groups(address)
  const fourth = Number.parseInt(groups[3] ?? '0', 16)
  return [`${groups.slice(0, 3).join(':')}:${(fourth & 0xff00).toString(16)}::/56`, `${groups.slice(0, 3).join(':')}::/48`]
}

const CLEAN_UP_EVERY_MS = 60_000

export default fp(
  async function rateLimit(app) {
    const { serverSecret, rateLimitPerMinute } = app.config
    const defaultRule: RateLimitRule = { name: 'default', max: rateLimitPerMinute, windowSeconds: 60, perInstance: true }
    const names = new CounterNames(serverSecret)
    const local = new LocalCounters(app.config.rateLimitMemoryCounters)

    app.decorate('counterName', (limit: string, subject: string, windowSeconds: number) => names.name(limit, subject, windowSeconds))

    app.addHook('onRequest', async (request, reply) => {
      const configured = request.routeOptions.config.rateLimit
      if (configured === false) return
      const rule = configured ?? defaultRule
      const { counter, secondsLeft, windowStart } = names.name(rule.name, normaliseAddress(request.ip), rule.windowSeconds)
      const hits = (rule.perInstance === true ? local.hit(rule.name, counter, windowStart) : null) ?? (await countHit(app.database.db, counter))
      reply.header('ratelimit-limit', rule.max)
      reply.header('ratelimit-remaining', Math.max(0, rule.max - hits))
      reply.header('ratelimit-reset', secondsLeft)
      if (hits > rule.max) {
        const minutes = Math.ceil(secondsLeft / 60)
        throw new HttpError(
          429,
          `There have been a lot of requests from your connection in a short time. Please wait ${minutes === 1 ? 'a minute' : `${minutes} minutes`} and try again.`,
          { 'retry-after': String(secondsLeft) },
        )
      }
    })

    const timer = setInterval(() => {
      deleteOldCounters(app.database.db).catch((error: unknown) =>
        app.log.warn({ err: error }, 'could not delete old rate-limit counters'),
      )
    }, CLEAN_UP_EVERY_MS)
    timer.unref()
    app.addHook('onClose', async () => clearInterval(timer))
  },
  { name: 'rate-limit', dependencies: ['app-context'] },
)
