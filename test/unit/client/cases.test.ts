import t from 'tap'
import { listForKind } from '../../../client/staff/cases.ts'

/**
 * The IDVA's case page sorts the records the server sends by their kind. The kind is the server's
 * word, so a changed database could send "constructor" or "__proto__": that must be a record of no
 * kind (counted as failing its checks), never an inherited property whose push is not a function,
 * which would stop the whole page.
 */

t.test('a record goes in its own kind\'s list, and a kind that is not one has no list', async (t) => {
  const lists = { triage: [] as number[], note: [] as number[], consent: [] as number[], identifiers: [] as number[], routing: [] as number[] }
  for (const kind of ['triage', 'note', 'consent', 'identifiers', 'routing'] as const) t.equal(listForKind(lists, kind), lists[kind], `${kind} has its list`)
  for (const kind of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'diary', '']) t.equal(listForKind(lists, kind), null, `${JSON.stringify(kind)} has none`)
  listForKind(lists, 'note')!.push(1)
  t.same(lists.note, [1])
})
