import { randomUUID } from 'node:crypto'
import {
  base64url,
  messageContext,
  recordContext,
  RECORD_ENVELOPE_KIND,
  sealEnvelope,
  utf8,
  type KeySet,
  type RecordKind,
} from '../../crypto/index.ts'

/**
 * What an IDVA's browser sends, done in Node for the integration tests: replies sealed to the
 * case's reply key and the service, records sealed to the service, all signed with the service key.
 */

export interface SealedBody {
  readonly [field: string]: unknown
}

export async function replyBody(options: { caseId: string; seq: number; text: string; service: KeySet; replyPublic: Uint8Array; signer?: KeySet['signing']; recipients?: Uint8Array[]; messageId?: string }): Promise<SealedBody> {
  const messageId = options.messageId ?? randomUUID()
  const envelope = await sealEnvelope({
    kind: 'idva_reply',
    caseId: options.caseId,
    plaintext: utf8(JSON.stringify({ v: 1, text: options.text, evidence: [] })),
    recipients: options.recipients ?? [options.service.encryption.publicKey, options.replyPublic],
    signer: options.signer ?? options.service.signing,
    context: messageContext(options.seq, messageId),
  })
  return { messageId, seq: options.seq, envelope: base64url.encode(envelope) }
}

export async function recordBody(options: {
  caseId: string
  kind: RecordKind
  seq: number
  content: unknown
  service: KeySet
  signer?: KeySet['signing']
  recipients?: Uint8Array[]
  envelopeKind?: 'triage' | 'idva_note' | 'consent'
  riskLevel?: string
  maracReferred?: boolean
  recordId?: string
}): Promise<SealedBody> {
  const recordId = options.recordId ?? randomUUID()
  const envelope = await sealEnvelope({
    kind: options.envelopeKind ?? RECORD_ENVELOPE_KIND[options.kind],
    caseId: options.caseId,
    plaintext: utf8(JSON.stringify(options.content)),
    recipients: options.recipients ?? [options.service.encryption.publicKey],
    signer: options.signer ?? options.service.signing,
    context: recordContext(options.kind, options.seq, recordId),
  })
  return { kind: options.kind, recordId, seq: options.seq, envelope: base64url.encode(envelope), ...(options.riskLevel === undefined ? {} : { riskLevel: options.riskLevel }), ...(options.maracReferred === undefined ? {} : { maracReferred: options.maracReferred }) }
}

export const NOTE = (text: string, author = 'idva') => ({ v: 1, type: 'note', author, writtenOn: '2026-12-01', text })

export const CONSENT = (track: 'criminal' | 'misconduct', agreed: boolean, author = 'idva') => ({
  v: 1,
  type: 'consent',
  author,
  writtenOn: '2026-12-01',
  track,
  agreed,
  share: agreed ? 'what happened on 3 November' : '',
  withWhom: agreed ? 'an investigator outside my borough' : '',
  words: agreed ? 'I want them to know, but not my address' : 'not now',
  givenOn: '2026-12-01',
})

export const TRIAGE = (level: 'standard' | 'medium' | 'high', author = 'idva') => ({
  v: 1,
  type: 'triage',
  author,
  writtenOn: '2026-12-01',
  answers: { injured: 'yes', frightened: 'yes', stalking: 'unknown' },
  incidentsLastYear: 4,
  computedLevel: 'standard',
  level,
  judgementReason: level === 'standard' ? '' : 'threats to a child',
  marac: { eligible: true, refer: true, reason: 'escalation' },
})
