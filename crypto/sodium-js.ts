import { hsalsa, xsalsa20poly1305 } from '@noble/ciphers/salsa.js'
import { chacha20, hchacha, xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import { poly1305 } from '@noble/ciphers/_poly1305.js'
import { equalBytes, u32 } from '@noble/ciphers/utils.js'
import { ed25519, x25519 } from '@noble/curves/ed25519.js'
import { bytesToNumberLE } from '@noble/curves/utils.js'
import { blake2b } from '@noble/hashes/blake2.js'
import { sha512 } from '@noble/hashes/sha2.js'
import { concat } from './bytes.ts'
import type { SodiumSubset } from './sodium.ts'

/**
 * The libsodium-wrappers functions that the reporter's side uses, in plain JavaScript, for browsers
 * that have WebAssembly switched off (iPhone Lockdown Mode, Tor Browser "Safer", `--jitless`).
 *
 * Nothing here is a primitive of its own: every one is composed from the audited noble libraries
 * (@noble/hashes: BLAKE2b, SHA-512; @noble/curves: Ed25519, X25519; @noble/ciphers: ChaCha20,
 * HChaCha20, HSalsa20, XSalsa20-Poly1305, XChaCha20-Poly1305, Poly1305), following libsodium
 * 1.0.22 (the version libsodium-wrappers 0.8.4 carries) construction by construction. Outputs are
 * byte for byte those of libsodium for the same inputs (and randomness), and each opens what the
 * other sealed: test/unit/crypto/sodium-js.test.ts checks both against libsodium-wrappers.
 *
 * Same names, argument order, return shapes and error behaviour as libsodium-wrappers: inputs may be
 * Uint8Arrays or strings (taken as UTF-8), as there; bad argument types or lengths throw a
 * TypeError, a failed operation an Error (crypto_box_seal_open, crypto_aead_..._decrypt), and
 * crypto_secretstream_xchacha20poly1305_pull returns false for a chunk that does not authenticate.
 * Only the "uint8array" output format exists here: asking for another throws.
 *
 * Differences from libsodium-wrappers that remain (none reachable from this project's code):
 * - crypto_kdf_derive_from_key with subkey_len outside 16..64 throws; libsodium-wrappers ignores
 *   libsodium's refusal and returns uninitialised memory.
 * - crypto_sign_detached throws when the 64-byte secret key's second half is not the public key of
 *   its first half (noble derives the public key from the seed itself); libsodium signs with the
 *   given half and returns a signature that verifies under no key.
 * - A secretstream state is a 52-byte Uint8Array laid out as libsodium's (key, counter, inner
 *   nonce, padding), not an address on the WebAssembly heap; freeSecretstreamState and memzero wipe
 *   it. libsodium aborts the process on a stream message over 256 GiB; here nothing checks that.
 * - Timing: noble's code is written to avoid secret-dependent branches, but JavaScript on a JIT
 *   (or without one) gives fewer guarantees than libsodium's constant-time C.
 */

export type SodiumJs = SodiumSubset

type StateAddress = ReturnType<SodiumSubset['crypto_secretstream_xchacha20poly1305_init_pull']>

const encoder = new TextEncoder()
/** "expand 32-byte k", the ChaCha20/Salsa20 constant, as HChaCha20/HSalsa20 take it (see hchacha() below). */
const SIGMA = encoder.encode('expand 32-byte k')
const ZERO16 = new Uint8Array(16)
const RANDOM_CHUNK = 65_536

const STATE_BYTES = 52
const KEY_END = 32
const COUNTER_END = 36
const INONCE_END = 44
const TAG_REKEY = 2

// ---- argument handling, as libsodium-wrappers does it ----

function present(value: unknown, name: string): void {
  if (value === null || value === undefined) throw new TypeError(`${name} cannot be null or undefined`)
}

/** libsodium-wrappers' input rule: a Uint8Array as it is, a string as its UTF-8 bytes. */
function bytesOf(value: unknown, name: string): Uint8Array {
  present(value, name)
  if (value instanceof Uint8Array) return value
  if (typeof value === 'string') return encoder.encode(value)
  throw new TypeError(`unsupported input type for ${name}`)
}

function bytesOfLength(value: unknown, name: string, length: number): Uint8Array {
  const bytes = bytesOf(value, name)
  if (bytes.length !== length) throw new TypeError(`invalid ${name} length`)
  return bytes
}

function optionalBytes(value: unknown, name: string): Uint8Array {
  return value === null || value === undefined ? new Uint8Array(0) : bytesOf(value, name)
}

/** libsodium-wrappers' rule for counts: a non-negative 32-bit integer. */
function unsigned(value: unknown, name: string): number {
  present(value, name)
  if (typeof value !== 'number' || (value | 0) !== value || value < 0) throw new TypeError(`${name} must be an unsigned integer`)
  return value
}

function checkFormat(format: unknown): void {
  if (!format || format === 'uint8array') return
  if (typeof format !== 'string') throw new TypeError('When defined, the output format must be a string')
  throw new Error(`${format} output format is not available in the JavaScript build`)
}

/** A result that owns its whole buffer, like libsodium-wrappers' (noble sometimes returns a view). */
function own(bytes: Uint8Array): Uint8Array {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return bytes
  const copy = bytes.slice()
  bytes.fill(0)
  return copy
}

/** A fresh, 4-byte-aligned copy viewed as 32-bit words, as noble's HChaCha20/HSalsa20 take them. */
function words(bytes: Uint8Array): { bytes: Uint8Array; words: Uint32Array } {
  const copy = bytes.slice()
  return { bytes: copy, words: u32(copy) }
}

/**
 * HChaCha20 or HSalsa20 (noble's) of a 32-byte key and 16-byte input. noble's functions read and
 * write 32-bit words viewed over little-endian bytes (they normalise word order themselves on
 * big-endian hosts), so passing u32 views of byte arrays works on either.
 */
function subkey(core: typeof hchacha, key: Uint8Array, input: Uint8Array): Uint8Array {
  const sigma = words(SIGMA)
  const k = words(key)
  const i = words(input)
  const out = new Uint8Array(32)
  core(sigma.words, k.words, i.words, u32(out))
  k.bytes.fill(0)
  i.bytes.fill(0)
  return out
}

function randomBytes(length: number): Uint8Array {
  const out = new Uint8Array(length)
  for (let offset = 0; offset < length; offset += RANDOM_CHUNK) crypto.getRandomValues(out.subarray(offset, offset + RANDOM_CHUNK))
  return out
}

function randomUint32(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]!
}

function le64(value: number): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, BigInt(value), true)
  return out
}

// ---- X25519 and crypto_box ----

/** crypto_box_beforenm: HSalsa20 of the X25519 shared point (noble refuses low-order points, as libsodium does). */
function boxBeforenm(publicKey: Uint8Array, privateKey: Uint8Array): Uint8Array {
  const shared = x25519.getSharedSecret(privateKey, publicKey)
  try {
    return subkey(hsalsa, shared, ZERO16)
  } finally {
    shared.fill(0)
  }
}

function sealNonce(ephemeralPublicKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  return blake2b(concat(ephemeralPublicKey, publicKey), { dkLen: 24 })
}

function boxKeypairFromSecret(privateKey: Uint8Array): { publicKey: Uint8Array; privateKey: Uint8Array; keyType: string } {
  return { publicKey: own(x25519.scalarMultBase(privateKey)), privateKey, keyType: 'x25519' }
}

// ---- Ed25519 ----

function signKeypairFromSeed(seed: Uint8Array): { publicKey: Uint8Array; privateKey: Uint8Array; keyType: string } {
  const publicKey = own(ed25519.getPublicKey(seed))
  return { publicKey, privateKey: concat(seed, publicKey), keyType: 'ed25519' }
}

/**
 * libsodium 1.0.22's crypto_sign_verify_detached: S < L, R and A not of small order, A a canonical
 * encoding, and the cofactorless equation [S]B = R + [k]A. noble's strict verify (zip215: false)
 * checks all but two of these: it does not refuse a small-order R, and its equation is the
 * cofactored one ([8][S]B = [8]R + [8][k]A), which also accepts signatures that differ from a
 * valid one by a small-order component (which only the key's owner can make, with a public key
 * that has one). Both are added here, with noble's point arithmetic, so that this accepts exactly
 * what libsodium accepts.
 */
function verifyDetached(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  const { Point } = ed25519
  const r = signature.subarray(0, 32)
  let R: InstanceType<typeof Point>
  let A: InstanceType<typeof Point>
  try {
    R = Point.fromBytes(r, false)
    A = Point.fromBytes(publicKey, false)
  } catch {
    return false
  }
  if (R.isSmallOrder()) return false
  if (!ed25519.verify(signature, message, publicKey, { zip215: false })) return false
  // Passed: S < L, A canonical and not of small order, and [S]B - R - [k]A has small order.
  const k = Point.Fn.create(bytesToNumberLE(sha512(concat(r, publicKey, message))))
  const s = bytesToNumberLE(signature.subarray(32, 64))
  return Point.BASE.multiplyUnsafe(s).equals(R.add(A.multiplyUnsafe(k)))
}

// ---- crypto_secretstream_xchacha20poly1305 (libsodium's construction) ----

function stateOf(value: unknown): Uint8Array {
  present(value, 'state_address')
  if (!(value instanceof Uint8Array) || value.length !== STATE_BYTES) throw new TypeError('invalid state_address: not a JavaScript secretstream state')
  return value
}

function resetCounter(state: Uint8Array): void {
  state.fill(0, KEY_END, COUNTER_END)
  state[KEY_END] = 1
}

function initState(header: Uint8Array, key: Uint8Array): Uint8Array {
  const state = new Uint8Array(STATE_BYTES)
  const k = subkey(hchacha, key, header.subarray(0, 16))
  state.set(k, 0)
  k.fill(0)
  resetCounter(state)
  state.set(header.subarray(16, 24), COUNTER_END)
  return state
}

/** The key and the 12-byte ChaCha20-IETF nonce (counter || inner nonce), as views into the state. */
function keyAndNonce(state: Uint8Array): { key: Uint8Array; nonce: Uint8Array } {
  return { key: state.subarray(0, KEY_END), nonce: state.subarray(KEY_END, INONCE_END) }
}

function rekey(state: Uint8Array): void {
  const { key, nonce } = keyAndNonce(state)
  const next = concat(key, state.subarray(COUNTER_END, INONCE_END))
  chacha20(key, nonce, next, next, 0)
  state.set(next.subarray(0, KEY_END), 0)
  state.set(next.subarray(KEY_END), COUNTER_END)
  next.fill(0)
  resetCounter(state)
}

/** After each message: inner nonce ^= mac[0..8], counter + 1, and a rekey on TAG_REKEY or when the counter wraps. */
function advance(state: Uint8Array, mac: Uint8Array, tag: number): void {
  for (let i = 0; i < 8; i++) state[COUNTER_END + i]! ^= mac[i]!
  let carry = 1
  for (let i = KEY_END; i < COUNTER_END; i++) {
    carry += state[i]!
    state[i] = carry & 0xff
    carry >>= 8
  }
  const wrapped = state[32] === 0 && state[33] === 0 && state[34] === 0 && state[35] === 0
  if ((tag & TAG_REKEY) !== 0 || wrapped) rekey(state)
}

/**
 * The Poly1305 tag over ad, its padding, the 64-byte tag block, the ciphertext, libsodium's padding
 * after it ((0x10 - 64 + mlen) & 0xf bytes, that is mlen & 15: not the usual 16-byte alignment, but
 * what libsodium computes), and the two lengths.
 */
function streamMac(state: Uint8Array, ad: Uint8Array, block: Uint8Array, ciphertext: Uint8Array, out: Uint8Array): void {
  const { key, nonce } = keyAndNonce(state)
  const macKey = chacha20(key, nonce, new Uint8Array(64), undefined, 0)
  const mac = poly1305.create(macKey.subarray(0, 32))
  macKey.fill(0)
  mac.update(ad)
  mac.update(ZERO16.subarray(0, (0x10 - ad.length) & 0xf))
  mac.update(block)
  mac.update(ciphertext)
  mac.update(ZERO16.subarray(0, (0x10 - 64 + ciphertext.length) & 0xf))
  mac.update(le64(ad.length))
  mac.update(le64(64 + ciphertext.length))
  mac.digestInto(out)
}

function push(state: Uint8Array, message: Uint8Array, ad: Uint8Array, tag: number): Uint8Array {
  const { key, nonce } = keyAndNonce(state)
  const out = new Uint8Array(1 + message.length + 16)
  const block = new Uint8Array(64)
  block[0] = tag & 0xff
  chacha20(key, nonce, block, block, 1)
  out[0] = block[0]!
  const ciphertext = out.subarray(1, 1 + message.length)
  chacha20(key, nonce, message, ciphertext, 2)
  const mac = out.subarray(1 + message.length)
  streamMac(state, ad, block, ciphertext, mac)
  block.fill(0)
  advance(state, mac, tag)
  return out
}

function pull(state: Uint8Array, cipher: Uint8Array, ad: Uint8Array): { message: Uint8Array; tag: number } | false {
  const { key, nonce } = keyAndNonce(state)
  const length = cipher.length - 17
  const block = new Uint8Array(64)
  block[0] = cipher[0]!
  chacha20(key, nonce, block, block, 1)
  const tag = block[0]!
  block[0] = cipher[0]!
  const ciphertext = cipher.subarray(1, 1 + length)
  const mac = new Uint8Array(16)
  streamMac(state, ad, block, ciphertext, mac)
  block.fill(0)
  if (!equalBytes(mac, cipher.subarray(1 + length))) return false
  const message = chacha20(key, nonce, ciphertext, undefined, 2)
  advance(state, mac, tag)
  return { message, tag }
}

/** A fresh set of the functions (they keep no state of their own: one set is as good as another). */
export function createSodiumJs(): SodiumJs {
  const sodium = {
    memzero(bytes: Uint8Array): void {
      if (!(bytes instanceof Uint8Array)) throw new TypeError('Only Uint8Array instances can be wiped')
      bytes.fill(0)
    },

    randombytes_buf(length: number, outputFormat?: unknown): Uint8Array {
      checkFormat(outputFormat)
      return randomBytes(unsigned(length, 'length'))
    },

    /** libsodium's rejection sampling: redraw below 2^32 mod upper, then reduce. */
    randombytes_uniform(upper_bound: number): number {
      const upper = unsigned(upper_bound, 'upper_bound')
      if (upper < 2) return 0
      const min = (0x1_0000_0000 - upper) % upper
      let r: number
      do {
        r = randomUint32()
      } while (r < min)
      return r % upper
    },

    crypto_generichash(hash_length: number, message: Uint8Array | string, key: Uint8Array | string | null, outputFormat?: unknown): Uint8Array {
      checkFormat(outputFormat)
      const length = unsigned(hash_length, 'hash_length')
      const input = bytesOf(message, 'message')
      const k = optionalBytes(key, 'key')
      if (length < 1 || length > 64 || k.length > 64) throw new Error('invalid usage')
      // An empty key is no key, in libsodium; noble would hash a block of zeros for it.
      return blake2b(input, k.length === 0 ? { dkLen: length } : { dkLen: length, key: k })
    },

    crypto_kdf_derive_from_key(subkey_len: number, subkey_id: number | bigint, ctx: string, key: Uint8Array, outputFormat?: unknown): Uint8Array {
      checkFormat(outputFormat)
      const length = unsigned(subkey_len, 'subkey_len')
      present(subkey_id, 'subkey_id')
      let id: bigint
      if (typeof subkey_id === 'bigint' && subkey_id >= BigInt(0)) {
        if (subkey_id >> BigInt(32) > BigInt(0xffff_ffff)) throw new TypeError('subkey_id cannot be more than 64 bits')
        id = subkey_id
      } else if (typeof subkey_id === 'number' && (subkey_id | 0) === subkey_id && subkey_id >= 0) {
        id = BigInt(subkey_id)
      } else {
        throw new TypeError('subkey_id must be an unsigned integer or bigint')
      }
      if (typeof ctx !== 'string') throw new TypeError('ctx must be a string')
      const context = encoder.encode(ctx)
      if (context.length !== 8) throw new TypeError('invalid ctx length')
      const k = bytesOfLength(key, 'key', 32)
      if (length < 16 || length > 64) throw new Error('invalid usage')
      const salt = new Uint8Array(16)
      new DataView(salt.buffer).setBigUint64(0, id, true)
      const personalization = new Uint8Array(16)
      personalization.set(context)
      return blake2b(new Uint8Array(0), { dkLen: length, key: k, salt, personalization })
    },

    crypto_sign_seed_keypair(seed: Uint8Array, outputFormat?: unknown): { publicKey: Uint8Array; privateKey: Uint8Array; keyType: string } {
      checkFormat(outputFormat)
      return signKeypairFromSeed(bytesOfLength(seed, 'seed', 32))
    },

    crypto_sign_keypair(outputFormat?: unknown): { publicKey: Uint8Array; privateKey: Uint8Array; keyType: string } {
      checkFormat(outputFormat)
      const seed = randomBytes(32)
      try {
        return signKeypairFromSeed(seed)
      } finally {
        seed.fill(0)
      }
    },

    crypto_sign_detached(message: Uint8Array | string, privateKey: Uint8Array, outputFormat?: unknown): Uint8Array {
      checkFormat(outputFormat)
      const m = bytesOf(message, 'message')
      const sk = bytesOfLength(privateKey, 'privateKey', 64)
      const seed = sk.slice(0, 32)
      try {
        if (!equalBytes(ed25519.getPublicKey(seed), sk.subarray(32, 64))) throw new Error('invalid usage: the secret key does not hold its own public key')
        return own(ed25519.sign(m, seed))
      } finally {
        seed.fill(0)
      }
    },

    crypto_sign_verify_detached(signature: Uint8Array, message: Uint8Array | string, publicKey: Uint8Array): boolean {
      const sig = bytesOfLength(signature, 'signature', 64)
      const m = bytesOf(message, 'message')
      const pk = bytesOfLength(publicKey, 'publicKey', 32)
      return verifyDetached(sig, m, pk)
    },

    crypto_scalarmult_base(privateKey: Uint8Array, outputFormat?: unknown): Uint8Array {
      checkFormat(outputFormat)
      return own(x25519.scalarMultBase(bytesOfLength(privateKey, 'privateKey', 32)))
    },

    /** libsodium: the secret key is the first half of SHA-512(seed). */
    crypto_box_seed_keypair(seed: Uint8Array, outputFormat?: unknown): { publicKey: Uint8Array; privateKey: Uint8Array; keyType: string } {
      checkFormat(outputFormat)
      const hash = sha512(bytesOfLength(seed, 'seed', 32))
      const privateKey = hash.slice(0, 32)
      hash.fill(0)
      return boxKeypairFromSecret(privateKey)
    },

    crypto_box_keypair(outputFormat?: unknown): { publicKey: Uint8Array; privateKey: Uint8Array; keyType: string } {
      checkFormat(outputFormat)
      return boxKeypairFromSecret(randomBytes(32))
    },

    /** Ephemeral key pair; nonce = BLAKE2b-24(epk || pk); epk || crypto_box_easy(message, nonce, pk, esk). */
    crypto_box_seal(message: Uint8Array | string, publicKey: Uint8Array, outputFormat?: unknown): Uint8Array {
      checkFormat(outputFormat)
      const m = bytesOf(message, 'message')
      const pk = bytesOfLength(publicKey, 'publicKey', 32)
      const esk = randomBytes(32)
      let key: Uint8Array | undefined
      try {
        const epk = x25519.scalarMultBase(esk)
        try {
          key = boxBeforenm(pk, esk)
        } catch {
          throw new Error('invalid usage')
        }
        return concat(epk, xsalsa20poly1305(key, sealNonce(epk, pk)).encrypt(m))
      } finally {
        esk.fill(0)
        key?.fill(0)
      }
    },

    crypto_box_seal_open(ciphertext: Uint8Array, publicKey: Uint8Array, privateKey: Uint8Array, outputFormat?: unknown): Uint8Array {
      checkFormat(outputFormat)
      const c = bytesOf(ciphertext, 'ciphertext')
      if (c.length < 48) throw new TypeError('ciphertext is too short')
      const pk = bytesOfLength(publicKey, 'publicKey', 32)
      const sk = bytesOfLength(privateKey, 'privateKey', 32)
      const epk = c.subarray(0, 32)
      let key: Uint8Array | undefined
      try {
        key = boxBeforenm(epk, sk)
        return own(xsalsa20poly1305(key, sealNonce(epk, pk)).decrypt(c.subarray(32)))
      } catch {
        throw new Error('incorrect key pair for the given ciphertext')
      } finally {
        key?.fill(0)
      }
    },

    crypto_aead_xchacha20poly1305_ietf_encrypt(
      message: Uint8Array | string,
      additional_data: Uint8Array | string | null,
      secret_nonce: Uint8Array | string | null,
      public_nonce: Uint8Array,
      key: Uint8Array,
      outputFormat?: unknown,
    ): Uint8Array {
      checkFormat(outputFormat)
      const m = bytesOf(message, 'message')
      const ad = optionalBytes(additional_data, 'additional_data')
      optionalBytes(secret_nonce, 'secret_nonce') // unused, as in libsodium
      const nonce = bytesOfLength(public_nonce, 'public_nonce', 24)
      const k = bytesOfLength(key, 'key', 32)
      return own(xchacha20poly1305(k, nonce, ad).encrypt(m))
    },

    crypto_aead_xchacha20poly1305_ietf_decrypt(
      secret_nonce: Uint8Array | string | null,
      ciphertext: Uint8Array,
      additional_data: Uint8Array | string | null,
      public_nonce: Uint8Array,
      key: Uint8Array,
      outputFormat?: unknown,
    ): Uint8Array {
      checkFormat(outputFormat)
      optionalBytes(secret_nonce, 'secret_nonce')
      const c = bytesOf(ciphertext, 'ciphertext')
      if (c.length < 16) throw new TypeError('ciphertext is too short')
      const ad = optionalBytes(additional_data, 'additional_data')
      const nonce = bytesOfLength(public_nonce, 'public_nonce', 24)
      const k = bytesOfLength(key, 'key', 32)
      try {
        return own(xchacha20poly1305(k, nonce, ad).decrypt(c))
      } catch {
        throw new Error('ciphertext cannot be decrypted using that key')
      }
    },

    crypto_aead_xchacha20poly1305_ietf_keygen(outputFormat?: unknown): Uint8Array {
      checkFormat(outputFormat)
      return randomBytes(32)
    },

    crypto_secretstream_xchacha20poly1305_TAG_MESSAGE: 0,
    crypto_secretstream_xchacha20poly1305_TAG_PUSH: 1,
    crypto_secretstream_xchacha20poly1305_TAG_REKEY: 2,
    crypto_secretstream_xchacha20poly1305_TAG_FINAL: 3,

    crypto_secretstream_xchacha20poly1305_keygen(outputFormat?: unknown): Uint8Array {
      checkFormat(outputFormat)
      return randomBytes(32)
    },

    /** The state is a 52-byte Uint8Array (key, counter, inner nonce, padding): wipe it with memzero or freeSecretstreamState. */
    crypto_secretstream_xchacha20poly1305_init_push(key: Uint8Array, outputFormat?: unknown): { state: StateAddress; header: Uint8Array } {
      checkFormat(outputFormat)
      const k = bytesOfLength(key, 'key', 32)
      const header = randomBytes(24)
      return { state: initState(header, k) as unknown as StateAddress, header }
    },

    crypto_secretstream_xchacha20poly1305_init_pull(header: Uint8Array, key: Uint8Array): StateAddress {
      const h = bytesOfLength(header, 'header', 24)
      const k = bytesOfLength(key, 'key', 32)
      return initState(h, k) as unknown as StateAddress
    },

    crypto_secretstream_xchacha20poly1305_push(state_address: StateAddress, message_chunk: Uint8Array | string, ad: Uint8Array | string | null, tag: number, outputFormat?: unknown): Uint8Array {
      checkFormat(outputFormat)
      const state = stateOf(state_address)
      const m = bytesOf(message_chunk, 'message_chunk')
      const a = optionalBytes(ad, 'ad')
      return push(state, m, a, unsigned(tag, 'tag'))
    },

    /** false when the chunk does not authenticate (the state is then unchanged), as libsodium-wrappers. */
    crypto_secretstream_xchacha20poly1305_pull(state_address: StateAddress, cipher: Uint8Array, ad: Uint8Array | string | null, outputFormat?: unknown): { message: Uint8Array; tag: number } | false {
      checkFormat(outputFormat)
      const state = stateOf(state_address)
      const c = bytesOf(cipher, 'cipher')
      if (c.length < 17) throw new TypeError('cipher is too short')
      return pull(state, c, optionalBytes(ad, 'ad'))
    },
  }
  // The overloads that return strings for a string output format are what need these casts: this
  // build refuses those formats (checkFormat) instead.
  return {
    ...sodium,
    randombytes_buf: sodium.randombytes_buf as SodiumJs['randombytes_buf'],
    crypto_generichash: sodium.crypto_generichash as SodiumJs['crypto_generichash'],
    crypto_kdf_derive_from_key: sodium.crypto_kdf_derive_from_key as SodiumJs['crypto_kdf_derive_from_key'],
    crypto_sign_seed_keypair: sodium.crypto_sign_seed_keypair as SodiumJs['crypto_sign_seed_keypair'],
    crypto_sign_keypair: sodium.crypto_sign_keypair as SodiumJs['crypto_sign_keypair'],
    crypto_sign_detached: sodium.crypto_sign_detached as SodiumJs['crypto_sign_detached'],
    crypto_scalarmult_base: sodium.crypto_scalarmult_base as SodiumJs['crypto_scalarmult_base'],
    crypto_box_seed_keypair: sodium.crypto_box_seed_keypair as SodiumJs['crypto_box_seed_keypair'],
    crypto_box_keypair: sodium.crypto_box_keypair as SodiumJs['crypto_box_keypair'],
    crypto_box_seal: sodium.crypto_box_seal as SodiumJs['crypto_box_seal'],
    crypto_box_seal_open: sodium.crypto_box_seal_open as SodiumJs['crypto_box_seal_open'],
    crypto_aead_xchacha20poly1305_ietf_encrypt: sodium.crypto_aead_xchacha20poly1305_ietf_encrypt as SodiumJs['crypto_aead_xchacha20poly1305_ietf_encrypt'],
    crypto_aead_xchacha20poly1305_ietf_decrypt: sodium.crypto_aead_xchacha20poly1305_ietf_decrypt as SodiumJs['crypto_aead_xchacha20poly1305_ietf_decrypt'],
    crypto_aead_xchacha20poly1305_ietf_keygen: sodium.crypto_aead_xchacha20poly1305_ietf_keygen as SodiumJs['crypto_aead_xchacha20poly1305_ietf_keygen'],
    crypto_secretstream_xchacha20poly1305_keygen: sodium.crypto_secretstream_xchacha20poly1305_keygen as SodiumJs['crypto_secretstream_xchacha20poly1305_keygen'],
    crypto_secretstream_xchacha20poly1305_init_push: sodium.crypto_secretstream_xchacha20poly1305_init_push as SodiumJs['crypto_secretstream_xchacha20poly1305_init_push'],
    crypto_secretstream_xchacha20poly1305_push: sodium.crypto_secretstream_xchacha20poly1305_push as SodiumJs['crypto_secretstream_xchacha20poly1305_push'],
    crypto_secretstream_xchacha20poly1305_pull: sodium.crypto_secretstream_xchacha20poly1305_pull as SodiumJs['crypto_secretstream_xchacha20poly1305_pull'],
  }
}
