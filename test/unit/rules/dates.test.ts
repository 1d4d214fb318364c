import t from 'tap'
import { isTimeZone, readableDay, readableTime } from '../../../rules/dates.ts'

t.test('a day as people read it, the same in every time zone', async (t) => {
  t.equal(readableDay('2026-12-01'), '1 December 2026')
  t.equal(readableDay('2027-03-28'), '28 March 2027', 'the day the clocks change')
  t.equal(readableDay('not a day'), 'not a day', 'anything else as it is')
})

t.test('an exact time in the service\'s time zone, not UTC', async (t) => {
  t.equal(readableTime(new Date('2026-07-01T13:05:00Z'), 'Europe/London'), '1 July 2026, 14:05', 'British Summer Time')
  t.equal(readableTime(new Date('2026-12-01T23:30:00Z'), 'Europe/London'), '1 December 2026, 23:30', 'Greenwich Mean Time')
  t.equal(readableTime(new Date('2026-07-01T23:30:00Z'), 'Europe/London'), '2 July 2026, 00:30', 'the day follows the zone')
  t.ok(isTimeZone('Europe/London'))
  t.notOk(isTimeZone('Mars/Olympus_Mons'))
})
