import { randomBytes } from 'node:crypto'
import { sql, type Transaction } from 'kysely'
import { actAs } from '../../db/actor.ts'
import type { Schema } from '../../db/schema.ts'
import { sealAtRest, type CaseVault } from '../../security/case-vault.ts'
import { openReferralItem as openOrEmpty, referralLabel } from '../referrals/repository.ts'
import { caseLabel } from './repository.ts'

/**
 * Withdrawal: the person's words and files leave the portal at once, and their code stops working.
 *
 * Usually the whole case goes (its row, and with it every message, record, file, session and the
 * case's key). When the IDVA service has a duty to keep a record, because it assessed the case as
 * high risk, referred it to a MARAC or referred it to investigators, a minimal record stays instead:
 *   kept     the case row (kind, status, risk level, days), the IDVA's own records (risk checklist,
 *            MARAC decision, consent versions, routing decision, notes, index entries), and each
 *            referral's state and the units' updates;
 *   removed  every message of the thread (the disclosure, the person's messages and the replies to
 *            them), every evidence file (each of its pieces), each referral package's content and its copied files, the
 *            case's sessions, its lookup value (a random one replaces it) and the public keys its
 *            code gave: the code opens nothing and proves nothing;
 *   re-keyed what is kept moves to new keys (the case's and each referral's) and the old keys are
 *            destroyed, so every earlier copy of what was removed (a backup, old table files) stays
 *            sealed under a key that no longer exists, as when a whole case goes.
 * An item whose seal no longer opens (changed in the database) is kept empty: browsers say it
 * could not be decrypted, as before. One transaction: nothing half-withdrawn.
 */

/** Whether withdrawing this case keeps a minimal record for the IDVA service, and why (for the person to read first). */
export interface KeptOnWithdrawal {
  readonly highRisk: boolean
  readonly marac: boolean
  readonly referred: boolean
}

export function keepsRecord(kept: KeptOnWithdrawal | null): kept is KeptOnWithdrawal {
  return kept !== null && (kept.highRisk || kept.marac || kept.referred)
}

/** What withdrawing would keep: null when nothing (the case goes). Run as the system (referrals). */
export async function keptOnWithdrawal(trx: Transaction<Schema>, caseId: string): Promise<KeptOnWithdrawal | null> {
  const row = await trx
    .selectFrom('cases')
    .select((eb) => [
      'kind',
      'risk_level',
      'marac_referred',
      eb.exists(eb.selectFrom('referrals').select('referrals.id').whereRef('referrals.case_id', '=', 'cases.id')).as('referred'),
    ])
    .where('id', '=', caseId)
    .executeTakeFirst()
  if (row === undefined || row.kind !== 'disclosure') return null
  const kept = { highRisk: row.risk_level === 'high', marac: row.marac_referred, referred: Boolean(row.referred) }
  return keepsRecord(kept) ? kept : null
}

export type WithdrawalResult = { readonly outcome: 'deleted' } | { readonly outcome: 'kept'; readonly kept: KeptOnWithdrawal } | { readonly outcome: 'missing' }

export async function withdrawCase(trx: Transaction<Schema>, vault: CaseVault, caseId: string): Promise<WithdrawalResult> {
  // The portal acts for the person here, on every table their case reaches (referrals included).
  await actAs(trx, { role: 'system' })
  const locked = await trx
    .selectFrom('cases')
    .innerJoin('case_keys', 'case_keys.case_id', 'cases.id')
    .select(['cases.id', 'cases.withdrawn_on', 'case_keys.wrapped'])
    .where('cases.id', '=', caseId)
    .forUpdate('cases')
    .executeTakeFirst()
  if (locked === undefined || locked.withdrawn_on !== null) return { outcome: 'missing' }
  const kept = await keptOnWithdrawal(trx, caseId)
  if (!keepsRecord(kept)) {
    await trx.deleteFrom('cases').where('id', '=', caseId).execute()
    return { outcome: 'deleted' }
  }

  const oldKey = vault.unwrapCaseKey(caseId, locked.wrapped)
  const fresh = vault.newCaseKey(caseId)
  await trx.deleteFrom('case_sessions').where('case_id', '=', caseId).execute()
  await trx
    .deleteFrom('case_evidence_pieces')
    .where('evidence_id', 'in', (eb) => eb.selectFrom('case_evidence').select('id').where('case_id', '=', caseId))
    .execute()
  await trx.deleteFrom('case_evidence').where('case_id', '=', caseId).execute()
  await trx.deleteFrom('case_messages').where('case_id', '=', caseId).execute()
  // Marked withdrawn first: the append-only trigger lets a record be re-sealed only then.
  await trx
    .updateTable('cases')
    .set({
      withdrawn_on: sql<string>`current_date`,
      last_activity_on: sql<string>`current_date`,
      lookup_id: randomBytes(16),
      keys_sealed: null,
      message_count: 0,
      evidence_count: 0,
      awaiting_reply: false,
    })
    .where('id', '=', caseId)
    .execute()
  const records = await trx.selectFrom('case_records').select(['id', 'envelope']).where('case_id', '=', caseId).execute()
  for (const record of records) {
    const label = caseLabel.record(caseId, record.id)
    await trx.updateTable('case_records').set({ envelope: sealAtRest(fresh.key, label, openOrEmpty(oldKey, label, record.envelope)) }).where('id', '=', record.id).execute()
  }
  await trx.deleteFrom('case_keys').where('case_id', '=', caseId).execute()
  await trx.insertInto('case_keys').values({ case_id: caseId, wrapped: fresh.wrapped }).execute()

  const referrals = await trx
    .selectFrom('referrals')
    .innerJoin('referral_keys', 'referral_keys.referral_id', 'referrals.id')
    .select(['referrals.id', 'referral_keys.wrapped'])
    .where('referrals.case_id', '=', caseId)
    .forUpdate('referrals')
    .execute()
  for (const referral of referrals) await removeReferralContent(trx, vault, referral)
  return { outcome: 'kept', kept }
}

/**
 * A referral package's content leaves the portal (a withdrawal, or retention at the unit): the
 * package and its copied files are deleted, the referral's state and the units' updates stay, moved
 * to a new referral key, and the old key is destroyed, so earlier copies of the package stay sealed
 * under a key that no longer exists. The caller has locked the referral and acts as the system.
 */
export async function removeReferralContent(trx: Transaction<Schema>, vault: CaseVault, referral: { readonly id: string; readonly wrapped: Buffer }): Promise<void> {
  const oldReferralKey = vault.unwrapReferralKey(referral.id, referral.wrapped)
  const freshReferral = vault.newReferralKey(referral.id)
  await trx.deleteFrom('referral_files').where('referral_id', '=', referral.id).execute()
  await trx.updateTable('referrals').set({ envelope: null, content_removed_on: sql<string>`current_date` }).where('id', '=', referral.id).execute()
  const updates = await trx.selectFrom('referral_updates').select(['id', 'seq', 'envelope']).where('referral_id', '=', referral.id).execute()
  for (const update of updates) {
    const label = referralLabel.update(referral.id, update.seq)
    await trx.updateTable('referral_updates').set({ envelope: sealAtRest(freshReferral.key, label, openOrEmpty(oldReferralKey, label, update.envelope)) }).where('id', '=', update.id).execute()
  }
  await trx.deleteFrom('referral_keys').where('referral_id', '=', referral.id).execute()
  await trx.insertInto('referral_keys').values({ referral_id: referral.id, wrapped: freshReferral.wrapped }).execute()
}
