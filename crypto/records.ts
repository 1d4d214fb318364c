import { utf8 } from './bytes.ts'
import { fail } from './errors.ts'
import type { EnvelopeKind } from './envelope.ts'
import { isShareableItem, type ShareableItem } from './referrals.ts'
import { UUID } from './thread.ts'

/**
 * What IDVAs write about a case that the reporter never sees: triage, notes, consent versions and
 * the repeat-perpetrator index entry. Each is an envelope sealed to the IDVA service's key only and
 * signed with it, so nobody without the service's private key can read one, write one, or pass off
 * an insider's forgery as the service's.
 *
 * Every record is sealed with the context "sd-record-v1|<record kind>|<seq>|<record id>" (and, as
 * every envelope, bound to its case id): the server cannot move a record to another case, show a
 * note as a consent record, or reorder versions without the reader noticing.
 *
 * Plaintexts are UTF-8 JSON, version 1, checked with readRecordContent before anything in them is
 * used; they are shown as text only.
 */

export type RecordKind = 'triage' | 'note' | 'consent' | 'identifiers' | 'routing'
export const RECORD_KINDS: readonly RecordKind[] = ['triage', 'note', 'consent', 'identifiers', 'routing']

/** The envelope kind each record is sealed as (identifier index entries are IDVA-only notes). */
export const RECORD_ENVELOPE_KIND: Readonly<Record<RecordKind, EnvelopeKind>> = {
  triage: 'triage',
  note: 'idva_note',
  consent: 'consent',
  identifiers: 'idva_note',
  routing: 'idva_note',
}

export type Answer = 'yes' | 'no' | 'unknown'
export type RiskLevel = 'standard' | 'medium' | 'high'
export const RISK_LEVELS: readonly RiskLevel[] = ['standard', 'medium', 'high']
export type Track = 'criminal' | 'misconduct'

interface Authored {
  readonly v: 1
  /** The IDVA's user name, inside the envelope: who wrote it, for colleagues to see. */
  readonly author: string
  /** The day it was written (YYYY-MM-DD), as the author's browser saw it. */
  readonly writtenOn: string
}

export interface TriageContent extends Authored {
  readonly type: 'triage'
  /** The risk checklist: question id -> answer. */
  readonly answers: Readonly<Record<string, Answer>>
  /** Incidents in the last twelve months, when known. */
  readonly incidentsLastYear: number | null
  /** The level the answers give, and the level recorded (never lower: professional judgement). */
  readonly computedLevel: RiskLevel
  readonly level: RiskLevel
  readonly judgementReason: string
  readonly marac: { readonly eligible: boolean; readonly refer: boolean; readonly reason: string }
}

export interface NoteContent extends Authored {
  readonly type: 'note'
  readonly text: string
}

export interface ConsentContent extends Authored {
  readonly type: 'consent'
  readonly track: Track
  /** Whether the person agreed to anything going to this track. */
  readonly agreed: boolean
  /** What they agreed to share, and with whom, in their words where possible. */
  readonly share: string
  readonly withWhom: string
  /** Their own words, as the IDVA noted them. */
  readonly words: string
  /** The day the person gave (or withheld) consent. */
  readonly givenOn: string
  /**
   * What may go to this track, item by item (crypto/referrals.ts), and which evidence files (upload
   * ids), one by one. Empty in records made before items existed: a package needs a new version.
   */
  readonly items: readonly ShareableItem[]
  readonly evidence: readonly string[]
}

/**
 * The routing step: the facts the IDVA confirmed (the engine's input), the engine's decision on
 * them, and any unit the IDVA chose instead, with the reason. Sealed like every record: the
 * server sees only that it was saved (and, in the audit log, the policy version and rule ids).
 */
export interface RoutingContent extends Authored {
  readonly type: 'routing'
  readonly facts: Readonly<Record<string, unknown>>
  readonly decision: Readonly<Record<string, unknown>>
  readonly overrides: Readonly<Record<Track, { readonly unit: string; readonly reason: string } | null>>
}

export interface IdentifiersContent {
  readonly v: 1
  readonly type: 'identifiers'
  /** Normalised full names and collar or staff numbers of the person named as harming them. */
  readonly names: readonly string[]
  readonly numbers: readonly string[]
}

export type RecordContent = TriageContent | NoteContent | ConsentContent | IdentifiersContent | RoutingContent

export function recordContext(kind: RecordKind, seq: number, recordId: string): Uint8Array {
  if (!RECORD_KINDS.includes(kind)) fail('malformed', 'unknown record kind')
  if (!Number.isInteger(seq) || seq < 1 || seq > 1_000_000) fail('malformed', 'a record position is a whole number from 1')
  if (typeof recordId !== 'string' || !UUID.test(recordId)) fail('malformed', 'a record id is a UUID')
  return utf8(`sd-record-v1|${kind}|${seq}|${recordId}`)
}

export const MAX_RECORD_TEXT = 20_000
const DAY = /^\d{4}-\d{2}-\d{2}$/
const ANSWER_ID = /^[a-z][a-z0-9_]{0,40}$/
const USERNAME = /^[a-z0-9][a-z0-9._-]{1,62}[a-z0-9]$/

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function text(value: unknown, max: number, what: string): string {
  if (typeof value !== 'string' || value.length > max) fail('malformed', `${what} is missing or too long`)
  return value
}

function day(value: unknown, what: string): string {
  if (typeof value !== 'string' || !DAY.test(value)) fail('malformed', `${what} is not a day`)
  return value
}

function level(value: unknown, what: string): RiskLevel {
  if (!RISK_LEVELS.includes(value as RiskLevel)) fail('malformed', `${what} is not a risk level`)
  return value as RiskLevel
}

function strings(value: unknown, max: number, what: string): string[] {
  if (!Array.isArray(value) || value.length > max || !value.every((item) => typeof item === 'string' && item.length > 0 && item.length <= 200)) fail('malformed', `${what} is not a list of short texts`)
  return [...(value as string[])]
}

function consentItems(value: unknown): ShareableItem[] {
  if (value === undefined) return []
  if (!Array.isArray(value) || value.length > 20 || !value.every(isShareableItem)) fail('malformed', 'consented items are not valid')
  return [...new Set(value as ShareableItem[])]
}

function uuids(value: unknown, what: string): string[] {
  if (!Array.isArray(value) || value.length > 100 || !value.every((item) => typeof item === 'string' && UUID.test(item))) fail('malformed', `${what} is not a list of file ids`)
  return [...(value as string[])]
}

function authored(value: Record<string, unknown>): { author: string; writtenOn: string } {
  if (typeof value.author !== 'string' || !USERNAME.test(value.author)) fail('malformed', 'a record has no valid author')
  return { author: value.author, writtenOn: day(value.writtenOn, 'writtenOn') }
}

/**
 * Checks a decrypted record of `kind` and returns it typed, with nothing but the known fields.
 * Throws CryptoError('malformed') for anything else, including a record of another type.
 */
export function readRecordContent(kind: RecordKind, json: string): RecordContent {
  let value: unknown
  try {
    value = JSON.parse(json)
  } catch {
    fail('malformed', 'record content is not JSON')
  }
  if (!RECORD_KINDS.includes(kind)) fail('malformed', 'unknown record kind')
  if (!isRecord(value) || value.v !== 1) fail('malformed', 'record content has no version 1')
  if (value.type !== kind) fail('malformed', `expected a ${kind} record`)
  switch (kind) {
    case 'note':
      return { v: 1, type: 'note', ...authored(value), text: text(value.text, MAX_RECORD_TEXT, 'note text') }
    case 'consent': {
      if (value.track !== 'criminal' && value.track !== 'misconduct') fail('malformed', 'consent has no track')
      if (typeof value.agreed !== 'boolean') fail('malformed', 'consent does not say whether the person agreed')
      return {
        v: 1,
        type: 'consent',
        ...authored(value),
        track: value.track,
        agreed: value.agreed,
        share: text(value.share, 5_000, 'what may be shared'),
        withWhom: text(value.withWhom, 1_000, 'with whom'),
        words: text(value.words, MAX_RECORD_TEXT, 'their words'),
        givenOn: day(value.givenOn, 'givenOn'),
        items: consentItems(value.items),
        evidence: value.evidence === undefined ? [] : uuids(value.evidence, 'consented evidence'),
      }
    }
    case 'routing': {
      if (!isRecord(value.facts) || !isRecord(value.decision) || !isRecord(value.overrides)) fail('malformed', 'a routing record needs its facts, decision and overrides')
      const overrides: Record<Track, { unit: string; reason: string } | null> = { criminal: null, misconduct: null }
      for (const track of ['criminal', 'misconduct'] as const) {
        const given = value.overrides[track]
        if (given === null || given === undefined) continue
        if (!isRecord(given) || typeof given.unit !== 'string' || !/^[A-Za-z0-9._:-]{1,128}$/.test(given.unit)) fail('malformed', 'an override names no unit')
        overrides[track] = { unit: given.unit, reason: text(given.reason, 5_000, 'the reason for the override') }
      }
      return { v: 1, type: 'routing', ...authored(value), facts: value.facts, decision: value.decision, overrides }
    }
    case 'triage': {
      if (!isRecord(value.answers) || Object.keys(value.answers).length > 40) fail('malformed', 'triage answers are not valid')
      const answers: Record<string, Answer> = {}
      for (const [id, answer] of Object.entries(value.answers)) {
        if (!ANSWER_ID.test(id) || (answer !== 'yes' && answer !== 'no' && answer !== 'unknown')) fail('malformed', 'a triage answer is not valid')
        answers[id] = answer
      }
      const incidents = value.incidentsLastYear
      if (incidents !== null && (typeof incidents !== 'number' || !Number.isInteger(incidents) || incidents < 0 || incidents > 10_000)) fail('malformed', 'incidents is not a count')
      const marac = value.marac
      if (!isRecord(marac) || typeof marac.eligible !== 'boolean' || typeof marac.refer !== 'boolean') fail('malformed', 'the MARAC decision is not valid')
      return {
        v: 1,
        type: 'triage',
        ...authored(value),
        answers,
        incidentsLastYear: incidents as number | null,
        computedLevel: level(value.computedLevel, 'computedLevel'),
        level: level(value.level, 'level'),
        judgementReason: text(value.judgementReason, 5_000, 'the reason for the level'),
        marac: { eligible: marac.eligible, refer: marac.refer, reason: text(marac.reason, 5_000, 'the MARAC reason') },
      }
    }
    case 'identifiers':
      return { v: 1, type: 'identifiers', names: strings(value.names, 20, 'names'), numbers: strings(value.numbers, 20, 'numbers') }
  }
}
