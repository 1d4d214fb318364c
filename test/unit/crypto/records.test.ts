import t from 'tap'
import { randomUUID } from 'node:crypto'
import { CryptoError } from '../../../crypto/errors.ts'
import { openEnvelope, sealEnvelope } from '../../../crypto/envelope.ts'
import { utf8 } from '../../../crypto/bytes.ts'
import { generateKeySet } from '../../../crypto/keys.ts'
import { readRecordContent, recordContext, RECORD_ENVELOPE_KIND, type RecordKind } from '../../../crypto/records.ts'

/** IDVA records: bound to their kind and place, signed, and strictly read. */

const ID = randomUUID()
const CASE = randomUUID()

t.test('a record context names its kind and place', async (t) => {
  t.same(new TextDecoder().decode(recordContext('note', 2, ID)), `sd-record-v1|note|2|${ID}`)
  for (const [kind, seq, id] of [['diary', 1, ID], ['note', 0, ID], ['note', 1, 'x']] as const) t.throws(() => recordContext(kind as 'note', seq, id), CryptoError)
})

t.test('a record opens only as its own kind, place and case, signed by the service', async (t) => {
  const service = await generateKeySet()
  const other = await generateKeySet()
  const content = { v: 1, type: 'note', author: 'idva.one', writtenOn: '2026-12-01', text: '<b>not bold</b>' }
  const envelope = await sealEnvelope({ kind: RECORD_ENVELOPE_KIND.note, caseId: CASE, plaintext: utf8(JSON.stringify(content)), recipients: [service.encryption.publicKey], signer: service.signing, context: recordContext('note', 1, ID) })
  const open = (options: { context?: Uint8Array; caseId?: string; signers?: Uint8Array[] }) =>
    openEnvelope(envelope, { caseId: options.caseId ?? CASE, keys: [service.encryption], trustedSigners: options.signers ?? [service.signing.publicKey], requireSignature: true, context: options.context ?? recordContext('note', 1, ID) })
  const opened = await open({})
  t.same(readRecordContent('note', new TextDecoder().decode(opened.plaintext)), content)
  await t.rejects(open({ context: recordContext('identifiers', 1, ID) }), { code: 'bad_signature' }, 'not as an index entry')
  await t.rejects(open({ context: recordContext('note', 2, ID) }), { code: 'bad_signature' }, 'not at another place')
  await t.rejects(open({ caseId: randomUUID() }), { code: 'bad_signature' }, 'not in another case')
  await t.rejects(open({ signers: [other.signing.publicKey] }), { code: 'unknown_signer' })
  await t.rejects(sealEnvelope({ kind: 'triage', caseId: CASE, plaintext: utf8('{}'), recipients: [service.encryption.publicKey] }), { code: 'signature_required' }, 'a triage must be signed')
})

t.test('record content is checked strictly', async (t) => {
  const note = { v: 1, type: 'note', author: 'idva.one', writtenOn: '2026-12-01', text: 'x' }
  const consent = { v: 1, type: 'consent', author: 'idva.one', writtenOn: '2026-12-01', track: 'criminal', agreed: true, share: 's', withWhom: 'w', words: '', givenOn: '2026-11-30' }
  const triage = { v: 1, type: 'triage', author: 'idva.one', writtenOn: '2026-12-01', answers: { injured: 'yes' }, incidentsLastYear: 3, computedLevel: 'standard', level: 'high', judgementReason: 'r', marac: { eligible: true, refer: false, reason: '' } }
  t.same(readRecordContent('consent', JSON.stringify({ ...consent, extra: 1 })), { ...consent, items: [], evidence: [] }, 'unknown fields are dropped; a consent from before items says nothing item by item')
  const itemised = { ...consent, items: ['their_words', 'places'], evidence: ['11111111-1111-4111-8111-111111111111'] }
  t.same(readRecordContent('consent', JSON.stringify(itemised)), itemised, 'what may go, item by item and file by file')
  const routing = { v: 1, type: 'routing', author: 'idva.one', writtenOn: '2026-12-01', facts: { reporter: { force: 'met' } }, decision: { policyVersion: 'v1' }, overrides: { criminal: { unit: 'met-ce-safeguarding', reason: 'knows the team' }, misconduct: null } }
  t.same(readRecordContent('routing', JSON.stringify(routing)), routing)
  t.same(readRecordContent('triage', JSON.stringify(triage)), triage)
  t.same(readRecordContent('identifiers', JSON.stringify({ v: 1, type: 'identifiers', names: ['a b'], numbers: [] })), { v: 1, type: 'identifiers', names: ['a b'], numbers: [] })
  const bad: [string, 'note' | 'consent' | 'triage' | 'identifiers' | 'routing', unknown][] = [
    ['an item the portal does not know', 'consent', { ...consent, items: ['everything'] }],
    ['an inherited name as an item', 'consent', { ...consent, items: ['toString'] }],
    ['a file that is not an id', 'consent', { ...consent, evidence: ['../etc'] }],
    ['routing without facts', 'routing', { ...routing, facts: null }],
    ['an override with no unit', 'routing', { ...routing, overrides: { criminal: { reason: 'x' }, misconduct: null } }],
    ['an override with no reason', 'routing', { ...routing, overrides: { criminal: { unit: 'met-ce-safeguarding' }, misconduct: null } }],
    ['not JSON', 'note', 'nope'],
    ['another version', 'note', { ...note, v: 2 }],
    ['another type', 'consent', note],
    ['no author', 'note', { ...note, author: '' }],
    ['a bad day', 'note', { ...note, writtenOn: 'yesterday' }],
    ['a long note', 'note', { ...note, text: 'x'.repeat(20_001) }],
    ['an unknown track', 'consent', { ...consent, track: 'both' }],
    ['agreed not a boolean', 'consent', { ...consent, agreed: 'yes' }],
    ['an unknown answer', 'triage', { ...triage, answers: { injured: 'maybe' } }],
    ['a bad question id', 'triage', { ...triage, answers: { 'Bad-Id': 'yes' } }],
    ['an unknown level', 'triage', { ...triage, level: 'extreme' }],
    ['negative incidents', 'triage', { ...triage, incidentsLastYear: -1 }],
    ['no MARAC decision', 'triage', { ...triage, marac: null }],
    ['names not a list', 'identifiers', { v: 1, type: 'identifiers', names: 'a b', numbers: [] }],
  ]
  for (const [what, kind, value] of bad) t.throws(() => readRecordContent(kind, typeof value === 'string' ? value : JSON.stringify(value)), CryptoError, what)
})

t.test('a record of a kind that is not one is refused, even when the content names the same kind', async (t) => {
  for (const kind of ['toString', '__proto__', 'constructor', 'diary']) {
    t.throws(() => readRecordContent(kind as RecordKind, JSON.stringify({ v: 1, type: kind, author: 'idva.one', writtenOn: '2026-12-01', text: 'x' })), CryptoError, `${kind} is not a record kind`)
  }
})
