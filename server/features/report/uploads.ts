import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { createHmac, randomBytes, randomUUID } from 'node:crypto'
import type { Readable } from 'node:stream'
import { EncryptedEvidenceCheck, isCryptoError, MAX_ENCRYPTED_EVIDENCE_BYTES } from '../../../crypto/index.ts'
import { addToCounter, takeFromCounter } from '../../db/rate-limit-repository.ts'
import { HttpError } from '../../errors.ts'
import { refuseCrossSite } from '../../http/cross-site.ts'
import { normaliseAddress } from '../../plugins/rate-limit.ts'
import { CounterNames } from '../../security/counters.ts'
import { trustedServiceKeys } from '../cases/intake.ts'
import { beginUpload, completeUpload, discardUpload, EVIDENCE_PIECE_BYTES, storeUploadPiece, unclaimedUploadBytes } from '../cases/repository.ts'

/**
 * Encrypted evidence, one file per request (POST /report/uploads, used by /report and /return),
 * held for an hour until the message that carries its key claims it.
 *
 * Streamed: the body is never held whole. It is cut into pieces (EVIDENCE_PIECE_BYTES) that are
 * sealed and written as they arrive, while its shape is checked (EncryptedEvidenceCheck in
 * crypto/evidence.ts); the first byte that cannot be part of an encrypted file stops it, and what
 * was written goes. Its row can be claimed only once the whole file has arrived and checked out.
 *
 * Capped, and refused from the headers alone, before any of the body is read:
 *   415  not sent as application/octet-stream
 *   413  a declared length over the largest encrypted file; with no declared length, as soon as the
 *        bytes arriving pass it
 *   400  a declared length no encrypted file has (so it would be refused at its end anyway)
 *   429  this address (normaliseAddress: its /64, or the IPv4 address) already has
 *        UPLOADS_AT_ONCE_PER_ADDRESS files arriving at this instance, or this file would take it
 *        past UPLOAD_MB_PER_HOUR_PER_ADDRESS this hour
 *   503  UPLOADS_AT_ONCE files are arriving at this instance, or this file would take the portal
 *        past UPLOAD_MB_PER_HOUR this hour, or past UPLOAD_MB_UNCLAIMED held for messages that have
 *        not claimed them (an upload never claimed stays until its day and the next have passed,
 *        so without this a flood could park two days of the hourly volume on the disk)
 * each with Retry-After and a message that says the message can still go without its files.
 *
 * The hourly bytes are counted in the database, on the hashed counters every instance shares
 * (server/security/counters.ts), in KiB. An upload reserves its declared length (the largest file
 * when it declares none) before it is read, so uploads arriving together cannot pass a cap
 * between them, and gives back what did not arrive when it ends: a connection that declares 25 MB
 * and sends nothing uses none of anyone's hour. "At once" is counted in each instance's memory,
 * keyed by an HMAC of the address under a key made at start, so no address is kept even there.
 */

const OCTET_STREAM = /^application\/octet-stream\s*(;|$)/i
const NOT_EVIDENCE = 'This is not an encrypted file this portal can store, so nothing was stored. Files are up to 25 MB each.'
const TOO_LARGE = 'This file is larger than the portal can take (up to 25 MB each), so nothing was stored. You can send your message without it, or choose a smaller file.'
const NOT_WHOLE = 'The file did not arrive whole, so nothing was stored. Please try again.'
const WITHOUT_FILES = 'You can still send your message without files.'
/** How long to wait for uploads arriving now to finish. */
const BUSY_RETRY_SECONDS = 60
/**
 * Pieces this instance writes to the database at once: enough to keep it busy (two keep twenty
 * uploads as fast as four did, measured by test/process/upload-memory.test.ts, with about a third
 * less memory at the peak: each write in flight holds its piece sealed and its protocol message).
 * Other uploads wait their turn with their connection paused, holding no more than the piece they filled.
 */
const PIECE_WRITES_AT_ONCE = 2

function inMinutes(seconds: number): string {
  const minutes = Math.ceil(seconds / 60)
  return minutes === 1 ? 'a minute' : `${minutes} minutes`
}

function kib(bytes: number): number {
  return Math.ceil(bytes / 1024)
}

/** The body's declared length, or null when it has none (sent in chunks). */
function declaredLength(request: FastifyRequest): number | null {
  const header = request.headers['content-length']
  return header === undefined ? null : Number(header)
}

/** A refusal whose body may still be on its way: the connection closes after the answer, rather than wait for it. */
function refusal(statusCode: number, message: string, retryAfter?: number): HttpError {
  return new HttpError(statusCode, message, { connection: 'close', ...(retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) }) })
}

function formatRefusal(error: unknown): HttpError | null {
  if (!isCryptoError(error)) return null
  return error.code === 'too_large' ? refusal(413, TOO_LARGE) : refusal(400, NOT_EVIDENCE)
}

/** Uploads arriving at this instance now: in all, and by (the HMAC of) an address. */
class Arriving {
  #all = 0
  readonly #byAddress = new Map<string, number>()
  readonly #key = randomBytes(32)

  constructor(
    private readonly most: number,
    private readonly mostPerAddress: number,
  ) {}

  /** Takes a place for `address`, or refuses; the function it returns gives the place back (once). */
  take(address: string): () => void {
    const mine = createHmac('sha256', this.#key).update(address).digest('base64url')
    const held = this.#byAddress.get(mine) ?? 0
    if (held >= this.mostPerAddress) throw refusal(429, `Files are already being sent from your connection. Please let them finish, and try again in a minute. ${WITHOUT_FILES}`, BUSY_RETRY_SECONDS)
    if (this.#all >= this.most) throw refusal(503, `The portal is receiving a lot of files at the moment, so this one was not stored. Please try again in a minute. ${WITHOUT_FILES} If you are in danger now, call 999.`, BUSY_RETRY_SECONDS)
    this.#all += 1
    this.#byAddress.set(mine, held + 1)
    let given = false
    return () => {
      if (given) return
      given = true
      this.#all -= 1
      const left = (this.#byAddress.get(mine) ?? 1) - 1
      if (left === 0) this.#byAddress.delete(mine)
      else this.#byAddress.set(mine, left)
    }
  }
}

/** At most `most` pieces of work at once; the rest wait their turn, in order. */
class Turns {
  #running = 0
  readonly #waiting: (() => void)[] = []

  constructor(private readonly most: number) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#running < this.most) this.#running += 1
    else await new Promise<void>((resolve) => this.#waiting.push(resolve))
    try {
      return await work()
    } finally {
      // The turn passes straight to the next in line, if any.
      const next = this.#waiting.shift()
      if (next === undefined) this.#running -= 1
      else next()
    }
  }
}

/** An admitted upload: the check its bytes go through, and what it holds until it ends (its place, its reservation of this hour's bytes). */
interface Admission {
  readonly check: EncryptedEvidenceCheck
  /** Gives back the place, and the part of the reservation the bytes received so far did not use (once). */
  settle(): Promise<void>
}

const uploadRoutes: FastifyPluginAsync = async (app) => {
  const db = app.database.db
  const { publicOrigin, uploadsAtOnce, uploadsAtOncePerAddress, uploadMegabytesPerHour, uploadMegabytesPerHourPerAddress, uploadMegabytesUnclaimed } = app.config
  const arriving = new Arriving(uploadsAtOnce, uploadsAtOncePerAddress)
  const writes = new Turns(PIECE_WRITES_AT_ONCE)
  const names = new CounterNames(app.config.serverSecret)
  const admitted = new WeakMap<FastifyRequest, Admission>()

  /** Reserves `amount` KiB of this hour's share of `address` and of the portal's, or refuses. */
  async function reserve(address: string, amount: number): Promise<readonly string[]> {
    const mine = names.name('upload-kib', address, 3600)
    if ((await addToCounter(db, mine.counter, amount)) > uploadMegabytesPerHourPerAddress * 1024) {
      await takeFromCounter(db, mine.counter, amount)
      throw refusal(429, `A lot of files have been sent from your connection this hour, so this one was not stored. Please try again in ${inMinutes(mine.secondsLeft)}. ${WITHOUT_FILES}`, mine.secondsLeft)
    }
    const everyone = names.name('global:upload-kib', '', 3600)
    if ((await addToCounter(db, everyone.counter, amount)) > uploadMegabytesPerHour * 1024) {
      await takeFromCounter(db, everyone.counter, amount)
      await takeFromCounter(db, mine.counter, amount)
      throw refusal(503, `The portal has received as many files as it can take this hour, so this one was not stored. Please try again in ${inMinutes(everyone.secondsLeft)}. ${WITHOUT_FILES} If you are in danger now, call 999.`, everyone.secondsLeft)
    }
    return [mine.counter, everyone.counter]
  }

  /** Everything that can be decided from the headers, before any of the body is read. */
  async function admit(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    refuseCrossSite(request, publicOrigin)
    if (!OCTET_STREAM.test(request.headers['content-type'] ?? '')) throw refusal(415, 'Files are sent encrypted, as application/octet-stream.')
    const declared = declaredLength(request)
    let check: EncryptedEvidenceCheck
    try {
      check = new EncryptedEvidenceCheck(declared)
    } catch (error) {
      throw formatRefusal(error) ?? error
    }
    await trustedServiceKeys(app)
    // Files arriving now count only once whole; UPLOADS_AT_ONCE bounds those (25 MB each).
    if ((await unclaimedUploadBytes(db)) + (declared ?? MAX_ENCRYPTED_EVIDENCE_BYTES) > uploadMegabytesUnclaimed * 1024 * 1024) {
      throw refusal(503, `The portal is holding as many files as it can for messages not yet sent, so this one was not stored. Please try again later. ${WITHOUT_FILES} If you are in danger now, call 999.`, 3600)
    }
    const address = normaliseAddress(request.ip)
    const giveBack = arriving.take(address)
    const reserved = kib(declared ?? MAX_ENCRYPTED_EVIDENCE_BYTES)
    let counters: readonly string[]
    try {
      counters = await reserve(address, reserved)
    } catch (error) {
      giveBack()
      throw error
    }
    let settled: Promise<void> | undefined
    const admission: Admission = {
      check,
      settle() {
        settled ??= (async () => {
          giveBack()
          const unused = reserved - kib(check.received)
          if (unused > 0) for (const counter of counters) await takeFromCounter(db, counter, unused)
        })()
        return settled
      },
    }
    admitted.set(request, admission)
    // The handler settles when it ends; this is for a connection that ends first (the client went away).
    reply.raw.once('close', () => void admission.settle().catch((error: unknown) => request.log.warn({ err: error }, 'could not give back an upload reservation')))
  }

  // The body reaches the handler unread, as a stream.
  app.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload))

  app.post(
    '/report/uploads',
    { onRequest: admit, handlerTimeout: 120_000, config: { rateLimit: { name: 'report-upload', max: 40, windowSeconds: 3600 } } },
    async (request, reply) => {
      const admission = admitted.get(request)
      if (admission === undefined) throw new Error('an upload reached its handler without being admitted')
      const { check } = admission
      const body = request.body as Readable
      // When the route's time is up (handlerTimeout), stop reading: what arrived goes.
      request.signal.addEventListener('abort', () => body.destroy(), { once: true })
      const id = randomUUID()
      const token = randomBytes(32)
      try {
        const key = await beginUpload(db, { id, token })
        try {
          // One piece's worth of memory per upload, filled again once its bytes are written (sealed, so copied).
          const piece = Buffer.allocUnsafe(EVIDENCE_PIECE_BYTES)
          let filled = 0
          let pieces = 0
          // Stopping early must not destroy the body: that would close the connection before the refusal is sent.
          for await (const data of body.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
            check.push(data)
            for (let offset = 0; offset < data.length; ) {
              const taken = data.copy(piece, filled, offset)
              filled += taken
              offset += taken
              if (filled === EVIDENCE_PIECE_BYTES) {
                const index = pieces++
                await writes.run(() => storeUploadPiece(db, key, id, index, piece))
                filled = 0
              }
            }
          }
          check.finish()
          if (filled > 0) {
            const index = pieces++
            await writes.run(() => storeUploadPiece(db, key, id, index, piece.subarray(0, filled)))
          }
          await completeUpload(db, key, id, pieces, check.received)
        } catch (error) {
          await discardUpload(db, id).catch((cleanUp: unknown) => request.log.warn({ err: cleanUp }, 'could not remove an upload that did not arrive whole; the hourly clean-up will'))
          // The connection went (or the route's time ran out) before the body ended.
          if (request.raw.destroyed && !request.raw.readableEnded) throw refusal(400, NOT_WHOLE)
          throw formatRefusal(error) ?? error
        }
      } finally {
        await admission.settle()
      }
      return reply.code(201).send({ id, token: token.toString('base64url') })
    },
  )
}

export default uploadRoutes
