import t from 'tap'
import { randomUUID } from 'node:crypto'
import { CryptoError, generateKeySet, openEnvelope, readPackageContent, referralContext, sealEnvelope, utf8, fromUtf8 } from '../../../crypto/index.ts'
import { packageContent } from '../../helpers/referrals.ts'

/** Referral packages: bound to their case, track and referral; content read strictly. */

const CASE = randomUUID()

t.test('a package opens only with its unit\'s key, for its case, track and referral', async (t) => {
  const unit = await generateKeySet()
  const other = await generateKeySet()
  const service = await generateKeySet()
  const referralId = randomUUID()
  const content = packageContent('criminal', referralId, { id: 'met-na-safeguarding', name: 'North Area', force: 'met' })
  const envelope = await sealEnvelope({ kind: 'referral_package', caseId: CASE, plaintext: utf8(JSON.stringify(content)), recipients: [unit.encryption.publicKey, service.encryption.publicKey], signer: service.signing, context: referralContext('criminal', referralId) })
  const open = (overrides: Partial<{ keys: typeof unit; track: 'criminal' | 'misconduct'; referralId: string; caseId: string }> = {}) =>
    openEnvelope(envelope, {
      caseId: overrides.caseId ?? CASE,
      keys: [(overrides.keys ?? unit).encryption],
      expectKind: 'referral_package',
      trustedSigners: [service.signing.publicKey],
      requireSignature: true,
      context: referralContext(overrides.track ?? 'criminal', overrides.referralId ?? referralId),
    })
  t.same(readPackageContent(fromUtf8((await open()).plaintext), { track: 'criminal', referralId }), content)
  await t.rejects(open({ keys: other }), CryptoError, "another unit's key")
  await t.rejects(open({ track: 'misconduct' }), CryptoError, 'as the other track')
  await t.rejects(open({ referralId: randomUUID() }), CryptoError, 'as another referral')
  await t.rejects(open({ caseId: randomUUID() }), CryptoError, 'for another case')
  await t.rejects(sealEnvelope({ kind: 'referral_package', caseId: CASE, plaintext: utf8('{}'), recipients: [unit.encryption.publicKey] }), { code: 'signature_required' }, 'a package must be signed')
  t.throws(() => referralContext('both' as 'criminal', referralId), CryptoError)
  t.throws(() => referralContext('criminal', 'not-a-uuid'), CryptoError)
})

t.test('package content is checked strictly', async (t) => {
  const referralId = randomUUID()
  const good = packageContent('misconduct', referralId, { id: 'met-dps', name: 'DPS', force: 'met' })
  const read = (value: unknown, expected = { track: 'misconduct' as const, referralId }) => readPackageContent(typeof value === 'string' ? value : JSON.stringify(value), expected)
  t.same(read({ ...good, extra: 'dropped' }), good, 'unknown fields are dropped')
  const bad: [string, unknown][] = [
    ['not JSON', 'nope'],
    ['another version', { ...good, v: 2 }],
    ['another track than it was bound to', { ...good, track: 'criminal' }],
    ['another referral', { ...good, referralId: randomUUID() }],
    ['an unknown shared item', { ...good, shared: { ...good.shared, items: ['everything'] } }],
    ['an inherited name as an item', { ...good, shared: { ...good.shared, items: ['constructor'] } }],
    ['an unknown rule', { ...good, decision: { ...good.decision, rules: ['R13'] } }],
    ['neither consent nor safeguarding', { ...good, basis: { kind: 'hunch' } }],
    ['a unit that is not an id', { ...good, to: { ...good.to, unit: '../x' } }],
    ['a bad evidence reference', { ...good, evidence: [{ id: 'x' }] }],
    ['a summary far too long', { ...good, summary: 'x'.repeat(20_001) }],
    ['an override without a reason', { ...good, decision: { ...good.decision, override: { proposedUnit: 'met-dps' } } }],
  ]
  for (const [what, value] of bad) t.throws(() => read(value), CryptoError, what)
})
