import { createHmac } from 'node:crypto'
import { loadSodium } from '../../crypto/sodium.ts'
import { loadSodiumSumo } from '../../crypto/sodium-sumo.ts'

/**
 * The server's own secrets, all derived from SERVER_SECRET (never stored in the database):
 *   - a key that seals each account's TOTP secret (so a copy of the database alone cannot produce
 *     second-factor codes) and the short-lived enrolment tickets that carry a new TOTP secret
 *     between the enrolment page and its submission;
 *   - a key for the decoy passphrase parameters shown for unknown user names (no enumeration).
 *
 * And the Argon2id hash of the passphrase verifier. The verifier is 32 bytes derived in the browser
 * from the passphrase, so it is already unguessable; Argon2id here (with modest parameters) keeps a
 * stolen table from being useful for logging in, without making every login cost the server much.
 */

export class ServerKeys {
  readonly #sealing: Buffer
  readonly #decoy: Buffer

  constructor(serverSecret: Buffer) {
    this.#sealing = createHmac('sha256', serverSecret).update('sd-server-sealing-v1').digest()
    this.#decoy = createHmac('sha256', serverSecret).update('sd-decoy-salt-v1').digest()
  }

  /** Seals `plaintext` bound to `context` (e.g. "totp:<account id>"). */
  async seal(plaintext: Uint8Array, context: string): Promise<Buffer> {
    const s = await loadSodium()
    const nonce = s.randombytes_buf(24)
    return Buffer.concat([nonce, s.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, context, null, nonce, this.#sealing)])
  }

  /** Opens what seal() made with the same context; null if it was altered or is for another context. */
  async open(sealed: Uint8Array, context: string): Promise<Buffer | null> {
    const s = await loadSodium()
    if (sealed.length < 24 + 16) return null
    try {
      return Buffer.from(s.crypto_aead_xchacha20poly1305_ietf_decrypt(null, sealed.subarray(24), context, sealed.subarray(0, 24), this.#sealing))
    } catch {
      return null
    }
  }

  /** A stable, secret-dependent salt for a user name that has no account. */
  decoySalt(username: string): Buffer {
    return createHmac('sha256', this.#decoy).update(username).digest().subarray(0, 16)
  }
}

// Argon2id for the verifier: 2 passes over 19 MiB (OWASP's minimum for Argon2id). Each hash or
// check holds the thread it runs on for 40-80 ms, so the server runs these two only in its worker
// threads (app.heavyWork, server/workers/heavy-work.ts), never on the event loop; the scripts that
// seed accounts call them directly.
const VERIFIER_OPS = 2
const VERIFIER_MEM = 19 * 1024 * 1024

export async function hashVerifier(verifier: Uint8Array): Promise<string> {
  const sumo = await loadSodiumSumo()
  return sumo.crypto_pwhash_str(verifier, VERIFIER_OPS, VERIFIER_MEM)
}

let decoyHash: Promise<string> | undefined

/**
 * Checks a verifier against its stored hash. With no hash (no such account) it checks against a
 * decoy, so an unknown user name takes as long as a wrong passphrase.
 */
export async function checkVerifier(hash: string | null, verifier: Uint8Array): Promise<boolean> {
  const sumo = await loadSodiumSumo()
  decoyHash ??= hashVerifier(new Uint8Array(32))
  const against = hash ?? (await decoyHash)
  const ok = sumo.crypto_pwhash_str_verify(against, verifier)
  return hash !== null && ok
}
