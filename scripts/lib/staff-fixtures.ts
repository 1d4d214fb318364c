import type { Kysely } from 'kysely'
import { randomBytes } from 'node:crypto'
import { generateKeySet, type KeySet } from '../../crypto/keys.ts'
import { deriveStaffSecrets, issueKeyCertificate, newGroupKeys, wrapGroupKeys, wrapMemberKeys, type StaffSecrets } from '../../crypto/staff-keys.ts'
import type { Role, Schema } from '../../server/db/schema.ts'
import { newAccountId, newRecoveryCodes, normaliseRecoveryCode } from '../../server/features/staff/enrolment.ts'
import { IDVA_SERVICE_ID, insertRecoveryCodes } from '../../server/features/staff/repository.ts'
import { hashVerifier, ServerKeys } from '../../server/security/server-keys.ts'
import { newTotpSecret } from '../../server/features/staff/totp.ts'
import { sha256 } from '../../server/security/tokens.ts'

/**
 * Staff, teams and keys written straight into the database, doing in Node what members' browsers
 * do at set-up and enrolment. For the demo and the tests only: on a real portal every private key
 * is made in a member's browser, and the server never sees one.
 */

/** libsodium's interactive Argon2id floor: quick enough for tests and the demo. */
export const QUICK_PASSPHRASE_PARAMS = { opsLimit: 2, memLimit: 64 * 1024 * 1024 } as const

export interface SeededGroup {
  readonly id: string
  readonly generation: number
  readonly keys: KeySet
}

export interface SeededStaff {
  readonly id: string
  readonly username: string
  readonly role: Role
  readonly groupId: string | null
  readonly passphrase: string
  readonly secrets: StaffSecrets
  readonly keys: KeySet
  readonly totpSecret: Buffer
  readonly recoveryCodes: readonly string[]
}

type Db = Kysely<Schema>

/**
 * The IDVA service and its first key. A portal trusts that key only if its fingerprint is pinned
 * in the configuration (SERVICE_KEY_FINGERPRINT, or DATA_DIR/service-key-fingerprint): pass the
 * `keys` whose fingerprint the test or demo pinned.
 */
export async function seedService(db: Db, options: { name?: string; force?: string; keys?: KeySet } = {}): Promise<SeededGroup> {
  const { name = 'Independent Domestic Abuse Service', force = 'Metropolitan Police Service' } = options
  const keys = options.keys ?? (await newGroupKeys())
  await db.insertInto('groups').values({ id: IDVA_SERVICE_ID, kind: 'idva_service', track: null, force, name, disabled_at: null, rotation_recommended_at: null }).execute()
  await insertGeneration(db, IDVA_SERVICE_ID, keys)
  return { id: IDVA_SERVICE_ID, generation: 1, keys }
}

/** An investigator unit; with `keys`, its first generation too (as its first member makes it). */
export async function seedUnit(db: Db, unit: { id: string; track: 'criminal' | 'misconduct'; force: string; name: string }, withKeys = true): Promise<SeededGroup | null> {
  await db.insertInto('groups').values({ ...unit, kind: 'investigator_unit', disabled_at: null, rotation_recommended_at: null }).execute()
  if (!withKeys) return null
  const keys = await newGroupKeys()
  await insertGeneration(db, unit.id, keys)
  return { id: unit.id, generation: 1, keys }
}

async function insertGeneration(db: Db, groupId: string, keys: KeySet): Promise<void> {
  await db
    .insertInto('group_keys')
    .values({
      group_id: groupId,
      generation: 1,
      x25519_public: Buffer.from(keys.encryption.publicKey),
      ed25519_public: Buffer.from(keys.signing.publicKey),
      rotation_certificate: null,
      previous_keys_sealed: null,
      service_certificate: null,
      service_generation: null,
      created_by: null,
    })
    .execute()
}

export async function seedAccount(
  db: Db,
  serverSecret: Buffer,
  account: { username: string; role: Role; groupId?: string | null; passphrase?: string; status?: 'active' | 'disabled' },
): Promise<SeededStaff> {
  const id = newAccountId()
  const passphrase = account.passphrase ?? `${randomBytes(12).toString('base64url')} staff passphrase`
  const salt = randomBytes(16)
  const secrets = await deriveStaffSecrets(passphrase, { salt, ...QUICK_PASSPHRASE_PARAMS })
  const keys = await generateKeySet()
  const totpSecret = newTotpSecret()
  const recoveryCodes = newRecoveryCodes()
  await db
    .insertInto('accounts')
    .values({
      id,
      username: account.username,
      role: account.role,
      group_id: account.groupId ?? null,
      status: account.status ?? 'active',
      passphrase_salt: salt,
      passphrase_ops: QUICK_PASSPHRASE_PARAMS.opsLimit,
      passphrase_mem: QUICK_PASSPHRASE_PARAMS.memLimit,
      verifier_hash: await hashVerifier(secrets.authVerifier),
      x25519_public: Buffer.from(keys.encryption.publicKey),
      ed25519_public: Buffer.from(keys.signing.publicKey),
      member_keys_wrapped: Buffer.from(await wrapMemberKeys(keys, secrets.keyEncryptionKey, id)),
      totp_secret_sealed: await new ServerKeys(serverSecret).seal(totpSecret, `totp:${id}`),
      totp_last_step: 0,
    })
    .execute()
  await insertRecoveryCodes(db, id, recoveryCodes.map((code) => sha256(normaliseRecoveryCode(code)!)))
  return { id, username: account.username, role: account.role, groupId: account.groupId ?? null, passphrase, secrets, keys, totpSecret, recoveryCodes }
}

/** Gives `member` the group's keys (as a colleague's browser does). */
export async function seedGrant(db: Db, member: SeededStaff, group: SeededGroup, grantedBy: string | null = null): Promise<void> {
  await db
    .insertInto('group_key_grants')
    .values({ account_id: member.id, group_id: group.id, generation: group.generation, wrapped: Buffer.from(await wrapGroupKeys(group.keys, group.id, member.keys.encryption.publicKey)), granted_by: grantedBy })
    .execute()
}

/** The IDVA service vouches for a unit's key (as its lead's browser does). */
export async function seedUnitCertificate(db: Db, unit: SeededGroup, service: SeededGroup): Promise<void> {
  const certificate = await issueKeyCertificate(service.keys.signing, { id: unit.id, generation: unit.generation, publicKeys: { encryption: unit.keys.encryption.publicKey, signing: unit.keys.signing.publicKey } })
  await db
    .updateTable('group_keys')
    .set({ service_certificate: Buffer.from(certificate), service_generation: service.generation })
    .where('group_id', '=', unit.id)
    .where('generation', '=', unit.generation)
    .execute()
}
