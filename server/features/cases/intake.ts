import type { FastifyInstance, FastifyRequest } from 'fastify'
import { UUID } from '../../../crypto/thread.ts'
import type { CaseKind } from '../../db/schema.ts'
import { URGENCIES, type Urgency } from '../../../rules/enums.ts'
import { HttpError } from '../../errors.ts'
import { refuseCrossSite } from '../../http/cross-site.ts'
import { body, bytes, text } from '../../http/input.ts'
import { checkReporterEnvelope, FILES_NOT_RECEIVED, readMessage, readUploads } from './incoming.ts'
import { AnchorError, type VerifiedServiceKeys } from '../../security/service-anchor.ts'
import { ACCEPT_CASE_REFUSALS, findCase, openMessage, readyUploads, storeNewCase } from './repository.ts'
import { addressNetworks, normaliseAddress } from '../../plugins/rate-limit.ts'
import { CHALLENGE_BYTES } from '../../security/proof-of-work.ts'
import { NONCE_BYTES } from '../../../crypto/proof-of-work.ts'
import type { Kysely, Transaction } from 'kysely'
import type { Schema } from '../../db/schema.ts'

/**
 * A new case arriving, anonymously: a reporter's disclosure at /report, or a line manager's
 * consultation at /managers/ask. Both are the same thing to the server: an envelope sealed in the
 * browser to the IDVA service and the case's reply key, signed with the case's key, with the
 * case's public keys and lookup value; the code they come from never arrives.
 */

export const NOT_OPEN = 'The portal is not open yet, so nothing was sent. You can call the National Domestic Abuse Helpline free on 0808 2000 247 at any time.'

/** When the service's key does not match the one pinned outside the database (the browser says the same). */
export const KEY_NOT_CHECKED =
  "We could not check the IDVA service's key, so nothing was sent. Do not send anything now; see the safety page (/safety) for other ways to get help."

/**
 * The service's keys, checked now against the pin: anything sealed to a chain that does not check
 * out is refused (503), and so is everything while the portal is not open. With `checked`, the
 * chain as last checked, without reading it again (for the submission, whose write compares the
 * chain's digest with the stored rows).
 */
export async function trustedServiceKeys(app: FastifyInstance, options: { checked?: boolean } = {}): Promise<VerifiedServiceKeys> {
  try {
    const keys = options.checked === true ? await app.anchor.checkedKeys() : await app.anchor.verifiedKeys()
    if (keys === null) throw new HttpError(503, NOT_OPEN)
    return keys
  } catch (error) {
    if (error instanceof AnchorError) throw new HttpError(503, KEY_NOT_CHECKED)
    throw error
  }
}

/**
 * The fair share: new cases an hour from one address (an IPv6 /64 or an IPv4 address) and from each
 * network it is in (its /56 and /48, or its IPv4 /24), so that someone rotating through the
 * addresses of one network is held to that network's share, which is at most 5% of the global cap.
 *
 * The counters count cases stored, not attempts: they are added to by accept_case as it stores the
 * case (a refusal rolls its own count back), so a repeat, a refused envelope or a flood of attempts
 * from one address never uses up the share of its neighbours in the same network. The global cap
 * for the kind is counted the same way, last, so a burst of attempts that fail their shares cannot
 * use it up either.
 *
 * A count only grows within its hour, so once the database has refused a counter, this instance
 * remembers it as full until the hour ends (FullShares) and refuses at once, before reading or
 * checking anything: a flood after the cap costs no database work.
 */
class CaseShares {
  readonly #counters: { counter: string; secondsLeft: number; max: number; refusal: (secondsLeft: number) => HttpError }[]
  readonly #full: FullShares

  constructor(app: FastifyInstance, request: FastifyRequest, kind: CaseKind) {
    const { casesPerHour, casesPerHourPerAddress, casesPerHourPerNetwork } = app.config
    const networkMax = Math.max(casesPerHourPerAddress, Math.min(casesPerHourPerNetwork, Math.floor(casesPerHour / 20)))
    this.#counters = [
      { ...app.counterName(`${kind}-address`, normaliseAddress(request.ip), 3600), max: casesPerHourPerAddress, refusal: overShare },
      ...addressNetworks(request.ip).map((network) => ({ ...app.counterName(`${kind}-network`, network, 3600), max: networkMax, refusal: overShare })),
      // Each kind has its own hourly cap, so a burst of managers' questions cannot hold up disclosures.
      { ...app.counterName(`global:${kind === 'consultation' ? 'consultation-submit' : 'report-submit'}`, '', 3600), max: casesPerHour, refusal: overGlobalCap },
    ]
    this.#full = fullShares(app)
  }

  /** The refusal for a share already known to be full this hour, if any. */
  full(): HttpError | null {
    for (const { counter, secondsLeft, refusal } of this.#counters) if (this.#full.has(counter)) return refusal(secondsLeft)
    return null
  }

  /**
   * The counters in name order with their limits, for accept_case to count the case being stored
   * and refuse (rolling it back) if that goes over a share.
   */
  get limits(): { counters: string[]; limits: number[] } {
    const sorted = [...this.#counters].sort((a, b) => (a.counter < b.counter ? -1 : a.counter > b.counter ? 1 : 0))
    return { counters: sorted.map(({ counter }) => counter), limits: sorted.map(({ max }) => max) }
  }

  /** The refusal for a counter the database found over its share; remembered as full until its hour ends. */
  refusal(counter: string): HttpError {
    const share = this.#counters.find((candidate) => candidate.counter === counter)
    if (share === undefined) throw new Error('a share that is not counted here went over')
    this.#full.add(counter, Date.now() + share.secondsLeft * 1000)
    return share.refusal(share.secondsLeft)
  }
}

/**
 * The shares this instance has seen the database refuse, each until its hour ends: counter names
 * only (opaque HMACs), at most MAX_FULL_SHARES of them (the oldest forgotten first; forgetting one
 * only means the database is asked again).
 */
export class FullShares {
  readonly #until = new Map<string, number>()

  has(counter: string, now = Date.now()): boolean {
    const until = this.#until.get(counter)
    if (until === undefined) return false
    if (until > now) return true
    this.#until.delete(counter)
    return false
  }

  add(counter: string, until: number): void {
    this.#until.delete(counter)
    this.#until.set(counter, until)
    if (this.#until.size > MAX_FULL_SHARES) this.#until.delete(this.#until.keys().next().value!)
  }

  get size(): number {
    return this.#until.size
  }
}

export const MAX_FULL_SHARES = 10_000
const fullSharesOf = new WeakMap<FastifyInstance, FullShares>()
function fullShares(app: FastifyInstance): FullShares {
  let full = fullSharesOf.get(app)
  if (full === undefined) fullSharesOf.set(app, (full = new FullShares()))
  return full
}

function overShare(secondsLeft: number): HttpError {
  const minutes = Math.ceil(secondsLeft / 60)
  return new HttpError(
    429,
    `A lot has been sent from your connection in the last hour, so nothing was stored. Please try again in ${minutes === 1 ? 'a minute' : `${minutes} minutes`}, or from another connection. If you are in danger now, call 999.`,
    { 'retry-after': String(secondsLeft) },
  )
}

function overGlobalCap(secondsLeft: number): HttpError {
  const minutes = Math.ceil(secondsLeft / 60)
  return new HttpError(
    503,
    `The portal is receiving more than it can take at the moment, so nothing was stored. Please try again in ${minutes === 1 ? 'a minute' : `${minutes} minutes`}. If you are in danger now, call 999.`,
    { 'retry-after': String(secondsLeft) },
  )
}

/** Said when a page's puzzle has expired or did not check out: the page gets a new one and sends again by itself. */
export const PUZZLE_AGAIN = 'This page needs to get ready again before it can send. Nothing was stored. Press Send again.'

/** Checks the proof of work (crypto/proof-of-work.ts) carried in `puzzle`, bound to this case id. */
function checkPuzzle(app: FastifyInstance, input: Record<string, unknown>, caseId: string): void {
  if (app.puzzles.bits === 0) return
  const puzzle = input.puzzle
  if (typeof puzzle !== 'object' || puzzle === null || Array.isArray(puzzle)) throw new HttpError(400, `${PUZZLE_AGAIN} (puzzle is missing.)`, { 'sd-puzzle': 'renew' })
  const fields = puzzle as Record<string, unknown>
  const challenge = bytes(fields, 'challenge', { length: CHALLENGE_BYTES })
  const nonce = bytes(fields, 'nonce', { length: NONCE_BYTES })
  const verdict = app.puzzles.check(challenge, caseId, nonce)
  if (verdict !== 'solved') throw new HttpError(400, PUZZLE_AGAIN, { 'sd-puzzle': 'renew' })
}

/** What was sent, for comparing a repeat with what is stored. */
interface Submission {
  readonly kind: CaseKind
  readonly caseId: string
  readonly lookupId: Uint8Array
  readonly authPublic: Uint8Array
  readonly replyPublic: Uint8Array
  readonly messageId: string
  readonly envelope: Uint8Array
  readonly uploads: readonly { id: string }[]
  readonly urgency: Urgency | null
}

export const ALREADY_RECEIVED_DIFFERENT =
  'Something was already received for this page, and what was sent now is different, so it was not stored. Keep the code this page showed you: with it you can add to what you sent, at "Come back".'

/**
 * A repeat of a submission that is already stored: true when it is the same in every part (the
 * browser sent again because it never saw the answer); a different body for a known case id, or a
 * known lookup value under another id, is refused (409). False when nothing is stored yet.
 */
async function alreadyReceived(app: FastifyInstance, trx: Transaction<Schema> | Kysely<Schema>, sent: Submission): Promise<boolean> {
  const lookup = app.vault.lookupValue(sent.lookupId)
  const row = await trx.selectFrom('cases').select(['id', 'lookup_id']).where((eb) => eb.or([eb('id', '=', sent.caseId), eb('lookup_id', '=', lookup)])).executeTakeFirst()
  const messageRow = await trx.selectFrom('case_messages').select(['id', 'case_id']).where('id', '=', sent.messageId).executeTakeFirst()
  if (row === undefined && messageRow === undefined) return false
  const refuse = new HttpError(409, ALREADY_RECEIVED_DIFFERENT, { 'sd-case': 'received-different' })
  if (row === undefined || row.id !== sent.caseId || row.lookup_id === null || !Buffer.from(row.lookup_id).equals(Buffer.from(lookup))) throw refuse
  const stored = await findCase(trx, app.vault, sent.caseId)
  if (stored === undefined || stored.kind !== sent.kind || stored.urgency !== sent.urgency || !stored.authPublic.equals(sent.authPublic) || !stored.replyPublic.equals(sent.replyPublic)) throw refuse
  const first = await trx.selectFrom('case_messages').select(['id', 'envelope']).where('case_id', '=', sent.caseId).where('seq', '=', 1).executeTakeFirst()
  if (first === undefined || first.id !== sent.messageId) throw refuse
  if (!openMessage(stored.dataKey, sent.caseId, first.id, first.envelope).equals(sent.envelope)) throw refuse
  const files = await trx.selectFrom('case_evidence').select('id').where('case_id', '=', sent.caseId).where('message_id', '=', sent.messageId).execute()
  const storedIds = files.map((file) => file.id).sort()
  const sentIds = sent.uploads.map((upload) => upload.id).sort()
  if (storedIds.length !== sentIds.length || storedIds.some((id, index) => id !== sentIds[index])) throw refuse
  return true
}

export type Acceptance = 'received' | 'already_received'

/**
 * Checks and stores a new case of `kind` from a request body, all or nothing: the case, its first
 * message, and (for a disclosure) the evidence files it claims. Throws HttpError for anything wrong.
 *
 * Idempotent: the browser keeps its case id, code and body until it sees an answer, and sends the
 * same again after a failure (a lost connection, a server that restarted after storing it). An
 * identical repeat is answered 'already_received'; it costs no share of any cap.
 *
 * The order is cheapest refusal first: the shape, the proof of work (one hash), a share this
 * instance already knows is full this hour, the envelope's signature and keys (against the
 * service's key chain as last checked against the pin), then one call to the database
 * (accept_case) that stores everything only if that chain is still the one stored, the case is not
 * stored already, its files are there, and it fits in every share.
 */
export async function acceptNewCase(app: FastifyInstance, request: FastifyRequest, kind: CaseKind): Promise<Acceptance> {
  refuseCrossSite(request, app.config.publicOrigin)
  const db = app.database.db
  const input = body(request.body)
  const caseId = text(input, 'caseId', { min: 36, max: 36, pattern: UUID })
  const lookupId = bytes(input, 'lookupId', { length: 16 })
  const authPublic = bytes(input, 'authPublic', { length: 32 })
  const replyPublic = bytes(input, 'replyPublic', { length: 32 })
  const { messageId, envelope } = readMessage(input)
  const uploads = readUploads(input)
  const urgency = input.urgency === undefined || input.urgency === null ? null : input.urgency
  if (urgency !== null && (kind !== 'disclosure' || typeof urgency !== 'string' || !(URGENCIES as readonly string[]).includes(urgency))) {
    throw new HttpError(400, 'urgency must be danger_now, children or police_abuser, and only with a disclosure.')
  }
  // A consultation describes a situation without naming anyone: it carries no files.
  if (kind === 'consultation' && uploads.length > 0) throw new HttpError(400, 'A consultation cannot carry files, so nothing was sent. Describe the situation in words, without naming anyone.')
  checkPuzzle(app, input, caseId)
  const sent: Submission = { kind, caseId, lookupId, authPublic, replyPublic, messageId, envelope, uploads, urgency: urgency as Urgency | null }
  const shares = new CaseShares(app, request, kind)
  const full = shares.full()
  if (full !== null) {
    // A repeat of a case stored before the share filled is still answered as received.
    if (await alreadyReceived(app, db, sent)) return 'already_received'
    throw full
  }
  const expected = { kind, caseId, seq: 1, messageId, authPublic, replyPublic }
  /** The envelope's padded size, checked against `keys`; null for a repeat of a case stored before the service's key changed. */
  const checkAgainst = async (keys: VerifiedServiceKeys): Promise<number | null> => {
    try {
      return await checkReporterEnvelope(envelope, { ...expected, servicePublic: keys.current.encryption, previousServiceKeys: keys.previousEncryption })
    } catch (error) {
      // Sealed to an earlier key (409): still answered as received if it is a repeat of a stored case.
      if (error instanceof HttpError && error.statusCode === 409 && (await alreadyReceived(app, db, sent))) return null
      throw error
    }
  }
  let service = await trustedServiceKeys(app, { checked: true })
  let paddedSize: number | null
  try {
    paddedSize = await checkAgainst(service)
  } catch (error) {
    // Sealed to a key this instance has not seen yet (rotated through another instance)? Read the
    // chain again; check again only if it changed.
    const fresh = await trustedServiceKeys(app)
    if (fresh.digest.equals(service.digest)) throw error
    service = fresh
    paddedSize = await checkAgainst(service)
  }
  if (paddedSize === null) return 'already_received'

  const newKey = app.vault.newCaseKey(caseId)
  const ready = await readyUploads(db, newKey.key, caseId, uploads)
  if (ready === null) {
    // Its files are claimed already when this is a repeat of a case stored with them.
    if (await alreadyReceived(app, db, sent)) return 'already_received'
    throw new HttpError(400, FILES_NOT_RECEIVED)
  }
  const action = kind === 'consultation' ? 'case.consultation_submitted' : 'case.submitted'
  for (let attempt = 1; ; attempt++) {
    try {
      // One call, all or nothing: the case, its key and first message, its files, its shares (a
      // refusal rolls everything back) and the audit entry with the arrivals count (which the
      // alert email reads).
      const newCase = { id: caseId, kind, lookupId, authPublic, replyPublic, urgency: urgency as Urgency | null }
      await storeNewCase(db, app.vault, newKey, newCase, { id: messageId, kind, envelope, paddedSize }, ready, shares.limits, action, service.digest)
      return 'received'
    } catch (error) {
      const state = sqlState(error)
      // A repeat (or the same submission sent twice at once): the insert meets the first's unique key.
      if (state === '23505' && (await alreadyReceived(app, db, sent))) return 'already_received'
      if (state === ACCEPT_CASE_REFUSALS.filesNotReceived) throw new HttpError(400, FILES_NOT_RECEIVED)
      if (state === ACCEPT_CASE_REFUSALS.overShare) throw shares.refusal(String((error as { detail?: unknown }).detail))
      if (state !== ACCEPT_CASE_REFUSALS.serviceKeysChanged || attempt > 1) throw error
      // The stored chain is not the one checked: read it, check it against the pin (a 503 if it
      // does not check out), check the envelope against it, and store once more.
      service = await trustedServiceKeys(app)
      paddedSize = await checkAgainst(service)
      if (paddedSize === null) return 'already_received'
    }
  }
}

function sqlState(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined
}
