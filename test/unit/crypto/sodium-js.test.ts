import t from 'tap'
import fc from 'fast-check'
import sodium from 'libsodium-wrappers'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ED25519_TORSION_SUBGROUP, ed25519 } from '@noble/curves/ed25519.js'
import { bytesToNumberLE, hexToBytes, numberToBytesLE } from '@noble/curves/utils.js'
import { sha512 } from '@noble/hashes/sha2.js'
import { createSodiumJs } from '../../../crypto/sodium-js.ts'
import * as realSodiumModule from '../../../crypto/sodium.ts'
import { freeSecretstreamState, type SodiumSubset } from '../../../crypto/sodium.ts'
import * as realCrypto from '../../../crypto/index.ts'
import * as realStaffKeys from '../../../crypto/staff-keys.ts'
import { base64url } from '../../../crypto/bytes.ts'

/**
 * crypto/sodium-js.ts (libsodium's functions in plain JavaScript, from the noble libraries) against
 * libsodium-wrappers itself: the same bytes from the same inputs, each opening what the other
 * sealed, the same refusals; then the project's own crypto code and known-answer vectors run on it.
 */

await sodium.ready
const js = createSodiumJs()
const lib: SodiumSubset = sodium

// The project's crypto code with loadSodium() giving this build (set up before any test starts).
/** What the project's code may touch: the subset, and nothing else. */
const used = new Set<string>()
const strict = new Proxy(js, {
  get(target, name, receiver) {
    if (name === 'then') return undefined
    if (typeof name === 'string' && !(name in target)) throw new Error(`${name} is not in the JavaScript build`)
    if (typeof name === 'string') used.add(name)
    return Reflect.get(target, name, receiver) as unknown
  },
})
const mocks = { '../../../crypto/sodium.ts': { ...realSodiumModule, loadSodium: async () => strict } }
const onJs = await t.mockImport<typeof realCrypto>('../../../crypto/index.ts', mocks)
const staffOnJs = await t.mockImport<typeof realStaffKeys>('../../../crypto/staff-keys.ts', mocks)

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b))
const utf8 = (text: string) => new TextEncoder().encode(text)

/** 'ok' or the class of what `work` throws. */
function outcome(work: () => unknown): string {
  try {
    work()
    return 'ok'
  } catch (error) {
    return error instanceof Error ? error.constructor.name : typeof error
  }
}

function tamper(bytes: Uint8Array, index: number, delta: number): Uint8Array {
  const changed = bytes.slice()
  changed[index] = (changed[index]! + delta) % 256
  return changed
}

const bytes = (minLength: number, maxLength: number) => fc.uint8Array({ minLength, maxLength })
const key32 = bytes(32, 32)
const delta = fc.integer({ min: 1, max: 255 })

t.test('randombytes_buf and randombytes_uniform', async (t) => {
  for (const length of [0, 1, 32, 65_536, 65_537, 200_000]) {
    const out = js.randombytes_buf(length)
    t.equal(out.length, length, `${length} bytes`)
    if (length >= 32) t.notOk(out.every((byte) => byte === 0), 'not all zeros')
  }
  const big = js.randombytes_buf(3 * 65_536)
  t.notOk(big.subarray(2 * 65_536).every((byte) => byte === 0), 'every 64 KiB chunk is filled')
  t.not(hex(js.randombytes_buf(32)), hex(js.randombytes_buf(32)))

  for (const upper of [0, 1]) t.equal(js.randombytes_uniform(upper), 0, `upper bound ${upper} gives 0, as libsodium`)
  for (const upper of [2, 3, 10, 1000, 2 ** 31 - 1]) {
    const draws = Array.from({ length: 2000 }, () => js.randombytes_uniform(upper))
    t.ok(draws.every((value) => Number.isInteger(value) && value >= 0 && value < upper), `in [0, ${upper})`)
  }
  const counts = new Array<number>(6).fill(0)
  for (let i = 0; i < 6000; i++) counts[js.randombytes_uniform(6)]!++
  t.ok(
    counts.every((count) => count > 800 && count < 1200),
    `roughly uniform over 0..5: ${counts.join(' ')}`,
  )
  const large = Array.from({ length: 4000 }, () => js.randombytes_uniform(3 * 2 ** 29))
  t.ok(large.some((value) => value >= 2 ** 30), 'reaches the top of a bound that is not a power of two')

  for (const bad of [-1, 1.5, 2 ** 32, '3', null]) {
    t.equal(outcome(() => js.randombytes_uniform(bad as never)), outcome(() => lib.randombytes_uniform(bad as never)), `upper bound ${String(bad)}: same refusal`)
    t.equal(outcome(() => js.randombytes_buf(bad as never)), outcome(() => lib.randombytes_buf(bad as never)), `length ${String(bad)}: same refusal`)
  }
  t.throws(() => js.randombytes_buf(4, 'hex' as never), 'string output formats are not offered')
})

t.test('crypto_generichash: BLAKE2b, with and without a key', async (t) => {
  await fc.assert(
    fc.property(fc.integer({ min: 1, max: 64 }), bytes(0, 400), fc.option(bytes(0, 64)), (length, message, key) => {
      return same(js.crypto_generichash(length, message, key), lib.crypto_generichash(length, message, key))
    }),
    { numRuns: 200 },
  )
  t.same(js.crypto_generichash(32, 'text, as UTF-8 ✓', null), lib.crypto_generichash(32, 'text, as UTF-8 ✓', null), 'a string message')
  t.same(js.crypto_generichash(32, new Uint8Array(0), undefined as never), lib.crypto_generichash(32, new Uint8Array(0), undefined as never), 'undefined key')
  t.same(js.crypto_generichash(16, utf8('abc'), new Uint8Array(0)), lib.crypto_generichash(16, utf8('abc'), null), 'an empty key is no key')
  // The RFC 7693 test vector.
  t.equal(hex(js.crypto_generichash(64, utf8('abc'), null)), 'ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923')
  for (const [length, key] of [[0, null], [65, null], [32, new Uint8Array(65)]] as const) {
    const theirs = outcome(() => lib.crypto_generichash(length, utf8('x'), key))
    t.not(theirs, 'ok')
    t.equal(outcome(() => js.crypto_generichash(length, utf8('x'), key)), theirs, `length ${length}, key ${key?.length ?? 'none'}: same refusal`)
  }
})

t.test('crypto_kdf_derive_from_key', async (t) => {
  const context = fc.array(fc.integer({ min: 0x20, max: 0x7e }), { minLength: 8, maxLength: 8 }).map((codes) => String.fromCharCode(...codes))
  const id = fc.oneof(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }))
  await fc.assert(
    fc.property(fc.integer({ min: 16, max: 64 }), id, context, key32, (length, subkeyId, ctx, key) =>
      same(js.crypto_kdf_derive_from_key(length, subkeyId, ctx, key), lib.crypto_kdf_derive_from_key(length, subkeyId, ctx, key)),
    ),
    { numRuns: 150 },
  )
  const key = lib.randombytes_buf(32)
  const seen = new Set<string>()
  for (const ctx of ['sdcase01', 'Examples', '________', 'é123456']) {
    for (const subkeyId of [0, 1, 2, 3, 255, 256, 2 ** 31 - 1, 2n ** 31n, 2n ** 32n, 2n ** 32n + 1n, 2n ** 63n, 2n ** 64n - 1n]) {
      for (const length of [16, 32, 64]) {
        const ours = js.crypto_kdf_derive_from_key(length, subkeyId, ctx, key)
        t.same(ours, lib.crypto_kdf_derive_from_key(length, subkeyId, ctx, key), `${ctx} #${subkeyId} (${length} bytes)`)
        seen.add(hex(ours))
      }
    }
  }
  t.equal(seen.size, 4 * 12 * 3, 'every context, id and length gives another key')
  t.same(js.crypto_kdf_derive_from_key(32, 7, 'sdcase01', key), lib.crypto_kdf_derive_from_key(32, 7n, 'sdcase01', key), 'a number and a bigint id agree')
  for (const [ctx, subkeyId] of [['short', 1], ['ninechars', 1], ['sdcase01', -1], ['sdcase01', 1.5], ['sdcase01', 2n ** 64n], ['sdcase01', 2 ** 32]] as const) {
    const theirs = outcome(() => lib.crypto_kdf_derive_from_key(32, subkeyId as never, ctx, key))
    t.equal(theirs, 'TypeError')
    t.equal(outcome(() => js.crypto_kdf_derive_from_key(32, subkeyId as never, ctx, key)), theirs, `ctx ${ctx}, id ${String(subkeyId)}: same refusal`)
  }
  t.equal(outcome(() => js.crypto_kdf_derive_from_key(32, 1, 'sdcase01', new Uint8Array(31))), 'TypeError', 'a short key')
  // libsodium-wrappers returns uninitialised memory here (it ignores libsodium's refusal): this throws.
  t.equal(outcome(() => js.crypto_kdf_derive_from_key(15, 1, 'sdcase01', key)), 'Error')
  t.equal(outcome(() => js.crypto_kdf_derive_from_key(65, 1, 'sdcase01', key)), 'Error')
})

t.test('Ed25519: key pairs, signatures, verification', async (t) => {
  await fc.assert(
    fc.property(key32, bytes(0, 300), (seed, message) => {
      const ours = js.crypto_sign_seed_keypair(seed)
      const theirs = lib.crypto_sign_seed_keypair(seed)
      if (!same(ours.publicKey, theirs.publicKey) || !same(ours.privateKey, theirs.privateKey) || ours.keyType !== theirs.keyType) return false
      const signature = js.crypto_sign_detached(message, ours.privateKey)
      if (!same(signature, lib.crypto_sign_detached(message, theirs.privateKey))) return false
      return js.crypto_sign_verify_detached(signature, message, ours.publicKey) && lib.crypto_sign_verify_detached(signature, message, ours.publicKey)
    }),
    { numRuns: 60 },
  )

  const pair = js.crypto_sign_keypair()
  t.equal(pair.keyType, 'ed25519')
  t.equal(pair.privateKey.length, 64)
  t.same(pair.privateKey.subarray(32), pair.publicKey, 'the secret key is seed || public key')
  t.same(lib.crypto_sign_seed_keypair(pair.privateKey.subarray(0, 32)).publicKey, pair.publicKey, 'a random key pair libsodium agrees with')
  const message = utf8('sign me')
  t.ok(lib.crypto_sign_verify_detached(js.crypto_sign_detached(message, pair.privateKey), message, pair.publicKey), 'libsodium verifies ours')
  const theirPair = lib.crypto_sign_keypair()
  t.ok(js.crypto_sign_verify_detached(lib.crypto_sign_detached(message, theirPair.privateKey), message, theirPair.publicKey), 'we verify libsodium’s')
  t.same(js.crypto_sign_detached('a string', pair.privateKey), lib.crypto_sign_detached('a string', pair.privateKey), 'a string message')

  await fc.assert(
    fc.property(bytes(0, 200), fc.nat({ max: 63 }), delta, (message, index, change) => {
      const signature = lib.crypto_sign_detached(message, theirPair.privateKey)
      const changed = tamper(signature, index, change)
      return !js.crypto_sign_verify_detached(changed, message, theirPair.publicKey) && !lib.crypto_sign_verify_detached(changed, message, theirPair.publicKey)
    }),
    { numRuns: 100 },
  )
  await fc.assert(
    fc.property(bytes(1, 200), fc.nat(), delta, (message, at, change) => {
      const signature = js.crypto_sign_detached(message, pair.privateKey)
      const changed = tamper(message, at % message.length, change)
      return !js.crypto_sign_verify_detached(signature, changed, pair.publicKey) && !lib.crypto_sign_verify_detached(signature, changed, pair.publicKey)
    }),
    { numRuns: 50 },
  )
  await fc.assert(
    fc.property(bytes(64, 64), bytes(0, 50), key32, (signature, message, publicKey) => js.crypto_sign_verify_detached(signature, message, publicKey) === lib.crypto_sign_verify_detached(signature, message, publicKey)),
    { numRuns: 100 },
  )
  t.notOk(js.crypto_sign_verify_detached(js.crypto_sign_detached(message, pair.privateKey), message, theirPair.publicKey), 'another key')
  for (const [signature, publicKey] of [[new Uint8Array(63), pair.publicKey], [new Uint8Array(64), new Uint8Array(31)]] as const) {
    const theirs = outcome(() => lib.crypto_sign_verify_detached(signature, message, publicKey))
    t.equal(theirs, 'TypeError')
    t.equal(outcome(() => js.crypto_sign_verify_detached(signature, message, publicKey)), theirs, 'same refusal of wrong lengths')
  }
  t.equal(outcome(() => js.crypto_sign_detached(message, new Uint8Array(32))), outcome(() => lib.crypto_sign_detached(message, new Uint8Array(32))), 'a 32-byte secret key')
  // libsodium would sign with the stray public key half and return a signature valid under no key.
  t.throws(() => js.crypto_sign_detached(message, Uint8Array.from([...pair.privateKey.subarray(0, 32), ...theirPair.publicKey])), 'a secret key whose halves do not belong together')
})

t.test('Ed25519 verification refuses exactly what libsodium 1.0.22 refuses', async (t) => {
  const { Point } = ed25519
  const Fn = Point.Fn
  const seed = lib.randombytes_buf(32)
  const { scalar, point } = ed25519.utils.getExtendedPublicKey(seed)
  const publicKey = point.toBytes()
  const challenge = (r: Uint8Array, pk: Uint8Array, message: Uint8Array) => Fn.create(bytesToNumberLE(sha512(Uint8Array.from([...r, ...pk, ...message]))))
  const signature = (r: Uint8Array, s: bigint) => Uint8Array.from([...r, ...numberToBytesLE(s, 32)])

  // S not reduced (S + L): both refuse.
  const message = utf8('canonical S')
  const good = lib.crypto_sign_detached(message, lib.crypto_sign_seed_keypair(seed).privateKey)
  const big = signature(good.subarray(0, 32), bytesToNumberLE(good.subarray(32)) + Fn.ORDER)
  t.notOk(lib.crypto_sign_verify_detached(big, message, publicKey))
  t.notOk(js.crypto_sign_verify_detached(big, message, publicKey), 'non-canonical S')

  // Small-order public keys and R: every encoding in the torsion subgroup.
  for (const torsion of ED25519_TORSION_SUBGROUP) {
    const encoded = hexToBytes(torsion)
    const bogus = signature(encoded, 0n)
    t.equal(js.crypto_sign_verify_detached(bogus, message, encoded), lib.crypto_sign_verify_detached(bogus, message, encoded), `small-order key ${torsion.slice(0, 8)}…`)
  }
  // R the identity and S = k·a: the cofactorless equation holds, but libsodium refuses a small-order R.
  const identity = Point.ZERO.toBytes()
  const smallR = signature(identity, Fn.mul(challenge(identity, publicKey, message), scalar))
  t.ok(ed25519.verify(smallR, message, publicKey, { zip215: false }), 'noble alone accepts it')
  t.notOk(lib.crypto_sign_verify_detached(smallR, message, publicKey), 'libsodium refuses it')
  t.notOk(js.crypto_sign_verify_detached(smallR, message, publicKey), 'and so do we')

  // A public key with a small-order component (A + T, T of order 8), signed by its owner: the
  // cofactored equation (noble) holds for every message, the cofactorless one (libsodium) only
  // when 8 divides the challenge.
  const torsion = Point.fromBytes(hexToBytes(ED25519_TORSION_SUBGROUP[1]!), true)
  t.notOk(torsion.multiplyUnsafe(4n).is0(), 'T has order 8')
  const mixed = point.add(torsion).toBytes()
  let differs = 0
  let accepted = 0
  for (let i = 0; i < 40; i++) {
    const m = utf8(`message ${i}`)
    const r = Fn.create(bytesToNumberLE(lib.randombytes_buf(64)))
    const R = Point.BASE.multiply(r).toBytes()
    const k = challenge(R, mixed, m)
    const sig = signature(R, Fn.add(r, Fn.mul(k, scalar)))
    const theirs = lib.crypto_sign_verify_detached(sig, m, mixed)
    t.equal(theirs, k % 8n === 0n, 'libsodium: cofactorless')
    t.equal(js.crypto_sign_verify_detached(sig, m, mixed), theirs, 'ours agrees')
    if (ed25519.verify(sig, m, mixed, { zip215: false }) !== theirs) differs++
    if (theirs) accepted++
  }
  t.ok(differs > 0, `noble's verify alone would have differed ${differs} times in 40`)
  t.comment(`mixed-order key: ${accepted} of 40 accepted by both`)
})

t.test('X25519 and crypto_box key pairs', async (t) => {
  await fc.assert(
    fc.property(key32, (secret) => {
      if (!same(js.crypto_scalarmult_base(secret), lib.crypto_scalarmult_base(secret))) return false
      const ours = js.crypto_box_seed_keypair(secret)
      const theirs = lib.crypto_box_seed_keypair(secret)
      return same(ours.publicKey, theirs.publicKey) && same(ours.privateKey, theirs.privateKey) && ours.keyType === theirs.keyType
    }),
    { numRuns: 100 },
  )
  const pair = js.crypto_box_keypair()
  t.equal(pair.keyType, 'x25519')
  t.equal(pair.privateKey.length, 32)
  t.same(lib.crypto_scalarmult_base(pair.privateKey), pair.publicKey)
  t.not(hex(pair.privateKey), hex(js.crypto_box_keypair().privateKey))
  for (const secret of [new Uint8Array(32), new Uint8Array(32).fill(255)]) t.same(js.crypto_scalarmult_base(secret), lib.crypto_scalarmult_base(secret), 'extreme scalars')
  t.equal(outcome(() => js.crypto_scalarmult_base(new Uint8Array(31))), outcome(() => lib.crypto_scalarmult_base(new Uint8Array(31))))
  t.equal(outcome(() => js.crypto_box_seed_keypair(new Uint8Array(33))), outcome(() => lib.crypto_box_seed_keypair(new Uint8Array(33))))
})

t.test('crypto_box_seal: each opens what the other sealed, and nothing altered', async (t) => {
  const recipient = lib.crypto_box_keypair()
  await fc.assert(
    fc.property(bytes(0, 300), (message) => {
      const ours = js.crypto_box_seal(message, recipient.publicKey)
      const theirs = lib.crypto_box_seal(message, recipient.publicKey)
      return (
        ours.length === message.length + 48 &&
        same(lib.crypto_box_seal_open(ours, recipient.publicKey, recipient.privateKey), message) &&
        same(js.crypto_box_seal_open(theirs, recipient.publicKey, recipient.privateKey), message) &&
        same(js.crypto_box_seal_open(ours, recipient.publicKey, recipient.privateKey), message)
      )
    }),
    { numRuns: 60 },
  )
  const sealed = [js.crypto_box_seal(lib.randombytes_buf(32), recipient.publicKey), lib.crypto_box_seal(lib.randombytes_buf(32), recipient.publicKey)]
  await fc.assert(
    fc.property(fc.nat({ max: 1 }), fc.nat({ max: 32 + 48 - 1 }), delta, (which, index, change) => {
      const changed = tamper(sealed[which]!, index, change)
      return (
        outcome(() => js.crypto_box_seal_open(changed, recipient.publicKey, recipient.privateKey)) === 'Error' &&
        outcome(() => lib.crypto_box_seal_open(changed, recipient.publicKey, recipient.privateKey)) === 'Error'
      )
    }),
    { numRuns: 150 },
  )
  const other = js.crypto_box_keypair()
  for (const box of sealed) {
    t.equal(outcome(() => js.crypto_box_seal_open(box, other.publicKey, other.privateKey)), 'Error', 'another recipient')
    t.equal(outcome(() => js.crypto_box_seal_open(box, other.publicKey, recipient.privateKey)), 'Error', 'the right secret key with another public key (it is in the nonce)')
    t.equal(outcome(() => lib.crypto_box_seal_open(box, other.publicKey, recipient.privateKey)), 'Error')
  }
  t.same(lib.crypto_box_seal_open(js.crypto_box_seal('a string', recipient.publicKey), recipient.publicKey, recipient.privateKey), utf8('a string'))
  for (const [ciphertext, publicKey, privateKey] of [
    [new Uint8Array(47), recipient.publicKey, recipient.privateKey],
    [sealed[0]!, new Uint8Array(31), recipient.privateKey],
    [sealed[0]!, recipient.publicKey, new Uint8Array(33)],
  ] as const) {
    const theirs = outcome(() => lib.crypto_box_seal_open(ciphertext, publicKey, privateKey))
    t.equal(theirs, 'TypeError')
    t.equal(outcome(() => js.crypto_box_seal_open(ciphertext, publicKey, privateKey)), theirs, 'same refusal of wrong lengths')
  }
  // Low-order public keys: libsodium refuses to seal to them, and to open what claims one as its sender.
  for (const low of [new Uint8Array(32), Uint8Array.of(1, ...new Uint8Array(31))]) {
    t.equal(outcome(() => lib.crypto_box_seal(utf8('x'), low)), 'Error')
    t.equal(outcome(() => js.crypto_box_seal(utf8('x'), low)), 'Error', 'sealing to a low-order key')
    const forged = Uint8Array.from([...low, ...new Uint8Array(17)])
    t.equal(outcome(() => js.crypto_box_seal_open(forged, recipient.publicKey, recipient.privateKey)), outcome(() => lib.crypto_box_seal_open(forged, recipient.publicKey, recipient.privateKey)))
  }
})

t.test('crypto_aead_xchacha20poly1305_ietf: identical ciphertexts, both ways, no alteration', async (t) => {
  await fc.assert(
    fc.property(bytes(0, 400), fc.option(bytes(0, 100)), bytes(24, 24), key32, (message, ad, nonce, key) => {
      const ours = js.crypto_aead_xchacha20poly1305_ietf_encrypt(message, ad, null, nonce, key)
      const theirs = lib.crypto_aead_xchacha20poly1305_ietf_encrypt(message, ad, null, nonce, key)
      return same(ours, theirs) && same(js.crypto_aead_xchacha20poly1305_ietf_decrypt(null, theirs, ad, nonce, key), message) && same(lib.crypto_aead_xchacha20poly1305_ietf_decrypt(null, ours, ad, nonce, key), message)
    }),
    { numRuns: 150 },
  )
  const key = js.crypto_aead_xchacha20poly1305_ietf_keygen()
  t.equal(key.length, 32)
  const nonce = js.randombytes_buf(24)
  const ad = utf8('associated')
  const ciphertext = js.crypto_aead_xchacha20poly1305_ietf_encrypt(utf8('secret message'), ad, null, nonce, key)
  await fc.assert(
    fc.property(fc.nat({ max: ciphertext.length - 1 }), delta, (index, change) => {
      const changed = tamper(ciphertext, index, change)
      return (
        outcome(() => js.crypto_aead_xchacha20poly1305_ietf_decrypt(null, changed, ad, nonce, key)) === 'Error' &&
        outcome(() => lib.crypto_aead_xchacha20poly1305_ietf_decrypt(null, changed, ad, nonce, key)) === 'Error'
      )
    }),
    { numRuns: 100 },
  )
  for (const [c, a, n, k, what] of [
    [ciphertext, utf8('other'), nonce, key, 'other associated data'],
    [ciphertext, ad, js.randombytes_buf(24), key, 'another nonce'],
    [ciphertext, ad, nonce, js.randombytes_buf(32), 'another key'],
    [ciphertext, null, nonce, key, 'no associated data'],
  ] as const) {
    t.equal(outcome(() => js.crypto_aead_xchacha20poly1305_ietf_decrypt(null, c, a, n, k)), 'Error', what)
    t.equal(outcome(() => lib.crypto_aead_xchacha20poly1305_ietf_decrypt(null, c, a, n, k)), 'Error')
  }
  t.same(js.crypto_aead_xchacha20poly1305_ietf_encrypt('text', 'ad', null, nonce, key), lib.crypto_aead_xchacha20poly1305_ietf_encrypt('text', 'ad', null, nonce, key), 'strings as UTF-8')
  t.same(js.crypto_aead_xchacha20poly1305_ietf_encrypt(utf8('x'), new Uint8Array(0), null, nonce, key), js.crypto_aead_xchacha20poly1305_ietf_encrypt(utf8('x'), null, null, nonce, key), 'empty and absent associated data are the same')
  for (const [c, n, k] of [
    [new Uint8Array(15), nonce, key],
    [ciphertext, new Uint8Array(12), key],
    [ciphertext, nonce, new Uint8Array(16)],
  ] as const) {
    const theirs = outcome(() => lib.crypto_aead_xchacha20poly1305_ietf_decrypt(null, c, ad, n, k))
    t.equal(theirs, 'TypeError')
    t.equal(outcome(() => js.crypto_aead_xchacha20poly1305_ietf_decrypt(null, c, ad, n, k)), theirs, 'same refusal of wrong lengths')
  }
  t.same(js.crypto_aead_xchacha20poly1305_ietf_decrypt(null, js.crypto_aead_xchacha20poly1305_ietf_encrypt(new Uint8Array(0), null, null, nonce, key), null, nonce, key), new Uint8Array(0), 'an empty message')
})

// ---- secretstream ----

interface Chunk {
  readonly message: Uint8Array
  readonly ad: Uint8Array | null
  readonly tag: number
}

const libHeap = () => (sodium as unknown as { libsodium: { HEAPU8: Uint8Array } }).libsodium.HEAPU8

function pushAll(s: SodiumSubset, state: unknown, chunks: readonly Chunk[]): Uint8Array[] {
  return chunks.map((chunk) => s.crypto_secretstream_xchacha20poly1305_push(state as never, chunk.message, chunk.ad, chunk.tag))
}

/** Pulls every chunk; the index of the first that fails, or the messages and tags. */
function pullAll(s: SodiumSubset, header: Uint8Array, key: Uint8Array, ciphertexts: readonly Uint8Array[], ads: readonly (Uint8Array | null)[]): { message: Uint8Array; tag: number }[] | number {
  const state = s.crypto_secretstream_xchacha20poly1305_init_pull(header, key)
  try {
    const out: { message: Uint8Array; tag: number }[] = []
    for (const [index, ciphertext] of ciphertexts.entries()) {
      const result = s.crypto_secretstream_xchacha20poly1305_pull(state, ciphertext, ads[index] ?? null)
      if (result === false) return index
      out.push(result)
    }
    return out
  } finally {
    freeSecretstreamState(s, state)
  }
}

function matches(result: ReturnType<typeof pullAll>, chunks: readonly Chunk[]): boolean {
  return typeof result !== 'number' && result.length === chunks.length && result.every((item, index) => item.tag === chunks[index]!.tag && same(item.message, chunks[index]!.message))
}

const chunkArbitrary = fc.record({
  message: fc.oneof(bytes(0, 200), fc.constantFrom(0, 1, 15, 16, 17, 63, 64, 65).map((length) => new Uint8Array(length).fill(length))),
  ad: fc.option(bytes(0, 40)),
  tag: fc.constantFrom(0, 0, 0, 1, 2),
})
const streamArbitrary = fc.tuple(fc.array(chunkArbitrary, { maxLength: 8 }), bytes(0, 100), fc.option(bytes(0, 40))).map(([chunks, last, ad]) => [...chunks, { message: last, ad, tag: 3 }])

t.test('secretstream: identical bytes from identical states, and each reads the other', async (t) => {
  t.equal(js.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE, lib.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE)
  t.equal(js.crypto_secretstream_xchacha20poly1305_TAG_PUSH, lib.crypto_secretstream_xchacha20poly1305_TAG_PUSH)
  t.equal(js.crypto_secretstream_xchacha20poly1305_TAG_REKEY, lib.crypto_secretstream_xchacha20poly1305_TAG_REKEY)
  t.equal(js.crypto_secretstream_xchacha20poly1305_TAG_FINAL, lib.crypto_secretstream_xchacha20poly1305_TAG_FINAL)
  t.equal(js.crypto_secretstream_xchacha20poly1305_keygen().length, 32)

  await fc.assert(
    fc.property(streamArbitrary, key32, bytes(24, 24), (chunks, key, header) => {
      // A state made by init_pull from a header is the state init_push made with it: push from both.
      const ourState = js.crypto_secretstream_xchacha20poly1305_init_pull(header, key)
      const theirState = lib.crypto_secretstream_xchacha20poly1305_init_pull(header, key)
      const ours = pushAll(js, ourState, chunks)
      const theirs = pushAll(lib, theirState, chunks)
      freeSecretstreamState(lib, theirState)
      const ads = chunks.map((chunk) => chunk.ad)
      return ours.every((c, i) => same(c, theirs[i]!)) && matches(pullAll(lib, header, key, ours, ads), chunks) && matches(pullAll(js, header, key, theirs, ads), chunks)
    }),
    { numRuns: 60 },
  )

  // Real streams from init_push, with empty and 64 KiB chunks, both directions.
  const key = lib.crypto_secretstream_xchacha20poly1305_keygen()
  const ad = utf8('sd-evidence-v1 and a file id')
  const chunks: Chunk[] = [0, 65_536, 1, 65_536, 0, 1000, 65_536].map((length, index, all) => ({
    message: lib.randombytes_buf(length),
    ad,
    tag: index === all.length - 1 ? 3 : 0,
  }))
  for (const [writer, reader, names] of [
    [js, lib, 'ours, read by libsodium'],
    [lib, js, 'libsodium’s, read by ours'],
  ] as const) {
    const { state, header } = writer.crypto_secretstream_xchacha20poly1305_init_push(key)
    t.equal(header.length, 24)
    const ciphertexts = pushAll(writer, state, chunks)
    freeSecretstreamState(writer, state)
    t.same(ciphertexts.map((c) => c.length), chunks.map((chunk) => chunk.message.length + 17))
    const ads = chunks.map(() => ad)
    t.ok(matches(pullAll(reader, header, key, ciphertexts, ads), chunks), names)
    t.ok(matches(pullAll(writer, header, key, ciphertexts, ads), chunks), `${names}: and by the writer`)
    const [c0, c1, c2] = ciphertexts
    for (const reading of [reader, writer]) {
      t.equal(pullAll(reading, header, key, [c1!, c0!], ads), 0, 'reordered chunks fail')
      t.equal(pullAll(reading, header, key, [c0!, c2!], ads), 1, 'a dropped chunk fails')
      t.equal(pullAll(reading, header, key, [c0!, c0!], ads), 1, 'a repeated chunk fails')
      t.equal(pullAll(reading, header, key, [c0!], [utf8('another file')]), 0, 'other associated data fails')
      t.equal(pullAll(reading, js.randombytes_buf(24), key, [c0!], ads), 0, 'another header fails')
      t.equal(pullAll(reading, header, js.randombytes_buf(32), [c0!], ads), 0, 'another key fails')
    }
  }
})

t.test('secretstream: any altered byte fails on both, and a failed pull leaves the state as it was', async (t) => {
  const key = js.crypto_secretstream_xchacha20poly1305_keygen()
  const { state, header } = js.crypto_secretstream_xchacha20poly1305_init_push(key)
  const chunks: Chunk[] = [
    { message: js.randombytes_buf(100), ad: null, tag: 0 },
    { message: js.randombytes_buf(40), ad: utf8('ad'), tag: 2 },
    { message: new Uint8Array(0), ad: null, tag: 3 },
  ]
  const ciphertexts = pushAll(js, state, chunks)
  await fc.assert(
    fc.property(fc.nat({ max: 2 }), fc.nat(), delta, (which, at, change) => {
      const changed = ciphertexts.map((c, i) => (i === which ? tamper(c, at % c.length, change) : c))
      const ads = chunks.map((chunk) => chunk.ad)
      return pullAll(js, header, key, changed, ads) === which && pullAll(lib, header, key, changed, ads) === which
    }),
    { numRuns: 150 },
  )
  for (const s of [js, lib]) {
    const pulling = s.crypto_secretstream_xchacha20poly1305_init_pull(header, key)
    t.equal(s.crypto_secretstream_xchacha20poly1305_pull(pulling, tamper(ciphertexts[0]!, 5, 1), null), false, 'pull returns false, as libsodium-wrappers')
    t.equal(s.crypto_secretstream_xchacha20poly1305_pull(pulling, ciphertexts[1]!, utf8('ad')), false)
    const first = s.crypto_secretstream_xchacha20poly1305_pull(pulling, ciphertexts[0]!, null)
    t.ok(first !== false && same(first.message, chunks[0]!.message), 'then the right chunk still opens')
    freeSecretstreamState(s, pulling)
  }
  for (const cipher of [new Uint8Array(16), new Uint8Array(0)]) {
    const theirs = outcome(() => lib.crypto_secretstream_xchacha20poly1305_pull(lib.crypto_secretstream_xchacha20poly1305_init_pull(header, key), cipher, null))
    t.equal(theirs, 'TypeError')
    t.equal(outcome(() => js.crypto_secretstream_xchacha20poly1305_pull(js.crypto_secretstream_xchacha20poly1305_init_pull(header, key), cipher, null)), theirs, `${cipher.length} bytes: too short`)
  }
  for (const [h, k] of [
    [new Uint8Array(23), key],
    [header, new Uint8Array(31)],
  ] as const) {
    t.equal(outcome(() => js.crypto_secretstream_xchacha20poly1305_init_pull(h, k)), outcome(() => lib.crypto_secretstream_xchacha20poly1305_init_pull(h, k)), 'same refusal of wrong lengths')
  }
  t.equal(outcome(() => js.crypto_secretstream_xchacha20poly1305_push(state, utf8('x'), null, -1)), outcome(() => lib.crypto_secretstream_xchacha20poly1305_push(lib.crypto_secretstream_xchacha20poly1305_init_push(key).state, utf8('x'), null, -1)), 'a negative tag')
  t.equal(outcome(() => js.crypto_secretstream_xchacha20poly1305_push(null as never, utf8('x'), null, 0)), 'TypeError', 'no state')
  t.equal(outcome(() => js.crypto_secretstream_xchacha20poly1305_push(7 as never, utf8('x'), null, 0)), 'TypeError', 'a libsodium state')
  freeSecretstreamState(js, state)
})

t.test('secretstream: rekeying when the counter wraps, and tags above 255', async (t) => {
  const key = js.randombytes_buf(32)
  const header = js.randombytes_buf(24)
  const ours = js.crypto_secretstream_xchacha20poly1305_init_pull(header, key) as unknown as Uint8Array
  const theirs = lib.crypto_secretstream_xchacha20poly1305_init_pull(header, key) as unknown as number
  t.ok(ours instanceof Uint8Array && ours.length === 52, 'the state is 52 bytes, as libsodium’s')
  t.same(ours, libHeap().slice(theirs, theirs + 52), 'and holds what libsodium’s holds')
  // Set both counters to 2^32 - 1: the next push wraps them, and both rekey.
  ours.fill(0xff, 32, 36)
  libHeap().fill(0xff, theirs + 32, theirs + 36)
  const chunks: Chunk[] = [0, 1, 2, 256 + 0, 256 + 2].map((tag) => ({ message: js.randombytes_buf(70), ad: null, tag }))
  const a = pushAll(js, ours, chunks)
  const b = pushAll(lib, theirs, chunks)
  t.same(a, b, 'identical through the wrap and rekeys; a tag over 255 is taken modulo 256, as libsodium’s unsigned char')
  t.same(ours, libHeap().slice(theirs, theirs + 52), 'identical states afterwards')
  freeSecretstreamState(lib, theirs)
  freeSecretstreamState(js, ours)
  t.ok(ours.every((byte) => byte === 0), 'freeSecretstreamState wipes the JavaScript state')
  const other = js.crypto_secretstream_xchacha20poly1305_init_pull(header, key) as unknown as Uint8Array
  js.memzero(other)
  t.ok(other.every((byte) => byte === 0), 'so does memzero')
})

t.test('memzero', async (t) => {
  const buffer = js.randombytes_buf(100)
  js.memzero(buffer)
  t.ok(buffer.every((byte) => byte === 0))
  t.equal(outcome(() => js.memzero([1, 2] as never)), outcome(() => lib.memzero([1, 2] as never)))
})

// ---- the project's crypto code, on this build ----

async function refusal(work: Promise<unknown>): Promise<string> {
  try {
    await work
    return 'ok'
  } catch (error) {
    return error instanceof Error && error.name === 'CryptoError' ? `CryptoError:${(error as Error & { code: string }).code}` : String(error)
  }
}

interface Vectors {
  keys: Record<string, string>
  envelopes: { description: string; kind: realCrypto.EnvelopeKind; caseId: string; context: string | null; plaintext: string; envelope: string; signed: boolean }[]
  evidence: { fileId: string; key: string; encrypted: string }
  caseCodes: { code: string; typed: string; lookupId: string; replyPublicKey: string; authPublicKey: string }[]
  staff: { passphrase: string; salt: string; opsLimit: number; memLimit: number; accountId: string; memberSecretKeyFile: string; memberKeysBlob: string; groupId: string; groupSecretKeyFile: string; groupKeysBlob: string; keyEncryptionKey: string }
}

const vectors = JSON.parse(readFileSync(join(import.meta.dirname, '../../vectors/crypto-v1.json'), 'utf8')) as Vectors
const b64 = (text: string) => base64url.decode(text, 'vector')

t.test('known-answer vectors (test/vectors/crypto-v1.json) on the JavaScript build', async (t) => {
  const recipient = await onJs.decodeSecretKeySet(vectors.keys.recipientSecretKeyFile!)
  const second = await onJs.decodeSecretKeySet(vectors.keys.secondSecretKeyFile!)
  const signer = onJs.decodePublicKeySet(vectors.keys.signerPublicKeyFile!)
  t.equal(onJs.encodePublicKeySet(onJs.publicKeysOf(recipient)), vectors.keys.recipientPublicKeyFile, 'keys from a secret key file')
  t.equal(await onJs.encodeSecretKeySet(recipient), vectors.keys.recipientSecretKeyFile)
  t.same(await onJs.keyId('x25519', recipient.encryption.publicKey), b64(vectors.keys.recipientX25519KeyId!))
  t.same(await onJs.keyId('ed25519', recipient.signing.publicKey), b64(vectors.keys.recipientEd25519KeyId!))
  t.equal(await onJs.fingerprint(onJs.publicKeysOf(recipient)), vectors.keys.recipientFingerprint)

  for (const vector of vectors.envelopes) {
    const context = vector.context === null ? {} : { context: b64(vector.context) }
    const options = { caseId: vector.caseId, keys: [recipient.encryption], trustedSigners: [signer.signing], ...context }
    const opened = await onJs.openEnvelope(b64(vector.envelope), options)
    t.same(opened.plaintext, b64(vector.plaintext), vector.description)
    t.same(opened.signer, vector.signed ? signer.signing : null)
    t.equal(await refusal(onJs.openEnvelope(b64(vector.envelope), { ...options, caseId: `${vector.caseId}-other` })), vector.signed ? 'CryptoError:bad_signature' : 'CryptoError:decryption_failed')
    if (vector.signed) t.ok(await onJs.verifyEnvelopeSignature(b64(vector.envelope), vector.caseId, signer.signing, context.context))
  }
  const twoRecipients = vectors.envelopes.find((vector) => vector.description.includes('two recipients'))!
  t.same((await onJs.openEnvelope(b64(twoRecipients.envelope), { caseId: twoRecipients.caseId, keys: [second.encryption], trustedSigners: [signer.signing] })).plaintext, b64(twoRecipients.plaintext))

  const evidenceKey = { fileId: b64(vectors.evidence.fileId), key: b64(vectors.evidence.key) }
  t.same(await onJs.decryptEvidence(b64(vectors.evidence.encrypted), evidenceKey), Uint8Array.from({ length: 65_536 + 1000 }, (_, i) => (i * 13) % 256), 'evidence')

  for (const vector of vectors.caseCodes) {
    t.match(await onJs.checkCaseCode(vector.typed), { ok: true, code: vector.code })
    const keys = await onJs.deriveCaseKeys(vector.typed)
    t.same(keys.lookupId, b64(vector.lookupId), `${vector.code}: lookup id`)
    t.same(keys.reply.publicKey, b64(vector.replyPublicKey), 'reply key')
    t.same(keys.auth.publicKey, b64(vector.authPublicKey), 'auth key')
    t.same(keys, await realCrypto.deriveCaseKeys(vector.typed), 'every derived key, as libsodium derives them')
  }

  const staff = vectors.staff
  const keyEncryptionKey = b64(staff.keyEncryptionKey)
  const member = await onJs.decodeSecretKeySet(staff.memberSecretKeyFile)
  const unwrapped = await staffOnJs.unwrapMemberKeys(b64(staff.memberKeysBlob), keyEncryptionKey, staff.accountId, onJs.publicKeysOf(member))
  t.same(unwrapped.signing.privateKey, member.signing.privateKey, 'staff member keys')
  const group = await onJs.decodeSecretKeySet(staff.groupSecretKeyFile)
  const groupKeys = await staffOnJs.unwrapGroupKeys(b64(staff.groupKeysBlob), member.encryption, staff.groupId, onJs.publicKeysOf(group))
  t.same(groupKeys.encryption.privateKey, group.encryption.privateKey, 'staff group keys')
  for (const name of ['crypto_box_seal_open', 'crypto_aead_xchacha20poly1305_ietf_decrypt', 'crypto_secretstream_xchacha20poly1305_pull', 'crypto_sign_verify_detached', 'crypto_kdf_derive_from_key']) {
    t.ok(used.has(name), `the code above ran ${name} from the JavaScript build`)
  }
})

t.test('the project’s formats, made on one build and read on the other', async (t) => {
  const reporter = await onJs.generateKeySet()
  const idva = await realCrypto.generateKeySet()
  const plaintext = utf8('What is happening to me, in my own words.')
  const fromJs = await onJs.sealEnvelope({ kind: 'disclosure', caseId: 'case-7', plaintext, recipients: [idva.encryption.publicKey, reporter.encryption.publicKey] })
  t.same((await realCrypto.openEnvelope(fromJs, { caseId: 'case-7', keys: [idva.encryption] })).plaintext, plaintext, 'an envelope sealed here opens with libsodium')
  t.same((await onJs.openEnvelope(fromJs, { caseId: 'case-7', keys: [reporter.encryption] })).plaintext, plaintext, 'and here')
  const reply = await realCrypto.sealEnvelope({ kind: 'idva_reply', caseId: 'case-7', plaintext, recipients: [reporter.encryption.publicKey], signer: idva.signing })
  const opened = await onJs.openEnvelope(reply, { caseId: 'case-7', keys: [reporter.encryption], trustedSigners: [idva.signing.publicKey] })
  t.same(opened.plaintext, plaintext, 'a signed libsodium envelope opens here')
  const signed = await onJs.sealEnvelope({ kind: 'idva_note', caseId: 'case-7', plaintext, recipients: [idva.encryption.publicKey], signer: reporter.signing })
  t.ok(await realCrypto.verifyEnvelopeSignature(signed, 'case-7', reporter.signing.publicKey), 'a signature made here verifies with libsodium')

  const evidenceKey = await onJs.newEvidenceKey()
  const file = js.randombytes_buf(3 * 65_536 + 123)
  t.same(await realCrypto.decryptEvidence(await onJs.encryptEvidence(file, evidenceKey), evidenceKey), file, 'evidence encrypted here decrypts with libsodium')
  t.same(await onJs.decryptEvidence(await realCrypto.encryptEvidence(file, evidenceKey), evidenceKey), file, 'and the other way')
  const encryptor = await onJs.EvidenceEncryptor.create(evidenceKey)
  encryptor.push(file.subarray(0, 70_000))
  encryptor.abort()
  t.throws(() => encryptor.push(file), 'an aborted encryptor refuses more')

  const code = await onJs.generateCaseCode()
  const typed = onJs.formatCaseCode(code)
  t.match(await realCrypto.checkCaseCode(typed), { ok: true }, 'a case code made here checks out with libsodium')
  const keys = await onJs.deriveCaseKeys(typed)
  t.same(keys, await realCrypto.deriveCaseKeys(typed))
  const challenge = js.randombytes_buf(32)
  const signature = await onJs.signCaseLogin(keys, challenge)
  t.ok(await realCrypto.verifyCaseLogin(keys.auth.publicKey, keys.lookupId, challenge, signature), 'a login signed here verifies with libsodium')
  t.notOk(await onJs.verifyCaseLogin(keys.auth.publicKey, keys.lookupId, js.randombytes_buf(32), signature), 'and not for another challenge')
})

t.test('timing: 1 MiB through secretstream in 64 KiB chunks', async (t) => {
  const key = js.crypto_secretstream_xchacha20poly1305_keygen()
  const file = js.randombytes_buf(1024 * 1024)
  const chunk = 65_536
  const time = (s: SodiumSubset) => {
    const started = performance.now()
    const { state, header } = s.crypto_secretstream_xchacha20poly1305_init_push(key)
    const out: Uint8Array[] = []
    for (let offset = 0; offset < file.length; offset += chunk) {
      const last = offset + chunk >= file.length
      out.push(s.crypto_secretstream_xchacha20poly1305_push(state, file.subarray(offset, offset + chunk), null, last ? 3 : 0))
    }
    freeSecretstreamState(s, state)
    return { ms: performance.now() - started, header, out }
  }
  time(js) // warm up
  const ours = time(js)
  const theirs = time(lib)
  const started = performance.now()
  const pulled = pullAll(js, ours.header, key, ours.out, [])
  const pullMs = performance.now() - started
  t.ok(Array.isArray(pulled) && pulled.length === 16 && pulled.at(-1)!.tag === 3)
  t.comment(`JavaScript: push 1 MiB in ${ours.ms.toFixed(1)} ms, pull in ${pullMs.toFixed(1)} ms; libsodium (WebAssembly): push in ${theirs.ms.toFixed(1)} ms`)
})
