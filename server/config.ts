import type { ServiceContact } from '../views/context.ts'
import { isTimeZone } from '../rules/dates.ts'
import type { RetentionPolicy } from '../rules/retention.ts'
import { randomBytes } from 'node:crypto'
import { EXAMPLE_POLICY_PATH } from './routing/policy-file.ts'
import { BlockList, isIP } from 'node:net'
import { availableParallelism } from 'node:os'
import { join, resolve } from 'node:path'
import { isBankHolidayRegion, type BankHolidayRegion } from './bank-holidays.ts'

/**
 * Environment -> validated, frozen, typed configuration.
 *
 * This is the only module that reads `process.env` (server.ts and scripts/ pass it in).
 * Every variable is checked here, at start-up, so a mistake stops the server with one line
 * naming the variable, rather than surfacing later as a confusing failure.
 */

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

/** Fastify's `trustProxy`: off, a number of hops, or a list of proxy addresses/CIDRs. */
export type TrustProxy = false | number | readonly string[]

export interface Config {
  readonly host: string
  readonly port: number
  /** The origin people reach the portal at (scheme://host[:port]); used for Origin checks and cookies. */
  readonly publicOrigin: string
  /** True when publicOrigin is https: cookies become Secure and __Host- prefixed. */
  readonly secureCookies: boolean
  readonly trustProxy: TrustProxy
  readonly logLevel: LogLevel
  /** Real PostgreSQL for the application's queries; null means the embedded database. */
  readonly databaseUrl: string | null
  /** Role that owns the schema and runs migrations; defaults to databaseUrl. */
  readonly databaseMigrationUrl: string | null
  readonly databasePoolSize: number
  /** Where the embedded database (and nothing else sensitive) is kept. */
  readonly dataDir: string
  /**
   * FIRST_RUN_FILE: where the first-run links are written at start (mode 0600), while the IDVA
   * service or the first administrator does not exist yet. Default: DATA_DIR/first-run-links.txt
   * with the embedded database; first-run-links.txt in the working directory with DATABASE_URL.
   */
  readonly firstRunFile: string
  /**
   * The secret from which the server's own keys are derived: the daily rate-limit key, and the key
   * that seals staff second-factor secrets. Required with DATABASE_URL (every instance must share
   * it); with the embedded database, generated once and kept in DATA_DIR when unset.
   */
  readonly serverSecret: Buffer
  readonly serverSecretGenerated: boolean
  readonly rateLimitPerMinute: number
  /** Page-limit counters held in memory at most; beyond it in one minute, newcomers are counted in the database. */
  readonly rateLimitMemoryCounters: number
  /** Worker threads for CPU-heavy work such as Argon2id (WORKER_THREADS; default: one per core). */
  readonly workerThreads: number
  /** Tasks that may wait for a worker thread (WORK_QUEUE_LIMIT); beyond it, 503 with Retry-After. */
  readonly workQueueLimit: number
  /** Where the quick exit sends people: a neutral, everyday site. */
  readonly quickExitUrl: string
  /** The routing policy file (config/routing/); the example policy when unset. */
  readonly routingPolicyPath: string
  /** A demonstration portal (npm run demo): a DEMO banner on every page. */
  readonly demo: boolean
  /** What reporters are told to expect: a first reply within this many working days. */
  readonly firstReplyTargetDays: number
  /** The IDVA service's target for a first response to a line manager's consultation, in working days. */
  readonly consultationReplyTargetDays: number
  /** Investigator units' target for acknowledging (or returning) a referral, in working days. */
  readonly unitResponseTargetDays: number
  /** Whose bank holidays are not working days for those targets (server/bank-holidays.ts). */
  readonly bankHolidays: BankHolidayRegion
  /** At most this many new cases an hour across the whole portal; more get 503 with Retry-After. */
  readonly casesPerHour: number
  /** New cases an hour from one address (an IPv6 /64, or an IPv4 address), per kind. */
  readonly casesPerHourPerAddress: number
  /** New cases an hour from one network (an IPv6 /56 and /48, or an IPv4 /24), per kind; at most 5% of the global cap. */
  readonly casesPerHourPerNetwork: number
  /** The proof of work's difficulty, in bits (crypto/proof-of-work.ts); 0 switches it off. */
  readonly proofOfWorkBits: number
  /**
   * The IDVA service's trust anchor: the fingerprint of its first-generation public keys, pinned
   * here (beside SERVER_SECRET), never taken from the database. Null: not set in the environment
   * (with the embedded database, set-up writes it to DATA_DIR; see server/security/service-anchor.ts).
   */
  readonly serviceKeyFingerprint: string | null
  /** How a person can reach the IDVA service other than through the portal (SERVICE_PHONE, SERVICE_HOURS, SERVICE_MEETING); null when none is set. */
  readonly serviceContact: ServiceContact | null
  /** The service's time zone (TIME_ZONE, default Europe/London): staff pages write exact times in it. */
  readonly timeZone: string
  /** Alert emails to the IDVA service's team address (ALERT_SMTP_URL, ALERT_EMAIL_FROM, ALERT_EMAIL_TO, ALERT_EMAIL_MINUTES); null when off. */
  readonly alertEmail: AlertEmailConfig | null
  /** Counts below this show as "fewer than N" in the figures (FIGURES_MINIMUM, default 5). */
  readonly figuresMinimum: number
  /** Evidence uploads arriving at once in this process, from everyone and from one address (an IPv6 /64, or an IPv4 address). */
  readonly uploadsAtOnce: number
  readonly uploadsAtOncePerAddress: number
  /** Mebibytes of evidence uploads an hour, across every instance, from everyone and from one address. */
  readonly uploadMegabytesPerHour: number
  readonly uploadMegabytesPerHourPerAddress: number
  /** Mebibytes of uploads no message has claimed (yet) that the database holds at most; beyond it, 503 (UPLOAD_MB_UNCLAIMED). */
  readonly uploadMegabytesUnclaimed: number
  /** How long what the portal holds is kept (RETENTION_*, CODE_AFTER_CLOSE_DAYS; README, "Retention"). */
  readonly retention: RetentionPolicy
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable} ${message}`)
    this.name = 'ConfigError'
  }
}

type Env = Readonly<Record<string, string | undefined>>

function read(env: Env, name: string): string | undefined {
  const value = env[name]
  if (value === undefined) return undefined
  const trimmed = value.trim()
  return trimmed === '' ? undefined : trimmed
}

function show(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value)
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = read(env, name)
  if (raw === undefined) return fallback
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(name, `must be a whole number from ${min} to ${max} (got ${show(raw)})`)
  }
  return Number(raw)
}

function host(env: Env): string {
  const raw = read(env, 'HOST') ?? '127.0.0.1'
  const hostname = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/
  if (isIP(raw) === 0 && !hostname.test(raw)) {
    throw new ConfigError('HOST', `must be an IP address or host name to listen on (got ${show(raw)})`)
  }
  return raw
}

function postgresUrl(env: Env, name: string): string | null {
  const raw = read(env, name)
  if (raw === undefined) return null
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    // Never echo the value: it may hold a password.
    throw new ConfigError(name, 'must be a URL such as postgres://user@host:5432/database')
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError(name, `must start with postgres:// or postgresql:// (got ${url.protocol}//)`)
  }
  if (url.pathname.length < 2) {
    throw new ConfigError(name, 'must name a database, as in postgres://user@host:5432/database')
  }
  return raw
}

function publicOrigin(env: Env, fallback: string): string {
  const raw = read(env, 'PUBLIC_ORIGIN')
  if (raw === undefined) return fallback
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new ConfigError('PUBLIC_ORIGIN', `must be an origin such as https://portal.example.org (got ${show(raw)})`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError('PUBLIC_ORIGIN', `must use https:// (or http:// for local testing) (got ${show(raw)})`)
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash || url.username || url.password) {
    throw new ConfigError('PUBLIC_ORIGIN', `must be an origin only, with no path, query or credentials (got ${show(raw)})`)
  }
  return url.origin
}

function trustProxy(env: Env): TrustProxy {
  const raw = read(env, 'TRUST_PROXY')
  if (raw === undefined || raw === 'false') return false
  if (raw === 'true') {
    // Trusting every hop takes the left-most X-Forwarded-For entry, which the client writes itself:
    // anyone could choose a new address for every request and never meet a rate limit.
    throw new ConfigError(
      'TRUST_PROXY',
      'cannot be true (any client could then choose its own address): give the number of proxies in front of the portal, or their addresses',
    )
  }
  if (/^\d+$/.test(raw)) {
    const hops = Number(raw)
    if (hops >= 1 && hops <= 10) return hops
  }
  const entries = raw.split(',').map((entry) => entry.trim())
  const valid = entries.every((entry) => {
    const [address, prefix, ...rest] = entry.split('/')
    if (rest.length > 0 || address === undefined || isIP(address) === 0) return false
    if (prefix === undefined) return true
    const bits = Number(prefix)
    return /^\d+$/.test(prefix) && bits <= (isIP(address) === 4 ? 32 : 128)
  })
  if (!valid) {
    throw new ConfigError(
      'TRUST_PROXY',
      `must be false, a number of proxy hops from 1 to 10, or a comma-separated list of proxy addresses or CIDR ranges (got ${show(raw)})`,
    )
  }
  return Object.freeze(entries)
}

/** Loopback addresses: a portal listening only on one of these cannot be reached from another machine. */
const LOOPBACK = new BlockList()
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4')
LOOPBACK.addAddress('::1', 'ipv6')
LOOPBACK.addSubnet('::ffff:127.0.0.0', 104, 'ipv6')

function isLoopback(hostName: string): boolean {
  const version = isIP(hostName)
  if (version === 0) return hostName.toLowerCase() === 'localhost'
  return LOOPBACK.check(hostName, version === 4 ? 'ipv4' : 'ipv6')
}

/**
 * Reachable from other machines (HOST not loopback; 0.0.0.0 and :: are every address), or behind a
 * proxy (TRUST_PROXY): people then arrive over a network, and cookies must be Secure and
 * __Host- prefixed, which needs an https PUBLIC_ORIGIN. An http:// .onion origin is allowed: Tor
 * already encrypts the connection end to end, and Tor Browser treats the page as a secure context.
 */
function requireSecureOrigin(hostName: string, proxies: TrustProxy, origin: string): void {
  if (isLoopback(hostName) && proxies === false) return
  const url = new URL(origin)
  if (url.protocol === 'https:') return
  if (url.protocol === 'http:' && /^[a-z0-9-]+(\.[a-z0-9-]+)*\.onion$/.test(url.hostname)) return
  const why = proxies === false ? `the portal can be reached from other machines (HOST ${hostName})` : 'the portal is behind a proxy (TRUST_PROXY is set)'
  throw new ConfigError(
    'PUBLIC_ORIGIN',
    `must be an https:// address when ${why}, so that cookies are sent only over encrypted connections: set PUBLIC_ORIGIN to the address people use, such as https://disclose.example.org (an http:// .onion address also works; to try the portal on this machine alone, use HOST=127.0.0.1 without TRUST_PROXY)`,
  )
}

/**
 * One worker thread per core by default; the queue holds about two seconds of Argon2id checks
 * (25 tasks of 40-80 ms per thread), so a sign-in that waits its turn still feels quick.
 */
function workerPool(env: Env): { workerThreads: number; workQueueLimit: number } {
  const workerThreads = integer(env, 'WORKER_THREADS', Math.min(64, Math.max(1, availableParallelism())), 1, 64)
  return { workerThreads, workQueueLimit: integer(env, 'WORK_QUEUE_LIMIT', 25 * workerThreads, 1, 10000) }
}

function logLevel(env: Env): LogLevel {
  const raw = read(env, 'LOG_LEVEL') ?? 'info'
  const level = LOG_LEVELS.find((candidate) => candidate === raw.toLowerCase())
  if (level === undefined) {
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')} (got ${show(raw)})`)
  }
  return level
}

function serverSecret(env: Env): { secret: Buffer; generated: boolean } {
  const raw = read(env, 'SERVER_SECRET')
  if (raw === undefined) return { secret: randomBytes(32), generated: true }
  let secret: Buffer | undefined
  if (/^[0-9a-fA-F]+$/.test(raw) && raw.length % 2 === 0) secret = Buffer.from(raw, 'hex')
  else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(raw)) secret = Buffer.from(raw, 'base64')
  if (secret === undefined || secret.length < 32) {
    // Never echo the value: it is a secret.
    throw new ConfigError(
      'SERVER_SECRET',
      'must be at least 32 random bytes, written as hex or base64 (for example the output of: openssl rand -base64 32)',
    )
  }
  return { secret, generated: false }
}

function flag(env: Env, name: string): boolean {
  const raw = read(env, name)
  if (raw === undefined || raw === 'false' || raw === '0') return false
  if (raw === 'true' || raw === '1') return true
  throw new ConfigError(name, `must be true or false (got ${show(raw)})`)
}

function bankHolidayRegion(env: Env): BankHolidayRegion {
  const raw = read(env, 'BANK_HOLIDAYS') ?? 'england-and-wales'
  if (!isBankHolidayRegion(raw)) throw new ConfigError('BANK_HOLIDAYS', `must be england-and-wales, scotland, northern-ireland or none (got ${show(raw)})`)
  return raw
}

function quickExitUrl(env: Env): string {
  const raw = read(env, 'QUICK_EXIT_URL') ?? 'https://www.bbc.co.uk/weather'
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new ConfigError('QUICK_EXIT_URL', `must be a full web address such as https://www.bbc.co.uk/weather (got ${show(raw)})`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError('QUICK_EXIT_URL', `must be an http:// or https:// address (got ${show(raw)})`)
  }
  return url.href
}

function shortText(env: Env, name: string, most: number): string | null {
  const raw = read(env, name)?.trim()
  if (raw === undefined || raw === '') return null
  if (raw.length > most || /[\u0000-\u001f<>]/.test(raw)) throw new ConfigError(name, `must be plain text of at most ${most} characters, without < or >`)
  return raw
}

/** Where and how often "something new is waiting" emails go. They never say what, or when exactly. */
export interface AlertEmailConfig {
  /** smtp:// or smtps://, with any credentials (never logged). */
  readonly smtpUrl: string
  readonly from: string
  readonly to: readonly string[]
  /** At most one email per this many minutes: its time says only that something arrived within them. */
  readonly everyMinutes: number
}

const EMAIL = /^[^\s@<>,]+@[^\s@<>,]+\.[^\s@<>,]+$/

function alertEmail(env: Env): AlertEmailConfig | null {
  const url = read(env, 'ALERT_SMTP_URL')
  const from = read(env, 'ALERT_EMAIL_FROM')
  const to = read(env, 'ALERT_EMAIL_TO')
  if (url === undefined) {
    if (from !== undefined || to !== undefined) throw new ConfigError('ALERT_SMTP_URL', 'is needed for ALERT_EMAIL_FROM and ALERT_EMAIL_TO: the mail server that sends the alerts')
    return null
  }
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new ConfigError('ALERT_SMTP_URL', 'must be a mail server address such as smtps://user:password@mail.example.org:465')
  }
  if (parsed.protocol !== 'smtp:' && parsed.protocol !== 'smtps:') throw new ConfigError('ALERT_SMTP_URL', 'must start with smtp:// or smtps://')
  if (from === undefined || !EMAIL.test(from)) throw new ConfigError('ALERT_EMAIL_FROM', `must be the one address alerts come from (got ${show(from ?? '')})`)
  const addresses = (to ?? '').split(',').map((address) => address.trim()).filter((address) => address !== '')
  if (addresses.length === 0 || addresses.some((address) => !EMAIL.test(address))) {
    throw new ConfigError('ALERT_EMAIL_TO', `must be the IDVA service's team address (or several, separated by commas) (got ${show(to ?? '')})`)
  }
  return Object.freeze({ smtpUrl: url, from, to: Object.freeze(addresses), everyMinutes: integer(env, 'ALERT_EMAIL_MINUTES', 30, 5, 1440) })
}

function timeZone(env: Env): string {
  const raw = read(env, 'TIME_ZONE') ?? 'Europe/London'
  if (!isTimeZone(raw)) throw new ConfigError('TIME_ZONE', `must be a time zone name such as Europe/London (got ${show(raw)})`)
  return raw
}

function serviceContact(env: Env): ServiceContact | null {
  const phone = shortText(env, 'SERVICE_PHONE', 40)
  if (phone !== null && !/^\+?[0-9][0-9 ]{5,19}$/.test(phone)) {
    throw new ConfigError('SERVICE_PHONE', `must be a phone number written with digits and spaces, such as 0300 123 4567 (got ${show(phone)})`)
  }
  const hours = shortText(env, 'SERVICE_HOURS', 120)
  const meeting = shortText(env, 'SERVICE_MEETING', 240)
  if (hours !== null && phone === null) throw new ConfigError('SERVICE_HOURS', 'needs SERVICE_PHONE: they are the hours of that line')
  return phone === null && meeting === null ? null : Object.freeze({ phone, hours, meeting })
}

/** "12345 67890 …" from any spacing of the 30 digits of a fingerprint; null if it is not one. */
export function normaliseFingerprint(value: string): string | null {
  const digits = value.replace(/[\s:-]/g, '')
  if (!/^\d{30}$/.test(digits)) return null
  return digits.match(/\d{5}/g)!.join(' ')
}

function serviceKeyFingerprint(env: Env): string | null {
  const raw = read(env, 'SERVICE_KEY_FINGERPRINT')
  if (raw === undefined) return null
  const pinned = normaliseFingerprint(raw)
  if (pinned === null) {
    throw new ConfigError(
      'SERVICE_KEY_FINGERPRINT',
      `must be the IDVA service key's fingerprint as the set-up page shows it: six groups of five digits (got ${show(raw)})`,
    )
  }
  return pinned
}

/** The routing policy file: ROUTING_POLICY (relative to `cwd`), or the shipped example. */
export function routingPolicyPath(env: Env, cwd: string = process.cwd()): string {
  const raw = read(env, 'ROUTING_POLICY')
  return raw === undefined ? EXAMPLE_POLICY_PATH : resolve(cwd, raw)
}

/**
 * Reads and validates the environment. Throws ConfigError (one line, naming the variable) on the
 * first bad value; values that may be secret are never repeated in the message.
 */
export function loadConfig(env: Env, cwd: string = process.cwd()): Config {
  const hostName = host(env)
  const port = integer(env, 'PORT', 3000, 0, 65535)
  const urlHost = isIP(hostName) === 6 ? `[${hostName}]` : hostName
  const origin = publicOrigin(env, `http://${urlHost === '0.0.0.0' ? '127.0.0.1' : urlHost}:${port}`)
  const databaseUrl = postgresUrl(env, 'DATABASE_URL')
  const databaseMigrationUrl = postgresUrl(env, 'DATABASE_MIGRATION_URL')
  if (databaseMigrationUrl !== null && databaseUrl === null) {
    throw new ConfigError('DATABASE_MIGRATION_URL', 'can only be used together with DATABASE_URL')
  }
  const { secret, generated } = serverSecret(env)
  if (generated && databaseUrl !== null) {
    throw new ConfigError(
      'SERVER_SECRET',
      'is required with DATABASE_URL: every instance must share it (it seals second-factor secrets); make one with: openssl rand -base64 32',
    )
  }
  const proxies = trustProxy(env)
  requireSecureOrigin(hostName, proxies, origin)
  return Object.freeze({
    host: hostName,
    port,
    publicOrigin: origin,
    secureCookies: origin.startsWith('https:'),
    trustProxy: proxies,
    logLevel: logLevel(env),
    databaseUrl,
    databaseMigrationUrl: databaseMigrationUrl ?? databaseUrl,
    databasePoolSize: integer(env, 'DATABASE_POOL_SIZE', 10, 1, 200),
    dataDir: resolve(cwd, read(env, 'DATA_DIR') ?? 'data'),
    firstRunFile: resolve(cwd, read(env, 'FIRST_RUN_FILE') ?? (databaseUrl === null ? join(read(env, 'DATA_DIR') ?? 'data', 'first-run-links.txt') : 'first-run-links.txt')),
    serverSecret: secret,
    serverSecretGenerated: generated,
    rateLimitPerMinute: integer(env, 'RATE_LIMIT_PER_MINUTE', 120, 1, 100000),
    rateLimitMemoryCounters: integer(env, 'RATE_LIMIT_MEMORY_COUNTERS', 50000, 1, 1000000),
    ...workerPool(env),
    quickExitUrl: quickExitUrl(env),
    routingPolicyPath: routingPolicyPath(env, cwd),
    demo: flag(env, 'DEMO'),
    firstReplyTargetDays: integer(env, 'FIRST_REPLY_TARGET_DAYS', 2, 1, 30),
    consultationReplyTargetDays: integer(env, 'CONSULTATION_REPLY_TARGET_DAYS', 3, 1, 30),
    unitResponseTargetDays: integer(env, 'UNIT_RESPONSE_TARGET_DAYS', 2, 1, 30),
    bankHolidays: bankHolidayRegion(env),
    casesPerHour: integer(env, 'CASES_PER_HOUR', 200, 1, 100000),
    casesPerHourPerAddress: integer(env, 'CASES_PER_HOUR_PER_ADDRESS', 4, 1, 1000),
    casesPerHourPerNetwork: integer(env, 'CASES_PER_HOUR_PER_NETWORK', 6, 1, 1000),
    proofOfWorkBits: integer(env, 'PROOF_OF_WORK_BITS', 16, 0, 24),
    serviceKeyFingerprint: serviceKeyFingerprint(env),
    serviceContact: serviceContact(env),
    timeZone: timeZone(env),
    alertEmail: alertEmail(env),
    figuresMinimum: integer(env, 'FIGURES_MINIMUM', 5, 2, 100),
    uploadsAtOnce: integer(env, 'UPLOADS_AT_ONCE', 16, 1, 1000),
    uploadsAtOncePerAddress: integer(env, 'UPLOADS_AT_ONCE_PER_ADDRESS', 2, 1, 1000),
    uploadMegabytesPerHour: integer(env, 'UPLOAD_MB_PER_HOUR', 2048, 1, 1_000_000),
    uploadMegabytesPerHourPerAddress: integer(env, 'UPLOAD_MB_PER_HOUR_PER_ADDRESS', 256, 1, 1_000_000),
    uploadMegabytesUnclaimed: integer(env, 'UPLOAD_MB_UNCLAIMED', 4096, 1, 1_000_000),
    retention: Object.freeze({
      closedDisclosureDays: integer(env, 'RETENTION_CLOSED_DISCLOSURE_DAYS', 365, 1, 3650),
      closedConsultationDays: integer(env, 'RETENTION_CLOSED_CONSULTATION_DAYS', 90, 1, 3650),
      withdrawnRecordDays: integer(env, 'RETENTION_WITHDRAWN_RECORD_DAYS', 730, 1, 3650),
      junkDays: integer(env, 'RETENTION_JUNK_DAYS', 30, 1, 3650),
      referralPackageDays: integer(env, 'RETENTION_REFERRAL_PACKAGE_DAYS', 365, 1, 3650),
      codeAfterCloseDays: integer(env, 'CODE_AFTER_CLOSE_DAYS', 30, 0, 365),
      warningDays: integer(env, 'RETENTION_WARNING_DAYS', 30, 1, 365),
      everyHours: integer(env, 'RETENTION_EVERY_HOURS', 6, 1, 168),
      automatic: read(env, 'RETENTION_JOB') === undefined ? true : flag(env, 'RETENTION_JOB'),
    }),
  })
}
