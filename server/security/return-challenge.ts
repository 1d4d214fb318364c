import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto'

/**
 * The one-time challenges a reporter's browser signs at /return, kept out of the database.
 *
 * A challenge is nonce (16 random bytes) || u64(expiry, ms) || the first 16 bytes of
 * HMAC-SHA256(key, "sd-return-challenge-v1" || nonce || expiry), under a key derived from
 * SERVER_SECRET: the server can tell its own, unexpired challenges without storing them, so no row
 * records when someone asked to open a case. Using one records only a hash of its nonce and the
 * day (used_challenges), which is what stops it being used twice.
 */

const LABEL = Buffer.from('sd-return-challenge-v1', 'utf8')
export const CHALLENGE_BYTES = 40
export const CHALLENGE_MS = 2 * 60 * 1000

export class ReturnChallenges {
  readonly #key: Buffer

  constructor(serverSecret: Buffer) {
    this.#key = Buffer.from(hkdfSync('sha256', serverSecret, Buffer.alloc(0), 'sd-return-challenge-key-v1', 32))
  }

  #mac(body: Buffer): Buffer {
    return createHmac('sha256', this.#key).update(LABEL).update(body).digest().subarray(0, 16)
  }

  issue(now = Date.now()): Buffer {
    const body = Buffer.alloc(24)
    randomBytes(16).copy(body)
    body.writeBigUInt64BE(BigInt(now + CHALLENGE_MS), 16)
    return Buffer.concat([body, this.#mac(body)])
  }

  /** The challenge's nonce if it is one of ours and has not expired; null otherwise. */
  check(challenge: Buffer, now = Date.now()): Buffer | null {
    if (challenge.length !== CHALLENGE_BYTES) return null
    const body = challenge.subarray(0, 24)
    if (!timingSafeEqual(this.#mac(body), challenge.subarray(24))) return null
    if (Number(body.readBigUInt64BE(16)) <= now) return null
    return body.subarray(0, 16)
  }
}
