import { isCryptoError, keyId, messageContext, parseEnvelope, verifyEnvelopeSignature, type EnvelopeKind, type EnvelopeStructure } from '../../../crypto/index.ts'
import { equalBytes } from '../../../crypto/bytes.ts'
import { HttpError } from '../../errors.ts'
import { bytes, list, text } from '../../http/input.ts'
import { UUID } from '../../../crypto/thread.ts'
import type { UploadClaim } from './repository.ts'

/**
 * Checks on what a reporter's browser sends, made without any key that could read it: the envelope
 * is well formed, of the expected kind, signed with this case's auth key over this case id and its
 * place in the thread (so it cannot belong to another case), and sealed to exactly the IDVA
 * service's current key and the case's reply key (so the service can read it, and so can the
 * reporter, and nobody else).
 */

export const NOT_AN_ENVELOPE = 'What was sent is not a message this portal can store, so nothing was stored. Please reload the page and try again.'

export interface ExpectedEnvelope {
  readonly kind: EnvelopeKind
  readonly caseId: string
  readonly seq: number
  readonly messageId: string
  readonly authPublic: Uint8Array
  readonly replyPublic: Uint8Array
  readonly servicePublic: Uint8Array
  /** The service's earlier X25519 keys: an envelope sealed to one was made before a rotation. */
  readonly previousServiceKeys: readonly Uint8Array[]
}

/** An envelope's structure, read without any key; anything malformed is a 400 (413 when too large). */
export function envelopeStructure(envelope: Uint8Array): EnvelopeStructure {
  try {
    return parseEnvelope(envelope)
  } catch (error) {
    if (isCryptoError(error)) throw new HttpError(error.code === 'too_large' ? 413 : 400, NOT_AN_ENVELOPE)
    throw error
  }
}

/** Returns the padding bucket (all the server learns of the length). Throws HttpError. */
export async function checkReporterEnvelope(envelope: Uint8Array, expected: ExpectedEnvelope): Promise<number> {
  const structure = envelopeStructure(envelope)
  if (structure.kind !== expected.kind) throw new HttpError(400, NOT_AN_ENVELOPE)
  const signed = await verifyEnvelopeSignature(envelope, expected.caseId, expected.authPublic, messageContext(expected.seq, expected.messageId)).catch(() => false)
  if (!signed) throw new HttpError(400, 'This message is locked to a different case, or was changed on the way, so nothing was stored. Please reload the page and try again.')
  const serviceKeyId = await keyId('x25519', expected.servicePublic)
  const replyKeyId = await keyId('x25519', expected.replyPublic)
  const ids = structure.recipients.map((recipient) => recipient.keyId)
  const has = (id: Uint8Array) => ids.some((candidate) => equalBytes(candidate, id))
  const wrongKeys = 'This message is not locked to the right keys, so nothing was stored. Please reload the page and try again.'
  if (ids.length !== 2 || !has(replyKeyId)) throw new HttpError(400, wrongKeys)
  if (!has(serviceKeyId)) {
    const stale = (await Promise.all(expected.previousServiceKeys.map((key) => keyId('x25519', key)))).some(has)
    if (!stale) throw new HttpError(400, wrongKeys)
    throw new HttpError(409, 'The IDVA service has just changed its key. Your browser will lock your message again with the new key; if this message stays, reload the page and send it again.')
  }
  return structure.bucket
}

/** A message id and envelope from a request body. */
export function readMessage(input: Record<string, unknown>): { messageId: string; envelope: Buffer } {
  const messageId = text(input, 'messageId', { min: 36, max: 36, pattern: UUID })
  const envelope = bytes(input, 'envelope', { max: 1_100_000 })
  return { messageId, envelope }
}

/** Evidence uploads named in a request body (at most 10), with their upload tokens. */
export function readUploads(input: Record<string, unknown>): UploadClaim[] {
  if (input.uploads === undefined) return []
  const uploads = list(input, 'uploads', 10).map((upload) => ({
    id: text(upload, 'id', { min: 36, max: 36, pattern: UUID }),
    token: bytes(upload, 'token', { length: 32 }),
  }))
  if (new Set(uploads.map((upload) => upload.id)).size !== uploads.length) throw new HttpError(400, 'The same file was named twice.')
  return uploads
}

export const FILES_NOT_RECEIVED = 'One of your files was not received, or was received more than an hour ago, so nothing was stored. Please add your files again and send.'
