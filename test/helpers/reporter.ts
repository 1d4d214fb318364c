import type { FastifyInstance } from 'fastify'
import { randomUUID } from 'node:crypto'
import {
  base64url,
  deriveCaseKeys,
  encryptEvidence,
  generateCaseCode,
  messageContext,
  newEvidenceKey,
  sealEnvelope,
  signCaseLogin,
  utf8,
  type CaseKeys,
  type KeySet,
  type PublicKeySet,
} from '../../crypto/index.ts'
import { caseKey, findCase, insertMessage, openMessage } from '../../server/features/cases/repository.ts'
import { freshAddress } from './staff.ts'
import { solvePuzzle } from '../../crypto/proof-of-work.ts'

/**
 * What a reporter's browser does, done in Node for the integration tests: make a case code, seal a
 * disclosure to the IDVA service, encrypt evidence, sign the return challenge. And what an IDVA's
 * browser will do (issue: IDVA workspace): seal and sign a reply.
 */

export const b64 = (bytes: Uint8Array) => base64url.encode(bytes)

export interface Reporter {
  readonly code: string
  readonly keys: CaseKeys
  readonly caseId: string
}

export async function newReporter(): Promise<Reporter> {
  const code = (await generateCaseCode()).join(' ')
  return { code, keys: await deriveCaseKeys(code), caseId: randomUUID() }
}

export async function sealFromReporter(
  reporter: Reporter,
  service: PublicKeySet,
  options: { kind?: 'disclosure' | 'consultation' | 'reporter_message'; seq?: number; messageId?: string; content?: unknown; caseId?: string; recipients?: Uint8Array[] } = {},
): Promise<{ messageId: string; envelope: string }> {
  const messageId = options.messageId ?? randomUUID()
  const envelope = await sealEnvelope({
    kind: options.kind ?? 'disclosure',
    caseId: options.caseId ?? reporter.caseId,
    plaintext: utf8(JSON.stringify(options.content ?? { v: 1, text: 'test', evidence: [] })),
    recipients: options.recipients ?? [service.encryption, reporter.keys.reply.publicKey],
    signer: reporter.keys.auth,
    context: messageContext(options.seq ?? 1, messageId),
  })
  return { messageId, envelope: b64(envelope) }
}

/** The body of POST /report. */
export async function disclosureBody(reporter: Reporter, service: PublicKeySet, content?: unknown, uploads: { id: string; token: string }[] = []) {
  const caseKeys = { reply: b64(reporter.keys.reply.publicKey), auth: b64(reporter.keys.auth.publicKey) }
  const message = await sealFromReporter(reporter, service, { content: content ?? { v: 1, text: 'test', evidence: [], caseKeys } })
  return {
    caseId: reporter.caseId,
    lookupId: b64(reporter.keys.lookupId),
    authPublic: b64(reporter.keys.auth.publicKey),
    replyPublic: b64(reporter.keys.reply.publicKey),
    ...message,
    uploads,
  }
}

export function servicePublic(keys: KeySet): PublicKeySet {
  return { encryption: keys.encryption.publicKey, signing: keys.signing.publicKey }
}

export async function encryptedFile(bytes: Uint8Array) {
  const key = await newEvidenceKey()
  return { key, encrypted: await encryptEvidence(bytes, key) }
}

export async function upload(app: FastifyInstance, encrypted: Uint8Array, headers: Record<string, string> = {}) {
  return app.inject({ method: 'POST', url: '/report/uploads', payload: Buffer.from(encrypted), headers: { 'content-type': 'application/octet-stream', ...headers }, remoteAddress: freshAddress() })
}

/** Solves a proof of work from GET /report/puzzle for `caseId`, as the browser's puzzle worker does. */
export async function solvedPuzzle(challengeOf: () => Promise<{ challenge: string; bits: number }>, caseId: string): Promise<{ challenge: string; nonce: string }> {
  const { challenge, bits } = await challengeOf()
  const { nonce } = await solvePuzzle(base64url.decode(challenge, 'challenge'), caseId, bits)
  return { challenge, nonce: b64(nonce) }
}

/**
 * Adds a solved puzzle to a new case's body, unless the body has a `puzzle` key already (a test
 * that sends none, or a wrong one, says so with `puzzle: undefined` or its own value).
 */
export async function withPuzzle(app: FastifyInstance, body: unknown): Promise<unknown> {
  if (typeof body !== 'object' || body === null || 'puzzle' in body || typeof (body as { caseId?: unknown }).caseId !== 'string') return body
  const puzzle = await solvedPuzzle(async () => (await app.inject({ method: 'GET', url: '/report/puzzle', remoteAddress: freshAddress() })).json(), (body as { caseId: string }).caseId)
  return { ...body, puzzle }
}

/** POST /report from a fresh address, with a solved puzzle (see withPuzzle). */
export async function submit(app: FastifyInstance, body: unknown, headers: Record<string, string> = {}, remoteAddress = freshAddress()) {
  return app.inject({ method: 'POST', url: '/report', payload: (await withPuzzle(app, body)) as Record<string, unknown>, headers, remoteAddress })
}

/**
 * POST /report (or /managers/ask) over real HTTP to a running portal at `origin`, as the browser
 * does, for tests and benchmarks that drive a server process. Returns the status and the JSON body.
 */
export async function postNewCase(origin: string, body: Record<string, unknown>, path: '/report' | '/managers/ask' = '/report'): Promise<{ status: number; body: unknown; headers: Headers }> {
  const puzzle =
    'puzzle' in body || typeof body.caseId !== 'string'
      ? {}
      : { puzzle: await solvedPuzzle(async () => (await (await fetch(`${origin}/report/puzzle`)).json()) as { challenge: string; bits: number }, body.caseId) }
  const response = await fetch(`${origin}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', origin }, body: JSON.stringify({ ...body, ...puzzle }) })
  const text = await response.text()
  let parsed: unknown = text
  try {
    parsed = JSON.parse(text)
  } catch {
    // not JSON: kept as text
  }
  return { status: response.status, body: parsed, headers: response.headers }
}

/** Signs in at /return as the browser would; returns the cookie and CSRF token. */
export async function openCase(app: FastifyInstance, keys: CaseKeys): Promise<{ cookie: string; csrfToken: string; status: number; body: string }> {
  const { challenge } = (await app.inject({ method: 'POST', url: '/return/challenge', payload: {}, remoteAddress: freshAddress() })).json<{ challenge: string }>()
  const signature = await signCaseLogin(keys, base64url.decode(challenge, 'challenge'))
  const response = await app.inject({
    method: 'POST',
    url: '/return/session',
    payload: { challenge, lookupId: b64(keys.lookupId), signature: b64(signature) },
    remoteAddress: freshAddress(),
  })
  const setCookie = [response.headers['set-cookie']].flat().join('\n')
  const cookie = /(sd_case=[A-Za-z0-9_-]{43})/.exec(setCookie)?.[1] ?? ''
  return { cookie, csrfToken: response.statusCode === 200 ? response.json<{ csrfToken: string }>().csrfToken : '', status: response.statusCode, body: response.body }
}

/** A message's envelope as the browsers made it: what is stored, opened from its seal at rest. */
export async function storedMessage(app: FastifyInstance, row: { id: string; case_id: string; envelope: Buffer }): Promise<Buffer> {
  const key = await caseKey(app.database.db, app.vault, row.case_id)
  if (key === null) throw new Error(`case ${row.case_id} has no data key`)
  return openMessage(key, row.case_id, row.id, row.envelope)
}

/** A case's public keys and data key, as stored (sealed at rest). */
export async function storedCase(app: FastifyInstance, caseId: string) {
  const found = await findCase(app.database.db, app.vault, caseId)
  if (found === undefined) throw new Error(`no case ${caseId}`)
  return found
}

/**
 * An IDVA reply, sealed to the case's reply key and the service, signed with the service key, and
 * stored as the IDVA workspace stores it.
 */
export async function insertIdvaReply(
  app: FastifyInstance,
  options: { caseId: string; seq: number; text: string; service: KeySet; replyPublic: Uint8Array; signer?: KeySet['signing'] },
): Promise<string> {
  const db = app.database.db
  const id = randomUUID()
  const envelope = await sealEnvelope({
    kind: 'idva_reply',
    caseId: options.caseId,
    plaintext: utf8(JSON.stringify({ v: 1, text: options.text, evidence: [] })),
    recipients: [options.service.encryption.publicKey, options.replyPublic],
    signer: options.signer ?? options.service.signing,
    context: messageContext(options.seq, id),
  })
  const key = await caseKey(db, app.vault, options.caseId)
  if (key === null) throw new Error(`case ${options.caseId} has no data key`)
  await db.transaction().execute((trx) => insertMessage(trx, key, { id, caseId: options.caseId, seq: options.seq, author: 'idva', kind: 'idva_reply', envelope, paddedSize: 256 }))
  await db.updateTable('cases').set((eb) => ({ message_count: eb('message_count', '+', 1), status: 'in_contact' })).where('id', '=', options.caseId).execute()
  return id
}
