/**
 * The repeat-perpetrator signal's comparison, in the IDVA's browser: a named person's identifiers
 * (full name, collar or staff number), normalised so that "Sgt John O'Brien", "o'brien, john" and
 * "JOHN OBRIEN" compare equal, and "PC 0123 AB" equals "123AB". Pure functions: the index entries
 * they are compared with are decrypted by the caller, and nothing about a match is ever sent.
 */

/** Titles and ranks that are not part of a name. */
const TITLES = new Set([
  'mr', 'mrs', 'ms', 'miss', 'mx', 'dr', 'sir', 'dame', 'prof',
  'pc', 'wpc', 'ps', 'dc', 'ds', 'di', 'dci', 'dsu', 'det', 'detective', 'sgt', 'sergeant', 'constable',
  'insp', 'inspector', 'ci', 'chief', 'supt', 'superintendent', 'ch', 'officer', 'pcso', 'cmdr', 'commander',
])

/** Rank abbreviations that may be written in front of a collar number. */
const NUMBER_PREFIXES = ['WPC', 'PCSO', 'SGT', 'PC', 'PS', 'DC', 'DS']

/** A full name as sorted lower-case words without titles, or null when fewer than two words remain. */
export function normaliseName(name: string): string | null {
  const words = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/['’`-]/g, '')
    .replace(/[^a-z]+/g, ' ')
    .split(' ')
    .filter((word) => word !== '' && !TITLES.has(word))
  const unique = [...new Set(words)].sort()
  // One word ("Dave") would match far too many people to mean anything.
  return unique.length < 2 ? null : unique.join(' ')
}

/** A collar or staff number in upper case without spaces, rank prefix or leading zeros. */
export function normaliseNumber(number: string): string | null {
  let value = number.normalize('NFKC').toUpperCase().replace(/[^A-Z0-9]/g, '')
  const prefix = NUMBER_PREFIXES.find((candidate) => value.startsWith(candidate) && /^\d/.test(value.slice(candidate.length)))
  if (prefix !== undefined) value = value.slice(prefix.length)
  value = value.replace(/^0+(?=\d)/, '')
  return value.length < 2 || !/\d/.test(value) ? null : value
}

export interface Identifiers {
  readonly names: readonly string[]
  readonly numbers: readonly string[]
}

/** The identifiers in a disclosure's answers (perpetratorName, perpetratorNumber). */
export function identifiersOf(answers: Readonly<Record<string, string | readonly string[]>> | undefined): Identifiers {
  const one = (value: string | readonly string[] | undefined) => (typeof value === 'string' ? [value] : [...(value ?? [])])
  const names = one(answers?.perpetratorName).map(normaliseName).filter((name): name is string => name !== null)
  const numbers = one(answers?.perpetratorNumber).map(normaliseNumber).filter((number): number is string => number !== null)
  return { names: [...new Set(names)], numbers: [...new Set(numbers)] }
}

export function isEmpty(identifiers: Identifiers): boolean {
  return identifiers.names.length === 0 && identifiers.numbers.length === 0
}

/** True when the two share a full name or a number. */
export function samePerson(a: Identifiers, b: Identifiers): boolean {
  return a.names.some((name) => b.names.includes(name)) || a.numbers.some((number) => b.numbers.includes(number))
}

export function sameIdentifiers(a: Identifiers, b: Identifiers): boolean {
  const key = (identifiers: Identifiers) => JSON.stringify([[...identifiers.names].sort(), [...identifiers.numbers].sort()])
  return key(a) === key(b)
}
