import t from 'tap'
import fc from 'fast-check'
import { decryptEvidence, encryptedEvidenceSize, encryptEvidence, EVIDENCE_CHUNK_BYTES, EvidenceEncryptor, MAX_EVIDENCE_BYTES, newEvidenceKey } from '../../../crypto/evidence.ts'
import { concat } from '../../../crypto/bytes.ts'
import { loadSodium } from '../../../crypto/sodium.ts'
import { failsWithCryptoError, rejectsWithCryptoError } from '../../helpers/crypto.ts'

const CHUNK = EVIDENCE_CHUNK_BYTES + 17
const HEADER = 25
const key = await newEvidenceKey()

function sample(size: number, seed = 7): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (i * 31 + seed) % 251)
}

t.test('files of every awkward size round-trip, and show only their size to the nearest chunk', async (t) => {
  for (const size of [0, 1, EVIDENCE_CHUNK_BYTES - 1, EVIDENCE_CHUNK_BYTES, EVIDENCE_CHUNK_BYTES + 1, 3 * EVIDENCE_CHUNK_BYTES + 5]) {
    const file = sample(size)
    const encrypted = await encryptEvidence(file, key)
    t.equal(encrypted.length, encryptedEvidenceSize(size), `${size} bytes: predictable encrypted size`)
    t.equal(encrypted.length, HEADER + (Math.floor(size / EVIDENCE_CHUNK_BYTES) + 1) * CHUNK)
    t.same(await decryptEvidence(encrypted, key), file, `${size} bytes round-trip`)
  }
})

t.test('property: streaming in pieces of any size gives a file that decrypts to the original', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: 300_000 }), fc.integer({ min: 1, max: 100_000 }), async (size, piece) => {
      const file = sample(size, size)
      const encryptor = await EvidenceEncryptor.create(key)
      const parts = [encryptor.header]
      for (let offset = 0; offset < size; offset += piece) parts.push(...encryptor.push(file.subarray(offset, offset + piece)))
      parts.push(...encryptor.finish())
      return Buffer.from(await decryptEvidence(concat(...parts), key)).equals(Buffer.from(file))
    }),
    { numRuns: 25 },
  )
})

t.test('truncation, reordering, repetition and swapping are all detected', async (t) => {
  const file = sample(3 * EVIDENCE_CHUNK_BYTES + 100)
  const encrypted = await encryptEvidence(file, key)
  const chunk = (index: number) => encrypted.subarray(HEADER + index * CHUNK, HEADER + (index + 1) * CHUNK)
  const header = encrypted.subarray(0, HEADER)
  await rejectsWithCryptoError(t, decryptEvidence(concat(header, chunk(0), chunk(1), chunk(2)), key), 'truncated', 'the final chunk dropped')
  await rejectsWithCryptoError(t, decryptEvidence(concat(header, chunk(0)), key), 'truncated', 'cut after the first chunk')
  await rejectsWithCryptoError(t, decryptEvidence(header, key), 'truncated', 'only the header')
  await rejectsWithCryptoError(t, decryptEvidence(encrypted.subarray(0, encrypted.length - 1), key), 'malformed', 'cut part-way through a chunk')
  await rejectsWithCryptoError(t, decryptEvidence(concat(header, chunk(1), chunk(0), chunk(2), chunk(3)), key), 'decryption_failed', 'two chunks swapped')
  await rejectsWithCryptoError(t, decryptEvidence(concat(header, chunk(0), chunk(0), chunk(2), chunk(3)), key), 'decryption_failed', 'a chunk repeated')
  await rejectsWithCryptoError(t, decryptEvidence(concat(encrypted, chunk(3)), key), ['decryption_failed', 'malformed'], 'a chunk added after the end')

  const other = await encryptEvidence(sample(3 * EVIDENCE_CHUNK_BYTES + 100, 99), key)
  const otherChunk = other.subarray(HEADER + CHUNK, HEADER + 2 * CHUNK)
  await rejectsWithCryptoError(t, decryptEvidence(concat(header, chunk(0), otherChunk, chunk(2), chunk(3)), key), 'decryption_failed', 'a chunk from another file with the same key')
  await rejectsWithCryptoError(t, decryptEvidence(encrypted, { ...key, fileId: new Uint8Array(16) }), 'decryption_failed', 'the right key but another file id')
  await rejectsWithCryptoError(t, decryptEvidence(encrypted, await newEvidenceKey()), 'decryption_failed', 'another key')
})

t.test('property: any single-byte change is detected', async () => {
  const encrypted = await encryptEvidence(sample(2 * EVIDENCE_CHUNK_BYTES), key)
  await fc.assert(
    fc.asyncProperty(fc.nat({ max: encrypted.length - 1 }), fc.integer({ min: 1, max: 255 }), async (index, delta) => {
      const changed = encrypted.slice()
      changed[index] = (changed[index]! + delta) % 256
      return failsWithCryptoError(() => decryptEvidence(changed, key))
    }),
    { numRuns: 100 },
  )
})

t.test('property: random bytes only ever give the typed error', async () => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 3 * CHUNK }), async (bytes) => failsWithCryptoError(() => decryptEvidence(bytes, key))),
    { numRuns: 200 },
  )
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 3 }), async (chunks) =>
      failsWithCryptoError(() => decryptEvidence(new Uint8Array(HEADER + chunks * CHUNK).fill(1, 0, 1), key)),
    ),
    { numRuns: 10 },
  )
})

t.test('a hand-made stream that decrypts to more than 25 MiB is refused', async (t) => {
  // 401 chunks, the last one nearly full: a writer would never produce it.
  const sodium = await loadSodium()
  const { state, header } = sodium.crypto_secretstream_xchacha20poly1305_init_push(key.key)
  const ad = new Uint8Array([...new TextEncoder().encode('sd-evidence-v1'), ...key.fileId])
  const parts = [Uint8Array.of(1), header]
  const full = new Uint8Array(EVIDENCE_CHUNK_BYTES)
  for (let i = 0; i < 400; i++) parts.push(sodium.crypto_secretstream_xchacha20poly1305_push(state as never, full, ad, sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE))
  const last = new Uint8Array(EVIDENCE_CHUNK_BYTES)
  last[EVIDENCE_CHUNK_BYTES - 1] = 0x80
  parts.push(sodium.crypto_secretstream_xchacha20poly1305_push(state as never, last, ad, sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL))
  await rejectsWithCryptoError(t, decryptEvidence(concat(...parts), key), 'too_large')
})

t.test('wrong types give the typed error, not a TypeError', async (t) => {
  for (const value of [undefined, null, 'text', 42, {}] as never[]) {
    await rejectsWithCryptoError(t, decryptEvidence(new Uint8Array(100), value))
    await rejectsWithCryptoError(t, decryptEvidence(value, key))
    await rejectsWithCryptoError(t, encryptEvidence(value, key))
  }
})

t.test('size limits', async (t) => {
  const encryptor = await EvidenceEncryptor.create(key)
  encryptor.push(new Uint8Array(MAX_EVIDENCE_BYTES))
  t.throws(() => encryptor.push(new Uint8Array(1)), { name: 'CryptoError', code: 'too_large' }, 'a byte over 25 MiB is refused')
  t.throws(() => encryptor.finish(), { name: 'CryptoError', code: 'malformed' }, 'and the stream cannot be finished after that')
  await rejectsWithCryptoError(t, decryptEvidence(new Uint8Array(encryptedEvidenceSize(MAX_EVIDENCE_BYTES) + CHUNK), key), 'too_large')
  await rejectsWithCryptoError(t, decryptEvidence(new Uint8Array(HEADER + CHUNK), { fileId: new Uint8Array(3), key: key.key }), 'malformed')
  const largest = await encryptEvidence(new Uint8Array(MAX_EVIDENCE_BYTES), key)
  t.equal((await decryptEvidence(largest, key)).length, MAX_EVIDENCE_BYTES, 'a file of exactly 25 MiB is fine')
})
