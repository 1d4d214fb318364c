import { sql, type Kysely, type Selectable, type Transaction } from 'kysely'
import { randomBytes } from 'node:crypto'
import type { CaseKind, CasesTable, MessageKind, RecordKind, Schema } from '../../db/schema.ts'
import type { Urgency } from '../../../rules/enums.ts'
import { openAtRest, sealAtRest, SEALED_OVERHEAD, uploadKey, VaultError, type CaseVault } from '../../security/case-vault.ts'
import { sha256 } from '../../security/tokens.ts'
import { groupGenerations, IDVA_SERVICE_ID } from '../staff/repository.ts'

/**
 * SQL for cases, their threads and evidence. Plain functions taking the database or a transaction.
 * Everything stored for a case is sealed under the case's data key here, and opened here
 * (server/security/case-vault.ts): routes see envelopes and files as the browsers made them.
 */

type Db = Kysely<Schema> | Transaction<Schema>

/** How long an uploaded (encrypted) file waits for the message that carries its key. */
export const STAGED_UPLOAD_MS = 60 * 60 * 1000

export interface ServiceKeyGeneration {
  readonly generation: number
  readonly x25519: string
  readonly ed25519: string
  /** base64url; null for generation 1 (the published key). */
  readonly certificate: string | null
}

/**
 * The IDVA service's public key chain, oldest first, for a reporter's browser to follow from the
 * published first generation; null while the portal is not open.
 */
export async function serviceKeyChain(db: Db): Promise<{ serviceId: string; generations: ServiceKeyGeneration[] } | null> {
  const rows = await groupGenerations(db, IDVA_SERVICE_ID)
  if (rows.length === 0) return null
  return {
    serviceId: IDVA_SERVICE_ID,
    generations: rows.map((row) => ({
      generation: row.generation,
      x25519: row.x25519_public.toString('base64url'),
      ed25519: row.ed25519_public.toString('base64url'),
      certificate: row.rotation_certificate?.toString('base64url') ?? null,
    })),
  }
}

/** One case's data key, unwrapped; null when the case (or its key) no longer exists. */
export async function caseKey(db: Db, vault: CaseVault, caseId: string): Promise<Buffer | null> {
  const row = await db.selectFrom('case_keys').select('wrapped').where('case_id', '=', caseId).executeTakeFirst()
  return row === undefined ? null : vault.unwrapCaseKey(caseId, row.wrapped)
}

/** The data keys of several cases at once (cases without one are left out). */
export async function caseKeys(db: Db, vault: CaseVault, caseIds: readonly string[]): Promise<Map<string, Buffer>> {
  if (caseIds.length === 0) return new Map()
  const rows = await db.selectFrom('case_keys').select(['case_id', 'wrapped']).where('case_id', 'in', [...new Set(caseIds)]).execute()
  return new Map(rows.map((row) => [row.case_id, vault.unwrapCaseKey(row.case_id, row.wrapped)]))
}

/** What each item stored for a case is bound to when sealed at rest (its row, its case). */
export const caseLabel = {
  keys: (caseId: string) => `case:${caseId}:keys`,
  message: (caseId: string, id: string) => `case:${caseId}:message:${id}`,
  record: (caseId: string, id: string) => `case:${caseId}:record:${id}`,
  evidenceKey: (caseId: string, id: string) => `case:${caseId}:evidence-key:${id}`,
  upload: (id: string) => `upload:${id}:file`,
  uploadExpiry: (id: string) => `upload:${id}:expiry`,
  uploadPiece: (id: string, piece: number) => `upload:${id}:piece:${piece}`,
  uploadPieces: (id: string) => `upload:${id}:pieces`,
}

export interface NewCase {
  readonly id: string
  readonly kind: CaseKind
  /** The value the case code gives; stored only as an HMAC. */
  readonly lookupId: Uint8Array
  readonly authPublic: Uint8Array
  readonly replyPublic: Uint8Array
}

/** A new case's row: its lookup value as an HMAC, its public keys sealed under its data key. */
function newCaseRow(vault: CaseVault, key: Buffer, newCase: NewCase) {
  return {
    id: newCase.id,
    kind: newCase.kind,
    lookup_id: vault.lookupValue(newCase.lookupId),
    auth_public: null,
    reply_public: null,
    keys_sealed: sealAtRest(key, caseLabel.keys(newCase.id), Buffer.concat([newCase.authPublic, newCase.replyPublic])),
    sealed: true,
    first_reply_on: null,
  }
}

/** Creates a case with a new data key; returns the key, for the rest of the transaction to seal with. */
export async function insertCase(trx: Transaction<Schema>, vault: CaseVault, newCase: NewCase): Promise<Buffer> {
  const { key, wrapped } = vault.newCaseKey(newCase.id)
  await trx.insertInto('cases').values(newCaseRow(vault, key, newCase)).execute()
  await trx.insertInto('case_keys').values({ case_id: newCase.id, wrapped }).execute()
  return key
}

/** Why accept_case refused (migrations/20261207_0020_accept_case.ts), by SQLSTATE. */
export const ACCEPT_CASE_REFUSALS = { filesNotReceived: 'SDF01', overShare: 'SDS01', serviceKeysChanged: 'SDK01' } as const

/**
 * A new case with its first message, its files, its shares and its audit entry, in one call
 * (accept_case, migrations/20261207_0020_accept_case.ts), run as one statement in its own
 * transaction: a submission is the hot path, and the share counters and the audit chain's lock are
 * held only while that call runs. Everything is sealed here first, under `newKey` (the vault's
 * newCaseKey, made by the caller so that the files' keys can be sealed under it beforehand). The counters must be given in
 * name order with their limits; `serviceKeys` is the digest of the IDVA service's key chain the
 * envelope was checked against (ServiceAnchor, chainDigest). Throws the database's error on a refusal (ACCEPT_CASE_REFUSALS, or
 * 23505 for a case, lookup value or message stored already); nothing is then stored.
 */
export async function storeNewCase(
  db: Kysely<Schema>,
  vault: CaseVault,
  newKey: { readonly key: Buffer; readonly wrapped: Buffer },
  newCase: NewCase & { readonly urgency: Urgency | null },
  message: Omit<NewMessage, 'caseId' | 'seq' | 'author'>,
  uploads: readonly ReadyUpload[],
  shares: { readonly counters: readonly string[]; readonly limits: readonly number[] },
  action: string,
  serviceKeys: Buffer,
): Promise<void> {
  const row = newCaseRow(vault, newKey.key, newCase)
  const envelope = sealAtRest(newKey.key, caseLabel.message(newCase.id, message.id), message.envelope)
  await sql`SELECT accept_case(
    ${newCase.id}, ${newCase.kind}, ${row.lookup_id}, ${row.keys_sealed}, ${newCase.urgency}, ${newKey.wrapped},
    ${message.id}, ${envelope}, ${message.paddedSize},
    ${uploads.map((upload) => upload.id)}::text[], ${uploads.map((upload) => upload.tokenHash.toString('hex'))}::text[], ${uploads.map((upload) => upload.keyWrapped.toString('hex'))}::text[],
    ${[...shares.counters]}::text[], ${[...shares.limits]}::integer[], ${action}, ${serviceKeys})`.execute(db)
}

/** A case row with its public keys and data key opened. */
export type StoredCase = Omit<Selectable<CasesTable>, 'auth_public' | 'reply_public' | 'keys_sealed' | 'lookup_id'> & {
  readonly authPublic: Buffer
  readonly replyPublic: Buffer
  readonly dataKey: Buffer
}

function openCase(vault: CaseVault, row: Selectable<CasesTable> & { wrapped: Buffer | null }): StoredCase | undefined {
  if (row.wrapped === null) return undefined
  const dataKey = vault.unwrapCaseKey(row.id, row.wrapped)
  // The minimal record of a withdrawn case keeps no key derived from the code: empty here, and
  // every route that would use them refuses a withdrawn case first.
  if (row.keys_sealed === null && row.withdrawn_on !== null) {
    const { auth_public: _a, reply_public: _r, keys_sealed: _k, lookup_id: _l, wrapped: _w, ...kept } = row
    return { ...kept, authPublic: Buffer.alloc(0), replyPublic: Buffer.alloc(0), dataKey }
  }
  if (row.keys_sealed === null) return undefined
  const keys = openAtRest(dataKey, caseLabel.keys(row.id), row.keys_sealed)
  const { auth_public: _auth, reply_public: _reply, keys_sealed: _keys, lookup_id: _lookup, wrapped: _wrapped, ...rest } = row
  return { ...rest, authPublic: keys.subarray(0, 32), replyPublic: keys.subarray(32, 64), dataKey }
}

function selectCase(db: Db) {
  return db.selectFrom('cases').leftJoin('case_keys', 'case_keys.case_id', 'cases.id').selectAll('cases').select('case_keys.wrapped')
}

export async function findCaseByLookup(db: Db, vault: CaseVault, lookupId: Uint8Array): Promise<StoredCase | undefined> {
  const row = await selectCase(db).where('cases.lookup_id', '=', vault.lookupValue(lookupId)).executeTakeFirst()
  return row === undefined ? undefined : openCase(vault, row)
}

export async function findCase(db: Db, vault: CaseVault, id: string): Promise<StoredCase | undefined> {
  const row = await selectCase(db).where('cases.id', '=', id).executeTakeFirst()
  return row === undefined ? undefined : openCase(vault, row)
}

export interface NewMessage {
  readonly id: string
  readonly caseId: string
  readonly seq: number
  readonly author: 'reporter' | 'idva'
  readonly kind: MessageKind
  readonly envelope: Uint8Array
  readonly paddedSize: number
}

export async function insertMessage(trx: Transaction<Schema>, dataKey: Buffer, message: NewMessage): Promise<void> {
  await trx
    .insertInto('case_messages')
    .values({
      id: message.id,
      case_id: message.caseId,
      seq: message.seq,
      author: message.author,
      kind: message.kind,
      envelope: sealAtRest(dataKey, caseLabel.message(message.caseId, message.id), message.envelope),
      padded_size: message.paddedSize,
      sealed: true,
    })
    .execute()
}

/**
 * Opens what is stored for one item. An item whose seal does not open (changed in the database,
 * or moved from another row) comes out empty: the browser then shows it as "could not be decrypted
 * or verified" and the rest of the case still opens.
 */
function openItem(dataKey: Buffer, itemLabel: string, stored: Uint8Array): Buffer {
  try {
    return openAtRest(dataKey, itemLabel, stored)
  } catch (error) {
    if (error instanceof VaultError) return Buffer.alloc(0)
    throw error
  }
}

/** Opens a message envelope as stored (sealed under the case key); empty if its seal does not open. */
export function openMessage(dataKey: Buffer, caseId: string, id: string, stored: Uint8Array): Buffer {
  return openItem(dataKey, caseLabel.message(caseId, id), stored)
}

export interface NewRecord {
  readonly id: string
  readonly caseId: string
  readonly kind: RecordKind
  readonly seq: number
  readonly envelope: Uint8Array
  readonly paddedSize: number
}

export async function insertRecord(trx: Transaction<Schema>, dataKey: Buffer, record: NewRecord): Promise<void> {
  await trx
    .insertInto('case_records')
    .values({ id: record.id, case_id: record.caseId, kind: record.kind, seq: record.seq, envelope: sealAtRest(dataKey, caseLabel.record(record.caseId, record.id), record.envelope), padded_size: record.paddedSize, sealed: true })
    .execute()
}

export function openRecord(dataKey: Buffer, caseId: string, id: string, stored: Uint8Array): Buffer {
  return openItem(dataKey, caseLabel.record(caseId, id), stored)
}

/** A case's thread in order, envelopes opened from their seal at rest, with each message's evidence files. */
export async function caseThread(db: Db, dataKey: Buffer, caseId: string) {
  const messages = await db.selectFrom('case_messages').select(['id', 'seq', 'author', 'kind', 'envelope', 'created_on']).where('case_id', '=', caseId).orderBy('seq').execute()
  const evidence = await db.selectFrom('case_evidence').select(['id', 'message_id', 'size']).where('case_id', '=', caseId).execute()
  return messages.map((message) => ({
    ...message,
    envelope: openMessage(dataKey, caseId, message.id, message.envelope),
    evidence: evidence.filter((file) => file.message_id === message.id).map((file) => ({ id: file.id, size: file.size })),
  }))
}

/**
 * Evidence files are stored as they arrive, in pieces of at most this many bytes of the encrypted
 * file, each sealed on its own: no more than a piece of any upload is held in memory.
 */
export const EVIDENCE_PIECE_BYTES = 256 * 1024
/** Pieces read per query when a file is read back. */
const PIECES_PER_READ = 4

/**
 * Starts staging an upload that a message will claim: a row that holds nothing yet and that cannot
 * be claimed until completeUpload, with its hour sealed under a key only its upload token gives.
 * Returns that key, for the pieces.
 */
export async function beginUpload(db: Db, upload: { id: string; token: Uint8Array }): Promise<Buffer> {
  const key = uploadKey(upload.token)
  const expiry = Buffer.alloc(8)
  expiry.writeBigUInt64BE(BigInt(Date.now() + STAGED_UPLOAD_MS))
  await db
    .insertInto('case_evidence')
    .values({
      id: upload.id,
      case_id: null,
      message_id: null,
      upload_token_hash: sha256(upload.token),
      encrypted: null,
      pieces_sealed: null,
      size: 0,
      staged_on: sql<string>`current_date`,
      expiry_sealed: sealAtRest(key, caseLabel.uploadExpiry(upload.id), expiry),
      key_wrapped: null,
      sealed: true,
    })
    .execute()
  return key
}

/** Stores one piece of an arriving upload, sealed under its upload key and bound to the file and its place. */
export async function storeUploadPiece(db: Db, key: Buffer, id: string, piece: number, bytes: Uint8Array): Promise<void> {
  await db.insertInto('case_evidence_pieces').values({ evidence_id: id, piece, sealed: sealAtRest(key, caseLabel.uploadPiece(id, piece), bytes) }).execute()
}

function piecesRecord(pieces: number, size: number): Buffer {
  const record = Buffer.alloc(12)
  record.writeUInt32BE(pieces, 0)
  record.writeBigUInt64BE(BigInt(size), 4)
  return record
}

/**
 * Makes an upload claimable once every piece has arrived and the whole file checked out: its piece
 * count and size are sealed with it, so a piece dropped from the end is found when it is read.
 */
export async function completeUpload(db: Db, key: Buffer, id: string, pieces: number, size: number): Promise<void> {
  await db
    .updateTable('case_evidence')
    .set({ pieces_sealed: sealAtRest(key, caseLabel.uploadPieces(id), piecesRecord(pieces, size)), size })
    .where('id', '=', id)
    .where('case_id', 'is', null)
    .where('pieces_sealed', 'is', null)
    .execute()
}

/** Removes an upload that did not arrive whole, or was refused part-way; its pieces go with it. */
export async function discardUpload(db: Db, id: string): Promise<void> {
  await db.deleteFrom('case_evidence').where('id', '=', id).where('case_id', 'is', null).execute()
}

/** One of a case's evidence files, opened for reading: the bytes as the browser encrypted them. */
export interface StoredEvidence {
  readonly size: number
  /**
   * The file's bytes in order, a few pieces at a time. Throws VaultError part-way if a piece was
   * changed, moved or removed in the database since openEvidence checked the list of them.
   */
  read(): AsyncGenerator<Buffer>
}

/**
 * Opens one of a case's evidence files; null if it is not the case's. Throws VaultError when it
 * does not check out: its key or piece record does not open, its pieces are not exactly the ones
 * the record names (one dropped, added or repeated), or one of the first pieces does not open
 * (moved from another place or file, or changed). The first pieces are opened here, before anything
 * is sent; the rest as they are read. A file stored whole (before migration 0018) is opened whole.
 */
export async function openEvidence(db: Db, dataKey: Buffer, caseId: string, fileId: string): Promise<StoredEvidence | null> {
  const row = await db.selectFrom('case_evidence').select(['encrypted', 'pieces_sealed', 'key_wrapped']).where('id', '=', fileId).where('case_id', '=', caseId).executeTakeFirst()
  if (row === undefined || row.key_wrapped === null) return null
  const key = openAtRest(dataKey, caseLabel.evidenceKey(caseId, fileId), row.key_wrapped)
  if (row.encrypted !== null) {
    const whole = openAtRest(key, caseLabel.upload(fileId), row.encrypted)
    return { size: whole.length, read: async function* () { yield whole } }
  }
  if (row.pieces_sealed === null) throw new VaultError(`evidence file ${fileId} has no record of its pieces`)
  const record = openAtRest(key, caseLabel.uploadPieces(fileId), row.pieces_sealed)
  if (record.length !== 12) throw new VaultError(`evidence file ${fileId} has a malformed record of its pieces`)
  const count = record.readUInt32BE(0)
  const size = Number(record.readBigUInt64BE(4))
  const stored = await db
    .selectFrom('case_evidence_pieces')
    .select(['piece', sql<number>`octet_length(sealed)`.as('length')])
    .where('evidence_id', '=', fileId)
    .orderBy('piece')
    .execute()
  const total = stored.reduce((sum, piece) => sum + piece.length - SEALED_OVERHEAD, 0)
  if (stored.length !== count || stored.some((piece, index) => piece.piece !== index) || total !== size) throw new VaultError(`evidence file ${fileId} does not have the pieces it was stored with`)
  const readPieces = async (from: number): Promise<Buffer[]> => {
    const rows = await db
      .selectFrom('case_evidence_pieces')
      .select(['piece', 'sealed'])
      .where('evidence_id', '=', fileId)
      .where('piece', '>=', from)
      .where('piece', '<', from + PIECES_PER_READ)
      .orderBy('piece')
      .execute()
    const expected = Math.min(PIECES_PER_READ, count - from)
    if (rows.length !== expected || rows.some((row, index) => row.piece !== from + index)) throw new VaultError(`evidence file ${fileId} lost a piece while it was read`)
    return rows.map((row) => openAtRest(key, caseLabel.uploadPiece(fileId, row.piece), row.sealed))
  }
  const first = await readPieces(0)
  return {
    size,
    read: async function* () {
      yield* first
      for (let from = PIECES_PER_READ; from < count; from += PIECES_PER_READ) yield* await readPieces(from)
    },
  }
}

/**
 * One of a case's evidence files, whole, as the browser encrypted it (for a referral package, which
 * keeps its own copy); null if it is not the case's, empty if it does not check out (openEvidence).
 */
export async function evidenceFile(db: Db, dataKey: Buffer, caseId: string, fileId: string): Promise<Buffer | null> {
  try {
    const file = await openEvidence(db, dataKey, caseId, fileId)
    if (file === null) return null
    const parts: Buffer[] = []
    for await (const part of file.read()) parts.push(part)
    return Buffer.concat(parts)
  } catch (error) {
    if (error instanceof VaultError) return Buffer.alloc(0)
    throw error
  }
}

/** An upload named in a request: its id and the token the upload answer gave. */
export interface UploadClaim {
  readonly id: string
  readonly token: Buffer
}

/** An upload checked and ready to be claimed: its id, its token's hash and its key sealed under the case key. */
export interface ReadyUpload {
  readonly id: string
  readonly tokenHash: Buffer
  readonly keyWrapped: Buffer
}

/**
 * Checks staged uploads before they are attached to a message: each must exist, have arrived whole,
 * be unclaimed, unexpired and match its upload token. The key each was sealed under (from its
 * token) is sealed under the case key, so the file goes with the case. Null if any does not match.
 *
 * Read without a lock: the claim itself (claimReadyUploads, or accept_case for a new case) takes
 * only a row that is still unclaimed and has the same token, so a file claimed or deleted in
 * between is refused then.
 */
export async function readyUploads(db: Db, dataKey: Buffer, caseId: string, uploads: readonly UploadClaim[]): Promise<ReadyUpload[] | null> {
  if (uploads.length === 0) return []
  const rows = await db
    .selectFrom('case_evidence')
    .select(['id', 'upload_token_hash', 'expiry_sealed'])
    .where('id', 'in', uploads.map((upload) => upload.id))
    .where('case_id', 'is', null)
    // Only a file that arrived whole and checked out; one still arriving was not received.
    .where((eb) => eb.or([eb('pieces_sealed', 'is not', null), eb('encrypted', 'is not', null)]))
    .execute()
  const now = Date.now()
  const ready: ReadyUpload[] = []
  for (const upload of uploads) {
    const row = rows.find((candidate) => candidate.id === upload.id)
    const tokenHash = sha256(upload.token)
    if (row === undefined || row.upload_token_hash === null || row.expiry_sealed === null || !row.upload_token_hash.equals(tokenHash)) return null
    const key = uploadKey(upload.token)
    let expires: number
    try {
      expires = Number(openAtRest(key, caseLabel.uploadExpiry(upload.id), row.expiry_sealed).readBigUInt64BE())
    } catch (error) {
      if (error instanceof VaultError) return null
      throw error
    }
    if (expires <= now) return null
    ready.push({ id: upload.id, tokenHash, keyWrapped: sealAtRest(dataKey, caseLabel.evidenceKey(caseId, upload.id), key) })
  }
  return ready
}

/** Attaches checked uploads to a message, in the caller's transaction; false if any was claimed or deleted since it was checked. */
async function claimReadyUploads(trx: Transaction<Schema>, caseId: string, messageId: string, ready: readonly ReadyUpload[]): Promise<boolean> {
  for (const upload of ready) {
    const result = await trx
      .updateTable('case_evidence')
      .set({ case_id: caseId, message_id: messageId, upload_token_hash: null, staged_on: null, expiry_sealed: null, key_wrapped: upload.keyWrapped })
      .where('id', '=', upload.id)
      .where('case_id', 'is', null)
      .where('upload_token_hash', '=', upload.tokenHash)
      .where((eb) => eb.or([eb('pieces_sealed', 'is not', null), eb('encrypted', 'is not', null)]))
      .executeTakeFirst()
    if (result.numUpdatedRows !== 1n) return false
  }
  return true
}

/**
 * Attaches staged uploads to a message of an existing case, all or none (readyUploads, then the
 * claim). Returns false (and changes nothing the caller's transaction keeps) if any does not match.
 */
export async function claimUploads(trx: Transaction<Schema>, dataKey: Buffer, caseId: string, messageId: string, uploads: readonly UploadClaim[]): Promise<boolean> {
  const ready = await readyUploads(trx, dataKey, caseId, uploads)
  return ready !== null && (await claimReadyUploads(trx, caseId, messageId, ready))
}

/**
 * Staged uploads no message claimed, and those that stopped part-way (a process that died while one
 * arrived): deleted once their day and the next have passed (their hour is sealed, so the day is all
 * the database knows), their pieces with them.
 */
/** Bytes of the uploads no message has claimed, those still arriving included (their size is 0 until whole). */
export async function unclaimedUploadBytes(db: Db): Promise<number> {
  const row = await db
    .selectFrom('case_evidence')
    .select(sql<string>`coalesce(sum(size), 0)`.as('bytes'))
    .where('case_id', 'is', null)
    .executeTakeFirstOrThrow()
  return Number(row.bytes)
}

export async function deleteUnclaimedUploads(db: Db): Promise<void> {
  await db.deleteFrom('case_evidence').where('case_id', 'is', null).where('staged_on', '<', sql<string>`current_date - 1`).execute()
}
/**
 * Cases stored before sealing at rest existed (migration 20261202_0008): each gets a data key, and
 * its public keys, lookup value, messages, records and evidence are sealed as new ones are, one
 * case per transaction. Runs at start, before anything is served; returns how many it sealed.
 */
export async function sealLegacyCases(db: Kysely<Schema>, vault: CaseVault): Promise<number> {
  const legacy = await db.selectFrom('cases').select('id').where('sealed', '=', false).execute()
  let sealed = 0
  for (const { id: caseId } of legacy) {
    await db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom('cases').selectAll().where('id', '=', caseId).where('sealed', '=', false).forUpdate().executeTakeFirst()
      if (row === undefined || row.auth_public === null || row.reply_public === null) return
      const { key, wrapped } = vault.newCaseKey(caseId)
      await trx.insertInto('case_keys').values({ case_id: caseId, wrapped }).execute()
      await trx
        .updateTable('cases')
        .set({ lookup_id: vault.lookupValue(row.lookup_id), keys_sealed: sealAtRest(key, caseLabel.keys(caseId), Buffer.concat([row.auth_public, row.reply_public])), auth_public: null, reply_public: null, sealed: true })
        .where('id', '=', caseId)
        .execute()
      for (const message of await trx.selectFrom('case_messages').select(['id', 'envelope']).where('case_id', '=', caseId).where('sealed', '=', false).execute()) {
        await trx.updateTable('case_messages').set({ envelope: sealAtRest(key, caseLabel.message(caseId, message.id), message.envelope), sealed: true }).where('id', '=', message.id).execute()
      }
      for (const record of await trx.selectFrom('case_records').select(['id', 'envelope']).where('case_id', '=', caseId).where('sealed', '=', false).execute()) {
        await trx.updateTable('case_records').set({ envelope: sealAtRest(key, caseLabel.record(caseId, record.id), record.envelope), sealed: true }).where('id', '=', record.id).execute()
      }
      for (const file of await trx.selectFrom('case_evidence').select(['id', 'encrypted']).where('case_id', '=', caseId).where('sealed', '=', false).execute()) {
        // Unsealed rows predate files in pieces: each holds its file whole.
        if (file.encrypted === null) continue
        const fileKey = uploadKey(randomBytes(32))
        await trx
          .updateTable('case_evidence')
          .set({ encrypted: sealAtRest(fileKey, caseLabel.upload(file.id), file.encrypted), key_wrapped: sealAtRest(key, caseLabel.evidenceKey(caseId, file.id), fileKey), sealed: true })
          .where('id', '=', file.id)
          .execute()
      }
      sealed += 1
    })
  }
  return sealed
}

/** Counts and the last-activity day, after a message has been added. */
export async function touchCase(trx: Transaction<Schema>, caseId: string, files: number): Promise<void> {
  await trx
    .updateTable('cases')
    .set((eb) => ({ message_count: eb('message_count', '+', 1), evidence_count: eb('evidence_count', '+', files), last_activity_on: sql<string>`current_date`, awaiting_reply: true }))
    .where('id', '=', caseId)
    .execute()
  await countArrival(trx)
}

/** Something new for the IDVA service: counted for the alert email (server/alerts/alert-mailer.ts), nothing else kept. */
export async function countArrival(trx: Transaction<Schema>): Promise<void> {
  await sql`SELECT nextval('arrivals')`.execute(trx)
}
