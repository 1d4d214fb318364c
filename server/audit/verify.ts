import { createHash } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { Schema } from '../db/schema.ts'

/**
 * Independent check of the audit chain: recomputes every hash in Node from the stored fields,
 * trusting no function in the database (which an insider could have replaced).
 */

export const GENESIS_HASH = Buffer.alloc(32)

export interface AuditEntryFields {
  seq: number
  occurred_at: Date
  actor_type: string
  actor_id: string | null
  action: string
  object_type: string | null
  object_id: string | null
}

function int4(value: number): Buffer {
  const buffer = Buffer.alloc(4)
  buffer.writeInt32BE(value)
  return buffer
}

function int8(value: number): Buffer {
  const buffer = Buffer.alloc(8)
  buffer.writeBigInt64BE(BigInt(value))
  return buffer
}

function field(value: string | null): Buffer {
  if (value === null) return int4(-1)
  const bytes = Buffer.from(value, 'utf8')
  return Buffer.concat([int4(bytes.length), bytes])
}

/** The fields of an entry in the chain of anonymous actions (case_audit_log): the day, not the time. */
export interface CaseAuditEntryFields {
  seq: number
  occurred_on: string
  actor_type: string
  actor_id: string | null
  action: string
  object_type: string | null
  object_id: string | null
}

/** Both chains hash an entry the same way but for their label and how the moment is written. */
function entryHash(prevHash: Buffer, label: string, seq: number, moment: Buffer, entry: Omit<AuditEntryFields, 'seq' | 'occurred_at'>): Buffer {
  return createHash('sha256')
    .update(prevHash)
    .update(label, 'utf8')
    .update(int8(seq))
    .update(moment)
    .update(field(entry.actor_type))
    .update(field(entry.actor_id))
    .update(field(entry.action))
    .update(field(entry.object_type))
    .update(field(entry.object_id))
    .digest()
}

/** The hash an entry of case_audit_log must carry, given the hash of the entry before it: the day, as text. */
export function caseAuditEntryHash(prevHash: Buffer, entry: CaseAuditEntryFields): Buffer {
  return entryHash(prevHash, 'sd-case-audit-v1', entry.seq, field(entry.occurred_on), entry)
}

/** The hash an entry must carry, given the hash of the entry before it: the time, in Unix ms. */
export function auditEntryHash(prevHash: Buffer, entry: AuditEntryFields): Buffer {
  return entryHash(prevHash, 'sd-audit-v1', entry.seq, int8(entry.occurred_at.getTime()), entry)
}

type AuditRow = AuditEntryFields | CaseAuditEntryFields

export interface AuditBreak {
  /** The position at which the chain is broken. */
  readonly seq: number
  readonly reason: string
}

export interface AuditVerification {
  readonly ok: boolean
  /** Entries read. */
  readonly entries: number
  /** The last entry, to record elsewhere and check later with --expect. */
  readonly head: { readonly seq: number; readonly hash: string } | null
  /** Every break found, in order (the walk carries on past each one); at most MAX_BREAKS. */
  readonly breaks: readonly AuditBreak[]
}

export const MAX_BREAKS = 100

/** The two chains: staff and system actions (timed), and anonymous actions (by the day). */
export type AuditChain = 'staff' | 'case'

export const CHAIN_TABLES = { staff: 'audit_log', case: 'case_audit_log' } as const

/**
 * Walks the whole chain in order, in pages, and reports every broken link: an altered entry, an
 * entry that does not link to the one before, missing entries, or entries out of sequence.
 */
export async function verifyAuditChain(db: Kysely<Schema>, pageSize = 1_000, chain: AuditChain = 'staff'): Promise<AuditVerification> {
  const breaks: AuditBreak[] = []
  const report = (seq: number, reason: string) => {
    if (breaks.length < MAX_BREAKS) breaks.push({ seq, reason })
  }
  let expectedSeq = 1
  let prevHash: Buffer = GENESIS_HASH
  let last: number | null = null
  let entries = 0
  for (;;) {
    const after = last
    const rows: (AuditRow & { prev_hash: Buffer; hash: Buffer })[] =
      chain === 'staff'
        ? await db.selectFrom('audit_log').selectAll().orderBy('seq').limit(pageSize).$if(after !== null, (query) => query.where('seq', '>', after!)).execute()
        : await db.selectFrom('case_audit_log').selectAll().orderBy('seq').limit(pageSize).$if(after !== null, (query) => query.where('seq', '>', after!)).execute()
    if (rows.length === 0) break
    for (const row of rows) {
      entries += 1
      if (row.seq < expectedSeq) {
        report(row.seq, `entry ${row.seq} is out of sequence (expected ${expectedSeq} or later): an entry was inserted`)
      } else if (row.seq > expectedSeq) {
        const missing = row.seq - 1 === expectedSeq ? `entry ${expectedSeq} is` : `entries ${expectedSeq} to ${row.seq - 1} are`
        report(expectedSeq, `${missing} missing: entries were removed`)
      } else if (!row.prev_hash.equals(prevHash)) {
        report(row.seq, `entry ${row.seq} does not link to entry ${row.seq - 1}: an entry before it was altered or replaced`)
      }
      const expected = chain === 'staff' ? auditEntryHash(row.prev_hash, row as AuditEntryFields) : caseAuditEntryHash(row.prev_hash, row as CaseAuditEntryFields)
      if (!expected.equals(row.hash)) {
        report(row.seq, `entry ${row.seq} does not match its hash: it was altered`)
      }
      prevHash = row.hash
      expectedSeq = row.seq + 1
      last = row.seq
    }
  }
  return {
    ok: breaks.length === 0,
    entries,
    head: last === null ? null : { seq: last, hash: prevHash.toString('hex') },
    breaks,
  }
}
