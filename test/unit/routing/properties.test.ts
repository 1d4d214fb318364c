import t from 'tap'
import fc from 'fast-check'
import { route } from '../../../server/routing/index.ts'
import { key } from '../../../rules/routing/validate.ts'
import { RoutingInputError, type Decision, type Facts } from '../../../rules/routing/types.ts'
import { policy, policyWith } from './fixtures.ts'

/**
 * Properties that must hold for any facts: the criminal unit is never in a conflicted command unit;
 * the two tracks never share a unit; the same facts always give the same decision; and any input
 * either routes or is refused with RoutingInputError, never a crash.
 */

const boroughs = Object.values(policy.commandUnits).flat()
const borough = fc.oneof(fc.constantFrom(...boroughs), fc.constantFrom('Guildford', 'Slough', 'Watford'))
const maybe = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: null })
const tri = maybe(fc.boolean())

const factsArbitrary: fc.Arbitrary<Facts> = fc.record({
  reporter: fc.record({ homeBorough: maybe(borough), workBorough: maybe(borough), force: fc.constantFrom('met', 'met', 'met', 'city') }),
  incidentBoroughs: maybe(fc.uniqueArray(borough, { maxLength: 5, selector: key })),
  suspect: fc
    .record({
      policeEmployee: tri,
      force: maybe(fc.constantFrom('met', 'city', 'surrey', 'thames-valley', 'kent')),
      workBorough: maybe(borough),
      rank: maybe(fc.constantFrom(...policy.ranks, 'staff')),
      staffGrade: maybe(fc.constantFrom('A', 'SCS', 'B', 'D', 'F')),
      department: maybe(fc.constantFrom('dps', 'domestic-abuse-central', 'portal-admin', 'traffic', 'response')),
      onDuty: tri,
      abuseOfPosition: tri,
      abuseOfPositionSexual: tri,
    })
    .map((suspect) => (suspect.rank === 'staff' ? suspect : { ...suspect, staffGrade: null })),
  allegation: fc.record({ criminal: fc.boolean(), seriousAssault: tri, seriousSexualOffence: tri, discriminatory: tri, relevantOffence: tri }),
  consent: fc.record({ criminal: fc.boolean(), misconduct: fc.boolean() }),
  safeguardingOverride: maybe(fc.record({ reason: fc.constantFrom('Risk to life.', 'Children at risk of serious harm.') })),
  requestOtherForce: tri,
})

const policies = [
  policy,
  policyWith((p) => (p.otherForceAlways = true)),
  policyWith((p) => {
    p.partnerForces = ['surrey']
    p.units.partnerCriminal = { surrey: 'surrey-daiu' }
  }),
  // Two command units with one team: conflicts must follow the team.
  policyWith((p) => (p.units.criminal.NA = 'met-cn-safeguarding')),
  policyWith((p) => {
    p.alternates.CN = ['NA']
    p.alternates.NA = ['CN']
  }),
]
const policyArbitrary = fc.constantFrom(...policies)

/** The command units that must be ruled out, recomputed independently of the engine. */
function mustAvoid(facts: Facts): Set<string> {
  const codeOf = (name: string | null | undefined) =>
    name === null || name === undefined ? undefined : Object.entries(policy.commandUnits).find(([, list]) => list.some((b) => key(b) === key(name)))?.[0]
  const names = [facts.reporter.homeBorough, facts.reporter.workBorough, ...(facts.incidentBoroughs ?? [])]
  const suspectMayBeHere = facts.suspect.policeEmployee !== false && (facts.suspect.force === null || facts.suspect.force === undefined || key(facts.suspect.force) === 'met')
  if (suspectMayBeHere) names.push(facts.suspect.workBorough)
  return new Set(names.map(codeOf).filter((code): code is string => code !== undefined))
}

t.test('the criminal unit is never in a conflicted command unit', async () => {
  fc.assert(
    fc.property(factsArbitrary, policyArbitrary, (facts, chosen) => {
      const decision = route(facts, chosen)
      const avoid = mustAvoid(facts)
      if (decision.criminal?.commandUnit) {
        if (avoid.has(decision.criminal.commandUnit)) return false
        if (decision.conflicts.commandUnits.includes(decision.criminal.commandUnit)) return false
        if (decision.criminal.unit !== chosen.units.criminal[decision.criminal.commandUnit]) return false
        // Nor a team that also serves a conflicted command unit.
        if ([...avoid].some((code) => chosen.units.criminal[code] === decision.criminal!.unit)) return false
      }
      return [...avoid].every((code) => decision.conflicts.commandUnits.includes(code))
    }),
    { numRuns: 2000 },
  )
})

t.test('the two tracks never share a unit, nor a force\'s unit for both', async () => {
  fc.assert(
    fc.property(factsArbitrary, policyArbitrary, (facts, chosen) => {
      const decision = route(facts, chosen)
      if (decision.criminal?.unit && decision.misconduct?.unit) return key(decision.criminal.unit) !== key(decision.misconduct.unit)
      return true
    }),
    { numRuns: 2000 },
  )
})

t.test('the same facts always give the same decision', async () => {
  fc.assert(
    fc.property(factsArbitrary, policyArbitrary, (facts, chosen) => {
      const first = route(facts, chosen)
      const second = route(structuredClone(facts), structuredClone(chosen))
      return JSON.stringify(first) === JSON.stringify(second)
    }),
    { numRuns: 500 },
  )
})

t.test('every decision is explained: one sentence per rule, and a reason whenever a track is withheld', async () => {
  fc.assert(
    fc.property(factsArbitrary, (facts) => {
      const decision: Decision = route(facts, policy)
      const parts = [decision.criminal, decision.misconduct, decision.criminalWithheld, decision.misconductWithheld, decision.iopcReferral]
      for (const part of parts) {
        if (part === null) continue
        if (part.rules.length !== part.explanation.length) return false
        if (!part.rules.every((rule, index) => part.explanation[index]!.endsWith(`(${rule})`))) return false
      }
      if ((decision.criminal === null) === (decision.criminalWithheld === null)) return false
      if ((decision.misconduct === null) === (decision.misconductWithheld === null)) return false
      if (decision.criminal !== null && !decision.criminal.rules.includes('R2')) return false
      if (decision.misconduct !== null && !decision.misconduct.rules.includes('R6')) return false
      if (decision.iopcReferral.required !== decision.iopcReferral.rules.includes('R8')) return false
      return decision.warnings.every((warning) => /\(R\d+(, R\d+)*\)$|check it applies\.$/.test(warning))
    }),
    { numRuns: 1000 },
  )
})

t.test('any input either routes or is refused with a clear error, never a crash', async () => {
  const outcome = (input: unknown, chosen: unknown = policy) => {
    try {
      route(input, chosen)
      return true
    } catch (error) {
      return error instanceof RoutingInputError && /^(facts|policy)\b/.test(error.message) && !/\[object /.test(error.message)
    }
  }
  fc.assert(fc.property(fc.anything(), (input) => outcome(input)), { numRuns: 1000 })
  // Valid facts with one field replaced by anything at all.
  fc.assert(
    fc.property(factsArbitrary, fc.constantFrom('reporter', 'suspect', 'allegation', 'consent', 'incidentBoroughs', 'safeguardingOverride', 'requestOtherForce'), fc.anything(), (facts, field, value) =>
      outcome({ ...facts, [field]: value }),
    ),
    { numRuns: 1000 },
  )
  fc.assert(
    fc.property(factsArbitrary, fc.constantFrom('policeEmployee', 'force', 'rank', 'staffGrade', 'department', 'onDuty', 'workBorough'), fc.anything(), (facts, field, value) =>
      outcome({ ...facts, suspect: { ...facts.suspect, [field]: value } }),
    ),
    { numRuns: 1000 },
  )
  // And a policy with one field replaced by anything.
  fc.assert(
    fc.property(fc.constantFrom(...Object.keys(policy)), fc.anything(), (field, value) => outcome(facts0(), { ...policy, [field]: value })),
    { numRuns: 500 },
  )
})

function facts0(): Facts {
  return {
    reporter: { force: 'met', homeBorough: 'Camden' },
    suspect: { policeEmployee: true, force: 'met', rank: 'constable' },
    allegation: { criminal: true },
    consent: { criminal: true, misconduct: true },
  }
}
