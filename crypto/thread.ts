import { utf8 } from './bytes.ts'
import { fail } from './errors.ts'

/**
 * A case's thread: what its envelopes hold and how each is bound to its place.
 *
 * Every message in a case (the disclosure, the reporter's messages, the IDVA service's replies) is
 * an envelope sealed with context "sd-thread-v1|<seq>|<message id>": the server can neither move a
 * message to another place in the thread nor drop one without the reader noticing the gap.
 *
 * Reporter messages are signed with the case's auth key (derived from the case code), so the server
 * can check, without reading them, that an envelope belongs to the case it is sent to; IDVA replies
 * are signed with the IDVA service's key, so the reporter's browser knows they are genuine.
 *
 * The plaintext of every message is UTF-8 JSON, version 1, checked with readMessageContent before
 * anything in it is shown (as text only).
 */

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

export function messageContext(seq: number, messageId: string): Uint8Array {
  if (!Number.isInteger(seq) || seq < 1 || seq > 1_000_000) fail('malformed', 'a message position is a whole number from 1')
  if (typeof messageId !== 'string' || !UUID.test(messageId)) fail('malformed', 'a message id is a UUID')
  return utf8(`sd-thread-v1|${seq}|${messageId}`)
}

/** An evidence file as its message carries it: where it is stored and how to decrypt it. */
export interface EvidenceReference {
  /** The upload's id on the server. */
  readonly id: string
  /** base64url of the 16-byte file id and the 32-byte secretstream key. */
  readonly fileId: string
  readonly key: string
  readonly name: string
  readonly type: string
  readonly size: number
}

/** Answers to the report's questions: each a list of chosen values or a short text. */
export type Answers = Readonly<Record<string, string | readonly string[]>>

export interface MessageContent {
  readonly v: 1
  readonly text: string
  /** The disclosure's (or consultation's) structured answers; absent on later messages. */
  readonly answers?: Answers
  readonly evidence: readonly EvidenceReference[]
  /**
   * The first message only: the case's reply and auth public keys (base64url), so IDVA browsers can
   * refuse a server copy an insider swapped.
   */
  readonly caseKeys?: { readonly reply: string; readonly auth: string }
}

export const MAX_TEXT_CHARACTERS = 50_000
export const MAX_FILES_PER_MESSAGE = 10
const MAX_ANSWERS = 60
const MAX_ANSWER_CHARACTERS = 2_000

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function shortText(value: unknown, max: number): value is string {
  return typeof value === 'string' && value.length <= max
}

/** Checks decrypted JSON and returns it typed; throws CryptoError('malformed') for anything else. */
export function readMessageContent(json: string): MessageContent {
  let value: unknown
  try {
    value = JSON.parse(json)
  } catch {
    fail('malformed', 'message content is not JSON')
  }
  if (!isRecord(value) || value.v !== 1) fail('malformed', 'message content has no version 1')
  if (!shortText(value.text, MAX_TEXT_CHARACTERS)) fail('malformed', 'message text is missing or too long')
  const evidence = value.evidence ?? []
  if (!Array.isArray(evidence) || evidence.length > MAX_FILES_PER_MESSAGE) fail('malformed', 'evidence is not a list of at most 10 files')
  for (const file of evidence) {
    if (
      !isRecord(file) ||
      typeof file.id !== 'string' ||
      !UUID.test(file.id) ||
      !shortText(file.fileId, 64) ||
      !shortText(file.key, 64) ||
      !shortText(file.name, 255) ||
      !shortText(file.type, 255) ||
      typeof file.size !== 'number' ||
      !Number.isSafeInteger(file.size)
    ) {
      fail('malformed', 'an evidence reference is not valid')
    }
  }
  const answers: Record<string, string | string[]> = {}
  if (value.answers !== undefined) {
    if (!isRecord(value.answers) || Object.keys(value.answers).length > MAX_ANSWERS) fail('malformed', 'answers are not valid')
    for (const [key, answer] of Object.entries(value.answers)) {
      if (!/^[a-z][a-zA-Z]{0,40}$/.test(key)) fail('malformed', 'an answer has an invalid name')
      if (shortText(answer, MAX_ANSWER_CHARACTERS)) answers[key] = answer
      else if (Array.isArray(answer) && answer.length <= 20 && answer.every((item) => shortText(item, 200))) answers[key] = [...(answer as string[])]
      else fail('malformed', 'an answer is not valid')
    }
  }
  let caseKeys: { reply: string; auth: string } | undefined
  if (value.caseKeys !== undefined) {
    const keys = value.caseKeys
    if (!isRecord(keys) || typeof keys.reply !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(keys.reply) || typeof keys.auth !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(keys.auth)) {
      fail('malformed', 'case keys are not valid')
    }
    caseKeys = { reply: keys.reply, auth: keys.auth }
  }
  return {
    v: 1,
    text: value.text,
    ...(caseKeys === undefined ? {} : { caseKeys }),
    ...(value.answers === undefined ? {} : { answers }),
    evidence: (evidence as EvidenceReference[]).map((file) => ({ id: file.id, fileId: file.fileId, key: file.key, name: file.name, type: file.type, size: file.size })),
  }
}
