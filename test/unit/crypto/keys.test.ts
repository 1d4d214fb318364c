import t from 'tap'
import fc from 'fast-check'
import { base64 } from '../../../crypto/bytes.ts'
import { fingerprint } from '../../../crypto/fingerprint.ts'
import { decodePublicKeySet, decodeSecretKeySet, encodePublicKeySet, encodeSecretKeySet, generateKeySet, keyId, publicKeysOf, type KeyType } from '../../../crypto/keys.ts'
import { failsWithCryptoError, rejectsWithCryptoError } from '../../helpers/crypto.ts'

t.test('key ids: 16 bytes, derived from the key and its type', async (t) => {
  const keys = await generateKeySet()
  const id = await keyId('x25519', keys.encryption.publicKey)
  t.equal(id.length, 16)
  t.same(await keyId('x25519', keys.encryption.publicKey), id, 'deterministic')
  t.notSame(await keyId('ed25519', keys.encryption.publicKey), id, 'the type is part of the id')
  await rejectsWithCryptoError(t, keyId('x25519', new Uint8Array(31)), 'malformed')
  for (const inherited of ['toString', '__proto__', 'constructor', 'rsa']) {
    await rejectsWithCryptoError(t, keyId(inherited as KeyType, keys.encryption.publicKey), 'unsupported', `${inherited} is not a key type`)
  }
})

t.test('key files round-trip, and the secret file determines the public one', async (t) => {
  const keys = await generateKeySet()
  const publicFile = encodePublicKeySet(publicKeysOf(keys))
  const secretFile = await encodeSecretKeySet(keys)
  t.match(publicFile, /^[A-Za-z0-9+/]{86}[A-Za-z0-9+/=]{2}$/)
  t.same(decodePublicKeySet(`${publicFile}\n`), publicKeysOf(keys))
  const back = await decodeSecretKeySet(secretFile)
  t.same(back.encryption, keys.encryption)
  t.same(back.signing, keys.signing)
})

t.test('bad key files are refused with the typed error', async (t) => {
  const keys = await generateKeySet()
  const bytes = base64.decode(encodePublicKeySet(publicKeysOf(keys)), 'key')
  const reencode = (edit: (b: Uint8Array) => Uint8Array) => base64.encode(edit(bytes.slice()))
  await rejectsWithCryptoError(t, () => decodePublicKeySet('not base64!'), 'malformed')
  await rejectsWithCryptoError(t, () => decodePublicKeySet(reencode((b) => b.subarray(0, 64))), 'malformed', 'too short')
  await rejectsWithCryptoError(t, () => decodePublicKeySet(reencode((b) => ((b[0] = 2), b))), 'unsupported', 'unknown format')
  await rejectsWithCryptoError(t, () => decodePublicKeySet(reencode((b) => (b.fill(0, 1, 33), b))), 'malformed', 'all-zero key')
  await rejectsWithCryptoError(t, decodeSecretKeySet(encodePublicKeySet(publicKeysOf(keys))), 'unsupported', 'a public file where a secret one belongs')
  for (const value of [undefined, null, 42, {}] as never[]) {
    await rejectsWithCryptoError(t, () => decodePublicKeySet(value), 'malformed', `public key file ${JSON.stringify(value)}`)
    await rejectsWithCryptoError(t, decodeSecretKeySet(value), 'malformed', `secret key file ${JSON.stringify(value)}`)
    await rejectsWithCryptoError(t, keyId('x25519', value), 'malformed')
    await rejectsWithCryptoError(t, () => base64.decode(value, 'x'), 'malformed')
  }
  const zeroSecret = base64.encode(Uint8Array.of(0x81, ...new Uint8Array(64)))
  await rejectsWithCryptoError(t, decodeSecretKeySet(zeroSecret), 'malformed', 'all-zero secret keys')
  t.same(decodePublicKeySet(` \t${encodePublicKeySet(publicKeysOf(keys))}\r\n`), publicKeysOf(keys), 'ASCII white space around the text is ignored')
  await rejectsWithCryptoError(t, () => decodePublicKeySet(`\u00a0${encodePublicKeySet(publicKeysOf(keys))}`), 'malformed', 'other white space is not')
  await fc.assert(fc.asyncProperty(fc.string({ maxLength: 200 }), async (text) => failsWithCryptoError(async () => decodePublicKeySet(text))), { numRuns: 300 })
  await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 100 }), async (b) => failsWithCryptoError(() => decodeSecretKeySet(base64.encode(b)))), { numRuns: 300 })
})

t.test('fingerprints: six groups of five digits, stable, and different for different keys', async (t) => {
  const keys = publicKeysOf(await generateKeySet())
  const printed = await fingerprint(keys)
  t.match(printed, /^\d{5}( \d{5}){5}$/)
  t.equal(await fingerprint(keys), printed)
  t.not(await fingerprint(publicKeysOf(await generateKeySet())), printed)
  t.not(await fingerprint({ encryption: keys.encryption, signing: publicKeysOf(await generateKeySet()).signing }), printed, 'both keys count')
  await rejectsWithCryptoError(t, fingerprint({ encryption: new Uint8Array(3), signing: keys.signing }), 'malformed')
})
