/**
 * Interoperability, both directions, between `crypto/` and `independent.ts` (written from
 * SECURITY.md "Cryptographic formats, version 1" alone).
 */
import t, { type Test } from 'tap'
import * as P from '../../crypto/index.ts'
import * as PS from '../../crypto/staff-keys.ts'
import * as I from './independent.ts'
import { WORDS } from '../../crypto/wordlist.ts'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const sameBytes = (t: Test, a: Uint8Array, b: Uint8Array, message: string): void => {
  t.equal(hex(a), hex(b), message)
}
const random = (n: number): Uint8Array => {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)))
  return out
}
const cryptoError = { name: 'CryptoError' }
/** Runs one direction of an interop check; a throw becomes a failed assertion, so later checks still run. */
async function attempt(t: Test, label: string, body: () => void | Promise<void>): Promise<void> {
  try {
    await body()
  } catch (error) {
    t.fail(`${label}: threw ${error instanceof Error ? `${error.name} ${(error as { code?: string }).code ?? ''} ${error.message}` : String(error)}`)
  }
}
const pub = (k: P.KeySet): P.PublicKeySet => ({ encryption: k.encryption.publicKey, signing: k.signing.publicKey })
const sameKeySet = (t: Test, a: P.KeySet, b: P.KeySet, message: string): void => {
  t.equal(
    [a.encryption.publicKey, a.encryption.privateKey, a.signing.publicKey, a.signing.privateKey].map(hex).join(),
    [b.encryption.publicKey, b.encryption.privateKey, b.signing.publicKey, b.signing.privateKey].map(hex).join(),
    message,
  )
}

t.test('key ids, key files and fingerprints', async (t) => {
  for (let round = 0; round < 5; round++) {
    const ks = await P.generateKeySet()
    sameBytes(t, I.keyId('x25519', ks.encryption.publicKey), await P.keyId('x25519', ks.encryption.publicKey), 'x25519 key id')
    sameBytes(t, I.keyId('ed25519', ks.signing.publicKey), await P.keyId('ed25519', ks.signing.publicKey), 'ed25519 key id')

    const pubText = P.encodePublicKeySet(pub(ks))
    t.equal(I.writePublicKeyFile(pub(ks)), pubText, 'public.key text identical')
    const readByMe = I.readPublicKeyFile(pubText)
    sameBytes(t, readByMe.encryption, ks.encryption.publicKey, 'public.key read: x25519')
    sameBytes(t, readByMe.signing, ks.signing.publicKey, 'public.key read: ed25519')
    const readByThem = P.decodePublicKeySet(I.writePublicKeyFile(pub(ks)))
    sameBytes(t, readByThem.encryption, ks.encryption.publicKey, 'project reads public.key: x25519')
    sameBytes(t, readByThem.signing, ks.signing.publicKey, 'project reads public.key: ed25519')

    const secretText = await P.encodeSecretKeySet(ks)
    t.equal(I.writeSecretKeyFile(ks), secretText, 'secret.key text identical')
    sameKeySet(t, I.readSecretKeyFile(secretText), ks, 'secret.key written by project, read here')
    sameKeySet(t, await P.decodeSecretKeySet(I.writeSecretKeyFile(ks)), ks, 'secret.key written here, read by project')

    t.equal(I.fingerprint(ks.encryption.publicKey, ks.signing.publicKey), await P.fingerprint(pub(ks)), 'fingerprint')
    t.match(await P.fingerprint(pub(ks)), /^\d{5}( \d{5}){5}$/, 'fingerprint shape')
  }

  // Both readers reject what the spec says readers reject.
  const ks = await P.generateKeySet()
  const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64')
  const good = Buffer.from(P.encodePublicKeySet(pub(ks)), 'base64')
  const goodSecret = Buffer.from(await P.encodeSecretKeySet(ks), 'base64')
  const badPublic = {
    'first byte': Uint8Array.from([0x02, ...good.subarray(1)]),
    'short': good.subarray(0, 64),
    'long': Uint8Array.from([...good, 0]),
    'zero x25519': Uint8Array.from([0x01, ...new Uint8Array(32), ...good.subarray(33)]),
    'zero ed25519': Uint8Array.from([...good.subarray(0, 33), ...new Uint8Array(32)]),
  }
  for (const [what, bytes] of Object.entries(badPublic)) {
    t.throws(() => P.decodePublicKeySet(b64(bytes)), cryptoError, `project rejects public.key: ${what}`)
    t.throws(() => I.readPublicKeyFile(b64(bytes)), `independent rejects public.key: ${what}`)
  }
  const badSecret = {
    'first byte': Uint8Array.from([0x01, ...goodSecret.subarray(1)]),
    'short': goodSecret.subarray(0, 64),
    'zero x25519': Uint8Array.from([0x81, ...new Uint8Array(32), ...goodSecret.subarray(33)]),
    'zero seed': Uint8Array.from([...goodSecret.subarray(0, 33), ...new Uint8Array(32)]),
  }
  for (const [what, bytes] of Object.entries(badSecret)) {
    await t.rejects(P.decodeSecretKeySet(b64(bytes)), cryptoError, `project rejects secret.key: ${what}`)
    t.throws(() => I.readSecretKeyFile(b64(bytes)), `independent rejects secret.key: ${what}`)
  }
})

t.test('padding', async (t) => {
  for (const n of [0, 1, 254, 255, 256, 257, 511, 512, 100_000, 1_048_575]) {
    const x = random(n)
    sameBytes(t, I.pad(x), P.pad(x), `pad ${n}`)
    sameBytes(t, P.unpad(I.pad(x)), x, `project unpads ${n}`)
    sameBytes(t, I.unpad(P.pad(x)), x, `independent unpads ${n}`)
  }
  t.throws(() => P.pad(new Uint8Array(1_048_576)), cryptoError, 'project refuses 1 MiB plaintext')
  t.throws(() => I.pad(new Uint8Array(1_048_576)), 'independent refuses 1 MiB plaintext')
  const odd = new Uint8Array(300)
  odd[0] = 0x80
  t.throws(() => P.unpad(odd), cryptoError, 'project: non-bucket length')
  const trailing = P.pad(new Uint8Array(3))
  trailing[255] = 1
  t.throws(() => P.unpad(trailing), cryptoError, 'project: non-zero after 0x80')
  t.throws(() => I.unpad(trailing), 'independent: non-zero after 0x80')
})

const STAFF_KINDS: readonly string[] = ['idva_reply', 'idva_note', 'triage', 'consent', 'referral_package', 'unit_note']

t.test('envelopes', async (t) => {
  const service = await P.generateKeySet()
  const members = await Promise.all([P.generateKeySet(), P.generateKeySet(), P.generateKeySet()])
  const stranger = await P.generateKeySet()
  const caseId = 'case_2024-07:abc.DEF'
  const sizes = [0, 1, 255, 256, 257, 4000]
  let round = 0
  for (const size of sizes) {
    for (const asked of [false, true]) {
      for (const recipientCount of [1, 3]) {
        const kind = I.KINDS[round++ % I.KINDS.length]!
        const signed = asked || STAFF_KINDS.includes(kind)
        const plaintext = random(size)
        const rings = members.slice(0, recipientCount)
        const recipients = rings.map((k) => k.encryption.publicKey)
        const signer = signed ? service.signing : undefined
        const trustedSigners = [stranger.signing.publicKey, service.signing.publicKey]
        const label = `${kind} ${size} bytes ${signed ? 'signed' : 'unsigned'} to ${recipientCount}`

        const theirs = await P.sealEnvelope({ kind, caseId, plaintext, recipients, ...(signer ? { signer } : {}) })
        const mine = I.sealEnvelope({ kind, caseId, plaintext, recipients, ...(signer ? { signer } : {}) })
        t.equal(mine.length, theirs.length, `${label}: same length`)

        for (const member of rings) {
          await attempt(t, `${label}: independent opens project's`, () => {
            const opened = I.openEnvelope(theirs, { caseId, keys: [stranger.encryption, member.encryption], trustedSigners })
            t.equal(opened.kind, kind, `${label}: independent opens project's (kind)`)
            sameBytes(t, opened.plaintext, plaintext, `${label}: independent opens project's (plaintext)`)
          })
          await attempt(t, `${label}: project opens independent's`, async () => {
            const back = await P.openEnvelope(mine, {
              caseId,
              keys: [stranger.encryption, member.encryption],
              expectKind: kind,
              trustedSigners,
              requireSignature: signed,
            })
            t.equal(back.kind, kind, `${label}: project opens independent's (kind)`)
            sameBytes(t, back.plaintext, plaintext, `${label}: project opens independent's (plaintext)`)
            t.equal(back.signer === null ? null : hex(back.signer), signed ? hex(service.signing.publicKey) : null, `${label}: signer`)
          })
        }

        const wrongCase = 'case_2024-07:abc.DEG'
        const ring = [rings[0]!.encryption]
        await t.rejects(P.openEnvelope(mine, { caseId: wrongCase, keys: ring, trustedSigners }), cryptoError, `${label}: project rejects wrong case id`)
        t.throws(() => I.openEnvelope(theirs, { caseId: wrongCase, keys: ring, trustedSigners }), `${label}: independent rejects wrong case id`)
        await t.rejects(P.openEnvelope(mine, { caseId, keys: [stranger.encryption], trustedSigners }), cryptoError, `${label}: project: not a recipient`)
        t.throws(() => I.openEnvelope(theirs, { caseId, keys: [stranger.encryption], trustedSigners }), `${label}: independent: not a recipient`)
        if (signed) {
          await t.rejects(P.openEnvelope(mine, { caseId, keys: ring, trustedSigners: [stranger.signing.publicKey] }), cryptoError, `${label}: project: untrusted signer`)
          t.throws(() => I.openEnvelope(theirs, { caseId, keys: ring, trustedSigners: [stranger.signing.publicKey] }), `${label}: independent: untrusted signer`)
        }
      }
    }
  }

  // Every kind, and the maximum of 16 recipients.
  const sixteen = await Promise.all(Array.from({ length: 16 }, () => P.generateKeySet()))
  for (const kind of I.KINDS) {
    const plaintext = new TextEncoder().encode(`a ${kind}`)
    const recipients = sixteen.map((k) => k.encryption.publicKey)
    const signer = STAFF_KINDS.includes(kind) ? { signer: service.signing } : {}
    const trustedSigners = [service.signing.publicKey]
    const theirs = await P.sealEnvelope({ kind, caseId, plaintext, recipients, ...signer })
    const mine = I.sealEnvelope({ kind, caseId, plaintext, recipients, ...signer })
    const last = [sixteen[15]!.encryption]
    await attempt(t, `${kind}: independent opens project's, 16 recipients`, () => {
      t.equal(I.openEnvelope(theirs, { caseId, keys: last, trustedSigners }).kind, kind, `${kind}: independent opens project's, 16 recipients`)
    })
    await attempt(t, `${kind}: project opens independent's, 16 recipients`, async () => {
      t.equal((await P.openEnvelope(mine, { caseId, keys: last, expectKind: kind, trustedSigners })).kind, kind, `${kind}: project opens independent's, 16 recipients`)
    })
    if (STAFF_KINDS.includes(kind)) {
      await t.rejects(P.sealEnvelope({ kind, caseId, plaintext, recipients }), cryptoError, `${kind}: project refuses to seal it unsigned`)
      t.throws(() => I.sealEnvelope({ kind, caseId, plaintext, recipients }), `${kind}: independent refuses to seal it unsigned`)
    }
  }

  // Case ids and recipient lists that both sides refuse, and the longest case id.
  const one = [members[0]!.encryption.publicKey]
  for (const bad of ['', 'x'.repeat(129), 'case 1', 'case/1', 'cäse']) {
    await t.rejects(P.sealEnvelope({ kind: 'disclosure', caseId: bad, plaintext: random(1), recipients: one }), cryptoError, `project refuses case id ${JSON.stringify(bad)}`)
    t.throws(() => I.sealEnvelope({ kind: 'disclosure', caseId: bad, plaintext: random(1), recipients: one }), `independent refuses case id ${JSON.stringify(bad)}`)
  }
  await t.rejects(P.sealEnvelope({ kind: 'disclosure', caseId, plaintext: random(1), recipients: [...one, ...one] }), cryptoError, 'project refuses duplicate recipients')
  t.throws(() => I.sealEnvelope({ kind: 'disclosure', caseId, plaintext: random(1), recipients: [...one, ...one] }), 'independent refuses duplicate recipients')
  const longId = 'A'.repeat(64) + 'z._:-09'.repeat(9) + '0'
  t.equal(longId.length, 128)
  const longTheirs = await P.sealEnvelope({ kind: 'consultation', caseId: longId, plaintext: random(9), recipients: one })
  await attempt(t, '128-character case id: independent opens project\'s', () => {
    t.equal(I.openEnvelope(longTheirs, { caseId: longId, keys: [members[0]!.encryption] }).plaintext.length, 9, '128-character case id: independent opens project\'s')
  })
  const longMine = I.sealEnvelope({ kind: 'consultation', caseId: longId, plaintext: random(9), recipients: one })
  await attempt(t, '128-character case id: project opens independent\'s', async () => {
    t.equal((await P.openEnvelope(longMine, { caseId: longId, keys: [members[0]!.encryption] })).plaintext.length, 9, '128-character case id: project opens independent\'s')
  })

  // Tampering with any byte of an independently sealed envelope is refused by the project.
  // A context (a message id and position) binds like the case id, both ways.
  const context = random(20)
  const withContext = await P.sealEnvelope({ kind: 'reporter_message', caseId, context, plaintext: random(5), recipients: one })
  t.equal(I.openEnvelope(withContext, { caseId, context, keys: [members[0]!.encryption] }).plaintext.length, 5, 'context: independent opens project\'s')
  t.throws(() => I.openEnvelope(withContext, { caseId, keys: [members[0]!.encryption] }), 'context: independent refuses without it')
  const mineWithContext = I.sealEnvelope({ kind: 'reporter_message', caseId, context, plaintext: random(5), recipients: one })
  t.equal((await P.openEnvelope(mineWithContext, { caseId, context, keys: [members[0]!.encryption] })).plaintext.length, 5, 'context: project opens independent\'s')
  await t.rejects(P.openEnvelope(mineWithContext, { caseId, context: random(20), keys: [members[0]!.encryption] }), cryptoError, 'context: project refuses another one')

  const sealed = I.sealEnvelope({ kind: 'idva_reply', caseId, plaintext: random(10), recipients: [members[0]!.encryption.publicKey], signer: service.signing })
  for (const at of [0, 1, 2, 3, 10, 30, 130, sealed.length - 70, sealed.length - 1]) {
    const bad = sealed.slice()
    bad[at]! ^= 1
    await t.rejects(P.openEnvelope(bad, { caseId, keys: [members[0]!.encryption], trustedSigners: [service.signing.publicKey] }), cryptoError, `project rejects flipped byte ${at}`)
  }
})

t.test('evidence files', async (t) => {
  for (const size of [0, 1, 65535, 65536, 65537, 200_000]) {
    const file = random(size)
    const key = await P.newEvidenceKey()
    const theirs = await P.encryptEvidence(file, key)
    const mine = I.encryptEvidence(file, key)
    t.equal(mine.length, theirs.length, `${size}: same length`)
    sameBytes(t, I.decryptEvidence(theirs, key), file, `${size}: independent decrypts project's`)
    sameBytes(t, await P.decryptEvidence(mine, key), file, `${size}: project decrypts independent's`)

    const otherId = { fileId: random(16), key: key.key }
    t.throws(() => I.decryptEvidence(theirs, otherId), `${size}: independent rejects wrong file id`)
    await t.rejects(P.decryptEvidence(mine, otherId), cryptoError, `${size}: project rejects wrong file id`)
    if (size > 65536) {
      const cut = mine.subarray(0, mine.length - (65536 + 17))
      await t.rejects(P.decryptEvidence(cut, key), cryptoError, `${size}: project rejects a truncated file`)
      t.throws(() => I.decryptEvidence(theirs.subarray(0, cut.length), key), `${size}: independent rejects a truncated file`)
    }
  }

  // The limit: a 25 MiB file (which needs a 401st chunk for its 0x80) both ways; one byte more refused.
  const big = random(26_214_400)
  const key = I.newEvidenceKey()
  const theirs = await P.encryptEvidence(big, key)
  const mine = I.encryptEvidence(big, key)
  t.equal(mine.length, theirs.length, '25 MiB: same length')
  t.equal(I.decryptEvidence(theirs, key).length, big.length, '25 MiB: independent decrypts project\'s')
  t.equal((await P.decryptEvidence(mine, key)).length, big.length, '25 MiB: project decrypts independent\'s')
  const tooBig = new Uint8Array(26_214_401)
  await t.rejects(P.encryptEvidence(tooBig, key), cryptoError, 'project refuses 25 MiB + 1')
  t.throws(() => I.encryptEvidence(tooBig, key), 'independent refuses 25 MiB + 1')
})

t.test('case codes', async (t) => {
  t.equal(WORDS.length, 7772, 'word list size')
  t.equal(WORDS[0], 'abacus')
  t.equal(WORDS[7771], 'zoom')

  const agree = async (input: string, canonical: string, label: string): Promise<void> => {
    const check = await P.checkCaseCode(input)
    t.ok(check.ok, `${label}: project accepts`)
    if (check.ok) t.equal(check.code, canonical, `${label}: project canonical code`)
    t.equal(I.canonicalCaseCode(input), canonical, `${label}: independent canonical code`)
    const theirs = await P.deriveCaseKeys(input)
    const mine = I.deriveCaseKeys(input)
    sameBytes(t, mine.lookupId, theirs.lookupId, `${label}: lookup id`)
    sameBytes(t, mine.reply.publicKey, theirs.reply.publicKey, `${label}: reply public key`)
    sameBytes(t, mine.reply.privateKey, theirs.reply.privateKey, `${label}: reply private key`)
    sameBytes(t, mine.auth.publicKey, theirs.auth.publicKey, `${label}: auth public key`)
    sameBytes(t, mine.auth.privateKey, theirs.auth.privateKey, `${label}: auth private key`)
  }

  t.equal(I.CODE_WORDS.length, 6200, 'curated list size')
  for (let i = 0; i < 10; i++) {
    const words = await P.generateCaseCode()
    t.equal(words.length, 9)
    const indices = words.map((w) => I.CODE_WORDS.indexOf(w))
    t.equal(I.checkWord(indices.slice(0, 8)), indices[8], 'project check word matches independent')
    await agree(words.join(' '), words.join('-'), `project code ${i}`)

    const mine = I.generateCaseCode()
    await agree(mine.join('-'), mine.join('-'), `independent code ${i}`)

    // A typed variant: odd case, mixed separators, fullwidth letters (NFKC), leading and trailing junk.
    const typed = `  ${mine[0]!.toUpperCase()} , ${mine[1]!.replace(/^./, (c) => c.toUpperCase())}--${mine[2]}\t${mine[3]}.${mine[4]}_${mine[5]} 7 ${[...mine[6]!].map((c) => String.fromCodePoint(c.codePointAt(0)! - 0x61 + 0xff41)).join('')}\n${mine[7]!.toUpperCase()}; ${mine[8]}!! `
    await agree(typed, mine.join('-'), `typed variant ${i} ${JSON.stringify(typed)}`)

    // A wrong check word is refused by both.
    const wrong = [...mine.slice(0, 8), I.CODE_WORDS[(I.CODE_WORDS.indexOf(mine[8]!) + 1) % I.CODE_WORDS.length]!].join(' ')
    const check = await P.checkCaseCode(wrong)
    t.notOk(check.ok, 'project refuses a wrong check word')
    t.throws(() => I.canonicalCaseCode(wrong), 'independent refuses a wrong check word')
    await t.rejects(P.deriveCaseKeys(wrong), cryptoError, 'project derives nothing from a wrong code')
  }

  // A code of version 1 (eight words of the whole list) is accepted by both, with the same keys.
  const seven = Array.from({ length: 7 }, () => Math.floor(Math.random() * WORDS.length))
  const legacy = [...seven, I.checkWord(seven, 1)].map((index) => WORDS[index]!)
  await agree(legacy.join(' '), legacy.join('-'), 'a code of version 1')

  // Seven or ten words, a wrong count for the version, or an unknown word, refused by both.
  const code = I.generateCaseCode()
  for (const bad of [code.slice(0, 7).join(' '), [...code, 'zoom'].join(' '), code.slice(0, 8).join(' '), [...code.slice(0, 8), 'zzzzz'].join(' ')]) {
    t.notOk((await P.checkCaseCode(bad)).ok, `project refuses ${bad}`)
    t.throws(() => I.canonicalCaseCode(bad), `independent refuses ${bad}`)
  }
})

t.test('staff keys', async (t) => {
  const params = { salt: random(16), opsLimit: 2, memLimit: 67_108_864 }
  const composed = 'Correct horse \u00c5 battery \ufb01le staple'
  const decomposed = 'Correct horse A\u030a battery file staple'
  const theirs = await PS.deriveStaffSecrets(composed, params)
  const mine = I.deriveStaffSecrets(composed, params)
  sameBytes(t, mine.authVerifier, theirs.authVerifier, 'auth verifier')
  sameBytes(t, mine.keyEncryptionKey, theirs.keyEncryptionKey, 'key-encryption key')
  const mineNfkc = I.deriveStaffSecrets(decomposed, params)
  sameBytes(t, mineNfkc.keyEncryptionKey, theirs.keyEncryptionKey, 'NFKC-equivalent passphrase gives the same kek')

  for (const bad of [{ ...params, opsLimit: 1 }, { ...params, opsLimit: 7 }, { ...params, memLimit: 67_108_863 }, { ...params, memLimit: 256 * 2 ** 20 + 1 }]) {
    await t.rejects(PS.deriveStaffSecrets(composed, bad), cryptoError, `project refuses ops ${bad.opsLimit} mem ${bad.memLimit}`)
    t.throws(() => I.deriveStaffSecrets(composed, bad), `independent refuses ops ${bad.opsLimit} mem ${bad.memLimit}`)
  }

  const kek = theirs.keyEncryptionKey
  const member = await P.generateKeySet()
  const accountId = 'staff:jane.doe_01'
  const wrappedByThem = await PS.wrapMemberKeys(member, kek, accountId)
  const wrappedByMe = I.wrapMemberKeys(member, kek, accountId)
  t.equal(wrappedByMe.length, wrappedByThem.length, 'member blob: same length')
  sameKeySet(t, I.unwrapMemberKeys(wrappedByThem, kek, accountId, pub(member)), member, 'member keys: project -> independent')
  sameKeySet(t, await PS.unwrapMemberKeys(wrappedByMe, kek, accountId, pub(member)), member, 'member keys: independent -> project')
  await t.rejects(PS.unwrapMemberKeys(wrappedByMe, kek, 'staff:someone.else', pub(member)), cryptoError, 'project: wrong account id')
  t.throws(() => I.unwrapMemberKeys(wrappedByThem, kek, 'staff:someone.else', pub(member)), 'independent: wrong account id')
  const other = await P.generateKeySet()
  await t.rejects(PS.unwrapMemberKeys(wrappedByMe, kek, accountId, pub(other)), cryptoError, 'project: wrong expected public keys')
  t.throws(() => I.unwrapMemberKeys(wrappedByThem, kek, accountId, pub(other)), 'independent: wrong expected public keys')

  const group = await PS.newGroupKeys()
  const groupId = 'idva-service'
  const groupByThem = await PS.wrapGroupKeys(group, groupId, member.encryption.publicKey)
  const groupByMe = I.wrapGroupKeys(group, groupId, member.encryption.publicKey)
  t.equal(groupByMe.length, groupByThem.length, 'group blob: same length')
  sameKeySet(t, I.unwrapGroupKeys(groupByThem, member.encryption, groupId, pub(group)), group, 'group keys: project -> independent')
  sameKeySet(t, await PS.unwrapGroupKeys(groupByMe, member.encryption, groupId, pub(group)), group, 'group keys: independent -> project')
  await t.rejects(PS.unwrapGroupKeys(groupByMe, member.encryption, 'unit:other', pub(group)), cryptoError, 'project: wrong group id')
  t.throws(() => I.unwrapGroupKeys(groupByThem, member.encryption, 'unit:other', pub(group)), 'independent: wrong group id')
  // A forged group key (sealed boxes are anonymous) is caught by the public-key comparison.
  const forged = await P.generateKeySet()
  await t.rejects(PS.unwrapGroupKeys(I.wrapGroupKeys(forged, groupId, member.encryption.publicKey), member.encryption, groupId, pub(group)), cryptoError, 'project: forged group key')
  const forgedByThem = await PS.wrapGroupKeys(forged, groupId, member.encryption.publicKey)
  t.throws(() => I.unwrapGroupKeys(forgedByThem, member.encryption, groupId, pub(group)), 'independent: forged group key')

  // Rotation: the previous keys sealed to the new X25519 key "in the same group-key layout".
  const { next, previous, certificate } = await PS.rotateGroupKeys(group, groupId, 1)
  sameKeySet(t, I.unwrapGroupKeys(previous, next.encryption, groupId, pub(group)), group, 'rotation: project -> independent')
  t.ok(I.verifyKeyCertificate(group.signing.publicKey, groupId, 2, pub(next), certificate), 'rotation certificate: project -> independent')
  const certifiedByMe = I.issueKeyCertificate(next.signing.privateKey, 'unit-cn', 1, pub(member))
  t.ok(await PS.verifyKeyCertificate(next.signing.publicKey, { id: 'unit-cn', generation: 1, publicKeys: pub(member) }, certifiedByMe), 'certificate: independent -> project')
  t.notOk(await PS.verifyKeyCertificate(next.signing.publicKey, { id: 'unit-cn', generation: 2, publicKeys: pub(member) }, certifiedByMe), 'another generation does not verify')
})
