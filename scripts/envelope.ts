/**
 * Envelope tool, for operators and for anyone checking the format independently:
 *
 *   npm run --silent envelope -- keygen --out DIR
 *   npm run --silent envelope -- seal --to PUBLIC_KEY_FILE --case CASE_ID [--kind KIND] [--sign SECRET_KEY_FILE] < plaintext > envelope
 *   npm run --silent envelope -- open --key SECRET_KEY_FILE --case CASE_ID [--signer PUBLIC_KEY_FILE ...] < envelope > plaintext
 *   npm run --silent envelope -- fingerprint PUBLIC_KEY_FILE
 *   npm run --silent envelope -- open-package --key SECRET_KEY_FILE --service-fingerprint "12345 ..." [--out DIR] < package.sdpkg.json
 *
 * Envelopes are binary on standard input and output. Any failure (wrong key, altered envelope, wrong
 * case id, unreadable file, bad arguments) exits 2 with one line on standard error and writes
 * nothing to standard output.
 *
 * open-package is for an investigating unit of a force with no accounts on the portal: it checks an
 * exported referral package (format "sd-referral-export-v1", crypto/referrals.ts) against the IDVA
 * service's fingerprint from the posters, opens it with the unit's secret key, prints its content
 * as JSON and, with --out, decrypts the evidence files it names into DIR.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import {
  base64url,
  CryptoError,
  decodePublicKeySet,
  decodeSecretKeySet,
  decryptEvidence,
  encodePublicKeySet,
  encodeSecretKeySet,
  ENVELOPE_KINDS,
  fingerprint,
  fromUtf8,
  generateKeySet,
  isEnvelopeKind,
  MAX_ENCRYPTED_EVIDENCE_BYTES,
  MAX_ENVELOPE_BYTES,
  MAX_PADDED_PLAINTEXT,
  openEnvelope,
  publicKeysOf,
  readPackageContent,
  referralContext,
  sealEnvelope,
  UUID,
  verifyKeyChain,
  type EvidenceReference,
  type KeySet,
  type PackageContent,
  type PublicKeySet,
  type Track,
} from '../crypto/index.ts'
import { exitQuietlyOnClosedPipe } from './stdout.ts'

exitQuietlyOnClosedPipe()

class UsageError extends Error {}

/** A refused input, with a message that says plainly what is wrong (never a CryptoError's generic one). */
class Refused extends Error {}

const USAGE =
  'usage: envelope keygen --out DIR | seal --to PUBLIC_KEY_FILE --case CASE_ID [--kind KIND] [--sign SECRET_KEY_FILE] | open --key SECRET_KEY_FILE --case CASE_ID [--signer PUBLIC_KEY_FILE] | fingerprint PUBLIC_KEY_FILE | open-package --key SECRET_KEY_FILE --service-fingerprint FINGERPRINT [--out DIR] < package.sdpkg.json'

const EXPLANATIONS: Partial<Record<CryptoError['code'], string>> = {
  signature_required: 'this kind of envelope must be signed (seal with --sign; an unsigned one cannot be opened with --signer)',
  decryption_failed: 'cannot open this envelope: wrong key, wrong case id, or it has been altered',
  not_a_recipient: 'this key is not one of the envelope\'s recipients',
  bad_signature: 'the signature does not verify: the envelope has been altered or the case id is wrong',
  unknown_signer: 'the envelope is signed by a key not given with --signer',
  malformed: 'this is not a valid envelope or key file',
  unsupported: 'this envelope or key file uses a version or kind this tool does not know',
  too_large: 'the input is larger than the format allows',
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (error) {
    throw new UsageError(`cannot read the ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`)
  }
}

async function readStdin(limit: number, what: string): Promise<Uint8Array> {
  const chunks: Buffer[] = []
  let length = 0
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    length += chunk.length
    if (length > limit) throw new UsageError(`the ${what} on standard input is larger than ${limit} bytes`)
    chunks.push(chunk)
  }
  return new Uint8Array(Buffer.concat(chunks))
}

function required(value: string | undefined, flag: string): string {
  if (value === undefined || value === '') throw new UsageError(`${flag} is required. ${USAGE}`)
  return value
}

// ---------------------------------------------------------------------------------------------
// open-package: an exported referral package, for a unit of a force with no accounts here.

/** The IDVA service's group id: the only id its rotation certificates are issued for. */
const IDVA_SERVICE_ID = 'idva-service'
const EXPORT_FORMAT = 'sd-referral-export-v1'
/** An export file holds one package and its evidence files, still encrypted: 256 MiB is ample. */
const MAX_EXPORT_BYTES = 256 * 1024 * 1024
const MAX_GENERATIONS = 16
/** As many evidence files as a package may name (readPackageContent). */
const MAX_EXPORTED_FILES = 100
const GROUP_ID = /^[A-Za-z0-9._:-]{1,128}$/

interface ReadExport {
  readonly caseId: string
  readonly referralId: string
  readonly track: Track
  readonly unit: string
  readonly service: readonly { readonly publicKeys: PublicKeySet; readonly certificate: Uint8Array | null }[]
  readonly envelope: Uint8Array
  readonly evidence: ReadonlyMap<string, Uint8Array>
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Exactly these fields, no others (a later format gets a new format string). */
function hasExactly(value: Record<string, unknown>, fields: readonly string[]): boolean {
  const keys = Object.keys(value)
  return keys.length === fields.length && fields.every((field) => Object.hasOwn(value, field))
}

/** Canonical base64url, not empty, of exactly `length` bytes or at most `max`. */
function decodeField(value: unknown, what: string, size: { length: number } | { max: number }): Uint8Array {
  if (typeof value !== 'string' || value === '') throw new Refused(`the package file is not valid: ${what} is missing`)
  const max = 'length' in size ? size.length : size.max
  let bytes: Uint8Array
  try {
    bytes = base64url.decode(value, what, max)
  } catch (error) {
    if (error instanceof CryptoError && error.code === 'too_large') throw new Refused(`the package file is not valid: ${what} is larger than the format allows`)
    throw new Refused(`the package file is not valid: ${what} is not base64url`)
  }
  if ('length' in size && bytes.length !== size.length) throw new Refused(`the package file is not valid: ${what} is not ${size.length} bytes`)
  if (bytes.length > max) throw new Refused(`the package file is not valid: ${what} is larger than the format allows`)
  return bytes
}

/** Reads an export file strictly: every field checked, nothing else accepted. */
function readExportFile(bytes: Uint8Array): ReadExport {
  let value: unknown
  try {
    value = JSON.parse(fromUtf8(bytes))
  } catch {
    throw new Refused('standard input is not a referral package file: it is not JSON text')
  }
  if (!isPlainObject(value) || value.format !== EXPORT_FORMAT) throw new Refused(`standard input is not a referral package file (format ${EXPORT_FORMAT})`)
  if (!hasExactly(value, ['format', 'caseId', 'referralId', 'track', 'unit', 'service', 'envelope', 'evidence'])) {
    throw new Refused('the package file is not valid: it has missing or unknown fields')
  }
  const { caseId, referralId, track, unit, service, evidence } = value
  if (typeof caseId !== 'string' || !GROUP_ID.test(caseId)) throw new Refused('the package file is not valid: the case id is not one the portal makes')
  if (typeof referralId !== 'string' || !UUID.test(referralId)) throw new Refused('the package file is not valid: the referral id is not a UUID')
  if (track !== 'criminal' && track !== 'misconduct') throw new Refused('the package file is not valid: the track is neither criminal nor misconduct')
  if (typeof unit !== 'string' || !GROUP_ID.test(unit)) throw new Refused('the package file is not valid: the unit id is not valid')

  if (!isPlainObject(service) || !hasExactly(service, ['id', 'generations'])) throw new Refused('the package file is not valid: the IDVA service\'s keys are missing or have unknown fields')
  // Only the service's own id: a unit's keys certified by the service (same signer, another id)
  // must never pass for a generation of the service's keys.
  if (service.id !== IDVA_SERVICE_ID) throw new Refused(`the package file is not valid: the service id is not ${IDVA_SERVICE_ID}`)
  const generations = service.generations
  if (!Array.isArray(generations) || generations.length < 1 || generations.length > MAX_GENERATIONS) {
    throw new Refused(`the package file is not valid: the IDVA service's keys are not a list of 1 to ${MAX_GENERATIONS} generations`)
  }
  const chain = generations.map((generation: unknown, index) => {
    const what = `generation ${index + 1} of the IDVA service's keys`
    if (!isPlainObject(generation) || !hasExactly(generation, ['x25519', 'ed25519', 'certificate'])) throw new Refused(`the package file is not valid: ${what} has missing or unknown fields`)
    const publicKeys = { encryption: decodeField(generation.x25519, `the X25519 key of ${what}`, { length: 32 }), signing: decodeField(generation.ed25519, `the Ed25519 key of ${what}`, { length: 32 }) }
    // Generation 1 is the published key (no certificate); each later one is certified by the one before.
    if (index === 0) {
      if (generation.certificate !== null) throw new Refused('the package file is not valid: the IDVA service\'s first key carries a certificate')
      return { publicKeys, certificate: null }
    }
    return { publicKeys, certificate: decodeField(generation.certificate, `the certificate of ${what}`, { length: 64 }) }
  })

  const envelope = decodeField(value.envelope, 'the envelope', { max: MAX_ENVELOPE_BYTES })
  if (!isPlainObject(evidence)) throw new Refused('the package file is not valid: the evidence files are not a list by upload id')
  const entries = Object.entries(evidence)
  if (entries.length > MAX_EXPORTED_FILES) throw new Refused(`the package file is not valid: it holds more than ${MAX_EXPORTED_FILES} evidence files`)
  const files = new Map<string, Uint8Array>()
  for (const [id, encrypted] of entries) {
    if (!UUID.test(id)) throw new Refused('the package file is not valid: an evidence file\'s upload id is not a UUID')
    files.set(id, decodeField(encrypted, 'an evidence file', { max: MAX_ENCRYPTED_EVIDENCE_BYTES }))
  }
  return { caseId, referralId, track, unit, service: chain, envelope, evidence: files }
}

/** "12345 67890 …" from any spacing of the 30 digits (as the portal reads SERVICE_KEY_FINGERPRINT); null if it is not one. */
function normaliseFingerprint(value: string): string | null {
  const digits = value.replace(/[\s:-]/g, '')
  if (!/^\d{30}$/.test(digits)) return null
  return digits.match(/\d{5}/g)!.join(' ')
}

/**
 * The IDVA service's signing keys, every generation, once the chain checks out: the first
 * generation is the one whose fingerprint is on the posters, and each later one is certified by the
 * one before.
 */
async function checkServiceChain(chain: ReadExport['service'], pinned: string): Promise<Uint8Array[]> {
  const first = chain[0]!
  const found = await fingerprint(first.publicKeys)
  if (found !== pinned) {
    throw new Refused(`the IDVA service key in this file has fingerprint ${found}, not the one given with --service-fingerprint: do not trust this file (or check the fingerprint you typed)`)
  }
  try {
    await verifyKeyChain(IDVA_SERVICE_ID, first.publicKeys, chain.slice(1).map((generation) => ({ publicKeys: generation.publicKeys, certificate: generation.certificate! })))
  } catch (error) {
    if (!(error instanceof CryptoError)) throw error
    throw new Refused(`the IDVA service's key chain in this file is broken (${error.message}): do not trust this file`)
  }
  return chain.map((generation) => generation.publicKeys.signing)
}

const PACKAGE_PROBLEMS: Partial<Record<CryptoError['code'], string>> = {
  not_a_recipient: 'this key cannot open the package: it was sealed for another unit (check --key)',
  unknown_signer: 'the package is not signed by the IDVA service: its signer is not in the service\'s key chain',
  signature_required: 'the package is not signed by the IDVA service',
  bad_signature: 'the package\'s signature does not verify: it has been altered, or its case, track or referral id has been changed',
  decryption_failed: 'cannot open the package: it has been altered, or its case, track or referral id has been changed',
  wrong_kind: 'the envelope in this file is not a referral package',
}

/** Opens and checks the package; returns its content only when every check has passed. */
async function openPackage(file: ReadExport, unitKeys: KeySet, serviceSigners: readonly Uint8Array[]): Promise<PackageContent> {
  let plaintext: Uint8Array
  try {
    const opened = await openEnvelope(file.envelope, {
      caseId: file.caseId,
      keys: [unitKeys.encryption],
      expectKind: 'referral_package',
      trustedSigners: serviceSigners,
      requireSignature: true,
      context: referralContext(file.track, file.referralId),
    })
    plaintext = opened.plaintext
  } catch (error) {
    if (!(error instanceof CryptoError)) throw error
    throw new Refused(PACKAGE_PROBLEMS[error.code] ?? 'the envelope in this file is not a valid envelope')
  }
  let content: PackageContent
  try {
    content = readPackageContent(fromUtf8(plaintext), { track: file.track, referralId: file.referralId })
  } catch (error) {
    if (!(error instanceof CryptoError)) throw error
    throw new Refused(`the package's content is not valid: ${error.message}`)
  }
  if (content.to.unit !== file.unit) throw new Refused('the package is addressed to another unit than the file says')
  return content
}

/**
 * A file name that cannot leave DIR, hide, or disguise itself: no path separators, control,
 * format (bidirectional, zero-width) or line-separator characters, nor characters Windows forbids;
 * no leading dots or spaces, no trailing dots or spaces; at most 200 bytes of UTF-8. Prefixed with
 * the file's position in the package, so two files of the same name do not collide.
 */
function safeFileName(name: string, index: number, count: number): string {
  let safe = name
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '')
    .replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, '')
    .replace(/[/\\<>:"|?*]/g, '_')
    .replace(/^[.\s]+/u, '')
    .replace(/[.\s]+$/u, '')
  while (Buffer.byteLength(safe, 'utf8') > 200) safe = [...safe].slice(0, -1).join('')
  const position = String(index + 1).padStart(String(count).length, '0')
  return `${position}-${safe === '' ? 'file' : safe}`
}

/** DIR must not exist yet (it is created), or be an empty folder (not a link to one). */
function checkOutDir(dir: string): 'absent' | 'empty' {
  let stats
  try {
    stats = lstatSync(dir)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'absent'
    throw new UsageError(`cannot use --out ${dir}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`)
  }
  if (!stats.isDirectory()) throw new UsageError(`--out ${dir} already exists and is not a folder; give a new or empty folder`)
  if (readdirSync(dir).length > 0) throw new UsageError(`--out ${dir} is not empty; give a new or empty folder, so no file is overwritten`)
  return 'empty'
}

/** The export holds exactly the evidence files the package names (whether or not they are saved now). */
function checkEvidenceFiles(references: readonly EvidenceReference[], files: ReadonlyMap<string, Uint8Array>): void {
  const missing = references.findIndex((reference) => !files.has(reference.id))
  if (missing >= 0) throw new Refused(`evidence file ${missing + 1} of the package is missing from the package file`)
  const named = new Set(references.map((reference) => reference.id))
  if ([...files.keys()].some((id) => !named.has(id))) throw new Refused('the package file holds an evidence file the package does not name')
}

/** Decrypts every evidence file the package names, all or nothing, before anything is written. */
async function decryptPackageEvidence(references: readonly EvidenceReference[], files: ReadonlyMap<string, Uint8Array>): Promise<Uint8Array[]> {
  checkEvidenceFiles(references, files)
  const decrypted: Uint8Array[] = []
  for (const [index, reference] of references.entries()) {
    const what = `evidence file ${index + 1} of the package`
    const encrypted = files.get(reference.id)!
    let key: { fileId: Uint8Array; key: Uint8Array }
    try {
      key = { fileId: base64url.decode(reference.fileId, 'file id', 16), key: base64url.decode(reference.key, 'file key', 32) }
    } catch {
      throw new Refused(`the key of ${what} is not valid`)
    }
    if (key.fileId.length !== 16 || key.key.length !== 32) throw new Refused(`the key of ${what} is not valid`)
    try {
      decrypted.push(await decryptEvidence(encrypted, key))
    } catch (error) {
      if (!(error instanceof CryptoError)) throw error
      throw new Refused(
        error.code === 'decryption_failed'
          ? `${what} does not decrypt with its key: it has been altered or swapped`
          : error.code === 'truncated'
            ? `${what} is truncated`
            : `${what} is not a valid encrypted evidence file`,
      )
    }
  }
  return decrypted
}

/** Writes the decrypted files into DIR (mode 0700, files 0600); on any failure removes what it wrote. */
function writeEvidence(dir: string, state: 'absent' | 'empty', references: readonly EvidenceReference[], contents: readonly Uint8Array[]): void {
  if (state === 'absent') mkdirSync(dir, { recursive: true, mode: 0o700 })
  else checkOutDir(dir)
  const written: string[] = []
  try {
    for (const [index, reference] of references.entries()) {
      const path = join(dir, safeFileName(reference.name, index, references.length))
      // 'wx': never overwrite, never follow a link put there meanwhile.
      writeFileSync(path, contents[index]!, { mode: 0o600, flag: 'wx' })
      written.push(path)
    }
  } catch (error) {
    for (const path of written) rmSync(path, { force: true })
    if (state === 'absent') {
      try {
        rmdirSync(dir)
      } catch {
        // Left in place if something else appeared in it.
      }
    }
    throw new Refused(`cannot write the evidence files into ${dir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message.split('\n')[0]}`)
  }
}

/**
 * JSON for a terminal: the characters JSON.stringify leaves raw that a terminal may act on or that
 * disguise text (DEL and C1 controls, format characters such as bidirectional overrides, line and
 * paragraph separators) are written as \\u escapes, which JSON.parse reads back the same.
 */
function terminalSafeJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/[\u007f-\u009f\p{Cf}\u2028\u2029]/gu, (character) =>
    Array.from({ length: character.length }, (_, index) => `\\u${character.charCodeAt(index).toString(16).padStart(4, '0')}`).join(''),
  )
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv
  switch (command) {
    case 'keygen': {
      const { values } = parseArgs({ args: rest, options: { out: { type: 'string' } }, strict: true })
      const dir = required(values.out, '--out')
      mkdirSync(dir, { recursive: true })
      const secretPath = join(dir, 'secret.key')
      if (existsSync(secretPath)) throw new UsageError(`${secretPath} already exists; not overwriting a secret key`)
      const keys = await generateKeySet()
      writeFileSync(secretPath, `${await encodeSecretKeySet(keys)}\n`, { mode: 0o600, flag: 'wx' })
      writeFileSync(join(dir, 'public.key'), `${encodePublicKeySet(publicKeysOf(keys))}\n`, { mode: 0o644 })
      process.stdout.write(`${await fingerprint(publicKeysOf(keys))}\n`)
      return
    }
    case 'seal': {
      const { values } = parseArgs({
        args: rest,
        options: { to: { type: 'string' }, case: { type: 'string' }, kind: { type: 'string' }, sign: { type: 'string' } },
        strict: true,
      })
      const recipient = decodePublicKeySet(readText(required(values.to, '--to'), 'public key file'))
      const kind = values.kind ?? 'disclosure'
      // Own keys only: `in` would also find inherited names such as toString or __proto__.
      if (!isEnvelopeKind(kind)) throw new UsageError(`--kind must be one of ${Object.keys(ENVELOPE_KINDS).join(', ')}`)
      const signer = values.sign === undefined ? undefined : (await decodeSecretKeySet(readText(values.sign, 'secret key file'))).signing
      const plaintext = await readStdin(MAX_PADDED_PLAINTEXT, 'plaintext')
      const envelope = await sealEnvelope({
        kind,
        caseId: required(values.case, '--case'),
        plaintext,
        recipients: [recipient.encryption],
        ...(signer === undefined ? {} : { signer }),
      })
      process.stdout.write(envelope)
      return
    }
    case 'open': {
      const { values } = parseArgs({
        args: rest,
        options: { key: { type: 'string' }, case: { type: 'string' }, signer: { type: 'string', multiple: true } },
        strict: true,
      })
      const keys = await decodeSecretKeySet(readText(required(values.key, '--key'), 'secret key file'))
      const trustedSigners = (values.signer ?? []).map((path) => decodePublicKeySet(readText(path, 'public key file')).signing)
      const caseId = required(values.case, '--case')
      const envelope = await readStdin(MAX_ENVELOPE_BYTES, 'envelope')
      // Naming a signer means the envelope must be signed by it: an unsigned one is refused.
      const opened = await openEnvelope(envelope, { caseId, keys: [keys.encryption], trustedSigners, requireSignature: trustedSigners.length > 0 })
      process.stdout.write(opened.plaintext)
      return
    }
    case 'fingerprint': {
      const { positionals } = parseArgs({ args: rest, allowPositionals: true, strict: true })
      if (positionals.length !== 1) throw new UsageError(USAGE)
      process.stdout.write(`${await fingerprint(decodePublicKeySet(readText(positionals[0]!, 'public key file')))}\n`)
      return
    }
    case 'open-package': {
      const { values } = parseArgs({
        args: rest,
        options: { key: { type: 'string' }, 'service-fingerprint': { type: 'string' }, out: { type: 'string' } },
        strict: true,
      })
      const keyPath = required(values.key, '--key')
      const pinned = normaliseFingerprint(required(values['service-fingerprint'], '--service-fingerprint'))
      if (pinned === null) throw new UsageError('--service-fingerprint must be the IDVA service\'s fingerprint from its posters: six groups of five digits')
      const out = values.out === undefined ? null : { dir: required(values.out, '--out'), state: checkOutDir(values.out) }
      let unitKeys: KeySet
      try {
        unitKeys = await decodeSecretKeySet(readText(keyPath, 'secret key file'))
      } catch (error) {
        if (!(error instanceof CryptoError)) throw error
        throw new Refused(`${keyPath} is not a valid secret key file`)
      }
      const file = readExportFile(await readStdin(MAX_EXPORT_BYTES, 'package file'))
      const serviceSigners = await checkServiceChain(file.service, pinned)
      const content = await openPackage(file, unitKeys, serviceSigners)
      if (out === null) checkEvidenceFiles(content.evidence, file.evidence)
      else writeEvidence(out.dir, out.state, content.evidence, await decryptPackageEvidence(content.evidence, file.evidence))
      process.stdout.write(`${terminalSafeJson(content)}\n`)
      return
    }
    default:
      throw new UsageError(USAGE)
  }
}

try {
  await main(process.argv.slice(2))
} catch (error) {
  const message =
    error instanceof CryptoError
      ? (EXPLANATIONS[error.code] ?? error.message)
      : error instanceof UsageError || error instanceof Refused || (error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')
        ? (error as Error).message
        : `failed: ${(error as Error).message.split('\n')[0]}`
  process.stderr.write(`envelope: ${message}\n`)
  process.exitCode = 2
}
