import { RoutingInputError, type Facts, type Policy } from './types.ts'

/**
 * Strict validation of facts and policies, with errors that name the field and say what is wrong
 * ("facts.suspect.rank must be one of the policy's ranks or \"staff\" (got \"sargent\")").
 *
 * Hand-written rather than compiled from the JSON schema: the engine also runs in the IDVA's
 * browser (the facts are confidential and never reach the server in clear), where a schema
 * compiler's generated code would need 'unsafe-eval'. The schema in config/routing/ documents the
 * same rules, and a test checks the example policy against it.
 */

type Json = unknown
const MAX_TEXT = 200

function show(value: Json): string {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}

function isObject(value: Json): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function object(value: Json, path: string, allowed: readonly string[], required: readonly string[] = []): Record<string, Json> {
  if (!isObject(value)) throw new RoutingInputError(path, `must be an object (got ${show(value)})`)
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw new RoutingInputError(`${path}.${key}`, `is not a known field (known: ${allowed.join(', ')})`)
  }
  for (const key of required) {
    if (!Object.hasOwn(value, key)) throw new RoutingInputError(`${path}.${key}`, 'is required')
  }
  return value
}

function text(value: Json, path: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new RoutingInputError(path, `must be a non-empty string (got ${show(value)})`)
  if (value.length > MAX_TEXT) throw new RoutingInputError(path, `must be at most ${MAX_TEXT} characters`)
  return value.trim()
}

function optionalText(value: Json, path: string): string | null {
  return value === undefined || value === null ? null : text(value, path)
}

function boolean(value: Json, path: string): boolean {
  if (typeof value !== 'boolean') throw new RoutingInputError(path, `must be true or false (got ${show(value)})`)
  return value
}

/** true, false, or null/absent for "not known". */
function tristate(value: Json, path: string): boolean | null {
  if (value === undefined || value === null) return null
  if (typeof value !== 'boolean') throw new RoutingInputError(path, `must be true, false or null for not known (got ${show(value)})`)
  return value
}

function textList(value: Json, path: string, { min = 0, max = 100 }: { min?: number; max?: number } = {}): string[] {
  if (!Array.isArray(value)) throw new RoutingInputError(path, `must be a list (got ${show(value)})`)
  if (value.length < min) throw new RoutingInputError(path, `must have at least ${min} ${min === 1 ? 'entry' : 'entries'}`)
  if (value.length > max) throw new RoutingInputError(path, `must have at most ${max} entries`)
  const items = value.map((item, index) => text(item, `${path}[${index}]`))
  const duplicate = items.find((item, index) => items.findIndex((other) => key(other) === key(item)) !== index)
  if (duplicate !== undefined) throw new RoutingInputError(path, `lists ${show(duplicate)} twice`)
  return items
}

/** Names compared without regard to case, spacing or "&" versus "and". */
export function key(name: string): string {
  return name.trim().toLowerCase().replace(/&/g, ' and ').replace(/[\s_-]+/g, ' ').trim()
}

/**
 * A record with no prototype, so a key such as "toString" or "constructor" in a policy is just a
 * key, never something inherited from Object.
 */
function record<T>(value: Json, path: string, item: (value: Json, path: string) => T): Record<string, T> {
  if (!isObject(value)) throw new RoutingInputError(path, `must be an object (got ${show(value)})`)
  const out: Record<string, T> = Object.create(null) as Record<string, T>
  for (const [name, entry] of Object.entries(value)) out[text(name, `${path} key`)] = item(entry, `${path}.${name}`)
  return out
}

const has = (value: object, field: string): boolean => Object.hasOwn(value, field)

const POLICY_FIELDS = [
  '$schema',
  'description',
  'example',
  'version',
  'force',
  'commandUnits',
  'alternates',
  'ranks',
  'otherForceFromRank',
  'chiefOfficerFromRank',
  'seniorStaffGrades',
  'staffGrades',
  'conflictedDepartments',
  'otherForceAlways',
  'partnerForces',
  'units',
  'names',
] as const

/**
 * Checks a policy file's content. Throws RoutingInputError naming the field, including R10: a
 * policy that would give one unit both a criminal and a misconduct track is refused here.
 */
export function validatePolicy(input: Json): Policy & { readonly example: boolean } {
  const p = object(input, 'policy', POLICY_FIELDS, POLICY_FIELDS.filter((field) => !['$schema', 'description', 'example', 'names', 'staffGrades'].includes(field)))
  if (p.description !== undefined && typeof p.description !== 'string') throw new RoutingInputError('policy.description', 'must be a string')
  const example = p.example === undefined ? false : boolean(p.example, 'policy.example')
  const version = text(p.version, 'policy.version')
  // The version goes into audit entries and package contexts: short, plain characters.
  if (!/^[A-Za-z0-9._:-]{1,64}$/.test(version)) throw new RoutingInputError('policy.version', 'must be 1 to 64 letters, digits, dots, hyphens, underscores or colons')
  const force = text(p.force, 'policy.force')

  const commandUnits = record(p.commandUnits, 'policy.commandUnits', (value, path) => textList(value, path, { min: 1 }))
  const codes = Object.keys(commandUnits)
  if (codes.length === 0) throw new RoutingInputError('policy.commandUnits', 'must name at least one command unit')
  const seen = new Map<string, string>()
  for (const [code, boroughs] of Object.entries(commandUnits)) {
    for (const borough of boroughs) {
      const other = seen.get(key(borough))
      if (other !== undefined) throw new RoutingInputError(`policy.commandUnits.${code}`, `lists ${show(borough)}, which is already in ${other}`)
      seen.set(key(borough), code)
    }
  }

  const alternates = record(p.alternates, 'policy.alternates', (value, path) => textList(value, path))
  for (const code of codes) {
    if (!has(alternates, code)) throw new RoutingInputError(`policy.alternates.${code}`, 'is required: every command unit needs its list of alternates')
  }
  for (const [code, list] of Object.entries(alternates)) {
    if (!codes.includes(code)) throw new RoutingInputError(`policy.alternates.${code}`, 'is not a command unit in policy.commandUnits')
    for (const alternate of list) {
      if (!codes.includes(alternate)) throw new RoutingInputError(`policy.alternates.${code}`, `lists ${show(alternate)}, which is not a command unit`)
      if (alternate === code) throw new RoutingInputError(`policy.alternates.${code}`, 'lists the command unit itself')
    }
  }

  const ranks = textList(p.ranks, 'policy.ranks', { min: 1 })
  if (ranks.some((rank) => key(rank) === 'staff')) throw new RoutingInputError('policy.ranks', 'must not include "staff" (police staff give rank "staff" and a staffGrade)')
  const otherForceFromRank = text(p.otherForceFromRank, 'policy.otherForceFromRank')
  const chiefOfficerFromRank = text(p.chiefOfficerFromRank, 'policy.chiefOfficerFromRank')
  for (const [field, rank] of [['otherForceFromRank', otherForceFromRank], ['chiefOfficerFromRank', chiefOfficerFromRank]] as const) {
    if (!ranks.some((candidate) => key(candidate) === key(rank))) throw new RoutingInputError(`policy.${field}`, `must be one of policy.ranks (got ${show(rank)})`)
  }
  const position = (rank: string) => ranks.findIndex((candidate) => key(candidate) === key(rank))
  if (position(chiefOfficerFromRank) < position(otherForceFromRank)) {
    throw new RoutingInputError('policy.chiefOfficerFromRank', `must not be below otherForceFromRank (${show(otherForceFromRank)}): a chief officer's case always goes to another force`)
  }

  const seniorStaffGrades = textList(p.seniorStaffGrades, 'policy.seniorStaffGrades')
  // The grades a reporter can choose from, when the force lists them; the senior ones among them.
  const staffGrades = p.staffGrades === undefined ? undefined : textList(p.staffGrades, 'policy.staffGrades', { min: 1 })
  const missing = staffGrades === undefined ? undefined : seniorStaffGrades.find((grade) => !staffGrades.some((candidate) => key(candidate) === key(grade)))
  if (missing !== undefined) throw new RoutingInputError('policy.seniorStaffGrades', `must be among policy.staffGrades (got ${show(missing)})`)
  const conflictedDepartments = textList(p.conflictedDepartments, 'policy.conflictedDepartments')
  const otherForceAlways = boolean(p.otherForceAlways, 'policy.otherForceAlways')
  const partnerForces = textList(p.partnerForces, 'policy.partnerForces')
  if (partnerForces.some((partner) => key(partner) === key(force))) throw new RoutingInputError('policy.partnerForces', 'must not include the policy\'s own force')

  const u = object(p.units, 'policy.units', ['criminal', 'misconduct', 'partnerCriminal', 'partnerMisconduct'], ['criminal', 'misconduct', 'partnerCriminal', 'partnerMisconduct'])
  const criminal = record(u.criminal, 'policy.units.criminal', text)
  for (const code of codes) {
    if (!has(criminal, code)) throw new RoutingInputError(`policy.units.criminal.${code}`, 'is required: every command unit needs its criminal unit')
  }
  for (const code of Object.keys(criminal)) {
    if (!codes.includes(code)) throw new RoutingInputError(`policy.units.criminal.${code}`, 'is not a command unit in policy.commandUnits')
  }
  const misconduct = text(u.misconduct, 'policy.units.misconduct')
  const partnerCriminal = record(u.partnerCriminal, 'policy.units.partnerCriminal', text)
  const partnerMisconduct = record(u.partnerMisconduct, 'policy.units.partnerMisconduct', text)
  for (const force of Object.keys(partnerCriminal)) {
    if (!partnerForces.some((partner) => key(partner) === key(force))) {
      throw new RoutingInputError(`policy.units.partnerCriminal.${force}`, 'is not in policy.partnerForces: criminal cases go only to partner forces')
    }
  }

  // R10: the two tracks never share a unit.
  const criminalUnits = new Set([...Object.values(criminal), ...Object.values(partnerCriminal)].map(key))
  for (const [path, unit] of [['policy.units.misconduct', misconduct], ...Object.entries(partnerMisconduct).map(([f, u]) => [`policy.units.partnerMisconduct.${f}`, u])] as const) {
    if (criminalUnits.has(key(unit))) {
      throw new RoutingInputError(path, `names ${show(unit)}, which is also a criminal unit: R10 keeps the criminal and misconduct tracks in separate units`)
    }
  }

  let names: Policy['names']
  if (p.names !== undefined) {
    const n = object(p.names, 'policy.names', ['commandUnits', 'units', 'forces', 'departments'])
    names = {
      ...(n.commandUnits === undefined ? {} : { commandUnits: record(n.commandUnits, 'policy.names.commandUnits', text) }),
      ...(n.units === undefined ? {} : { units: record(n.units, 'policy.names.units', text) }),
      ...(n.forces === undefined ? {} : { forces: record(n.forces, 'policy.names.forces', text) }),
      ...(n.departments === undefined ? {} : { departments: record(n.departments, 'policy.names.departments', text) }),
    }
  }

  return {
    example,
    version,
    force,
    commandUnits,
    alternates,
    ranks,
    otherForceFromRank,
    chiefOfficerFromRank,
    seniorStaffGrades,
    ...(staffGrades === undefined ? {} : { staffGrades }),
    conflictedDepartments,
    otherForceAlways,
    partnerForces,
    units: { criminal, misconduct, partnerCriminal, partnerMisconduct },
    ...(names === undefined ? {} : { names }),
  }
}

/** Checks facts against the contract and the policy (ranks). Throws RoutingInputError naming the field. */
export function validateFacts(input: Json, policy: Policy): Facts {
  const f = object(
    input,
    'facts',
    ['reporter', 'incidentBoroughs', 'suspect', 'allegation', 'consent', 'safeguardingOverride', 'requestOtherForce'],
    ['reporter', 'suspect', 'allegation', 'consent'],
  )
  const r = object(f.reporter, 'facts.reporter', ['homeBorough', 'workBorough', 'force'], ['force'])
  const s = object(
    f.suspect,
    'facts.suspect',
    ['policeEmployee', 'force', 'workBorough', 'rank', 'staffGrade', 'department', 'onDuty', 'abuseOfPosition', 'abuseOfPositionSexual'],
    ['policeEmployee'],
  )
  const a = object(f.allegation, 'facts.allegation', ['criminal', 'seriousAssault', 'seriousSexualOffence', 'discriminatory', 'relevantOffence'], ['criminal'])
  const c = object(f.consent, 'facts.consent', ['criminal', 'misconduct'], ['criminal', 'misconduct'])

  if (s.policeEmployee !== null && typeof s.policeEmployee !== 'boolean') {
    throw new RoutingInputError('facts.suspect.policeEmployee', `must be true, false or null for not known (got ${show(s.policeEmployee)})`)
  }
  const rank = optionalText(s.rank, 'facts.suspect.rank')
  if (rank !== null && key(rank) !== 'staff' && !policy.ranks.some((candidate) => key(candidate) === key(rank))) {
    throw new RoutingInputError('facts.suspect.rank', `must be one of the policy's ranks or "staff" (got ${show(rank)})`)
  }
  const staffGrade = optionalText(s.staffGrade, 'facts.suspect.staffGrade')
  if (staffGrade !== null && (rank === null || key(rank) !== 'staff')) {
    throw new RoutingInputError('facts.suspect.staffGrade', 'is only used when rank is "staff"')
  }

  let safeguardingOverride: Facts['safeguardingOverride'] = null
  if (f.safeguardingOverride !== undefined && f.safeguardingOverride !== null) {
    const o = object(f.safeguardingOverride, 'facts.safeguardingOverride', ['reason'], ['reason'])
    if (typeof o.reason !== 'string' || o.reason.trim() === '') throw new RoutingInputError('facts.safeguardingOverride.reason', 'must say why (a non-empty string)')
    if (o.reason.length > 2000) throw new RoutingInputError('facts.safeguardingOverride.reason', 'must be at most 2000 characters')
    safeguardingOverride = { reason: o.reason.trim() }
  }

  const incidentBoroughs = f.incidentBoroughs === undefined || f.incidentBoroughs === null ? [] : textList(f.incidentBoroughs, 'facts.incidentBoroughs', { max: 20 })

  return {
    reporter: { homeBorough: optionalText(r.homeBorough, 'facts.reporter.homeBorough'), workBorough: optionalText(r.workBorough, 'facts.reporter.workBorough'), force: text(r.force, 'facts.reporter.force') },
    incidentBoroughs,
    suspect: {
      policeEmployee: s.policeEmployee as boolean | null,
      force: optionalText(s.force, 'facts.suspect.force'),
      workBorough: optionalText(s.workBorough, 'facts.suspect.workBorough'),
      rank,
      staffGrade,
      department: optionalText(s.department, 'facts.suspect.department'),
      onDuty: tristate(s.onDuty, 'facts.suspect.onDuty'),
      abuseOfPosition: tristate(s.abuseOfPosition, 'facts.suspect.abuseOfPosition'),
      abuseOfPositionSexual: tristate(s.abuseOfPositionSexual, 'facts.suspect.abuseOfPositionSexual'),
    },
    allegation: {
      criminal: boolean(a.criminal, 'facts.allegation.criminal'),
      seriousAssault: tristate(a.seriousAssault, 'facts.allegation.seriousAssault'),
      seriousSexualOffence: tristate(a.seriousSexualOffence, 'facts.allegation.seriousSexualOffence'),
      discriminatory: tristate(a.discriminatory, 'facts.allegation.discriminatory'),
      relevantOffence: tristate(a.relevantOffence, 'facts.allegation.relevantOffence'),
    },
    consent: { criminal: boolean(c.criminal, 'facts.consent.criminal'), misconduct: boolean(c.misconduct, 'facts.consent.misconduct') },
    safeguardingOverride,
    requestOtherForce: tristate(f.requestOtherForce, 'facts.requestOtherForce'),
  }
}
