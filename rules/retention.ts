/**
 * The retention policy: how long the portal keeps what it holds, and the day each case is due to be
 * destroyed. Pure (no I/O): the job (server/retention/job.ts), the queue and the case page use the
 * same arithmetic. Days are 'YYYY-MM-DD', as the portal keeps them.
 *
 * The shipped defaults are a starting point for a support service, not a legal judgement: the IDVA
 * service's data protection officer sets them (README, "Retention").
 */

export interface RetentionPolicy {
  /** A closed self-referral: days after it was closed. */
  readonly closedDisclosureDays: number
  /** A closed manager's consultation: days after it was closed. */
  readonly closedConsultationDays: number
  /** The minimal record kept when a person withdrew (high risk, MARAC, referred): days after the withdrawal. */
  readonly withdrawnRecordDays: number
  /** A case an IDVA marked as junk: days after it was marked. */
  readonly junkDays: number
  /** A referral package's content at its unit: days after the unit's last step ended it (closed, no further action, transferred, returned). */
  readonly referralPackageDays: number
  /** How long the person's code still opens a closed case (to read the last reply); 0 for not at all. */
  readonly codeAfterCloseDays: number
  /** IDVAs see a case this many days before it is due. */
  readonly warningDays: number
  /** How often the job runs. */
  readonly everyHours: number
  /** Whether the server runs it by itself (RETENTION_JOB=false leaves it to `npm run retention`, from cron). */
  readonly automatic: boolean
}

/** Why a case is destroyed: the rule named in the audit log. */
export type RetentionRule = 'closed_disclosure' | 'closed_consultation' | 'withdrawn_record' | 'junk'

export const RETENTION_RULE_NAMES: Readonly<Record<RetentionRule, string>> = {
  closed_disclosure: 'closed self-referral',
  closed_consultation: "closed manager's consultation",
  withdrawn_record: 'record kept after a withdrawal',
  junk: 'marked as junk',
}

/** The reasons an IDVA lead may give for holding a case past its day (no free text: the reason is metadata). */
export const HOLD_REASONS = ['investigation', 'court_order', 'complaint', 'safeguarding_review', 'person_asked'] as const
export type HoldReason = (typeof HOLD_REASONS)[number]
export const HOLD_REASON_NAMES: Readonly<Record<HoldReason, string>> = {
  investigation: 'An investigation is ongoing',
  court_order: 'A court order or court proceedings',
  complaint: 'A complaint about the service',
  safeguarding_review: 'A safeguarding or domestic homicide review',
  person_asked: 'The person asked for it to be kept',
}

export interface RetentionFacts {
  readonly kind: 'disclosure' | 'consultation'
  readonly status: string
  readonly statusChangedOn: string | null
  readonly createdOn: string
  readonly withdrawnOn: string | null
  /** The day an IDVA marked it as junk; absent or null when it is not junk. */
  readonly junkOn?: string | null
}

export function addDays(day: string, days: number): string {
  const [year, month, date] = day.split('-').map(Number) as [number, number, number]
  return new Date(Date.UTC(year, month - 1, date + days)).toISOString().slice(0, 10)
}

/**
 * The rule that will destroy this case and the day it is due, or null while it is open. A
 * withdrawal's kept record keeps its own period (the service kept it on purpose); otherwise junk
 * goes after its period, whatever the status.
 */
export function destructionDue(facts: RetentionFacts, policy: RetentionPolicy): { rule: RetentionRule; on: string } | null {
  if (facts.withdrawnOn !== null) return { rule: 'withdrawn_record', on: addDays(facts.withdrawnOn, policy.withdrawnRecordDays) }
  if (facts.junkOn !== undefined && facts.junkOn !== null) return { rule: 'junk', on: addDays(facts.junkOn, policy.junkDays) }
  if (facts.status !== 'closed') return null
  const closedOn = facts.statusChangedOn ?? facts.createdOn
  return facts.kind === 'consultation'
    ? { rule: 'closed_consultation', on: addDays(closedOn, policy.closedConsultationDays) }
    : { rule: 'closed_disclosure', on: addDays(closedOn, policy.closedDisclosureDays) }
}

/** Whether the person's code still opens a closed case on `today`. */
export function codeStillOpens(facts: RetentionFacts, policy: RetentionPolicy, today: string): boolean {
  if (facts.status !== 'closed') return true
  return addDays(facts.statusChangedOn ?? facts.createdOn, policy.codeAfterCloseDays) >= today
}
