import t from 'tap'
import { addDays, codeStillOpens, destructionDue, type RetentionPolicy } from '../../../rules/retention.ts'

const policy: RetentionPolicy = { closedDisclosureDays: 365, closedConsultationDays: 90, withdrawnRecordDays: 730, junkDays: 30, referralPackageDays: 365, codeAfterCloseDays: 30, warningDays: 30, everyHours: 6, automatic: true }
const facts = { kind: 'disclosure' as const, status: 'closed', statusChangedOn: '2026-01-31', createdOn: '2025-12-01', withdrawnOn: null }

t.test('the day each case is due, under its rule', async (t) => {
  t.equal(addDays('2026-01-31', 30), '2026-03-02', 'across a short month')
  t.equal(addDays('2028-02-28', 1), '2028-02-29', 'a leap day')
  t.same(destructionDue(facts, policy), { rule: 'closed_disclosure', on: '2027-01-31' })
  t.same(destructionDue({ ...facts, kind: 'consultation' }, policy), { rule: 'closed_consultation', on: '2026-05-01' })
  t.same(destructionDue({ ...facts, status: 'in_contact' }, policy), null, 'an open case is never due')
  t.same(destructionDue({ ...facts, status: 'referred', withdrawnOn: '2026-02-01' }, policy), { rule: 'withdrawn_record', on: '2028-02-01' }, 'a withdrawal\'s kept record, from the withdrawal')
  t.same(destructionDue({ ...facts, statusChangedOn: null }, policy), { rule: 'closed_disclosure', on: '2026-12-01' }, 'no day of closing: from the day it arrived')
  t.same(destructionDue({ ...facts, status: 'new', junkOn: '2026-12-07' }, policy), { rule: 'junk', on: '2027-01-06' }, 'junk: from the day it was marked, whatever the status')
  t.same(destructionDue({ ...facts, junkOn: '2026-12-07' }, policy), { rule: 'junk', on: '2027-01-06' }, 'before a closed case\'s longer period')
  t.same(destructionDue({ ...facts, junkOn: '2026-12-07', withdrawnOn: '2026-12-08' }, policy), { rule: 'withdrawn_record', on: '2028-12-07' }, 'a withdrawal\'s kept record keeps its own period')
  t.same(destructionDue({ ...facts, status: 'new', junkOn: null }, policy), null, 'put back: open again, never due')
})

t.test('a closed case\'s code opens it for CODE_AFTER_CLOSE_DAYS', async (t) => {
  t.ok(codeStillOpens(facts, policy, '2026-03-02'))
  t.notOk(codeStillOpens(facts, policy, '2026-03-03'))
  t.ok(codeStillOpens({ ...facts, status: 'support_ongoing' }, policy, '2030-01-01'), 'an open case always')
  t.notOk(codeStillOpens(facts, { ...policy, codeAfterCloseDays: 0 }, '2026-02-01'), '0: not after the day it closed')
})
