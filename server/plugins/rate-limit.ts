import fp from 'fastify-plugin'
import { createHmac } from 'node:crypto'
import { isIPv6 } from 'node:net'
import { countHit, deleteExpiredCounters } from '../db/rate-limit-repository.ts'
import { HttpError } from '../errors.ts'

/**
 * Rate limiting shared by every instance, with counters in the database.
 *
 * The client address is used for one thing only: it is combined with the limit's name under an
 * HMAC whose key is derived from SERVER_SECRET and today's date (UTC). The daily key is held in
 * memory, never stored or logged, and differs every day. The counters themselves are deleted when
 * their window ends (minutes) and are kept out of the write-ahead log. What remains possible, and
 * SECURITY.md says so: someone holding SERVER_SECRET and a copy of the table taken during a window
 * could test candidate addresses against the counters in that copy.
 *
 * Routes choose their limit with `config: { rateLimit: { name, max, windowSeconds } }`, or opt out
 * with `rateLimit: false` (health checks, static files). Everything else, including unknown URLs,
 * shares the default limit.
 */

export interface RateLimitRule {
  readonly name: string
  readonly max: number
  readonly windowSeconds: number
}

declare module 'fastify' {
  interface FastifyContextConfig {
    rateLimit?: false | RateLimitRule
  }
}

/** One IPv6 customer usually holds a whole /64, so count the /64; IPv4-mapped becomes IPv4. */
export function normaliseAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped?.[1] !== undefined) return mapped[1]
  if (!isIPv6(address)) return address
  const [head = '', tail = ''] = address.toLowerCase().split('::')
  const headGroups = head === '' ? [] : head.split(':')
  const tailGroups = tail === '' ? [] : tail.split(':')
  const groups = [...headGroups, ...Array<string>(Math.max(0, 8 - headGroups.length - tailGroups.length)).fill('0'), ...tailGroups]
  return `${groups.slice(0, 4).map((group) => group.replace(/^0+(?=.)/, '')).join(':')}::/64`
}

function utcDay(now: Date): string {
  return now.toISOString().slice(0, 10)
}

const CLEAN_UP_EVERY_MS = 60_000

export default fp(
  async function rateLimit(app) {
    const { serverSecret, rateLimitPerMinute } = app.config
    const defaultRule: RateLimitRule = { name: 'default', max: rateLimitPerMinute, windowSeconds: 60 }
    let dailyKey: { day: string; key: Buffer } | undefined

    const bucketFor = (rule: RateLimitRule, address: string): string => {
      const day = utcDay(new Date())
      if (dailyKey?.day !== day) {
        dailyKey = { day, key: createHmac('sha256', serverSecret).update(`rate-limit\0${day}`).digest() }
      }
      return createHmac('sha256', dailyKey.key).update(`${rule.name}\0${normaliseAddress(address)}`).digest('base64url')
    }

    app.addHook('onRequest', async (request, reply) => {
      const configured = request.routeOptions.config.rateLimit
      if (configured === false) return
      const rule = configured ?? defaultRule
      const { hits, secondsLeft } = await countHit(app.database.db, bucketFor(rule, request.ip), rule.windowSeconds)
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
      deleteExpiredCounters(app.database.db).catch((error: unknown) =>
        app.log.warn({ err: error }, 'could not delete expired rate-limit counters'),
      )
    }, CLEAN_UP_EVERY_MS)
    timer.unref()
    app.addHook('onClose', async () => clearInterval(timer))
  },
  { name: 'rate-limit', dependencies: ['app-context'] },
)
