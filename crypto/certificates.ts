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


/** One generation of a unit's keys as the server lists them. */
export interface UnitKeyGeneration {
  readonly generation: number
  readonly publicKeys: PublicKeySet
  /** Signed by the previous generation (from generation 2). */
  readonly rotationCertificate: Uint8Array | null
  /** Signed by the IDVA service (its generation `serviceGeneration`), once its lead vouched for it. */
  readonly serviceCertificate: Uint8Array | null
  readonly serviceGeneration: number | null
}

/**
 * The unit key a package may be sealed to: the unit's newest generation, provided the IDVA service
 * vouched for it, or for an earlier generation from which the newest follows by rotation
 * certificates. `serviceSigningKeys` are the service's signing keys by generation, from a chain the
 * caller has already checked against the pinned fingerprint. Throws CryptoError('bad_signature')
 * when no generation carries a valid service certificate, or the chain from it is broken.
 */
export async function certifiedUnitKey(unitId: string, generations: readonly UnitKeyGeneration[], serviceSigningKeys: ReadonlyMap<number, Uint8Array>): Promise<{ generation: number; publicKeys: PublicKeySet }> {
  return (await certifiedUnitKeys(unitId, generations, serviceSigningKeys)).at(-1)!
}

/**
 * Every generation of a unit's key the IDVA service vouches for, oldest first: the newest one with a
 * valid service certificate and each later one (certified by the one before). What a unit signed
 * with any of them is the unit's; an older, uncertified generation is trusted by nobody.
 */
export async function certifiedUnitKeys(unitId: string, generations: readonly UnitKeyGeneration[], serviceSigningKeys: ReadonlyMap<number, Uint8Array>): Promise<{ generation: number; publicKeys: PublicKeySet }[]> {
  const ordered = [...generations].sort((a, b) => a.generation - b.generation)
  if (ordered.length === 0) fail('bad_signature', `${unitId} has no key`)
  for (let index = ordered.length - 1; index >= 0; index--) {
    const candidate = ordered[index]!
    if (candidate.serviceCertificate === null || candidate.serviceGeneration === null) continue
    const signer = serviceSigningKeys.get(candidate.serviceGeneration)
    if (signer === undefined) continue
    if (!(await verifyKeyCertificate(signer, { id: unitId, generation: candidate.generation, publicKeys: candidate.publicKeys }, candidate.serviceCertificate))) continue
    // From the vouched-for generation to the newest, each certified by the one before.
    let current = candidate.publicKeys
    for (const next of ordered.slice(index + 1)) {
      if (next.rotationCertificate === null || !(await verifyKeyCertificate(current.signing, { id: unitId, generation: next.generation, publicKeys: next.publicKeys }, next.rotationCertificate))) {
        fail('bad_signature', `generation ${next.generation} of ${unitId} is not certified by the one before`)
      }
      current = next.publicKeys
    }
    return ordered.slice(index).map((entry) => ({ generation: entry.generation, publicKeys: entry.publicKeys }))
  }
  fail('bad_signature', `${unitId}'s key is not certified by the IDVA service`)
}
