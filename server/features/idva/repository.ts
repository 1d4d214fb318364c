import { sql, type Kysely, type Selectable, type Transaction } from 'kysely'
import type { CaseKind, CasesTable, CaseStatus, RecordKind, RiskLevel, Schema } from '../../db/schema.ts'
import type { Urgency } from '../../../rules/enums.ts'
import type { CaseVault } from '../../security/case-vault.ts'
import { COUNT_CAP } from '../../../rules/queue.ts'
import { caseKeys, findCase, openMessage, openRecord } from '../cases/repository.ts'

/** SQL for the IDVA workspace. Plain functions taking the database or a transaction. */

type Db = Kysely<Schema> | Transaction<Schema>

/** 'junk': the cases marked as junk, whatever their status; every other filter leaves junk out. */
export type StatusFilter = CaseStatus | 'open' | 'all' | 'junk'
export type RiskFilter = RiskLevel | 'none' | 'any'

export interface QueueQuery {
  readonly status: StatusFilter
  readonly risk: RiskFilter
  readonly kind: CaseKind | 'any'
  readonly overdueOnly: boolean
  /** Whose cases: anyone's, the signed-in IDVA's own, or nobody's yet. */
  readonly owner: { readonly is: 'any' | 'nobody' } | { readonly is: 'account'; readonly accountId: string }
  /** Newest arrival day that is overdue today, per kind (see clock.ts overdueCutoff). */
  readonly overdueCutoffs: Readonly<Record<CaseKind, string>>
  /** Keyset paging: the last row of the previous page. */
  readonly after: { readonly createdOn: string; readonly id: string } | null
  readonly limit: number
}

export interface QueueRow {
  readonly id: string
  readonly kind: CaseKind
  readonly status: CaseStatus
  readonly riskLevel: RiskLevel | null
  readonly createdOn: string
  readonly lastActivityOn: string
  readonly firstReplyOn: string | null
  readonly messageCount: number
  readonly evidenceCount: number
  /** The person withdrew on this day and the service kept a minimal record. */
  readonly withdrawnOn: string | null
  readonly urgency: Urgency | null
  readonly ownerId: string | null
  /** The day an IDVA marked it as junk, or null. */
  readonly junkOn: string | null
}

/**
 * Past its first-response target: no reply, not closed, not junk, not withdrawn, and arrived on or before its kind's cutoff.
 * The first part is literal so that it matches the partial index cases_queue_awaiting_reply.
 */
function overdue(cutoffs: Readonly<Record<CaseKind, string>>) {
  return sql<boolean>`first_reply_on IS NULL AND status <> 'closed' AND junk_on IS NULL AND ((kind = 'disclosure' AND created_on <= ${cutoffs.disclosure}::date) OR (kind = 'consultation' AND created_on <= ${cutoffs.consultation}::date)) AND withdrawn_on IS NULL`
}

/** Not marked as junk: everything that lists or counts cases for the service says this (literal, for the partial indexes). */
const NOT_JUNK = sql<boolean>`junk_on IS NULL`

const QUEUE_COLUMNS = ['id', 'kind', 'status', 'risk_level', 'created_on', 'last_activity_on', 'first_reply_on', 'message_count', 'evidence_count', 'withdrawn_on', 'urgency', 'owner_id', 'junk_on'] as const

type QueueColumns = Pick<Selectable<CasesTable>, (typeof QUEUE_COLUMNS)[number]>

function queueRowOf(row: QueueColumns): QueueRow {
  return {
    id: row.id,
    kind: row.kind,
    status: row.status,
    riskLevel: row.risk_level,
    createdOn: row.created_on,
    lastActivityOn: row.last_activity_on,
    firstReplyOn: row.first_reply_on,
    withdrawnOn: row.withdrawn_on,
    urgency: row.urgency,
    ownerId: row.owner_id,
    junkOn: row.junk_on,
    messageCount: row.message_count,
    evidenceCount: row.evidence_count,
  }
}

/**
 * One page of the queue, oldest first, and whether there is another. Every filter is served by an
 * index in (created_on, id) order (migrations/20261201_0006_idva_workspace.ts), so a page costs
 * the same with a hundred cases or a hundred thousand. The fixed predicates are literal SQL so the
 * planner can match them to the partial indexes (which leave junk out: migration 0019). Junk is
 * listed only by its own filter.
 */
export async function queuePage(db: Db, query: QueueQuery): Promise<{ rows: QueueRow[]; more: boolean }> {
  let select = db
    .selectFrom('cases')
    .select(QUEUE_COLUMNS)
    .orderBy('created_on')
    .orderBy('id')
    .limit(query.limit + 1)
  if (query.status === 'junk') select = select.where(sql<boolean>`junk_on IS NOT NULL`)
  else select = select.where(NOT_JUNK)
  if (query.status === 'open') select = select.where(sql<boolean>`status <> 'closed'`)
  else if (query.status !== 'all' && query.status !== 'junk') select = select.where('status', '=', query.status)
  if (query.risk === 'none') select = select.where('risk_level', 'is', null)
  else if (query.risk !== 'any') select = select.where('risk_level', '=', query.risk)
  if (query.kind !== 'any') select = select.where('kind', '=', query.kind)
  if (query.overdueOnly) select = select.where(overdue(query.overdueCutoffs))
  if (query.owner.is === 'nobody') select = select.where('owner_id', 'is', null)
  else if (query.owner.is === 'account') select = select.where('owner_id', '=', query.owner.accountId)
  if (query.after !== null) {
    const { createdOn, id } = query.after
    select = select.where((eb) => eb(eb.refTuple('created_on', 'id'), '>', eb.tuple(sql<string>`${createdOn}::date`, id)))
  }
  const rows = await select.execute()
  return {
    more: rows.length > query.limit,
    rows: rows.slice(0, query.limit).map(queueRowOf),
  }
}


/** New cases and those past their first-response target (junk left out), each counted up to COUNT_CAP. */
export async function queueCounts(db: Db, cutoffs: Readonly<Record<CaseKind, string>>): Promise<{ new: number; overdue: number }> {
  const capped = async (where: ReturnType<typeof sql<boolean>>) => {
    const result = await sql<{ n: number }>`SELECT count(*)::int AS n FROM (SELECT 1 FROM cases WHERE ${where} LIMIT ${COUNT_CAP + 1}) AS capped`.execute(db)
    return Number(result.rows[0]?.n ?? 0)
  }
  return { new: await capped(sql<boolean>`status = 'new' AND junk_on IS NULL`), overdue: await capped(overdue(cutoffs)) }
}

/**
 * Open, not junk, not withdrawn, and waiting for the service (never answered, or the person wrote
 * last). The first part matches the partial index cases_awaiting_reply.
 */
const WAITING = sql<boolean>`awaiting_reply = true AND junk_on IS NULL AND status <> 'closed' AND withdrawn_on IS NULL`

/**
 * The urgent cases waiting for the service, most urgent band first, then oldest: shown above the
 * queue whatever its filters, so a case whose person said "I am in danger now" is seen first.
 */
export async function urgentWaiting(db: Db, limit: number): Promise<QueueRow[]> {
  const rows = await db
    .selectFrom('cases')
    .select(QUEUE_COLUMNS)
    .where('urgency', 'is not', null)
    .where(WAITING)
    .orderBy(sql`CASE urgency WHEN 'danger_now' THEN 0 WHEN 'children' THEN 1 ELSE 2 END`)
    .orderBy('created_on')
    .orderBy('id')
    .limit(limit)
    .execute()
  return rows.map(queueRowOf)
}

/** How many cases wait for the service (capped), for the count on every IDVA page. */
export async function waitingCount(db: Db): Promise<number> {
  const result = await sql<{ n: number }>`SELECT count(*)::int AS n FROM (SELECT 1 FROM cases WHERE ${WAITING} LIMIT ${COUNT_CAP + 1}) AS capped`.execute(db)
  return Number(result.rows[0]?.n ?? 0)
}

/** Whether anything waits for the service at all (the alert email is not sent for junk alone). */
export async function anythingWaiting(db: Db): Promise<boolean> {
  const result = await sql<{ waiting: boolean }>`SELECT EXISTS (SELECT 1 FROM cases WHERE ${WAITING}) AS waiting`.execute(db)
  return result.rows[0]?.waiting === true
}

/** Open cases per owner (junk left out), for the caseload counts (IDVAs of the service without a case show 0). */
export async function caseloads(db: Db, serviceId: string): Promise<{ accountId: string; username: string; open: number }[]> {
  const rows = await db
    .selectFrom('accounts')
    .leftJoin('cases', (join) => join.onRef('cases.owner_id', '=', 'accounts.id').on('cases.status', '<>', 'closed').on('cases.withdrawn_on', 'is', null).on('cases.junk_on', 'is', null))
    .select(['accounts.id', 'accounts.username', (eb) => eb.fn.count<number>('cases.id').as('open')])
    .where('accounts.group_id', '=', serviceId)
    .where('accounts.role', 'in', ['idva', 'idva_lead'])
    .where('accounts.status', '=', 'active')
    .groupBy(['accounts.id', 'accounts.username'])
    .orderBy('accounts.username')
    .execute()
  return rows.map((row) => ({ accountId: row.id, username: row.username, open: Number(row.open) }))
}

/** The database's own day, so every instance and the stored dates agree on what "today" is. */
export async function today(db: Db): Promise<string> {
  const row = await sql<{ today: string }>`SELECT current_date AS today`.execute(db)
  return row.rows[0]!.today
}

/** A case's IDVA-only records, oldest first within each kind, envelopes opened from their seal at rest. */
export async function caseRecords(db: Db, dataKey: Buffer, caseId: string) {
  const rows = await db.selectFrom('case_records').select(['id', 'kind', 'seq', 'envelope', 'created_on']).where('case_id', '=', caseId).orderBy('kind').orderBy('seq').execute()
  return rows.map((row) => ({ ...row, envelope: openRecord(dataKey, caseId, row.id, row.envelope) }))
}

export async function nextRecordSeq(trx: Transaction<Schema>, caseId: string, kind: RecordKind): Promise<number> {
  const last = await trx.selectFrom('case_records').select((eb) => eb.fn.max('seq').as('seq')).where('case_id', '=', caseId).where('kind', '=', kind).executeTakeFirst()
  return (last?.seq ?? 0) + 1
}

/** Locks the case row for the rest of the transaction (one writer at a time per case). */
export async function lockCase(trx: Transaction<Schema>, caseId: string) {
  return trx.selectFrom('cases').selectAll().where('id', '=', caseId).forUpdate().executeTakeFirst()
}

/**
 * Locks these cases for the rest of the transaction, in id order (so two batches never wait on each
 * other in a circle), and returns what marking them as junk needs to know. A case that is gone is
 * simply not returned.
 */
export async function lockCasesForJunk(trx: Transaction<Schema>, ids: readonly string[]) {
  if (ids.length === 0) return []
  return trx
    .selectFrom('cases')
    .select(['id', 'junk_on', 'withdrawn_on', 'first_reply_on', 'risk_level', 'marac_referred'])
    .select((eb) => eb.exists(eb.selectFrom('referrals').select('referrals.id').whereRef('referrals.case_id', '=', 'cases.id')).as('referred'))
    .where('id', 'in', [...ids])
    .orderBy('id')
    .forUpdate()
    .execute()
}

/** Marks these cases as junk today, or (null) puts them back. */
export async function setJunk(trx: Transaction<Schema>, ids: readonly string[], junk: 'today' | null): Promise<void> {
  if (ids.length === 0) return
  await trx
    .updateTable('cases')
    .set({ junk_on: junk === null ? null : sql<string>`current_date` })
    .where('id', 'in', [...ids])
    .execute()
}

/** Which of these cases are marked as junk now, and which are not (a case that is gone is in neither). */
export async function junkState(db: Db, ids: readonly string[]): Promise<{ junk: string[]; notJunk: string[] }> {
  if (ids.length === 0) return { junk: [], notJunk: [] }
  const rows = await db.selectFrom('cases').select(['id', 'junk_on']).where('id', 'in', [...ids]).orderBy('id').execute()
  return { junk: rows.filter((row) => row.junk_on !== null).map((row) => row.id), notJunk: rows.filter((row) => row.junk_on === null).map((row) => row.id) }
}

export const IDENTIFIER_PAGE = 500

/**
 * The newest repeat-perpetrator index entry of every case not marked as junk, a page at a time in case id order,
 * for an IDVA's browser to decrypt and compare. Only envelopes: a match is found in the browser.
 */
export async function identifierEntries(db: Db, vault: CaseVault, after: string | null) {
  let select = db
    .selectFrom('case_records')
    .select(['case_id', 'id', 'seq', 'envelope'])
    .distinctOn('case_id')
    .where('kind', '=', 'identifiers')
    // Junk is not compared: made-up cases naming someone must not make them look named again and again.
    .where(({ not, exists, selectFrom }) => not(exists(selectFrom('cases').select('cases.id').whereRef('cases.id', '=', 'case_records.case_id').where('cases.junk_on', 'is not', null))))
    .orderBy('case_id')
    .orderBy('seq', 'desc')
    .limit(IDENTIFIER_PAGE + 1)
  if (after !== null) select = select.where('case_id', '>', after)
  const rows = await select.execute()
  const page = rows.slice(0, IDENTIFIER_PAGE)
  const keys = await caseKeys(db, vault, page.map((row) => row.case_id))
  return {
    rows: page.flatMap((row) => {
      const key = keys.get(row.case_id)
      return key === undefined ? [] : [{ ...row, envelope: openRecord(key, row.case_id, row.id, row.envelope) }]
    }),
    more: rows.length > IDENTIFIER_PAGE,
  }
}

export const UNINDEXED_BATCH = 25

/** Disclosures with no index entry yet (oldest first, junk left out), with their first message, to be indexed. */
export async function unindexedCases(db: Db, vault: CaseVault) {
  const rows = await db
    .selectFrom('cases')
    .innerJoin('case_messages', (join) => join.onRef('case_messages.case_id', '=', 'cases.id').on('case_messages.seq', '=', 1))
    .select(['cases.id as caseId', 'case_messages.id as messageId', 'case_messages.kind as messageKind', 'case_messages.envelope'])
    .where('cases.kind', '=', 'disclosure')
    .where('cases.junk_on', 'is', null)
    .where(({ not, exists, selectFrom }) => not(exists(selectFrom('case_records').select('case_records.id').whereRef('case_records.case_id', '=', 'cases.id').where('case_records.kind', '=', 'identifiers'))))
    .orderBy('cases.created_on')
    .orderBy('cases.id')
    .limit(UNINDEXED_BATCH)
    .execute()
  const opened = await Promise.all(rows.map(async (row) => ({ row, found: await findCase(db, vault, row.caseId) })))
  return opened.flatMap(({ row, found }) =>
    found === undefined ? [] : [{ ...row, authPublic: found.authPublic, envelope: openMessage(found.dataKey, row.caseId, row.messageId, row.envelope) }],
  )
}
