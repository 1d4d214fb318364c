import type { Generated } from 'kysely'

/**
 * Table types for kysely. Row types stay inside server/db and the services that use them;
 * views receive plain objects shaped for display.
 *
 * Mapping decided once (see database.ts): int8 -> number (checked to be a safe integer),
 * numeric -> string, timestamptz -> Date, bytea -> Buffer.
 */

export interface AuditLogTable {
  /** Position in the chain, assigned by the database under a lock; contiguous from 1. */
  seq: Generated<number>
  occurred_at: Generated<Date>
  actor_type: 'staff' | 'case' | 'system'
  actor_id: string | null
  action: string
  object_type: string | null
  object_id: string | null
  prev_hash: Generated<Buffer>
  hash: Generated<Buffer>
}

export interface RateLimitCounterTable {
  /** HMAC of bucket and client address under a key that changes daily and is never stored. */
  bucket: string
  window_start: Date
  hits: number
  expires_at: Date
}

export type Role = 'idva_lead' | 'idva' | 'investigator' | 'admin'

export interface GroupsTable {
  id: string
  kind: 'idva_service' | 'investigator_unit'
  track: 'criminal' | 'misconduct' | null
  force: string
  name: string
  created_at: Generated<Date>
  disabled_at: Date | null
  rotation_recommended_at: Date | null
}

export interface AccountsTable {
  id: string
  username: string
  role: Role
  group_id: string | null
  status: Generated<'active' | 'disabled'>
  passphrase_salt: Buffer
  passphrase_ops: number
  passphrase_mem: number
  verifier_hash: string
  x25519_public: Buffer
  ed25519_public: Buffer
  member_keys_wrapped: Buffer
  totp_secret_sealed: Buffer | null
  totp_last_step: Generated<number>
  failed_logins: Generated<number>
  locked_until: Date | null
  created_at: Generated<Date>
  last_login_at: Date | null
}

export interface GroupKeysTable {
  group_id: string
  generation: number
  x25519_public: Buffer
  ed25519_public: Buffer
  rotation_certificate: Buffer | null
  service_certificate: Buffer | null
  service_generation: number | null
  previous_keys_sealed: Buffer | null
  created_by: string | null
  created_at: Generated<Date>
}

export interface GroupKeyGrantsTable {
  account_id: string
  group_id: string
  generation: number
  wrapped: Buffer
  granted_by: string | null
  granted_at: Generated<Date>
}

export interface InvitationsTable {
  id: string
  token_hash: Buffer
  role: Role
  group_id: string | null
  created_by: string | null
  created_at: Generated<Date>
  expires_at: Date
  used_at: Date | null
  used_by: string | null
  revoked_at: Date | null
}

export interface SetupTokensTable {
  token_hash: Buffer
  created_at: Generated<Date>
  expires_at: Date
  used_at: Date | null
}

export interface SessionsTable {
  token_hash: Buffer
  account_id: string
  stage: 'full' | 'second_factor_enrolment'
  csrf_token: string
  created_at: Generated<Date>
  last_seen_at: Generated<Date>
  expires_at: Date
}

export interface RecoveryCodesTable {
  account_id: string
  code_hash: Buffer
  used_at: Date | null
}

export type CaseKind = 'disclosure' | 'consultation'
export type CaseStatus = 'new' | 'in_contact' | 'support_ongoing' | 'referred' | 'closed'
export type RiskLevel = 'standard' | 'medium' | 'high'
export type RecordKind = 'triage' | 'note' | 'consent' | 'identifiers'
export type MessageKind = 'disclosure' | 'consultation' | 'reporter_message' | 'idva_reply'

export interface CasesTable {
  id: string
  kind: CaseKind
  lookup_id: Buffer
  auth_public: Buffer
  reply_public: Buffer
  status: Generated<CaseStatus>
  /** 'YYYY-MM-DD' (a day, never a time). */
  created_on: Generated<string>
  last_activity_on: Generated<string>
  first_reply_on: string | null
  message_count: Generated<number>
  evidence_count: Generated<number>
  /** The latest triage's level: all the server knows of the risk checklist. */
  risk_level: RiskLevel | null
  triaged_on: string | null
  status_changed_on: string | null
}

export interface CaseMessagesTable {
  id: string
  case_id: string
  seq: number
  author: 'reporter' | 'idva'
  kind: MessageKind
  envelope: Buffer
  padded_size: number
  created_on: Generated<string>
}

export interface CaseEvidenceTable {
  id: string
  case_id: string | null
  message_id: string | null
  upload_token_hash: Buffer | null
  encrypted: Buffer
  size: number
  staged_until: Date | null
}

/** What IDVAs write about a case (never shown to the reporter): append-only envelopes. */
export interface CaseRecordsTable {
  id: string
  case_id: string
  kind: RecordKind
  seq: number
  envelope: Buffer
  padded_size: number
  created_on: Generated<string>
}

export interface CaseChallengesTable {
  id: string
  challenge: Buffer
  expires_at: Date
}

export interface CaseSessionsTable {
  token_hash: Buffer
  case_id: string
  csrf_token: string
  last_seen_at: Generated<Date>
  expires_at: Date
}

export interface Schema {
  audit_log: AuditLogTable
  rate_limit_counter: RateLimitCounterTable
  groups: GroupsTable
  accounts: AccountsTable
  group_keys: GroupKeysTable
  group_key_grants: GroupKeyGrantsTable
  invitations: InvitationsTable
  setup_tokens: SetupTokensTable
  sessions: SessionsTable
  recovery_codes: RecoveryCodesTable
  cases: CasesTable
  case_messages: CaseMessagesTable
  case_evidence: CaseEvidenceTable
  case_records: CaseRecordsTable
  case_challenges: CaseChallengesTable
  case_sessions: CaseSessionsTable
}
