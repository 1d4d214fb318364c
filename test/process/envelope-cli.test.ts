import t, { type Test } from 'tap'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeSecretKeySet, sealEnvelope } from '../../crypto/index.ts'

/** The envelope CLI exactly as documented: npm run --silent envelope -- ... */

const dir = mkdtempSync(join(tmpdir(), 'safe-disclosure-envelope-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

function envelope(args: string[], input?: Uint8Array | string, viaNpm = false) {
  const command = viaNpm ? ['npm', ['run', '--silent', 'envelope', '--', ...args]] as const : [process.execPath, ['--import', 'tsx', 'scripts/envelope.ts', ...args]] as const
  const result = spawnSync(command[0], [...command[1]], { input, timeout: 60_000 })
  return { status: result.status, stdout: result.stdout, stderr: result.stderr.toString('utf8').replace(/^npm warn .*\n/gm, '') }
}

function refused(t: Test, result: ReturnType<typeof envelope>, message: RegExp): void {
  t.equal(result.status, 2, 'exit code 2')
  t.equal(result.stdout.length, 0, 'nothing on standard output')
  t.equal(result.stderr.trim().split('\n').length, 1, 'one line on standard error')
  t.match(result.stderr, message)
  t.notMatch(result.stderr, /\n\s+at /, 'no stack trace')
}

const keys = join(dir, 'keys')
const other = join(dir, 'other')
const plaintext = Buffer.from([0, 1, 2, 255, 10, 13, 0x80, ...Buffer.from('  a disclosure with every byte value\n')])

t.test('keygen writes a public and a private key file and prints the fingerprint', async (t) => {
  const made = envelope(['keygen', '--out', keys], undefined, true)
  t.equal(made.status, 0, made.stderr)
  t.match(made.stdout.toString(), /^\d{5}( \d{5}){5}\n$/)
  t.match(readFileSync(join(keys, 'public.key'), 'utf8'), /^[A-Za-z0-9+/=]{88}\n$/)
  t.equal(statSync(join(keys, 'secret.key')).mode & 0o777, 0o600, 'the secret key file is private')
  t.equal(envelope(['fingerprint', join(keys, 'public.key')], undefined, true).stdout.toString(), made.stdout.toString(), 'fingerprint agrees')
  refused(t, envelope(['keygen', '--out', keys]), /already exists; not overwriting a secret key/)
  t.equal(envelope(['keygen', '--out', other]).status, 0)
})

t.test('seal and open round-trip any bytes', async (t) => {
  const sealed = envelope(['seal', '--to', join(keys, 'public.key'), '--case', 'case-7'], plaintext, true)
  t.equal(sealed.status, 0, sealed.stderr)
  const opened = envelope(['open', '--key', join(keys, 'secret.key'), '--case', 'case-7'], sealed.stdout, true)
  t.equal(opened.status, 0, opened.stderr)
  t.same(opened.stdout, plaintext)
  writeFileSync(join(dir, 'sealed.bin'), sealed.stdout)
})

t.test('the CLI opens an envelope sealed by the library, and the reverse', async (t) => {
  const secret = await decodeSecretKeySet(readFileSync(join(keys, 'secret.key'), 'utf8'))
  const sealed = await sealEnvelope({ kind: 'consultation', caseId: 'c-9', plaintext: Buffer.from('from the library'), recipients: [secret.encryption.publicKey] })
  const opened = envelope(['open', '--key', join(keys, 'secret.key'), '--case', 'c-9'], sealed)
  t.equal(opened.stdout.toString(), 'from the library')
})

t.test('failures exit 2 with one line and write nothing', async (t) => {
  const sealed = readFileSync(join(dir, 'sealed.bin'))
  refused(t, envelope(['open', '--key', join(keys, 'secret.key'), '--case', 'case-8'], sealed), /wrong key, wrong case id, or it has been altered/)
  refused(t, envelope(['open', '--key', join(other, 'secret.key'), '--case', 'case-7'], sealed), /not one of the envelope's recipients/)
  const tampered = Buffer.from(sealed)
  tampered[tampered.length - 5] = tampered[tampered.length - 5]! ^ 0x40
  refused(t, envelope(['open', '--key', join(keys, 'secret.key'), '--case', 'case-7'], tampered), /has been altered/)
  refused(t, envelope(['open', '--key', join(keys, 'secret.key'), '--case', 'case-7'], sealed.subarray(0, 100)), /not a valid envelope/)
  refused(t, envelope(['open', '--key', join(dir, 'missing.key'), '--case', 'case-7'], sealed), /cannot read the secret key file .*ENOENT/)
  writeFileSync(join(dir, 'garbage.key'), 'this is not a key\n')
  refused(t, envelope(['open', '--key', join(dir, 'garbage.key'), '--case', 'case-7'], sealed), /not a valid envelope or key file/)
  refused(t, envelope(['seal', '--to', join(keys, 'secret.key'), '--case', 'x'], 'hi'), /version or kind this tool does not know/)
  refused(t, envelope(['seal', '--to', join(keys, 'public.key'), '--case', 'not a case id'], 'hi'), /not a valid envelope or key file/)
  refused(t, envelope(['seal', '--to', join(keys, 'public.key')], 'hi'), /--case is required/)
  refused(t, envelope(['seal', '--to', join(keys, 'public.key'), '--case', 'x', '--kind', 'gossip'], 'hi'), /--kind must be one of/)
  // Names every object inherits are not kinds (the check once used `in`, which finds them).
  for (const inherited of ['toString', '__proto__', 'constructor']) {
    refused(t, envelope(['seal', '--to', join(keys, 'public.key'), '--case', 'x', '--kind', inherited], 'hi'), /^envelope: --kind must be one of disclosure, /)
  }
  refused(t, envelope(['open', '--bogus']), /Unknown option '--bogus'/)
  refused(t, envelope(['frobnicate']), /^envelope: usage: /)
  refused(t, envelope(['fingerprint']), /^envelope: usage: /)
})

t.test('signed envelopes need the signer named to open', async (t) => {
  const signed = envelope(['seal', '--to', join(keys, 'public.key'), '--case', 'c-3', '--kind', 'idva_reply', '--sign', join(other, 'secret.key')], 'signed reply')
  t.equal(signed.status, 0, signed.stderr)
  refused(t, envelope(['open', '--key', join(keys, 'secret.key'), '--case', 'c-3'], signed.stdout), /signed by a key not given with --signer/)
  const opened = envelope(['open', '--key', join(keys, 'secret.key'), '--case', 'c-3', '--signer', join(other, 'public.key')], signed.stdout)
  t.equal(opened.stdout.toString(), 'signed reply')
  refused(t, envelope(['open', '--key', join(keys, 'secret.key'), '--case', 'c-4', '--signer', join(other, 'public.key')], signed.stdout), /signature does not verify/)
  t.ok(existsSync(join(other, 'public.key')))
})
