import { fail } from './errors.ts'

/**
 * Padding to size buckets, so a ciphertext shows only which bucket its plaintext fell in.
 *
 * Buckets are 256 bytes doubling up to 1 MiB: 256, 512, 1 KiB, ..., 1 MiB (13 buckets). A plaintext
 * of n bytes goes in the smallest bucket b with n + 1 <= b, padded ISO/IEC 7816-4 style (as
 * libsodium's sodium_pad): one 0x80 byte, then zeros up to b. Unpadding is strict: the bytes after
 * the last 0x80 must all be zero and the length must be a bucket.
 */
export const PADDING_BUCKETS: readonly number[] = Array.from({ length: 13 }, (_, i) => 256 << i)
export const MAX_PADDED_PLAINTEXT = PADDING_BUCKETS[PADDING_BUCKETS.length - 1]! - 1

export function bucketFor(length: number): number {
  const bucket = PADDING_BUCKETS.find((size) => length + 1 <= size)
  if (bucket === undefined) fail('too_large', `plaintext of ${length} bytes is over the ${MAX_PADDED_PLAINTEXT}-byte limit`)
  return bucket
}

export function isBucket(length: number): boolean {
  return PADDING_BUCKETS.includes(length)
}

export function pad(plaintext: Uint8Array): Uint8Array {
  const out = new Uint8Array(bucketFor(plaintext.length))
  out.set(plaintext)
  out[plaintext.length] = 0x80
  return out
}

export function unpad(padded: Uint8Array): Uint8Array {
  if (!isBucket(padded.length)) fail('malformed', 'padded length is not a bucket size')
  let end = padded.length - 1
  while (end >= 0 && padded[end] === 0) end--
  if (end < 0 || padded[end] !== 0x80) fail('malformed', 'invalid padding')
  return padded.slice(0, end)
}
