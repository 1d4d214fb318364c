/**
 * Writes test/vectors/crypto-v1.json: known-answer vectors for every v1 format. Run it only when a
 * format deliberately changes (node --import tsx test/vectors/generate.ts), and review the diff:
 * test/unit/crypto/vectors.test.ts checks the code against the committed file, so an accidental
 * change to a format fails the tests instead of silently producing incompatible data.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { base64url } from '../../crypto/bytes.ts'
import { deriveCaseKeys, formatCaseCode, generateCaseCode } from '../../crypto/case-code.ts'
import { sealEnvelope, type EnvelopeKind } from '../../crypto/envelope.ts'
import { encryptEvidence, newEvidenceKey } from '../../crypto/evidence.ts'
import { fingerprint } from '../../crypto/fingerprint.ts'
import { encodePublicKeySet, encodeSecretKeySet, generateKeySet, keyId, publicKeysOf } from '../../crypto/keys.ts'
import { pad } from '../../crypto/padding.ts'
import { deriveStaffSecrets, newGroupKeys, newPassphraseParams, wrapGroupKeys, wrapMemberKeys } from '../../crypto/staff-keys.ts'

const b64 = base64url.encode
const utf8 = (text: string) => new TextEncoder().encode(text)

const recipient = await generateKeySet()
const second = await generateKeySet()
const signer = await generateKeySet()

const envelope = async (description: string, kind: EnvelopeKind, caseId: string, plaintext: Uint8Array, signed: boolean, recipients = [recipient], context?: Uint8Array) => ({
  description,
  kind,
  caseId,
  context: context === undefined ? null : b64(context),
  plaintext: b64(plaintext),
  envelope: b64(
    await sealEnvelope({
      kind,
      caseId,
      plaintext,
      recipients: recipients.map((keys) => keys.encryption.publicKey),
      ...(signed ? { signer: signer.signing } : {}),
      ...(context === undefined ? {} : { context }),
    }),
  ),
  signed,
})

const evidenceKey = await newEvidenceKey()
// Two chunks: the file fills the first, and its end and padding the second.
const evidencePlaintext = Uint8Array.from({ length: 65_536 + 1000 }, (_, i) => (i * 13) % 256)
const codes = await Promise.all([0, 1, 2].map(async () => formatCaseCode(await generateCaseCode())))
const staffParams = { ...(await newPassphraseParams()), opsLimit: 2, memLimit: 64 * 1024 * 1024 }
const staffSecrets = await deriveStaffSecrets('Vectors are not secrets, but this passphrase is long', staffParams)
const member = await generateKeySet()
const group = await newGroupKeys()

const vectors = {
  format: 'safe-disclosure crypto v1 known-answer vectors; bytes are base64url without padding',
  keys: {
    recipientSecretKeyFile: await encodeSecretKeySet(recipient),
    recipientPublicKeyFile: encodePublicKeySet(publicKeysOf(recipient)),
    secondSecretKeyFile: await encodeSecretKeySet(second),
    signerPublicKeyFile: encodePublicKeySet(publicKeysOf(signer)),
    recipientX25519KeyId: b64(await keyId('x25519', recipient.encryption.publicKey)),
    recipientEd25519KeyId: b64(await keyId('ed25519', recipient.signing.publicKey)),
    recipientFingerprint: await fingerprint(publicKeysOf(recipient)),
  },
  padding: [0, 1, 255, 256, 1000].map((length) => ({ length, padded: b64(pad(Uint8Array.from({ length }, (_, i) => i % 256))) })),
  envelopes: [
    await envelope('a disclosure, unsigned, one recipient', 'disclosure', 'case-0001', utf8('What is happening to me, in my own words.'), false),
    await envelope('an empty message', 'reporter_message', 'case-0001', new Uint8Array(0), false),
    await envelope('a signed IDVA reply to two recipients', 'idva_reply', 'case:2026-11.a_b-c', utf8('We have read what you wrote. You are not alone.'), true, [second, recipient]),
    await envelope('a plaintext filling a 256-byte bucket exactly', 'consultation', 'x', Uint8Array.from({ length: 255 }, (_, i) => i), false),
    await envelope('a signed note with a context', 'idva_note', 'case-0002', utf8('Called back; safe to text after 6pm.'), true, [recipient], utf8('message 3')),
  ],
  evidence: {
    fileId: b64(evidenceKey.fileId),
    key: b64(evidenceKey.key),
    plaintext: 'bytes (i * 13) mod 256 for i = 0..66535',
    encrypted: b64(await encryptEvidence(evidencePlaintext, evidenceKey)),
  },
  caseCodes: await Promise.all(
    codes.map(async (code) => {
      const keys = await deriveCaseKeys(code)
      return {
        code,
        typed: `  ${code.toUpperCase().split('-').join('  ')} `,
        lookupId: b64(keys.lookupId),
        replyPublicKey: b64(keys.reply.publicKey),
        authPublicKey: b64(keys.auth.publicKey),
      }
    }),
  ),
  staff: {
    passphrase: 'Vectors are not secrets, but this passphrase is long',
    salt: b64(staffParams.salt),
    opsLimit: staffParams.opsLimit,
    memLimit: staffParams.memLimit,
    authVerifier: b64(staffSecrets.authVerifier),
    keyEncryptionKey: b64(staffSecrets.keyEncryptionKey),
    accountId: 'staff-0001',
    memberSecretKeyFile: await encodeSecretKeySet(member),
    memberKeysBlob: b64(await wrapMemberKeys(member, staffSecrets.keyEncryptionKey, 'staff-0001')),
    groupId: 'idva-service',
    groupSecretKeyFile: await encodeSecretKeySet(group),
    groupKeysBlob: b64(await wrapGroupKeys(group, 'idva-service', member.encryption.publicKey)),
  },
}

writeFileSync(join(import.meta.dirname, 'crypto-v1.json'), `${JSON.stringify(vectors, null, 2)}\n`)
