import t from 'tap'
import fc from 'fast-check'
import { CASE_CODE_BITS, CODE_WORDS, checkCaseCode, deriveCaseKeys, formatCaseCode, generateCaseCode, splitCaseCode, suggestWords } from '../../../crypto/case-code.ts'
import { loadSodium } from '../../../crypto/sodium.ts'
import { WORDS, WORD_LIST_SOURCE_SHA256 } from '../../../crypto/wordlist.ts'
import { EXCLUDED_WORDS } from '../../../crypto/wordlist-excluded.ts'
import { BANNED_STEMS, BANNED_WORDS } from '../../fixtures/banned-words.ts'
import { rejectsWithCryptoError } from '../../helpers/crypto.ts'

t.test('the word list: 7772 distinct lower-case words, the EFF list without its hyphenated words', async (t) => {
  t.equal(WORDS.length, 7772)
  t.equal(new Set(WORDS).size, 7772)
  t.ok(WORDS.every((word) => /^[a-z]{3,9}$/.test(word)))
  t.equal(WORDS[0], 'abacus')
  t.equal(WORDS[7771], 'zoom')
  t.equal(WORD_LIST_SOURCE_SHA256, 'addd35536511597a02fa0a9ff1e5284677b8883b83e986e43f15a3db996b903e')
  t.ok(CASE_CODE_BITS >= 90, `${CASE_CODE_BITS.toFixed(2)} bits`)
})

t.test('the words codes are made of: no violence, police, relationship, drug, sex, death or illness word, checked against a list kept here', async (t) => {
  t.ok([...EXCLUDED_WORDS].every((word) => WORDS.includes(word)), 'every excluded word is a word of the list')
  t.equal(CODE_WORDS.length, WORDS.length - EXCLUDED_WORDS.size)
  t.ok(CODE_WORDS.length >= 6000, `${CODE_WORDS.length} words left`)
  const banned = new Set(BANNED_WORDS)
  t.same(CODE_WORDS.filter((word) => banned.has(word)), [], 'no banned word')
  t.same(CODE_WORDS.filter((word) => BANNED_STEMS.some((stem) => stem.test(word))), [], 'no word with a banned stem')
  // The review's examples, by name.
  for (const word of ['strangle', 'smother', 'battered', 'handcuff', 'custody', 'detective', 'wife', 'laxative', 'rehab', 'captive']) t.notOk(CODE_WORDS.includes(word), word)
  t.equal(CASE_CODE_BITS, 8 * Math.log2(CODE_WORDS.length))
})

t.test('a generated code has nine list words and passes its own check', async (t) => {
  const seen = new Set<string>()
  for (let i = 0; i < 200; i++) {
    const words = await generateCaseCode()
    t.equal(words.length, 9)
    t.ok(words.every((word) => CODE_WORDS.includes(word)))
    const checked = await checkCaseCode(formatCaseCode(words))
    t.ok(checked.ok)
    seen.add(formatCaseCode(words))
  }
  t.equal(seen.size, 200, 'no two alike')
})

t.test('typing is forgiving: case, spaces, hyphens, punctuation and full-width letters', async (t) => {
  const words = await generateCaseCode()
  const canonical = formatCaseCode(words)
  const typed = [
    words.join(' '),
    words.join('  -  '),
    `  ${words.map((word) => word.toUpperCase()).join('.')}  `,
    words.map((word, i) => (i % 2 === 0 ? word[0]!.toUpperCase() + word.slice(1) : word)).join(', '),
    words.join('\n'),
    [...words.join(' ')].map((char) => (char >= 'a' && char <= 'z' ? String.fromCharCode(char.charCodeAt(0) + 0xfee0) : char)).join(''),
  ]
  const keys = await deriveCaseKeys(canonical)
  for (const variant of typed) {
    const checked = await checkCaseCode(variant)
    t.match(checked, { ok: true, code: canonical }, JSON.stringify(variant))
    t.same((await deriveCaseKeys(variant)).lookupId, keys.lookupId, 'the same keys')
  }
  t.same(splitCaseCode('Apple--pie  TIME'), ['apple', 'pie', 'time'])
})

t.test('a word that is not in the list is named, with suggestions, before any request', async (t) => {
  const words = await generateCaseCode()
  const original = words[2]!
  const typo = original.length > 4 ? original.slice(0, 2) + original.slice(3) : `${original}q`
  const mistyped = [...words]
  mistyped[2] = typo
  const checked = await checkCaseCode(mistyped.join(' '))
  if (CODE_WORDS.includes(typo)) {
    t.match(checked, { ok: false, problem: 'check_failed' })
  } else {
    t.match(checked, { ok: false, problem: 'unknown_word', position: 3, word: typo })
    t.ok(checked.ok === false && checked.problem === 'unknown_word' && checked.suggestions.includes(original), `suggests ${original}`)
  }
  t.same(suggestWords('abcus'), ['abacus'])
  t.match(await checkCaseCode(''), { ok: false, problem: 'empty' })
  t.match(await checkCaseCode(words.slice(0, 7).join(' ')), { ok: false, problem: 'word_count', found: 7 })
  t.match(await checkCaseCode([...words, 'zoom'].join(' ')), { ok: false, problem: 'word_count', found: 10 })
})

t.test('a code made before the list was curated (eight words from the whole list) still opens its case', async (t) => {
  const s = await loadSodium()
  const index = new Map(WORDS.map((word, i) => [word, i]))
  const legacyCheck = (words: readonly string[]) => {
    const digest = s.crypto_generichash(16, new Uint8Array([...new TextEncoder().encode('sd-case-code-check-v1'), ...words.flatMap((word) => [index.get(word)! >> 8, index.get(word)! & 0xff])]), null)
    return WORDS[new DataView(digest.buffer, digest.byteOffset).getUint32(0) % WORDS.length]!
  }
  const seven = ['handcuff', 'abacus', 'zoom', 'custody', WORDS[100]!, WORDS[2000]!, WORDS[5000]!].filter((word) => index.has(word))
  t.equal(seven.length, 7)
  const legacy = [...seven, legacyCheck(seven)]
  const checked = await checkCaseCode(legacy.join(' '))
  t.match(checked, { ok: true, code: legacy.join('-') }, 'accepted, excluded words and all')
  t.same((await deriveCaseKeys(legacy.join(' '))).lookupId.length, 16)
  const wrong = [...legacy.slice(0, 7), WORDS[(index.get(legacy[7]!)! + 1) % WORDS.length]!]
  t.match(await checkCaseCode(wrong.join(' ')), { ok: false, problem: 'check_failed' }, 'its check word still checks')
})

t.test('the check word catches a real but wrong word, and words out of order', async (t) => {
  let wrongAccepted = 0
  let swapAccepted = 0
  const trials = 500
  await fc.assert(
    fc.asyncProperty(fc.nat({ max: 8 }), fc.nat({ max: CODE_WORDS.length - 1 }), fc.nat({ max: 8 }), async (position, replacement, other) => {
      const words = await generateCaseCode()
      const changed = [...words]
      changed[position] = CODE_WORDS[replacement]!
      if (changed[position] !== words[position] && (await checkCaseCode(changed.join(' '))).ok) wrongAccepted++
      const swapped = [...words]
      ;[swapped[position], swapped[other]] = [swapped[other]!, swapped[position]!]
      if (swapped.join() !== words.join() && (await checkCaseCode(swapped.join(' '))).ok) swapAccepted++
      return true
    }),
    { numRuns: trials },
  )
  // Each slips through with probability 1/6200: expected 0.08 in 500 tries.
  t.ok(wrongAccepted <= 2, `${wrongAccepted} of ${trials} wrong words passed`)
  t.ok(swapAccepted <= 2, `${swapAccepted} of ${trials} reorderings passed`)
})

t.test('derivation: deterministic, distinct per code, and refused for a bad code', async (t) => {
  const code = formatCaseCode(await generateCaseCode())
  const first = await deriveCaseKeys(code)
  const again = await deriveCaseKeys(code)
  t.same(first, again, 'the same code gives the same keys')
  t.equal(first.lookupId.length, 16)
  t.equal(first.reply.publicKey.length, 32)
  t.equal(first.auth.publicKey.length, 32)
  t.notSame(first.reply.publicKey, first.auth.publicKey)
  const other = await deriveCaseKeys(formatCaseCode(await generateCaseCode()))
  t.notSame(other.lookupId, first.lookupId)
  await rejectsWithCryptoError(t, deriveCaseKeys('not a code at all'), 'bad_code')
  const words = code.split('-')
  const wrong = [...words.slice(0, 7), words[7] === 'zoom' ? 'abacus' : 'zoom']
  await rejectsWithCryptoError(t, deriveCaseKeys(wrong.join(' ')), 'bad_code', 'a code failing its check gives no keys')
})

t.test("logging in: the code's auth key signs the challenge; anything else fails", async (t) => {
  const { signCaseLogin, verifyCaseLogin } = await import('../../../crypto/case-code.ts')
  const keys = await deriveCaseKeys(formatCaseCode(await generateCaseCode()))
  const challenge = new Uint8Array(32).map((_, i) => i)
  const signature = await signCaseLogin(keys, challenge)
  t.ok(await verifyCaseLogin(keys.auth.publicKey, keys.lookupId, challenge, signature))
  t.notOk(await verifyCaseLogin(keys.auth.publicKey, keys.lookupId, challenge.map((b) => b ^ 1), signature), 'another challenge')
  const other = await deriveCaseKeys(formatCaseCode(await generateCaseCode()))
  t.notOk(await verifyCaseLogin(keys.auth.publicKey, other.lookupId, challenge, signature), 'another case')
  t.notOk(await verifyCaseLogin(other.auth.publicKey, keys.lookupId, challenge, signature), 'another key')
  await rejectsWithCryptoError(t, signCaseLogin(keys, new Uint8Array(8)), 'malformed', 'a challenge too short')
  await rejectsWithCryptoError(t, verifyCaseLogin(keys.auth.publicKey, keys.lookupId, challenge, new Uint8Array(3)), 'malformed')
  t.match(await checkCaseCode(42 as never), { ok: false, problem: 'empty' }, 'not text')
  t.match(await checkCaseCode('abacus '.repeat(1000)), { ok: false, problem: 'word_count' }, 'absurdly long input is cut short')
})
