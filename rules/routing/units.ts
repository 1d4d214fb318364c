import type { Policy } from './types.ts'
import { key } from './validate.ts'

/** A unit the routing policy can send a track to. */
export interface PolicyUnit {
  readonly id: string
  readonly track: 'criminal' | 'misconduct'
  readonly force: string
  /** The command unit of one of this force's criminal (safeguarding) units; null otherwise. */
  readonly commandUnit: string | null
  readonly name: string
}

/** Every unit the policy names, once each: this force's criminal units, its professional standards, and the partners'. */
export function policyUnits(policy: Policy): PolicyUnit[] {
  const name = (id: string) => policy.names?.units?.[id] ?? id
  const units: PolicyUnit[] = []
  const add = (id: string, track: 'criminal' | 'misconduct', force: string, commandUnit: string | null) => {
    if (!units.some((unit) => key(unit.id) === key(id))) units.push({ id, track, force, commandUnit, name: name(id) })
  }
  for (const [commandUnit, unit] of Object.entries(policy.units.criminal)) add(unit, 'criminal', policy.force, commandUnit)
  add(policy.units.misconduct, 'misconduct', policy.force, null)
  for (const [force, unit] of Object.entries(policy.units.partnerCriminal)) add(unit, 'criminal', force, null)
  for (const [force, unit] of Object.entries(policy.units.partnerMisconduct)) add(unit, 'misconduct', force, null)
  return units
}

/**
 * The units an IDVA may choose instead of the proposed one for a track: the same track, never the
 * other track's unit, never a unit in a conflicted command unit (R3) or of a conflicted force.
 * A choice outside this list is refused in the browser.
 */
export function overrideCandidates(
  policy: Policy,
  track: 'criminal' | 'misconduct',
  conflicts: { readonly commandUnits: readonly string[]; readonly forces: readonly string[] },
  otherTrackUnit: string | null,
): PolicyUnit[] {
  const conflicted = new Set(conflicts.commandUnits.map(key))
  const conflictedForces = new Set(conflicts.forces.map(key))
  return policyUnits(policy).filter((unit) => {
    if (unit.track !== track) return false
    if (otherTrackUnit !== null && key(unit.id) === key(otherTrackUnit)) return false
    if (unit.commandUnit !== null && conflicted.has(key(unit.commandUnit))) return false
    // Another force's unit must not be the person's or the suspect's force (a conflicted force);
    // this force's professional standards stay possible for misconduct (R6).
    if (key(unit.force) !== key(policy.force) && conflictedForces.has(key(unit.force))) return false
    if (track === 'criminal' && unit.commandUnit === null && key(unit.force) === key(policy.force)) return false
    return true
  })
}
