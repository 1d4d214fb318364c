import t, { type Test } from 'tap'
import { isDatabaseUnavailable } from '../../server/db/database.ts'
import { OutageLog } from '../../server/db/outage.ts'
import { createLogger } from '../../server/logger.ts'
import { LogCapture } from '../helpers/app.ts'

/**
 * The outage log: one line when the database becomes unreachable, however many requests it
 * refuses; reminders with the count while it lasts; one line with the count when it answers again.
 */

const TIMINGS = { probeEveryMs: 20, settleMs: 60, remindEveryMs: 200 }
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function outageLog(t: Test) {
  const logs = new LogCapture()
  let answers = false
  let probes = 0
  const outage = new OutageLog(createLogger('info', logs), async () => {
    probes += 1
    return answers
  }, TIMINGS)
  t.teardown(() => outage.stop())
  return {
    outage,
    logs,
    probes: () => probes,
    databaseAnswers(value: boolean) {
      answers = value
    },
  }
}

async function until(condition: () => boolean, ms = 3_000): Promise<void> {
  for (let waited = 0; !condition() && waited < ms; waited += 10) await sleep(10)
}

const refusal = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })

t.test('a hundred refusals make one line; the end of the outage makes one more, with the count', async (t) => {
  const { outage, logs, databaseAnswers } = outageLog(t)
  for (let i = 0; i < 100; i++) outage.refused(refusal)
  t.ok(outage.ongoing)
  t.equal(logs.lines.length, 1, 'one line for the start')
  const [start] = logs.entries()
  t.match(start, { level: 50, msg: /^database unreachable/, retryAfterSeconds: 5, cause: { code: 'ECONNREFUSED' } })
  databaseAnswers(true)
  await until(() => !outage.ongoing)
  t.notOk(outage.ongoing, 'over once the database answers')
  t.equal(logs.lines.length, 2)
  t.match(logs.entries()[1], { level: 40, msg: 'database reachable again', refusedRequests: 100 })
  t.same(Object.keys(logs.entries()[1]!).sort(), ['level', 'msg', 'outageSeconds', 'pid', 'refusedRequests', 'time'], 'a count and a duration, nothing about any request')
})

t.test('a long outage is reported again every so often, with the count so far', async (t) => {
  const { outage, logs, databaseAnswers } = outageLog(t)
  outage.refused(refusal)
  const refusing = setInterval(() => outage.refused(refusal), 10)
  await sleep(TIMINGS.remindEveryMs * 2 + 100)
  clearInterval(refusing)
  const reminders = logs.entries().filter((entry) => entry.msg === 'database still unreachable')
  t.ok(reminders.length >= 1 && reminders.length <= 3, `${reminders.length} reminders in ${TIMINGS.remindEveryMs * 2 + 100} ms, one per ${TIMINGS.remindEveryMs} ms`)
  t.ok((reminders[0]?.refusedRequests as number) > 1, 'each with the count so far')
  databaseAnswers(true)
  await until(() => !outage.ongoing)
  t.equal(logs.entries().filter((entry) => /^database unreachable/.test(String(entry.msg))).length, 1, 'still one start')
  t.equal(logs.entries().filter((entry) => entry.msg === 'database reachable again').length, 1, 'and one end')
})

t.test('a database that flickers back while requests still fail is not over yet: one outage, not several', async (t) => {
  const { outage, logs, databaseAnswers } = outageLog(t)
  outage.refused(refusal)
  databaseAnswers(true)
  // Refusals keep coming for longer than the settling time, although the probe answers.
  for (let i = 0; i < 10; i++) {
    outage.refused(refusal)
    await sleep(TIMINGS.settleMs / 3)
  }
  t.ok(outage.ongoing, 'not over while requests are still refused')
  await until(() => !outage.ongoing)
  const said = logs.entries().filter((entry) => entry.msg !== 'database still unreachable')
  t.same(said.map((entry) => String(entry.msg).split(':')[0]), ['database unreachable', 'database reachable again'], 'one start, one end')
  t.equal(said[1]!.refusedRequests, 11)
})

t.test('a lost idle connection opens an outage only when the database then fails to answer', async (t) => {
  const { outage, logs, probes, databaseAnswers } = outageLog(t)
  databaseAnswers(true)
  outage.suspect(new Error('Connection terminated unexpectedly'))
  await until(() => probes() > 0)
  await sleep(20)
  t.notOk(outage.ongoing, 'the database answered: one connection ended, nothing more')
  t.equal(logs.lines.length, 0, 'and nothing was logged')
  databaseAnswers(false)
  outage.suspect(new Error('Connection terminated unexpectedly'))
  await until(() => outage.ongoing)
  t.ok(outage.ongoing, 'the database did not answer: an outage')
  t.equal(logs.lines.length, 1)
})

t.test('a failed health check alone opens an outage; stopping during one reports its count', async (t) => {
  const { outage, logs, probes } = outageLog(t)
  outage.noticed()
  outage.refused(refusal)
  outage.refused(refusal)
  t.equal(logs.lines.length, 1)
  outage.stop()
  t.match(logs.entries()[1], { level: 50, msg: 'stopping while the database is unreachable', refusedRequests: 2 })
  outage.refused(refusal)
  outage.refused(refusal)
  t.equal(logs.lines.length, 3, 'requests refused after stopping are said once more')
  const probed = probes()
  await sleep(TIMINGS.probeEveryMs * 3)
  t.equal(probes(), probed, 'and the database is no longer probed')
})

t.test('what counts as the database being unreachable', async (t) => {
  t.ok(isDatabaseUnavailable(refusal), 'connection refused')
  t.ok(isDatabaseUnavailable(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })), 'the server shutting down')
  t.ok(isDatabaseUnavailable(new Error('Connection terminated unexpectedly')), 'a connection cut')
  t.ok(isDatabaseUnavailable(new Error('wrapped', { cause: refusal })), 'as the cause of another error')
  t.ok(isDatabaseUnavailable(new AggregateError([refusal, refusal], 'connect failed')), 'among the attempts of an AggregateError')
  t.notOk(isDatabaseUnavailable(Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' })), 'not a fault in a query')
  t.notOk(isDatabaseUnavailable(new Error('something else')))
  t.notOk(isDatabaseUnavailable('ECONNREFUSED'), 'not a string')
})
