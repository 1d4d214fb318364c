import t from 'tap'
import { REFERRAL_ACTIONS } from '../../../crypto/index.ts'
import { ACTION_NAMES, hasResponded, iopcDecisionDue, isOpen, nextActions, NOTE_PROMPTS, STATUS_NAMES, type ReferralStatus } from '../../../rules/referral-states.ts'

/** Where a referral stands and what a unit may record next. */

const STATUSES: ReferralStatus[] = ['sent', 'exported', 'acknowledged', 'investigating', 'no_further_action', 'transferred', 'closed', 'returned']

t.test('the steps a unit may take from each state', async (t) => {
  t.same(nextActions('sent'), ['acknowledged', 'returned'], 'first: acknowledge, or hand it back')
  t.same(nextActions('acknowledged'), ['investigating', 'no_further_action', 'transferred', 'returned'])
  t.same(nextActions('investigating'), ['closed', 'no_further_action', 'transferred'])
  for (const done of ['no_further_action', 'transferred', 'closed', 'returned', 'exported'] as const) {
    t.same(nextActions(done), [], `${done}: nothing more`)
    t.notOk(isOpen(done))
  }
  // Every state is reachable from "sent", and every step leads to a known state.
  const seen = new Set<ReferralStatus>(['sent'])
  const queue: ReferralStatus[] = ['sent']
  while (queue.length > 0) for (const next of nextActions(queue.shift()!)) if (!seen.has(next)) seen.add(next) && queue.push(next)
  t.same([...seen].sort(), STATUSES.filter((status) => status !== 'exported').sort(), 'every state a unit can reach')
})

t.test('the first-response clock stops at an acknowledgement or a return', async (t) => {
  t.notOk(hasResponded('sent'))
  t.notOk(hasResponded('exported'))
  for (const status of STATUSES.filter((status) => status !== 'sent' && status !== 'exported')) t.ok(hasResponded(status), status)
})

t.test('the IOPC decision: misconduct, required, not yet recorded, and the package in hand', async (t) => {
  const base = { track: 'misconduct' as const, iopcRequired: true, iopcDecision: null, status: 'acknowledged' as ReferralStatus }
  t.ok(iopcDecisionDue(base))
  t.ok(iopcDecisionDue({ ...base, status: 'closed' }), 'even once closed, it can still be recorded')
  t.notOk(iopcDecisionDue({ ...base, status: 'sent' }), 'not before it is acknowledged')
  t.notOk(iopcDecisionDue({ ...base, status: 'returned' }), 'not once handed back')
  t.notOk(iopcDecisionDue({ ...base, iopcDecision: 'referred' }), 'once only')
  t.notOk(iopcDecisionDue({ ...base, iopcRequired: false }), 'only where the decision required it')
  t.notOk(iopcDecisionDue({ ...base, track: 'criminal' }), 'never on the criminal track')
})

t.test('every state and action has words; the actions that need a reason say what to write', async (t) => {
  for (const status of STATUSES) t.ok(STATUS_NAMES[status].length > 0, status)
  for (const action of REFERRAL_ACTIONS) t.ok(ACTION_NAMES[action].length > 0, action)
  t.same(REFERRAL_ACTIONS.filter((action) => NOTE_PROMPTS[action] !== null), ['no_further_action', 'closed', 'returned', 'iopc_not_referred'])
})
