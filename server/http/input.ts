import { HttpError } from '../errors.ts'

/**
 * Reading the JSON the portal's own scripts send (the staff pages, the reporter's and the line
 * manager's). Every field is checked; a bad one gets a 400 that says which field and what is
 * wrong, and nothing is written.
 */

type Body = Record<string, unknown>

export function body(value: unknown): Body {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, 'The request must be a JSON object.')
  return value as Body
}

export function text(input: Body, field: string, { min = 1, max = 200, pattern }: { min?: number; max?: number; pattern?: RegExp } = {}): string {
  const value = input[field]
  if (typeof value !== 'string') throw new HttpError(400, `${field} is missing.`)
  const trimmed = value.trim()
  // A NUL character is in no name, code or word the portal takes (and the database refuses it).
  if (trimmed.includes('\u0000')) throw new HttpError(400, `${field} has a character in it that the portal does not take.`)
  if (trimmed.length < min || trimmed.length > max) throw new HttpError(400, `${field} must be ${min} to ${max} characters.`)
  if (pattern !== undefined && !pattern.test(trimmed)) throw new HttpError(400, `${field} is not in the expected form.`)
  return trimmed
}

/** base64url (no padding) of exactly `length` bytes, or at most `max` bytes. */
export function bytes(input: Body, field: string, size: { length?: number; max?: number }): Buffer {
  const value = input[field]
  if (typeof value !== 'string' || !/^[A-Za-z0-9_-]*$/.test(value)) throw new HttpError(400, `${field} must be base64url text.`)
  const decoded = Buffer.from(value, 'base64url')
  if (decoded.toString('base64url') !== value) throw new HttpError(400, `${field} is not canonical base64url.`)
  if (size.length !== undefined && decoded.length !== size.length) throw new HttpError(400, `${field} must be ${size.length} bytes.`)
  if (size.max !== undefined && decoded.length > size.max) throw new HttpError(400, `${field} is too long.`)
  if (decoded.length === 0) throw new HttpError(400, `${field} is empty.`)
  return decoded
}

export function integer(input: Body, field: string, min: number, max: number): number {
  const value = input[field]
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw new HttpError(400, `${field} must be a whole number from ${min} to ${max}.`)
  return value
}

export function object(input: Body, field: string): Body {
  const value = input[field]
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, `${field} is missing.`)
  return value as Body
}

export function list(input: Body, field: string, max: number): Body[] {
  const value = input[field]
  if (!Array.isArray(value)) throw new HttpError(400, `${field} must be a list.`)
  if (value.length > max) throw new HttpError(400, `${field} is too long.`)
  return value.map((item, index) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw new HttpError(400, `${field}[${index}] must be an object.`)
    return item as Body
  })
}

/** User names: lower case letters, digits, dot, hyphen, underscore; 3 to 64 characters. */
export const USERNAME = /^[a-z0-9][a-z0-9._-]{1,62}[a-z0-9]$/

export function username(input: Body, field = 'username'): string {
  const value = input[field]
  if (typeof value !== 'string') throw new HttpError(400, 'Enter your user name.')
  const normalised = value.trim().toLowerCase()
  if (!USERNAME.test(normalised)) {
    throw new HttpError(400, 'A user name is 3 to 64 characters: lower-case letters, digits, dots, hyphens or underscores, starting and ending with a letter or digit.')
  }
  return normalised
}
