import { utf8 } from './bytes.ts'
import { fail } from './errors.ts'
import { UUID } from './thread.ts'

/**
 * What an investigator unit records on a referral: a state (acknowledged, investigation opened…),
 * the IOPC decision, or the referral's return to the IDVA service, each with a short note. The
 * unit member's browser seals it to the IDVA service's current key and to the unit's own (so the
 * unit's members can read their history), and signs it with the unit's key:
 *
 *   envelope kind unit_note (9), case id = the case's pseudonym,
 *   context = "sd-referral-update-v1|" || referral id || "|" || seq || "|" || action
 *
 * so an update cannot be moved to another referral or place in its history, and the action the
 * server stores in clear (it must, to keep the state) cannot be changed without the IDVA's browser
 * seeing that the unit did not sign it. Its plaintext is UTF-8 JSON, version 1, checked by
 * readUpdateContent before anything in it is used.
 */

export type StatusAction = 'acknowledged' | 'investigating' | 'no_further_action' | 'transferred' | 'closed' | 'returned'
export type IopcAction = 'iopc_referred' | 'iopc_not_referred'
export type ReferralAction = StatusAction | IopcAction

export const REFERRAL_ACTIONS: readonly ReferralAction[] = ['acknowledged', 'investigating', 'no_further_action', 'transferred', 'closed', 'returned', 'iopc_referred', 'iopc_not_referred']

/** Actions whose note cannot be empty: the reason, or the outcome. */
export const NOTE_REQUIRED: readonly ReferralAction[] = ['no_further_action', 'closed', 'returned', 'iopc_not_referred']

export const MAX_NOTE_CHARACTERS = 5_000
const DAY = /^\d{4}-\d{2}-\d{2}$/

export interface UpdateContent {
  readonly v: 1
  readonly type: 'referral_update'
  readonly referralId: string
  readonly seq: number
  readonly action: ReferralAction
  /** The day the member's browser wrote it. */
  readonly writtenOn: string
  /** The member who wrote it (their user name on the portal) and their unit. */
  readonly author: string
  readonly unit: string
  /** The note: why, the outcome, the reason; what the action needs (NOTE_REQUIRED), and anything else. */
  readonly note: string
  /** Transferred: to whom. */
  readonly transferredTo: string | null
  /** Referred to the IOPC: the day. */
  readonly iopcReferredOn: string | null
}

export function isReferralAction(value: unknown): value is ReferralAction {
  return typeof value === 'string' && (REFERRAL_ACTIONS as readonly string[]).includes(value)
}

export function referralUpdateContext(referralId: string, seq: number, action: ReferralAction): Uint8Array {
  if (typeof referralId !== 'string' || !UUID.test(referralId)) fail('malformed', 'a referral id is a UUID')
  if (!Number.isSafeInteger(seq) || seq < 1) fail('malformed', 'an update has a position from 1')
  if (!isReferralAction(action)) fail('malformed', 'not an action a unit can record')
  return utf8(`sd-referral-update-v1|${referralId}|${seq}|${action}`)
}

/** What the content must hold for its action; throws CryptoError('malformed') with the reason. */
export function checkUpdateContent(content: UpdateContent): UpdateContent {
  if (NOTE_REQUIRED.includes(content.action) && content.note.trim() === '') fail('malformed', `a ${content.action} update needs a note`)
  if (content.action === 'transferred' && (content.transferredTo === null || content.transferredTo.trim() === '')) fail('malformed', 'a transfer says to whom')
  if (content.action !== 'transferred' && content.transferredTo !== null) fail('malformed', 'only a transfer names where it went')
  if (content.action === 'iopc_referred' && (content.iopcReferredOn === null || !DAY.test(content.iopcReferredOn))) fail('malformed', 'a referral to the IOPC has its day')
  if (content.action !== 'iopc_referred' && content.iopcReferredOn !== null) fail('malformed', 'only a referral to the IOPC has an IOPC day')
  return content
}

function shortText(value: unknown, max: number, what: string): string {
  if (typeof value !== 'string' || [...value].length > max) fail('malformed', `${what} is missing or too long`)
  return value
}

/**
 * Checks a decrypted update and returns it typed, with nothing but the known fields. `expected` is
 * what the reader knows independently (the referral, the position and the action it was bound to).
 */
export function readUpdateContent(json: string, expected: { referralId: string; seq: number; action: ReferralAction }): UpdateContent {
  let value: unknown
  try {
    value = JSON.parse(json)
  } catch {
    fail('malformed', 'update content is not JSON')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('malformed', 'not a referral update')
  const record = value as Record<string, unknown>
  if (record.v !== 1 || record.type !== 'referral_update') fail('malformed', 'not a version 1 referral update')
  if (record.referralId !== expected.referralId || record.seq !== expected.seq || record.action !== expected.action) fail('malformed', 'the update names another referral, place or action')
  if (typeof record.writtenOn !== 'string' || !DAY.test(record.writtenOn)) fail('malformed', 'the update has no day')
  const optional = (field: unknown, max: number, what: string) => (field === null || field === undefined ? null : shortText(field, max, what))
  return checkUpdateContent({
    v: 1,
    type: 'referral_update',
    referralId: expected.referralId,
    seq: expected.seq,
    action: expected.action,
    writtenOn: record.writtenOn,
    author: shortText(record.author, 64, 'the author'),
    unit: shortText(record.unit, 128, 'the unit'),
    note: shortText(record.note, MAX_NOTE_CHARACTERS, 'the note'),
    transferredTo: optional(record.transferredTo, 200, 'where it was transferred'),
    iopcReferredOn: optional(record.iopcReferredOn, 10, 'the day of the IOPC referral'),
  })
}
