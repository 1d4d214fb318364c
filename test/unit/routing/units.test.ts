import t from 'tap'
import { overrideCandidates, policyUnits, route } from '../../../rules/routing/index.ts'
import { facts, policy } from './fixtures.ts'

/** The units a track can be sent to instead of the proposed one: never conflicted, never the other track's. */

t.test('every unit the policy names, once, with its track, force and command unit', async (t) => {
  const units = policyUnits(policy)
  t.match(units.find((unit) => unit.id === 'met-na-safeguarding'), { track: 'criminal', force: 'met', commandUnit: 'NA' })
  t.match(units.find((unit) => unit.id === 'met-dps'), { track: 'misconduct', force: 'met', commandUnit: null })
  t.match(units.find((unit) => unit.id === 'city-psd'), { track: 'misconduct', force: 'city', commandUnit: null })
  t.equal(new Set(units.map((unit) => unit.id)).size, units.length)
})

t.test('override candidates leave out conflicted command units, conflicted forces and the other track\'s unit', async (t) => {
  const decision = route(facts({ suspect: { onDuty: true } }), policy)
  const criminal = overrideCandidates(policy, 'criminal', decision.conflicts, decision.misconduct?.unit ?? null).map((unit) => unit.id)
  t.notOk(criminal.includes('met-cn-safeguarding'), 'not the command unit where they live')
  t.notOk(criminal.includes('met-cw-safeguarding'), 'not where they work')
  t.ok(criminal.includes('met-na-safeguarding'))
  t.ok(criminal.includes('city-pvp'), 'a partner force')
  t.notOk(criminal.some((id) => id === 'met-dps' || id.endsWith('-psd')), 'no professional standards unit for the criminal track')
  const misconduct = overrideCandidates(policy, 'misconduct', decision.conflicts, 'met-na-safeguarding').map((unit) => unit.id)
  t.ok(misconduct.includes('met-dps'))
  t.notOk(misconduct.includes('met-na-safeguarding'))
  // A force that is conflicted (the suspect's, when it is another) is never a candidate.
  const partner = overrideCandidates(policy, 'criminal', { commandUnits: [], forces: ['met', 'city'] }, null).map((unit) => unit.id)
  t.notOk(partner.includes('city-pvp'))
  t.ok(partner.includes('surrey-daiu'))
})
