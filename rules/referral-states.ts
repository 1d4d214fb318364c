/**
 * Where a referral stands with its unit, and what the unit may record next. The server enforces
 * these steps (server/features/units/), the unit's page offers only them, and the IDVA's page reads
 * the same names. The database's check constraints hold the same lists (migrations 0010 and 0011).
 *
 *   sent           → acknowledged, or returned to the IDVA service (for example a conflict of interest)
 *   acknowledged   → investigation opened, no further action, transferred, or returned
 *   investigating  → closed with an outcome, no further action, or transferred
 *   no_further_action, transferred, closed, returned: nothing more (the IDVA service may send a new package)
 *   exported       a file for a unit outside this portal: its states are kept outside it
 *
 * A misconduct package whose routing decision required a referral to the IOPC (R8) also takes, once,
 * the unit's decision: referred to the IOPC on a day, or not referred, with the reason.
 */

import type { ReferralAction, StatusAction } from '../crypto/referral-updates.ts'

export type { ReferralAction, StatusAction }
export type ReferralStatus = 'sent' | 'exported' | 'acknowledged' | 'investigating' | 'no_further_action' | 'transferred' | 'closed' | 'returned'

const NEXT: Readonly<Record<ReferralStatus, readonly StatusAction[]>> = {
  sent: ['acknowledged', 'returned'],
  acknowledged: ['investigating', 'no_further_action', 'transferred', 'returned'],
  investigating: ['closed', 'no_further_action', 'transferred'],
  no_further_action: [],
  transferred: [],
  closed: [],
  returned: [],
  exported: [],
}

/** The states a unit may record next. */
export function nextActions(status: ReferralStatus): readonly StatusAction[] {
  return NEXT[status]
}

/** The package is still with the unit (it may act on it). */
export function isOpen(status: ReferralStatus): boolean {
  return NEXT[status].length > 0
}

/** The unit has answered (the first-response clock stops): acknowledged, or handed it back. */
export function hasResponded(status: ReferralStatus): boolean {
  return status !== 'sent' && status !== 'exported'
}

/** Whether the IOPC decision can be recorded now: required, not yet recorded, and the unit has the package in hand. */
export function iopcDecisionDue(referral: { track: 'criminal' | 'misconduct'; iopcRequired: boolean; iopcDecision: 'referred' | 'not_referred' | null; status: ReferralStatus }): boolean {
  return referral.track === 'misconduct' && referral.iopcRequired && referral.iopcDecision === null && referral.status !== 'sent' && referral.status !== 'returned' && referral.status !== 'exported'
}

export function isStatusAction(action: ReferralAction): action is StatusAction {
  return action !== 'iopc_referred' && action !== 'iopc_not_referred'
}

export const STATUS_NAMES: Readonly<Record<ReferralStatus, string>> = {
  sent: 'Waiting for the unit',
  exported: 'Saved as a file for the unit',
  acknowledged: 'Acknowledged',
  investigating: 'Investigation opened',
  no_further_action: 'No further action',
  transferred: 'Transferred',
  closed: 'Closed',
  returned: 'Returned to the IDVA service',
}

/** How each action reads in a history ("Acknowledged", "Returned to the IDVA service"…). */
export const ACTION_NAMES: Readonly<Record<ReferralAction, string>> = {
  acknowledged: 'Acknowledged',
  investigating: 'Investigation opened',
  no_further_action: 'No further action',
  transferred: 'Transferred',
  closed: 'Closed, with the outcome',
  returned: 'Returned to the IDVA service',
  iopc_referred: 'Referred to the IOPC',
  iopc_not_referred: 'Not referred to the IOPC',
}

/** What the unit must write with each action (crypto/referral-updates.ts NOTE_REQUIRED; a note is always allowed). */
export const NOTE_PROMPTS: Readonly<Record<ReferralAction, string | null>> = {
  acknowledged: null,
  investigating: null,
  no_further_action: 'Say why no further action will be taken.',
  transferred: null,
  closed: 'Write the outcome.',
  returned: 'Say why the referral goes back to the IDVA service (for example, someone in the unit knows the people involved).',
  iopc_referred: null,
  iopc_not_referred: 'Say why it was not referred to the IOPC.',
}

export const TRACK_NAMES: Readonly<Record<'criminal' | 'misconduct', string>> = { criminal: 'Criminal', misconduct: 'Misconduct' }

/** What each unit kind is called on the staff pages. */
export const UNIT_KIND_NAMES: Readonly<Record<'criminal' | 'misconduct', string>> = {
  criminal: 'Criminal investigation (safeguarding)',
  misconduct: 'Professional standards (misconduct)',
}
