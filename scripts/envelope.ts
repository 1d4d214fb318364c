/**
 * Envelope tool, for operators and for anyone checking the format independently:
 *
 *   npm run --silent envelope -- keygen --out DIR
 *   npm run --silent envelope -- seal --to PUBLIC_KEY_FILE --case CASE_ID [--kind KIND] [--sign SECRET_KEY_FILE] < plaintext > envelope
 *   npm run --silent envelope -- open --key SECRET_KEY_FILE --case CASE_ID [--signer PUBLIC_KEY_FILE ...] < envelope > plaintext
 *   npm run --silent envelope -- fingerprint PUBLIC_KEY_FILE
 *
 * Envelopes are binary on standard input and output. Any failure (wrong key, altered envelope, wrong
 * case id, unreadable file, bad arguments) exits 2 with one line on standard error and writes
 * nothing to standard output.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import {
  CryptoError,
  decodePublicKeySet,
  decodeSecretKeySet,
  encodePublicKeySet,
  encodeSecretKeySet,
  ENVELOPE_KINDS,
  fingerprint,
  generateKeySet,
  isEnvelopeKind,
  MAX_ENVELOPE_BYTES,
  MAX_PADDED_PLAINTEXT,
  openEnvelope,
  publicKeysOf,
  sealEnvelope,
} from '../crypto/index.ts'
import { exitQuietlyOnClosedPipe } from './stdout.ts'

exitQuietlyOnClosedPipe()

class UsageError extends Error {}

const USAGE =
  'usage: envelope keygen --out DIR | seal --to PUBLIC_KEY_FILE --case CASE_ID [--kind KIND] [--sign SECRET_KEY_FILE] | open --key SECRET_KEY_FILE --case CASE_ID [--signer PUBLIC_KEY_FILE] | fingerprint PUBLIC_KEY_FILE'

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
      : error instanceof UsageError || (error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')
        ? (error as Error).message
        : `failed: ${(error as Error).message.split('\n')[0]}`
  process.stderr.write(`envelope: ${message}\n`)
  process.exitCode = 2
}
