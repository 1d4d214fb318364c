import { randomBytes } from 'node:crypto'
import type { Transaction } from 'kysely'
import type { Schema } from '../../db/schema.ts'
import { HttpError } from '../../errors.ts'
import { sha256 } from '../../security/tokens.ts'
import type { ServerKeys } from '../../security/server-keys.ts'
import { bytes, integer, object, text, username as readUsername } from '../../http/input.ts'
import { insertRecoveryCodes } from './repository.ts'
import { base32, newTotpSecret, otpauthUri, verifyTotp } from './totp.ts'

/**
 * What every new account sends: the passphrase parameters and verifier, the member's public keys and
 * their private keys wrapped in the browser, and the first code from their authenticator (proof the
 * second factor was set up). The TOTP secret travels in a sealed "ticket" made when the page was
 * shown, so nothing is stored until the enrolment succeeds.
 */

export const RECOVERY_CODE_COUNT = 10
const RECOVERY_ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789'
const TICKET_LIFETIME_MS = 60 * 60 * 1000

export interface TicketPurpose {
  readonly kind: 'setup' | 'enrol' | 'second-factor'
  /** What the ticket is bound to: a setup or invitation token hash (hex), or an account id. */
  readonly bound: string
}

export interface Ticket {
  /** Sealed, for the page to send back. */
  readonly ticket: string
  /** The new account's id, chosen now: the browser binds the wrapped member keys to it. */
  readonly accountId: string
  /** The TOTP secret in base32 and as an otpauth: URI, for the authenticator app. */
  readonly secret: string
  readonly uri: string
}

export function newAccountId(): string {
  return `acct-${randomBytes(12).toString('base64url')}`
}

/** `accountId`: the account the ticket is for; a new id when it is for a new account. */
export async function issueTicket(keys: ServerKeys, purpose: TicketPurpose, name: string, accountId: string = newAccountId()): Promise<Ticket> {
  const secret = newTotpSecret()
  const payload = Buffer.from(JSON.stringify({ secret: secret.toString('base64'), accountId, expires: Date.now() + TICKET_LIFETIME_MS }))
  const sealed = await keys.seal(payload, `ticket:${purpose.kind}:${purpose.bound}`)
  return { ticket: sealed.toString('base64url'), accountId, secret: base32(secret), uri: otpauthUri(name, secret) }
}

/** The TOTP secret and account id in a ticket, if it is genuine, for this purpose, and not expired. */
export async function openTicket(keys: ServerKeys, purpose: TicketPurpose, ticket: Buffer): Promise<{ secret: Buffer; accountId: string }> {
  const opened = await keys.open(ticket, `ticket:${purpose.kind}:${purpose.bound}`)
  if (opened === null) throw new HttpError(400, 'This page has expired or was changed. Please reload it and start again.')
  const { secret, accountId, expires } = JSON.parse(opened.toString('utf8')) as { secret: string; accountId: string; expires: number }
  if (expires < Date.now()) throw new HttpError(400, 'This page has expired. Please reload it and start again.')
  return { secret: Buffer.from(secret, 'base64'), accountId }
}

export function newRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const raw = randomBytes(12)
    const chars = [...raw].map((byte) => RECOVERY_ALPHABET[byte % 32]).join('')
    return `${chars.slice(0, 4)}-${chars.slice(4, 8)}-${chars.slice(8, 12)}`
  })
}

/** Recovery codes as typed: case, spaces and hyphens do not matter. */
export function normaliseRecoveryCode(code: string): string | null {
  const plain = code.toLowerCase().replace(/[\s-]+/g, '')
  return /^[a-z2-9]{12}$/.test(plain) ? plain : null
}

export interface PassphraseRecord {
  readonly passphrase_salt: Buffer
  readonly passphrase_ops: number
  readonly passphrase_mem: number
  readonly verifier_hash: string
}

/** What hashes a verifier for storing: the worker pool (server/workers/heavy-work.ts). */
export interface VerifierHasher {
  hashVerifier(verifier: Uint8Array): Promise<string>
}

/**
 * Passphrase parameters and verifier, checked and hashed. Call it before any transaction: the
 * hash waits its turn for a worker, and should not hold a database connection while it does.
 */
export async function readPassphrase(input: Record<string, unknown>, hasher: VerifierHasher, field = 'passphrase', verifierField = 'verifier'): Promise<PassphraseRecord> {
  const params = object(input, field)
  return {
    passphrase_salt: bytes(params, 'salt', { length: 16 }),
    passphrase_ops: integer(params, 'opsLimit', 2, 6),
    passphrase_mem: integer(params, 'memLimit', 64 * 1024 * 1024, 256 * 1024 * 1024),
    verifier_hash: await hasher.hashVerifier(bytes(input, verifierField, { length: 32 })),
  }
}

export interface MemberRecord {
  readonly x25519_public: Buffer
  readonly ed25519_public: Buffer
  readonly member_keys_wrapped: Buffer
}

export function readMember(input: Record<string, unknown>): MemberRecord {
  const member = object(input, 'member')
  return {
    x25519_public: bytes(member, 'x25519Public', { length: 32 }),
    ed25519_public: bytes(member, 'ed25519Public', { length: 32 }),
    member_keys_wrapped: bytes(member, 'wrappedKeys', { max: 255 }),
  }
}

export function readPublicKeys(input: Record<string, unknown>, field: string): { x25519_public: Buffer; ed25519_public: Buffer } {
  const keys = object(input, field)
  return { x25519_public: bytes(keys, 'x25519Public', { length: 32 }), ed25519_public: bytes(keys, 'ed25519Public', { length: 32 }) }
}

/**
 * Creates the account inside `trx`, with `passphrase` (from readPassphrase), after checking the
 * first authenticator code against the ticket's secret. Returns the recovery codes to show once.
 */
export async function createAccount(
  trx: Transaction<Schema>,
  keys: ServerKeys,
  input: Record<string, unknown>,
  passphrase: PassphraseRecord,
  purpose: TicketPurpose,
  role: Schema['accounts']['role'],
  groupId: string | null,
): Promise<{ accountId: string; username: string; recoveryCodes: string[] }> {
  const name = readUsername(input)
  const member = readMember(input)
  const { secret, accountId } = await openTicket(keys, purpose, bytes(input, 'ticket', { max: 512 }))
  const step = verifyTotp(secret, text(input, 'code', { min: 6, max: 12 }), Date.now(), 0)
  if (step === null) throw new HttpError(400, 'That code from your authenticator app is not right. Check the app shows "Safe Disclosure" and try the code it shows now.')
  const taken = await trx.selectFrom('accounts').select('id').where('username', '=', name).executeTakeFirst()
  if (taken !== undefined) throw new HttpError(409, 'That user name is taken. Please choose another.')
  // A ticket makes one account: sent twice (say, from two tabs), the second finds the id taken.
  if ((await trx.selectFrom('accounts').select('id').where('id', '=', accountId).executeTakeFirst()) !== undefined) {
    throw new HttpError(409, 'This account has already been created. Sign in instead.')
  }
  await trx
    .insertInto('accounts')
    .values({
      id: accountId,
      username: name,
      role,
      group_id: groupId,
      ...passphrase,
      ...member,
      totp_secret_sealed: await keys.seal(secret, `totp:${accountId}`),
      totp_last_step: step,
    })
    .execute()
  const recoveryCodes = newRecoveryCodes()
  await insertRecoveryCodes(
    trx,
    accountId,
    recoveryCodes.map((code) => sha256(normaliseRecoveryCode(code)!)),
  )
  return { accountId, username: name, recoveryCodes }
}
