import t from 'tap'
import { addWorkingDays, overdueCutoff, responseClock, subtractWorkingDays, workingDaysBetween } from '../../../rules/working-days.ts'

/** Working days, the first-response clock, and the cutoff the queue filters on. */

// 2026-11-30 is a Monday.
t.test('working days skip weekends', async (t) => {
  t.equal(addWorkingDays('2026-11-30', 2), '2026-12-02')
  t.equal(addWorkingDays('2026-12-04', 1), '2026-12-07', 'Friday + 1 is Monday')
  t.equal(addWorkingDays('2026-12-05', 1), '2026-12-07', 'a Saturday case counts from Monday')
  t.equal(subtractWorkingDays('2026-12-07', 1), '2026-12-04')
  t.equal(workingDaysBetween('2026-12-04', '2026-12-07'), 1)
  t.equal(workingDaysBetween('2026-12-07', '2026-12-04'), 0)
  t.equal(workingDaysBetween('2026-11-30', '2026-12-14'), 10)
})

t.test('the clock: due, due today, overdue, replied (on time or late), closed', async (t) => {
  const clock = (createdOn: string, today: string, firstReplyOn: string | null = null, closed = false) => responseClock({ createdOn, today, firstReplyOn, closed, targetDays: 2 })
  t.match(clock('2026-11-30', '2026-11-30'), { state: 'due', dueOn: '2026-12-02', text: 'Reply due by 2026-12-02' })
  t.match(clock('2026-11-30', '2026-12-02'), { state: 'due', text: 'Reply due today' })
  t.match(clock('2026-11-30', '2026-12-03'), { state: 'overdue', overdueBy: 1, text: '1 working day past the target (due 2026-12-02)' })
  t.match(clock('2026-11-27', '2026-12-07'), { state: 'overdue', overdueBy: 4 }, 'over a weekend')
  t.match(clock('2026-11-30', '2026-12-10', '2026-12-01'), { state: 'replied', waited: 1, text: 'First reply after 1 working day' })
  t.match(clock('2026-11-30', '2026-12-10', '2026-12-07'), { state: 'replied', overdueBy: 3, text: 'First reply after 5 working days (3 working days late)' })
  t.match(clock('2026-11-30', '2026-12-10', null, true), { state: 'closed' })
  const friday = responseClock({ createdOn: '2026-12-03', today: '2026-12-05', firstReplyOn: null, closed: false, targetDays: 1 })
  t.match(friday, { state: 'overdue', dueOn: '2026-12-04', overdueBy: 0, text: 'Was due 2026-12-04' }, 'due on Friday: overdue over the weekend')
})

t.test('the overdue cutoff agrees with the clock, day by day', async (t) => {
  for (const today of ['2026-11-30', '2026-12-01', '2026-12-04', '2026-12-05', '2026-12-06', '2026-12-07']) {
    for (const target of [1, 2, 5]) {
      const cutoff = overdueCutoff(today, target)
      for (let back = 0; back < 20; back++) {
        const created = new Date(Date.parse(`${today}T00:00:00Z`) - back * 86_400_000).toISOString().slice(0, 10)
        const overdue = responseClock({ createdOn: created, today, firstReplyOn: null, closed: false, targetDays: target }).state === 'overdue'
        t.equal(created <= cutoff, overdue, `${created} on ${today}, target ${target}`)
      }
    }
  }
})
