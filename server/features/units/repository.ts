import { sql, type Kysely, type Transaction } from 'kysely'
import { overdueCutoff, type HolidayTest } from '../../../rules/working-days.ts'
import { withActor } from '../../db/actor.ts'
import { today } from '../idva/repository.ts'
import type { ReferralAction, ReferralStatus, Schema } from '../../db/schema.ts'
import { sealAtRest } from '../../security/case-vault.ts'
import { referralLabel } from '../referrals/repository.ts'

/**
 * SQL for an investigator unit's inbox. Every function takes a transaction in which the unit's
 * member is acting (server/db/actor.ts): the row-level policies then return only rows addressed to
 * that unit, whatever the query says. The queries also name the unit, so a mistake in either the
 * code or a policy alone still shows nothing of another unit.
 */

type Trx = Transaction<Schema>

export interface InboxRow {
  readonly id: string
  readonly track: 'criminal' | 'misconduct'
  readonly status: ReferralStatus
  readonly iopcRequired: boolean
  readonly iopcDecision: 'referred' | 'not_referred' | null
  /** The day it was sent (never the time: the unit does not need it, and it would date the IDVA's work). */
  readonly receivedOn: string
  /** The day the unit first answered (acknowledged or returned it), if it has. */
  readonly respondedOn: string | null
}

const INBOX_LIMIT = 500

/** The unit's referrals sent through the portal, newest first. */
export async function unitInbox(trx: Trx, unitId: string): Promise<InboxRow[]> {
  const rows = await trx
    .selectFrom('referrals')
    .select(INBOX_COLUMNS)
    .where('unit_id', '=', unitId)
    .where('delivery', '=', 'portal')
    .orderBy('sent_at', 'desc')
    .orderBy('id')
    .limit(INBOX_LIMIT)
    .execute()
  return rows.map(inboxRow)
}

/** What the inbox shows of a referral: metadata only, and days, not times. */
const INBOX_COLUMNS = [
  'id',
  'track',
  'status',
  'iopc_required',
  'iopc_decision',
  sql<string>`(sent_at)::date`.as('received_on'),
  sql<string | null>`(SELECT min(u.created_at)::date FROM referral_updates u WHERE u.referral_id = referrals.id AND u.action IN ('acknowledged', 'returned'))`.as('responded_on'),
] as const

function inboxRow(row: { id: string; track: 'criminal' | 'misconduct'; status: ReferralStatus; iopc_required: boolean; iopc_decision: 'referred' | 'not_referred' | null; received_on: string; responded_on: string | null }): InboxRow {
  return {
    id: row.id,
    track: row.track,
    status: row.status,
    iopcRequired: row.iopc_required,
    iopcDecision: row.iopc_decision,
    receivedOn: row.received_on,
    respondedOn: row.responded_on,
  }
}

export interface UnitReferral extends InboxRow {
  readonly caseId: string
  readonly unitGeneration: number
}

/** One of the unit's referrals, or undefined (another unit's, exported, or none: the same answer). */
export async function unitReferral(trx: Trx, unitId: string, referralId: string, lock = false): Promise<UnitReferral | undefined> {
  let query = trx
    .selectFrom('referrals')
    .select([...INBOX_COLUMNS, 'case_id', 'unit_generation'])
    .where('id', '=', referralId)
    .where('unit_id', '=', unitId)
    .where('delivery', '=', 'portal')
  if (lock) query = query.forUpdate()
  const row = await query.executeTakeFirst()
  if (row === undefined) return undefined
  return { ...inboxRow(row), caseId: row.case_id, unitGeneration: row.unit_generation }
}

/** The position the next update of a referral takes. */
export async function nextUpdateSeq(trx: Trx, referralId: string): Promise<number> {
  const row = await trx.selectFrom('referral_updates').select((eb) => eb.fn.max('seq').as('last')).where('referral_id', '=', referralId).executeTakeFirst()
  return Number(row?.last ?? 0) + 1
}

export interface NewUpdate {
  readonly id: string
  readonly referralId: string
  readonly seq: number
  readonly action: ReferralAction
  readonly envelope: Uint8Array
  readonly paddedSize: number
  readonly createdBy: string
}

/** Stores an update (its note sealed at rest under the referral's key) and moves the referral on. */
export async function insertUpdate(trx: Trx, referralKey: Buffer, update: NewUpdate): Promise<void> {
  await trx
    .insertInto('referral_updates')
    .values({
      id: update.id,
      referral_id: update.referralId,
      seq: update.seq,
      action: update.action,
      envelope: sealAtRest(referralKey, referralLabel.update(update.referralId, update.seq), update.envelope),
      padded_size: update.paddedSize,
      created_by: update.createdBy,
    })
    .execute()
  if (update.action === 'iopc_referred' || update.action === 'iopc_not_referred') {
    await trx.updateTable('referrals').set({ iopc_decision: update.action === 'iopc_referred' ? 'referred' : 'not_referred' }).where('id', '=', update.referralId).execute()
  } else {
    await trx.updateTable('referrals').set({ status: update.action, status_changed_at: sql<Date>`now()` }).where('id', '=', update.referralId).execute()
  }
}

/** How many of the unit's referrals wait for a first answer, and how many of those are past the target. */
export async function inboxCounts(trx: Trx, unitId: string, overdueCutoff: string): Promise<{ waiting: number; overdue: number }> {
  const row = await trx
    .selectFrom('referrals')
    .select([
      (eb) => eb.fn.countAll<number>().as('waiting'),
      sql<number>`count(*) FILTER (WHERE (sent_at)::date <= ${overdueCutoff}::date)`.as('overdue'),
    ])
    .where('unit_id', '=', unitId)
    .where('status', '=', 'sent')
    .executeTakeFirstOrThrow()
  return { waiting: Number(row.waiting), overdue: Number(row.overdue) }
}

/** The unit's line on its members' home page, as a member of the unit. */
export function unitInboxCounts(db: Kysely<Schema>, unitId: string, targetDays: number, holidays?: HolidayTest): Promise<{ waiting: number; overdue: number }> {
  return withActor(db, { role: 'investigator', unitId }, async (trx) => inboxCounts(trx, unitId, overdueCutoff(await today(trx), targetDays, holidays)))
}
