import type { FastifyReply } from 'fastify'
import type { Kysely } from 'kysely'
import { Readable } from 'node:stream'
import type { Schema } from '../../db/schema.ts'
import { HttpError } from '../../errors.ts'
import { VaultError } from '../../security/case-vault.ts'
import { openEvidence, type StoredEvidence } from './repository.ts'

/**
 * Downloads of a case's evidence files (the IDVA's and the reporter's): the bytes exactly as the
 * browser encrypted them, read and sent a few pieces at a time, never whole in memory.
 *
 * A file that does not check out on the server (a piece changed, moved from another place or file,
 * or dropped, in the database) fails closed: found in its record of pieces or its first pieces,
 * it is refused before anything is sent; found further on, the connection is cut before the
 * declared length, so no client takes what arrived for the whole file.
 */

const CANNOT_OPEN = 'This file could not be opened on the server: it may have been changed where it is stored, so it was not sent.'

/** One of a case's evidence files, ready to send; null if it is not the case's. */
export async function evidenceDownload(db: Kysely<Schema>, dataKey: Buffer, caseId: string, fileId: string): Promise<StoredEvidence | null> {
  try {
    return await openEvidence(db, dataKey, caseId, fileId)
  } catch (error) {
    if (error instanceof VaultError) throw new HttpError(500, CANNOT_OPEN)
    throw error
  }
}

/** Sends it as an attachment, never to be opened in the page, with its length declared. */
export function sendEvidence(reply: FastifyReply, file: StoredEvidence): FastifyReply {
  return reply.type('application/octet-stream').header('content-disposition', 'attachment').header('content-length', file.size).send(Readable.from(file.read()))
}
