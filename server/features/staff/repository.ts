import { sql, type Kysely, type Transaction } from 'kysely'
import type { Role, Schema } from '../../db/schema.ts'

/** SQL for staff accounts, groups and keys. Plain functions taking the database or a transaction. */

type Db = Kysely<Schema> | Transaction<Schema>

export const IDVA_SERVICE_ID = 'idva-service'

export async function serviceExists(db: Db): Promise<boolean> {
  const row = await db.selectFrom('groups').select('id').where('kind', '=', 'idva_service').executeTakeFirst()
  return row !== undefined
}

export async function findAccountByUsername(db: Db, username: string) {
  return db.selectFrom('accounts').selectAll().where('username', '=', username).executeTakeFirst()
}

export async function findAccount(db: Db, id: string) {
  return db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst()
}

export async function findGroup(db: Db, id: string) {
  return db.selectFrom('groups').selectAll().where('id', '=', id).executeTakeFirst()
}

/** Every generation of a group's keys, oldest first. */
export async function groupGenerations(db: Db, groupId: string) {
  return db.selectFrom('group_keys').selectAll().where('group_id', '=', groupId).orderBy('generation').execute()
}

export async function currentGeneration(db: Db, groupId: string) {
  return db.selectFrom('group_keys').selectAll().where('group_id', '=', groupId).orderBy('generation', 'desc').limit(1).executeTakeFirst()
}

/** The first generation: for the IDVA service, the key whose fingerprint is published. */
export async function firstGeneration(db: Db, groupId: string) {
  return db.selectFrom('group_keys').selectAll().where('group_id', '=', groupId).where('generation', '=', 1).executeTakeFirst()
}

export async function grantsOf(db: Db, accountId: string) {
  return db.selectFrom('group_key_grants').selectAll().where('account_id', '=', accountId).orderBy('generation', 'desc').execute()
}

/** Members of a group (active or not), each with the newest generation they hold, if any. */
export async function groupMembers(db: Db, groupId: string) {
  return db
    .selectFrom('accounts')
    .leftJoin(
      (eb) => eb.selectFrom('group_key_grants').select(['account_id', (e) => e.fn.max('generation').as('generation')]).where('group_id', '=', groupId).groupBy('account_id').as('held'),
      (join) => join.onRef('held.account_id', '=', 'accounts.id'),
    )
    .select(['accounts.id', 'accounts.username', 'accounts.role', 'accounts.status', 'accounts.x25519_public', 'accounts.ed25519_public', 'accounts.created_at', 'held.generation'])
    .where('accounts.group_id', '=', groupId)
    .orderBy('accounts.username')
    .execute()
}

export async function insertRecoveryCodes(db: Db, accountId: string, hashes: readonly Buffer[]): Promise<void> {
  await db.deleteFrom('recovery_codes').where('account_id', '=', accountId).execute()
  await db
    .insertInto('recovery_codes')
    .values(hashes.map((code_hash) => ({ account_id: accountId, code_hash, used_at: null })))
    .execute()
}

/** Marks a recovery code used; true when it existed and had not been used. */
export async function useRecoveryCode(db: Db, accountId: string, hash: Buffer): Promise<boolean> {
  const result = await db
    .updateTable('recovery_codes')
    .set({ used_at: sql<Date>`now()` })
    .where('account_id', '=', accountId)
    .where('code_hash', '=', hash)
    .where('used_at', 'is', null)
    .executeTakeFirst()
  return Number(result.numUpdatedRows) === 1
}

/**
 * Records a successful sign-in, in one statement, only if the account may still sign in at this
 * moment: active, not locked, and (with `totpStep`) the code's step later than the last one used.
 * The check and the write are one conditional UPDATE, so of two sign-ins sending the same code at
 * the same moment exactly one is accepted. With `withoutSecondFactor`, only while the account has
 * no second factor (after a reset). With `recoveryCodeUsed` a lock does not stop it: a lock is
 * there to stop codes being guessed, and a recovery code (60 random bits) cannot be; it is how a
 * member gets in while someone who has her passphrase keeps her account locked. A sign-in ends any
 * lock and clears the count of failures. True when it was recorded.
 */
export async function recordSignIn(db: Db, accountId: string, now: Date, second: { totpStep: number } | { withoutSecondFactor: true } | { recoveryCodeUsed: true }): Promise<boolean> {
  let query = db
    .updateTable('accounts')
    .set({ failed_logins: 0, locked_until: null, last_login_at: now })
    .where('id', '=', accountId)
    .where('status', '=', 'active')
  if (!('recoveryCodeUsed' in second)) query = query.where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', now)]))
  if ('totpStep' in second) query = query.set({ totp_last_step: second.totpStep }).where('totp_last_step', '<', second.totpStep).where('totp_secret_sealed', 'is not', null)
  if ('withoutSecondFactor' in second) query = query.where('totp_secret_sealed', 'is', null)
  const row = await query.returning('id').executeTakeFirst()
  return row !== undefined
}

/**
 * Signs in with a recovery code, locked or not (see recordSignIn): under the account's row lock,
 * checks that it may sign in, marks the code used (once only) and records the sign-in, all or
 * nothing. True when accepted.
 */
export async function signInWithRecoveryCode(db: Kysely<Schema>, accountId: string, hash: Buffer, now: Date): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const account = await trx.selectFrom('accounts').select(['status', 'totp_secret_sealed']).where('id', '=', accountId).forUpdate().executeTakeFirst()
    if (account === undefined || account.status !== 'active' || account.totp_secret_sealed === null) return false
    if (!(await useRecoveryCode(trx, accountId, hash))) return false
    return recordSignIn(trx, accountId, now, { recoveryCodeUsed: true })
  })
}

/** When an account locks: after `after` second-factor failures, for `minutes`, doubling at each lock after that up to `maxMinutes`. */
export interface LockPolicy {
  readonly after: number
  readonly minutes: number
  readonly maxMinutes: number
}

/**
 * Counts a failed second factor (the passphrase was right, the code was not) against the account,
 * unless it is locked at `now`: attempts made while a lock holds neither count nor move the lock.
 * Counted in the database itself (failed_logins + 1, never a value read earlier), and the check of
 * the lock is in the same conditional UPDATE, so failures at the same moment are each counted until
 * one of them locks the account, and none after. From `policy.after` failures since the last sign-in,
 * each counted failure locks the account from `now`, for `minutes` at the first lock and twice as
 * long at each one after, up to `maxMinutes`. Returns the lock it began, or null.
 */
export async function recordSecondFactorFailure(db: Db, accountId: string, now: Date, policy: LockPolicy): Promise<{ lockedUntil: Date } | null> {
  const row = await db
    .updateTable('accounts')
    .set({
      failed_logins: sql<number>`failed_logins + 1`,
      locked_until: sql<Date | null>`CASE WHEN failed_logins + 1 >= ${policy.after}::int
        THEN ${now}::timestamptz + make_interval(mins => LEAST(${policy.minutes}::int * (1 << LEAST(failed_logins + 1 - ${policy.after}::int, 16)), ${policy.maxMinutes}::int))
        ELSE locked_until END`,
    })
    .where('id', '=', accountId)
    .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', now)]))
    .returning('locked_until')
    .executeTakeFirst()
  return row?.locked_until != null && row.locked_until.getTime() > now.getTime() ? { lockedUntil: row.locked_until } : null
}

export async function countsByRole(db: Db): Promise<Record<Role, number>> {
  const rows = await db
    .selectFrom('accounts')
    .select(['role', (eb) => eb.fn.countAll<number>().as('n')])
    .where('status', '=', 'active')
    .groupBy('role')
    .execute()
  const counts: Record<Role, number> = { idva_lead: 0, idva: 0, investigator: 0, admin: 0 }
  for (const row of rows) counts[row.role] = Number(row.n)
  return counts
}

/**
 * Revokes an invitation that is still open (not used, not revoked), if it is on the side named:
 * the IDVA service's (its lead revokes those) or the force's (the administrator revokes those).
 * False when there is no such open invitation on that side.
 */
export async function revokeOpenInvitation(db: Db, id: string, side: 'idva_service' | 'force'): Promise<boolean> {
  let update = db.updateTable('invitations').set({ revoked_at: new Date() }).where('id', '=', id).where('used_at', 'is', null).where('revoked_at', 'is', null)
  update =
    side === 'idva_service'
      ? update.where('group_id', '=', IDVA_SERVICE_ID)
      : update.where('role', 'not in', ['idva_lead', 'idva']).where((eb) => eb.or([eb('group_id', 'is', null), eb('group_id', '!=', IDVA_SERVICE_ID)]))
  const result = await update.executeTakeFirst()
  return Number(result.numUpdatedRows) === 1
}
