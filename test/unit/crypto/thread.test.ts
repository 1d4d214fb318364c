import t from 'tap'
import { CryptoError } from '../../../crypto/errors.ts'
import { messageContext, readMessageContent } from '../../../crypto/thread.ts'

const ID = '0f8fad5b-d9cb-469f-a165-70867728950e'
const KEY = 'A'.repeat(43)

t.test('a message context names its place in the thread', async (t) => {
  t.same(new TextDecoder().decode(messageContext(3, ID)), `sd-thread-v1|3|${ID}`)
  for (const [seq, id] of [[0, ID], [1.5, ID], [1, 'not-a-uuid'], [1, ID.toUpperCase()]] as const) {
    t.throws(() => messageContext(seq, id), CryptoError)
  }
})

t.test('message content is checked before anything in it is used', async (t) => {
  const good = { v: 1, text: '<script>alert(1)</script>', answers: { abuseTypes: ['physical'], duration: 'over_2_years' }, evidence: [{ id: ID, fileId: 'x', key: 'y', name: 'a.png', type: 'image/png', size: 3 }], caseKeys: { reply: KEY, auth: KEY } }
  const read = readMessageContent(JSON.stringify(good))
  t.equal(read.text, good.text, 'text is kept as it is: it is only ever shown as text')
  t.same(read.answers, good.answers)
  t.same(read.caseKeys, good.caseKeys)
  t.same(readMessageContent(JSON.stringify({ v: 1, text: '' })).evidence, [], 'evidence defaults to none')
  const bad: [string, unknown][] = [
    ['not JSON', 'nope'],
    ['no version', { text: 'x' }],
    ['another version', { v: 2, text: 'x' }],
    ['text not a string', { v: 1, text: 5 }],
    ['text too long', { v: 1, text: 'x'.repeat(50_001) }],
    ['too many files', { v: 1, text: '', evidence: Array.from({ length: 11 }, () => good.evidence[0]) }],
    ['a file with a bad id', { v: 1, text: '', evidence: [{ ...good.evidence[0], id: '../x' }] }],
    ['a file with no size', { v: 1, text: '', evidence: [{ ...good.evidence[0], size: 'big' }] }],
    ['an answer with a bad name', { v: 1, text: '', answers: { __proto__x: 'a' } }],
    ['an answer of the wrong type', { v: 1, text: '', answers: { duration: { nested: true } } }],
    ['case keys malformed', { v: 1, text: '', caseKeys: { reply: 'short', auth: KEY } }],
    ['an array', [1, 2]],
  ]
  for (const [what, value] of bad) t.throws(() => readMessageContent(typeof value === 'string' ? value : JSON.stringify(value)), CryptoError, what)
})
