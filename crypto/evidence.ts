import { concat, requireBytes, utf8 } from './bytes.ts'
import { CryptoError, fail } from './errors.ts'
import { freeSecretstreamState, loadSodium, type Sodium } from './sodium.ts'

/**
 * Evidence files: encrypted in 64 KiB chunks with crypto_secretstream_xchacha20poly1305, under a
 * fresh key per file that travels inside the (encrypted) disclosure, never on its own.
 *
 * Plaintext framing: the file's bytes, then 0x80, then zeros up to a whole number of chunks (so a
 * file's size shows only to the nearest 64 KiB). Every chunk therefore holds exactly 65536 bytes of
 * plaintext; every chunk but the last is tagged MESSAGE and the last FINAL. Each chunk's associated
 * data is "sd-evidence-v1" || file id (16 random bytes, also kept in the disclosure), which ties the
 * chunks to their file.
 *
 * Layout: u8 version=1 | secretstream header (24) | chunks of (65536 + 17) bytes.
 *
 * secretstream detects a changed, reordered, repeated or dropped chunk (each is bound to its
 * position), and a stream that stops before its FINAL chunk (truncation). Chunks from another file
 * fail (another key and file id).
 */

export const EVIDENCE_VERSION = 1
export const EVIDENCE_CHUNK_BYTES = 65_536
export const MAX_EVIDENCE_BYTES = 25 * 1024 * 1024
const FILE_ID_BYTES = 16
const HEADER_BYTES = 24
const ABYTES = 17
const ENCRYPTED_CHUNK_BYTES = EVIDENCE_CHUNK_BYTES + ABYTES
const MAX_CHUNKS = Math.floor(MAX_EVIDENCE_BYTES / EVIDENCE_CHUNK_BYTES) + 1
/** The largest encrypted evidence file there can be. */
export const MAX_ENCRYPTED_EVIDENCE_BYTES = 1 + HEADER_BYTES + MAX_CHUNKS * ENCRYPTED_CHUNK_BYTES
const LABEL = utf8('sd-evidence-v1')

export interface EvidenceKey {
  /** 16 random bytes naming the file inside its disclosure. */
  readonly fileId: Uint8Array
  /** 32-byte secretstream key. */
  readonly key: Uint8Array
}

export async function newEvidenceKey(): Promise<EvidenceKey> {
  const s = await loadSodium()
  return { fileId: s.randombytes_buf(FILE_ID_BYTES), key: s.crypto_secretstream_xchacha20poly1305_keygen() }
}

function checkKey(evidenceKey: EvidenceKey): void {
  if (typeof evidenceKey !== 'object' || evidenceKey === null) fail('malformed', 'an evidence key is a file id and a key')
  requireBytes(evidenceKey.fileId, 'file id', FILE_ID_BYTES)
  requireBytes(evidenceKey.key, 'file key', 32)
}

/** Encrypted chunk count for a file of `size` bytes (for progress and for checking uploads). */
export function encryptedEvidenceSize(size: number): number {
  return 1 + HEADER_BYTES + (Math.floor(size / EVIDENCE_CHUNK_BYTES) + 1) * ENCRYPTED_CHUNK_BYTES
}

/**
 * Streaming encryption: push the file's bytes in pieces of any size, then finish(). Each call
 * returns the encrypted bytes ready so far (possibly none). Throws CryptoError('too_large') past
 * 25 MiB. Call abort() if the work is abandoned, to wipe the stream state.
 */
export class EvidenceEncryptor {
  readonly #s: Sodium
  readonly #state: unknown
  readonly #ad: Uint8Array
  #pending = new Uint8Array(EVIDENCE_CHUNK_BYTES)
  #pendingLength = 0
  #total = 0
  #done = false
  /** The first bytes of the output: version and secretstream header. */
  readonly header: Uint8Array

  private constructor(s: Sodium, key: EvidenceKey) {
    checkKey(key)
    this.#s = s
    const { state, header } = s.crypto_secretstream_xchacha20poly1305_init_push(key.key)
    this.#state = state
    this.#ad = concat(LABEL, key.fileId)
    this.header = concat(Uint8Array.of(EVIDENCE_VERSION), header)
  }

  static async create(key: EvidenceKey): Promise<EvidenceEncryptor> {
    return new EvidenceEncryptor(await loadSodium(), key)
  }

  #seal(chunk: Uint8Array, final: boolean): Uint8Array {
    const tag = final ? this.#s.crypto_secretstream_xchacha20poly1305_TAG_FINAL : this.#s.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
    return this.#s.crypto_secretstream_xchacha20poly1305_push(this.#state as never, chunk, this.#ad, tag)
  }

  push(bytes: Uint8Array): Uint8Array[] {
    if (this.#done) fail('malformed', 'this file has already been finished')
    requireBytes(bytes, 'file data')
    this.#total += bytes.length
    if (this.#total > MAX_EVIDENCE_BYTES) {
      this.abort()
      fail('too_large', `evidence files can be at most ${MAX_EVIDENCE_BYTES} bytes`)
    }
    const out: Uint8Array[] = []
    let offset = 0
    while (offset < bytes.length) {
      const take = Math.min(EVIDENCE_CHUNK_BYTES - this.#pendingLength, bytes.length - offset)
      this.#pending.set(bytes.subarray(offset, offset + take), this.#pendingLength)
      this.#pendingLength += take
      offset += take
      // A full chunk is held back until more data arrives: the last chunk must be tagged FINAL.
      if (this.#pendingLength === EVIDENCE_CHUNK_BYTES && offset < bytes.length) {
        out.push(this.#seal(this.#pending, false))
        this.#pendingLength = 0
      }
    }
    return out
  }

  finish(): Uint8Array[] {
    if (this.#done) fail('malformed', 'this file has already been finished')
    const out: Uint8Array[] = []
    if (this.#pendingLength === EVIDENCE_CHUNK_BYTES) {
      out.push(this.#seal(this.#pending, false))
      this.#pendingLength = 0
    }
    const last = new Uint8Array(EVIDENCE_CHUNK_BYTES)
    last.set(this.#pending.subarray(0, this.#pendingLength))
    last[this.#pendingLength] = 0x80
    out.push(this.#seal(last, true))
    this.#wipe()
    return out
  }

  abort(): void {
    if (!this.#done) this.#wipe()
  }

  #wipe(): void {
    this.#done = true
    this.#s.memzero(this.#pending)
    freeSecretstreamState(this.#s, this.#state)
  }
}

/**
 * For the server, which holds no key: checks that `encrypted` has the shape of an encrypted evidence
 * file (version, header, a whole number of full chunks, within the size limit) and returns its chunk
 * count. Throws CryptoError 'malformed' | 'unsupported' | 'too_large' | 'truncated'.
 */
export function checkEncryptedEvidence(encrypted: Uint8Array): number {
  if (!(encrypted instanceof Uint8Array)) fail('malformed', 'encrypted evidence must be bytes')
  if (encrypted.length > MAX_ENCRYPTED_EVIDENCE_BYTES) fail('too_large', 'encrypted evidence is larger than any valid file')
  if (encrypted.length < 1 + HEADER_BYTES + ENCRYPTED_CHUNK_BYTES) fail('truncated', 'encrypted evidence is shorter than one chunk')
  if (encrypted[0] !== EVIDENCE_VERSION) fail('unsupported', `evidence version ${encrypted[0]} is not supported`)
  const body = encrypted.length - 1 - HEADER_BYTES
  if (body % ENCRYPTED_CHUNK_BYTES !== 0) fail('malformed', 'encrypted evidence ends part-way through a chunk')
  return body / ENCRYPTED_CHUNK_BYTES
}

/**
 * Whether `length` bytes can be an encrypted evidence file: at least one chunk, a whole number of
 * them, within the size limit. For the server to refuse an upload by its declared length, before
 * reading any of it.
 */
export function isEncryptedEvidenceLength(length: number): boolean {
  if (!Number.isSafeInteger(length) || length < 1 + HEADER_BYTES + ENCRYPTED_CHUNK_BYTES || length > MAX_ENCRYPTED_EVIDENCE_BYTES) return false
  return (length - 1 - HEADER_BYTES) % ENCRYPTED_CHUNK_BYTES === 0
}

/**
 * checkEncryptedEvidence for a file that arrives in pieces, so that the server can store each piece
 * as it comes and stop at the first wrong byte. The constructor throws when the declared length
 * (if any) cannot be a file; push() as soon as the bytes so far cannot begin one (another version,
 * past the size limit, past the declared length); finish() when they do not end one (no whole
 * chunk, part-way through a chunk, short of the declared length), and returns the chunk count.
 * Throws CryptoError 'malformed' | 'unsupported' | 'too_large' | 'truncated', as
 * checkEncryptedEvidence does for the same bytes whole.
 */
export class EncryptedEvidenceCheck {
  readonly #expected: number | null
  #received = 0

  constructor(declaredLength: number | null = null) {
    if (declaredLength !== null && !isEncryptedEvidenceLength(declaredLength)) {
      if (Number.isSafeInteger(declaredLength) && declaredLength > MAX_ENCRYPTED_EVIDENCE_BYTES) fail('too_large', 'encrypted evidence is larger than any valid file')
      fail('malformed', 'no encrypted evidence file has this length')
    }
    this.#expected = declaredLength
  }

  /** The bytes pushed so far. */
  get received(): number {
    return this.#received
  }

  push(bytes: Uint8Array): void {
    if (!(bytes instanceof Uint8Array)) fail('malformed', 'encrypted evidence must be bytes')
    if (this.#received === 0 && bytes.length > 0 && bytes[0] !== EVIDENCE_VERSION) fail('unsupported', `evidence version ${bytes[0]} is not supported`)
    this.#received += bytes.length
    if (this.#received > MAX_ENCRYPTED_EVIDENCE_BYTES) fail('too_large', 'encrypted evidence is larger than any valid file')
    if (this.#expected !== null && this.#received > this.#expected) fail('malformed', 'encrypted evidence is longer than its declared length')
  }

  finish(): number {
    if (this.#expected !== null && this.#received !== this.#expected) fail('truncated', 'encrypted evidence is shorter than its declared length')
    if (this.#received < 1 + HEADER_BYTES + ENCRYPTED_CHUNK_BYTES) fail('truncated', 'encrypted evidence is shorter than one chunk')
    const body = this.#received - 1 - HEADER_BYTES
    if (body % ENCRYPTED_CHUNK_BYTES !== 0) fail('malformed', 'encrypted evidence ends part-way through a chunk')
    return body / ENCRYPTED_CHUNK_BYTES
  }
}

/** Encrypts a whole file held in memory. */
export async function encryptEvidence(file: Uint8Array, key: EvidenceKey): Promise<Uint8Array> {
  const encryptor = await EvidenceEncryptor.create(key)
  try {
    return concat(encryptor.header, ...encryptor.push(file), ...encryptor.finish())
  } finally {
    encryptor.abort()
  }
}

/**
 * Decrypts a whole encrypted file, all or nothing. Throws CryptoError: 'malformed' or
 * 'unsupported' (not an evidence file), 'too_large', 'truncated' (the final chunk is missing),
 * 'decryption_failed' (wrong key or file id, or a chunk changed, reordered, repeated or swapped).
 */
export async function decryptEvidence(encrypted: Uint8Array, key: EvidenceKey): Promise<Uint8Array> {
  const s = await loadSodium()
  checkKey(key)
  if (!(encrypted instanceof Uint8Array)) fail('malformed', 'encrypted evidence must be bytes')
  if (encrypted.length > MAX_ENCRYPTED_EVIDENCE_BYTES) fail('too_large', 'encrypted evidence is larger than any valid file')
  if (encrypted.length < 1 + HEADER_BYTES) fail('malformed', 'encrypted evidence is truncated')
  if (encrypted[0] !== EVIDENCE_VERSION) fail('unsupported', `evidence version ${encrypted[0]} is not supported`)
  const body = encrypted.length - 1 - HEADER_BYTES
  const whole = Math.floor(body / ENCRYPTED_CHUNK_BYTES)
  if (body % ENCRYPTED_CHUNK_BYTES !== 0) fail(whole === 0 ? 'truncated' : 'malformed', 'encrypted evidence ends part-way through a chunk')
  if (whole === 0) fail('truncated', 'encrypted evidence has no chunks')

  let state: unknown
  try {
    state = s.crypto_secretstream_xchacha20poly1305_init_pull(encrypted.subarray(1, 1 + HEADER_BYTES), key.key)
  } catch {
    fail('decryption_failed', 'the evidence header could not be read with this key')
  }
  const ad = concat(LABEL, key.fileId)
  const output = new Uint8Array(whole * EVIDENCE_CHUNK_BYTES)
  try {
    for (let index = 0; index < whole; index++) {
      const start = 1 + HEADER_BYTES + index * ENCRYPTED_CHUNK_BYTES
      const result = s.crypto_secretstream_xchacha20poly1305_pull(state as never, encrypted.subarray(start, start + ENCRYPTED_CHUNK_BYTES), ad)
      if (result === false) fail('decryption_failed', `chunk ${index} does not authenticate (wrong key, or changed, reordered or swapped)`)
      const isLast = index === whole - 1
      const final = result.tag === s.crypto_secretstream_xchacha20poly1305_TAG_FINAL
      if (final && !isLast) fail('malformed', 'data follows the final chunk')
      if (!final && result.tag !== s.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE) fail('malformed', 'unexpected chunk tag')
      if (isLast && !final) fail('truncated', 'the file stops before its final chunk')
      output.set(result.message, index * EVIDENCE_CHUNK_BYTES)
    }
  } catch (error) {
    s.memzero(output)
    if (error instanceof CryptoError) throw error
    throw new CryptoError('decryption_failed', 'the evidence could not be decrypted')
  } finally {
    freeSecretstreamState(s, state)
  }
  let end = output.length - 1
  while (end >= output.length - EVIDENCE_CHUNK_BYTES && output[end] === 0) end--
  if (end < output.length - EVIDENCE_CHUNK_BYTES || output[end] !== 0x80) {
    s.memzero(output)
    fail('malformed', 'invalid padding in the final chunk')
  }
  if (end > MAX_EVIDENCE_BYTES) {
    s.memzero(output)
    fail('too_large', `evidence files can be at most ${MAX_EVIDENCE_BYTES} bytes`)
  }
  const file = output.slice(0, end)
  s.memzero(output)
  return file
}
