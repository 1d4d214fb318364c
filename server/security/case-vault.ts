import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto'

/**
 * What the server does to everything it stores for a case, on top of the browser's encryption: a
 * second lock, with a key of the case's own, so that a case can be destroyed by destroying one key.
 *
 * Everything a case holds (its messages, records, evidence files and the public keys derived from
 * its code) is sealed under a random per-case data key before it is written. The case key is kept
 * in `case_keys`, itself sealed under a key-encryption key derived from SERVER_SECRET, which is
 * never in the database. So:
 *   - a copy of the database, its files or a backup, without SERVER_SECRET, yields no envelope, no
 *     evidence file and no public key of any case, even to someone who also holds the IDVA
 *     service's private key and the case code;
 *   - withdrawal and retention delete the case key with the case: what remains of the case in the
 *     table files and the write-ahead log until they are reclaimed is sealed under a key that no
 *     longer exists in the live database (SECURITY.md says which copies can still hold it).
 *
 * The lookup value a reporter's browser derives from the case code is stored only as an HMAC under
 * another key derived from SERVER_SECRET, so a copy of the database alone cannot test case codes.
 *
 * Format of a sealed item: u8(1) || nonce (12) || AES-256-GCM ciphertext || tag (16), with
 * associated data "sd-at-rest-v1" || 0x00 || label, where the label names the case and the row
 * ("case:<id>:message:<id>"), so an item cannot be moved to another row or another case. Nonces
 * are random: one case key seals at most a few thousand items, far below GCM's limits.
 */

const VERSION = 1
const NONCE_BYTES = 12
const TAG_BYTES = 16
export const SEALED_OVERHEAD = 1 + NONCE_BYTES + TAG_BYTES
export const CASE_KEY_BYTES = 32

export class VaultError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'VaultError'
  }
}

function derive(serverSecret: Buffer, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', serverSecret, Buffer.alloc(0), info, 32))
}

function associatedData(label: string): Buffer {
  return Buffer.concat([Buffer.from('sd-at-rest-v1\0', 'utf8'), Buffer.from(label, 'utf8')])
}

/** Seals `plaintext` under `key`, bound to `label`. */
export function sealAtRest(key: Buffer, label: string, plaintext: Uint8Array): Buffer {
  if (key.length !== CASE_KEY_BYTES) throw new VaultError('a data key is 32 bytes')
  const nonce = randomBytes(NONCE_BYTES)
  const cipher = createCipheriv('aes-256-gcm', key, nonce)
  cipher.setAAD(associatedData(label))
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()])
  return Buffer.concat([Buffer.of(VERSION), nonce, body, cipher.getAuthTag()])
}

/** Opens what sealAtRest made with the same key and label. Throws VaultError otherwise. */
export function openAtRest(key: Buffer, label: string, sealed: Uint8Array): Buffer {
  if (key.length !== CASE_KEY_BYTES) throw new VaultError('a data key is 32 bytes')
  if (sealed.length < SEALED_OVERHEAD || sealed[0] !== VERSION) throw new VaultError(`stored item ${label} is not sealed in a format this portal knows`)
  const nonce = sealed.subarray(1, 1 + NONCE_BYTES)
  const tag = sealed.subarray(sealed.length - TAG_BYTES)
  const decipher = createDecipheriv('aes-256-gcm', key, nonce)
  decipher.setAAD(associatedData(label))
  decipher.setAuthTag(tag)
  try {
    return Buffer.concat([decipher.update(sealed.subarray(1 + NONCE_BYTES, sealed.length - TAG_BYTES)), decipher.final()])
  } catch {
    throw new VaultError(`stored item ${label} could not be opened: it was altered, moved, or its key is not this one`)
  }
}

export class CaseVault {
  readonly #caseKeys: Buffer
  readonly #lookup: Buffer

  constructor(serverSecret: Buffer) {
    this.#caseKeys = derive(serverSecret, 'sd-case-key-encryption-v1')
    this.#lookup = derive(serverSecret, 'sd-case-lookup-v1')
  }

  /** A new random case key, and the form it is stored in. */
  newCaseKey(caseId: string): { key: Buffer; wrapped: Buffer } {
    return this.#newKey(`case-key:${caseId}`)
  }

  unwrapCaseKey(caseId: string, wrapped: Uint8Array): Buffer {
    return this.#unwrap(`case-key:${caseId}`, wrapped, `case ${caseId}`)
  }

  /**
   * A new random key for one referral (its package, its files and the unit's updates), stored
   * sealed like a case key. Its own, not the case's, so that a unit's requests never need the
   * case's key, and it goes with the referral.
   */
  newReferralKey(referralId: string): { key: Buffer; wrapped: Buffer } {
    return this.#newKey(`referral-key:${referralId}`)
  }

  unwrapReferralKey(referralId: string, wrapped: Uint8Array): Buffer {
    return this.#unwrap(`referral-key:${referralId}`, wrapped, `referral ${referralId}`)
  }

  #newKey(label: string): { key: Buffer; wrapped: Buffer } {
    const key = randomBytes(CASE_KEY_BYTES)
    return { key, wrapped: sealAtRest(this.#caseKeys, label, key) }
  }

  #unwrap(label: string, wrapped: Uint8Array, what: string): Buffer {
    const key = openAtRest(this.#caseKeys, label, wrapped)
    if (key.length !== CASE_KEY_BYTES) throw new VaultError(`the stored key of ${what} has the wrong length`)
    return key
  }

  /** What is stored to find a case by the lookup value its code gives: 16 bytes of HMAC-SHA256. */
  lookupValue(lookupId: Uint8Array): Buffer {
    return createHmac('sha256', this.#lookup).update(lookupId).digest().subarray(0, 16)
  }
}

/**
 * The key an uploaded file is sealed under while it waits for the message that carries its key:
 * derived from its upload token, which only the uploading browser holds (the database keeps the
 * token's SHA-256). When a message claims the file, this key is sealed under the case key.
 */
export function uploadKey(token: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', token, Buffer.alloc(0), 'sd-upload-key-v1', 32))
}
