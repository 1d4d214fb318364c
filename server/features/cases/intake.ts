import type { FastifyInstance, FastifyRequest } from 'fastify'
import { UUID } from '../../../crypto/thread.ts'
import { recordAudit } from '../../audit/audit.ts'
import type { CaseKind } from '../../db/schema.ts'
import { URGENCIES, type Urgency } from '../../../rules/enums.ts'
import { HttpError } from '../../errors.ts'
import { refuseCrossSite } from '../../http/cross-site.ts'
import { body, bytes, text } from '../../http/input.ts'
import { checkReporterEnvelope, FILES_NOT_RECEIVED, readMessage, readUploads } from './incoming.ts'
import { AnchorError, type ServiceKeyRow, type VerifiedServiceKeys } from '../../security/service-anchor.ts'
import { IDVA_SERVICE_ID } from '../staff/repository.ts'
import { claimUploads, findCase, insertCaseWithFirstMessage, openMessage } from './repository.ts'
import { addressNetworks, normaliseAddress } from '../../plugins/rate-limit.ts'
import { countHits } from '../../db/rate-limit-repository.ts'
import { CHALLENGE_BYTES } from '../../security/proof-of-work.ts'
import { NONCE_BYTES } from '../../../crypto/proof-of-work.ts'
import { sql, type Kysely, type Transaction } from 'kysely'
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
 * out is refused (503), and so is everything while the portal is not open.
 */
export async function trustedServiceKeys(app: FastifyInstance, rows?: readonly ServiceKeyRow[]): Promise<VerifiedServiceKeys> {
  try {
    const keys = rows === undefined ? await app.anchor.verifiedKeys() : await app.anchor.verifiedKeysFrom(rows)
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
 * The counters count cases stored, not attempts: they are added to inside the transaction that
 * stores the case (a refusal rolls its own count back), so a repeat, a refused envelope or a flood
 * of attempts from one address never uses up the share of its neighbours in the same network.
 * The global cap for the kind is counted the same way, last, so a burst of attempts that fail
 * their shares cannot use it up either.
 */
class CaseShares {
  readonly #counters: { counter: string; secondsLeft: number; max: number; refusal: (secondsLeft: number) => HttpError }[]

  constructor(app: FastifyInstance, request: FastifyRequest, kind: CaseKind) {
    const { casesPerHour, casesPerHourPerAddress, casesPerHourPerNetwork } = app.config
    const networkMax = Math.max(casesPerHourPerAddress, Math.min(casesPerHourPerNetwork, Math.floor(casesPerHour / 20)))
    this.#counters = [
      { ...app.counterName(`${kind}-address`, normaliseAddress(request.ip), 3600), max: casesPerHourPerAddress, refusal: overShare },
      ...addressNetworks(request.ip).map((network) => ({ ...app.counterName(`${kind}-network`, network, 3600), max: networkMax, refusal: overShare })),
      // Each kind has its own hourly cap, so a burst of managers' questions cannot hold up disclosures.
      { ...app.counterName(`global:${kind === 'consultation' ? 'consultation-submit' : 'report-submit'}`, '', 3600), max: casesPerHour, refusal: overGlobalCap },
    ]
  }

  /** The counters' names, to read them together with anything else (firstLook). */
  get counters(): string[] {
    return this.#counters.map(({ counter }) => counter)
  }

  /** Refuses at once, from counts read before the write, when the address, a network or the portal has used its share already. */
  check(hits: ReadonlyMap<string, number>): void {
    for (const { counter, secondsLeft, max, refusal } of this.#counters) {
      if ((hits.get(counter) ?? 0) >= max) throw refusal(secondsLeft)
    }
  }

  /** Counts the case being stored, inside its transaction, in one statement; refuses (rolling it back) if that goes over a share. */
  async take(trx: Transaction<Schema>): Promise<void> {
    const hits = await countHits(trx, this.counters)
    for (const { counter, secondsLeft, max, refusal } of this.#counters) {
      if ((hits.get(counter) ?? 0) > max) throw refusal(secondsLeft)
    }
  }
}

/**
 * One read before anything is checked further: whether this case id, lookup value or message id is
 * known already (a repeat, or a clash), the counts so far of the shares it would use, and the
 * service's key rows (checked against the pin by the caller, as on every submission).
 */
async function firstLook(
  db: Kysely<Schema>,
  lookup: Buffer,
  sent: { caseId: string; messageId: string },
  counters: readonly string[],
): Promise<{ known: boolean; hits: Map<string, number>; serviceKeys: ServiceKeyRow[] }> {
  const result = await sql<{ known: boolean; hits: Record<string, number> | null; keys: { x: string; e: string; c: string | null }[] | null }>`
    SELECT
      EXISTS (SELECT 1 FROM cases WHERE id = ${sent.caseId} OR lookup_id = ${lookup})
        OR EXISTS (SELECT 1 FROM case_messages WHERE id = ${sent.messageId}) AS known,
      (SELECT json_object_agg(counter, hits) FROM rate_limit_counter WHERE counter = ANY(${[...counters]}::text[])) AS hits,
      (SELECT json_agg(json_build_object('x', encode(x25519_public, 'base64'), 'e', encode(ed25519_public, 'base64'), 'c', encode(rotation_certificate, 'base64')) ORDER BY generation)
         FROM group_keys WHERE group_id = ${IDVA_SERVICE_ID}) AS keys`.execute(db)
  const row = result.rows[0]!
  const serviceKeys = (row.keys ?? []).map((key) => ({
    x25519_public: Buffer.from(key.x, 'base64'),
    ed25519_public: Buffer.from(key.e, 'base64'),
    rotation_certificate: key.c === null ? null : Buffer.from(key.c, 'base64'),
  }))
  return { known: row.known, hits: new Map(Object.entries(row.hits ?? {})), serviceKeys }
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
 * The order is cheapest refusal first: the shape, the proof of work (one hash), a repeat, the
 * shares of this address, its networks and the portal (read only), the envelope's signature, then
 * the write, which counts the case against those shares and checks them again.
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
  const { known, hits, serviceKeys } = await firstLook(db, app.vault.lookupValue(lookupId), sent, shares.counters)
  if (known && (await alreadyReceived(app, db, sent))) return 'already_received'
  shares.check(hits)
  const service = await trustedServiceKeys(app, serviceKeys)
  const paddedSize = await checkReporterEnvelope(envelope, { kind, caseId, seq: 1, messageId, authPublic, replyPublic, servicePublic: service.current.encryption, previousServiceKeys: service.previousEncryption })

  try {
    await db.transaction().execute(async (trx) => {
      const dataKey = await insertCaseWithFirstMessage(
        trx,
        app.vault,
        { id: caseId, kind, lookupId, authPublic, replyPublic, urgency: urgency as Urgency | null, evidenceCount: uploads.length },
        { id: messageId, kind, envelope, paddedSize },
      )
      if (!(await claimUploads(trx, dataKey, caseId, messageId, uploads))) throw new HttpError(400, FILES_NOT_RECEIVED)
      // The share first: a refusal rolls everything back, and the arrivals sequence (which the alert
      // email reads, and which a rollback does not undo) is then not moved by a refused flood.
      await shares.take(trx)
      // The audit entry and the arrivals count (which the alert email reads) in one statement.
      await recordAudit(trx, { actor: { type: 'case', id: caseId }, action: kind === 'consultation' ? 'case.consultation_submitted' : 'case.submitted', object: { type: 'case', id: caseId } }, { countArrival: true })
    })
  } catch (error) {
    // The same submission sent twice at once: the second insert meets the first's unique key.
    if (isUniqueViolation(error) && (await alreadyReceived(app, db, sent))) return 'already_received'
    throw error
  }
  return 'received'
}

function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505'
}
