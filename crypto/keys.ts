import { base64, concat, equalBytes, requireBytes, utf8 } from './bytes.ts'
import { fail } from './errors.ts'
import { loadSodium, type Sodium } from './sodium.ts'

/**
 * Key pairs and key ids.
 *
 * Every party (the IDVA service, each staff member, each investigator unit, each reporter case)
 * has an X25519 pair for encryption and an Ed25519 pair for signing. A key id is
 * BLAKE2b-128("sd-key-id-v1" || type || public key), type 0x01 for X25519 and 0x02 for Ed25519:
 * derived, never chosen, so an id always names exactly one key.
 */

export const PUBLIC_KEY_BYTES = 32
export const KEY_ID_BYTES = 16

export interface EncryptionKeyPair {
  /** X25519, 32 bytes. */
  readonly publicKey: Uint8Array
  /** X25519, 32 bytes. */
  readonly privateKey: Uint8Array
}

export interface SigningKeyPair {
  /** Ed25519, 32 bytes. */
  readonly publicKey: Uint8Array
  /** Ed25519 secret key as libsodium holds it: seed (32) || public key (32). */
  readonly privateKey: Uint8Array
}

export interface KeySet {
  readonly encryption: EncryptionKeyPair
  readonly signing: SigningKeyPair
}

export interface PublicKeySet {
  readonly encryption: Uint8Array
  readonly signing: Uint8Array
}

export type KeyType = 'x25519' | 'ed25519'

const KEY_TYPE_BYTE: Record<KeyType, number> = { x25519: 0x01, ed25519: 0x02 }

export function keyIdWith(s: Sodium, type: KeyType, publicKey: Uint8Array): Uint8Array {
  requireBytes(publicKey, `${type} public key`, PUBLIC_KEY_BYTES)
  if (typeof type !== 'string' || !Object.hasOwn(KEY_TYPE_BYTE, type)) fail('unsupported', 'unknown key type')
  return s.crypto_generichash(KEY_ID_BYTES, concat(utf8('sd-key-id-v1'), Uint8Array.of(KEY_TYPE_BYTE[type]), publicKey), null)
}

export async function keyId(type: KeyType, publicKey: Uint8Array): Promise<Uint8Array> {
  return keyIdWith(await loadSodium(), type, publicKey)
}

export async function generateKeySet(): Promise<KeySet> {
  const s = await loadSodium()
  const box = s.crypto_box_keypair()
  const sign = s.crypto_sign_keypair()
  return {
    encryption: { publicKey: box.publicKey, privateKey: box.privateKey },
    signing: { publicKey: sign.publicKey, privateKey: sign.privateKey },
  }
}

/** Deterministic key pairs from two 32-byte seeds (case codes derive theirs this way). */
export function keySetFromSeedsWith(s: Sodium, encryptionSeed: Uint8Array, signingSeed: Uint8Array): KeySet {
  requireBytes(encryptionSeed, 'encryption seed', 32)
  requireBytes(signingSeed, 'signing seed', 32)
  const box = s.crypto_box_seed_keypair(encryptionSeed)
  const sign = s.crypto_sign_seed_keypair(signingSeed)
  return {
    encryption: { publicKey: box.publicKey, privateKey: box.privateKey },
    signing: { publicKey: sign.publicKey, privateKey: sign.privateKey },
  }
}

export function publicKeysOf(keys: KeySet): PublicKeySet {
  return { encryption: keys.encryption.publicKey, signing: keys.signing.publicKey }
}

function checkPublicKey(key: Uint8Array, what: string): void {
  requireBytes(key, what, PUBLIC_KEY_BYTES)
  if (key.every((byte) => byte === 0)) fail('malformed', `${what} is all zeros`)
}

/**
 * Key files (the envelope CLI and operators): standard base64 of
 *   public: 0x01 || X25519 public (32) || Ed25519 public (32)              65 bytes
 *   secret: 0x81 || X25519 private (32) || Ed25519 seed (32)                65 bytes
 * A secret key file determines the public one; both are checked on reading.
 */
const PUBLIC_FILE_VERSION = 0x01
const SECRET_FILE_VERSION = 0x81

export function encodePublicKeySet(keys: PublicKeySet): string {
  checkPublicKey(keys.encryption, 'X25519 public key')
  checkPublicKey(keys.signing, 'Ed25519 public key')
  return base64.encode(concat(Uint8Array.of(PUBLIC_FILE_VERSION), keys.encryption, keys.signing))
}

export function decodePublicKeySet(text: string): PublicKeySet {
  const bytes = base64.decode(text, 'public key', 1024)
  if (bytes.length !== 65) fail('malformed', 'a public key file holds 65 bytes')
  if (bytes[0] !== PUBLIC_FILE_VERSION) fail('unsupported', `unknown public key format ${bytes[0]}`)
  const keys = { encryption: bytes.slice(1, 33), signing: bytes.slice(33, 65) }
  checkPublicKey(keys.encryption, 'X25519 public key')
  checkPublicKey(keys.signing, 'Ed25519 public key')
  return keys
}

export async function encodeSecretKeySet(keys: KeySet): Promise<string> {
  const s = await loadSodium()
  requireBytes(keys?.encryption?.privateKey, 'X25519 private key', 32)
  requireBytes(keys?.encryption?.publicKey, 'X25519 public key', 32)
  requireBytes(keys?.signing?.privateKey, 'Ed25519 private key', 64)
  // The file must reproduce the same keys when read back.
  if (!equalBytes(s.crypto_scalarmult_base(keys.encryption.privateKey), keys.encryption.publicKey)) {
    fail('key_mismatch', 'X25519 private key does not match its public key')
  }
  const seed = keys.signing.privateKey.slice(0, 32)
  return base64.encode(concat(Uint8Array.of(SECRET_FILE_VERSION), keys.encryption.privateKey, seed))
}

export async function decodeSecretKeySet(text: string): Promise<KeySet> {
  const s = await loadSodium()
  const bytes = base64.decode(text, 'secret key', 1024)
  if (bytes.length !== 65) fail('malformed', 'a secret key file holds 65 bytes')
  if (bytes[0] !== SECRET_FILE_VERSION) fail('unsupported', `unknown secret key format ${bytes[0]}`)
  const privateKey = bytes.slice(1, 33)
  const seed = bytes.slice(33, 65)
  if (privateKey.every((byte) => byte === 0)) fail('malformed', 'X25519 private key is all zeros')
  if (seed.every((byte) => byte === 0)) fail('malformed', 'Ed25519 seed is all zeros')
  const sign = s.crypto_sign_seed_keypair(seed)
  return {
    encryption: { publicKey: s.crypto_scalarmult_base(privateKey), privateKey },
    signing: { publicKey: sign.publicKey, privateKey: sign.privateKey },
  }
}
