import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import { randomBytes } from 'node:crypto'
import { base64url } from '../../crypto/bytes.ts'
import { generateKeySet, type KeySet } from '../../crypto/keys.ts'
import { deriveStaffSecrets, wrapMemberKeys, type StaffSecrets } from '../../crypto/staff-keys.ts'
import { base32Decode, stepAt, totpCode } from '../../server/features/staff/totp.ts'
import { sha256 } from '../../server/security/tokens.ts'
import { QUICK_PASSPHRASE_PARAMS, type SeededStaff } from '../../scripts/lib/staff-fixtures.ts'

/** Signing staff in for tests: directly (a session row), or through the real login. */

export interface StaffClient {
  readonly cookie: string
  readonly csrf: string
}

export function cookieName(app: FastifyInstance): string {
  return app.config.secureCookies ? '__Host-sd_session' : 'sd_session'
}

/** A session made directly in the database, as the login would make it. */
export async function sessionFor(app: FastifyInstance, staff: { id: string }, stage: 'full' | 'second_factor_enrolment' = 'full'): Promise<StaffClient> {
  const token = randomBytes(32).toString('base64url')
  const csrf = randomBytes(32).toString('base64url')
  await app.database.db
    .insertInto('sessions')
    .values({ token_hash: sha256(token), account_id: staff.id, stage, csrf_token: csrf, expires_at: new Date(Date.now() + 8 * 3600_000) })
    .execute()
  return { cookie: `${cookieName(app)}=${token}`, csrf }
}

/** The session cookie a response set (name=value), or null; '' when it was cleared. */
export function sessionCookie(app: FastifyInstance, response: LightMyRequestResponse): string | null {
  const cookies = [response.headers['set-cookie'] ?? []].flat()
  const ours = cookies.find((cookie) => cookie.startsWith(`${cookieName(app)}=`))
  if (ours === undefined) return null
  const value = ours.split(';')[0]!
  return value.endsWith('=') ? '' : value
}

/** The CSRF token of a page (its meta tag). */
export function csrfOf(html: string): string {
  const match = /<meta name="csrf-token" content="([^"]+)"/.exec(html)
  if (match === null) throw new Error('the page has no CSRF token')
  return match[1]!
}

export function codeAt(secret: Uint8Array, stepOffset = 0, now = Date.now()): string {
  return totpCode(secret, stepAt(now) + stepOffset)
}

/**
 * A request as a signed-in member: their cookie and, for changes, their CSRF token. Each comes
 * from a fresh made-up address (unless one is given), so many requests do not meet rate limits.
 */
export function asStaff(app: FastifyInstance, client: StaffClient | null, options: InjectOptions): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = { ...(options.headers as Record<string, string> | undefined) }
  if (client !== null) {
    headers.cookie = client.cookie
    if (options.method !== undefined && options.method !== 'GET' && headers['x-csrf-token'] === undefined) headers['x-csrf-token'] = client.csrf
  }
  return app.inject({ remoteAddress: freshAddress(), ...options, headers })
}

/** The real login, as the browser does it: parameters, Argon2id, verifier and code. */
export async function login(
  app: FastifyInstance,
  staff: Pick<SeededStaff, 'username' | 'passphrase'>,
  code: string,
  options: { remoteAddress?: string; cookie?: string } = {},
): Promise<LightMyRequestResponse> {
  const remoteAddress = options.remoteAddress ?? '127.0.0.1'
  const params = await app.inject({ method: 'POST', url: '/staff/login/params', payload: { username: staff.username }, remoteAddress })
  const { salt, opsLimit, memLimit } = params.json() as { salt: string; opsLimit: number; memLimit: number }
  const secrets = await deriveStaffSecrets(staff.passphrase, { salt: base64url.decode(salt, 'salt'), opsLimit, memLimit })
  return app.inject({
    method: 'POST',
    url: '/staff/login',
    payload: { username: staff.username, verifier: base64url.encode(secrets.authVerifier), code },
    remoteAddress,
    ...(options.cookie === undefined ? {} : { headers: { cookie: options.cookie } }),
  })
}

/** A fresh made-up client address, so one test's rate limits do not touch another's. */
export function freshAddress(): string {
  const bytes = randomBytes(3)
  return `10.${bytes[0]}.${bytes[1]}.${bytes[2]! | 1}`
}

/** What a set-up or enrolment page gives its script: the ticket, the account id, the TOTP key. */
export interface EnrolmentPage {
  readonly ticket: string
  readonly accountId: string
  readonly groupId: string
  readonly createsGroupKeys: boolean
  readonly totpSecret: Buffer
}

export function readEnrolmentPage(html: string): EnrolmentPage {
  const attribute = (name: string) => new RegExp(`${name}="([^"]*)"`).exec(html)?.[1] ?? ''
  const secret = /<code class="totp-secret">([A-Z2-7]+)<\/code>/.exec(html)?.[1]
  if (secret === undefined) throw new Error('the page shows no TOTP key')
  return {
    ticket: attribute('data-ticket'),
    accountId: attribute('data-account-id'),
    groupId: attribute('data-group-id'),
    createsGroupKeys: attribute('data-creates-group-keys') === 'true',
    totpSecret: base32Decode(secret),
  }
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url')

/**
 * What a set-up or enrolment page's script sends for a new member (without the page-specific
 * fields): new keys wrapped under the passphrase, the verifier, and the first code.
 */
export async function newMemberBody(page: EnrolmentPage, username: string, passphrase: string): Promise<{ keys: KeySet; secrets: StaffSecrets; body: Record<string, unknown> }> {
  const salt = randomBytes(16)
  const secrets = await deriveStaffSecrets(passphrase, { salt, ...QUICK_PASSPHRASE_PARAMS })
  const keys = await generateKeySet()
  const wrapped = await wrapMemberKeys(keys, secrets.keyEncryptionKey, page.accountId)
  return {
    keys,
    secrets,
    body: {
      username,
      passphrase: { salt: b64(salt), ...QUICK_PASSPHRASE_PARAMS },
      verifier: b64(secrets.authVerifier),
      member: { x25519Public: b64(keys.encryption.publicKey), ed25519Public: b64(keys.signing.publicKey), wrappedKeys: b64(wrapped) },
      ticket: page.ticket,
      code: codeAt(page.totpSecret),
    },
  }
}

export { b64 }

export { base32Decode }
