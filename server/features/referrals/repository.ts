import type { Kysely, Transaction } from 'kysely'
import type { ReferralStatus, Schema } from '../../db/schema.ts'
import { openAtRest, sealAtRest, VaultError } from '../../security/case-vault.ts'

/** SQL for referrals (the IDVA's side). Plain functions taking the database or a transaction. */

type Db = Kysely<Schema> | Transaction<Schema>

const label = (caseId: string, referralId: string) => `case:${caseId}:referral:${referralId}`

/** Every investigator unit the portal knows (open, in this portal or outside it), with each generation of its keys. */
export async function referralUnits(db: Db) {
  const groups = await db
    .selectFrom('groups')
    .select(['id', 'name', 'track', 'force', 'command_unit', 'external'])
    .where('kind', '=', 'investigator_unit')
    .where('disabled_at', 'is', null)
    .orderBy('id')
    .execute()
  const keys = await db
    .selectFrom('group_keys')
    .select(['group_id', 'generation', 'x25519_public', 'ed25519_public', 'rotation_certificate', 'service_certificate', 'service_generation'])
    .where('group_id', 'in', groups.length === 0 ? [''] : groups.map((group) => group.id))
    .orderBy('group_id')
    .orderBy('generation')
    .execute()
  return groups.map((group) => ({ ...group, generations: keys.filter((row) => row.group_id === group.id) }))
}

export interface NewReferral {
  readonly id: string
  readonly caseId: string
  readonly track: 'criminal' | 'misconduct'
  readonly unitId: string
  readonly unitGeneration: number
  readonly delivery: 'portal' | 'export'
  readonly iopcRequired: boolean
  readonly tellReporter: boolean
  readonly envelope: Uint8Array
  readonly paddedSize: number
  readonly sentBy: string
}

export async function insertReferral(trx: Transaction<Schema>, dataKey: Buffer, referral: NewReferral): Promise<void> {
  await trx
    .insertInto('referrals')
    .values({
      id: referral.id,
      case_id: referral.caseId,
      track: referral.track,
      unit_id: referral.unitId,
      unit_generation: referral.unitGeneration,
      delivery: referral.delivery,
      status: referral.delivery === 'export' ? 'exported' : 'sent',
      iopc_required: referral.iopcRequired,
      tell_reporter: referral.tellReporter,
      envelope: sealAtRest(dataKey, label(referral.caseId, referral.id), referral.envelope),
      padded_size: referral.paddedSize,
      sent_by: referral.sentBy,
    })
    .execute()
}

/** A case's referrals, oldest first, with their unit's name (metadata only). */
export async function caseReferrals(db: Db, caseId: string) {
  return db
    .selectFrom('referrals')
    .innerJoin('groups', 'groups.id', 'referrals.unit_id')
    .select(['referrals.id', 'referrals.track', 'referrals.unit_id', 'groups.name as unitName', 'groups.force', 'referrals.delivery', 'referrals.status', 'referrals.iopc_required', 'referrals.sent_at', 'referrals.status_changed_at', 'referrals.tell_reporter'])
    .where('referrals.case_id', '=', caseId)
    .orderBy('referrals.sent_at')
    .execute()
}

/** States in which a referral is still with the unit (not handed back). */
export const ACTIVE_STATUSES: readonly ReferralStatus[] = ['sent', 'exported', 'acknowledged', 'investigating', 'transferred']

/**
 * A referral's package as the IDVA's browser sealed it (opened from its seal at rest); empty when
 * its seal does not open (changed in the database): the browser then says it could not be decrypted.
 */
export async function referralPackage(db: Db, dataKey: Buffer, caseId: string, referralId: string): Promise<Buffer | null> {
  const row = await db.selectFrom('referrals').select('envelope').where('id', '=', referralId).where('case_id', '=', caseId).executeTakeFirst()
  if (row === undefined) return null
  try {
    return openAtRest(dataKey, label(caseId, referralId), row.envelope)
  } catch (error) {
    if (error instanceof VaultError) return Buffer.alloc(0)
    throw error
  }
}
