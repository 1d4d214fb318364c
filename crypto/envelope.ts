import { ByteReader, concat, equalBytes, u16, u8, utf8 } from './bytes.ts'
import { CryptoError, fail } from './errors.ts'
import { KEY_ID_BYTES, keyIdWith, PUBLIC_KEY_BYTES, type EncryptionKeyPair, type SigningKeyPair } from './keys.ts'
import { isBucket, MAX_PADDED_PLAINTEXT, pad, PADDING_BUCKETS, unpad } from './padding.ts'
import { loadSodium, type Sodium } from './sodium.ts'

/**
 * Envelope v1: how every disclosure, message, note and referral package is stored.
 *
 * A fresh 32-byte content key encrypts the padded plaintext with XChaCha20-Poly1305 (IETF); the
 * content key is sealed (crypto_box_seal) to each recipient's X25519 key; the associated data binds
 * the version, kind, flags, case id, signer and every recipient entry (key id and sealed key), so an
 * envelope cannot be moved to another case, relabelled, or have a recipient added, removed or
 * altered without every recipient noticing. Staff-authored content
 * is also signed with Ed25519 over the whole envelope and the case id.
 *
 * A key commitment (a keyed BLAKE2b of a fixed label under the content key) is checked before
 * decrypting, because XChaCha20-Poly1305 alone does not commit to its key: without it, a sender
 * could seal different content keys to different recipients so that one ciphertext (and one
 * signature) decrypts to different plaintexts for each.
 *
 * An optional context (0..255 bytes, e.g. a message id and its position in a thread) is bound like
 * the case id: not stored, supplied again by the opener, so messages cannot be reordered or moved.
 *
 * Staff kinds (idva_reply, idva_note, triage, consent, referral_package, unit_note) must be signed: an unsigned
 * one is refused whatever the caller asks, so nobody holding only public keys can write "your case
 * is closed" or a consent record.
 *
 * Byte layout (integers big-endian), specified in SECURITY.md:
 *   u8 version=1 | u8 kind | u8 flags (bit 0: signed) | u8 n (1..16)
 *   [signed only] signer key id (16)
 *   n x ( recipient key id (16) | sealed content key (80) )
 *   nonce (24)
 *   key commitment (32)
 *   ciphertext (bucket + 16)
 *   [signed only] Ed25519 signature (64)
 */

export const ENVELOPE_VERSION = 1

/** Kinds of content. Numbers are part of the format; add new ones, never renumber. */
export const ENVELOPE_KINDS = {
  disclosure: 1,
  reporter_message: 2,
  idva_reply: 3,
  idva_note: 4,
  triage: 5,
  consent: 6,
  referral_package: 7,
  consultation: 8,
  unit_note: 9,
} as const

export type EnvelopeKind = keyof typeof ENVELOPE_KINDS

/** Kinds written by staff, which must carry a trusted staff or service signature. */
export const SIGNED_KINDS: readonly EnvelopeKind[] = ['idva_reply', 'idva_note', 'triage', 'consent', 'referral_package', 'unit_note']

const KIND_BY_NUMBER = new Map<number, EnvelopeKind>(
  Object.entries(ENVELOPE_KINDS).map(([name, number]) => [number, name as EnvelopeKind]),
)

export const MAX_RECIPIENTS = 16
const FLAG_SIGNED = 0x01
const SEALED_KEY_BYTES = 32 + 48
const NONCE_BYTES = 24
const COMMITMENT_BYTES = 32
const TAG_BYTES = 16
const MAX_CONTEXT_BYTES = 255
const SIGNATURE_BYTES = 64
const AD_LABEL = utf8('sd-envelope-v1')
const SIGNATURE_LABEL = utf8('sd-envelope-v1-signature')
const COMMITMENT_LABEL = utf8('sd-envelope-v1-key-commitment')
const CASE_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** The largest envelope there can be; anything longer is refused before it is read. */
export const MAX_ENVELOPE_BYTES =
  4 + KEY_ID_BYTES + MAX_RECIPIENTS * (KEY_ID_BYTES + SEALED_KEY_BYTES) + NONCE_BYTES + COMMITMENT_BYTES + PADDING_BUCKETS.at(-1)! + TAG_BYTES + SIGNATURE_BYTES

/** True for the name of a kind (own keys only: "toString" or "__proto__" is not a kind). */
export function isEnvelopeKind(kind: unknown): kind is EnvelopeKind {
  return typeof kind === 'string' && Object.hasOwn(ENVELOPE_KINDS, kind)
}

export function kindNumber(kind: EnvelopeKind): number {
  if (!isEnvelopeKind(kind)) fail('unsupported', `unknown envelope kind ${String(kind)}`)
  return ENVELOPE_KINDS[kind]
}

export function checkCaseId(caseId: string): Uint8Array {
  if (typeof caseId !== 'string' || !CASE_ID.test(caseId)) {
    fail('malformed', 'case id must be 1 to 128 characters from A-Z, a-z, 0-9 and . _ : -')
  }
  return utf8(caseId)
}

function checkContext(context: Uint8Array | undefined): Uint8Array {
  if (context === undefined) return new Uint8Array(0)
  if (!(context instanceof Uint8Array)) fail('malformed', 'context must be bytes')
  if (context.length > MAX_CONTEXT_BYTES) fail('too_large', `context is over ${MAX_CONTEXT_BYTES} bytes`)
  return context
}

/** The structure of an envelope, read without any key (what the server can check). */
export interface EnvelopeStructure {
  readonly version: number
  readonly kind: EnvelopeKind
  readonly signerKeyId: Uint8Array | null
  readonly recipients: readonly RecipientEntry[]
  readonly nonce: Uint8Array
  readonly commitment: Uint8Array
  readonly ciphertext: Uint8Array
  readonly signature: Uint8Array | null
  /** Bytes the signature covers (everything before it). */
  readonly signedBytes: Uint8Array
  /** The padding bucket: all the server learns of the plaintext's length. */
  readonly bucket: number
}

/** Strict parse: every length checked, nothing unknown accepted. Throws CryptoError only. */
export function parseEnvelope(bytes: Uint8Array): EnvelopeStructure {
  if (!(bytes instanceof Uint8Array)) fail('malformed', 'envelope must be bytes')
  if (bytes.length > MAX_ENVELOPE_BYTES) fail('too_large', 'envelope is larger than any valid envelope')
  const reader = new ByteReader(bytes, 'envelope')
  const version = reader.u8('version')
  if (version !== ENVELOPE_VERSION) fail('unsupported', `envelope version ${version} is not supported`)
  const kindByte = reader.u8('kind')
  const kind = KIND_BY_NUMBER.get(kindByte) ?? fail('unsupported', `envelope kind ${kindByte} is not known`)
  const flags = reader.u8('flags')
  if ((flags & ~FLAG_SIGNED) !== 0) fail('unsupported', 'envelope has unknown flags')
  const signed = (flags & FLAG_SIGNED) !== 0
  const count = reader.u8('recipient count')
  if (count < 1) fail('malformed', 'envelope has no recipients')
  if (count > MAX_RECIPIENTS) fail('too_large', `envelope has more than ${MAX_RECIPIENTS} recipients`)
  const signerKeyId = signed ? reader.take(KEY_ID_BYTES, 'signer key id') : null
  const recipients: { keyId: Uint8Array; sealedKey: Uint8Array }[] = []
  for (let i = 0; i < count; i++) {
    const keyId = reader.take(KEY_ID_BYTES, 'recipient key id')
    if (recipients.some((recipient) => equalBytes(recipient.keyId, keyId))) fail('duplicate_recipient', 'a recipient appears twice')
    recipients.push({ keyId, sealedKey: reader.take(SEALED_KEY_BYTES, 'sealed content key') })
  }
  const nonce = reader.take(NONCE_BYTES, 'nonce')
  const commitment = reader.take(COMMITMENT_BYTES, 'key commitment')
  const ciphertextLength = reader.remaining - (signed ? SIGNATURE_BYTES : 0)
  if (!isBucket(ciphertextLength - TAG_BYTES)) fail('malformed', 'ciphertext length is not a padding bucket')
  const ciphertext = reader.take(ciphertextLength, 'ciphertext')
  const signedBytes = bytes.subarray(0, reader.offset)
  const signature = signed ? reader.take(SIGNATURE_BYTES, 'signature') : null
  reader.end()
  return { version, kind, signerKeyId, recipients, nonce, commitment, ciphertext, signature, signedBytes, bucket: ciphertextLength - TAG_BYTES }
}

type RecipientEntry = { readonly keyId: Uint8Array; readonly sealedKey: Uint8Array }

function associatedData(
  kind: EnvelopeKind,
  signed: boolean,
  caseId: Uint8Array,
  context: Uint8Array,
  signerKeyId: Uint8Array | null,
  recipients: readonly RecipientEntry[],
): Uint8Array {
  return concat(
    AD_LABEL,
    u8(ENVELOPE_VERSION),
    u8(kindNumber(kind)),
    u8(signed ? FLAG_SIGNED : 0),
    u8(recipients.length),
    u16(caseId.length),
    caseId,
    u16(context.length),
    context,
    signerKeyId ?? new Uint8Array(0),
    ...recipients.flatMap((recipient) => [recipient.keyId, recipient.sealedKey]),
  )
}

function signatureMessage(caseId: Uint8Array, context: Uint8Array, signedBytes: Uint8Array): Uint8Array {
  return concat(SIGNATURE_LABEL, u16(caseId.length), caseId, u16(context.length), context, signedBytes)
}

function keyCommitment(s: Sodium, contentKey: Uint8Array): Uint8Array {
  return s.crypto_generichash(COMMITMENT_BYTES, COMMITMENT_LABEL, contentKey)
}

/** Runs `work`, turning anything that is not a CryptoError into one (libsodium throws plain Errors). */
async function guarded<T>(code: 'malformed' | 'decryption_failed', work: () => Promise<T> | T): Promise<T> {
  try {
    return await work()
  } catch (error) {
    if (error instanceof CryptoError) throw error
    throw new CryptoError(code, code === 'malformed' ? 'input could not be read' : 'decryption failed')
  }
}

export interface SealOptions {
  readonly kind: EnvelopeKind
  readonly caseId: string
  readonly plaintext: Uint8Array
  /** X25519 public keys (32 bytes each), 1 to 16, no duplicates. */
  readonly recipients: readonly Uint8Array[]
  /** Ed25519 key pair of the author: required for staff kinds (SIGNED_KINDS). */
  readonly signer?: SigningKeyPair
  /** Bound like the case id and needed again to open (0..255 bytes), e.g. a message id. */
  readonly context?: Uint8Array
}

/**
 * Encrypts `plaintext` to every recipient. Throws CryptoError('malformed' | 'too_large' |
 * 'duplicate_recipient') for bad options; never returns a partial envelope.
 */
export async function sealEnvelope(options: SealOptions): Promise<Uint8Array> {
  const s = await loadSodium()
  return guarded('malformed', () => sealWith(s, options))
}

function sealWith(s: Sodium, { kind, caseId, plaintext, recipients, signer, context }: SealOptions): Uint8Array {
  const caseIdBytes = checkCaseId(caseId)
  const contextBytes = checkContext(context)
  kindNumber(kind)
  if (signer === undefined && SIGNED_KINDS.includes(kind)) fail('signature_required', `${kind} envelopes must be signed`)
  if (!Array.isArray(recipients)) fail('malformed', 'recipients must be a list of public keys')
  if (!(plaintext instanceof Uint8Array)) fail('malformed', 'plaintext must be bytes')
  if (plaintext.length > MAX_PADDED_PLAINTEXT) fail('too_large', `plaintext is over ${MAX_PADDED_PLAINTEXT} bytes`)
  if (recipients.length < 1) fail('malformed', 'an envelope needs at least one recipient')
  if (recipients.length > MAX_RECIPIENTS) fail('too_large', `at most ${MAX_RECIPIENTS} recipients`)
  const keyIds = recipients.map((publicKey) => {
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_BYTES) fail('malformed', 'recipient keys must be 32-byte X25519 public keys')
    return keyIdWith(s, 'x25519', publicKey)
  })
  keyIds.forEach((keyId, index) => {
    if (keyIds.findIndex((other) => equalBytes(other, keyId)) !== index) fail('duplicate_recipient', 'a recipient appears twice')
  })
  if (signer !== undefined && (!(signer.privateKey instanceof Uint8Array) || signer.privateKey.length !== 64 || !(signer.publicKey instanceof Uint8Array) || signer.publicKey.length !== PUBLIC_KEY_BYTES)) {
    fail('malformed', 'signer must be an Ed25519 key pair')
  }
  const signerKeyId = signer === undefined ? null : keyIdWith(s, 'ed25519', signer.publicKey)

  const contentKey = s.crypto_aead_xchacha20poly1305_ietf_keygen()
  try {
    const nonce = s.randombytes_buf(NONCE_BYTES)
    const entries = recipients.map((publicKey, index) => ({ keyId: keyIds[index]!, sealedKey: s.crypto_box_seal(contentKey, publicKey) }))
    const ad = associatedData(kind, signer !== undefined, caseIdBytes, contextBytes, signerKeyId, entries)
    const padded = pad(plaintext)
    const ciphertext = s.crypto_aead_xchacha20poly1305_ietf_encrypt(padded, ad, null, nonce, contentKey)
    s.memzero(padded)
    const body = concat(
      u8(ENVELOPE_VERSION),
      u8(kindNumber(kind)),
      u8(signer === undefined ? 0 : FLAG_SIGNED),
      u8(recipients.length),
      signerKeyId ?? new Uint8Array(0),
      ...entries.flatMap((entry) => [entry.keyId, entry.sealedKey]),
      nonce,
      keyCommitment(s, contentKey),
      ciphertext,
    )
    if (signer === undefined) return body
    return concat(body, s.crypto_sign_detached(signatureMessage(caseIdBytes, contextBytes, body), signer.privateKey))
  } finally {
    s.memzero(contentKey)
  }
}

export interface OpenOptions {
  /** The case the envelope is expected to belong to; any other fails to decrypt. */
  readonly caseId: string
  /** The X25519 key pairs that may be recipients (a key ring: current and previous keys). */
  readonly keys: readonly EncryptionKeyPair[]
  /** Refuse any other kind (CryptoError 'wrong_kind'). */
  readonly expectKind?: EnvelopeKind | readonly EnvelopeKind[]
  /** Ed25519 public keys whose signatures are accepted. A signed envelope needs its signer here. */
  readonly trustedSigners?: readonly Uint8Array[]
  /** Refuse unsigned envelopes of any kind (staff kinds are always refused unsigned). */
  readonly requireSignature?: boolean
  /** The context the envelope was sealed with, if any. */
  readonly context?: Uint8Array
}

export interface OpenedEnvelope {
  readonly kind: EnvelopeKind
  readonly plaintext: Uint8Array
  /** The verified signer's Ed25519 public key, or null for unsigned content. */
  readonly signer: Uint8Array | null
}

/**
 * Verifies and decrypts. The signature (if any) is checked before anything is decrypted.
 * Throws CryptoError: 'malformed' | 'unsupported' | 'too_large' | 'duplicate_recipient' (bad bytes),
 * 'wrong_kind', 'signature_required', 'unknown_signer', 'bad_signature', 'not_a_recipient' (none
 * of `keys` is a recipient), 'decryption_failed' (wrong key, wrong case id, or altered data).
 * Returns the plaintext only when every check has passed.
 */
export async function openEnvelope(bytes: Uint8Array, options: OpenOptions): Promise<OpenedEnvelope> {
  const s = await loadSodium()
  return guarded('decryption_failed', () => openWith(s, bytes, options))
}

function openWith(s: Sodium, bytes: Uint8Array, { caseId, keys, expectKind, trustedSigners, requireSignature, context }: OpenOptions): OpenedEnvelope {
  const caseIdBytes = checkCaseId(caseId)
  const contextBytes = checkContext(context)
  if (!Array.isArray(keys)) fail('malformed', 'keys must be a list of key pairs')
  const envelope = parseEnvelope(bytes)
  if (expectKind !== undefined) {
    const allowed: readonly EnvelopeKind[] = typeof expectKind === 'string' ? [expectKind] : expectKind
    if (!allowed.includes(envelope.kind)) fail('wrong_kind', `expected ${allowed.join(' or ')}, found ${envelope.kind}`)
  }

  let signer: Uint8Array | null = null
  if (envelope.signerKeyId === null || envelope.signature === null) {
    if (requireSignature === true || SIGNED_KINDS.includes(envelope.kind)) fail('signature_required', `this ${envelope.kind} must be signed`)
  } else {
    const signerKeyId = envelope.signerKeyId
    signer = (trustedSigners ?? []).find((key) => key instanceof Uint8Array && key.length === PUBLIC_KEY_BYTES && equalBytes(keyIdWith(s, 'ed25519', key), signerKeyId)) ?? null
    if (signer === null) fail('unknown_signer', 'signed by a key that is not trusted here')
    if (!s.crypto_sign_verify_detached(envelope.signature, signatureMessage(caseIdBytes, contextBytes, envelope.signedBytes), signer)) {
      fail('bad_signature', 'the signature does not verify')
    }
  }

  const ring = keys.map((pair) => ({ pair, keyId: keyIdWith(s, 'x25519', pair.publicKey) }))
  const match = envelope.recipients
    .map((recipient) => ({ recipient, key: ring.find((candidate) => equalBytes(candidate.keyId, recipient.keyId)) }))
    .find((candidate) => candidate.key !== undefined)
  if (match?.key === undefined) fail('not_a_recipient', 'none of these keys can open this envelope')

  let contentKey: Uint8Array
  try {
    contentKey = s.crypto_box_seal_open(match.recipient.sealedKey, match.key.pair.publicKey, match.key.pair.privateKey)
  } catch {
    fail('decryption_failed', 'the content key could not be unsealed')
  }
  try {
    if (contentKey.length !== 32) fail('decryption_failed', 'the content key has the wrong length')
    if (!equalBytes(keyCommitment(s, contentKey), envelope.commitment)) fail('decryption_failed', 'the content key does not match its commitment')
    const ad = associatedData(envelope.kind, envelope.signature !== null, caseIdBytes, contextBytes, envelope.signerKeyId, envelope.recipients)
    let padded: Uint8Array
    try {
      padded = s.crypto_aead_xchacha20poly1305_ietf_decrypt(null, envelope.ciphertext, ad, envelope.nonce, contentKey)
    } catch {
      fail('decryption_failed', 'the content could not be decrypted (wrong case, wrong key, or altered)')
    }
    try {
      return { kind: envelope.kind, plaintext: unpad(padded), signer }
    } finally {
      s.memzero(padded)
    }
  } finally {
    s.memzero(contentKey)
  }
}

/** For the server: checks a staff signature on an envelope without decrypting anything. */
export async function verifyEnvelopeSignature(bytes: Uint8Array, caseId: string, signerPublicKey: Uint8Array, context?: Uint8Array): Promise<boolean> {
  const s = await loadSodium()
  return guarded('malformed', () => {
    const caseIdBytes = checkCaseId(caseId)
    const contextBytes = checkContext(context)
    const envelope = parseEnvelope(bytes)
    if (envelope.signature === null || envelope.signerKeyId === null) return false
    if (!(signerPublicKey instanceof Uint8Array) || !equalBytes(envelope.signerKeyId, keyIdWith(s, 'ed25519', signerPublicKey))) return false
    return s.crypto_sign_verify_detached(envelope.signature, signatureMessage(caseIdBytes, contextBytes, envelope.signedBytes), signerPublicKey)
  })
}
