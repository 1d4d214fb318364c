import { CryptoError, fail } from './errors.ts'

/** Small, strict helpers for the binary formats. Every read is bounds-checked before it happens. */

const encoder = new TextEncoder()
const strictDecoder = new TextDecoder('utf-8', { fatal: true })

export function utf8(text: string): Uint8Array {
  return encoder.encode(text)
}

/** Decodes UTF-8, refusing invalid sequences (CryptoError 'malformed'). */
export function fromUtf8(bytes: Uint8Array): string {
  if (!(bytes instanceof Uint8Array)) fail('malformed', 'expected bytes')
  try {
    return strictDecoder.decode(bytes)
  } catch {
    return fail('malformed', 'text is not valid UTF-8')
  }
}

export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  let length = 0
  for (const part of parts) length += part.length
  const out = new Uint8Array(length)
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

export function u8(value: number): Uint8Array {
  return Uint8Array.of(value & 0xff)
}

export function u16(value: number): Uint8Array {
  return Uint8Array.of((value >>> 8) & 0xff, value & 0xff)
}

export function u32(value: number): Uint8Array {
  return Uint8Array.of((value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff)
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let difference = 0
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!
  return difference === 0
}

/** Reads a byte string front to back; any read past the end throws CryptoError('malformed'). */
export class ByteReader {
  #offset = 0
  constructor(
    private readonly bytes: Uint8Array,
    private readonly what: string,
  ) {}

  get offset(): number {
    return this.#offset
  }

  get remaining(): number {
    return this.bytes.length - this.#offset
  }

  take(length: number, field: string): Uint8Array {
    if (!Number.isInteger(length) || length < 0 || length > this.remaining) {
      fail('malformed', `${this.what}: ${field} is truncated`)
    }
    const out = this.bytes.subarray(this.#offset, this.#offset + length)
    this.#offset += length
    return out
  }

  u8(field: string): number {
    return this.take(1, field)[0]!
  }

  u16(field: string): number {
    const [a, b] = this.take(2, field)
    return (a! << 8) | b!
  }

  rest(): Uint8Array {
    return this.take(this.remaining, 'rest')
  }

  end(): void {
    if (this.remaining !== 0) fail('malformed', `${this.what}: ${this.remaining} unexpected bytes at the end`)
  }
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/
const BASE64URL = /^[A-Za-z0-9_-]*$/

/** Only ASCII white space (space, tab, CR, LF) is ignored around encoded text. */
export function trimAsciiWhitespace(text: string): string {
  return text.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '')
}

function decodeBase64(text: string, alphabet: RegExp, what: string, maxBytes: number): Uint8Array {
  if (typeof text !== 'string') fail('malformed', `${what} must be text`)
  if (text.length > Math.ceil((maxBytes * 4) / 3) + 4) fail('too_large', `${what} is too large`)
  if (!alphabet.test(text) || text.length % 4 === 1) fail('malformed', `${what} is not valid base64`)
  const standard = text.replace(/-/g, '+').replace(/_/g, '/')
  const padded = standard + '='.repeat((4 - (standard.length % 4)) % 4)
  const binary = atob(padded)
  const out = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i)
  return out
}

function encodeBase64(bytes: Uint8Array): string {
  let binary = ''
  const step = 0x8000
  for (let i = 0; i < bytes.length; i += step) binary += String.fromCharCode(...bytes.subarray(i, i + step))
  return btoa(binary)
}

/** Standard base64 with padding (RFC 4648 section 4): key files. */
export const base64 = {
  encode: encodeBase64,
  decode(text: string, what: string, maxBytes = 1 << 20): Uint8Array {
    if (typeof text !== 'string') fail('malformed', `${what} must be text`)
    const trimmed = trimAsciiWhitespace(text)
    if (trimmed.length % 4 !== 0) fail('malformed', `${what} is not valid base64`)
    return decodeBase64(trimmed, BASE64, what, maxBytes)
  },
}

/** base64url without padding (RFC 4648 section 5): envelopes and ids in URLs and JSON. */
export const base64url = {
  encode(bytes: Uint8Array): string {
    return encodeBase64(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
  },
  decode(text: string, what: string, maxBytes = 8 << 20): Uint8Array {
    const out = decodeBase64(text, BASE64URL, what, maxBytes)
    // Canonical only: re-encoding must give the same text (no stray bits in the last character).
    if (base64url.encode(out) !== text) fail('malformed', `${what} is not canonical base64url`)
    return out
  },
}

export function isCryptoError(error: unknown): error is CryptoError {
  return error instanceof CryptoError
}

/** Type guard for bytes arriving from JSON or other callers (CryptoError, never a TypeError). */
export function requireBytes(value: unknown, what: string, length?: number): Uint8Array {
  if (!(value instanceof Uint8Array)) fail('malformed', `${what} must be bytes`)
  if (length !== undefined && value.length !== length) fail('malformed', `${what} must be ${length} bytes`)
  return value
}
