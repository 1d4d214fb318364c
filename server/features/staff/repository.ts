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
