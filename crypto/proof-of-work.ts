/**
 * The proof of work a new case carries (issue 19): a cost the sender pays per case, solved in the
 * browser's puzzle worker while the person types, checked by the server with one hash.
 *
 * The server hands out a challenge (opaque bytes it can authenticate; server/security/proof-of-work.ts)
 * and a difficulty in bits. A solution is an 8-byte nonce such that
 *
 *   SHA-256( "sd-proof-of-work-v1" ‖ 0x00 ‖ challenge ‖ caseId (36 ASCII characters) ‖ nonce )
 *
 * starts with `bits` zero bits. The case id is in the hash, so a solution is bound to one
 * submission and cannot be reused for another case; the challenge carries its own expiry and
 * difficulty, so nothing about it needs to be stored.
 *
 * SHA-256 is WebCrypto's, native in every browser, also where WebAssembly and the JavaScript JIT
 * are switched off (iPhone Lockdown Mode, Tor Browser's safer levels): measured in Chromium with
 * and without --jitless at 80,000 to 95,000 hashes a second on this project's 2-core test machine,
 * so 16 bits (65,536 hashes on average) is under a second there and a few seconds on an old phone.
 */

export const PROOF_OF_WORK_DOMAIN = 'sd-proof-of-work-v1'
export const NONCE_BYTES = 8

const encoder = new TextEncoder()
const PREFIX = encoder.encode(`${PROOF_OF_WORK_DOMAIN}\0`)

/** The bytes hashed for one attempt; the nonce occupies the last NONCE_BYTES and is written in place. */
export function puzzleInput(challenge: Uint8Array, caseId: string): Uint8Array {
  const id = encoder.encode(caseId)
  const input = new Uint8Array(PREFIX.length + challenge.length + id.length + NONCE_BYTES)
  input.set(PREFIX, 0)
  input.set(challenge, PREFIX.length)
  input.set(id, PREFIX.length + challenge.length)
  return input
}

/** How many leading zero bits `digest` has. */
export function leadingZeroBits(digest: Uint8Array): number {
  let bits = 0
  for (const byte of digest) {
    if (byte === 0) {
      bits += 8
      continue
    }
    return bits + Math.clz32(byte) - 24
  }
  return bits
}

function writeNonce(input: Uint8Array, counter: number): void {
  // A counter below 2^53 written big-endian into the last eight bytes.
  let value = counter
  for (let index = input.length - 1; index >= input.length - NONCE_BYTES; index--) {
    input[index] = value % 256
    value = Math.floor(value / 256)
  }
}

export interface PuzzleSolution {
  readonly nonce: Uint8Array
  readonly attempts: number
}

/**
 * Finds a nonce for `challenge` and `caseId` with WebCrypto's SHA-256 (browsers and Node both have
 * it). Starts from a random counter so two tabs never do the same work. `onProgress` is called
 * every few thousand attempts; `signal` stops the search (it then rejects with the signal's reason).
 */
export async function solvePuzzle(challenge: Uint8Array, caseId: string, bits: number, options: { signal?: AbortSignal; onProgress?: (attempts: number) => void } = {}): Promise<PuzzleSolution> {
  if (!Number.isInteger(bits) || bits < 0 || bits > 32) throw new RangeError('the puzzle difficulty must be 0 to 32 bits')
  const input = puzzleInput(challenge, caseId)
  const start = new Uint32Array(1)
  globalThis.crypto.getRandomValues(start)
  // Several digests in flight at once hide the per-call latency of the asynchronous API.
  const BATCH = 16
  let attempts = 0
  for (;;) {
    options.signal?.throwIfAborted()
    const tries: Promise<{ nonce: Uint8Array; zeros: number }>[] = []
    for (let index = 0; index < BATCH; index++) {
      const attempt = input.slice()
      writeNonce(attempt, start[0]! + attempts + index)
      tries.push(globalThis.crypto.subtle.digest('SHA-256', attempt).then((digest) => ({ nonce: attempt.slice(attempt.length - NONCE_BYTES), zeros: leadingZeroBits(new Uint8Array(digest)) })))
    }
    const results = await Promise.all(tries)
    attempts += BATCH
    const found = results.find((result) => result.zeros >= bits)
    if (found !== undefined) return { nonce: found.nonce, attempts }
    if (attempts % 4096 === 0) options.onProgress?.(attempts)
  }
}
