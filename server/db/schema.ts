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

export interface Schema {
  audit_log: AuditLogTable
  rate_limit_counter: RateLimitCounterTable
}
