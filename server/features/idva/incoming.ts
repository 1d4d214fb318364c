import { equalBytes } from '../../../crypto/bytes.ts'
import { keyId, verifyEnvelopeSignature, type EnvelopeKind } from '../../../crypto/index.ts'
import { envelopeStructure } from '../cases/incoming.ts'
import { HttpError } from '../../errors.ts'

/**
 * Checks on what an IDVA's browser sends, made without any key that could read it: the envelope is
 * well formed, of the expected kind, signed with the IDVA service's current key over this case and
 * its place (so it is the service's, and cannot be moved), and sealed to exactly the keys that
 * must read it: the service's current key, and for a reply the case's reply key too. A mistake in
 * a browser therefore cannot store something the service could not read back.
 */

export const NOT_SEALED_RIGHT = 'What was sent is not locked to the right keys, so nothing was stored. Please reload the page and try again.'
export const KEY_CHANGED = 'The IDVA service\'s key has changed since this page was loaded, so nothing was stored. Reload the page (your keys will catch up) and try again.'

export interface ExpectedServiceEnvelope {
  readonly kind: EnvelopeKind
  readonly caseId: string
  readonly context: Uint8Array
  readonly service: { readonly x25519: Uint8Array; readonly ed25519: Uint8Array; readonly previousEd25519: readonly Uint8Array[] }
  /** Recipients besides the service: the case's reply key for a reply; none for a record. */
  readonly alsoTo: readonly Uint8Array[]
}

/** Returns the padding bucket. Throws HttpError (400, 409 when the service key has moved on). */
export async function checkServiceEnvelope(envelope: Uint8Array, expected: ExpectedServiceEnvelope): Promise<number> {
  return checkSignedEnvelope(envelope, {
    kind: expected.kind,
    caseId: expected.caseId,
    context: expected.context,
    signer: { current: expected.service.ed25519, previous: expected.service.previousEd25519, notSigned: 'This is not signed by the IDVA service for this case and place, so nothing was stored. Please reload the page and try again.', keyChanged: KEY_CHANGED },
    recipients: [expected.service.x25519, ...expected.alsoTo],
  })
}

export interface ExpectedSignedEnvelope {
  readonly kind: EnvelopeKind
  readonly caseId: string
  readonly context: Uint8Array
  /** The key that must have signed it, its earlier generations, and what to say otherwise. */
  readonly signer: { readonly current: Uint8Array; readonly previous: readonly Uint8Array[]; readonly notSigned: string; readonly keyChanged: string }
  /** Exactly these X25519 keys, no more and no fewer. */
  readonly recipients: readonly Uint8Array[]
}

/** The same checks for any signed staff envelope (a unit's note too). Returns the padding bucket. */
export async function checkSignedEnvelope(envelope: Uint8Array, expected: ExpectedSignedEnvelope): Promise<number> {
  const structure = envelopeStructure(envelope)
  if (structure.kind !== expected.kind) throw new HttpError(400, 'What was sent is not the kind of record expected here, so nothing was stored.')
  const signed = await verifyEnvelopeSignature(envelope, expected.caseId, expected.signer.current, expected.context).catch(() => false)
  if (!signed) {
    // Signed by an earlier generation: this tab has not caught up with a rotation.
    const signer = structure.signerKeyId
    const previous = await Promise.all(expected.signer.previous.map((key) => keyId('ed25519', key)))
    if (signer !== null && previous.some((id) => equalBytes(id, signer))) throw new HttpError(409, expected.signer.keyChanged)
    throw new HttpError(400, expected.signer.notSigned)
  }
  const wanted = await Promise.all(expected.recipients.map((key) => keyId('x25519', key)))
  const ids = structure.recipients.map((recipient) => recipient.keyId)
  if (ids.length !== wanted.length || !wanted.every((id) => ids.some((candidate) => equalBytes(candidate, id)))) throw new HttpError(400, NOT_SEALED_RIGHT)
  return structure.bucket
}
