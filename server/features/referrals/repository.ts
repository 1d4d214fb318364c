import type { Kysely, Transaction } from 'kysely'
import { actAs } from '../../db/actor.ts'
import type { ReferralAction, ReferralStatus, Schema } from '../../db/schema.ts'
import { openAtRest, sealAtRest, VaultError, type CaseVault } from '../../security/case-vault.ts'

/**
 * SQL for referrals, both sides: the IDVA service's (sending, states, the unit's updates) and the
 * units' (server/features/units/). Plain functions taking the database or a transaction; whoever
 * calls them has said who is acting (server/db/actor.ts), or the row-level policies return nothing.
 *
 * A referral's package, its copied evidence files and the unit's updates are sealed at rest under
 * the referral's own data key (referral_keys), never the case's: a unit's request never unwraps a
 * case's key, and the case's tables stay closed to units.
 */

type Db = Kysely<Schema> | Transaction<Schema>

export const referralLabel = {
  package: (referralId: string) => `referral:${referralId}:package`,
  file: (referralId: string, evidenceId: string) => `referral:${referralId}:file:${evidenceId}`,
  update: (referralId: string, seq: number) => `referral:${referralId}:update:${seq}`,
}

/** Opens an item sealed under a referral's key; empty when it does not open (changed in the database). */
export function openReferralItem(key: Buffer, label: string, sealed: Uint8Array): Buffer {
  try {
    return openAtRest(key, label, sealed)
  } catch (error) {
    if (error instanceof VaultError) return Buffer.alloc(0)
    throw error
  }
}

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
  /** The evidence files the package names, as the reporter's browser encrypted them. */
  readonly files: readonly { readonly evidenceId: string; readonly encrypted: Buffer }[]
}

export async function insertReferral(trx: Transaction<Schema>, vault: CaseVault, referral: NewReferral): Promise<void> {
  const { key, wrapped } = vault.newReferralKey(referral.id)
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
      envelope: sealAtRest(key, referralLabel.package(referral.id), referral.envelope),
      padded_size: referral.paddedSize,
      sent_by: referral.sentBy,
    })
    .execute()
  await trx.insertInto('referral_keys').values({ referral_id: referral.id, wrapped }).execute()
  for (const file of referral.files) {
    await trx
      .insertInto('referral_files')
      .values({ referral_id: referral.id, evidence_id: file.evidenceId, encrypted: sealAtRest(key, referralLabel.file(referral.id, file.evidenceId), file.encrypted), size: file.encrypted.length })
      .execute()
  }
}

/** A referral's data key; null when there is no such referral the actor may see. Throws VaultError when its seal does not open. */
export async function referralKey(db: Db, vault: CaseVault, referralId: string): Promise<Buffer | null> {
  const row = await db.selectFrom('referral_keys').select('wrapped').where('referral_id', '=', referralId).executeTakeFirst()
  return row === undefined ? null : vault.unwrapReferralKey(referralId, row.wrapped)
}

/** A case's referrals, oldest first, with their unit's name (metadata only). */
export async function caseReferrals(db: Db, caseId: string) {
  return db
    .selectFrom('referrals')
    .innerJoin('groups', 'groups.id', 'referrals.unit_id')
    .select([
      'referrals.id',
      'referrals.track',
      'referrals.unit_id',
      'groups.name as unitName',
      'groups.force',
      'referrals.delivery',
      'referrals.status',
      'referrals.iopc_required',
      'referrals.iopc_decision',
      'referrals.sent_at',
      'referrals.status_changed_at',
      'referrals.tell_reporter',
    ])
    .where('referrals.case_id', '=', caseId)
    .orderBy('referrals.sent_at')
    .execute()
}

/** States in which a referral is still with the unit (not handed back). */
export const ACTIVE_STATUSES: readonly ReferralStatus[] = ['sent', 'exported', 'acknowledged', 'investigating', 'transferred']

/**
 * A referral's package as the IDVA's browser sealed it (opened from its seal at rest); empty when
 * its seal does not open (changed in the database): the browser then says it could not be
 * decrypted. Removed (with the day) when the person withdrew after it was sent. Null when the
 * actor may see no such referral (of this case, when one is given).
 */
export async function referralPackage(db: Db, vault: CaseVault, referralId: string, caseId?: string): Promise<{ envelope: Buffer; removedOn: null } | { envelope: null; removedOn: string } | null> {
  let query = db
    .selectFrom('referrals')
    .innerJoin('referral_keys', 'referral_keys.referral_id', 'referrals.id')
    .select(['referrals.envelope', 'referrals.content_removed_on', 'referral_keys.wrapped'])
    .where('referrals.id', '=', referralId)
  if (caseId !== undefined) query = query.where('referrals.case_id', '=', caseId)
  const row = await query.executeTakeFirst()
  if (row === undefined) return null
  if (row.envelope === null) return { envelope: null, removedOn: row.content_removed_on ?? '' }
  let key: Buffer
  try {
    key = vault.unwrapReferralKey(referralId, row.wrapped)
  } catch (error) {
    if (error instanceof VaultError) return { envelope: Buffer.alloc(0), removedOn: null }
    throw error
  }
  return { envelope: openReferralItem(key, referralLabel.package(referralId), row.envelope), removedOn: null }
}

/** The copied evidence files of a referral: ids and sizes. */
export async function referralFileList(db: Db, referralId: string) {
  return db.selectFrom('referral_files').select(['evidence_id', 'size']).where('referral_id', '=', referralId).orderBy('evidence_id').execute()
}

/** One copied evidence file, as the reporter's browser encrypted it; empty when its seal does not open, null when there is none. */
export async function referralFile(db: Db, vault: CaseVault, referralId: string, evidenceId: string): Promise<Buffer | null> {
  const row = await db.selectFrom('referral_files').select('encrypted').where('referral_id', '=', referralId).where('evidence_id', '=', evidenceId).executeTakeFirst()
  if (row === undefined) return null
  let key: Buffer | null
  try {
    key = await referralKey(db, vault, referralId)
  } catch (error) {
    if (error instanceof VaultError) return Buffer.alloc(0)
    throw error
  }
  return key === null ? null : openReferralItem(key, referralLabel.file(referralId, evidenceId), row.encrypted)
}

export interface StoredUpdate {
  readonly id: string
  readonly seq: number
  readonly action: ReferralAction
  /** The unit's sealed note, opened from its seal at rest (empty when that fails). */
  readonly envelope: Buffer
  readonly createdAt: Date
}

/** The updates units recorded on these referrals, by referral, in order. */
export async function referralUpdates(db: Db, vault: CaseVault, referralIds: readonly string[]): Promise<Map<string, StoredUpdate[]>> {
  const byReferral = new Map<string, StoredUpdate[]>(referralIds.map((id) => [id, []]))
  if (referralIds.length === 0) return byReferral
  const rows = await db
    .selectFrom('referral_updates')
    .innerJoin('referral_keys', 'referral_keys.referral_id', 'referral_updates.referral_id')
    .select(['referral_updates.id', 'referral_updates.referral_id', 'referral_updates.seq', 'referral_updates.action', 'referral_updates.envelope', 'referral_updates.created_at', 'referral_keys.wrapped'])
    .where('referral_updates.referral_id', 'in', [...referralIds])
    .orderBy('referral_updates.referral_id')
    .orderBy('referral_updates.seq')
    .execute()
  const keys = new Map<string, Buffer | null>()
  for (const row of rows) {
    if (!keys.has(row.referral_id)) {
      try {
        keys.set(row.referral_id, vault.unwrapReferralKey(row.referral_id, row.wrapped))
      } catch (error) {
        if (!(error instanceof VaultError)) throw error
        keys.set(row.referral_id, null)
      }
    }
    const key = keys.get(row.referral_id) ?? null
    byReferral.get(row.referral_id)?.push({
      id: row.id,
      seq: row.seq,
      action: row.action,
      envelope: key === null ? Buffer.alloc(0) : openReferralItem(key, referralLabel.update(row.referral_id, row.seq), row.envelope),
      createdAt: row.created_at,
    })
  }
  return byReferral
}

/**
 * Referrals stored before they had keys of their own (migration 0011): each package is opened with
 * its case's key and sealed again under a new referral key. Runs at start, as the system.
 */
export async function sealLegacyReferrals(db: Kysely<Schema>, vault: CaseVault): Promise<number> {
  return db.transaction().execute(async (trx) => {
    await actAs(trx, { role: 'system' })
    const legacy = await trx
      .selectFrom('referrals')
      .innerJoin('case_keys', 'case_keys.case_id', 'referrals.case_id')
      .leftJoin('referral_keys', 'referral_keys.referral_id', 'referrals.id')
      .select(['referrals.id', 'referrals.case_id', 'referrals.envelope', 'case_keys.wrapped'])
      .where('referral_keys.referral_id', 'is', null)
      .forUpdate('referrals')
      .execute()
    for (const row of legacy) {
      const caseKey = vault.unwrapCaseKey(row.case_id, row.wrapped)
      const envelope = row.envelope === null ? Buffer.alloc(0) : openReferralItem(caseKey, `case:${row.case_id}:referral:${row.id}`, row.envelope)
      const { key, wrapped } = vault.newReferralKey(row.id)
      // A package whose old seal did not open stays unreadable: sealed empty, so browsers say so.
      await trx.updateTable('referrals').set({ envelope: sealAtRest(key, referralLabel.package(row.id), envelope) }).where('id', '=', row.id).execute()
      await trx.insertInto('referral_keys').values({ referral_id: row.id, wrapped }).execute()
    }
    return legacy.length
  })
}
