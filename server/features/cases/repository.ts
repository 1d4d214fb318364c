import { sql, type Kysely, type Transaction } from 'kysely'
import type { Schema } from '../../db/schema.ts'
import { groupGenerations, IDVA_SERVICE_ID } from '../staff/repository.ts'

/** SQL for cases, their threads and evidence. Plain functions taking the database or a transaction. */

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

/** The service's current X25519 key and its earlier ones, or null while the portal is not open. */
export async function serviceEncryptionKeys(db: Db): Promise<{ current: Buffer; previous: Buffer[] } | null> {
  const rows = await groupGenerations(db, IDVA_SERVICE_ID)
  const current = rows.at(-1)
  if (current === undefined) return null
  return { current: current.x25519_public, previous: rows.slice(0, -1).map((row) => row.x25519_public) }
}

export async function findCaseByLookup(db: Db, lookupId: Buffer) {
  return db.selectFrom('cases').selectAll().where('lookup_id', '=', lookupId).executeTakeFirst()
}

export async function findCase(db: Db, id: string) {
  return db.selectFrom('cases').selectAll().where('id', '=', id).executeTakeFirst()
}

/** A case's thread in order, with the ids and sizes of each message's evidence files. */
export async function caseThread(db: Db, caseId: string) {
  const messages = await db.selectFrom('case_messages').select(['id', 'seq', 'author', 'kind', 'envelope', 'created_on']).where('case_id', '=', caseId).orderBy('seq').execute()
  const evidence = await db.selectFrom('case_evidence').select(['id', 'message_id', 'size']).where('case_id', '=', caseId).execute()
  return messages.map((message) => ({ ...message, evidence: evidence.filter((file) => file.message_id === message.id).map((file) => ({ id: file.id, size: file.size })) }))
}

/**
 * Attaches staged uploads to a message, all or none: each must exist, be unclaimed, unexpired and
 * match its upload token. Returns false (and changes nothing the caller's transaction keeps) if any
 * does not.
 */
export async function claimUploads(trx: Transaction<Schema>, caseId: string, messageId: string, uploads: readonly { id: string; tokenHash: Buffer }[]): Promise<boolean> {
  if (uploads.length === 0) return true
  const rows = await trx
    .selectFrom('case_evidence')
    .select(['id', 'upload_token_hash', 'staged_until'])
    .where('id', 'in', uploads.map((upload) => upload.id))
    .forUpdate()
    .execute()
  const now = Date.now()
  const valid = uploads.every((upload) => {
    const row = rows.find((candidate) => candidate.id === upload.id)
    return row !== undefined && row.upload_token_hash !== null && row.upload_token_hash.equals(upload.tokenHash) && row.staged_until !== null && row.staged_until.getTime() > now
  })
  if (!valid) return false
  await trx
    .updateTable('case_evidence')
    .set({ case_id: caseId, message_id: messageId, upload_token_hash: null, staged_until: null })
    .where('id', 'in', uploads.map((upload) => upload.id))
    .execute()
  return true
}

/** Counts and the last-activity day, after a message has been added. */
export async function touchCase(trx: Transaction<Schema>, caseId: string, files: number): Promise<void> {
  await trx
    .updateTable('cases')
    .set((eb) => ({ message_count: eb('message_count', '+', 1), evidence_count: eb('evidence_count', '+', files), last_activity_on: sql<string>`current_date` }))
    .where('id', '=', caseId)
    .execute()
}
