import { createHash, timingSafeEqual } from 'node:crypto'

/**
 * Bearer tokens (session cookies, invitation and set-up links, upload tokens, recovery codes): the
 * database keeps only their SHA-256. They are 60 to 256 random bits, so a fast hash is enough: there
 * is nothing to guess.
 */
export function sha256(value: string | Uint8Array): Buffer {
  return createHash('sha256').update(value).digest()
}

/** Compares two tokens in constant time (for equal lengths; a length difference is not secret). */
export function sameToken(a: string, b: string): boolean {
  const left = Buffer.from(a)
  const right = Buffer.from(b)
  return left.length === right.length && timingSafeEqual(left, right)
}
