import t from 'tap'
import { SMTPServer } from 'smtp-server'
import { seedAccount, seedGrant, seedService } from '../../scripts/lib/staff-fixtures.ts'
import { buildTestApp, freePort } from '../helpers/app.ts'
import { disclosureBody, newReporter, openCase, sealFromReporter, servicePublic, submit } from '../helpers/reporter.ts'
import { asStaff, sessionFor } from '../helpers/staff.ts'

/**
 * "Something new is waiting" emails, sent through a real SMTP exchange to a local server started
 * here: one email per interval when a case or a message has arrived, none otherwise (nor when all
 * that arrived was marked as junk before the run), nothing in it that names, dates or counts
 * anything, and a refused send is tried again next time.
 */

interface Received {
  readonly from: string
  readonly to: readonly string[]
  readonly data: string
}

const received: Received[] = []
let refuse = false
const smtpPort = await freePort()
const smtp = new SMTPServer({
  disabledCommands: ['STARTTLS', 'AUTH'],
  authOptional: true,
  logger: false,
  onData(stream, session, callback) {
    const chunks: Buffer[] = []
    stream.on('data', (chunk: Buffer) => chunks.push(chunk))
    stream.on('end', () => {
      if (refuse) return callback(new Error('mailbox unavailable'))
      received.push({ from: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address, to: session.envelope.rcptTo.map((to) => to.address), data: Buffer.concat(chunks).toString('utf8') })
      callback()
    })
  },
})
await new Promise<void>((resolve) => smtp.listen(smtpPort, '127.0.0.1', resolve))
t.teardown(() => new Promise<void>((resolve) => smtp.close(() => resolve())))

const { app, serviceKeys, logs } = await buildTestApp(t, {
  env: { ALERT_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`, ALERT_EMAIL_FROM: 'portal@support.example.org', ALERT_EMAIL_TO: 'idva-team@charity.example.org, duty@charity.example.org' },
})
const db = app.database.db
const service = await seedService(db, { keys: serviceKeys })

function expectStatus(response: { statusCode: number; body: string }, status: number): void {
  if (response.statusCode !== status) throw new Error(`expected ${status}, got ${response.statusCode}: ${response.body}`)
}

const reporter = await newReporter()
expectStatus(await submit(app, { ...(await disclosureBody(reporter, servicePublic(service.keys))), urgency: 'danger_now' }), 201)

t.test('a new case: one email to the team address, saying nothing about who, what or when', async (t) => {
  t.equal(await app.alerts.runOnce(), 'sent')
  t.equal(received.length, 1)
  const mail = received[0]!
  t.equal(mail.from, 'portal@support.example.org')
  t.same(mail.to, ['idva-team@charity.example.org', 'duty@charity.example.org'])
  t.match(mail.data, /Subject: Something new is waiting in the portal/)
  t.match(mail.data, /\/staff\/cases/)
  t.notOk(mail.data.includes(reporter.caseId), 'no case id')
  t.notMatch(mail.data, /danger|urgent|children/i, 'not even the urgency band')
  t.equal(await app.alerts.runOnce(), 'nothing new', 'nothing more until something new arrives')
  t.equal(received.length, 1)
})

t.test('a person\'s new message raises the next email; several arrivals make one', async (t) => {
  const session = await openCase(app, reporter.keys)
  for (const seq of [2, 3]) {
    const message = await sealFromReporter(reporter, servicePublic(service.keys), { kind: 'reporter_message', seq })
    expectStatus(await app.inject({ method: 'POST', url: '/return/messages', payload: { ...message, seq }, headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken } }), 201)
  }
  t.equal(await app.alerts.runOnce(), 'sent')
  t.equal(received.length, 2, 'one email for two messages')
})

t.test('a refused send is tried again at the next run, and the log names no address', async (t) => {
  const other = await newReporter()
  expectStatus(await submit(app, await disclosureBody(other, servicePublic(service.keys))), 201)
  refuse = true
  t.equal(await app.alerts.runOnce(), 'failed')
  refuse = false
  t.equal(await app.alerts.runOnce(), 'sent', 'the claim was given back')
  t.equal(received.length, 3)
  t.notOk(logs.text().includes('charity.example.org'), 'no address in the log')
  t.notOk(logs.text().includes(`127.0.0.1:${smtpPort}`), 'nor the mail server\'s address')
})

t.test('arrivals an IDVA marked as junk before the run raise no email; a person writing again on one does', async (t) => {
  const idva = await seedAccount(db, app.config.serverSecret, { username: 'idva.one', role: 'idva', groupId: service.id })
  await seedGrant(db, idva, service)
  const flood = []
  for (let i = 0; i < 3; i++) {
    const reporter = await newReporter()
    expectStatus(await submit(app, await disclosureBody(reporter, servicePublic(service.keys))), 201)
    flood.push(reporter)
  }
  // Every case here is marked, the earlier ones too, so that nothing but junk waits.
  const everything = (await db.selectFrom('cases').select('id').execute()).map((row) => row.id)
  expectStatus(await asStaff(app, await sessionFor(app, idva), { method: 'POST', url: '/staff/cases/junk', payload: { case: everything } }), 303)
  t.equal(await app.alerts.runOnce(), 'nothing new', 'nothing waits but junk')
  t.equal(received.length, 3, 'no email')
  const person = flood[0]!
  const session = await openCase(app, person.keys)
  const message = await sealFromReporter(person, servicePublic(service.keys), { kind: 'reporter_message', seq: 2 })
  expectStatus(await app.inject({ method: 'POST', url: '/return/messages', payload: { ...message, seq: 2 }, headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken } }), 201)
  t.equal(await app.alerts.runOnce(), 'sent', 'their case is back in the queue')
  t.equal(received.length, 4)
})

t.test('with no mail server configured, nothing is sent and nothing fails', async (t) => {
  const { app: quiet } = await buildTestApp(t)
  t.equal(await quiet.alerts.runOnce(), 'off')
})
