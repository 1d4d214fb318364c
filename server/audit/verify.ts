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

/** The hash an entry must carry, given the hash of the entry before it. */
export function auditEntryHash(prevHash: Buffer, entry: AuditEntryFields): Buffer {
  return createHash('sha256')
    .update(prevHash)
    .update('sd-audit-v1', 'utf8')
    .update(int8(entry.seq))
    .update(int8(entry.occurred_at.getTime()))
    .update(field(entry.actor_type))
    .update(field(entry.actor_id))
    .update(field(entry.action))
    .update(field(entry.object_type))
    .update(field(entry.object_id))
    .digest()
}

export type AuditVerification =
  | { ok: true; entries: number; head: { seq: number; hash: string } | null }
  | { ok: false; entries: number; brokenAt: number; reason: string }

/** Walks the whole chain in order, in pages, and stops at the first broken link. */
export async function verifyAuditChain(db: Kysely<Schema>, pageSize = 1_000): Promise<AuditVerification> {
  let expectedSeq = 1
  let prevHash: Buffer = GENESIS_HASH
  let checked = 0
  for (;;) {
    const rows = await db
      .selectFrom('audit_log')
      .selectAll()
      .where('seq', '>=', expectedSeq)
      .orderBy('seq')
      .limit(pageSize)
      .execute()
    if (rows.length === 0) break
    for (const row of rows) {
      if (row.seq !== expectedSeq) {
        return {
          ok: false,
          entries: checked,
          brokenAt: expectedSeq,
          reason: `entry ${expectedSeq} is missing (the next entry is ${row.seq}): entries were removed`,
        }
      }
      if (!row.prev_hash.equals(prevHash)) {
        return {
          ok: false,
          entries: checked,
          brokenAt: row.seq,
          reason: `entry ${row.seq} does not link to entry ${row.seq - 1}: an entry before it was altered, removed or inserted`,
        }
      }
      if (!auditEntryHash(prevHash, row).equals(row.hash)) {
        return { ok: false, entries: checked, brokenAt: row.seq, reason: `entry ${row.seq} does not match its hash: it was altered` }
      }
      prevHash = row.hash
      expectedSeq += 1
      checked += 1
    }
  }
  return { ok: true, entries: checked, head: checked === 0 ? null : { seq: expectedSeq - 1, hash: prevHash.toString('hex') } }
}
