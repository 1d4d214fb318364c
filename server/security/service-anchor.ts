import type { Kysely } from 'kysely'
import { createHash } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fingerprint } from '../../crypto/fingerprint.ts'
import { verifyKeyChain } from '../../crypto/certificates.ts'
import type { PublicKeySet } from '../../crypto/keys.ts'
import { normaliseFingerprint, type Config } from '../config.ts'
import type { Schema } from '../db/schema.ts'
import { findGroup, groupGenerations, IDVA_SERVICE_ID } from '../features/staff/repository.ts'
import type { Logger } from '../logger.ts'

/**
 * The trust anchor: the IDVA service's first-generation public keys, pinned by their fingerprint
 * OUTSIDE the database.
 *
 * Everything a reporter's browser seals is sealed to the service's current key, which it finds by
 * following the chain of generations (each certified by the one before) from the first. If the
 * first generation came from the database, an insider could replace it with keys of their own:
 * new disclosures would be sealed to them, and replies they forged would verify. So the first
 * generation is checked against SERVICE_KEY_FINGERPRINT, which lives beside SERVER_SECRET, in the
 * configuration: with the embedded database, set-up writes it to DATA_DIR/service-key-fingerprint;
 * with PostgreSQL, the operator sets it (the set-up page shows the line). The browser receives the
 * pin from here, never from a row, and checks the chain against it itself; the server checks it
 * too, before taking anything sealed to that chain. Anything that does not match fails closed:
 * the reporter's pages refuse, /healthz says why, and the browser will not seal.
 */

/** Six groups of five digits, as crypto/fingerprint.ts writes them. */
const FINGERPRINT = /^\d{5}( \d{5}){5}$/

export const PIN_FILE = 'service-key-fingerprint'

/** Writes the pin beside the server secret (mode 0600), for the embedded database; never over an existing one. */
export function writePinFile(dataDir: string, serviceFingerprint: string): string {
  if (!FINGERPRINT.test(serviceFingerprint)) throw new Error('not a fingerprint: six groups of five digits')
  const path = join(dataDir, PIN_FILE)
  writeFileSync(path, `${serviceFingerprint}\n`, { mode: 0o600, flag: 'wx' })
  return path
}

export type AnchorState =
  /** No IDVA service yet: nothing can be sent, and the pages say the portal is not open. */
  | { readonly kind: 'not_set_up' }
  /** The service exists and its first key matches the pin. */
  | { readonly kind: 'open'; readonly name: string; readonly fingerprint: string }
  /** The service exists but no fingerprint is pinned (PostgreSQL, before the operator sets it). */
  | { readonly kind: 'not_pinned'; readonly name: string }
  /** The database's first key is not the pinned one: someone changed it, or the pin is wrong. */
  | { readonly kind: 'mismatch'; readonly name: string }

/** Why the service's keys cannot be trusted right now. */
export type AnchorFault = 'not_pinned' | 'mismatch' | 'broken_chain'

export class AnchorError extends Error {
  constructor(readonly fault: AnchorFault) {
    super(`the IDVA service's key chain cannot be trusted (${fault})`)
    this.name = 'AnchorError'
  }
}

/** What /healthz and the logs say about each state, in words an operator can act on. */
export function anchorProblem(fault: AnchorState['kind'] | AnchorFault): string | null {
  switch (fault) {
    case 'not_pinned':
      return 'SERVICE_KEY_FINGERPRINT is not set: set it to the fingerprint the set-up page showed, on every instance, and restart'
    case 'mismatch':
      return "the IDVA service's first key in the database does not match SERVICE_KEY_FINGERPRINT: the database may have been changed; nothing can be sent until this is resolved"
    case 'broken_chain':
      return "a later generation of the IDVA service's key is not certified by the one before it: the database may have been changed"
    default:
      return null
  }
}

export interface VerifiedServiceKeys {
  /** The current generation: what new messages must be sealed to. */
  readonly current: PublicKeySet
  /** Every earlier generation's X25519 key: an envelope sealed to one was made before a rotation. */
  readonly previousEncryption: readonly Buffer[]
  /** Every generation's signing key, oldest first. */
  readonly signing: readonly Buffer[]
  /**
   * The digest of the chain as read (chainDigest): a new case is stored only if the database's
   * rows still give it (accept_case, migrations/20261207_0020_accept_case.ts).
   */
  readonly digest: Buffer
}

/**
 * SHA-256 over the chain's rows, oldest first: each generation's X25519 and Ed25519 keys (32 bytes
 * each), its certificate's length (4 bytes, big-endian) and the certificate. accept_case works out
 * the same from the rows it reads, in SQL.
 */
export function chainDigest(rows: readonly ServiceKeyRow[]): Buffer {
  const hash = createHash('sha256')
  for (const row of rows) {
    const certificate = row.rotation_certificate ?? Buffer.alloc(0)
    const length = Buffer.alloc(4)
    length.writeUInt32BE(certificate.length)
    hash.update(row.x25519_public).update(row.ed25519_public).update(length).update(certificate)
  }
  return hash.digest()
}

/** How long a known state is trusted before the database is read again (a live check runs on every submission). */
const REFRESH_MS = 60_000

/** What verifiedKeysFrom needs of each of the service's key generations. */
export interface ServiceKeyRow {
  readonly x25519_public: Buffer
  readonly ed25519_public: Buffer
  readonly rotation_certificate: Buffer | null
}

export class ServiceAnchor {
  #pin: string | null
  #source: 'environment' | 'file' | null
  readonly #pinPath: string | null
  #state: AnchorState | null = null
  /** The chain last checked by verifiedKeys, as read, with the pin it was checked against. */
  #lastVerified: { pin: string; read: string; keys: VerifiedServiceKeys } | null = null
  #checkedAt = 0

  constructor(
    private readonly config: Config,
    private readonly db: Kysely<Schema>,
    private readonly logger: Logger,
  ) {
    this.#pinPath = config.databaseUrl === null ? join(config.dataDir, PIN_FILE) : null
    if (config.serviceKeyFingerprint !== null) {
      this.#pin = config.serviceKeyFingerprint
      this.#source = 'environment'
    } else {
      this.#pin = this.#readPinFile()
      this.#source = this.#pin === null ? null : 'file'
    }
  }

  /** The pinned fingerprint, for pages and scripts; never read from the database. */
  get pin(): string | null {
    return this.#pin
  }

  /** Where the pin came from: the environment, the file set-up wrote, or nowhere yet. */
  get source(): 'environment' | 'file' | null {
    return this.#source
  }

  #readPinFile(): string | null {
    if (this.#pinPath === null) return null
    let raw: string
    try {
      raw = readFileSync(this.#pinPath, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw error
    }
    const pin = normaliseFingerprint(raw.trim())
    if (pin === null) throw new Error(`${this.#pinPath} does not hold a fingerprint (six groups of five digits)`)
    return pin
  }

  /**
   * The state, from a short-lived cache once the service exists (so public pages do not read the
   * database on every request), and from the database on every call until then.
   */
  async state(): Promise<AnchorState> {
    if (this.#state !== null && this.#state.kind !== 'not_set_up' && Date.now() - this.#checkedAt < REFRESH_MS) return this.#state
    return this.refresh()
  }

  /** Reads the service's first key from the database and compares it with the pin. */
  async refresh(): Promise<AnchorState> {
    const previous = this.#state
    const group = await findGroup(this.db, IDVA_SERVICE_ID)
    const first = (await groupGenerations(this.db, IDVA_SERVICE_ID))[0]
    let next: AnchorState
    if (group === undefined || first === undefined) next = { kind: 'not_set_up' }
    else if (this.#pin === null) next = { kind: 'not_pinned', name: group.name }
    else {
      const found = await fingerprint({ encryption: first.x25519_public, signing: first.ed25519_public })
      next = found === this.#pin ? { kind: 'open', name: group.name, fingerprint: this.#pin } : { kind: 'mismatch', name: group.name }
    }
    this.#state = next
    this.#checkedAt = Date.now()
    if (next.kind !== previous?.kind && (next.kind === 'mismatch' || next.kind === 'not_pinned')) {
      this.logger[next.kind === 'mismatch' ? 'error' : 'warn']({ serviceKey: next.kind }, anchorProblem(next.kind)!)
    }
    return next
  }

  /**
   * The service's keys from the database, checked now against the pin: the first generation's
   * fingerprint, then each later generation's certificate. Throws AnchorError when they do not
   * check out (and remembers the state, so the pages refuse too); null while no service exists.
   */
  async verifiedKeys(db: Kysely<Schema> = this.db): Promise<VerifiedServiceKeys | null> {
    return this.verifiedKeysFrom(await groupGenerations(db, IDVA_SERVICE_ID))
  }

  /**
   * The chain last checked against the pin, without reading the database again; read and checked
   * (verifiedKeys) when there is none. For the submission's hot path, which stores a case only if
   * the rows still give this chain's digest, and reads and checks again otherwise.
   */
  async checkedKeys(): Promise<VerifiedServiceKeys | null> {
    if (this.#lastVerified !== null && this.#lastVerified.pin === this.#pin) return this.#lastVerified.keys
    return this.verifiedKeys()
  }

  /** The same check, of the service's key rows (oldest first) read with something else. */
  async verifiedKeysFrom(rows: readonly ServiceKeyRow[]): Promise<VerifiedServiceKeys | null> {
    const first = rows[0]
    if (first === undefined) return null
    if (this.#pin === null) throw new AnchorError('not_pinned')
    // Read on every call; checked again only when what was read differs in any byte from the chain
    // last checked against this same pin (a submission is the hot path; the check is the costly part).
    const read = rows.map((row) => [row.x25519_public, row.ed25519_public, row.rotation_certificate ?? Buffer.alloc(0)].map((bytes) => bytes.toString('base64')).join('.')).join(' ')
    if (this.#lastVerified !== null && this.#lastVerified.pin === this.#pin && this.#lastVerified.read === read) return this.#lastVerified.keys
    const keys = rows.map((row) => ({ encryption: row.x25519_public, signing: row.ed25519_public }))
    // Whatever was checked before is not the chain any more: nothing is taken from it until the rows check out again.
    this.#lastVerified = null
    if ((await fingerprint(keys[0]!)) !== this.#pin) {
      await this.refresh() // so the pages refuse too, and the log says so once
      throw new AnchorError('mismatch')
    }
    try {
      await verifyKeyChain(IDVA_SERVICE_ID, keys[0]!, rows.slice(1).map((row, index) => ({ publicKeys: keys[index + 1]!, certificate: row.rotation_certificate ?? new Uint8Array(0) })))
    } catch {
      this.logger.error({ serviceKey: 'broken_chain' }, anchorProblem('broken_chain')!)
      throw new AnchorError('broken_chain')
    }
    const verified = {
      current: keys.at(-1)!,
      previousEncryption: rows.slice(0, -1).map((row) => row.x25519_public),
      signing: rows.map((row) => row.ed25519_public),
      digest: chainDigest(rows),
    }
    this.#lastVerified = { pin: this.#pin, read, keys: verified }
    return verified
  }

  /**
   * Pins a fingerprint from the configuration, as a restart with SERVICE_KEY_FINGERPRINT set would
   * (the tests use it to stand for the operator's restart on PostgreSQL). Never from a request.
   */
  pinFromConfiguration(serviceFingerprint: string): void {
    const pin = normaliseFingerprint(serviceFingerprint)
    if (pin === null) throw new Error('not a fingerprint: six groups of five digits')
    this.#pin = pin
    this.#source = 'environment'
    this.#state = null
  }

  /**
   * After set-up: with the embedded database and no pin in the environment, writes the new
   * service's fingerprint beside the server secret (mode 0600) and pins it at once. Otherwise the
   * operator must add the line this returns to the configuration of every instance.
   */
  async pinAfterSetup(serviceFingerprint: string): Promise<{ pinned: boolean; path: string | null; line: string }> {
    const line = `SERVICE_KEY_FINGERPRINT="${serviceFingerprint}"`
    if (this.#pin === null && this.config.databaseUrl === null) {
      writePinFile(this.config.dataDir, serviceFingerprint)
      this.#pin = serviceFingerprint
      this.#source = 'file'
    }
    await this.refresh()
    return { pinned: this.#pin === serviceFingerprint, path: this.#source === 'file' ? this.#pinPath : null, line }
  }
}
