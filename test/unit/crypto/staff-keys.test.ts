import t from 'tap'
import fc from 'fast-check'
import { loadSodium } from '../../../crypto/sodium.ts'
import { openEnvelope, sealEnvelope } from '../../../crypto/envelope.ts'
import { generateKeySet, publicKeysOf } from '../../../crypto/keys.ts'
import {
  deriveStaffSecrets,
  newGroupKeys,
  newPassphraseParams,
  issueKeyCertificate,
  rotateGroupKeys,
  unwrapGroupKeys,
  unwrapKeyRing,
  unwrapMemberKeys,
  verifyKeyCertificate,
  verifyKeyChain,
  wrapGroupKeys,
  wrapMemberKeys,
  type PassphraseParams,
} from '../../../crypto/staff-keys.ts'
import { failsWithCryptoError, rejectsWithCryptoError, text } from '../../helpers/crypto.ts'

// The quickest parameters the module accepts (libsodium's INTERACTIVE), to keep tests fast.
const fast = async (): Promise<PassphraseParams> => ({ ...(await newPassphraseParams()), opsLimit: 2, memLimit: 64 * 1024 * 1024 })

t.test('defaults are at least libsodium\'s INTERACTIVE, with a fresh salt each time', async (t) => {
  const a = await newPassphraseParams()
  const b = await newPassphraseParams()
  t.ok(a.opsLimit >= 2 && a.memLimit >= 64 * 1024 * 1024)
  t.equal(a.salt.length, 16)
  t.notSame(a.salt, b.salt)
})

t.test('the same passphrase and parameters give the same secrets; anything else does not', async (t) => {
  const params = await fast()
  const one = await deriveStaffSecrets('correct horse battery staple', params)
  t.same(await deriveStaffSecrets('correct horse battery staple', params), one)
  t.equal(one.authVerifier.length, 32)
  t.notSame(one.authVerifier, one.keyEncryptionKey, 'the verifier sent to the server is not the key that stays in the browser')
  t.notSame((await deriveStaffSecrets('correct horse battery stapler', params)).keyEncryptionKey, one.keyEncryptionKey)
  t.notSame((await deriveStaffSecrets('correct horse battery staple', await fast())).keyEncryptionKey, one.keyEncryptionKey, 'another salt')
  t.same(
    (await deriveStaffSecrets('\u0043\u0327afe au lait, s\u0027il vous pla\u00eet', params)).keyEncryptionKey,
    (await deriveStaffSecrets('\u00c7afe au lait, s\u0027il vous pla\u0069\u0302t', params)).keyEncryptionKey,
    'NFKC: the same letters typed differently',
  )
  await rejectsWithCryptoError(t, deriveStaffSecrets('eleven char', { ...params }), 'malformed', 'fewer than 12 characters is refused')
  t.ok(await deriveStaffSecrets('twelve chars', params), 'twelve characters is accepted')
})

t.test('parameters from the server are bounded: no weakening, no stalling', async (t) => {
  const params = await fast()
  await rejectsWithCryptoError(t, deriveStaffSecrets('x', { ...params, opsLimit: 1 }), 'unsupported')
  await rejectsWithCryptoError(t, deriveStaffSecrets('x', { ...params, memLimit: 8 * 1024 * 1024 }), 'unsupported')
  await rejectsWithCryptoError(t, deriveStaffSecrets('x', { ...params, opsLimit: 7 }), 'unsupported')
  await rejectsWithCryptoError(t, deriveStaffSecrets('x', { ...params, memLimit: 256 * 1024 * 1024 + 1 }), 'unsupported')
  await rejectsWithCryptoError(t, deriveStaffSecrets('a long enough passphrase', null as never), 'malformed', 'missing parameters')
  await rejectsWithCryptoError(t, deriveStaffSecrets(42 as never, params), 'malformed', 'not text')
  await rejectsWithCryptoError(t, deriveStaffSecrets('x', { ...params, salt: new Uint8Array(8) }), 'malformed')
  await rejectsWithCryptoError(t, deriveStaffSecrets('', params), 'malformed')
})

t.test('member keys wrap under the KEK and unwrap only with the right passphrase and account', async (t) => {
  const params = await fast()
  const { keyEncryptionKey } = await deriveStaffSecrets('a long and private passphrase', params)
  const member = await generateKeySet()
  const blob = await wrapMemberKeys(member, keyEncryptionKey, 'staff-17')
  const back = await unwrapMemberKeys(blob, keyEncryptionKey, 'staff-17', publicKeysOf(member))
  t.same(back.encryption, member.encryption)
  t.same(back.signing, member.signing)
  const wrong = await deriveStaffSecrets('a long and private passphrasE', params)
  await rejectsWithCryptoError(t, unwrapMemberKeys(blob, wrong.keyEncryptionKey, 'staff-17', publicKeysOf(member)), 'decryption_failed', 'wrong passphrase')
  await rejectsWithCryptoError(t, unwrapMemberKeys(blob, keyEncryptionKey, 'staff-18', publicKeysOf(member)), 'decryption_failed', 'another account')
  await rejectsWithCryptoError(t, unwrapMemberKeys(blob, keyEncryptionKey, 'staff-17', publicKeysOf(await generateKeySet())), 'key_mismatch', 'not the published keys')
  const altered = blob.slice()
  altered[30] = altered[30]! ^ 1
  await rejectsWithCryptoError(t, unwrapMemberKeys(altered, keyEncryptionKey, 'staff-17', publicKeysOf(member)), 'decryption_failed')
  await rejectsWithCryptoError(t, unwrapMemberKeys(blob.subarray(0, 50), keyEncryptionKey, 'staff-17', publicKeysOf(member)), 'malformed')
})

t.test('group keys reach a member sealed to their key; a forged group key is refused', async (t) => {
  const service = await newGroupKeys()
  const member = await generateKeySet()
  const blob = await wrapGroupKeys(service, 'idva-service', member.encryption.publicKey)
  const back = await unwrapGroupKeys(blob, member.encryption, 'idva-service', publicKeysOf(service))
  t.same(back.encryption.privateKey, service.encryption.privateKey)
  await rejectsWithCryptoError(t, unwrapGroupKeys(blob, (await generateKeySet()).encryption, 'idva-service', publicKeysOf(service)), 'decryption_failed', 'another member')
  await rejectsWithCryptoError(t, unwrapGroupKeys(blob, member.encryption, 'unit-cn', publicKeysOf(service)), 'key_mismatch', 'keys of another group')
  // Anyone can seal to a member's public key: an insider forging "the service key" for them.
  const forged = await wrapGroupKeys(await newGroupKeys(), 'idva-service', member.encryption.publicKey)
  await rejectsWithCryptoError(t, unwrapGroupKeys(forged, member.encryption, 'idva-service', publicKeysOf(service)), 'key_mismatch', 'a forged group key')
})

t.test('rotation: a new key, and every earlier one still reachable for old cases', async (t) => {
  const first = await newGroupKeys()
  const oldCase = await sealEnvelope({ kind: 'disclosure', caseId: 'old', plaintext: text('two years ago'), recipients: [first.encryption.publicKey] })
  const second = await rotateGroupKeys(first, 'idva-service', 1)
  const middleCase = await sealEnvelope({ kind: 'disclosure', caseId: 'mid', plaintext: text('last year'), recipients: [second.next.encryption.publicKey] })
  const third = await rotateGroupKeys(second.next, 'idva-service', 2)
  const ring = await unwrapKeyRing(third.next, 'idva-service', [
    { blob: third.previous, publicKeys: publicKeysOf(second.next) },
    { blob: second.previous, publicKeys: publicKeysOf(first) },
  ])
  t.equal(ring.length, 3)
  const keys = ring.map((generation) => generation.encryption)
  t.same((await openEnvelope(oldCase, { caseId: 'old', keys })).plaintext, text('two years ago'))
  t.same((await openEnvelope(middleCase, { caseId: 'mid', keys })).plaintext, text('last year'))
  await rejectsWithCryptoError(
    t,
    unwrapKeyRing(third.next, 'idva-service', [{ blob: second.previous, publicKeys: publicKeysOf(first) }]),
    'decryption_failed',
    'generations must be given in order',
  )

  // The chain of certificates leads from the first (published) key to the current one.
  const current = await verifyKeyChain('idva-service', publicKeysOf(first), [
    { publicKeys: publicKeysOf(second.next), certificate: second.certificate },
    { publicKeys: publicKeysOf(third.next), certificate: third.certificate },
  ])
  t.same(current, publicKeysOf(third.next))
  // An insider swapping the current key in the database cannot certify it.
  const swapped = await newGroupKeys()
  await rejectsWithCryptoError(
    t,
    verifyKeyChain('idva-service', publicKeysOf(first), [
      { publicKeys: publicKeysOf(second.next), certificate: second.certificate },
      { publicKeys: publicKeysOf(swapped), certificate: third.certificate },
    ]),
    'bad_signature',
    'a swapped key is not certified',
  )
  await rejectsWithCryptoError(
    t,
    verifyKeyChain('unit-cn', publicKeysOf(first), [{ publicKeys: publicKeysOf(second.next), certificate: second.certificate }]),
    'bad_signature',
    'a certificate is for one group only',
  )
})

t.test('certificates: the service vouches for a unit\'s keys', async (t) => {
  const service = await newGroupKeys()
  const unit = await newGroupKeys()
  const subject = { id: 'met-na-safeguarding', generation: 1, publicKeys: publicKeysOf(unit) }
  const certificate = await issueKeyCertificate(service.signing, subject)
  t.equal(certificate.length, 64)
  t.ok(await verifyKeyCertificate(service.signing.publicKey, subject, certificate))
  t.notOk(await verifyKeyCertificate(service.signing.publicKey, { ...subject, id: 'met-dps' }, certificate), 'not for another unit')
  t.notOk(await verifyKeyCertificate(service.signing.publicKey, { ...subject, publicKeys: publicKeysOf(service) }, certificate), 'not for other keys')
  t.notOk(await verifyKeyCertificate(unit.signing.publicKey, subject, certificate), 'not from another issuer')
  await rejectsWithCryptoError(t, issueKeyCertificate(service.signing, { ...subject, generation: 0 }), 'malformed')
})

t.test('property: random blobs only ever give the typed error', async () => {
  const member = await generateKeySet()
  const kek = new Uint8Array(32).fill(7)
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (blob) => {
      const memberRefused = await failsWithCryptoError(() => unwrapMemberKeys(blob, kek, 'staff-1', publicKeysOf(member)))
      const groupRefused = await failsWithCryptoError(() => unwrapGroupKeys(blob, member.encryption, 'idva-service', publicKeysOf(member)))
      return memberRefused && groupRefused
    }),
    { numRuns: 300 },
  )
  // Well-formed envelopes around random content reach the decryption itself.
  const sodium = await loadSodium()
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 200 }), async (content) => {
      const sealed = new Uint8Array([1, ...sodium.crypto_box_seal(content, member.encryption.publicKey)])
      return failsWithCryptoError(() => unwrapGroupKeys(sealed, member.encryption, 'idva-service', publicKeysOf(member)))
    }),
    { numRuns: 100 },
  )
})

t.test('wrong types give the typed error, not a TypeError', async (t) => {
  const member = await generateKeySet()
  for (const value of [undefined, null, 'text', 42] as never[]) {
    await rejectsWithCryptoError(t, unwrapMemberKeys(value, new Uint8Array(32), 'staff-1', publicKeysOf(member)))
    await rejectsWithCryptoError(t, unwrapGroupKeys(value, member.encryption, 'g', publicKeysOf(member)))
    await rejectsWithCryptoError(t, unwrapGroupKeys(new Uint8Array(100), value, 'g', publicKeysOf(member)))
    await rejectsWithCryptoError(t, wrapMemberKeys(member, value, 'staff-1'))
    await rejectsWithCryptoError(t, wrapGroupKeys(member, 'g', value))
    if (typeof value !== 'string') await rejectsWithCryptoError(t, wrapGroupKeys(member, value, member.encryption.publicKey))
  }
})
