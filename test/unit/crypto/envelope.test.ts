import t from 'tap'
import fc from 'fast-check'
import { ENVELOPE_KINDS, isEnvelopeKind, MAX_RECIPIENTS, openEnvelope, parseEnvelope, sealEnvelope, SIGNED_KINDS, verifyEnvelopeSignature, type EnvelopeKind } from '../../../crypto/envelope.ts'
import { generateKeySet, keyId, type KeySet } from '../../../crypto/keys.ts'
import { MAX_PADDED_PLAINTEXT } from '../../../crypto/padding.ts'
import { loadSodium } from '../../../crypto/sodium.ts'
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

/** Seals as asked, except that staff kinds are always signed (the format requires it). */
async function seal(options: { kind: EnvelopeKind; caseId: string; plaintext: Uint8Array; recipientCount: number; signed: boolean }) {
  const recipients = keyPool.slice(0, options.recipientCount)
  const signed = options.signed || SIGNED_KINDS.includes(options.kind)
  const envelope = await sealEnvelope({
    kind: options.kind,
    caseId: options.caseId,
    plaintext: options.plaintext,
    recipients: recipients.map((keys) => keys.encryption.publicKey),
    ...(signed ? { signer: idva.signing } : {}),
  })
  return { envelope, recipients }
}

const trusted = { trustedSigners: [idva.signing.publicKey] }

t.test('every recipient opens what was sealed, for every kind, signed or not', async (t) => {
  for (const kind of KINDS) {
    for (const signed of SIGNED_KINDS.includes(kind) ? [true] : [false, true]) {
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

t.test('property: random content behind a real recipient entry reaches unsealing, decryption and unpadding, and is refused', async () => {
  const ourKeyId = await keyId('x25519', service.encryption.publicKey)
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom('disclosure', 'reporter_message', 'consultation'),
      fc.uint8Array({ minLength: 80, maxLength: 80 }),
      fc.uint8Array({ minLength: 24 + 32, maxLength: 24 + 32 }),
      fc.constantFrom(256, 512, 1024),
      fc.boolean(),
      async (kind, sealedKey, nonceAndCommitment, bucket, realKey) => {
        const sodium = await loadSodium()
        // Half the time a genuinely sealed key, so the commitment and the AEAD are what refuse it.
        const sealed = realKey ? sodium.crypto_box_seal(sodium.randombytes_buf(32), service.encryption.publicKey) : sealedKey
        const bytes = new Uint8Array([1, ENVELOPE_KINDS[kind as EnvelopeKind], 0, 1, ...ourKeyId, ...sealed, ...nonceAndCommitment, ...sodium.randombytes_buf(bucket + 16)])
        return failsWithCryptoError(() => openEnvelope(bytes, { caseId: 'c', keys: [service.encryption] }))
      },
    ),
    { numRuns: 200 },
  )
})

t.test('wrong types from JSON give the typed error, not a TypeError', async (t) => {
  const bad = [undefined, null, 42, 'text', {}, [1, 2, 3]] as never[]
  for (const value of bad) {
    await rejectsWithCryptoError(t, openEnvelope(value, { caseId: 'c', keys: [service.encryption] }), undefined, `envelope ${JSON.stringify(value)}`)
    await rejectsWithCryptoError(t, openEnvelope(new Uint8Array(10), { caseId: value, keys: [service.encryption] }), undefined, `case id ${JSON.stringify(value)}`)
    await rejectsWithCryptoError(t, sealEnvelope({ kind: 'disclosure', caseId: 'c', plaintext: value, recipients: [service.encryption.publicKey] }), undefined, `plaintext ${JSON.stringify(value)}`)
    await rejectsWithCryptoError(t, sealEnvelope({ kind: 'disclosure', caseId: 'c', plaintext: text('x'), recipients: [value] }), undefined, `recipient ${JSON.stringify(value)}`)
  }
  await rejectsWithCryptoError(t, openEnvelope(new Uint8Array(10), { caseId: 'c', keys: undefined as never }), undefined, 'no keys')
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
  const unsigned = (await seal({ kind: 'reporter_message', caseId: 'c2', plaintext: text('a message'), recipientCount: 1, signed: false })).envelope
  const signed = (await seal({ kind: 'idva_reply', caseId: 'c2', plaintext: text('we are here for you'), recipientCount: 1, signed: true })).envelope
  const keys = [service.encryption]
  await rejectsWithCryptoError(t, openEnvelope(unsigned, { caseId: 'c2', keys, requireSignature: true, ...trusted }), 'signature_required', 'an unsigned message is refused when a signature is required')
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

t.test('staff kinds must be signed: sealing or opening one unsigned is refused', async (t) => {
  for (const kind of SIGNED_KINDS) {
    await rejectsWithCryptoError(t, sealEnvelope({ kind, caseId: 'c7', plaintext: text('forged'), recipients: [service.encryption.publicKey] }), 'signature_required', `${kind}: cannot be sealed unsigned`)
    // Forge one by hand: a disclosure with its kind byte changed fails its AEAD anyway, so build
    // the unsigned envelope as an attacker would, with the staff kind from the start.
    const forged = await sealEnvelope({ kind: 'disclosure', caseId: 'c7', plaintext: text('your case is closed'), recipients: [service.encryption.publicKey] })
    forged[1] = ENVELOPE_KINDS[kind]
    await rejectsWithCryptoError(t, openEnvelope(forged, { caseId: 'c7', keys: [service.encryption], ...trusted }), 'signature_required', `${kind}: refused unsigned before any decryption`)
  }
})

t.test('a context binds like the case id', async (t) => {
  const context = text('message 7 of thread 3')
  const envelope = await sealEnvelope({ kind: 'reporter_message', caseId: 'c8', context, plaintext: text('in order'), recipients: [service.encryption.publicKey] })
  t.same((await openEnvelope(envelope, { caseId: 'c8', context, keys: [service.encryption] })).plaintext, text('in order'))
  await rejectsWithCryptoError(t, openEnvelope(envelope, { caseId: 'c8', keys: [service.encryption] }), 'decryption_failed', 'without the context')
  await rejectsWithCryptoError(t, openEnvelope(envelope, { caseId: 'c8', context: text('message 8 of thread 3'), keys: [service.encryption] }), 'decryption_failed', 'moved elsewhere in the thread')
  const signed = await sealEnvelope({ kind: 'idva_reply', caseId: 'c8', context, plaintext: text('signed in place'), recipients: [service.encryption.publicKey], signer: idva.signing })
  await rejectsWithCryptoError(t, openEnvelope(signed, { caseId: 'c8', context: text('elsewhere'), keys: [service.encryption], ...trusted }), 'bad_signature')
  t.ok(await verifyEnvelopeSignature(signed, 'c8', idva.signing.publicKey, context))
  t.notOk(await verifyEnvelopeSignature(signed, 'c8', idva.signing.publicKey))
  await rejectsWithCryptoError(t, sealEnvelope({ kind: 'disclosure', caseId: 'c8', context: new Uint8Array(256), plaintext: text('x'), recipients: [service.encryption.publicKey] }), 'too_large')
})

t.test('the key commitment: one ciphertext cannot open to different content for different recipients', async (t) => {
  // An "invisible salamander": a sender seals a different content key to the second recipient.
  const envelope = await sealEnvelope({ kind: 'disclosure', caseId: 'c9', plaintext: text('what everyone sees'), recipients: [service.encryption.publicKey, reporter.encryption.publicKey] })
  const sodium = await loadSodium()
  const forged = envelope.slice()
  const secondSealedKey = 4 + 96 + 16
  forged.set(sodium.crypto_box_seal(sodium.crypto_aead_xchacha20poly1305_ietf_keygen(), reporter.encryption.publicKey), secondSealedKey)
  await rejectsWithCryptoError(t, openEnvelope(forged, { caseId: 'c9', keys: [reporter.encryption] }), 'decryption_failed', 'the other content key does not match the commitment')
  t.equal(parseEnvelope(envelope).commitment.length, 32)
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

t.test('a kind is an own name of ENVELOPE_KINDS, never one every object inherits', async (t) => {
  for (const kind of KINDS) t.ok(isEnvelopeKind(kind), `${kind} is a kind`)
  for (const inherited of ['toString', '__proto__', 'constructor', 'hasOwnProperty', 'valueOf']) {
    t.notOk(isEnvelopeKind(inherited), `${inherited} is not a kind`)
    await rejectsWithCryptoError(t, sealEnvelope({ kind: inherited as EnvelopeKind, caseId: 'c7', plaintext: text('x'), recipients: [service.encryption.publicKey] }), 'unsupported', `sealing as ${inherited} is refused`)
  }
  t.notOk(isEnvelopeKind(1), 'a number is not a kind')
})
