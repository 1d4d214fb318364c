import { concat, requireBytes, u16, u32, utf8 } from './bytes.ts'
import { fail } from './errors.ts'
import type { KeySet, PublicKeySet } from './keys.ts'
import { loadSodium } from './sodium.ts'

/**
 * Key certificates and rotation chains, on libsodium's standard build: reporters' browsers follow
 * the IDVA service's chain from its published first generation without loading the sumo build
 * (staff-keys.ts re-exports these for staff pages).
 */

const ID = /^[A-Za-z0-9._:-]{1,128}$/

function idBytes(id: string, what: string): Uint8Array {
  if (typeof id !== 'string' || !ID.test(id)) fail('malformed', `${what} must be 1 to 128 characters from A-Z, a-z, 0-9 and . _ : -`)
  return utf8(id)
}

/** What a key certificate says: "these are the public keys of <id>, generation <n>". */
export interface CertifiedKeys {
  readonly id: string
  readonly generation: number
  readonly publicKeys: PublicKeySet
}

const CERTIFICATE_LABEL = utf8('sd-key-certificate-v1')

function certificateMessage(subject: CertifiedKeys): Uint8Array {
  if (!Number.isInteger(subject.generation) || subject.generation < 1 || subject.generation > 0xffffffff) {
    fail('malformed', 'a key generation is a whole number from 1')
  }
  requireBytes(subject.publicKeys?.encryption, 'certified X25519 public key', 32)
  requireBytes(subject.publicKeys?.signing, 'certified Ed25519 public key', 32)
  const id = idBytes(subject.id, 'certified id')
  return concat(CERTIFICATE_LABEL, u16(id.length), id, u32(subject.generation), subject.publicKeys.encryption, subject.publicKeys.signing)
}

/** Signs a certificate (64 bytes): the issuer vouches that `subject` holds these public keys. */
export async function issueKeyCertificate(issuer: KeySet['signing'], subject: CertifiedKeys): Promise<Uint8Array> {
  const s = await loadSodium()
  requireBytes(issuer?.privateKey, 'issuer Ed25519 private key', 64)
  return s.crypto_sign_detached(certificateMessage(subject), issuer.privateKey)
}

export async function verifyKeyCertificate(issuerPublicKey: Uint8Array, subject: CertifiedKeys, certificate: Uint8Array): Promise<boolean> {
  const s = await loadSodium()
  requireBytes(issuerPublicKey, 'issuer Ed25519 public key', 32)
  requireBytes(certificate, 'certificate', 64)
  return s.crypto_sign_verify_detached(certificate, certificateMessage(subject), issuerPublicKey)
}

/**
 * Follows a group's key chain from a trusted first generation (the one whose fingerprint was
 * published) through each rotation certificate, and returns the current public keys. Throws
 * CryptoError('bad_signature') at the first generation not certified by the one before it.
 */
export async function verifyKeyChain(
  groupId: string,
  first: PublicKeySet,
  rotations: readonly { readonly publicKeys: PublicKeySet; readonly certificate: Uint8Array }[],
): Promise<PublicKeySet> {
  let current = first
  for (const [index, rotation] of rotations.entries()) {
    const subject = { id: groupId, generation: index + 2, publicKeys: rotation.publicKeys }
    if (!(await verifyKeyCertificate(current.signing, subject, rotation.certificate))) {
      fail('bad_signature', `generation ${index + 2} of ${groupId} is not certified by generation ${index + 1}`)
    }
    current = rotation.publicKeys
  }
  return current
}

