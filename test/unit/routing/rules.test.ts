import t from 'tap'
import { route } from '../../../server/routing/index.ts'
import { RoutingInputError, type Decision, type Policy } from '../../../rules/routing/types.ts'
import { facts, policy, policyWith } from './fixtures.ts'

/**
 * Table-driven: at least one case per rule R1-R12, and the interactions the policy owners asked
 * about. Each row states only the fields it is about, but every list it states is matched exactly
 * (same length, same order): a rule, conflict or warning too many fails the row.
 */

/** Objects: only the fields given; lists: exactly; regular expressions: match; values: equal. */
function mismatches(actual: unknown, pattern: unknown, path = 'decision'): string[] {
  if (pattern instanceof RegExp) return typeof actual === 'string' && pattern.test(actual) ? [] : [`${path} is ${JSON.stringify(actual)}, not matching ${pattern}`]
  if (Array.isArray(pattern)) {
    if (!Array.isArray(actual)) return [`${path} is ${JSON.stringify(actual)}, not a list`]
    if (actual.length !== pattern.length) return [`${path} has ${actual.length} items (${JSON.stringify(actual)}), expected ${pattern.length}`]
    return pattern.flatMap((item, index) => mismatches(actual[index], item, `${path}[${index}]`))
  }
  if (pattern !== null && typeof pattern === 'object') {
    if (actual === null || typeof actual !== 'object') return [`${path} is ${JSON.stringify(actual)}, not an object`]
    return Object.entries(pattern).flatMap(([field, value]) => mismatches((actual as Record<string, unknown>)[field], value, `${path}.${field}`))
  }
  return Object.is(actual, pattern) ? [] : [`${path} is ${JSON.stringify(actual)}, expected ${JSON.stringify(pattern)}`]
}

interface Row {
  name: string
  facts: ReturnType<typeof facts>
  policy?: Policy
  expect: Record<string, unknown>
  warnings?: RegExp[]
}

const ANY = /./
const POLICING_BODY = /policing body \(the PCC or mayor's office\)\. \(R7\)$/

const rows: Row[] = [
  {
    name: "baseline: out of the two conflicted areas, to North Area; misconduct to this force's DPS (R2, R3, R4, R6)",
    facts: facts(),
    expect: {
      policyVersion: 'met-2026-11-example',
      criminal: { unit: 'met-na-safeguarding', force: 'met', commandUnit: 'NA', rules: ['R2', 'R3', 'R4'] },
      criminalWithheld: null,
      misconduct: { unit: 'met-dps', force: 'met', rules: ['R6'] },
      misconductWithheld: null,
      iopcReferral: { required: false, rules: [], explanation: [] },
      conflicts: { commandUnits: ['CN', 'CW'], forces: ['met'] },
    },
  },
  {
    name: 'R1: no consent to a criminal referral withholds the criminal track',
    facts: facts({ consent: { criminal: false } }),
    expect: { criminal: null, criminalWithheld: { rules: ['R1'], explanation: [/^No criminal referral: the person disclosing has not agreed to one/] }, misconduct: { unit: 'met-dps' } },
  },
  {
    name: 'R1: no consent to a misconduct referral withholds the misconduct track',
    facts: facts({ consent: { misconduct: false } }),
    expect: { criminal: { unit: 'met-na-safeguarding' }, misconduct: null, misconductWithheld: { rules: ['R1'] } },
  },
  {
    name: 'R1: a safeguarding override opens both tracks without consent, and says so',
    facts: facts({ consent: { criminal: false, misconduct: false }, safeguardingOverride: { reason: 'Threat to kill; children in the household.' } }),
    expect: {
      criminal: {
        unit: 'met-na-safeguarding',
        rules: ['R1', 'R2', 'R3', 'R4'],
        explanation: [/^Criminal: North Area safeguarding unit\. .*safeguarding override \("Threat to kill; children in the household\."\)\. \(R1\)$/, /^A criminal offence is alleged\. \(R2\)$/, ANY, ANY],
      },
      misconduct: { unit: 'met-dps', rules: ['R1', 'R6'] },
    },
  },
  {
    name: 'R2: no criminal offence alleged, no criminal track',
    facts: facts({ allegation: { criminal: false } }),
    expect: { criminal: null, criminalWithheld: { rules: ['R2'] }, misconduct: { unit: 'met-dps' } },
  },
  {
    name: 'R3: a suspect in another force does not make their work borough conflicted',
    facts: facts({ suspect: { force: 'surrey', workBorough: 'Enfield' } }),
    expect: { conflicts: { commandUnits: ['CN', 'CW'], forces: ['met', 'surrey'] }, criminal: { commandUnit: 'NA', rules: ['R2', 'R3', 'R4'] } },
  },
  {
    name: 'R4: the first alternate is conflicted (the suspect works in Enfield, North Area), so the next one',
    facts: facts({ suspect: { workBorough: 'Enfield' } }),
    expect: { conflicts: { commandUnits: ['CN', 'CW', 'NA'] }, criminal: { unit: 'met-ce-safeguarding', commandUnit: 'CE', rules: ['R2', 'R3', 'R4'] } },
  },
  {
    name: 'R4 + R5: every alternate conflicted, so another force',
    facts: facts({ incidentBoroughs: ['Camden', 'Enfield', 'Hackney', 'Barnet', 'Lewisham'] }),
    expect: {
      conflicts: { commandUnits: ['CN', 'CE', 'CW', 'NA', 'NW', 'SE'] },
      criminal: { unit: 'city-pvp', force: 'city', commandUnit: null, rules: ['R2', 'R3', 'R4', 'R5'], explanation: [/City of London Police/, ANY, /^Every alternate/, /every alternate command unit is ruled out/] },
    },
  },
  {
    name: 'R4: a command unit that shares a team with a ruled-out one is ruled out too',
    facts: facts(),
    policy: policyWith((p) => (p.units.criminal.NA = 'met-cn-safeguarding')),
    expect: { criminal: { unit: 'met-ce-safeguarding', commandUnit: 'CE', explanation: [ANY, ANY, /^North Area shares a unit with a ruled-out command unit, so it is ruled out too\. Central East is the first/] } },
  },
  {
    name: 'R4: home unknown, so the alternates of where it happened',
    facts: facts({ reporter: { homeBorough: null }, incidentBoroughs: ['Croydon'] }),
    expect: { conflicts: { commandUnits: ['CN', 'CW', 'SN'] }, criminal: { commandUnit: 'SE', explanation: [ANY, ANY, /where the abuse happened \(South Area\)/] } },
  },
  {
    name: 'R4: home and incident unknown, so the alternates of where they work',
    facts: facts({ reporter: { homeBorough: null }, incidentBoroughs: null }),
    expect: { conflicts: { commandUnits: ['CN', 'CW'] }, criminal: { commandUnit: 'WA', explanation: [ANY, ANY, /where the person disclosing works \(Central West\)/] } },
  },
  {
    name: 'R4 + R12: nothing known about where, so no area can be shown free of conflict',
    facts: facts({ reporter: { homeBorough: null, workBorough: null }, incidentBoroughs: null, suspect: { workBorough: null } }),
    expect: { conflicts: { commandUnits: [] }, criminal: { force: 'city', rules: ['R2', 'R3', 'R4', 'R5', 'R12'] } },
    warnings: [/^Not known: where the person disclosing lives and works, and where it happened\..*\(R12\)$/],
  },
  {
    name: 'R5: a superintendent goes to another force',
    facts: facts({ suspect: { rank: 'superintendent' } }),
    expect: { criminal: { unit: 'city-pvp', force: 'city', rules: ['R2', 'R3', 'R5'] }, misconduct: { unit: 'met-dps' } },
  },
  {
    name: 'R5 + rank with department: a constable in the DPS itself; misconduct outside too (R7)',
    facts: facts({ suspect: { department: 'DPS' } }),
    expect: {
      criminal: { force: 'city', rules: ['R2', 'R3', 'R5'], explanation: [ANY, ANY, /because they work in the Directorate of Professional Standards, which could not investigate them impartially/] },
      misconduct: { unit: 'city-psd', force: 'city', rules: ['R6', 'R7'] },
    },
    warnings: [POLICING_BODY],
  },
  {
    name: 'R5 + R7: a superintendent in the DPS: both reasons are given',
    facts: facts({ suspect: { rank: 'superintendent', department: 'dps' } }),
    expect: { criminal: { force: 'city', explanation: [ANY, ANY, /is a superintendent, at or above superintendent level and they work in the Directorate/] }, misconduct: { unit: 'city-psd' } },
    warnings: [POLICING_BODY],
  },
  {
    name: 'R5: abuse of position sends the criminal track to another force',
    facts: facts({ suspect: { abuseOfPosition: true } }),
    expect: { criminal: { force: 'city', explanation: [ANY, ANY, /used their police position/] }, misconduct: { unit: 'met-dps' } },
  },
  {
    name: 'R5: a policy that always uses another force',
    facts: facts(),
    policy: policyWith((p) => (p.otherForceAlways = true)),
    expect: { criminal: { force: 'city', explanation: [ANY, ANY, /sends every such case to another force/] } },
  },
  {
    name: 'R5: the person disclosing asked for another force',
    facts: facts({ requestOtherForce: true }),
    expect: { criminal: { force: 'city', explanation: [ANY, ANY, /asked for another force/] } },
  },
  {
    name: 'R5: a reporter from a partner force: the next partner is used',
    facts: facts({ reporter: { force: 'city' }, suspect: { rank: 'superintendent' } }),
    expect: { criminal: { unit: 'surrey-daiu', force: 'surrey' }, conflicts: { forces: ['city', 'met'] } },
    warnings: [/works for City of London Police, but this is the Metropolitan Police's policy/],
  },
  {
    name: "R5: the suspect's possible force is never the partner (employment not known, force given)",
    facts: facts({ suspect: { policeEmployee: null, force: 'city', rank: null } }),
    expect: { criminal: { unit: 'surrey-daiu', force: 'surrey' }, conflicts: { forces: ['met', 'city'] }, misconductWithheld: { rules: ['R12'] } },
    warnings: [/^Not known: whether the person harming them works for the police and their rank/],
  },
  {
    name: 'R5: a suspect in another force stays in this force for the criminal track (not conflicted)',
    facts: facts({ suspect: { force: 'city', rank: 'superintendent' } }),
    expect: { criminal: { force: 'met', commandUnit: 'NA' }, misconduct: { unit: 'city-psd', force: 'city' }, conflicts: { forces: ['met', 'city'] } },
  },
  {
    name: 'R5: a suspect who is not police: the request for another force is noted, not applied',
    facts: facts({ suspect: { policeEmployee: false, force: null, rank: null }, requestOtherForce: true }),
    expect: { criminal: { force: 'met', commandUnit: 'NA' } },
    warnings: [/asked for another force\. The policy sends a case to another force only when/],
  },
  {
    name: 'R5: not police, every alternate ruled out: another force, and no "stays in force" warning',
    facts: facts({ suspect: { policeEmployee: false, force: null, rank: null }, requestOtherForce: true, incidentBoroughs: ['Camden', 'Enfield', 'Hackney', 'Barnet', 'Lewisham'] }),
    expect: { criminal: { force: 'city', rules: ['R2', 'R3', 'R4', 'R5', 'R11'] } },
  },
  {
    name: 'R5 staff grades: a senior grade goes to another force',
    facts: facts({ suspect: { rank: 'staff', staffGrade: 'A' } }),
    expect: { criminal: { force: 'city', rules: ['R2', 'R3', 'R5'] }, misconduct: { unit: 'met-dps', rules: ['R6'] }, iopcReferral: { required: false } },
  },
  {
    name: 'R5 staff grades: an ordinary grade stays in force',
    facts: facts({ suspect: { rank: 'staff', staffGrade: 'D' } }),
    expect: { criminal: { force: 'met', commandUnit: 'NA' } },
  },
  {
    name: 'R5 + R12: staff of unknown grade: a senior grade cannot be ruled out',
    facts: facts({ suspect: { rank: 'staff', staffGrade: null } }),
    expect: { criminal: { force: 'city', rules: ['R2', 'R3', 'R5', 'R12'], explanation: [ANY, ANY, /a senior staff grade cannot be ruled out/, /^Their staff grade is not known/] }, misconduct: { unit: 'met-dps' } },
    warnings: [/^Not known: their staff grade\./],
  },
  {
    name: 'staff grades: a policy whose two thresholds coincide does not make staff chief officers',
    facts: facts({ suspect: { rank: 'staff', staffGrade: 'A' } }),
    policy: policyWith((p) => (p.chiefOfficerFromRank = 'superintendent')),
    expect: { misconduct: { unit: 'met-dps' }, iopcReferral: { required: false } },
  },
  {
    name: "R6: a suspect in another force: misconduct to that force's professional standards",
    facts: facts({ suspect: { force: 'surrey' } }),
    expect: { criminal: { force: 'met' }, misconduct: { unit: 'surrey-psd', force: 'surrey', rules: ['R6'] } },
  },
  {
    name: 'R6: another force with no entry in the policy: named, with no unit, and a warning',
    facts: facts({ suspect: { force: 'kent' } }),
    expect: { misconduct: { unit: null, force: 'kent' } },
    warnings: [/contact that force's professional standards directly\. \(R6\)$/],
  },
  {
    name: 'R7 + R8: a chief officer: misconduct outside the force, IOPC referral required',
    facts: facts({ suspect: { rank: 'commander' } }),
    expect: {
      criminal: { force: 'city' },
      misconduct: { unit: 'city-psd', force: 'city', rules: ['R6', 'R7'], explanation: [ANY, /because they are a commander, a chief officer rank/] },
      iopcReferral: { required: true, rules: ['R8'], explanation: [/a chief officer suspect/] },
    },
    warnings: [POLICING_BODY],
  },
  {
    name: 'R8: a serious sexual offence with a misconduct track: IOPC referral required',
    facts: facts({ allegation: { seriousSexualOffence: true } }),
    expect: { iopcReferral: { required: true, rules: ['R8'], explanation: [/a serious sexual offence/] } },
  },
  {
    name: 'R8: the criteria are met but no misconduct track is opened: a warning',
    facts: facts({ allegation: { seriousAssault: true }, consent: { misconduct: false } }),
    expect: { misconduct: null, iopcReferral: { required: false } },
    warnings: [/meets the criteria for referral to the IOPC \(a serious assault\), but no misconduct track is opened/],
  },
  {
    name: 'R8: a safeguarding override with the criteria met requires the referral',
    facts: facts({ allegation: { discriminatory: true }, consent: { criminal: false, misconduct: false }, safeguardingOverride: { reason: 'Risk to life.' } }),
    expect: { iopcReferral: { required: true, explanation: [/aggravation by discrimination/] } },
  },
  {
    name: 'R8 + R12: not known to be police: no IOPC requirement, but a warning if they are',
    facts: facts({ suspect: { policeEmployee: null, force: null, rank: 'constable' }, allegation: { seriousAssault: true }, safeguardingOverride: { reason: 'Risk to life.' } }),
    expect: { iopcReferral: { required: false, rules: [] }, misconduct: null, criminal: { force: 'met', commandUnit: 'NA' } },
    warnings: [/^Not known: whether the person harming them works for the police\./, /If the person harming them works for the police, the matter meets the criteria for referral to the IOPC \(a serious assault\)/],
  },
  {
    name: 'R9: on-duty conduct without misconduct consent: a warning for the IDVA to discuss',
    facts: facts({ suspect: { onDuty: true }, consent: { misconduct: false } }),
    expect: { misconduct: null, misconductWithheld: { rules: ['R1'] } },
    warnings: [/^The account includes conduct on duty, and the person disclosing has not agreed to a misconduct referral\. Professional standards would normally be involved/],
  },
  {
    name: 'R9: abuse of position without misconduct consent: the same warning',
    facts: facts({ suspect: { abuseOfPosition: true }, consent: { misconduct: false } }),
    expect: { criminal: { force: 'city' }, misconduct: null },
    warnings: [/includes abuse of their police position/],
  },
  {
    name: 'R9 with an override: the misconduct track opens, and the warning still asks the IDVA to discuss it',
    facts: facts({ suspect: { onDuty: true }, consent: { misconduct: false }, safeguardingOverride: { reason: 'Risk to life.' } }),
    expect: { misconduct: { unit: 'met-dps', rules: ['R1', 'R6'] } },
    warnings: [/conduct on duty/],
  },
  {
    name: 'R9 + R12: police employment "not known", but on duty: treated as police',
    facts: facts({ suspect: { policeEmployee: null, onDuty: true }, consent: { misconduct: false } }),
    expect: { misconduct: null, misconductWithheld: { rules: ['R1'] } },
    warnings: [/treated as working for the police/, /conduct on duty/],
  },
  {
    name: 'R11: not a police employee: criminal only, still out of the conflicted areas',
    facts: facts({ suspect: { policeEmployee: false, force: null, rank: null } }),
    expect: {
      criminal: { unit: 'met-na-safeguarding', rules: ['R2', 'R3', 'R4', 'R11'] },
      misconduct: null,
      misconductWithheld: { rules: ['R11'] },
      iopcReferral: { required: false },
      conflicts: { commandUnits: ['CN', 'CW'], forces: ['met'] },
    },
  },
  {
    name: 'R12: a constable of unknown force: treated as this force (their work area is a conflict); no misconduct unit yet',
    facts: facts({ suspect: { force: null, workBorough: 'Enfield' } }),
    expect: {
      conflicts: { commandUnits: ['CN', 'CW', 'NA'], forces: ['met'] },
      criminal: { force: 'met', commandUnit: 'CE', rules: ['R2', 'R3', 'R4', 'R12'], explanation: [ANY, ANY, ANY, /treated as if they worked for this force/] },
      misconduct: { unit: null, force: null, rules: ['R6', 'R12'] },
    },
    warnings: [/^Not known: which force the person harming them works for\./, /must find out which force/],
  },
  {
    name: 'R12: a police employee of unknown force and rank: another force, checked against the suspect',
    facts: facts({ suspect: { force: null, rank: null } }),
    expect: { criminal: { force: 'city', rules: ['R2', 'R3', 'R5', 'R12'] }, misconduct: { unit: null } },
    warnings: [/^Not known: which force the person harming them works for and their rank/, /does not work for City of London Police/, /must find out which force/, /chief officer, the matter must be referred to the IOPC/],
  },
  {
    name: 'R12: unknown rank: a senior rank cannot be ruled out',
    facts: facts({ suspect: { rank: null } }),
    expect: { criminal: { force: 'city', rules: ['R2', 'R3', 'R5', 'R12'] }, misconduct: { force: 'city', rules: ['R6', 'R7', 'R12'] } },
    warnings: [/^Not known: their rank\./, POLICING_BODY, /chief officer, the matter must be referred to the IOPC; their rank is not known/],
  },
  {
    name: 'R12: not known whether the suspect works for the police',
    facts: facts({ suspect: { policeEmployee: null, force: null, rank: null } }),
    expect: { criminal: { force: 'city', rules: ['R2', 'R3', 'R5', 'R12'] }, misconduct: null, misconductWithheld: { rules: ['R12'] }, iopcReferral: { required: false } },
    warnings: [/^Not known: whether the person harming them works for the police and their rank/],
  },
  {
    name: 'incident in several areas: all of them are ruled out',
    facts: facts({ incidentBoroughs: ['Camden', 'Haringey', 'Croydon'] }),
    expect: { conflicts: { commandUnits: ['CN', 'CW', 'NA', 'SN'] }, criminal: { commandUnit: 'CE' } },
  },
  {
    name: "a borough outside the force's area is noted, not guessed",
    facts: facts({ reporter: { homeBorough: 'Guildford' } }),
    expect: { conflicts: { commandUnits: ['CN', 'CW'] }, criminal: { commandUnit: 'NA', explanation: [ANY, /lives in Guildford \(outside the Metropolitan Police's area\)/, /where the abuse happened \(Central North\)/] } },
    warnings: [/Guildford is not in the policy's command units/],
  },
  {
    name: 'borough names are matched regardless of case, spacing and "&"',
    facts: facts({ reporter: { homeBorough: '  hammersmith & FULHAM ' }, incidentBoroughs: null }),
    expect: { conflicts: { commandUnits: ['CN', 'CW'] }, criminal: { commandUnit: 'WA' } },
  },
  {
    name: 'policy keys that are also JavaScript names are just keys',
    facts: facts({ reporter: { homeBorough: 'Camden' } }),
    policy: policyWith((p) => {
      p.commandUnits.constructor = ['Atlantis']
      p.alternates.constructor = ['CN']
      p.units.criminal.constructor = 'met-constructor'
    }),
    expect: { criminal: { commandUnit: 'NA' } },
  },
]

for (const row of rows) {
  t.test(row.name, async (t) => {
    const decision: Decision = route(row.facts, row.policy ?? policy)
    t.same(mismatches(decision, row.expect), [], 'the decision is as expected')
    // Warnings: exactly those listed (none, when the row lists none).
    t.same(mismatches(decision.warnings, row.warnings ?? []), [], 'exactly the expected warnings')
    for (const track of [decision.criminal, decision.misconduct, decision.criminalWithheld, decision.misconductWithheld, decision.iopcReferral]) {
      if (track === null) continue
      t.equal(track.explanation.length, track.rules.length, 'one sentence per rule')
      track.rules.forEach((rule, index) => t.match(track.explanation[index], new RegExp(`\\(${rule}\\)$`), `the sentence for ${rule} names it`))
    }
    if (decision.criminal && decision.misconduct && decision.criminal.unit !== null) t.not(decision.criminal.unit, decision.misconduct.unit, 'R10')
  })
}

t.test('R10: a policy that gives one unit both tracks is refused, naming the field', async (t) => {
  const shared = policyWith((p) => (p.units.misconduct = 'met-na-safeguarding'))
  t.throws(() => route(facts(), shared), { name: 'RoutingInputError', path: 'policy.units.misconduct', message: /R10 keeps the criminal and misconduct tracks in separate units/ })
  const partner = policyWith((p) => (p.units.partnerMisconduct.city = 'city-pvp'))
  t.throws(() => route(facts(), partner), { name: 'RoutingInputError', path: 'policy.units.partnerMisconduct.city' })
})

t.test('explanations are written for an IDVA', async (t) => {
  const decision = route(facts(), policy)
  t.match(decision.criminal?.explanation[0], /^Criminal: North Area safeguarding unit\. /)
  t.equal(
    decision.criminal?.explanation[1],
    'The person disclosing lives in Camden (Central North) and works in Westminster (Central West); the abuse happened in Camden (Central North); the person harming them works in Islington (Central North). So Central North and Central West are ruled out. (R3)',
  )
  t.match(decision.misconduct?.explanation[0], /^Misconduct: the Directorate of Professional Standards\. /)
})

t.test('bad facts are refused with the field named', async (t) => {
  const cases: [unknown, string, RegExp][] = [
    [null, 'facts', /must be an object/],
    [{ ...facts(), reporter: { homeBorough: 'Camden' } }, 'facts.reporter.force', /is required/],
    [{ ...facts(), suspect: { ...facts().suspect, policeEmployee: 'yes' } }, 'facts.suspect.policeEmployee', /true, false or null/],
    [{ ...facts(), suspect: { ...facts().suspect, rank: 'sargent' } }, 'facts.suspect.rank', /one of the policy's ranks or "staff" \(got "sargent"\)/],
    [{ ...facts(), suspect: { ...facts().suspect, staffGrade: 'B' } }, 'facts.suspect.staffGrade', /only used when rank is "staff"/],
    [{ ...facts(), allegation: { criminal: 'maybe' } }, 'facts.allegation.criminal', /true or false/],
    [{ ...facts(), consent: { criminal: true } }, 'facts.consent.misconduct', /is required/],
    [{ ...facts(), incidentBoroughs: 'Camden' }, 'facts.incidentBoroughs', /must be a list/],
    [{ ...facts(), incidentBoroughs: ['Camden', 'camden'] }, 'facts.incidentBoroughs', /twice/],
    [{ ...facts(), safeguardingOverride: { reason: ' ' } }, 'facts.safeguardingOverride.reason', /must say why/],
    [{ ...facts(), reporter: { ...facts().reporter, homeBourough: 'Camden' } }, 'facts.reporter.homeBourough', /is not a known field/],
  ]
  for (const [input, path, message] of cases) {
    const error = t.throws(() => route(input, policy)) as RoutingInputError
    t.type(error, RoutingInputError)
    t.equal(error.path, path)
    t.match(error.message, message)
  }
})

t.test('bad policies are refused with the field named', async (t) => {
  const cases: [(p: Record<string, any>) => void, string, RegExp][] = [
    [(p) => delete p.version, 'policy.version', /is required/],
    [(p) => (p.commandUnits.CE.push('Camden')), 'policy.commandUnits.CE', /already in CN/],
    [(p) => delete p.alternates.SW, 'policy.alternates.SW', /every command unit needs its list of alternates/],
    [(p) => (p.alternates.CN = ['NA', 'XX']), 'policy.alternates.CN', /"XX", which is not a command unit/],
    [(p) => (p.alternates.CN = ['CN']), 'policy.alternates.CN', /the command unit itself/],
    [(p) => (p.otherForceFromRank = 'general'), 'policy.otherForceFromRank', /must be one of policy.ranks/],
    [(p) => delete p.units.criminal.WA, 'policy.units.criminal.WA', /needs its criminal unit/],
    [(p) => p.partnerForces.push('met'), 'policy.partnerForces', /own force/],
    [(p) => (p.otherForceAlways = 'no'), 'policy.otherForceAlways', /true or false/],
    [(p) => (p.extra = 1), 'policy.extra', /is not a known field/],
  ]
  for (const [change, path, message] of cases) {
    const error = t.throws(() => route(facts(), policyWith(change))) as RoutingInputError
    t.equal(error.path, path, path)
    t.match(error.message, message)
  }
})
