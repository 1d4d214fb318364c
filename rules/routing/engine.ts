import {
  RoutingSeparationError,
  type CriminalTrack,
  type Decision,
  type Facts,
  type Policy,
  type RuleId,
  type Track,
  type Withheld,
} from './types.ts'
import { key, validateFacts, validatePolicy } from './validate.ts'

/**
 * route(facts, policy) -> decision: a pure function (no I/O, no clock, no randomness), specified in
 * ../shared/ROUTING.md. The same facts and policy always give the same decision. It runs on the
 * server and the CLI, and in the IDVA's browser, where the facts are.
 *
 * Every rule that shapes a track is listed in that track's `rules`, in rule order, with one
 * plain-English sentence for it at the same position in `explanation`, written for an IDVA.
 */

/** A rule and the sentence that explains how it applied, gathered while deciding. */
class Reasons {
  readonly #entries = new Map<RuleId, string[]>()

  add(rule: RuleId, sentence: string): void {
    const sentences = this.#entries.get(rule) ?? []
    sentences.push(sentence)
    this.#entries.set(rule, sentences)
  }

  get empty(): boolean {
    return this.#entries.size === 0
  }

  /** Rules in number order; each rule's sentences joined into one, ending with its id. */
  collect(): { rules: RuleId[]; explanation: string[] } {
    const rules = [...this.#entries.keys()].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)))
    return { rules, explanation: rules.map((rule) => `${this.#entries.get(rule)!.join(' ')} (${rule})`) }
  }
}

/** A value from a policy record, matching names as the policy does (case, spacing); own keys only. */
function lookup(record: Readonly<Record<string, string>>, name: string): string | null {
  const found = Object.keys(record).find((candidate) => key(candidate) === key(name))
  return found === undefined || !Object.hasOwn(record, found) ? null : (record[found] ?? null)
}

function lookupList(record: Readonly<Record<string, readonly string[]>>, name: string): readonly string[] {
  return Object.hasOwn(record, name) ? (record[name] ?? []) : []
}

function list(items: readonly string[]): string {
  if (items.length <= 1) return items.join('')
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`
}

function sentence(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1)
}

interface Context {
  readonly facts: Facts
  readonly policy: Policy
  readonly warnings: string[]
  commandUnitOf(borough: string | null | undefined): string | null
  cuName(code: string): string
  unitName(unit: string): string
  forceName(force: string): string
  departmentName(department: string): string
}

function contextFor(facts: Facts, policy: Policy): Context {
  const byBorough = new Map<string, string>()
  for (const [code, boroughs] of Object.entries(policy.commandUnits)) for (const borough of boroughs) byBorough.set(key(borough), code)
  return {
    facts,
    policy,
    warnings: [],
    commandUnitOf: (borough) => (borough === null || borough === undefined ? null : (byBorough.get(key(borough)) ?? null)),
    cuName: (code) => lookup(policy.names?.commandUnits ?? {}, code) ?? code,
    unitName: (unit) => lookup(policy.names?.units ?? {}, unit) ?? unit,
    forceName: (force) => lookup(policy.names?.forces ?? {}, force) ?? force,
    departmentName: (department) => lookup(policy.names?.departments ?? {}, department) ?? department,
  }
}

/** A unit's name, with its force when the name does not already say it. */
function unitLabel(ctx: Context, unit: string, force: string | null): string {
  const name = ctx.unitName(unit)
  if (force === null || key(force) === key(ctx.policy.force)) return name
  const forceName = ctx.forceName(force)
  return name.includes(forceName) ? name : `${name} (${forceName})`
}

/** What is known about whether the suspect works for this force. */
type Employment = 'this-force' | 'other-force' | 'police-unknown-force' | 'not-police' | 'unknown'

function employmentOf({ facts, policy, warnings }: Context): Employment {
  const { policeEmployee, force, onDuty, abuseOfPosition, abuseOfPositionSexual } = facts.suspect
  if (policeEmployee === false) return 'not-police'
  if (policeEmployee === null) {
    // Someone "on duty", or who used their police position, works for the police.
    if (onDuty !== true && abuseOfPosition !== true && abuseOfPositionSexual !== true) return 'unknown'
    warnings.push('Whether the person harming them works for the police is marked not known, but the account says they were on duty or used their police position, so they are treated as working for the police. (R12)')
  }
  if (force === null || force === undefined) return 'police-unknown-force'
  return key(force) === key(policy.force) ? 'this-force' : 'other-force'
}

/** Whether the suspect may be of this force: known to be, or not known not to be. */
function mayBeThisForce(employment: Employment): boolean {
  return employment === 'this-force' || employment === 'police-unknown-force' || employment === 'unknown'
}

function rankIndex(policy: Policy, rank: string): number {
  return policy.ranks.findIndex((candidate) => key(candidate) === key(rank))
}

/**
 * Whether the suspect is at or above a threshold: 'other-force' (otherForceFromRank, or a senior
 * staff grade) or 'chief-officer' (chiefOfficerFromRank; police staff never are). True, false, or
 * null when it cannot be ruled out (rank, or a staff member's grade, not known).
 */
function rankAtLeast(ctx: Context, threshold: 'other-force' | 'chief-officer'): boolean | null {
  const { rank, staffGrade } = ctx.facts.suspect
  if (rank === null || rank === undefined) return null
  if (key(rank) === 'staff') {
    if (threshold === 'chief-officer') return false
    if (staffGrade === null || staffGrade === undefined) return null
    return ctx.policy.seniorStaffGrades.some((grade) => key(grade) === key(staffGrade))
  }
  const limit = threshold === 'other-force' ? ctx.policy.otherForceFromRank : ctx.policy.chiefOfficerFromRank
  return rankIndex(ctx.policy, rank) >= rankIndex(ctx.policy, limit)
}

function describeSuspectRank(ctx: Context): string {
  const { rank, staffGrade } = ctx.facts.suspect
  if (rank === null || rank === undefined) return 'of unknown rank'
  if (key(rank) === 'staff') return staffGrade === null || staffGrade === undefined ? 'a member of police staff of unknown grade' : `a member of police staff, grade ${staffGrade}`
  return `${/^[aeiou]/i.test(rank) ? 'an' : 'a'} ${rank}`
}

/** R3: the command units that cannot investigate, and how each came to be ruled out. */
function conflictedCommandUnits(ctx: Context, employment: Employment): { units: string[]; because: string[] } {
  const { facts, policy } = ctx
  const found = new Set<string>()
  const outside: string[] = []
  /** "Camden (Central North)", recording the command unit as ruled out. */
  const place = (borough: string): string => {
    const code = ctx.commandUnitOf(borough)
    if (code === null) {
      outside.push(borough)
      return `${borough} (outside ${ctx.forceName(policy.force)}'s area)`
    }
    found.add(code)
    return `${borough} (${ctx.cuName(code)})`
  }
  const known = (borough: string | null | undefined): borough is string => borough !== null && borough !== undefined
  const because: string[] = []
  const reporter = [
    known(facts.reporter.homeBorough) ? `lives in ${place(facts.reporter.homeBorough)}` : null,
    known(facts.reporter.workBorough) ? `works in ${place(facts.reporter.workBorough)}` : null,
  ].filter(known)
  if (reporter.length > 0) because.push(`the person disclosing ${reporter.join(' and ')}`)
  const incidents = (facts.incidentBoroughs ?? []).map(place)
  if (incidents.length > 0) because.push(`the abuse happened in ${list(incidents)}`)
  if (mayBeThisForce(employment) && known(facts.suspect.workBorough)) because.push(`the person harming them works in ${place(facts.suspect.workBorough)}`)
  if (outside.length > 0) {
    ctx.warnings.push(`${list(outside)} ${outside.length === 1 ? 'is' : 'are'} not in the policy's command units; treated as outside the force's area. Check the spelling if that is wrong. (R3)`)
  }
  const units = Object.keys(policy.commandUnits).filter((code) => found.has(code))
  return { units, because }
}

/** The first partner force that is neither the reporter's nor the suspect's. */
function partnerForce(ctx: Context): string | null {
  const avoid = [ctx.facts.reporter.force, ctx.facts.suspect.policeEmployee !== false ? ctx.facts.suspect.force : null]
    .filter((force): force is string => force !== null && force !== undefined)
    .map(key)
  return ctx.policy.partnerForces.find((partner) => !avoid.includes(key(partner))) ?? null
}

function consentOrOverride(ctx: Context, track: 'criminal' | 'misconduct', reasons: Reasons): boolean {
  if (ctx.facts.consent[track]) return true
  const override = ctx.facts.safeguardingOverride
  if (override === null || override === undefined) return false
  reasons.add(
    'R1',
    `The person disclosing has not agreed to a ${track} referral, but an IDVA recorded a safeguarding override ("${override.reason}").`,
  )
  return true
}

function criminalTrack(ctx: Context, employment: Employment, conflicts: { units: string[]; because: string[] }): { track: CriminalTrack | null; withheld: Withheld | null } {
  const { facts, policy } = ctx
  if (!facts.allegation.criminal) {
    return { track: null, withheld: { rules: ['R2'], explanation: ['No criminal offence is alleged, so there is no criminal track. (R2)'] } }
  }
  const reasons = new Reasons()
  if (!consentOrOverride(ctx, 'criminal', reasons)) {
    return {
      track: null,
      withheld: {
        rules: ['R1'],
        explanation: ['No criminal referral: the person disclosing has not agreed to one, and no safeguarding override is recorded. (R1)'],
      },
    }
  }
  reasons.add('R2', facts.consent.criminal ? 'A criminal offence is alleged and the person disclosing agreed to a criminal referral.' : 'A criminal offence is alleged.')
  const ruledOut = conflicts.units.map(ctx.cuName)
  reasons.add(
    'R3',
    conflicts.because.length === 0
      ? 'No borough is known for where the person disclosing lives or works, where it happened, or where the person harming them works.'
      : `${sentence(conflicts.because.join('; '))}. So ${ruledOut.length === 0 ? 'no command unit is' : `${list(ruledOut)} ${ruledOut.length === 1 ? 'is' : 'are'}`} ruled out.`,
  )

  // R5: reasons to go to another force (only for a suspect who is, or may be, of this force).
  const otherForce: string[] = []
  if (mayBeThisForce(employment)) {
    const senior = rankAtLeast(ctx, 'other-force')
    if (senior === true) otherForce.push(`the person harming them is ${describeSuspectRank(ctx)}, at or above ${policy.otherForceFromRank} level`)
    if (senior === null) {
      otherForce.push(facts.suspect.rank && key(facts.suspect.rank) === 'staff' ? 'a senior staff grade cannot be ruled out' : `a rank at or above ${policy.otherForceFromRank} cannot be ruled out`)
    }
    const department = facts.suspect.department
    if (department && policy.conflictedDepartments.some((candidate) => key(candidate) === key(department))) {
      otherForce.push(`they work in ${ctx.departmentName(department)}, which could not investigate them impartially`)
    }
    if (facts.suspect.abuseOfPosition === true || facts.suspect.abuseOfPositionSexual === true) {
      otherForce.push('they used their police position against the person disclosing')
    }
    if (policy.otherForceAlways) otherForce.push(`${ctx.forceName(policy.force)}'s policy sends every such case to another force`)
    if (facts.requestOtherForce === true) otherForce.push('the person disclosing asked for another force')
  }

  // R12: unknowns that made the safer route necessary.
  const unknown: string[] = []
  if (employment === 'unknown') unknown.push('whether the person harming them works for the police')
  if (employment === 'police-unknown-force') unknown.push('which force the person harming them works for')
  if (mayBeThisForce(employment) && rankAtLeast(ctx, 'other-force') === null) {
    unknown.push(facts.suspect.rank && key(facts.suspect.rank) === 'staff' ? 'their staff grade' : 'their rank')
  }

  // R4: out of area, unless R5 already sends it to another force.
  let commandUnit: string | null = null
  if (otherForce.length === 0) {
    const base =
      [
        ['lives', ctx.commandUnitOf(facts.reporter.homeBorough)],
        ['where the abuse happened', (facts.incidentBoroughs ?? []).map(ctx.commandUnitOf).find((code) => code !== null) ?? null],
        ['works', ctx.commandUnitOf(facts.reporter.workBorough)],
      ] as const
    const start = base.find(([, code]) => code !== null)
    if (start === undefined) {
      reasons.add('R4', 'No command unit can be chosen: there is no known borough in this force\'s area to start from.')
      reasons.add('R12', 'Where the person disclosing lives and works and where it happened are not known, so no area can be shown to be free of conflict.')
      ctx.warnings.push('Not known: where the person disclosing lives and works, and where it happened. No area can be shown to be free of conflict, so the proposal is another force. (R12)')
      otherForce.push('no command unit can be shown to be free of conflict')
    } else {
      const [how, code] = start
      const alternates = lookupList(policy.alternates, code!)
      // Command units that share a unit (the same team) with a ruled-out one are ruled out too.
      const conflictedTeams = new Set(conflicts.units.map((unit) => key(lookup(policy.units.criminal, unit) ?? '')))
      const sharesTeam = (alternate: string) => conflictedTeams.has(key(lookup(policy.units.criminal, alternate) ?? ''))
      const chosen = alternates.find((alternate) => !conflicts.units.includes(alternate) && !sharesTeam(alternate)) ?? null
      const sameTeam = alternates.filter((alternate) => !conflicts.units.includes(alternate) && sharesTeam(alternate))
      if (sameTeam.length > 0) {
        reasons.add('R4', `${list(sameTeam.map(ctx.cuName))} ${sameTeam.length === 1 ? 'shares' : 'share'} a unit with a ruled-out command unit, so ${sameTeam.length === 1 ? 'it is' : 'they are'} ruled out too.`)
      }
      const from = how === 'where the abuse happened' ? `the command unit where the abuse happened (${ctx.cuName(code!)})` : `the command unit where the person disclosing ${how} (${ctx.cuName(code!)})`
      if (chosen === null) {
        reasons.add('R4', `Every alternate of ${from} is ruled out: ${list(alternates.map(ctx.cuName))}.`)
        otherForce.push('every alternate command unit is ruled out')
      } else {
        commandUnit = chosen
        reasons.add('R4', `${ctx.cuName(chosen)} is the first of the alternates of ${from} that is not ruled out (alternates in order: ${list(alternates.map(ctx.cuName))}).`)
      }
    }
  }

  if (facts.requestOtherForce === true && otherForce.length === 0) {
    ctx.warnings.push(
      'The person disclosing asked for another force. The policy sends a case to another force only when the person harming them works for this force, so this proposal stays in force; the IDVA can override it. (R5)',
    )
  }

  if (unknown.length > 0) {
    const outcome =
      otherForce.length > 0
        ? 'so the safer route is taken: another force'
        : 'so they are treated as if they worked for this force: where they work counts as a conflict'
    reasons.add('R12', `${sentence(list(unknown))} ${unknown.length === 1 ? 'is' : 'are'} not known, ${outcome}.`)
    ctx.warnings.push(`Not known: ${list(unknown)}. The proposal takes the safer route; if the IDVA can find out, the route may change. (R12)`)
  }

  if (employment === 'not-police') {
    reasons.add('R11', 'The person harming them does not work for the police, so only a criminal track can exist; it still stays out of the command units ruled out above.')
  }

  let unit: string | null
  let force: string | null
  if (otherForce.length > 0) {
    const partner = partnerForce(ctx)
    force = partner
    unit = partner === null ? null : lookup(policy.units.partnerCriminal, partner)
    reasons.add(
      'R5',
      partner === null
        ? `It should go to another force because ${list(otherForce)}, but no partner force in the policy is free of conflict.`
        : `It goes to another force, ${ctx.forceName(partner)}, because ${list(otherForce)}. ${sentence(ctx.forceName(partner))} is the first partner force that is neither the force of the person disclosing nor that of the person harming them.`,
    )
    if (partner === null) ctx.warnings.push('No partner force in the policy can take the criminal track: the IDVA must arrange another force directly. (R5)')
    else if (unit === null) ctx.warnings.push(`The policy has no criminal unit for ${ctx.forceName(partner)}: the IDVA must contact that force directly. (R5)`)
    if (employment === 'police-unknown-force' && partner !== null) {
      ctx.warnings.push(`Check that the person harming them does not work for ${ctx.forceName(partner)} before referring. (R12)`)
    }
  } else {
    force = policy.force
    unit = lookup(policy.units.criminal, commandUnit!)
  }

  const { rules, explanation } = reasons.collect()
  const headline = unit === null ? `Criminal: no unit can be named${force === null ? '' : ` in ${ctx.forceName(force)}`}.` : `Criminal: ${unitLabel(ctx, unit, force)}.`
  explanation[0] = `${headline} ${explanation[0]}`
  return { track: { unit, force, commandUnit, rules, explanation }, withheld: null }
}

function misconductTrack(ctx: Context, employment: Employment): { track: Track | null; withheld: Withheld | null } {
  const { facts, policy } = ctx
  if (employment === 'not-police') {
    return { track: null, withheld: { rules: ['R11'], explanation: ['The person harming them does not work for the police, so there is no misconduct track. (R11)'] } }
  }
  if (employment === 'unknown') {
    return {
      track: null,
      withheld: {
        rules: ['R12'],
        explanation: ['It is not known whether the person harming them works for the police, so no misconduct track can be proposed; if they do, professional standards should be considered. (R12)'],
      },
    }
  }
  const reasons = new Reasons()
  if (!consentOrOverride(ctx, 'misconduct', reasons)) {
    return {
      track: null,
      withheld: {
        rules: ['R1'],
        explanation: ['No misconduct referral: the person disclosing has not agreed to one, and no safeguarding override is recorded. (R1)'],
      },
    }
  }
  reasons.add('R6', facts.consent.misconduct ? 'The person harming them works for the police and the person disclosing agreed to a misconduct referral.' : 'The person harming them works for the police.')

  let unit: string | null
  let force: string | null
  if (employment === 'police-unknown-force') {
    unit = null
    force = null
    reasons.add('R12', 'It is not known which force they work for, so their professional standards department cannot be named.')
    ctx.warnings.push('The IDVA must find out which force the person harming them works for before a misconduct referral. (R6, R12)')
  } else if (employment === 'other-force') {
    force = facts.suspect.force!
    unit = lookup(policy.units.partnerMisconduct, force)
    reasons.add('R6', `They work for ${ctx.forceName(force)}, so it goes to that force's professional standards department.`)
    if (unit === null) ctx.warnings.push(`The policy has no professional standards unit for ${ctx.forceName(force)}: the IDVA must contact that force's professional standards directly. (R6)`)
  } else {
    const department = facts.suspect.department
    const conflicted = department !== null && department !== undefined && policy.conflictedDepartments.some((candidate) => key(candidate) === key(department))
    const chief = rankAtLeast(ctx, 'chief-officer')
    const outside: string[] = []
    if (conflicted) outside.push(`they work in ${ctx.departmentName(department)}`)
    if (chief === true) outside.push(`they are ${describeSuspectRank(ctx)}, a chief officer rank`)
    if (chief === null) outside.push('a chief officer rank cannot be ruled out')
    if (outside.length > 0) {
      const partner = partnerForce(ctx)
      force = partner
      unit = partner === null ? null : lookup(policy.units.partnerMisconduct, partner)
      reasons.add(
        'R7',
        partner === null
          ? `It should go outside ${ctx.forceName(policy.force)} because ${list(outside)}, but no partner force in the policy is free of conflict.`
          : `It goes to the professional standards department of ${ctx.forceName(partner)}, outside ${ctx.forceName(policy.force)}, because ${list(outside)}.`,
      )
      if (chief === null) reasons.add('R12', 'Their rank is not known, so the safer route is taken.')
      ctx.warnings.push('For a chief officer, or where professional standards itself is conflicted, the appropriate authority may be the policing body (the PCC or mayor\'s office). (R7)')
      if (partner === null) ctx.warnings.push('No partner force in the policy can take the misconduct track: the IDVA must arrange one directly. (R7)')
      else if (unit === null) ctx.warnings.push(`The policy has no professional standards unit for ${ctx.forceName(partner)}: the IDVA must contact it directly. (R7)`)
    } else {
      force = policy.force
      unit = policy.units.misconduct
      reasons.add('R6', `They work for ${ctx.forceName(policy.force)}, so it goes to its professional standards department.`)
    }
  }
  const { rules, explanation } = reasons.collect()
  const headline = unit === null ? `Misconduct: no unit can be named${force === null ? ' yet' : ` in ${ctx.forceName(force)}`}.` : `Misconduct: ${unitLabel(ctx, unit, force)}.`
  explanation[0] = `${headline} ${explanation[0]}`
  return { track: { unit, force, rules, explanation }, withheld: null }
}

function iopcReferral(ctx: Context, employment: Employment, misconduct: Track | null): Decision['iopcReferral'] {
  const { facts, policy } = ctx
  if (employment === 'not-police') return { required: false, rules: [], explanation: [] }
  const criteria: string[] = []
  if (facts.allegation.seriousAssault === true) criteria.push('a serious assault')
  if (facts.allegation.seriousSexualOffence === true) criteria.push('a serious sexual offence')
  if (facts.allegation.discriminatory === true) criteria.push('aggravation by discrimination')
  if (facts.allegation.relevantOffence === true) criteria.push('a relevant offence (7 years or more, or a sentence fixed by law)')
  if (facts.suspect.abuseOfPositionSexual === true) criteria.push('abuse of position for a sexual purpose or an improper emotional relationship')
  const chief = employment === 'unknown' ? null : rankAtLeast(ctx, 'chief-officer')
  if (chief === true) criteria.push('a chief officer suspect')
  const override = facts.safeguardingOverride !== null && facts.safeguardingOverride !== undefined
  if (employment === 'unknown') {
    if (criteria.length > 0) {
      ctx.warnings.push(`If the person harming them works for the police, the matter meets the criteria for referral to the IOPC (${list(criteria)}). (R8, R12)`)
    }
    return { required: false, rules: [], explanation: [] }
  }
  if (criteria.length === 0) {
    if (chief === null && (misconduct !== null || override)) {
      ctx.warnings.push('If the person harming them is a chief officer, the matter must be referred to the IOPC; their rank is not known. (R8, R12)')
    }
    return { required: false, rules: [], explanation: [] }
  }
  if (misconduct === null && !override) {
    ctx.warnings.push(`The matter meets the criteria for referral to the IOPC (${list(criteria)}), but no misconduct track is opened. (R8)`)
    return { required: false, rules: [], explanation: [] }
  }
  return {
    required: true,
    rules: ['R8'],
    explanation: [`A referral to the IOPC is required: the matter involves ${list(criteria)}. (R8)`],
  }
}

/**
 * Decides who investigates, on which track. Validates both inputs first and throws
 * RoutingInputError (naming the field) for bad facts or a bad policy, and RoutingSeparationError if
 * the two tracks would share a unit (R10). Otherwise always returns a decision.
 */
export function route(factsInput: unknown, policyInput: unknown): Decision {
  const policy = validatePolicy(policyInput)
  const facts = validateFacts(factsInput, policy)
  const ctx = contextFor(facts, policy)
  const employment = employmentOf(ctx)

  if (key(facts.reporter.force) !== key(policy.force)) {
    ctx.warnings.push(`The person disclosing works for ${ctx.forceName(facts.reporter.force)}, but this is ${ctx.forceName(policy.force)}'s policy: check it applies.`)
  }
  const conflicts = conflictedCommandUnits(ctx, employment)
  const criminal = criminalTrack(ctx, employment, conflicts)
  const misconduct = misconductTrack(ctx, employment)

  // R10: the two tracks never share a unit.
  if (criminal.track?.unit && misconduct.track?.unit && key(criminal.track.unit) === key(misconduct.track.unit)) {
    throw new RoutingSeparationError(`R10: the policy would give ${criminal.track.unit} both the criminal and the misconduct track; fix the policy's units`)
  }

  // R9: on-duty conduct or abuse of position, without a misconduct track.
  const { onDuty, abuseOfPosition, abuseOfPositionSexual } = facts.suspect
  if ((employment === 'this-force' || employment === 'other-force' || employment === 'police-unknown-force') && !facts.consent.misconduct) {
    const what = [onDuty === true ? 'conduct on duty' : null, abuseOfPosition === true || abuseOfPositionSexual === true ? 'abuse of their police position' : null].filter(
      (item): item is string => item !== null,
    )
    if (what.length > 0) {
      ctx.warnings.push(
        `The account includes ${list(what)}, and the person disclosing has not agreed to a misconduct referral. Professional standards would normally be involved: discuss it with them. (R9)`,
      )
    }
  }

  const iopc = iopcReferral(ctx, employment, misconduct.track)
  const forces = [facts.reporter.force, facts.suspect.policeEmployee !== false ? (facts.suspect.force ?? null) : null]
    .filter((force): force is string => force !== null)
    .filter((force, index, all) => all.findIndex((other) => key(other) === key(force)) === index)

  return {
    policyVersion: policy.version,
    criminal: criminal.track,
    criminalWithheld: criminal.withheld,
    misconduct: misconduct.track,
    misconductWithheld: misconduct.withheld,
    iopcReferral: iopc,
    conflicts: { commandUnits: conflicts.units, forces },
    warnings: ctx.warnings,
  }
}
