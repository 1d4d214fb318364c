import { SingleRun } from '../single-run.ts'
import { randomUUID } from 'node:crypto'
import { sql, type Kysely, type Transaction } from 'kysely'
import type { FastifyBaseLogger } from 'fastify'
import { recordAudit } from '../audit/audit.ts'
import { actAs } from '../db/actor.ts'
import type { Database } from '../db/database.ts'
import type { Reclaimer } from '../db/reclaim.ts'
import type { Schema } from '../db/schema.ts'
import type { CaseVault } from '../security/case-vault.ts'
import { removeReferralContent } from '../features/cases/withdrawal.ts'
import { destructionDue, type RetentionPolicy, type RetentionRule } from '../../rules/retention.ts'

/**
 * The retention job: destroys what the policy (rules/retention.ts, configuration) says has been
 * kept long enough, and nothing else.
 *
 *   cases     a closed self-referral or consultation, the minimal record kept after a withdrawal, or
 *             a case an IDVA marked as junk, past its day and not held by the IDVA lead: the case row
 *             goes, and with it every
 *             message, record, evidence file, session, referral and the case's own data key (so a
 *             backup taken while it existed holds only ciphertext under a key that no longer exists;
 *             SECURITY.md, "Retention").
 *   packages  a referral package's content at a unit, once the unit's last step ended it (closed,
 *             no further action, transferred, returned) that many days ago: removed and re-keyed as a
 *             withdrawal does; the referral's state and the units' updates stay with the case.
 *
 * What stays: in the audit log, the case's or referral's pseudonym, that it was destroyed, the day,
 * and under which rule (the action's name). One instance at a time (a lease in job_leases, claimed
 * with one conditional UPDATE), and each item in its own transaction with its row locked (SKIP
 * LOCKED) and its due day checked again, so two runs at once still destroy each item once.
 */

export interface RetentionReport {
  /** False when another instance holds the lease (nothing was done here). */
  readonly ran: boolean
  readonly destroyed: Readonly<Record<RetentionRule, number>>
  readonly referralPackages: number
  /** Cases past their day but held by the IDVA lead. */
  readonly held: number
  /** Items that could not be destroyed this time (logged; tried again at the next run). */
  readonly failed: number
}

const FINAL_REFERRAL_STATES = ['closed', 'no_further_action', 'transferred', 'returned'] as const
const LEASE_MINUTES = 15
const BATCH = 200

export class RetentionJob {
  #timer: NodeJS.Timeout | undefined
  #first: NodeJS.Timeout | undefined
  readonly #single = new SingleRun(() => this.#run())
  #failures = 0

  constructor(
    private readonly database: Database,
    private readonly vault: CaseVault,
    private readonly policy: RetentionPolicy,
    private readonly logger: FastifyBaseLogger,
    private readonly reclaimer: Reclaimer | null,
  ) {}

  /** Runs a minute after start, then every `everyHours`. */
  start(): void {
    if (this.#timer !== undefined) return
    const run = () => void this.runOnce().catch((error: unknown) => this.logger.error({ err: error }, 'the retention job failed; it will run again'))
    this.#first = setTimeout(run, 60_000)
    this.#first.unref()
    this.#timer = setInterval(run, this.policy.everyHours * 3_600_000)
    this.#timer.unref()
  }

  runOnce(): Promise<RetentionReport> {
    return this.#single.run()
  }

  async #run(): Promise<RetentionReport> {
    const db = this.database.db
    const holder = randomUUID()
    this.#failures = 0
    const destroyed: Record<RetentionRule, number> = { closed_disclosure: 0, closed_consultation: 0, withdrawn_record: 0, junk: 0 }
    const claimed = await sql`UPDATE job_leases SET holder = ${holder}, until = now() + make_interval(mins => ${LEASE_MINUTES}) WHERE name = 'retention' AND (until IS NULL OR until < now())`.execute(db)
    if (claimed.numAffectedRows !== 1n) return { ran: false, destroyed, referralPackages: 0, held: 0, failed: 0 }
    let referralPackages = 0
    let held = 0
    try {
      for (;;) {
        const due = await this.#withSystem(db, (trx) => dueCases(trx, this.policy, BATCH))
        let done = 0
        for (const id of due) {
          const rule = await this.#withSystem(db, (trx) => destroyCase(trx, this.policy, id)).catch((error: unknown) => this.#failed(error))
          if (rule !== null) {
            destroyed[rule] += 1
            done += 1
          }
        }
        if (due.length < BATCH || done === 0) break
      }
      for (;;) {
        const packages = await this.#withSystem(db, (trx) => duePackages(trx, this.policy, BATCH))
        let done = 0
        for (const id of packages) {
          if (await this.#withSystem(db, (trx) => destroyPackage(trx, this.vault, this.policy, id)).catch((error: unknown) => this.#failed(error) ?? false)) {
            referralPackages += 1
            done += 1
          }
        }
        if (packages.length < BATCH || done === 0) break
      }
      held = await this.#withSystem(db, (trx) => heldPastDue(trx, this.policy))
    } finally {
      await sql`UPDATE job_leases SET holder = NULL, until = NULL WHERE name = 'retention' AND holder = ${holder}`.execute(db)
    }
    const total = Object.values(destroyed).reduce((sum, n) => sum + n, 0) + referralPackages
    if (total > 0) this.reclaimer?.schedule()
    this.logger.info({ retention: { ...destroyed, referralPackages, held, failed: this.#failures } }, 'retention job ran')
    return { ran: true, destroyed, referralPackages, held, failed: this.#failures }
  }

  /** One item could not be destroyed: the rest go on, and it is tried again at the next run. */
  #failed(error: unknown): null {
    this.#failures += 1
    this.logger.error({ retention: 'item_failed', code: (error as { code?: string }).code ?? 'error' }, 'retention could not destroy one item; it will try again at the next run')
    return null
  }

  #withSystem<T>(db: Kysely<Schema>, work: (trx: Transaction<Schema>) => Promise<T>): Promise<T> {
    return db.transaction().execute(async (trx) => {
      await actAs(trx, { role: 'system' })
      return work(trx)
    })
  }

  async close(): Promise<void> {
    if (this.#first !== undefined) clearTimeout(this.#first)
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#first = this.#timer = undefined
    await this.#single.settled()
  }
}

/**
 * The SQL form of rules/retention.ts destructionDue: true for a case whose day is at most `aheadDays`
 * from today (0: past its day; the warning window for the queue).
 */
export function pastDue(policy: RetentionPolicy, aheadDays = 0) {
  const by = sql`(current_date + ${aheadDays}::int)`
  return sql<boolean>`(
    (cases.withdrawn_on IS NOT NULL AND cases.withdrawn_on + ${policy.withdrawnRecordDays}::int <= ${by})
    OR (cases.withdrawn_on IS NULL AND cases.junk_on IS NOT NULL AND cases.junk_on + ${policy.junkDays}::int <= ${by})
    OR (cases.withdrawn_on IS NULL AND cases.junk_on IS NULL AND cases.status = 'closed' AND cases.kind = 'disclosure'
        AND coalesce(cases.status_changed_on, cases.created_on) + ${policy.closedDisclosureDays}::int <= ${by})
    OR (cases.withdrawn_on IS NULL AND cases.junk_on IS NULL AND cases.status = 'closed' AND cases.kind = 'consultation'
        AND coalesce(cases.status_changed_on, cases.created_on) + ${policy.closedConsultationDays}::int <= ${by})
  )`
}

/**
 * Cases due for destruction within the warning window (held ones included, marked), soonest first.
 * Junk is left out: it has left the queue, and its own view and its page say when it goes.
 */
export async function dueSoon(db: Kysely<Schema>, policy: RetentionPolicy, limit: number) {
  const rows = await db
    .selectFrom('cases')
    .leftJoin('retention_holds', 'retention_holds.case_id', 'cases.id')
    .select(['cases.id', 'cases.kind', 'cases.status', 'cases.status_changed_on', 'cases.created_on', 'cases.withdrawn_on', 'retention_holds.reason'])
    .where(pastDue(policy, policy.warningDays))
    .where('cases.junk_on', 'is', null)
    .orderBy(
      sql`CASE WHEN cases.withdrawn_on IS NOT NULL THEN cases.withdrawn_on + ${policy.withdrawnRecordDays}::int
               WHEN cases.kind = 'disclosure' THEN coalesce(cases.status_changed_on, cases.created_on) + ${policy.closedDisclosureDays}::int
               ELSE coalesce(cases.status_changed_on, cases.created_on) + ${policy.closedConsultationDays}::int END`,
    )
    .orderBy('cases.id')
    .limit(limit + 1)
    .execute()
  const due = rows.map((row) => ({
    id: row.id,
    kind: row.kind,
    held: row.reason !== null,
    ...destructionDue({ kind: row.kind, status: row.status, statusChangedOn: row.status_changed_on, createdOn: row.created_on, withdrawnOn: row.withdrawn_on }, policy)!,
  }))
  return { rows: due.slice(0, limit), more: rows.length > limit }
}

const notHeld = sql<boolean>`NOT EXISTS (SELECT 1 FROM retention_holds WHERE retention_holds.case_id = cases.id)`

async function dueCases(trx: Transaction<Schema>, policy: RetentionPolicy, limit: number): Promise<string[]> {
  const rows = await trx.selectFrom('cases').select('id').where(pastDue(policy)).where(notHeld).orderBy('id').limit(limit).execute()
  return rows.map((row) => row.id)
}

async function heldPastDue(trx: Transaction<Schema>, policy: RetentionPolicy): Promise<number> {
  const row = await trx
    .selectFrom('cases')
    .innerJoin('retention_holds', 'retention_holds.case_id', 'cases.id')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where(pastDue(policy))
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

/** Destroys one case if it is still past its day and not held; the rule, or null when it was not. */
async function destroyCase(trx: Transaction<Schema>, policy: RetentionPolicy, id: string): Promise<RetentionRule | null> {
  const row = await trx
    .selectFrom('cases')
    .select(['id', 'kind', 'status', 'status_changed_on', 'created_on', 'withdrawn_on', 'junk_on'])
    .where('id', '=', id)
    .where(pastDue(policy))
    .where(notHeld)
    .forUpdate()
    .skipLocked()
    .executeTakeFirst()
  if (row === undefined) return null
  const due = destructionDue({ kind: row.kind, status: row.status, statusChangedOn: row.status_changed_on, createdOn: row.created_on, withdrawnOn: row.withdrawn_on, junkOn: row.junk_on }, policy)
  if (due === null) return null
  await trx.deleteFrom('cases').where('id', '=', id).execute()
  await recordAudit(trx, { actor: { type: 'system' }, action: `retention.${due.rule}_destroyed`, object: { type: 'case', id } })
  return due.rule
}

function packagePastDue(policy: RetentionPolicy) {
  return sql<boolean>`referrals.envelope IS NOT NULL
    AND referrals.status IN (${sql.join(FINAL_REFERRAL_STATES.map((state) => sql.lit(state)))})
    AND referrals.status_changed_at + make_interval(days => ${policy.referralPackageDays}::int) <= now()`
}

async function duePackages(trx: Transaction<Schema>, policy: RetentionPolicy, limit: number): Promise<string[]> {
  const rows = await trx.selectFrom('referrals').select('id').where(packagePastDue(policy)).orderBy('id').limit(limit).execute()
  return rows.map((row) => row.id)
}

async function destroyPackage(trx: Transaction<Schema>, vault: CaseVault, policy: RetentionPolicy, id: string): Promise<boolean> {
  const row = await trx
    .selectFrom('referrals')
    .innerJoin('referral_keys', 'referral_keys.referral_id', 'referrals.id')
    .select(['referrals.id', 'referral_keys.wrapped'])
    .where('referrals.id', '=', id)
    .where(packagePastDue(policy))
    .forUpdate('referrals')
    .skipLocked()
    .executeTakeFirst()
  if (row === undefined) return false
  await removeReferralContent(trx, vault, row)
  await recordAudit(trx, { actor: { type: 'system' }, action: 'retention.referral_package_destroyed', object: { type: 'referral', id } })
  return true
}
