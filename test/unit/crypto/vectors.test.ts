import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { base64url } from '../../../crypto/bytes.ts'
import { checkCaseCode, deriveCaseKeys } from '../../../crypto/case-code.ts'
import { openEnvelope, type EnvelopeKind } from '../../../crypto/envelope.ts'
import { decryptEvidence } from '../../../crypto/evidence.ts'
import { fingerprint } from '../../../crypto/fingerprint.ts'
import { decodePublicKeySet, decodeSecretKeySet, encodePublicKeySet, keyId, publicKeysOf } from '../../../crypto/keys.ts'
import { pad, unpad } from '../../../crypto/padding.ts'
import { deriveStaffSecrets, unwrapGroupKeys, unwrapMemberKeys } from '../../../crypto/staff-keys.ts'
import { rejectsWithCryptoError } from '../../helpers/crypto.ts'

/**
 * Known-answer vectors (test/vectors/crypto-v1.json, made by test/vectors/generate.ts and checked
 * in): the code must still open, derive and verify exactly what the v1 formats produced.
 */

interface Vectors {
  keys: Record<string, string>
  padding: { length: number; padded: string }[]
  envelopes: { description: string; kind: EnvelopeKind; caseId: string; context: string | null; plaintext: string; envelope: string; signed: boolean }[]
  evidence: { fileId: string; key: string; encrypted: string }
  caseCodes: { code: string; typed: string; lookupId: string; replyPublicKey: string; authPublicKey: string }[]
  staff: {
    passphrase: string
    salt: string
    opsLimit: number
    memLimit: number
    authVerifier: string
    keyEncryptionKey: string
    accountId: string
    memberSecretKeyFile: string
    memberKeysBlob: string
    groupId: string
    groupSecretKeyFile: string
    groupKeysBlob: string
  }
}

const vectors = JSON.parse(readFileSync(join(import.meta.dirname, '../../vectors/crypto-v1.json'), 'utf8')) as Vectors
const bytes = (text: string) => base64url.decode(text, 'vector')
const recipient = await decodeSecretKeySet(vectors.keys.recipientSecretKeyFile!)
const second = await decodeSecretKeySet(vectors.keys.secondSecretKeyFile!)
const signer = decodePublicKeySet(vectors.keys.signerPublicKeyFile!)

t.test('keys, key ids and fingerprints', async (t) => {
  t.equal(encodePublicKeySet(publicKeysOf(recipient)), vectors.keys.recipientPublicKeyFile)
  t.same(await keyId('x25519', recipient.encryption.publicKey), bytes(vectors.keys.recipientX25519KeyId!))
  t.same(await keyId('ed25519', recipient.signing.publicKey), bytes(vectors.keys.recipientEd25519KeyId!))
  t.equal(await fingerprint(publicKeysOf(recipient)), vectors.keys.recipientFingerprint)
})

t.test('padding', async (t) => {
  for (const { length, padded } of vectors.padding) {
    const plaintext = Uint8Array.from({ length }, (_, i) => i % 256)
    t.same(pad(plaintext), bytes(padded), `${length} bytes`)
    t.same(unpad(bytes(padded)), plaintext)
  }
})

t.test('envelopes', async (t) => {
  for (const vector of vectors.envelopes) {
    const envelope = bytes(vector.envelope)
    const context = vector.context === null ? {} : { context: bytes(vector.context) }
    const options = { caseId: vector.caseId, keys: [recipient.encryption], trustedSigners: [signer.signing], ...context }
    const opened = await openEnvelope(envelope, options)
    t.same(opened.plaintext, bytes(vector.plaintext), vector.description)
    t.equal(opened.kind, vector.kind)
    t.same(opened.signer, vector.signed ? signer.signing : null)
    await rejectsWithCryptoError(t, openEnvelope(envelope, { ...options, caseId: `${vector.caseId}-other` }), ['decryption_failed', 'bad_signature'])
  }
  const twoRecipients = vectors.envelopes.find((vector) => vector.description.includes('two recipients'))!
  t.same((await openEnvelope(bytes(twoRecipients.envelope), { caseId: twoRecipients.caseId, keys: [second.encryption], trustedSigners: [signer.signing] })).plaintext, bytes(twoRecipients.plaintext))
})

t.test('evidence', async (t) => {
  const key = { fileId: bytes(vectors.evidence.fileId), key: bytes(vectors.evidence.key) }
  const expected = Uint8Array.from({ length: 65_536 + 1000 }, (_, i) => (i * 13) % 256)
  t.same(await decryptEvidence(bytes(vectors.evidence.encrypted), key), expected)
})

t.test('case codes', async (t) => {
  for (const vector of vectors.caseCodes) {
    t.match(await checkCaseCode(vector.typed), { ok: true, code: vector.code })
    const keys = await deriveCaseKeys(vector.typed)
    t.same(keys.lookupId, bytes(vector.lookupId), `${vector.code}: lookup id`)
    t.same(keys.reply.publicKey, bytes(vector.replyPublicKey), 'reply key')
    t.same(keys.auth.publicKey, bytes(vector.authPublicKey), 'auth key')
  }
})

t.test('staff keys', async (t) => {
  const staff = vectors.staff
  const secrets = await deriveStaffSecrets(staff.passphrase, { salt: bytes(staff.salt), opsLimit: staff.opsLimit, memLimit: staff.memLimit })
  t.same(secrets.authVerifier, bytes(staff.authVerifier))
  t.same(secrets.keyEncryptionKey, bytes(staff.keyEncryptionKey))
  const member = await decodeSecretKeySet(staff.memberSecretKeyFile)
  const unwrapped = await unwrapMemberKeys(bytes(staff.memberKeysBlob), secrets.keyEncryptionKey, staff.accountId, publicKeysOf(member))
  t.same(unwrapped.signing.privateKey, member.signing.privateKey)
  const group = await decodeSecretKeySet(staff.groupSecretKeyFile)
  const groupKeys = await unwrapGroupKeys(bytes(staff.groupKeysBlob), member.encryption, staff.groupId, publicKeysOf(group))
  t.same(groupKeys.encryption.privateKey, group.encryption.privateKey)
})
