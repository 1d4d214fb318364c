import { sql, type Kysely, type Transaction } from 'kysely'
import type { Schema } from './schema.ts'

/**
 * Who is acting, for the database's row-level policies (migration 0011). Every request that reads
 * or writes what an investigator unit may see (referrals, their files and the units' updates) runs
 * in a transaction that first says who is acting, transaction-local (set_config(…, true), the
 * function form of SET LOCAL), so nothing carries over to the next use of the connection:
 *
 *   idva, idva_lead  an IDVA or the IDVA lead: every referral's metadata and updates
 *   investigator     a member of one unit (unitId): only the rows addressed to that unit, and no
 *                    row at all of a case's own tables (disclosure, thread, triage, consent, files)
 *   reporter         the person whose case it is (caseId): whether their case was referred
 *   system           the portal's own jobs (the demo's seeding, retention)
 *
 * The connection itself runs as the application's role, which the policies bind
 * (server/db/database.ts). An actor who is not set sees no referral at all.
 */
export type Actor =
  | { readonly role: 'idva' | 'idva_lead' | 'system' }
  | { readonly role: 'investigator'; readonly unitId: string }
  | { readonly role: 'reporter'; readonly caseId: string }

export async function actAs(trx: Transaction<Schema>, actor: Actor): Promise<void> {
  const unitId = actor.role === 'investigator' ? actor.unitId : ''
  const caseId = actor.role === 'reporter' ? actor.caseId : ''
  if ((actor.role === 'investigator' && unitId === '') || (actor.role === 'reporter' && caseId === '')) throw new Error(`an ${actor.role} acts for a unit or a case`)
  await sql`SELECT set_config('app.role', ${actor.role}, true), set_config('app.unit_id', ${unitId}, true), set_config('app.case_id', ${caseId}, true)`.execute(trx)
}

/** Runs `work` in a transaction in which `actor` is acting. */
export function withActor<T>(db: Kysely<Schema>, actor: Actor, work: (trx: Transaction<Schema>) => Promise<T>): Promise<T> {
  return db.transaction().execute(async (trx) => {
    await actAs(trx, actor)
    return work(trx)
  })
}

/** The actor a signed-in member of staff is (an investigator acts for their unit; nobody else sees referrals). */
export function staffActor(staff: { readonly role: string; readonly groupId: string | null }): Actor | null {
  if (staff.role === 'idva' || staff.role === 'idva_lead') return { role: staff.role }
  if (staff.role === 'investigator' && staff.groupId !== null) return { role: 'investigator', unitId: staff.groupId }
  return null
}
