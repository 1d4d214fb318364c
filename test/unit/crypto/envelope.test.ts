import t from 'tap'
import fc from 'fast-check'
import { ENVELOPE_KINDS, MAX_RECIPIENTS, openEnvelope, parseEnvelope, sealEnvelope, verifyEnvelopeSignature, type EnvelopeKind } from '../../../crypto/envelope.ts'
import { generateKeySet, type KeySet } from '../../../crypto/keys.ts'
import { MAX_PADDED_PLAINTEXT } from '../../../crypto/padding.ts'
import { failsWithCryptoError, rejectsWithCryptoError, text } from '../../helpers/crypto.ts'

const KINDS = Object.keys(ENVELOPE_KINDS) as EnvelopeKind[]
const service = await generateKeySet()
const idva = await generateKeySet()
const reporter = await generateKeySet()
const outsider = await generateKeySet()
const keyPool: KeySet[] = [service, reporter, outsider, ...(await Promise.all(Array.from({ length: 14 }, () => generateKeySet())))]

const caseIdArbitrary = fc.stringMatching(/^[A-Za-z0-9._:-]{1,40}$/)
const sealArbitrary = fc.record({
  kind: fc.constantFrom(...KINDS),
  caseId: caseIdArbitrary,
  plaintext: fc.uint8Array({ maxLength: 3000 }),
  recipientCount: fc.integer({ min: 1, max: 3 }),
  signed: fc.boolean(),
})

async function seal(options: { kind: EnvelopeKind; caseId: string; plaintext: Uint8Array; recipientCount: number; signed: boolean }) {
  const recipients = keyPool.slice(0, options.recipientCount)
  const envelope = await sealEnvelope({
    kind: options.kind,
    caseId: options.caseId,
    plaintext: options.plaintext,
    recipients: recipients.map((keys) => keys.encryption.publicKey),
    ...(options.signed ? { signer: idva.signing } : {}),
  })
  return { envelope, recipients }
}

const trusted = { trustedSigners: [idva.signing.publicKey] }

t.test('every recipient opens what was sealed, for every kind, signed or not', async (t) => {
  for (const kind of KINDS) {
    for (const signed of [false, true]) {
      const plaintext = text(`${kind} ${signed ? 'signed' : 'unsigned'}: what happened to me`)
      const { envelope, recipients } = await seal({ kind, caseId: 'case-42', plaintext, recipientCount: 3, signed })
      for (const recipient of recipients) {
        const opened = await openEnvelope(envelope, { caseId: 'case-42', keys: [recipient.encryption], ...trusted })
        t.same(opened.plaintext, plaintext)
        t.equal(opened.kind, kind)
        t.same(opened.signer, signed ? idva.signing.publicKey : null)
      }
    }
  }
})

t.test('property: round trip', async () => {
  await fc.assert(
    fc.asyncProperty(sealArbitrary, async (options) => {
      const { envelope, recipients } = await seal(options)
      const last = recipients[recipients.length - 1]!
      const opened = await openEnvelope(envelope, { caseId: options.caseId, keys: [outsider.encryption, last.encryption], ...trusted })
      return Buffer.from(opened.plaintext).equals(Buffer.from(options.plaintext)) && opened.kind === options.kind
    }),
    { numRuns: 60 },
  )
})

t.test('property: any single-byte change is rejected', async () => {
  await fc.assert(
    fc.asyncProperty(sealArbitrary, fc.nat(), fc.integer({ min: 1, max: 255 }), async (options, position, delta) => {
      const { envelope, recipients } = await seal(options)
      const changed = envelope.slice()
      const index = position % changed.length
      changed[index] = (changed[index]! + delta) % 256
      return failsWithCryptoError(() => openEnvelope(changed, { caseId: options.caseId, keys: recipients.map((r) => r.encryption), ...trusted }))
    }),
    { numRuns: 150 },
  )
})

t.test('property: any truncation or extension is rejected', async () => {
  await fc.assert(
    fc.asyncProperty(sealArbitrary, fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 64 }), async (options, cut, extra) => {
      const { envelope, recipients } = await seal(options)
      const keys = recipients.map((r) => r.encryption)
      const truncated = envelope.subarray(0, cut % envelope.length)
      const extended = new Uint8Array([...envelope, ...extra])
      return (
        (await failsWithCryptoError(() => openEnvelope(truncated, { caseId: options.caseId, keys, ...trusted }))) &&
        (await failsWithCryptoError(() => openEnvelope(extended, { caseId: options.caseId, keys, ...trusted })))
      )
    }),
    { numRuns: 80 },
  )
})

t.test('property: a wrong case id is rejected', async () => {
  await fc.assert(
    fc.asyncProperty(sealArbitrary, caseIdArbitrary, async (options, otherCase) => {
      fc.pre(otherCase !== options.caseId)
      const { envelope, recipients } = await seal(options)
      return failsWithCryptoError(() => openEnvelope(envelope, { caseId: otherCase, keys: recipients.map((r) => r.encryption), ...trusted }))
    }),
    { numRuns: 80 },
  )
})

/** Offsets of the recipient entries in an envelope. */
function recipientEntries(envelope: Uint8Array): { start: number; length: number }[] {
  const signed = (envelope[2]! & 1) === 1
  const first = 4 + (signed ? 16 : 0)
  return Array.from({ length: envelope[3]! }, (_, i) => ({ start: first + i * 96, length: 96 }))
}

t.test('property: swapping recipients, or their sealed keys, is rejected', async () => {
  await fc.assert(
    fc.asyncProperty(sealArbitrary.filter((options) => options.recipientCount >= 2), fc.boolean(), async (options, wholeEntry) => {
      const { envelope, recipients } = await seal(options)
      const [a, b] = recipientEntries(envelope)
      const swapped = envelope.slice()
      const offset = wholeEntry ? 0 : 16 // whole entries, or only the sealed keys
      const length = wholeEntry ? 96 : 80
      swapped.set(envelope.subarray(a!.start + offset, a!.start + offset + length), b!.start + offset)
      swapped.set(envelope.subarray(b!.start + offset, b!.start + offset + length), a!.start + offset)
      for (const recipient of recipients.slice(0, 2)) {
        if (!(await failsWithCryptoError(() => openEnvelope(swapped, { caseId: options.caseId, keys: [recipient.encryption], ...trusted })))) return false
      }
      return true
    }),
    { numRuns: 60 },
  )
})

t.test('property: the parser, fed random bytes, only ever throws the typed error', async () => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 2000 }), async (bytes) =>
      failsWithCryptoError(() => openEnvelope(bytes, { caseId: 'c', keys: [service.encryption], ...trusted })),
    ),
    { numRuns: 500 },
  )
  // Random bytes behind a valid-looking header reach deeper into the parser.
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...Object.values(ENVELOPE_KINDS)), fc.integer({ min: 0, max: 1 }), fc.integer({ min: 1, max: 16 }), fc.uint8Array({ maxLength: 4000 }), async (kind, flags, count, rest) =>
      failsWithCryptoError(() => openEnvelope(new Uint8Array([1, kind, flags, count, ...rest]), { caseId: 'c', keys: [service.encryption], ...trusted })),
    ),
    { numRuns: 300 },
  )
})

t.test('strict parsing: each malformed field has its own typed error', async (t) => {
  const { envelope } = await seal({ kind: 'disclosure', caseId: 'c1', plaintext: text('x'), recipientCount: 2, signed: false })
  const open = (bytes: Uint8Array) => openEnvelope(bytes, { caseId: 'c1', keys: [service.encryption] })
  const edit = (index: number, value: number) => {
    const copy = envelope.slice()
    copy[index] = value
    return copy
  }
  await rejectsWithCryptoError(t, open(edit(0, 2)), 'unsupported', 'unknown version')
  await rejectsWithCryptoError(t, open(edit(1, 99)), 'unsupported', 'unknown kind')
  await rejectsWithCryptoError(t, open(edit(2, 2)), 'unsupported', 'unknown flag')
  await rejectsWithCryptoError(t, open(edit(3, 0)), 'malformed', 'no recipients')
  await rejectsWithCryptoError(t, open(edit(3, 17)), 'too_large', 'too many recipients')
  const duplicated = envelope.slice()
  duplicated.set(envelope.subarray(4, 20), 4 + 96)
  await rejectsWithCryptoError(t, open(duplicated), 'duplicate_recipient', 'the same recipient twice')
  await rejectsWithCryptoError(t, open(new Uint8Array(3 << 20)), 'too_large', 'larger than any envelope')
  await rejectsWithCryptoError(t, open(envelope.subarray(0, envelope.length - 1)), 'malformed', 'ciphertext not a bucket')
  await rejectsWithCryptoError(t, openEnvelope(envelope, { caseId: 'c1', keys: [outsider.encryption] }), 'not_a_recipient')
  await rejectsWithCryptoError(t, openEnvelope(envelope, { caseId: 'bad case id!', keys: [service.encryption] }), 'malformed', 'invalid case id')
})

t.test('signatures: required, trusted, and checked before decryption', async (t) => {
  const unsigned = (await seal({ kind: 'idva_reply', caseId: 'c2', plaintext: text('your case is closed'), recipientCount: 1, signed: false })).envelope
  const signed = (await seal({ kind: 'idva_reply', caseId: 'c2', plaintext: text('we are here for you'), recipientCount: 1, signed: true })).envelope
  const keys = [service.encryption]
  await rejectsWithCryptoError(t, openEnvelope(unsigned, { caseId: 'c2', keys, requireSignature: true, ...trusted }), 'signature_required', 'an unsigned "reply" is refused')
  await rejectsWithCryptoError(t, openEnvelope(signed, { caseId: 'c2', keys }), 'unknown_signer', 'a signature nobody said to trust')
  await rejectsWithCryptoError(t, openEnvelope(signed, { caseId: 'c2', keys, trustedSigners: [outsider.signing.publicKey] }), 'unknown_signer')
  t.same((await openEnvelope(signed, { caseId: 'c2', keys, requireSignature: true, ...trusted })).signer, idva.signing.publicKey)
  t.ok(await verifyEnvelopeSignature(signed, 'c2', idva.signing.publicKey), 'the server can verify without decrypting')
  t.notOk(await verifyEnvelopeSignature(signed, 'c3', idva.signing.publicKey))
  t.notOk(await verifyEnvelopeSignature(signed, 'c2', outsider.signing.publicKey))
  t.notOk(await verifyEnvelopeSignature(unsigned, 'c2', idva.signing.publicKey))
  await rejectsWithCryptoError(t, openEnvelope(signed, { caseId: 'c2', keys, expectKind: 'disclosure', ...trusted }), 'wrong_kind')
  t.equal((await openEnvelope(signed, { caseId: 'c2', keys, expectKind: ['disclosure', 'idva_reply'], ...trusted })).kind, 'idva_reply')
})

t.test('a key ring opens envelopes sealed to an earlier key', async (t) => {
  const old = await generateKeySet()
  const envelope = await sealEnvelope({ kind: 'disclosure', caseId: 'c4', plaintext: text('from last year'), recipients: [old.encryption.publicKey] })
  const opened = await openEnvelope(envelope, { caseId: 'c4', keys: [service.encryption, old.encryption] })
  t.same(opened.plaintext, text('from last year'))
})

t.test('the server learns only the padding bucket', async (t) => {
  const lengths = await Promise.all(
    [0, 10, 200, 255].map(async (size) => (await sealEnvelope({ kind: 'disclosure', caseId: 'c5', plaintext: new Uint8Array(size), recipients: [service.encryption.publicKey] })).length),
  )
  t.equal(new Set(lengths).size, 1, 'plaintexts of 0 to 255 bytes give envelopes of one size')
  const next = await sealEnvelope({ kind: 'disclosure', caseId: 'c5', plaintext: new Uint8Array(256), recipients: [service.encryption.publicKey] })
  t.equal(parseEnvelope(next).bucket, 512)
  await rejectsWithCryptoError(t, sealEnvelope({ kind: 'disclosure', caseId: 'c5', plaintext: new Uint8Array(MAX_PADDED_PLAINTEXT + 1), recipients: [service.encryption.publicKey] }), 'too_large')
  const largest = await sealEnvelope({ kind: 'disclosure', caseId: 'c5', plaintext: new Uint8Array(MAX_PADDED_PLAINTEXT), recipients: [service.encryption.publicKey] })
  t.equal((await openEnvelope(largest, { caseId: 'c5', keys: [service.encryption] })).plaintext.length, MAX_PADDED_PLAINTEXT)
})

t.test('sealing refuses bad options without producing anything', async (t) => {
  const base = { kind: 'disclosure' as const, caseId: 'c6', plaintext: text('x') }
  await rejectsWithCryptoError(t, sealEnvelope({ ...base, recipients: [] }), 'malformed')
  await rejectsWithCryptoError(t, sealEnvelope({ ...base, recipients: [service.encryption.publicKey, service.encryption.publicKey] }), 'duplicate_recipient')
  await rejectsWithCryptoError(t, sealEnvelope({ ...base, recipients: keyPool.concat(keyPool).slice(0, MAX_RECIPIENTS + 1).map((k) => k.encryption.publicKey) }), 'too_large')
  await rejectsWithCryptoError(t, sealEnvelope({ ...base, recipients: [new Uint8Array(31)] }), 'malformed')
  await rejectsWithCryptoError(t, sealEnvelope({ ...base, caseId: '', recipients: [service.encryption.publicKey] }), 'malformed')
  await rejectsWithCryptoError(t, sealEnvelope({ ...base, kind: 'gossip' as EnvelopeKind, recipients: [service.encryption.publicKey] }), 'unsupported')
  const sixteen = await sealEnvelope({ ...base, recipients: keyPool.slice(0, 16).map((k) => k.encryption.publicKey) })
  t.equal(parseEnvelope(sixteen).recipients.length, 16, 'sixteen recipients is allowed')
})
