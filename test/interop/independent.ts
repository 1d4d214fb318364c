/**
 * An independent implementation of "Cryptographic formats, version 1" (SECURITY.md), written from
 * that text alone, to show the specification is precise enough to interoperate with `crypto/`.
 * It deliberately imports nothing from `crypto/` except the word list, which is data.
 * Every failure throws a plain Error; nothing is returned unless every check passed.
 */
import sodium from 'libsodium-wrappers'
import sumo from 'libsodium-wrappers-sumo'
import { WORDS } from '../../crypto/wordlist.ts'
import { EXCLUDED_WORDS } from '../../crypto/wordlist-excluded.ts'

await sodium.ready
await sumo.ready

export interface Pair {
  readonly publicKey: Uint8Array
  readonly privateKey: Uint8Array
}
export interface KeySet {
  readonly encryption: Pair
  readonly signing: Pair
}
export interface PublicKeys {
  readonly encryption: Uint8Array
  readonly signing: Uint8Array
}

// ---- bytes -----------------------------------------------------------------------------------

function check(condition: boolean, what: string): asserts condition {
  if (!condition) throw new Error(`independent: ${what}`)
}
const ascii = (text: string): Uint8Array => new TextEncoder().encode(text)
const u8 = (x: number): Uint8Array => Uint8Array.of(x)
const u16 = (x: number): Uint8Array => Uint8Array.of(x >>> 8, x & 0xff)
function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}
const equal = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i])
const allZero = (a: Uint8Array): boolean => a.every((x) => x === 0)
const blake2b = (n: number, m: Uint8Array): Uint8Array => sodium.crypto_generichash(n, m, null)
const kdf = (n: number, id: number, ctx: string, key: Uint8Array): Uint8Array =>
  sodium.crypto_kdf_derive_from_key(n, id, ctx, key)

/** Case, account and group ids: 1 to 128 characters from A-Z a-z 0-9 . _ : - */
function idBytes(id: string): Uint8Array {
  check(/^[A-Za-z0-9._:-]{1,128}$/.test(id), 'bad id')
  return ascii(id)
}

// ---- keys and key files ----------------------------------------------------------------------

export function keyId(type: 'x25519' | 'ed25519', publicKey: Uint8Array): Uint8Array {
  check(publicKey.length === 32, 'public key length')
  return blake2b(16, cat(ascii('sd-key-id-v1'), u8(type === 'x25519' ? 0x01 : 0x02), publicKey))
}

/** Rebuilds a key set from X25519 private (32) || Ed25519 seed (32). */
function keySetFromSecrets(secrets: Uint8Array): KeySet {
  check(secrets.length === 64, 'secret key length')
  const x25519 = secrets.slice(0, 32)
  const seed = secrets.slice(32, 64)
  check(!allZero(x25519) && !allZero(seed), 'all-zero key')
  const signing = sodium.crypto_sign_seed_keypair(seed)
  return {
    encryption: { publicKey: sodium.crypto_scalarmult_base(x25519), privateKey: x25519 },
    signing: { publicKey: signing.publicKey, privateKey: signing.privateKey },
  }
}
const secretsOf = (keys: KeySet): Uint8Array =>
  cat(keys.encryption.privateKey, keys.signing.privateKey.slice(0, 32))
export const publicOf = (keys: KeySet): PublicKeys => ({
  encryption: keys.encryption.publicKey,
  signing: keys.signing.publicKey,
})

const toBase64 = (bytes: Uint8Array): string => sodium.to_base64(bytes, sodium.base64_variants.ORIGINAL)
function fromBase64(text: string): Uint8Array {
  // The spec does not say whether surrounding whitespace (a file's final newline) is allowed;
  // this reader accepts it and otherwise requires canonical padded base64.
  const trimmed = text.trim()
  const bytes = sodium.from_base64(trimmed, sodium.base64_variants.ORIGINAL)
  check(toBase64(bytes) === trimmed, 'non-canonical base64')
  return bytes
}

export function writePublicKeyFile(keys: PublicKeys): string {
  return toBase64(cat(u8(0x01), keys.encryption, keys.signing))
}
export function readPublicKeyFile(text: string): PublicKeys {
  const bytes = fromBase64(text)
  check(bytes.length === 65 && bytes[0] === 0x01, 'public.key layout')
  const keys = { encryption: bytes.slice(1, 33), signing: bytes.slice(33, 65) }
  check(!allZero(keys.encryption) && !allZero(keys.signing), 'all-zero key')
  return keys
}
export function writeSecretKeyFile(keys: KeySet): string {
  return toBase64(cat(u8(0x81), secretsOf(keys)))
}
export function readSecretKeyFile(text: string): KeySet {
  const bytes = fromBase64(text)
  check(bytes.length === 65 && bytes[0] === 0x81, 'secret.key layout')
  return keySetFromSecrets(bytes.slice(1))
}

// ---- padding ---------------------------------------------------------------------------------

const isBucket = (n: number): boolean => n >= 256 && n <= 1 << 20 && (n & (n - 1)) === 0

export function pad(plaintext: Uint8Array): Uint8Array {
  check(plaintext.length <= 1048575, 'too large to pad')
  let bucket = 256
  while (bucket < plaintext.length + 1) bucket *= 2
  const out = new Uint8Array(bucket)
  out.set(plaintext)
  out[plaintext.length] = 0x80
  return out
}

/** Strips ISO/IEC 7816-4 padding: the last non-zero byte must be 0x80. */
function stripPadding(padded: Uint8Array): Uint8Array {
  let end = padded.length - 1
  while (end >= 0 && padded[end] === 0) end--
  check(end >= 0 && padded[end] === 0x80, 'bad padding')
  return padded.slice(0, end)
}
export function unpad(padded: Uint8Array): Uint8Array {
  check(isBucket(padded.length), 'not a bucket length')
  return stripPadding(padded)
}

// ---- envelopes -------------------------------------------------------------------------------

export const KINDS = [
  'disclosure', 'reporter_message', 'idva_reply', 'idva_note',
  'triage', 'consent', 'referral_package', 'consultation', 'unit_note',
] as const
export type Kind = (typeof KINDS)[number]

// The recipients block (key id || sealed key, per recipient) exactly as it appears in the envelope.
function envelopeAd(kind: number, flags: number, n: number, recipientsBlock: readonly Uint8Array[], caseId: Uint8Array, context: Uint8Array, signerId: Uint8Array): Uint8Array {
  return cat(ascii('sd-envelope-v1'), u8(1), u8(kind), u8(flags), u8(n), u16(caseId.length), caseId, u16(context.length), context, signerId, ...recipientsBlock)
}
const signedMessage = (caseId: Uint8Array, context: Uint8Array, body: Uint8Array): Uint8Array =>
  cat(ascii('sd-envelope-v1-signature'), u16(caseId.length), caseId, u16(context.length), context, body)
const commitmentOf = (contentKey: Uint8Array): Uint8Array => sodium.crypto_generichash(32, ascii('sd-envelope-v1-key-commitment'), contentKey)
// Staff kinds (3 idva_reply, 4 idva_note, 5 triage, 6 consent, 7 referral_package, 9 unit_note) must be signed.
const mustBeSigned = (kind: number): boolean => (kind >= 3 && kind <= 7) || kind === 9
function contextBytes(context: Uint8Array | undefined): Uint8Array {
  const bytes = context ?? new Uint8Array(0)
  check(bytes.length <= 255, 'context too long')
  return bytes
}

export function sealEnvelope(options: {
  kind: Kind
  caseId: string
  plaintext: Uint8Array
  recipients: readonly Uint8Array[]
  signer?: Pair
  context?: Uint8Array
}): Uint8Array {
  const kind = KINDS.indexOf(options.kind) + 1
  check(kind > 0, 'unknown kind')
  check(options.signer !== undefined || !mustBeSigned(kind), 'staff kinds must be signed')
  const caseId = idBytes(options.caseId)
  const context = contextBytes(options.context)
  const n = options.recipients.length
  check(n >= 1 && n <= 16, 'recipient count')
  const ids = options.recipients.map((pk) => keyId('x25519', pk))
  check(new Set(ids.map((id) => sodium.to_hex(id))).size === n, 'duplicate recipient')
  const flags = options.signer ? 1 : 0
  const signerId = options.signer ? keyId('ed25519', options.signer.publicKey) : new Uint8Array(0)

  const contentKey = sodium.randombytes_buf(32)
  const nonce = sodium.randombytes_buf(24)
  const recipients = options.recipients.flatMap((pk, i) => [ids[i]!, sodium.crypto_box_seal(contentKey, pk)])
  const ad = envelopeAd(kind, flags, n, recipients, caseId, context, signerId)
  const ciphertext = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(pad(options.plaintext), ad, null, nonce, contentKey)
  const body = cat(Uint8Array.of(1, kind, flags, n), signerId, ...recipients, nonce, commitmentOf(contentKey), ciphertext)
  if (!options.signer) return body
  return cat(body, sodium.crypto_sign_detached(signedMessage(caseId, context, body), options.signer.privateKey))
}

export function openEnvelope(
  bytes: Uint8Array,
  options: { caseId: string; keys: readonly Pair[]; trustedSigners?: readonly Uint8Array[]; context?: Uint8Array },
): { kind: Kind; plaintext: Uint8Array } {
  const caseId = idBytes(options.caseId)
  const context = contextBytes(options.context)
  check(bytes.length >= 4, 'truncated')
  const [version, kind, flags, n] = [bytes[0]!, bytes[1]!, bytes[2]!, bytes[3]!]
  check(version === 1, 'unsupported version')
  check(kind >= 1 && kind <= KINDS.length, 'unknown kind')
  check(flags === 0 || flags === 1, 'unknown flags')
  check(n >= 1 && n <= 16, 'recipient count')
  const signed = flags === 1
  const signatureAt = bytes.length - (signed ? 64 : 0)
  let at = 4
  const take = (size: number): Uint8Array => {
    check(at + size <= signatureAt, 'truncated')
    at += size
    return bytes.subarray(at - size, at)
  }
  const signerId = signed ? take(16) : new Uint8Array(0)
  const ids: Uint8Array[] = []
  const sealed: Uint8Array[] = []
  for (let i = 0; i < n; i++) {
    ids.push(take(16))
    sealed.push(take(80))
  }
  check(new Set(ids.map((id) => sodium.to_hex(id))).size === n, 'duplicate recipient')
  const nonce = take(24)
  const commitment = take(32)
  const ciphertext = bytes.subarray(at, signatureAt)
  check(isBucket(ciphertext.length - 16), 'ciphertext length is not a bucket plus 16')

  check(signed || !mustBeSigned(kind), 'staff kinds must be signed')
  if (signed) {
    const signer = (options.trustedSigners ?? []).find((pk) => equal(keyId('ed25519', pk), signerId))
    check(signer !== undefined, 'unknown signer')
    const body = bytes.subarray(0, signatureAt)
    check(sodium.crypto_sign_verify_detached(bytes.subarray(signatureAt), signedMessage(caseId, context, body), signer), 'bad signature')
  }

  let contentKey: Uint8Array | undefined
  for (const pair of options.keys) {
    const index = ids.findIndex((id) => equal(id, keyId('x25519', pair.publicKey)))
    if (index < 0) continue
    contentKey = sodium.crypto_box_seal_open(sealed[index]!, pair.publicKey, pair.privateKey)
    break
  }
  check(contentKey !== undefined && contentKey.length === 32, 'not a recipient')
  check(equal(commitmentOf(contentKey), commitment), 'key commitment mismatch')
  const ad = envelopeAd(kind, flags, n, ids.flatMap((id, i) => [id, sealed[i]!]), caseId, context, signerId)
  const padded = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, ciphertext, ad, nonce, contentKey)
  return { kind: KINDS[kind - 1]!, plaintext: unpad(padded) }
}

// ---- evidence files --------------------------------------------------------------------------

const CHUNK = 65536
const SEALED_CHUNK = CHUNK + 17
const MAX_FILE = 26214400
const MAX_CHUNKS = Math.floor(MAX_FILE / CHUNK) + 1 // the 0x80 of a 25 MiB file needs a 401st chunk
const { crypto_secretstream_xchacha20poly1305_TAG_MESSAGE: MESSAGE, crypto_secretstream_xchacha20poly1305_TAG_FINAL: FINAL } = sodium

export interface EvidenceKey {
  readonly fileId: Uint8Array
  readonly key: Uint8Array
}
export const newEvidenceKey = (): EvidenceKey => ({
  fileId: sodium.randombytes_buf(16),
  key: sodium.crypto_secretstream_xchacha20poly1305_keygen(),
})
const evidenceAd = (key: EvidenceKey): Uint8Array => {
  check(key.fileId.length === 16 && key.key.length === 32, 'evidence key')
  return cat(ascii('sd-evidence-v1'), key.fileId)
}

export function encryptEvidence(file: Uint8Array, key: EvidenceKey): Uint8Array {
  check(file.length <= MAX_FILE, 'file too large')
  const ad = evidenceAd(key)
  const padded = new Uint8Array((Math.floor(file.length / CHUNK) + 1) * CHUNK)
  padded.set(file)
  padded[file.length] = 0x80
  const { state, header } = sodium.crypto_secretstream_xchacha20poly1305_init_push(key.key)
  const chunks: Uint8Array[] = []
  for (let at = 0; at < padded.length; at += CHUNK) {
    const tag = at + CHUNK === padded.length ? FINAL : MESSAGE
    chunks.push(sodium.crypto_secretstream_xchacha20poly1305_push(state, padded.subarray(at, at + CHUNK), ad, tag))
  }
  return cat(u8(1), header, ...chunks)
}

export function decryptEvidence(encrypted: Uint8Array, key: EvidenceKey): Uint8Array {
  const ad = evidenceAd(key)
  check(encrypted[0] === 1, 'unsupported version')
  const m = (encrypted.length - 25) / SEALED_CHUNK
  check(Number.isInteger(m) && m >= 1 && m <= MAX_CHUNKS, 'not a whole number of chunks')
  const state = sodium.crypto_secretstream_xchacha20poly1305_init_pull(encrypted.subarray(1, 25), key.key)
  const plain = new Uint8Array(m * CHUNK)
  for (let i = 0; i < m; i++) {
    const at = 25 + i * SEALED_CHUNK
    const chunk = sodium.crypto_secretstream_xchacha20poly1305_pull(state, encrypted.subarray(at, at + SEALED_CHUNK), ad)
    check(chunk !== false, 'chunk does not authenticate')
    check(chunk.tag === (i === m - 1 ? FINAL : MESSAGE), 'wrong tag (truncated?)')
    plain.set(chunk.message, i * CHUNK)
  }
  // "valid padding in the last chunk": the 0x80 must lie in the last chunk.
  const size = (m - 1) * CHUNK + stripPadding(plain.subarray((m - 1) * CHUNK)).length
  check(size <= MAX_FILE, 'file too large')
  return plain.slice(0, size)
}

// ---- case codes ------------------------------------------------------------------------------

// Codes of now: 8 random words from the list without the excluded words, and a check word (v2).
// Codes made before (v1): 7 random words from the whole list, and a check word.
export const CODE_WORDS = WORDS.filter((word) => !EXCLUDED_WORDS.has(word))
const FORMS = {
  2: { words: CODE_WORDS, random: 8, label: 'sd-case-code-check-v2' },
  1: { words: WORDS, random: 7, label: 'sd-case-code-check-v1' },
} as const

export function checkWord(indices: readonly number[], version: 1 | 2 = 2): number {
  const form = FORMS[version]
  check(indices.length === form.random, `${form.random} indices`)
  const h = blake2b(16, cat(ascii(form.label), ...indices.map(u16)))
  return new DataView(h.buffer, h.byteOffset).getUint32(0) % form.words.length
}

export function generateCaseCode(): string[] {
  const indices = Array.from({ length: 8 }, () => sodium.randombytes_uniform(CODE_WORDS.length))
  return [...indices, checkWord(indices)].map((i) => CODE_WORDS[i]!)
}

/** Returns the canonical code ("w1-w2-...-w9", or eight words for a v1 code), or throws. */
export function canonicalCaseCode(input: string): string {
  const words = input.normalize('NFKC').toLowerCase().split(/[^a-z]+/).filter((w) => w !== '')
  check(words.length === 9 || words.length === 8, 'nine words (or eight, for a code of version 1)')
  const version = words.length === 9 ? 2 : 1
  const form = FORMS[version]
  const indices = words.map((w) => form.words.indexOf(w))
  check(indices.every((i) => i >= 0), 'unknown word')
  check(checkWord(indices.slice(0, form.random), version) === indices[form.random], 'check word')
  return words.join('-')
}

export function deriveCaseKeys(input: string): { lookupId: Uint8Array; reply: Pair; auth: Pair } {
  const master = blake2b(32, cat(ascii('sd-case-code-v1'), u8(0), ascii(canonicalCaseCode(input))))
  const reply = sodium.crypto_box_seed_keypair(kdf(32, 2, 'sdcase01', master))
  const auth = sodium.crypto_sign_seed_keypair(kdf(32, 3, 'sdcase01', master))
  return {
    lookupId: kdf(16, 1, 'sdcase01', master),
    reply: { publicKey: reply.publicKey, privateKey: reply.privateKey },
    auth: { publicKey: auth.publicKey, privateKey: auth.privateKey },
  }
}

// ---- staff keys ------------------------------------------------------------------------------

export function deriveStaffSecrets(
  passphrase: string,
  params: { salt: Uint8Array; opsLimit: number; memLimit: number },
): { authVerifier: Uint8Array; keyEncryptionKey: Uint8Array } {
  const { salt, opsLimit, memLimit } = params
  check(salt.length === 16, 'salt length')
  check(Number.isInteger(opsLimit) && opsLimit >= 2 && opsLimit <= 6, 'opslimit out of range')
  check(Number.isInteger(memLimit) && memLimit >= 64 * 2 ** 20 && memLimit <= 256 * 2 ** 20, 'memlimit out of range')
  check([...passphrase.normalize('NFKC')].length >= 12, 'passphrase shorter than 12 characters')
  const master = sumo.crypto_pwhash(32, new TextEncoder().encode(passphrase.normalize('NFKC')), salt, opsLimit, memLimit, sumo.crypto_pwhash_ALG_ARGON2ID13)
  return { authVerifier: kdf(32, 1, 'sdstaff1', master), keyEncryptionKey: kdf(32, 2, 'sdstaff1', master) }
}

function requirePublic(keys: KeySet, expected: PublicKeys): KeySet {
  check(equal(keys.encryption.publicKey, expected.encryption) && equal(keys.signing.publicKey, expected.signing), 'key mismatch')
  return keys
}
const memberAd = (accountId: string): Uint8Array => {
  const id = idBytes(accountId)
  return cat(ascii('sd-member-keys-v1'), u16(id.length), id)
}

export function wrapMemberKeys(keys: KeySet, kek: Uint8Array, accountId: string): Uint8Array {
  const nonce = sodium.randombytes_buf(24)
  return cat(u8(1), nonce, sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(secretsOf(keys), memberAd(accountId), null, nonce, kek))
}
export function unwrapMemberKeys(blob: Uint8Array, kek: Uint8Array, accountId: string, expected: PublicKeys): KeySet {
  check(blob.length === 1 + 24 + 64 + 16 && blob[0] === 1, 'member key blob layout')
  const secrets = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, blob.subarray(25), memberAd(accountId), blob.subarray(1, 25), kek)
  return requirePublic(keySetFromSecrets(secrets), expected)
}

export function wrapGroupKeys(groupKeys: KeySet, groupId: string, recipientPublic: Uint8Array): Uint8Array {
  const id = idBytes(groupId)
  return cat(u8(1), sodium.crypto_box_seal(cat(u16(id.length), id, secretsOf(groupKeys)), recipientPublic))
}
export function unwrapGroupKeys(blob: Uint8Array, recipient: Pair, groupId: string, expected: PublicKeys): KeySet {
  const id = idBytes(groupId)
  check(blob[0] === 1, 'group key blob version')
  const inner = sodium.crypto_box_seal_open(blob.subarray(1), recipient.publicKey, recipient.privateKey)
  // Not stated in the spec, but the only sensible reading: the sealed group id must be the expected one.
  check(inner.length === 2 + id.length + 64 && equal(inner.subarray(0, 2 + id.length), cat(u16(id.length), id)), 'group id')
  return requirePublic(keySetFromSecrets(inner.slice(2 + id.length)), expected)
}

// ---- fingerprints ----------------------------------------------------------------------------

export function fingerprint(x25519Public: Uint8Array, ed25519Public: Uint8Array): string {
  const h = blake2b(32, cat(ascii('sd-fingerprint-v1'), x25519Public, ed25519Public))
  return Array.from({ length: 6 }, (_, i) =>
    (h.subarray(5 * i, 5 * i + 5).reduce((v, b) => v * 256 + b, 0) % 100000).toString().padStart(5, '0'),
  ).join(' ')
}

// ---- key certificates ------------------------------------------------------------------------

function certificateMessage(id: string, generation: number, publicKeys: { encryption: Uint8Array; signing: Uint8Array }): Uint8Array {
  const idb = idBytes(id)
  const gen = new Uint8Array(4)
  new DataView(gen.buffer).setUint32(0, generation)
  return cat(ascii('sd-key-certificate-v1'), u16(idb.length), idb, gen, publicKeys.encryption, publicKeys.signing)
}

export function issueKeyCertificate(issuerPrivate: Uint8Array, id: string, generation: number, publicKeys: { encryption: Uint8Array; signing: Uint8Array }): Uint8Array {
  return sodium.crypto_sign_detached(certificateMessage(id, generation, publicKeys), issuerPrivate)
}

export function verifyKeyCertificate(issuerPublic: Uint8Array, id: string, generation: number, publicKeys: { encryption: Uint8Array; signing: Uint8Array }, certificate: Uint8Array): boolean {
  return sodium.crypto_sign_verify_detached(certificate, certificateMessage(id, generation, publicKeys), issuerPublic)
}
