/**
 * The names the server, the views and the browser share: who staff are, what a case is and where
 * it stands. The database's check constraints hold the same lists (migrations/).
 */

export type Role = 'idva_lead' | 'idva' | 'investigator' | 'admin'
export type CaseKind = 'disclosure' | 'consultation'
export type CaseStatus = 'new' | 'in_contact' | 'support_ongoing' | 'referred' | 'closed'
export type { RecordKind, RiskLevel, Track } from '../crypto/records.ts'
export type MessageKind = 'disclosure' | 'consultation' | 'reporter_message' | 'idva_reply'

/**
 * The urgency band a reporter's browser puts in clear beside the sealed disclosure, so the IDVA
 * queue can show urgent cases first without decrypting anything: the most urgent that applies.
 * SECURITY.md says what it reveals.
 */
export const URGENCIES = ['danger_now', 'children', 'police_abuser'] as const
export type Urgency = (typeof URGENCIES)[number]

export const URGENCY_NAMES: Readonly<Record<Urgency, string>> = {
  danger_now: 'In danger now',
  children: 'Children involved',
  police_abuser: 'Police abuser',
}

/** The band from the reporter's answers (the same in the browser and in tests): null when none applies. */
export function urgencyOf(answers: Readonly<Record<string, string | readonly string[] | undefined>>): Urgency | null {
  if (answers.safeNow === 'in_danger') return 'danger_now'
  if (answers.children === 'yes') return 'children'
  if (answers.perpetratorPolice === 'this_force' || answers.perpetratorPolice === 'another_force') return 'police_abuser'
  return null
}
