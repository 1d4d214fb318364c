import { ByteReader, concat, equalBytes, requireBytes, u16, u32, utf8 } from './bytes.ts'
import { CryptoError, fail } from './errors.ts'
import { keySetFromSeedsWith, PUBLIC_KEY_BYTES, type EncryptionKeyPair, type KeySet, type PublicKeySet } from './keys.ts'
import { loadSodium, type Sodium } from './sodium.ts'
import { loadSodiumSumo } from './sodium-sumo.ts'
import { issueKeyCertificate } from './certificates.ts'

/**
 * Staff keys: what lets an IDVA or an investigator read, without the server ever holding a key
 * that can.
 *
 *   passphrase --Argon2id(salt, ops, mem)--> master key (32)
 *     auth verifier = crypto_kdf_derive_from_key(32, 1, "sdstaff1", master): sent at login; the
 *                     server keeps only an Argon2id hash of it
 *     key-encryption key (KEK) = crypto_kdf_derive_from_key(32, 2, "sdstaff1", master): never
 *                     leaves the browser
 *   member keys (X25519 + Ed25519) --XChaCha20-Poly1305 under the KEK--> stored on the server
 *   group keys (the IDVA service, or an investigator unit) --crypto_box_seal to each member's
 *                     X25519 key--> stored on the server
 *   rotation: a new group key; the previous one is sealed to the new one, so old cases stay
 *                     readable by whoever holds the current key; and the previous signing key
 *                     certifies the new public keys, so a client can follow the chain from the key
 *                     whose fingerprint is on the posters and refuse a key the database swapped in.
 *   certificates: the service key also certifies each investigator unit's keys.
 *
 * Blob layouts (SECURITY.md):
 *   member keys: u8 1 | nonce (24) | AEAD(x25519 private (32) || ed25519 seed (32)),
 *                AD = "sd-member-keys-v1" || u16 len || account id
 *   group key:   u8 1 | crypto_box_seal(u16 len || group id || x25519 private (32) || ed25519 seed (32))
 */

/** Argon2id parameters, stored with each account so they can be raised later. */
export interface PassphraseParams {
  readonly salt: Uint8Array
  readonly opsLimit: number
  readonly memLimit: number
}

/** Defaults: stronger than libsodium's INTERACTIVE (2 passes, 64 MiB) in passes and memory. */
export const DEFAULT_OPS_LIMIT = 3
export const DEFAULT_MEM_LIMIT = 128 * 1024 * 1024
/**
 * Floors (libsodium's INTERACTIVE) and ceilings: parameters come from the server, which must not be
 * able to weaken the derivation below the floor, nor make it take minutes or exhaust a phone's
 * memory. At the ceiling (6 passes, 256 MiB) a derivation takes a few seconds.
 */
const MIN_OPS_LIMIT = 2
const MIN_MEM_LIMIT = 64 * 1024 * 1024
const MAX_OPS_LIMIT = 6
const MAX_MEM_LIMIT = 256 * 1024 * 1024
const SALT_BYTES = 16
/**
 * A backstop only: the passphrase is all that protects a member's keys from someone holding the
 * database, so the enrolment page (staff accounts) also requires a strong one by estimating its
 * strength. Counted in characters (code points) after NFKC.
 */
export const MIN_PASSPHRASE_CHARACTERS = 12
const MAX_PASSPHRASE_BYTES = 1024

export async function newPassphraseParams(): Promise<PassphraseParams> {
  const s = await loadSodium()
  return { salt: s.randombytes_buf(SALT_BYTES), opsLimit: DEFAULT_OPS_LIMIT, memLimit: DEFAULT_MEM_LIMIT }
}

export function checkPassphraseParams(params: PassphraseParams): void {
  if (typeof params !== 'object' || params === null) fail('malformed', 'passphrase parameters are missing')
  requireBytes(params.salt, 'salt', SALT_BYTES)
  if (!Number.isInteger(params.opsLimit) || params.opsLimit < MIN_OPS_LIMIT || params.opsLimit > MAX_OPS_LIMIT) {
    fail('unsupported', `opsLimit must be from ${MIN_OPS_LIMIT} to ${MAX_OPS_LIMIT}`)
  }
  if (!Number.isInteger(params.memLimit) || params.memLimit < MIN_MEM_LIMIT || params.memLimit > MAX_MEM_LIMIT) {
    fail('unsupported', `memLimit must be from ${MIN_MEM_LIMIT} to ${MAX_MEM_LIMIT} bytes`)
  }
}

export interface StaffSecrets {
  /** Sent to the server at login (over TLS); the server stores only a hash of it. */
  readonly authVerifier: Uint8Array
  /** Unwraps the member's own keys; stays in the browser tab. */
  readonly keyEncryptionKey: Uint8Array
}

/** Argon2id of the passphrase (NFKC-normalised UTF-8), then the two subkeys. */
export async function deriveStaffSecrets(passphrase: string, params: PassphraseParams): Promise<StaffSecrets> {
  checkPassphraseParams(params)
  if (typeof passphrase !== 'string') fail('malformed', 'a passphrase is text')
  const normalised = passphrase.normalize('NFKC')
  if ([...normalised].length < MIN_PASSPHRASE_CHARACTERS) fail('malformed', `a passphrase has at least ${MIN_PASSPHRASE_CHARACTERS} characters`)
  const bytes = utf8(normalised)
  if (bytes.length > MAX_PASSPHRASE_BYTES) fail('too_large', 'passphrase is too long')
  const sumo = await loadSodiumSumo()
  const master = sumo.crypto_pwhash(32, bytes, params.salt, params.opsLimit, params.memLimit, sumo.crypto_pwhash_ALG_ARGON2ID13)
  try {
    return {
      authVerifier: sumo.crypto_kdf_derive_from_key(32, 1, 'sdstaff1', master),
      keyEncryptionKey: sumo.crypto_kdf_derive_from_key(32, 2, 'sdstaff1', master),
    }
  } finally {
    sumo.memzero(master)
    sumo.memzero(bytes)
  }
}

const MEMBER_LABEL = utf8('sd-member-keys-v1')
const BLOB_VERSION = 1
const ID = /^[A-Za-z0-9._:-]{1,128}$/

function idBytes(id: string, what: string): Uint8Array {
  if (typeof id !== 'string' || !ID.test(id)) fail('malformed', `${what} must be 1 to 128 characters from A-Z, a-z, 0-9 and . _ : -`)
  return utf8(id)
}

function secretBytes(keys: KeySet): Uint8Array {
  requireBytes(keys?.encryption?.privateKey, 'X25519 private key', 32)
  requireBytes(keys?.signing?.privateKey, 'Ed25519 private key', 64)
  return concat(keys.encryption.privateKey, keys.signing.privateKey.subarray(0, 32))
}

/** Rebuilds a key set from private material and checks it is the one expected. */
function keysFromSecret(s: Sodium, secret: Uint8Array, expected: PublicKeySet): KeySet {
  requireBytes(expected?.encryption, 'expected X25519 public key', 32)
  requireBytes(expected?.signing, 'expected Ed25519 public key', 32)
  const encryptionPrivate = secret.slice(0, 32)
  const sign = s.crypto_sign_seed_keypair(secret.subarray(32, 64))
  const keys: KeySet = {
    encryption: { publicKey: s.crypto_scalarmult_base(encryptionPrivate), privateKey: encryptionPrivate },
    signing: { publicKey: sign.publicKey, privateKey: sign.privateKey },
  }
  if (!equalBytes(keys.encryption.publicKey, expected.encryption) || !equalBytes(keys.signing.publicKey, expected.signing)) {
    fail('key_mismatch', 'the unwrapped keys are not the expected ones')
  }
  return keys
}

/** Wraps a member's own keys under their KEK, bound to their account id. */
export async function wrapMemberKeys(keys: KeySet, keyEncryptionKey: Uint8Array, accountId: string): Promise<Uint8Array> {
  const s = await loadSodium()
  requireBytes(keyEncryptionKey, 'key-encryption key', 32)
  const ad = concat(MEMBER_LABEL, u16(idBytes(accountId, 'account id').length), idBytes(accountId, 'account id'))
  const nonce = s.randombytes_buf(24)
  const secret = secretBytes(keys)
  try {
    return concat(Uint8Array.of(BLOB_VERSION), nonce, s.crypto_aead_xchacha20poly1305_ietf_encrypt(secret, ad, null, nonce, keyEncryptionKey))
  } finally {
    s.memzero(secret)
  }
}

/**
 * Unwraps a member's keys. Throws CryptoError 'decryption_failed' (wrong passphrase, wrong account,
 * or altered), 'key_mismatch' (not the keys of `expected`), 'malformed' or 'unsupported'.
 */
export async function unwrapMemberKeys(blob: Uint8Array, keyEncryptionKey: Uint8Array, accountId: string, expected: PublicKeySet): Promise<KeySet> {
  const s = await loadSodium()
  requireBytes(blob, 'wrapped member keys')
  requireBytes(keyEncryptionKey, 'key-encryption key', 32)
  const reader = new ByteReader(blob, 'wrapped member keys')
  const version = reader.u8('version')
  if (version !== BLOB_VERSION) fail('unsupported', `wrapped key version ${version} is not supported`)
  const nonce = reader.take(24, 'nonce')
  const ciphertext = reader.take(64 + 16, 'ciphertext')
  reader.end()
  const ad = concat(MEMBER_LABEL, u16(idBytes(accountId, 'account id').length), idBytes(accountId, 'account id'))
  let secret: Uint8Array
  try {
    secret = s.crypto_aead_xchacha20poly1305_ietf_decrypt(null, ciphertext, ad, nonce, keyEncryptionKey)
  } catch {
    fail('decryption_failed', 'the keys could not be unwrapped (wrong passphrase?)')
  }
  try {
    return keysFromSecret(s, secret, expected)
  } finally {
    s.memzero(secret)
  }
}

/** A new key set for a group (the IDVA service, or an investigator unit). */
export async function newGroupKeys(): Promise<KeySet> {
  const s = await loadSodium()
  const seeds = [s.randombytes_buf(32), s.randombytes_buf(32)] as const
  try {
    return keySetFromSeedsWith(s, seeds[0], seeds[1])
  } finally {
    seeds.forEach((seed) => s.memzero(seed))
  }
}

/** Seals a group's private keys to one recipient X25519 key (a member, or the group's next key). */
export async function wrapGroupKeys(groupKeys: KeySet, groupId: string, recipientPublicKey: Uint8Array): Promise<Uint8Array> {
  const s = await loadSodium()
  requireBytes(recipientPublicKey, 'recipient X25519 public key', PUBLIC_KEY_BYTES)
  const id = idBytes(groupId, 'group id')
  const secret = secretBytes(groupKeys)
  const plaintext = concat(u16(id.length), id, secret)
  try {
    return concat(Uint8Array.of(BLOB_VERSION), s.crypto_box_seal(plaintext, recipientPublicKey))
  } finally {
    s.memzero(secret)
    s.memzero(plaintext)
  }
}

/**
 * Opens a group key blob with the recipient's X25519 pair. The result must be the group named and
 * must match its published public keys (a sealed box is anonymous: this check is what stops a
 * forged group key). Throws CryptoError 'decryption_failed', 'key_mismatch', 'malformed'.
 */
export async function unwrapGroupKeys(blob: Uint8Array, recipient: EncryptionKeyPair, groupId: string, expected: PublicKeySet): Promise<KeySet> {
  const s = await loadSodium()
  requireBytes(blob, 'wrapped group keys')
  requireBytes(recipient?.publicKey, 'recipient X25519 public key', 32)
  requireBytes(recipient?.privateKey, 'recipient X25519 private key', 32)
  const reader = new ByteReader(blob, 'wrapped group keys')
  const version = reader.u8('version')
  if (version !== BLOB_VERSION) fail('unsupported', `wrapped key version ${version} is not supported`)
  const sealed = reader.rest()
  if (sealed.length > 48 + 2 + 128 + 64) fail('too_large', 'wrapped group keys are too long')
  let plaintext: Uint8Array
  try {
    plaintext = s.crypto_box_seal_open(sealed, recipient.publicKey, recipient.privateKey)
  } catch {
    fail('decryption_failed', 'the group keys could not be unwrapped with this key')
  }
  try {
    const inner = new ByteReader(plaintext, 'group keys')
    const id = inner.take(inner.u16('group id length'), 'group id')
    const secret = inner.take(64, 'private keys')
    inner.end()
    if (!equalBytes(id, idBytes(groupId, 'group id'))) fail('key_mismatch', 'these are the keys of another group')
    return keysFromSecret(s, secret, expected)
  } finally {
    s.memzero(plaintext)
  }
}

/**
 * Rotation: a new group key; the current one sealed to it so old content stays readable; and a
 * certificate of the new public keys signed by the current signing key.
 */
export async function rotateGroupKeys(
  current: KeySet,
  groupId: string,
  currentGeneration: number,
): Promise<{ next: KeySet; previous: Uint8Array; certificate: Uint8Array }> {
  const next = await newGroupKeys()
  const certificate = await issueKeyCertificate(current.signing, { id: groupId, generation: currentGeneration + 1, publicKeys: publicKeysOfSet(next) })
  return { next, previous: await wrapGroupKeys(current, groupId, next.encryption.publicKey), certificate }
}

function publicKeysOfSet(keys: KeySet): PublicKeySet {
  return { encryption: keys.encryption.publicKey, signing: keys.signing.publicKey }
}

export { issueKeyCertificate, verifyKeyCertificate, verifyKeyChain, type CertifiedKeys } from './certificates.ts'

/**
 * The whole key ring of a group, newest first: the current keys, then each earlier generation
 * unsealed from the one after it. `history` lists the earlier generations newest first, each with
 * the blob sealed to the generation after it and its published public keys.
 */
export async function unwrapKeyRing(
  current: KeySet,
  groupId: string,
  history: readonly { readonly blob: Uint8Array; readonly publicKeys: PublicKeySet }[],
): Promise<KeySet[]> {
  const ring: KeySet[] = [current]
  for (const generation of history) {
    try {
      ring.push(await unwrapGroupKeys(generation.blob, ring[ring.length - 1]!.encryption, groupId, generation.publicKeys))
    } catch (error) {
      if (error instanceof CryptoError) throw error
      throw new CryptoError('decryption_failed', 'a previous group key could not be unwrapped')
    }
  }
  return ring
}
