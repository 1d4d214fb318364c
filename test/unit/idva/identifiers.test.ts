import t from 'tap'
import { identifiersOf, isEmpty, normaliseName, normaliseNumber, sameIdentifiers, samePerson } from '../../../client/staff/identifiers.ts'

/** The repeat-perpetrator comparison: names and numbers written differently still match. */

t.test('names: case, accents, punctuation, order and titles do not matter; one word is not enough', async (t) => {
  const same = ["Sgt John O'Brien", 'john obrien', 'OBRIEN, JOHN', 'PC  John  O\u2019Brien', 'Mr. Jöhn O-Brien', 'Detective Sergeant John OBrien']
  for (const name of same) t.equal(normaliseName(name), 'john obrien', name)
  t.equal(normaliseName('Dave'), null)
  t.equal(normaliseName('PC Smith'), null, 'a title and one word')
  t.equal(normaliseName(''), null)
  t.not(normaliseName('John Smith'), normaliseName('Jane Smith'))
})

t.test('numbers: spaces, case, a rank prefix and leading zeros do not matter', async (t) => {
  for (const number of ['PC 0123 AB', '123ab', 'pc123AB', ' 123-AB ']) t.equal(normaliseNumber(number), '123AB', number)
  t.equal(normaliseNumber('7'), null, 'too short')
  t.equal(normaliseNumber('abc'), null, 'no digits')
  t.equal(normaliseNumber('PCSO 456'), '456')
})

t.test('cases match on a shared name or number', async (t) => {
  const a = identifiersOf({ perpetratorName: 'Sgt John OBrien', perpetratorNumber: 'PC 123AB' })
  t.same(a, { names: ['john obrien'], numbers: ['123AB'] })
  t.ok(samePerson(a, identifiersOf({ perpetratorName: 'someone else entirely', perpetratorNumber: '0123ab' })), 'by number')
  t.ok(samePerson(a, identifiersOf({ perpetratorName: "o'brien john" })), 'by name')
  t.notOk(samePerson(a, identifiersOf({ perpetratorName: 'John Smith', perpetratorNumber: '999' })))
  t.ok(isEmpty(identifiersOf(undefined)))
  t.ok(isEmpty(identifiersOf({ perpetratorName: 'Dave' })))
  t.ok(sameIdentifiers({ names: ['b', 'a'], numbers: [] }, { names: ['a', 'b'], numbers: [] }))
})
