import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { leadingZeroBits, NONCE_BYTES, puzzleInput } from '../../crypto/proof-of-work.ts'

/**
 * The server's half of the proof of work on new cases (crypto/proof-of-work.ts has the puzzle).
 *
 * A challenge is 38 bytes the server can check without storing anything:
 *   version (1) ‖ bits (1) ‖ minute it was issued, since the epoch (4, big-endian) ‖ random (16) ‖
 *   HMAC-SHA256(key, the 22 bytes before)[0..16]
 * with the key derived from SERVER_SECRET. Every instance issues and checks the same challenges.
 * Nothing about a challenge is stored or logged; the minute inside it never reaches the database
 * (a case row has no time finer than its day).
 *
 * A challenge lasts a day, because a person may keep the page open a long time while they write;
 * one challenge can serve several cases, but each needs its own solution (the case id is hashed in),
 * and a case id is accepted once.
 */

const VERSION = 1
const BODY_BYTES = 22
const MAC_BYTES = 16
export const CHALLENGE_BYTES = BODY_BYTES + MAC_BYTES
export const CHALLENGE_MINUTES = 24 * 60

export type PuzzleVerdict = 'solved' | 'malformed' | 'forged' | 'expired' | 'too_easy' | 'unsolved'

export class PuzzleIssuer {
  readonly #key: Buffer

  constructor(
    serverSecret: Buffer,
    /** The difficulty handed out now, and the least accepted. */
    readonly bits: number,
  ) {
    this.#key = createHmac('sha256', serverSecret).update('sd-proof-of-work-v1').digest()
  }

  #mac(body: Buffer): Buffer {
    return createHmac('sha256', this.#key).update(body).digest().subarray(0, MAC_BYTES)
  }

  issue(now = Date.now()): { challenge: Buffer; bits: number } {
    const body = Buffer.alloc(BODY_BYTES)
    body[0] = VERSION
    body[1] = this.bits
    body.writeUInt32BE(Math.floor(now / 60_000), 2)
    randomBytes(16).copy(body, 6)
    return { challenge: Buffer.concat([body, this.#mac(body)]), bits: this.bits }
  }

  /** Checks a solution: one HMAC and one SHA-256, whatever the difficulty. */
  check(challenge: Uint8Array, caseId: string, nonce: Uint8Array, now = Date.now()): PuzzleVerdict {
    if (challenge.length !== CHALLENGE_BYTES || nonce.length !== NONCE_BYTES || challenge[0] !== VERSION) return 'malformed'
    const body = Buffer.from(challenge.subarray(0, BODY_BYTES))
    if (!timingSafeEqual(this.#mac(body), challenge.subarray(BODY_BYTES))) return 'forged'
    const minute = body.readUInt32BE(2)
    const nowMinute = Math.floor(now / 60_000)
    if (minute > nowMinute + 5 || nowMinute - minute > CHALLENGE_MINUTES) return 'expired'
    const bits = body[1]!
    if (bits < this.bits) return 'too_easy'
    const input = puzzleInput(challenge, caseId)
    input.set(nonce, input.length - NONCE_BYTES)
    return leadingZeroBits(createHash('sha256').update(input).digest()) >= bits ? 'solved' : 'unsolved'
  }
}
