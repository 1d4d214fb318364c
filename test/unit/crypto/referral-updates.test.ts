import t from 'tap'
import { randomUUID } from 'node:crypto'
import {
  certifiedUnitKey,
  certifiedUnitKeys,
  CryptoError,
  fromUtf8,
  generateKeySet,
  issueKeyCertificate,
  openEnvelope,
  publicKeysOf,
  readUpdateContent,
  REFERRAL_ACTIONS,
  referralUpdateContext,
  sealEnvelope,
  utf8,
  type ReferralAction,
  type UpdateContent,
} from '../../../crypto/index.ts'

/** Units' updates: bound to their referral, place and action; content read strictly; unit keys the service vouches for. */

const CASE = randomUUID()
const REFERRAL = randomUUID()

function update(action: ReferralAction, overrides: Partial<UpdateContent> = {}): UpdateContent {
  return {
    v: 1,
    type: 'referral_update',
    referralId: REFERRAL,
    seq: 1,
    action,
    writtenOn: '2026-12-04',
    author: 'inv.one',
    unit: 'met-dps',
    note: 'A reason.',
    transferredTo: action === 'transferred' ? 'Another force' : null,
    iopcReferredOn: action === 'iopc_referred' ? '2026-12-03' : null,
    ...overrides,
  }
}

t.test('an update opens for the service and the unit, signed by the unit, at its referral, place and action only', async (t) => {
  const unit = await generateKeySet()
  const service = await generateKeySet()
  const stranger = await generateKeySet()
  const content = update('acknowledged')
  const envelope = await sealEnvelope({ kind: 'unit_note', caseId: CASE, plaintext: utf8(JSON.stringify(content)), recipients: [service.encryption.publicKey, unit.encryption.publicKey], signer: unit.signing, context: referralUpdateContext(REFERRAL, 1, 'acknowledged') })
  const open = (options: { keys?: typeof unit; signer?: Uint8Array; seq?: number; action?: ReferralAction; referralId?: string } = {}) =>
    openEnvelope(envelope, {
      caseId: CASE,
      keys: [(options.keys ?? service).encryption],
      expectKind: 'unit_note',
      trustedSigners: [options.signer ?? unit.signing.publicKey],
      requireSignature: true,
      context: referralUpdateContext(options.referralId ?? REFERRAL, options.seq ?? 1, options.action ?? 'acknowledged'),
    })
  t.same(readUpdateContent(fromUtf8((await open()).plaintext), { referralId: REFERRAL, seq: 1, action: 'acknowledged' }), content)
  t.same(readUpdateContent(fromUtf8((await open({ keys: unit })).plaintext), { referralId: REFERRAL, seq: 1, action: 'acknowledged' }), content, 'the unit reads its own history')
  await t.rejects(open({ keys: stranger }), CryptoError, 'nobody else')
  await t.rejects(open({ signer: service.signing.publicKey }), CryptoError, 'not signed by the service: the unit')
  await t.rejects(open({ action: 'closed' }), CryptoError, 'the action the server stores cannot be changed')
  await t.rejects(open({ seq: 2 }), CryptoError, 'nor its place')
  await t.rejects(open({ referralId: randomUUID() }), CryptoError, 'nor its referral')
  await t.rejects(sealEnvelope({ kind: 'unit_note', caseId: CASE, plaintext: utf8('{}'), recipients: [service.encryption.publicKey] }), { code: 'signature_required' }, 'an update must be signed')
})

t.test('the content is read strictly against what the reader expects', async (t) => {
  const read = (content: unknown, expected: { seq?: number; action?: ReferralAction } = {}) =>
    () => readUpdateContent(JSON.stringify(content), { referralId: REFERRAL, seq: expected.seq ?? 1, action: expected.action ?? (content as UpdateContent).action })
  for (const action of REFERRAL_ACTIONS) t.doesNotThrow(read(update(action)), `${action} with what it needs`)
  for (const action of ['no_further_action', 'closed', 'returned', 'iopc_not_referred'] as const) t.throws(read(update(action, { note: '  ' })), CryptoError, `${action} needs a note`)
  t.doesNotThrow(read(update('acknowledged', { note: '' })), 'an acknowledgement needs none')
  t.throws(read(update('transferred', { transferredTo: null })), CryptoError, 'a transfer says to whom')
  t.throws(read(update('acknowledged', { transferredTo: 'somewhere' })), CryptoError, 'only a transfer does')
  t.throws(read(update('iopc_referred', { iopcReferredOn: null })), CryptoError, 'an IOPC referral has its day')
  t.throws(read(update('iopc_referred', { iopcReferredOn: 'yesterday' })), CryptoError, 'a real day')
  t.throws(read(update('closed', { iopcReferredOn: '2026-12-01' })), CryptoError, 'only an IOPC referral does')
  t.throws(read(update('closed'), { action: 'acknowledged' }), CryptoError, 'another action than it was bound to')
  t.throws(read(update('closed'), { seq: 2 }), CryptoError, 'another place')
  t.throws(read(update('closed', { note: 'x'.repeat(5_001) })), CryptoError, 'a note too long')
  t.throws(read({ ...update('closed'), v: 2 }), CryptoError, 'another version')
  t.throws(() => readUpdateContent('not json', { referralId: REFERRAL, seq: 1, action: 'closed' }), CryptoError)
  t.throws(() => referralUpdateContext(REFERRAL, 0, 'closed'), CryptoError, 'places start at 1')
  t.throws(() => referralUpdateContext(REFERRAL, 1, 'toString' as ReferralAction), CryptoError, 'an inherited name is not an action')
  const extra = readUpdateContent(JSON.stringify({ ...update('closed'), html: '<script>' }), { referralId: REFERRAL, seq: 1, action: 'closed' })
  t.notOk(Object.hasOwn(extra, 'html'), 'nothing but the known fields')
})

t.test('the unit keys the service vouches for: from the certified generation onwards, each certified by the one before', async (t) => {
  const service = await generateKeySet()
  const [first, second, third] = await Promise.all([generateKeySet(), generateKeySet(), generateKeySet()])
  const id = 'met-dps'
  const generation = async (n: number, keys: typeof first, options: { service?: boolean; rotatedFrom?: typeof first } = {}) => ({
    generation: n,
    publicKeys: publicKeysOf(keys),
    serviceCertificate: options.service === true ? await issueKeyCertificate(service.signing, { id, generation: n, publicKeys: publicKeysOf(keys) }) : null,
    serviceGeneration: options.service === true ? 1 : null,
    rotationCertificate: options.rotatedFrom === undefined ? null : await issueKeyCertificate(options.rotatedFrom.signing, { id, generation: n, publicKeys: publicKeysOf(keys) }),
  })
  const signing = new Map([[1, service.signing.publicKey]])
  const chain = [await generation(1, first!), await generation(2, second!, { service: true }), await generation(3, third!, { rotatedFrom: second })]
  const vouched = await certifiedUnitKeys(id, chain, signing)
  t.same(vouched.map((entry) => entry.generation), [2, 3], 'generation 1 was never vouched for, so it is not trusted')
  t.equal((await certifiedUnitKey(id, chain, signing)).generation, 3, 'the newest is the one to seal to')
  await t.rejects(certifiedUnitKeys(id, [chain[0]!, chain[1]!, await generation(3, third!, { rotatedFrom: first })], signing), CryptoError, 'a rotation not certified by the one before breaks the chain')
  await t.rejects(certifiedUnitKeys(id, [chain[0]!], signing), CryptoError, 'no generation vouched for')
  await t.rejects(certifiedUnitKeys('met-ce-safeguarding', chain, signing), CryptoError, 'a certificate names its unit')
})
