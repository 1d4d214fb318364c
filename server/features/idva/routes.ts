import { addDays, destructionDue, HOLD_REASONS, type HoldReason } from '../../../rules/retention.ts'
import { dueSoon } from '../../retention/job.ts'
import { sql } from 'kysely'
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import { messageContext, recordContext, RECORD_ENVELOPE_KIND, RECORD_KINDS } from '../../../crypto/index.ts'
import { UUID } from '../../../crypto/thread.ts'
import { recordAudit } from '../../audit/audit.ts'
import type { CaseKind, CaseStatus, RecordKind, RiskLevel } from '../../db/schema.ts'
import { HttpError } from '../../errors.ts'
import { IDVA_ROLES } from '../../plugins/staff-auth.ts'
import type { RoutingChoices } from '../../../views/pages/staff/referrals.tsx'
import { caseReference, CasePage, QueuePage, QueueResults, StatusPanel, STATUS_NAMES, type CaseSummary, type JunkNotice, type QueueItem, type QueueView } from '../../../views/pages/staff/cases.tsx'
import { WaitingBadge } from '../../../views/staff/layout.tsx'
import { caseThread, findCase, insertMessage, insertRecord, serviceKeyChain } from '../cases/repository.ts'
import { evidenceDownload, sendEvidence } from '../cases/evidence-download.ts'
import { trustedServiceKeys } from '../cases/intake.ts'
import { findGroup, IDVA_SERVICE_ID } from '../staff/repository.ts'
import { body, bytes, integer, object, text } from '../../http/input.ts'
import { staffView } from '../staff/view-context.ts'
import { overdueCutoffs, responseClock } from '../../../rules/working-days.ts'
import { checkServiceEnvelope } from './incoming.ts'
import { caseloads, caseRecords, identifierEntries, junkState, lockCase, lockCasesForJunk, nextRecordSeq, queueCounts, queuePage, setJunk, today, unindexedCases, urgentWaiting, waitingCount, type QueueQuery, type QueueRow, type RiskFilter, type StatusFilter } from './repository.ts'

/**
 * The IDVA workspace on the server: the queue, the case page, and storing what IDVAs' browsers
 * write (replies, triage, notes, consent, index entries). Only IDVAs and IDVA leads may use any of
 * it. The server hands out envelopes and stores envelopes; it checks their form, signature and
 * recipients, never their content, and records every opening, decryption report and change in
 * the audit log.
 */

const PAGE_SIZE = 25
/** At most this many urgent cases are listed above the queue (the filters reach the rest). */
const URGENT_SHOWN = 20
const DAY = /^\d{4}-\d{2}-\d{2}$/
const STATUSES: readonly CaseStatus[] = ['new', 'in_contact', 'support_ongoing', 'referred', 'closed']
const STATUS_FILTERS: readonly StatusFilter[] = ['open', 'all', ...STATUSES, 'junk']
const RISK_FILTERS: readonly RiskFilter[] = ['any', 'none', 'standard', 'medium', 'high']
const RISK_LEVELS: readonly RiskLevel[] = ['standard', 'medium', 'high']
const NO_SUCH_CASE = 'There is no such case. It may have been withdrawn by the person who sent it, which deletes it.'
const ACCESS = { access: { roles: IDVA_ROLES } }
/** Cases due for destruction shown above the queue. */
const DUE_SHOWN = 20

type Params = { caseId: string }

function oneOf<T extends string>(value: unknown, allowed: readonly T[], fallback: T, what: string): T {
  if (value === undefined || value === '') return fallback
  if (typeof value !== 'string' || !allowed.includes(value as T)) throw new HttpError(400, `That ${what} filter is not one the queue knows.`)
  return value as T
}

/** A real calendar day as YYYY-MM-DD (2026-13-40 is not one). */
function isDay(value: string): boolean {
  const ms = Date.parse(`${value}T00:00:00Z`)
  return DAY.test(value) && !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 10) === value
}

function caseIdOf(request: FastifyRequest): string {
  const caseId = (request.params as Params).caseId
  if (!UUID.test(caseId)) throw new HttpError(404, NO_SUCH_CASE)
  return caseId
}

type Filters = QueueView['filters'] & { readonly status: StatusFilter; readonly risk: RiskFilter; readonly kind: CaseKind | 'any' }

/** The queue's filters, from the query string (or a junk form's hidden fields, to come back to the same view). */
function filtersOf(input: Record<string, unknown>): Filters {
  return {
    status: oneOf(input.status, STATUS_FILTERS, 'open', 'status'),
    risk: oneOf(input.risk, RISK_FILTERS, 'any', 'risk'),
    kind: oneOf<CaseKind | 'any'>(input.kind, ['any', 'disclosure', 'consultation'], 'any', 'kind'),
    overdue: input.overdue === '1',
    owner: oneOf<'any' | 'me' | 'nobody'>(input.owner, ['any', 'me', 'nobody'], 'any', 'owner'),
  }
}

function filterQuery(filters: Filters): Record<string, string> {
  return { status: filters.status, risk: filters.risk, kind: filters.kind, owner: filters.owner, ...(filters.overdue ? { overdue: '1' } : {}) }
}

/** Case ids in a link the queue made after marking or putting back junk (comma-separated, a page at most). */
function idList(value: unknown): string[] {
  if (value === undefined || value === '') return []
  const ids = typeof value === 'string' ? value.split(',') : []
  if (ids.length === 0 || ids.length > PAGE_SIZE || !ids.every((id) => UUID.test(id))) throw new HttpError(400, 'That link is not one the queue made. Go back to the first page of the queue.')
  return ids
}

/**
 * The cases a junk form names: the ticked boxes (`case`, once or many times), or the one row whose
 * "Not junk" was pressed (`only`). At most a page of them, so that one request's transaction and
 * audit lines stay small; beyond it, nothing is changed.
 */
function chosenCases(input: Record<string, unknown>): string[] {
  const given: unknown[] = input.only !== undefined && input.only !== '' ? [input.only] : input.case === undefined ? [] : [input.case].flat()
  if (given.length === 0) throw new HttpError(400, 'Choose at least one case first: tick the box beside it. Nothing was changed.')
  if (given.length > PAGE_SIZE) throw new HttpError(400, `At most ${PAGE_SIZE} cases can be marked or put back at once, and ${given.length} were chosen. Nothing was changed: choose fewer, a page at a time.`)
  if (!given.every((id) => typeof id === 'string' && UUID.test(id))) throw new HttpError(400, 'One of the chosen cases is not a case the queue knows. Nothing was changed: reload the queue and choose again.')
  return [...new Set(given as string[])]
}

const SOME_CASES_GONE = 'One or more of the chosen cases is no longer here (the person may have withdrawn, which deletes it). Nothing was changed: reload the queue and choose again.'
const WITHDRAWN_NOT_JUNK = 'The person withdrew from a chosen case, and the service kept its record on purpose, so it cannot be marked as junk. Nothing was changed.'

/** The refusal when chosen cases have been answered, assessed or referred. */
function actedOnNotJunk(actedOn: number, chosen: number): string {
  const which = chosen === 1 ? 'This case has' : actedOn === 1 ? 'One of the chosen cases has' : `${actedOn} of the chosen cases have`
  return `${which} been answered, assessed or referred by the service, so it is not marked as junk: close it instead when the work is done. Nothing was changed.`
}

const RULE = /^R([1-9]|1[0-2])$/

/**
 * What the audit log keeps of a routing record, sent beside its envelope: the policy version and
 * the rule ids per track ("met-2026-11|criminal:R2,R3,R4|misconduct:R6|iopc:"), and which tracks
 * were overridden. The reasons and the facts stay in the envelope.
 */
function routingAudit(input: Record<string, unknown>, policyVersion: string): { summary: string; overridden: ('criminal' | 'misconduct')[] } {
  const given = object(input, 'routing')
  if (given.policyVersion !== policyVersion) throw new HttpError(409, 'The routing policy has changed since this page was loaded. Reload the case and work out the route again.')
  const rules = (field: string) => {
    const value = given[field]
    if (!Array.isArray(value) || value.length > 12 || !value.every((rule) => typeof rule === 'string' && RULE.test(rule))) throw new HttpError(400, `routing.${field} must be a list of rule ids (R1 to R12).`)
    return value as string[]
  }
  const overridden = given.overridden
  if (!Array.isArray(overridden) || overridden.length > 2 || !overridden.every((track) => track === 'criminal' || track === 'misconduct') || new Set(overridden).size !== overridden.length) {
    throw new HttpError(400, 'routing.overridden must list the overridden tracks.')
  }
  return { summary: `${policyVersion}|criminal:${rules('criminal').join(',')}|misconduct:${rules('misconduct').join(',')}|iopc:${rules('iopc').join(',')}`, overridden: overridden as ('criminal' | 'misconduct')[] }
}

const idvaRoutes: FastifyPluginAsync = async (app) => {
  const db = app.database.db
  const targets: Record<CaseKind, number> = { disclosure: app.config.firstReplyTargetDays, consultation: app.config.consultationReplyTargetDays }

  /** The case, or a 404 that says it may have been withdrawn. */
  const WITHDRAWN = 'The person withdrew from the portal, so nothing can reach them here any more. The service\'s record of the case is kept.'

  async function existingCase(caseId: string) {
    const found = await findCase(db, app.vault, caseId)
    if (found === undefined) throw new HttpError(404, NO_SUCH_CASE)
    return found
  }

  async function clockFor(row: { kind: CaseKind; createdOn: string; firstReplyOn: string | null; status: CaseStatus; withdrawnOn: string | null }, day: string) {
    const clock = responseClock({ createdOn: row.createdOn, firstReplyOn: row.firstReplyOn, closed: row.status === 'closed' || row.withdrawnOn !== null, targetDays: targets[row.kind], today: day, holidays: app.bankHoliday })
    return { state: clock.state, text: clock.text }
  }

  app.get('/staff/cases', { config: ACCESS }, async (request, reply) => {
    const input = request.query as Record<string, unknown>
    const filters = filtersOf(input)
    const { status, risk, kind } = filters
    const overdueOnly = filters.overdue
    const ownerFilter = filters.owner
    const owner: QueueQuery['owner'] = ownerFilter === 'me' ? { is: 'account', accountId: request.staff!.accountId } : { is: ownerFilter }
    let after: QueueQuery['after'] = null
    if (typeof input.after === 'string' && input.after !== '') {
      const [createdOn, id] = input.after.split('_')
      if (createdOn === undefined || !isDay(createdOn) || id === undefined || !UUID.test(id)) throw new HttpError(400, 'That page of the queue does not exist. Go back to the first page.')
      after = { createdOn, id }
    }
    const day = await today(db)
    const cutoffs = overdueCutoffs(day, targets, app.bankHoliday)
    const page = await queuePage(db, { status, risk, kind, overdueOnly, owner, overdueCutoffs: cutoffs, after, limit: PAGE_SIZE })
    const last = page.rows.at(-1)
    const fragment = request.headers['hx-request'] === 'true'
    const loads = fragment ? [] : await caseloads(db, IDVA_SERVICE_ID)
    const names = new Map((fragment ? await caseloads(db, IDVA_SERVICE_ID) : loads).map((row) => [row.accountId, row.username]))
    const itemOf = async (row: QueueRow): Promise<QueueItem> => ({
      id: row.id,
      reference: caseReference(row.id),
      kind: row.kind,
      status: row.status,
      riskLevel: row.riskLevel,
      createdOn: row.createdOn,
      lastActivityOn: row.lastActivityOn,
      messageCount: row.messageCount,
      evidenceCount: row.evidenceCount,
      withdrawnOn: row.withdrawnOn,
      urgency: row.urgency,
      owner: row.ownerId === null ? null : (names.get(row.ownerId) ?? 'a former member'),
      ownedByMe: row.ownerId === request.staff!.accountId,
      clock: await clockFor(row, day),
      junk: junkOf(row.junkOn),
      actedOn: row.firstReplyOn !== null || row.riskLevel !== null,
    })
    const queue: QueueView = {
      items: await Promise.all(page.rows.map(itemOf)),
      filters,
      nextPage: page.more && last !== undefined ? new URLSearchParams({ ...filterQuery(filters), after: `${last.createdOn}_${last.id}` }).toString() : null,
      isFirstPage: after === null,
      counts: fragment ? { new: 0, overdue: 0 } : await queueCounts(db, cutoffs),
      targets,
      urgent: fragment ? [] : await Promise.all((await urgentWaiting(db, URGENT_SHOWN)).map(itemOf)),
      caseloads: loads.map((row) => ({ username: row.username, open: row.open, me: row.accountId === request.staff!.accountId })),
      dueSoon: fragment ? { rows: [], more: false, withinDays: retention.warningDays } : { ...(await dueSoon(db, retention, DUE_SHOWN)), withinDays: retention.warningDays },
      junkDays: retention.junkDays,
      batchSize: PAGE_SIZE,
      notice: fragment ? null : await junkNoticeOf(input),
    }
    if (fragment) return reply.html(QueueResults({ queue, csrfToken: request.staff!.csrfToken }))
    return reply.html(QueuePage({ view: staffView(app, request), queue }))
  })

  function junkOf(junkOn: string | null): QueueItem['junk'] {
    return junkOn === null ? null : { markedOn: junkOn, destroyedOn: addDays(junkOn, retention.junkDays) }
  }

  /**
   * After a bulk mark (?marked=) or putting back (?restored=), the queue says how many: only of the
   * cases named that are in that state now, so a link cannot make it say what did not happen.
   */
  async function junkNoticeOf(input: Record<string, unknown>): Promise<JunkNotice | null> {
    const marked = idList(input.marked)
    if (marked.length > 0) {
      const { junk } = await junkState(db, marked)
      if (junk.length > 0) return { kind: 'marked', ids: junk }
    }
    const restored = idList(input.restored)
    if (restored.length > 0) {
      const { notJunk } = await junkState(db, restored)
      if (notJunk.length > 0) return { kind: 'restored', count: notJunk.length }
    }
    return null
  }

  /**
   * Marks these cases as junk, or puts them back, all or none in one transaction, each change
   * audited per case under the member's account. A case already so is left as it was (a form sent
   * twice changes nothing the second time). Returns the ids that changed.
   */
  async function changeJunk(ids: readonly string[], junk: boolean, accountId: string): Promise<string[]> {
    return db.transaction().execute(async (trx) => {
      const rows = await lockCasesForJunk(trx, ids)
      if (rows.length !== ids.length) throw new HttpError(404, ids.length === 1 ? NO_SUCH_CASE : SOME_CASES_GONE)
      if (junk && rows.some((row) => row.withdrawn_on !== null)) throw new HttpError(409, WITHDRAWN_NOT_JUNK)
      // Junk is for what nobody has acted on: a case the service answered, assessed or referred is
      // a case, and marking it would send it, referrals and all, to destruction in RETENTION_JUNK_DAYS.
      const actedOn = rows.filter((row) => row.junk_on === null && (row.first_reply_on !== null || row.risk_level !== null || row.marac_referred || row.referred)).length
      if (junk && actedOn > 0) throw new HttpError(409, actedOnNotJunk(actedOn, rows.length))
      const changing = rows.filter((row) => (row.junk_on !== null) !== junk).map((row) => row.id)
      await setJunk(trx, changing, junk ? 'today' : null)
      for (const id of changing) await recordAudit(trx, { actor: { type: 'staff', id: accountId }, action: junk ? 'case.marked_junk' : 'case.junk_undone', object: { type: 'case', id } })
      return changing
    })
  }

  /** Ticked cases marked as junk at once (a page at most); back to the same view, saying how many, with an undo. */
  app.post('/staff/cases/junk', { config: ACCESS }, async (request, reply) => {
    const input = body(request.body)
    const filters = filtersOf(input)
    const marked = await changeJunk(chosenCases(input), true, request.staff!.accountId)
    return reply.redirect(`/staff/cases?${new URLSearchParams({ ...filterQuery(filters), ...(marked.length === 0 ? {} : { marked: marked.join(',') }) })}`, 303)
  })

  /** Ticked cases (or the one whose "Not junk" was pressed) put back in the queue. */
  app.post('/staff/cases/not-junk', { config: ACCESS }, async (request, reply) => {
    const input = body(request.body)
    const filters = filtersOf(input)
    const restored = await changeJunk(chosenCases(input), false, request.staff!.accountId)
    return reply.redirect(`/staff/cases?${new URLSearchParams({ ...filterQuery(filters), ...(restored.length === 0 ? {} : { restored: restored.join(',') }) })}`, 303)
  })

  app.post('/staff/cases/:caseId/junk', { config: ACCESS }, async (request, reply) => {
    const caseId = caseIdOf(request)
    if ((await changeJunk([caseId], true, request.staff!.accountId)).length === 0) throw new HttpError(409, 'This case is already marked as junk.')
    return reply.redirect(`/staff/cases/${caseId}`, 303)
  })

  app.post('/staff/cases/:caseId/not-junk', { config: ACCESS }, async (request, reply) => {
    const caseId = caseIdOf(request)
    if ((await changeJunk([caseId], false, request.staff!.accountId)).length === 0) throw new HttpError(409, 'This case is not marked as junk.')
    return reply.redirect(`/staff/cases/${caseId}`, 303)
  })

  async function summaryOf(caseId: string, accountId: string): Promise<CaseSummary> {
    const found = await existingCase(caseId)
    const day = await today(db)
    const owner = found.owner_id === null ? null : ((await db.selectFrom('accounts').select('username').where('id', '=', found.owner_id).executeTakeFirst())?.username ?? 'a former member')
    return {
      id: found.id,
      reference: caseReference(found.id),
      kind: found.kind,
      status: found.status,
      riskLevel: found.risk_level,
      createdOn: found.created_on,
      lastActivityOn: found.last_activity_on,
      firstReplyOn: found.first_reply_on,
      triagedOn: found.triaged_on,
      statusChangedOn: found.status_changed_on,
      messageCount: found.message_count,
      evidenceCount: found.evidence_count,
      withdrawnOn: found.withdrawn_on,
      urgency: found.urgency,
      owner,
      ownedByMe: found.owner_id === accountId,
      clock: await clockFor({ kind: found.kind, createdOn: found.created_on, firstReplyOn: found.first_reply_on, status: found.status, withdrawnOn: found.withdrawn_on }, day),
      junk: junkOf(found.junk_on),
      actedOn: found.first_reply_on !== null || found.risk_level !== null,
      retention: await retentionOf(found, day),
    }
  }

  const retention = app.config.retention
  async function retentionOf(found: { id: string; kind: CaseKind; status: CaseStatus; status_changed_on: string | null; created_on: string; withdrawn_on: string | null; junk_on: string | null }, day: string): Promise<CaseSummary['retention']> {
    const due = destructionDue({ kind: found.kind, status: found.status, statusChangedOn: found.status_changed_on, createdOn: found.created_on, withdrawnOn: found.withdrawn_on, junkOn: found.junk_on }, retention)
    const hold = await db
      .selectFrom('retention_holds')
      .leftJoin('accounts', 'accounts.id', 'retention_holds.placed_by')
      .select(['retention_holds.reason', 'retention_holds.placed_on', 'accounts.username'])
      .where('retention_holds.case_id', '=', found.id)
      .executeTakeFirst()
    return {
      due,
      soon: due !== null && due.on <= addDays(day, retention.warningDays),
      hold: hold === undefined ? null : { reason: hold.reason, placedOn: hold.placed_on, placedBy: hold.username ?? 'a former member' },
      junkDays: retention.junkDays,
    }
  }

  /** The IDVA lead holds a case past its retention day, with one of the listed reasons; audited. */
  app.post('/staff/cases/:caseId/hold', { config: { access: { roles: ['idva_lead'] } } }, async (request, reply) => {
    const caseId = caseIdOf(request)
    const reason = text(body(request.body), 'reason', { max: 40 }) as HoldReason
    if (!HOLD_REASONS.includes(reason)) throw new HttpError(400, 'Choose a reason for the hold from the list.')
    await db.transaction().execute(async (trx) => {
      const found = await lockCase(trx, caseId)
      if (found === undefined) throw new HttpError(404, NO_SUCH_CASE)
      const placed = await trx.insertInto('retention_holds').values({ case_id: caseId, reason, placed_by: request.staff!.accountId }).onConflict((conflict) => conflict.doNothing()).returning('case_id').executeTakeFirst()
      if (placed === undefined) throw new HttpError(409, 'This case is already held. Lift the hold first to give another reason.')
      await recordAudit(trx, { actor: { type: 'staff', id: request.staff!.accountId }, action: `case.retention_hold_placed.${reason}`, object: { type: 'case', id: caseId } })
    })
    return reply.redirect(`/staff/cases/${caseId}`, 303)
  })

  app.post('/staff/cases/:caseId/hold/lift', { config: { access: { roles: ['idva_lead'] } } }, async (request, reply) => {
    const caseId = caseIdOf(request)
    await db.transaction().execute(async (trx) => {
      const found = await lockCase(trx, caseId)
      if (found === undefined) throw new HttpError(404, NO_SUCH_CASE)
      const lifted = await trx.deleteFrom('retention_holds').where('case_id', '=', caseId).returning('case_id').executeTakeFirst()
      if (lifted === undefined) throw new HttpError(409, 'This case is not held.')
      await recordAudit(trx, { actor: { type: 'staff', id: request.staff!.accountId }, action: 'case.retention_hold_lifted', object: { type: 'case', id: caseId } })
    })
    return reply.redirect(`/staff/cases/${caseId}`, 303)
  })

  // The routing step's lists come from the policy (the engine itself runs in the IDVA's browser).
  const policy = app.routingPolicy
  const routingChoices: Omit<RoutingChoices, 'serviceName'> = {
    boroughs: Object.values(policy.commandUnits).flat().sort((a, b) => a.localeCompare(b)),
    ranks: [...policy.ranks],
    staffGrades: [...(policy.staffGrades ?? [])],
    forces: [policy.force, ...policy.partnerForces].map((force) => [force, policy.names?.forces?.[force] ?? force] as const),
    departments: policy.conflictedDepartments.map((department) => [department, policy.names?.departments?.[department] ?? department] as const),
  }

  app.get('/staff/cases/:caseId', { config: ACCESS }, async (request, reply) =>
    reply.html(CasePage({ view: staffView(app, request), summary: await summaryOf(caseIdOf(request), request.staff!.accountId), owners: await caseloads(db, IDVA_SERVICE_ID), routing: { ...routingChoices, serviceName: (await findGroup(db, IDVA_SERVICE_ID))?.name ?? 'The IDVA service' } })),
  )

  /** Everything the IDVA's browser decrypts: envelopes, with the public keys to check them. */
  app.get('/staff/cases/:caseId/content', { config: ACCESS }, async (request, reply) => {
    const caseId = caseIdOf(request)
    const found = await existingCase(caseId)
    const messages = await caseThread(db, found.dataKey, caseId)
    const records = await caseRecords(db, found.dataKey, caseId)
    await recordAudit(db, { actor: { type: 'staff', id: request.staff!.accountId }, action: 'case.opened_by_idva', object: { type: 'case', id: caseId } })
    return reply.send({
      caseId,
      kind: found.kind,
      status: found.status,
      authPublic: found.authPublic.toString('base64url'),
      replyPublic: found.replyPublic.toString('base64url'),
      service: await serviceKeyChain(db),
      messages: messages.map((message) => ({ id: message.id, seq: message.seq, author: message.author, kind: message.kind, createdOn: message.created_on, envelope: message.envelope.toString('base64url'), evidence: message.evidence })),
      records: records.map((record) => ({ id: record.id, kind: record.kind, seq: record.seq, createdOn: record.created_on, envelope: record.envelope.toString('base64url') })),
    })
  })

  /** The browser reports what it decrypted: the audit log records it (never what it said). */
  app.post('/staff/cases/:caseId/decrypted', { config: ACCESS }, async (request, reply) => {
    const caseId = caseIdOf(request)
    const input = body(request.body)
    const opened = integer(input, 'opened', 0, 100_000)
    const failed = integer(input, 'failed', 0, 100_000)
    await existingCase(caseId)
    const actor = { type: 'staff' as const, id: request.staff!.accountId }
    await db.transaction().execute(async (trx) => {
      if (opened > 0) await recordAudit(trx, { actor, action: 'case.decrypted_by_idva', object: { type: 'case', id: caseId } })
      if (failed > 0) await recordAudit(trx, { actor, action: 'case.decryption_failed', object: { type: 'case', id: caseId } })
    })
    return reply.code(204).send()
  })

  app.get('/staff/cases/:caseId/evidence/:fileId', { config: ACCESS }, async (request, reply) => {
    const caseId = caseIdOf(request)
    const fileId = (request.params as { fileId: string }).fileId
    if (!UUID.test(fileId)) throw new HttpError(404, 'That file is not part of this case.')
    const found = await existingCase(caseId)
    const file = await evidenceDownload(db, found.dataKey, caseId, fileId)
    if (file === null) throw new HttpError(404, 'That file is not part of this case.')
    await recordAudit(db, { actor: { type: 'staff', id: request.staff!.accountId }, action: 'case.evidence_fetched_by_idva', object: { type: 'evidence', id: fileId } })
    return sendEvidence(reply, file)
  })

  /**
   * Who owns the case: "me", another IDVA of the service (by account id), or nobody. Each change is
   * audited; an account that is not an active IDVA of the service is refused.
   */
  app.post('/staff/cases/:caseId/owner', { config: ACCESS }, async (request, reply) => {
    const caseId = caseIdOf(request)
    const me = request.staff!.accountId
    const chosen = text(body(request.body), 'owner', { max: 64 })
    const ownerId = chosen === 'me' ? me : chosen === 'nobody' ? null : chosen
    if (ownerId !== null && !(await caseloads(db, IDVA_SERVICE_ID)).some((row) => row.accountId === ownerId)) {
      throw new HttpError(400, 'Choose an IDVA of the service from the list, or nobody.')
    }
    await db.transaction().execute(async (trx) => {
      const found = await lockCase(trx, caseId)
      if (found === undefined) throw new HttpError(404, NO_SUCH_CASE)
      await trx.updateTable('cases').set({ owner_id: ownerId }).where('id', '=', caseId).execute()
      await recordAudit(trx, { actor: { type: 'staff', id: me }, action: ownerId === null ? 'case.owner_removed' : 'case.owner_assigned', object: { type: 'case', id: caseId } })
      if (ownerId !== null) await recordAudit(trx, { actor: { type: 'staff', id: me }, action: 'case.owner_is', object: { type: 'account', id: ownerId } })
    })
    return reply.redirect(`/staff/cases/${caseId}`, 303)
  })

  /** The count on every IDVA page: cases waiting for the service (new, or the person wrote last). Polled by htmx. */
  app.get('/staff/alerts', { config: ACCESS }, async (_request, reply) => reply.html(WaitingBadge({ waiting: await waitingCount(db) })))

  app.post('/staff/cases/:caseId/status', { config: ACCESS }, async (request, reply) => {
    const caseId = caseIdOf(request)
    const status = text(body(request.body), 'status', { max: 20 }) as CaseStatus
    if (!STATUSES.includes(status) || status === 'new') throw new HttpError(400, 'Choose a status from the list: in contact, support ongoing, referred or closed.')
    await db.transaction().execute(async (trx) => {
      const found = await lockCase(trx, caseId)
      if (found === undefined) throw new HttpError(404, NO_SUCH_CASE)
      if (found.status === status) throw new HttpError(409, `The case is already "${STATUS_NAMES[status]}".`)
      await trx.updateTable('cases').set({ status, status_changed_on: await today(trx) }).where('id', '=', caseId).execute()
      await recordAudit(trx, { actor: { type: 'staff', id: request.staff!.accountId }, action: 'case.status_changed', object: { type: 'case', id: caseId } })
    })
    const summary = await summaryOf(caseId, request.staff!.accountId)
    if (request.headers['hx-request'] === 'true') return reply.html(StatusPanel({ summary, csrfToken: request.staff!.csrfToken, message: `Status changed to "${STATUS_NAMES[status]}".` }))
    return reply.redirect(`/staff/cases/${caseId}`, 303)
  })

  /** The status panel alone: the case page asks for it again after a reply (a first reply moves "new" to "in contact"). */
  app.get('/staff/cases/:caseId/status', { config: ACCESS }, async (request, reply) => {
    return reply.html(StatusPanel({ summary: await summaryOf(caseIdOf(request), request.staff!.accountId), csrfToken: request.staff!.csrfToken }))
  })

  /** The service's current keys (checked against the pin), which what a browser sends must be sealed to and signed with. */
  async function serviceKeys() {
    const keys = await trustedServiceKeys(app)
    return { x25519: Buffer.from(keys.current.encryption), ed25519: Buffer.from(keys.current.signing), previousEd25519: keys.signing.slice(0, -1) }
  }

  /** A reply to the reporter: sealed to their reply key and the service, signed by the service. */
  app.post('/staff/cases/:caseId/replies', { bodyLimit: 1_200_000, config: ACCESS }, async (request, reply) => {
    const caseId = caseIdOf(request)
    const input = body(request.body)
    const messageId = text(input, 'messageId', { min: 36, max: 36, pattern: UUID })
    const seq = integer(input, 'seq', 1, 1_000_000)
    const envelope = bytes(input, 'envelope', { max: 1_100_000 })
    const found = await existingCase(caseId)
    if (found.withdrawn_on !== null) throw new HttpError(409, WITHDRAWN)
    const paddedSize = await checkServiceEnvelope(envelope, { kind: 'idva_reply', caseId, context: messageContext(seq, messageId), service: await serviceKeys(), alsoTo: [found.replyPublic] })
    await db.transaction().execute(async (trx) => {
      const locked = await lockCase(trx, caseId)
      if (locked === undefined) throw new HttpError(404, NO_SUCH_CASE)
      if (locked.status === 'closed') throw new HttpError(409, 'This case is closed. Change its status to reopen it before replying.')
      const last = await trx.selectFrom('case_messages').select((eb) => eb.fn.max('seq').as('seq')).where('case_id', '=', caseId).executeTakeFirst()
      if (seq !== (last?.seq ?? 0) + 1) throw new HttpError(409, 'A new message arrived in this case while you were writing. Your reply was not sent: read the new message, then send it again.')
      if ((await trx.selectFrom('case_messages').select('id').where('id', '=', messageId).executeTakeFirst()) !== undefined) throw new HttpError(409, 'This reply has already been sent.')
      const day = await today(trx)
      await insertMessage(trx, found.dataKey, { id: messageId, caseId, seq, author: 'idva', kind: 'idva_reply', envelope, paddedSize })
      await trx
        .updateTable('cases')
        .set((eb) => ({
          message_count: eb('message_count', '+', 1),
          last_activity_on: day,
          awaiting_reply: false,
          first_reply_on: locked.first_reply_on ?? day,
          ...(locked.status === 'new' ? { status: 'in_contact' as const, status_changed_on: day } : {}),
        }))
        .where('id', '=', caseId)
        .execute()
      await recordAudit(trx, { actor: { type: 'staff', id: request.staff!.accountId }, action: 'case.idva_replied', object: { type: 'message', id: messageId } })
      if (locked.status === 'new') await recordAudit(trx, { actor: { type: 'staff', id: request.staff!.accountId }, action: 'case.status_changed', object: { type: 'case', id: caseId } })
    })
    return reply.code(201).send({ seq })
  })

  const RECORD_AUDIT: Record<RecordKind, string> = { triage: 'case.triaged', note: 'case.note_added', consent: 'case.consent_recorded', identifiers: 'case.identifiers_indexed', routing: 'case.routing_computed' }

  /** Triage, a note, a consent version or an index entry: a new record, never a changed one. */
  app.post('/staff/cases/:caseId/records', { bodyLimit: 400_000, config: ACCESS }, async (request, reply) => {
    const caseId = caseIdOf(request)
    const input = body(request.body)
    const kind = text(input, 'kind', { max: 20 }) as RecordKind
    if (!RECORD_KINDS.includes(kind)) throw new HttpError(400, 'kind must be triage, note, consent, identifiers or routing.')
    const recordId = text(input, 'recordId', { min: 36, max: 36, pattern: UUID })
    const seq = integer(input, 'seq', 1, 1_000_000)
    const envelope = bytes(input, 'envelope', { max: 300_000 })
    let riskLevel: RiskLevel | null = null
    // Beside the level (in clear already): whether the checklist refers the case to a MARAC, so that
    // a withdrawal knows the service must keep a minimal record (server/features/cases/withdrawal.ts).
    let maracReferred = false
    if (kind === 'triage') {
      riskLevel = text(input, 'riskLevel', { max: 10 }) as RiskLevel
      if (!RISK_LEVELS.includes(riskLevel)) throw new HttpError(400, 'riskLevel must be standard, medium or high.')
      if (input.maracReferred !== undefined && typeof input.maracReferred !== 'boolean') throw new HttpError(400, 'maracReferred must be true or false.')
      maracReferred = input.maracReferred === true
    }
    const routing = kind === 'routing' ? routingAudit(input, app.routingPolicy.version) : null
    const found = await existingCase(caseId)
    if (found.kind === 'consultation' && kind !== 'note') throw new HttpError(400, 'A line manager\'s consultation names nobody, so it has no risk checklist, consent, routing or index entry: only notes and replies.')
    const paddedSize = await checkServiceEnvelope(envelope, { kind: RECORD_ENVELOPE_KIND[kind], caseId, context: recordContext(kind, seq, recordId), service: await serviceKeys(), alsoTo: [] })
    await db.transaction().execute(async (trx) => {
      if ((await lockCase(trx, caseId)) === undefined) throw new HttpError(404, NO_SUCH_CASE)
      if (seq !== (await nextRecordSeq(trx, caseId, kind))) throw new HttpError(409, 'A colleague saved a new version while you were writing. Reload the case to see it, then save yours again.')
      if ((await trx.selectFrom('case_records').select('id').where('id', '=', recordId).executeTakeFirst()) !== undefined) throw new HttpError(409, 'This has already been saved.')
      await insertRecord(trx, found.dataKey, { id: recordId, caseId, kind, seq, envelope, paddedSize })
      // A MARAC referral once made stays made, whatever a later checklist says.
      if (riskLevel !== null) await trx.updateTable('cases').set({ risk_level: riskLevel, marac_referred: sql<boolean>`marac_referred OR ${maracReferred}`, triaged_on: await today(trx) }).where('id', '=', caseId).execute()
      await recordAudit(trx, { actor: { type: 'staff', id: request.staff!.accountId }, action: RECORD_AUDIT[kind], object: { type: 'case', id: caseId } })
      if (routing !== null) {
        // The policy version and the rules that fired (never the facts or the reasons), and each override.
        await recordAudit(trx, { actor: { type: 'staff', id: request.staff!.accountId }, action: 'case.routing_decision', object: { type: 'routing', id: routing.summary } })
        for (const track of routing.overridden) await recordAudit(trx, { actor: { type: 'staff', id: request.staff!.accountId }, action: 'case.routing_overridden', object: { type: 'track', id: track } })
      }
    })
    return reply.code(201).send({ seq })
  })

  /** The repeat-perpetrator index: envelopes only, a page at a time; a match is made in the browser. */
  app.get('/staff/identifiers', { config: ACCESS }, async (request, reply) => {
    const after = (request.query as { after?: unknown }).after
    if (after !== undefined && (typeof after !== 'string' || !UUID.test(after))) throw new HttpError(400, 'after must be a case id.')
    const page = await identifierEntries(db, app.vault, after ?? null)
    await recordAudit(db, { actor: { type: 'staff', id: request.staff!.accountId }, action: 'cases.index_page_read', object: { type: 'index', id: after ?? 'first' } })
    return reply.send({
      entries: page.rows.map((row) => ({ caseId: row.case_id, recordId: row.id, seq: row.seq, envelope: row.envelope.toString('base64url') })),
      more: page.more,
    })
  })

  /** Cases no browser has indexed yet, with their first message, for this browser to index. */
  app.get('/staff/identifiers/unindexed', { config: ACCESS }, async (request, reply) => {
    const rows = await unindexedCases(db, app.vault)
    // Each first message handed out here will be decrypted in the IDVA's browser: an opening.
    await db.transaction().execute(async (trx) => {
      for (const row of rows) await recordAudit(trx, { actor: { type: 'staff', id: request.staff!.accountId }, action: 'case.opened_for_index', object: { type: 'case', id: row.caseId } })
    })
    return reply.send({ cases: rows.map((row) => ({ caseId: row.caseId, messageId: row.messageId, kind: row.messageKind, authPublic: row.authPublic.toString('base64url'), envelope: row.envelope.toString('base64url') })) })
  })

  /** The browser compared this case with the index: the audit log records that it did. */
  app.post('/staff/cases/:caseId/compared', { config: ACCESS }, async (request, reply) => {
    const caseId = caseIdOf(request)
    await existingCase(caseId)
    await recordAudit(db, { actor: { type: 'staff', id: request.staff!.accountId }, action: 'case.compared_with_index', object: { type: 'case', id: caseId } })
    return reply.code(204).send()
  })
}

export default idvaRoutes
