import { loadPolicyFile, EXAMPLE_POLICY_PATH } from '../../../server/routing/policy-file.ts'
import type { Facts, Policy } from '../../../rules/routing/types.ts'

export const policy = loadPolicyFile(EXAMPLE_POLICY_PATH)

/** A deep copy of the example policy with some fields replaced. */
export function policyWith(changes: (copy: Record<string, any>) => void): Policy {
  const copy = structuredClone(policy) as Record<string, any>
  changes(copy)
  return copy as unknown as Policy
}

type DeepPartial<T> = { -readonly [K in keyof T]?: T[K] extends object | null | undefined ? DeepPartial<NonNullable<T[K]>> | null : T[K] }

/**
 * The baseline case: a constable of this force, off duty, harming a colleague who lives in Camden
 * (Central North) and works in Westminster (Central West); abuse in Camden; the suspect works in
 * Islington (Central North). Consent to both tracks.
 */
export function facts(changes: DeepPartial<Facts> = {}): Facts {
  const base: Facts = {
    reporter: { homeBorough: 'Camden', workBorough: 'Westminster', force: 'met' },
    incidentBoroughs: ['Camden'],
    suspect: { policeEmployee: true, force: 'met', workBorough: 'Islington', rank: 'constable', onDuty: false, abuseOfPosition: false, abuseOfPositionSexual: false },
    allegation: { criminal: true, seriousAssault: false, seriousSexualOffence: false, discriminatory: false, relevantOffence: false },
    consent: { criminal: true, misconduct: true },
    safeguardingOverride: null,
    requestOtherForce: false,
  }
  const merge = (target: any, source: any): any => {
    if (source === null || typeof source !== 'object' || Array.isArray(source)) return source
    const out = { ...target }
    for (const [key, value] of Object.entries(source)) out[key] = value !== null && typeof value === 'object' && !Array.isArray(value) ? merge(target?.[key] ?? {}, value) : value
    return out
  }
  return merge(base, changes) as Facts
}
