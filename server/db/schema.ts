import type { Generated } from 'kysely'
import type { HoldReason } from '../../rules/retention.ts'
import type { CaseKind, CaseStatus, MessageKind, RecordKind, RiskLevel, Role, Urgency } from '../../rules/enums.ts'
import type { ReferralAction, ReferralStatus } from '../../rules/referral-states.ts'

export type { CaseKind, CaseStatus, MessageKind, RecordKind, RiskLevel, Role }

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
  /** 'case' only in entries made before case_audit_log existed. */
  actor_type: 'staff' | 'case' | 'system'
  actor_id: string | null
  action: string
  object_type: string | null
  object_id: string | null
  prev_hash: Generated<Buffer>
  hash: Generated<Buffer>
}

/** The chain of what anonymous people (reporters, consulting managers) did: the day, never the time. */
export interface CaseAuditLogTable {
  seq: Generated<number>
  /** 'YYYY-MM-DD', the UTC day. */
  occurred_on: Generated<string>
  actor_type: 'case'
  actor_id: string
  action: string
  object_type: string | null
  object_id: string | null
  prev_hash: Generated<Buffer>
  hash: Generated<Buffer>
}

export interface RateLimitCounterTable {
  /** HMAC of the limit, the client address (or '') and the window, under a daily key never stored. */
  counter: string
  hits: number
  day: Generated<string>
}


export interface GroupsTable {
  id: string
  kind: 'idva_service' | 'investigator_unit'
  track: 'criminal' | 'misconduct' | null
  force: string
  name: string
  /** A criminal unit of this force: its command unit in the routing policy. */
  command_unit: Generated<string | null>
  /** A unit of a force with no accounts here, whose key the IDVA lead added: it receives exported files. */
  external: Generated<boolean>
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


export interface CasesTable {
  id: string
  kind: CaseKind
  /** HMAC of the value the case code gives (server/security/case-vault.ts); raw only in unsealed rows. */
  lookup_id: Buffer
  /** Only in rows written before sealing at rest; sealed rows keep the keys in keys_sealed. */
  auth_public: Buffer | null
  reply_public: Buffer | null
  /** auth public key || reply public key, sealed under the case key. */
  keys_sealed: Buffer | null
  sealed: boolean
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
  /** The day the person withdrew, when the IDVA service kept a minimal record (migration 0012). */
  withdrawn_on: string | null
  marac_referred: Generated<boolean>
  /** The band the reporter's browser put in clear (migration 0013). */
  urgency: Generated<Urgency | null>
  owner_id: Generated<string | null>
  /** The latest message is the person's: it waits for the service. */
  awaiting_reply: Generated<boolean>
  /** The day an IDVA marked it as junk (migration 0019): out of the queue, destroyed after RETENTION_JUNK_DAYS. */
  junk_on: Generated<string | null>
}

export interface CaseMessagesTable {
  id: string
  case_id: string
  seq: number
  author: 'reporter' | 'idva'
  kind: MessageKind
  /** The envelope, sealed under the case key (sealed rows). */
  envelope: Buffer
  padded_size: number
  created_on: Generated<string>
  sealed: boolean
}

export interface CaseEvidenceTable {
  id: string
  case_id: string | null
  message_id: string | null
  upload_token_hash: Buffer | null
  /**
   * A file stored before migration 0018, whole, sealed under its upload key (derived from the upload
   * token); NULL for a file stored in pieces (case_evidence_pieces).
   */
  encrypted: Buffer | null
  /** Bytes of the encrypted file; 0 while it is arriving. */
  size: number
  /** While staged: the day it arrived, and its expiry sealed under the upload key. */
  staged_on: string | null
  expiry_sealed: Buffer | null
  /** Once claimed: the upload key, sealed under the case key. */
  key_wrapped: Buffer | null
  sealed: boolean
  /**
   * A file in pieces: its piece count and size, sealed under the upload key once every piece has
   * arrived and the whole file checked out. NULL while it is arriving (it cannot be claimed then).
   */
  pieces_sealed: Buffer | null
}

/** One piece of an evidence file, in order from 0, sealed under the file's upload key and bound to its place. */
export interface CaseEvidencePiecesTable {
  evidence_id: string
  piece: number
  sealed: Buffer
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
  sealed: boolean
}

export type { ReferralAction, ReferralStatus }

/** A package sent to an investigating unit on one track (staff actions: times are kept). */
export interface ReferralsTable {
  id: string
  case_id: string
  track: 'criminal' | 'misconduct'
  unit_id: string
  unit_generation: number
  delivery: 'portal' | 'export'
  status: ReferralStatus
  iopc_required: boolean
  /** The person agreed (not a safeguarding override): /return may say it went, never to whom. */
  tell_reporter: boolean
  /** The package envelope, sealed at rest under the referral's data key; null once the person withdrew (migration 0012). */
  envelope: Buffer | null
  content_removed_on: Generated<string | null>
  padded_size: number
  sent_by: string | null
  sent_at: Generated<Date>
  status_changed_at: Generated<Date>
  /** A misconduct package that required an IOPC referral: what the unit decided (day and reason sealed in its note). */
  iopc_decision: Generated<'referred' | 'not_referred' | null>
}

/** One random data key per referral, sealed under a key derived from SERVER_SECRET. */
export interface ReferralKeysTable {
  referral_id: string
  wrapped: Buffer
}

/** The evidence files a package names, copied (still encrypted by the reporter's browser) and sealed under the referral's key. */
export interface ReferralFilesTable {
  referral_id: string
  evidence_id: string
  encrypted: Buffer
  size: number
}

/** What a unit records on a referral, with a note sealed to the service and the unit, signed by the unit. */
export interface ReferralUpdatesTable {
  id: string
  referral_id: string
  seq: number
  action: ReferralAction
  /** The note's envelope, sealed at rest under the referral's data key. */
  envelope: Buffer
  padded_size: number
  created_by: string | null
  created_at: Generated<Date>
}

/** One random data key per case, sealed under a key derived from SERVER_SECRET. */
export interface CaseKeysTable {
  case_id: string
  wrapped: Buffer
}

/** Challenges used at /return: a hash of each, and the day, so none is used twice. */
export interface UsedChallengesTable {
  nonce_hash: Buffer
  used_on: Generated<string>
}

export interface CaseSessionsTable {
  token_hash: Buffer
  case_id: string
  csrf_token: string
  /** Start and last request (ms), sealed under a key derived from the cookie's token. */
  times_sealed: Buffer
  created_on: Generated<string>
}

/** One row: the last arrival (a number from the `arrivals` sequence) an alert email told the team about. */
export interface AlertStateTable {
  id: Generated<number>
  alerted: string | number | bigint
}

/** A case the IDVA lead holds past its retention day (migration 0015). */
export interface RetentionHoldsTable {
  case_id: string
  reason: HoldReason
  placed_by: string | null
  placed_on: Generated<string>
}

/** Which instance runs a scheduled job now, and until when. */
export interface JobLeasesTable {
  name: string
  holder: string | null
  until: Date | null
}

export interface Schema {
  alert_state: AlertStateTable
  retention_holds: RetentionHoldsTable
  job_leases: JobLeasesTable
  audit_log: AuditLogTable
  case_audit_log: CaseAuditLogTable
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
  case_evidence_pieces: CaseEvidencePiecesTable
  case_records: CaseRecordsTable
  case_keys: CaseKeysTable
  referrals: ReferralsTable
  referral_keys: ReferralKeysTable
  referral_files: ReferralFilesTable
  referral_updates: ReferralUpdatesTable
  used_challenges: UsedChallengesTable
  case_sessions: CaseSessionsTable
}
