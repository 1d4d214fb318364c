/**
 * The routing contract (../shared/ROUTING.md): facts and policy in, decision out. Field names and
 * rule ids are a contract other tools rely on.
 *
 * "Unknown" is represented by an absent field or null, and is never read as "no".
 */

export type RuleId = 'R1' | 'R2' | 'R3' | 'R4' | 'R5' | 'R6' | 'R7' | 'R8' | 'R9' | 'R10' | 'R11' | 'R12'

export interface Facts {
  readonly reporter: {
    readonly homeBorough?: string | null
    readonly workBorough?: string | null
    /** Required: the force that employs the person disclosing. */
    readonly force: string
  }
  readonly incidentBoroughs?: readonly string[] | null
  readonly suspect: {
    /** Required: true, false or null (not known). */
    readonly policeEmployee: boolean | null
    readonly force?: string | null
    readonly workBorough?: string | null
    /** One of policy.ranks, or "staff". */
    readonly rank?: string | null
    /** When rank is "staff". */
    readonly staffGrade?: string | null
    readonly department?: string | null
    readonly onDuty?: boolean | null
    readonly abuseOfPosition?: boolean | null
    readonly abuseOfPositionSexual?: boolean | null
  }
  readonly allegation: {
    /** Required. */
    readonly criminal: boolean
    readonly seriousAssault?: boolean | null
    readonly seriousSexualOffence?: boolean | null
    readonly discriminatory?: boolean | null
    readonly relevantOffence?: boolean | null
  }
  /** Required: what the person disclosing agreed to. */
  readonly consent: { readonly criminal: boolean; readonly misconduct: boolean }
  readonly safeguardingOverride?: { readonly reason: string } | null
  readonly requestOtherForce?: boolean | null
}

export interface Policy {
  readonly version: string
  readonly force: string
  /** Command unit code -> its boroughs. Each borough belongs to exactly one command unit. */
  readonly commandUnits: Readonly<Record<string, readonly string[]>>
  /** Command unit code -> other command units, in order of preference. */
  readonly alternates: Readonly<Record<string, readonly string[]>>
  /** From lowest to highest. */
  readonly ranks: readonly string[]
  readonly otherForceFromRank: string
  readonly chiefOfficerFromRank: string
  readonly seniorStaffGrades: readonly string[]
  /** Optional: every police staff grade of the force, for the report's question (senior ones among them). */
  readonly staffGrades?: readonly string[]
  readonly conflictedDepartments: readonly string[]
  readonly otherForceAlways: boolean
  /** In order of preference. */
  readonly partnerForces: readonly string[]
  readonly units: {
    /** Command unit code -> criminal (safeguarding) unit id. */
    readonly criminal: Readonly<Record<string, string>>
    /** This force's professional standards unit id. */
    readonly misconduct: string
    readonly partnerCriminal: Readonly<Record<string, string>>
    readonly partnerMisconduct: Readonly<Record<string, string>>
  }
  /** Optional, for explanations: display names of command units, units and forces. */
  readonly names?: {
    readonly commandUnits?: Readonly<Record<string, string>>
    readonly units?: Readonly<Record<string, string>>
    readonly forces?: Readonly<Record<string, string>>
    readonly departments?: Readonly<Record<string, string>>
  }
}

export interface Track {
  readonly unit: string | null
  readonly force: string | null
  readonly rules: readonly RuleId[]
  readonly explanation: readonly string[]
}

export interface CriminalTrack extends Track {
  /** The command unit, when the case stays in this force; null for another force. */
  readonly commandUnit: string | null
}

export interface Withheld {
  readonly rules: readonly RuleId[]
  readonly explanation: readonly string[]
}

export interface Decision {
  readonly policyVersion: string
  readonly criminal: CriminalTrack | null
  readonly criminalWithheld: Withheld | null
  readonly misconduct: Track | null
  readonly misconductWithheld: Withheld | null
  readonly iopcReferral: { readonly required: boolean; readonly rules: readonly RuleId[]; readonly explanation: readonly string[] }
  readonly conflicts: { readonly commandUnits: readonly string[]; readonly forces: readonly string[] }
  readonly warnings: readonly string[]
}

/** Bad facts or a bad policy: names the field and says what is wrong. */
export class RoutingInputError extends Error {
  constructor(
    readonly path: string,
    problem: string,
  ) {
    super(`${path} ${problem}`)
    this.name = 'RoutingInputError'
  }
}

/** R10: the policy would put both tracks with one unit. The decision is refused. */
export class RoutingSeparationError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'RoutingSeparationError'
  }
}
