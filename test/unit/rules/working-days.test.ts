import t from 'tap'
import { addWorkingDays, overdueCutoff, overdueCutoffs, responseClock, subtractWorkingDays, workingDaysBetween } from '../../../rules/working-days.ts'
import { bankHolidays } from '../../../server/bank-holidays.ts'

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
  t.match(clock('2026-11-30', '2026-11-30'), { state: 'due', dueOn: '2026-12-02', text: 'Reply due by 2 December 2026' })
  t.match(clock('2026-11-30', '2026-12-02'), { state: 'due', text: 'Reply due today' })
  t.match(clock('2026-11-30', '2026-12-03'), { state: 'overdue', overdueBy: 1, text: '1 working day past the target (due 2 December 2026)' })
  t.match(clock('2026-11-27', '2026-12-07'), { state: 'overdue', overdueBy: 4 }, 'over a weekend')
  t.match(clock('2026-11-30', '2026-12-10', '2026-12-01'), { state: 'replied', waited: 1, text: 'First reply after 1 working day' })
  t.match(clock('2026-11-30', '2026-12-10', '2026-12-07'), { state: 'replied', overdueBy: 3, text: 'First reply after 5 working days (3 working days late)' })
  t.match(clock('2026-11-30', '2026-12-10', null, true), { state: 'closed' })
  const friday = responseClock({ createdOn: '2026-12-03', today: '2026-12-05', firstReplyOn: null, closed: false, targetDays: 1 })
  t.match(friday, { state: 'overdue', dueOn: '2026-12-04', overdueBy: 0, text: 'Was due 4 December 2026' }, 'due on Friday: overdue over the weekend')
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

t.test('bank holidays of the service\'s region are not working days, from the kept data package', async (t) => {
  const englandAndWales = bankHolidays('england-and-wales')
  const scotland = bankHolidays('scotland')
  t.ok(englandAndWales('2026-12-25'), 'Christmas Day')
  t.ok(englandAndWales('2026-12-28'), 'the substitute for Boxing Day on a Saturday')
  t.ok(englandAndWales('2026-08-31'), 'the summer bank holiday (last Monday of August)')
  t.notOk(englandAndWales('2026-08-03'), 'which in Scotland is the first Monday')
  t.ok(scotland('2026-08-03'))
  t.ok(scotland('2026-01-02'), 'Scotland has 2 January too')
  t.notOk(bankHolidays('none')('2026-12-25'))
  // Christmas Eve 2026 is a Thursday: Friday 25 and Monday 28 are holidays, so two working days end on Wednesday 30.
  t.equal(addWorkingDays('2026-12-24', 2, englandAndWales), '2026-12-30')
  t.equal(addWorkingDays('2026-12-24', 2), '2026-12-28', 'without the calendar, two days stricter')
  t.equal(workingDaysBetween('2026-12-24', '2026-12-31', englandAndWales), 3)
  const clock = responseClock({ createdOn: '2026-12-24', today: '2026-12-29', firstReplyOn: null, closed: false, targetDays: 2, holidays: englandAndWales })
  t.match(clock, { state: 'due', dueOn: '2026-12-30' }, 'not overdue over Christmas')
  const cutoff = overdueCutoff('2026-12-31', 2, englandAndWales)
  t.equal(cutoff, '2026-12-28', 'the queue\'s overdue filter uses the same calendar (an arrival on a holiday counts from the next working day)')
  t.equal(overdueCutoffs('2026-12-31', { disclosure: 2, consultation: 2 }, englandAndWales).disclosure, cutoff)
})

t.test('a first reply on the day a case arrived reads naturally', async (t) => {
  t.match(responseClock({ createdOn: '2026-12-01', today: '2026-12-02', firstReplyOn: '2026-12-01', closed: false, targetDays: 2 }), { state: 'replied', waited: 0, text: 'First reply within a working day' })
})
