import type { Test } from 'tap'
import { CryptoError, type CryptoErrorCode } from '../../crypto/errors.ts'

/** Asserts that `work` fails with a CryptoError, optionally of one of `codes`. */
export async function rejectsWithCryptoError(t: Test, work: Promise<unknown> | (() => unknown), codes?: CryptoErrorCode | readonly CryptoErrorCode[], message?: string): Promise<void> {
  try {
    await (typeof work === 'function' ? work() : work)
  } catch (error) {
    if (!(error instanceof CryptoError)) {
      t.fail(`${message ?? 'expected a CryptoError'}: got ${String(error)}`)
      return
    }
    const allowed = codes === undefined ? undefined : typeof codes === 'string' ? [codes] : codes
    if (allowed === undefined || allowed.includes(error.code)) t.pass(message ?? `refused: ${error.code}`)
    else t.fail(`${message ?? 'wrong error'}: expected ${allowed.join('|')}, got ${error.code} (${error.message})`)
    return
  }
  t.fail(`${message ?? 'expected a CryptoError'}: it succeeded`)
}

/** For fast-check properties: true when `work` fails with a CryptoError (and nothing else). */
export async function failsWithCryptoError(work: () => Promise<unknown>): Promise<boolean> {
  try {
    await work()
    return false
  } catch (error) {
    if (error instanceof CryptoError) return true
    throw error
  }
}

export const text = (value: string) => new TextEncoder().encode(value)
