import t from 'tap'
import { median, shownText, suppressRow } from '../../../rules/figures.ts'

const show = (row: ReturnType<typeof suppressRow>) => ({ cells: row.cells.map((cell) => shownText(cell, 5)), total: row.total === null ? null : shownText(row.total, 5) })

t.test('a small count shows as "fewer than 5"; zero and larger counts as they are', async (t) => {
  t.same(show(suppressRow([0, 3, 12], 5, false)), { cells: ['0', 'fewer than 5', '12'], total: null })
  t.same(show(suppressRow([5, 6], 5, false)), { cells: ['5', '6'], total: null }, 'the minimum itself is shown')
})

t.test('with a total, one hidden cell cannot be worked out from the others', async (t) => {
  // 20 - 12 - 7 would give the 1 away: the 7 is hidden too.
  t.same(show(suppressRow([12, 1, 7], 5, true)), { cells: ['12', 'fewer than 5', 'not shown'], total: '20' }, 'the 7 is not said to be fewer than 5: it is not shown')
  t.same(show(suppressRow([12, 1, 2, 9], 5, true)), { cells: ['12', 'fewer than 5', 'fewer than 5', '9'], total: '24' }, 'two hidden already: nothing more')
  t.same(show(suppressRow([1, 0, 0], 5, true)), { cells: ['fewer than 5', '0', '0'], total: 'fewer than 5' }, 'a small total is hidden, and bounds its cells')
  t.same(show(suppressRow([3, 1], 5, true)), { cells: ['fewer than 5', 'fewer than 5'], total: 'fewer than 5' })
})

t.test('the median', async (t) => {
  t.equal(median([]), null)
  t.equal(median([3, 1, 2]), 2)
  t.equal(median([4, 1, 2, 3]), 2.5)
})
