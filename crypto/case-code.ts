import { concat, requireBytes, u16, utf8 } from './bytes.ts'
import { fail } from './errors.ts'
import { keySetFromSeedsWith, type EncryptionKeyPair, type SigningKeyPair } from './keys.ts'
import { loadSodium, type Sodium } from './sodium.ts'
import { WORDS } from './wordlist.ts'
import { EXCLUDED_WORDS } from './wordlist-excluded.ts'

/**
 * The reporter's case code: nine words, made in the reporter's browser.
 *
 * The words come from CODE_WORDS: the EFF large list (crypto/wordlist.ts) without the 1572 words
 * an abuser must not find on a note and a person should not have to carry (violence, injury, the
 * body, crime, police and justice, relationships, drugs, sex, death, illness, distress, captivity;
 * crypto/wordlist-excluded.ts), which leaves 6200, in the list's order; a word's index there is its
 * value. Eight words are chosen uniformly at random (libsodium's randombytes_uniform), which gives
 * 8 x log2(6200) = 100.78 bits. The ninth is a check word computed from the eight, so a word typed
 * wrongly (but still a real word) or words typed out of order are caught in the browser before any
 * request (a wrong code passes the check with probability 1/6200). A word that is not in the list
 * is caught at once, with suggestions.
 *
 *   check index = (first 4 bytes, big-endian, of BLAKE2b-128("sd-case-code-check-v2" ||
 *                  u16(index 1) || ... || u16(index 8))) mod 6200
 *
 * Codes made before the list was curated (version 1: eight words from all 7772, the eighth a check
 * word under "sd-case-code-check-v1" over the seven indices in the full list) still open their
 * cases: checkCaseCode accepts either form, and both derive keys the same way.
 *
 * Typing is forgiving: case, spaces, hyphens and other punctuation between words do not matter.
 * The canonical form is the words in lower case joined by "-".
 *
 * From the canonical code the browser derives, and the server never sees the code itself:
 *   master      = BLAKE2b-256("sd-case-code-v1" || 0x00 || canonical code)
 *   lookup id   = crypto_kdf_derive_from_key(16, 1, "sdcase01", master)  -- finds the case
 *   reply keys  = crypto_box_seed_keypair(kdf(32, 2, "sdcase01", master)) -- IDVA replies to it
 *   auth keys   = crypto_sign_seed_keypair(kdf(32, 3, "sdcase01", master)) -- signs login challenges
 *
 * Logging in with a code: the server sends a random challenge; the browser signs
 * "sd-case-login-v1" || lookup id (16) || u16(len) || challenge with the auth key; the server
 * verifies with the auth public key it stored when the case was created.
 */

/** The words codes are made of now. */
export const CODE_WORDS: readonly string[] = Object.freeze(WORDS.filter((word) => !EXCLUDED_WORDS.has(word)))

interface CodeForm {
  readonly words: readonly string[]
  readonly index: ReadonlyMap<string, number>
  readonly length: number
  readonly checkLabel: string
}

const form = (words: readonly string[], length: number, checkLabel: string): CodeForm => ({ words, index: new Map(words.map((word, i) => [word, i])), length, checkLabel })
/** Codes made now. */
const CURRENT = form(CODE_WORDS, 9, 'sd-case-code-check-v2')
/** Codes made before the list was curated: they keep working. */
const VERSION_1 = form(WORDS, 8, 'sd-case-code-check-v1')

export const CASE_CODE_WORDS = CURRENT.length
const RANDOM_WORDS = CASE_CODE_WORDS - 1
export const CASE_CODE_BITS = RANDOM_WORDS * Math.log2(CODE_WORDS.length)

function checkIndexWith(s: Sodium, code: CodeForm, indices: readonly number[]): number {
  const digest = s.crypto_generichash(16, concat(utf8(code.checkLabel), ...indices.map((index) => u16(index))), null)
  const value = ((digest[0]! << 24) | (digest[1]! << 16) | (digest[2]! << 8) | digest[3]!) >>> 0
  return value % code.words.length
}

/** A new code, as its nine words. */
export async function generateCaseCode(): Promise<string[]> {
  const s = await loadSodium()
  const indices = Array.from({ length: RANDOM_WORDS }, () => s.randombytes_uniform(CODE_WORDS.length))
  return [...indices, checkIndexWith(s, CURRENT, indices)].map((index) => CODE_WORDS[index]!)
}

export function formatCaseCode(words: readonly string[]): string {
  return words.join('-')
}

export type CaseCodeCheck =
  | { readonly ok: true; readonly code: string; readonly words: readonly string[] }
  | { readonly ok: false; readonly problem: 'empty' }
  | { readonly ok: false; readonly problem: 'word_count'; readonly found: number }
  | { readonly ok: false; readonly problem: 'unknown_word'; readonly position: number; readonly word: string; readonly suggestions: readonly string[] }
  | { readonly ok: false; readonly problem: 'check_failed' }

/** Words as a person might type them: any case, any separators. */
export function splitCaseCode(input: string): string[] {
  if (typeof input !== 'string') fail('malformed', 'a case code is text')
  return input.normalize('NFKC').toLowerCase().split(/[^a-z]+/).filter((word) => word !== '')
}

function editDistanceAtMost(a: string, b: string, limit: number): boolean {
  if (Math.abs(a.length - b.length) > limit) return false
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    let best = i
    for (let j = 1; j <= b.length; j++) {
      const value = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
      current.push(value)
      best = Math.min(best, value)
    }
    if (best > limit) return false
    previous = current
  }
  return previous[b.length]! <= limit
}

/** Up to three list words one or two letters away from `word` (two only for longer words). */
export function suggestWords(word: string, words: readonly string[] = CODE_WORDS): string[] {
  const limit = word.length >= 6 ? 2 : 1
  const close = words.filter((candidate) => editDistanceAtMost(word, candidate, 1))
  const further = close.length > 0 || limit === 1 ? [] : words.filter((candidate) => editDistanceAtMost(word, candidate, limit))
  return [...close, ...further].slice(0, 3)
}

/** Checks a typed code entirely in the browser; says what is wrong in a way the page can explain. */
export async function checkCaseCode(input: string): Promise<CaseCodeCheck> {
  const s = await loadSodium()
  if (typeof input !== 'string') return { ok: false, problem: 'empty' }
  if (input.length > 1000) return { ok: false, problem: 'word_count', found: splitCaseCode(input.slice(0, 1000)).length }
  const words = splitCaseCode(input)
  if (words.length === 0) return { ok: false, problem: 'empty' }
  // Eight words is a code made before the list was curated; anything else is read as a code of now.
  const code = words.length === VERSION_1.length ? VERSION_1 : CURRENT
  const unknown = words.findIndex((word) => !code.index.has(word))
  if (unknown !== -1) {
    const word = words[unknown]!
    return { ok: false, problem: 'unknown_word', position: unknown + 1, word, suggestions: suggestWords(word, code.words) }
  }
  if (words.length !== code.length) return { ok: false, problem: 'word_count', found: words.length }
  const indices = words.map((word) => code.index.get(word)!)
  if (checkIndexWith(s, code, indices.slice(0, code.length - 1)) !== indices[code.length - 1]) return { ok: false, problem: 'check_failed' }
  return { ok: true, code: formatCaseCode(words), words }
}

export interface CaseKeys {
  /** 16 bytes; the server finds the case by it. */
  readonly lookupId: Uint8Array
  /** X25519: IDVA replies are encrypted to this (and the service key). */
  readonly reply: EncryptionKeyPair
  /** Ed25519: signs the server's login challenge. */
  readonly auth: SigningKeyPair
}

/**
 * Derives the case's keys from its code. Throws CryptoError('bad_code') unless the code passes
 * checkCaseCode, so a mistyped code never produces keys (or a request).
 */
export async function deriveCaseKeys(input: string): Promise<CaseKeys> {
  const s = await loadSodium()
  const checked = await checkCaseCode(input)
  if (!checked.ok) fail('bad_code', `case code is not valid (${checked.problem})`)
  const master = s.crypto_generichash(32, concat(utf8('sd-case-code-v1'), Uint8Array.of(0), utf8(checked.code)), null)
  try {
    const lookupId = s.crypto_kdf_derive_from_key(16, 1, 'sdcase01', master)
    const replySeed = s.crypto_kdf_derive_from_key(32, 2, 'sdcase01', master)
    const authSeed = s.crypto_kdf_derive_from_key(32, 3, 'sdcase01', master)
    const keys = keySetFromSeedsWith(s, replySeed, authSeed)
    s.memzero(replySeed)
    s.memzero(authSeed)
    return { lookupId, reply: keys.encryption, auth: keys.signing }
  } finally {
    s.memzero(master)
  }
}

const LOGIN_LABEL = utf8('sd-case-login-v1')
const MIN_CHALLENGE_BYTES = 16
const MAX_CHALLENGE_BYTES = 64

function loginMessage(lookupId: Uint8Array, challenge: Uint8Array): Uint8Array {
  requireBytes(lookupId, 'lookup id', 16)
  requireBytes(challenge, 'challenge')
  if (challenge.length < MIN_CHALLENGE_BYTES || challenge.length > MAX_CHALLENGE_BYTES) {
    fail('malformed', `a login challenge is ${MIN_CHALLENGE_BYTES} to ${MAX_CHALLENGE_BYTES} bytes`)
  }
  return concat(LOGIN_LABEL, lookupId, u16(challenge.length), challenge)
}

/** In the browser: proves knowledge of the code by signing the server's challenge. */
export async function signCaseLogin(keys: CaseKeys, challenge: Uint8Array): Promise<Uint8Array> {
  const s = await loadSodium()
  return s.crypto_sign_detached(loginMessage(keys.lookupId, challenge), keys.auth.privateKey)
}

/** On the server: checks a login signature against the case's stored auth public key. */
export async function verifyCaseLogin(authPublicKey: Uint8Array, lookupId: Uint8Array, challenge: Uint8Array, signature: Uint8Array): Promise<boolean> {
  const s = await loadSodium()
  requireBytes(authPublicKey, 'auth public key', 32)
  requireBytes(signature, 'signature', 64)
  return s.crypto_sign_verify_detached(signature, loginMessage(lookupId, challenge), authPublicKey)
}
