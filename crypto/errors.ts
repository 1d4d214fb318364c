/**
 * The one error type the crypto module throws for bad input or a failed check. Parsers and
 * openers throw it (never a TypeError, RangeError or a libsodium message) and never return partial
 * output. `code` says what kind of problem it was; `message` is for logs and tests, not for users.
 *
 * Codes:
 *   malformed          the bytes or text are not in the expected format (wrong length, bad field)
 *   unsupported        a version, kind or parameter this implementation does not know
 *   too_large          a field or the whole input is over its cap
 *   duplicate_recipient the same recipient key appears twice
 *   not_a_recipient    none of the keys offered can open it
 *   decryption_failed  authentication failed: wrong key, wrong case id, or the data was changed
 *   bad_signature      a signature does not verify
 *   unknown_signer     signed by a key that is not among the trusted ones
 *   signature_required the content must be signed and is not
 *   wrong_kind         it is not the kind of content expected
 *   truncated          a stream ended before its final chunk
 *   bad_code           a case code is not valid (see CaseCodeProblem for details)
 *   key_mismatch       unwrapped keys do not match the public key they should belong to
 */
export type CryptoErrorCode =
  | 'malformed'
  | 'unsupported'
  | 'too_large'
  | 'duplicate_recipient'
  | 'not_a_recipient'
  | 'decryption_failed'
  | 'bad_signature'
  | 'unknown_signer'
  | 'signature_required'
  | 'wrong_kind'
  | 'truncated'
  | 'bad_code'
  | 'key_mismatch'

export class CryptoError extends Error {
  constructor(
    readonly code: CryptoErrorCode,
    message: string,
  ) {
    super(message)
    this.name = 'CryptoError'
  }
}

export function fail(code: CryptoErrorCode, message: string): never {
  throw new CryptoError(code, message)
}
