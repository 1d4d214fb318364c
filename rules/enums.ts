/**
 * The names the server, the views and the browser share: who staff are, what a case is and where
 * it stands. The database's check constraints hold the same lists (migrations/).
 */

export type Role = 'idva_lead' | 'idva' | 'investigator' | 'admin'
export type CaseKind = 'disclosure' | 'consultation'
export type CaseStatus = 'new' | 'in_contact' | 'support_ongoing' | 'referred' | 'closed'
export type { RecordKind, RiskLevel, Track } from '../crypto/records.ts'
export type MessageKind = 'disclosure' | 'consultation' | 'reporter_message' | 'idva_reply'
