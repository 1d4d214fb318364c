import { base64url } from '../../crypto/bytes.ts'
import { CryptoError } from '../../crypto/errors.ts'
import { fingerprint } from '../../crypto/fingerprint.ts'
import { generateKeySet, publicKeysOf, type KeySet, type PublicKeySet } from '../../crypto/keys.ts'
import {
  deriveStaffSecrets,
  newPassphraseParams,
  unwrapGroupKeys,
  unwrapKeyRing,
  unwrapMemberKeys,
  verifyKeyChain,
  wrapMemberKeys,
  type PassphraseParams,
  type StaffSecrets,
} from '../../crypto/staff-keys.ts'
import { getJson } from './http.ts'
import { saveKeys, type GroupKeyRing, type Keystore } from './keystore.ts'
import { Problem } from '../ui.ts'
import { servicePin } from '../service-pin.ts'

/** The IDVA service's group id (server/features/staff/repository.ts). */
const IDVA_SERVICE_ID = 'idva-service'

/**
 * What the staff pages do with keys, in the browser only: derive the verifier and key-encryption
 * key from a passphrase, make and wrap a member's keys, and unlock them (with the group's key ring)
 * from what GET /staff/keys returns. The server sees public keys, wrapped blobs and the verifier.
 */

export const b64 = (bytes: Uint8Array): string => base64url.encode(bytes)

export interface WirePassphrase {
  readonly salt: string
  readonly opsLimit: number
  readonly memLimit: number
}

export function fromWire(params: WirePassphrase): PassphraseParams {
  return { salt: base64url.decode(params.salt, 'salt', 64), opsLimit: params.opsLimit, memLimit: params.memLimit }
}

export function toWire(params: PassphraseParams): WirePassphrase {
  return { salt: b64(params.salt), opsLimit: params.opsLimit, memLimit: params.memLimit }
}

export function wirePublicKeys(keys: PublicKeySet): { x25519Public: string; ed25519Public: string } {
  return { x25519Public: b64(keys.encryption), ed25519Public: b64(keys.signing) }
}

/** A member's new keys under a new passphrase: what enrolment and set-up send. */
export interface NewMember {
  readonly keys: KeySet
  readonly secrets: StaffSecrets
  readonly wire: {
    readonly passphrase: WirePassphrase
    readonly verifier: string
    readonly member: { readonly x25519Public: string; readonly ed25519Public: string; readonly wrappedKeys: string }
  }
}

/** Wraps `keys` (new ones if not given) under a new passphrase, bound to the account id. */
export async function wrapUnderNewPassphrase(passphrase: string, accountId: string, keys?: KeySet): Promise<NewMember> {
  const params = await newPassphraseParams()
  const secrets = await deriveStaffSecrets(passphrase, params)
  const member = keys ?? (await generateKeySet())
  const wrapped = await wrapMemberKeys(member, secrets.keyEncryptionKey, accountId)
  return {
    keys: member,
    secrets,
    wire: { passphrase: toWire(params), verifier: b64(secrets.authVerifier), member: { ...wirePublicKeys(publicKeysOf(member)), wrappedKeys: b64(wrapped) } },
  }
}

/** GET /staff/keys: everything public or wrapped that unlocking needs. */
export interface KeyMaterial {
  readonly accountId: string
  readonly username: string
  readonly role: string
  readonly passphrase: WirePassphrase
  readonly member: { readonly x25519Public: string; readonly ed25519Public: string; readonly wrappedKeys: string }
  readonly group: {
    readonly id: string
    readonly generations: readonly {
      readonly generation: number
      readonly x25519Public: string
      readonly ed25519Public: string
      readonly certificate: string | null
      readonly previousKeysSealed: string | null
    }[]
    readonly grant: { readonly generation: number; readonly wrapped: string } | null
  } | null
}

export const fetchKeyMaterial = (): Promise<KeyMaterial> => getJson<KeyMaterial>('/staff/keys')

function publicKeysFrom(wire: { x25519Public: string; ed25519Public: string }): PublicKeySet {
  return { encryption: base64url.decode(wire.x25519Public, 'X25519 public key', 32), signing: base64url.decode(wire.ed25519Public, 'Ed25519 public key', 32) }
}

/**
 * Unlocks the member's keys with secrets derived from their passphrase, then the group's keys (see
 * unlockGroup), and saves them in this tab. A wrong passphrase is a Problem with a plain message.
 */
export async function unlock(material: KeyMaterial, secrets: StaffSecrets): Promise<Keystore> {
  let member: KeySet
  try {
    member = await unwrapMemberKeys(base64url.decode(material.member.wrappedKeys, 'wrapped keys', 512), secrets.keyEncryptionKey, material.accountId, publicKeysFrom(material.member))
  } catch (error) {
    if (error instanceof CryptoError && error.code === 'decryption_failed') throw new Problem('That passphrase is not right. Check it and try again.')
    throw error
  }
  const store: Keystore = { accountId: material.accountId, member, group: await unlockGroup(material, member) }
  await saveKeys(store)
  return store
}

/**
 * The group's keys the member was granted, and every earlier generation, after checking the group's
 * chain of certificates from its first key. Null when the member has no grant yet.
 */
export async function unlockGroup(material: KeyMaterial, member: KeySet): Promise<GroupKeyRing | null> {
  const info = material.group
  if (info === null || info.grant === null || info.generations.length === 0) return null
  const generations = [...info.generations].sort((a, b) => a.generation - b.generation)
  // The IDVA service's first key must be the one pinned in the portal's configuration: a key an
  // insider put in the database would otherwise be unlocked, used and vouched for here.
  if (info.id === IDVA_SERVICE_ID && (await fingerprint(publicKeysFrom(generations[0]!))) !== servicePin()) {
    throw new Problem(
      "The IDVA service's key in the portal's database does not match the one pinned in its configuration, so your keys were not unlocked. Tell the IDVA lead and the portal's administrator: the database may have been changed.",
    )
  }
  // The chain from the first generation: each later key certified by the one before it.
  await verifyKeyChain(
    info.id,
    publicKeysFrom(generations[0]!),
    generations.slice(1).map((entry) => ({ publicKeys: publicKeysFrom(entry), certificate: base64url.decode(entry.certificate ?? '', 'certificate', 64) })),
  )
  const grant = info.grant
  const held = generations.find((entry) => entry.generation === grant.generation)
  if (held === undefined) throw new Problem('Your access to the team\'s keys could not be found. Ask a colleague to give you access again.')
  const current = await unwrapGroupKeys(base64url.decode(grant.wrapped, 'grant', 512), member.encryption, info.id, publicKeysFrom(held))
  const history = generations
    .filter((entry) => entry.generation < grant.generation)
    .reverse()
    .map((entry) => {
      const next = generations.find((candidate) => candidate.generation === entry.generation + 1)!
      return { blob: base64url.decode(next.previousKeysSealed ?? '', 'previous keys', 512), publicKeys: publicKeysFrom(entry) }
    })
  const ring = await unwrapKeyRing(current, info.id, history)
  return { id: info.id, generations: ring.map((keys, index) => ({ generation: grant.generation - index, keys })) }
}

/**
 * Brings this tab's group keys up to date with the member's own key (no passphrase needed): after
 * a colleague gave access or rotated the key since the tab unlocked.
 */
export async function refreshGroup(store: Keystore): Promise<Keystore> {
  const material = await fetchKeyMaterial()
  const newest = store.group?.generations[0]?.generation ?? null
  if ((material.group?.grant?.generation ?? null) === newest) return store
  const refreshed: Keystore = { ...store, group: await unlockGroup(material, store.member) }
  await saveKeys(refreshed)
  return refreshed
}

/** Derives the secrets for this account's passphrase (its stored parameters) and unlocks. */
export async function unlockWithPassphrase(passphrase: string): Promise<Keystore> {
  const material = await fetchKeyMaterial()
  const secrets = await deriveStaffSecrets(passphrase, fromWire(material.passphrase))
  return unlock(material, secrets)
}

export async function fingerprintOf(x25519: string, ed25519: string): Promise<string> {
  return fingerprint(publicKeysFrom({ x25519Public: x25519, ed25519Public: ed25519 }))
}

export { publicKeysFrom }
