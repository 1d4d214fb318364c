import t, { type Test } from 'tap'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { base64url, decodeSecretKeySet, encodeSecretKeySet, fingerprint, generateKeySet, issueKeyCertificate, publicKeysOf, sealEnvelope } from '../../crypto/index.ts'
import { buildExport, serviceChain, SERVICE_ID } from '../helpers/referral-export.ts'

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

t.test('open-package: an exported referral package, for a unit outside the portal', async (t) => {
  // The IDVA service rotated once, so the chain from the published key is followed.
  const service = await serviceChain(2)
  const published = await fingerprint(publicKeysOf(service.keys[0]!))
  const unit = await generateKeySet()
  const unitKey = join(dir, 'unit.key')
  writeFileSync(unitKey, `${await encodeSecretKeySet(unit)}\n`, { mode: 0o600 })
  const otherUnitKey = join(dir, 'other-unit.key')
  writeFileSync(otherUnitKey, `${await encodeSecretKeySet(await generateKeySet())}\n`, { mode: 0o600 })
  const photo = Buffer.from([0xff, 0xd8, 0xff, 0xe0, ...Buffer.from('a photo, every byte kept'), 0, 0x80, 0])
  const hostile = Buffer.from('a file with a hostile name')
  const built = await buildExport({
    service,
    unit,
    files: [
      { name: 'photo.jpg', type: 'image/jpeg', bytes: photo },
      { name: '../../.\u202Egpj.exe\u0007\n', type: 'application/octet-stream', bytes: hostile },
    ],
  })
  const exported = (file: unknown) => JSON.stringify(file)
  const open = (input: string | Uint8Array, options: { key?: string; pin?: string; out?: string } = {}) =>
    envelope(['open-package', '--key', options.key ?? unitKey, '--service-fingerprint', options.pin ?? published, ...(options.out === undefined ? [] : ['--out', options.out])], input)

  t.test('prints the content and saves the evidence files', async (t) => {
    const out = join(dir, 'evidence')
    // Any spacing of the 30 digits.
    const opened = open(exported(built.file), { pin: published.replace(/ /g, ''), out })
    t.equal(opened.status, 0, opened.stderr)
    t.equal(opened.stderr, '', 'nothing on standard error')
    t.same(JSON.parse(opened.stdout.toString('utf8')), built.content, 'the package content, exactly')
    t.match(opened.stdout.toString('utf8'), /^\{\n  "v": 1,\n/, 'pretty-printed with 2 spaces')
    t.equal(statSync(out).mode & 0o777, 0o700, 'the folder is private')
    t.same(readdirSync(out).sort(), ['1-photo.jpg', '2-_.._.gpj.exe'], 'safe names: no separators, controls, bidi characters or leading dots')
    t.same(readFileSync(join(out, '1-photo.jpg')), photo, 'the decrypted bytes')
    t.same(readFileSync(join(out, '2-_.._.gpj.exe')), hostile)
    t.equal(statSync(join(out, '1-photo.jpg')).mode & 0o777, 0o600, 'each file is private')
    // An empty folder will do; one that holds a file will not.
    const empty = join(dir, 'empty')
    mkdirSync(empty)
    const again = open(exported(built.file), { out: empty })
    t.equal(again.status, 0, again.stderr)
    t.same(readFileSync(join(empty, '1-photo.jpg')), photo)
    refused(t, open(exported(built.file), { out }), /--out .* is not empty/)
  })

  t.test('refuses a file not from the IDVA service, or not for this unit', async (t) => {
    refused(t, open(exported(built.file), { pin: '12345 67890 12345 67890 12345 67890' }), /fingerprint .* not the one given with --service-fingerprint/)
    refused(t, open(exported(built.file), { key: otherUnitKey }), /sealed for another unit/)
    // Signed by a key that is not in the service's chain.
    const stranger = await generateKeySet()
    refused(t, open(exported((await buildExport({ service, unit, signer: stranger.signing })).file)), /not signed by the IDVA service/)
    // Generation 2 certified by another key than generation 1's.
    const forged = await issueKeyCertificate(stranger.signing, { id: SERVICE_ID, generation: 2, publicKeys: publicKeysOf(service.keys[1]!) })
    const generations = service.exported.generations.map((generation, index) => (index === 1 ? { ...generation, certificate: base64url.encode(forged) } : generation))
    refused(t, open(exported({ ...built.file, service: { ...built.file.service, generations } })), /key chain in this file is broken/)
  })

  t.test('refuses an altered or malformed file', async (t) => {
    const bytes = base64url.decode(built.file.envelope, 'envelope')
    bytes[bytes.length - 100] = bytes[bytes.length - 100]! ^ 0x01
    refused(t, open(exported({ ...built.file, envelope: base64url.encode(bytes) })), /signature does not verify: it has been altered/)
    refused(t, open(exported({ ...built.file, track: 'criminal' })), /signature does not verify/)
    refused(t, open('{"format": "sd-referral-export-v1",'), /not a referral package file: it is not JSON/)
    refused(t, open(exported({ ...built.file, format: 'sd-referral-export-v2' })), /not a referral package file \(format sd-referral-export-v1\)/)
    const { service: _service, ...missing } = built.file
    refused(t, open(exported(missing)), /missing or unknown fields/)
    refused(t, open(exported({ ...built.file, evidence: {} })), /evidence file 1 of the package is missing from the package file/)
  })
})
