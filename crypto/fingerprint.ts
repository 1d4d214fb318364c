import { concat, utf8 } from './bytes.ts'
import { fail } from './errors.ts'
import { PUBLIC_KEY_BYTES, type PublicKeySet } from './keys.ts'
import { loadSodium } from './sodium.ts'

/**
 * A fingerprint of a party's public keys that a person can compare with one on a poster or an
 * intranet page: six groups of five digits (about 100 bits), as in Signal's safety numbers.
 *
 *   h = BLAKE2b-256("sd-fingerprint-v1" || X25519 public key || Ed25519 public key)
 *   group i (i = 0..5) = (big-endian 40-bit integer of h[5i .. 5i+5]) mod 100000, zero-padded to 5
 */
export async function fingerprint(keys: PublicKeySet): Promise<string> {
  const s = await loadSodium()
  if (keys.encryption.length !== PUBLIC_KEY_BYTES || keys.signing.length !== PUBLIC_KEY_BYTES) {
    fail('malformed', 'fingerprints are of a 32-byte X25519 key and a 32-byte Ed25519 key')
  }
  const h = s.crypto_generichash(32, concat(utf8('sd-fingerprint-v1'), keys.encryption, keys.signing), null)
  const groups: string[] = []
  for (let i = 0; i < 6; i++) {
    let value = 0
    for (const byte of h.subarray(5 * i, 5 * i + 5)) value = value * 256 + byte
    groups.push(String(value % 100_000).padStart(5, '0'))
  }
  return groups.join(' ')
}
