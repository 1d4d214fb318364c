import type { Kysely, Transaction } from 'kysely'
import type { Schema } from '../db/schema.ts'

/**
 * Recording what happened, never what was said.
 *
 * Call recordAudit with the same transaction as the change it describes, so the record and the
 * change commit together or not at all. The database assigns the position in the chain, the time
 * and the hashes (see migrations/20261122_0002_audit_log.ts).
 *
 * Two chains: staff and system actions go to audit_log, with the time to the millisecond (staff are
 * accountable); what an anonymous person does through their case (a reporter, a consulting line
 * manager) goes to case_audit_log, with the UTC day only and its place among other anonymous
 * actions, so neither its time nor its place between timed staff entries can name them
 * (migrations/20261202_0007_case_audit_log.ts).
 */

export type AuditActor =
  | { readonly type: 'staff'; readonly id: string }
  /** A case acts through its pseudonym (the case id), never its code. */
  | { readonly type: 'case'; readonly id: string }
  | { readonly type: 'system'; readonly id?: string }

export interface AuditEvent {
  readonly actor: AuditActor
  /** Dotted lower-case verb phrase, e.g. "case.opened", "system.migration_applied". */
  readonly action: string
  readonly object?: { readonly type: string; readonly id: string }
}

const ACTION = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/

export async function recordAudit(db: Kysely<Schema> | Transaction<Schema>, event: AuditEvent): Promise<number> {
  if (!ACTION.test(event.action) || event.action.length > 100) {
    throw new TypeError(`audit action must be a dotted lower-case name, got ${JSON.stringify(event.action)}`)
  }
  if (event.actor.type === 'case') {
    const values = { actor_type: 'case' as const, actor_id: event.actor.id, action: event.action, object_type: event.object?.type ?? null, object_id: event.object?.id ?? null }
    const row = await db.insertInto('case_audit_log').values(values).returning('seq').executeTakeFirstOrThrow()
    return row.seq
  }
  const row = await db
    .insertInto('audit_log')
    .values({
      actor_type: event.actor.type,
      actor_id: event.actor.id ?? null,
      action: event.action,
      object_type: event.object?.type ?? null,
      object_id: event.object?.id ?? null,
    })
    .returning('seq')
    .executeTakeFirstOrThrow()
  return row.seq
}
