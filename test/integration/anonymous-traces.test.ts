import t from 'tap'
import { sql } from 'kysely'
import pg from 'pg'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { base64url, parseEnvelope } from '../../crypto/index.ts'
import { seedService } from '../../scripts/lib/staff-fixtures.ts'
import { buildTestApp } from '../helpers/app.ts'
import { b64, disclosureBody, encryptedFile, newReporter, openCase, sealFromReporter, servicePublic, submit, upload } from '../helpers/reporter.ts'

/**
 * What a reporter leaves behind, tried as the reviewer did: submit with a file, come back, add a
 * message, come back again, withdraw. Then, as the holder of the database and the logs:
 *   - no stored time and no log line places any of those actions finer than its day;
 *   - after the withdrawal, neither the data directory (embedded) nor the tables (PostgreSQL, read
 *     as the superuser from the table files) hold the envelope or file as the browser made them, the
 *     sealed content keys inside them, the lookup value the code gives or the case's public keys;
 *     and the case's own key is gone from its table's file once the space is reclaimed.
 */

const { app, logs, serviceKeys, testDatabase } = await buildTestApp(t)
const db = app.database.db
const service = await seedService(db, { keys: serviceKeys })
const reporter = await newReporter()
const CANARY = 'Canary-Anonymous-Traces-5512'

/** Every value of every timestamp column, with its table and column. */
async function allTimestamps(): Promise<{ where: string; at: Date }[]> {
  const columns = await sql<{ table_name: string; column_name: string }>`
    SELECT table_name, column_name FROM information_schema.columns
     WHERE table_schema = current_schema() AND data_type IN ('timestamp with time zone', 'timestamp without time zone')`.execute(db)
  const found: { where: string; at: Date }[] = []
  for (const { table_name, column_name } of columns.rows) {
    const rows = await sql<{ at: Date | null }>`SELECT ${sql.ref(column_name)} AS at FROM ${sql.table(table_name)}`.execute(db)
    for (const row of rows.rows) if (row.at !== null) found.push({ where: `${table_name}.${column_name}`, at: new Date(row.at) })
  }
  return found
}

/** Every row of every table as text (for numbers that could be times, and for ids). */
async function allRowsAsText(): Promise<string> {
  const tables = await sql<{ table_name: string }>`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`.execute(db)
  let text = ''
  for (const { table_name } of tables.rows) text += `${(await sql<{ row: string }>`SELECT t::text AS row FROM ${sql.table(table_name)} t`.execute(db)).rows.map((row) => row.row).join('\n')}\n`
  return text
}

const file = await encryptedFile(new TextEncoder().encode(`photo ${CANARY}`))
let submitted: Awaited<ReturnType<typeof disclosureBody>>
let message: Awaited<ReturnType<typeof sealFromReporter>>
let started = 0
let ended = 0
let linesBefore = 0

t.test("the reviewer's sequence: submit with a file, return, add a message, return, withdraw", async (t) => {
  // A clear gap after setting up, so anything timed within the actions' window is theirs.
  await new Promise((resolve) => setTimeout(resolve, 1_500))
  linesBefore = logs.lines.length
  started = Date.now()
  const uploaded = (await upload(app, file.encrypted)).json<{ id: string; token: string }>()
  submitted = await disclosureBody(reporter, servicePublic(service.keys), { v: 1, text: CANARY, evidence: [] }, [uploaded])
  t.equal((await submit(app, submitted)).statusCode, 201)
  const first = await openCase(app, reporter.keys)
  t.equal(first.status, 200)
  message = await sealFromReporter(reporter, servicePublic(service.keys), { kind: 'reporter_message', seq: 2, content: { v: 1, text: `${CANARY} again`, evidence: [] } })
  const sent = await app.inject({ method: 'POST', url: '/return/messages', payload: { ...message, seq: 2 }, headers: { cookie: first.cookie, 'x-csrf-token': first.csrfToken } })
  t.equal(sent.statusCode, 201, sent.body)
  const second = await openCase(app, reporter.keys)
  t.equal((await app.inject({ method: 'GET', url: '/return/thread', headers: { cookie: second.cookie } })).statusCode, 200)

  // Before the withdrawal: what a copy of the database and the logs says about these actions.
  const inWindow = (await allTimestamps()).filter(({ at }) => at.getTime() >= started - 200)
  t.same(inWindow, [], 'no timestamp anywhere falls within the time of the actions')
  const text = await allRowsAsText()
  for (const number of text.match(/\b1\d{12}\b/g) ?? []) t.notOk(Number(number) >= started - 200 && Number(number) <= Date.now() + 1_000, `no epoch time ${number} of the actions`)
  const days = await db.selectFrom('case_audit_log').select(['action', 'occurred_on']).where('actor_id', '=', reporter.caseId).orderBy('seq').execute()
  t.same(days.map((row) => row.action), ['case.submitted', 'case.opened_by_reporter', 'case.reporter_message_added', 'case.opened_by_reporter'], 'their order, in the anonymous chain')
  for (const row of days) t.match(row.occurred_on, /^\d{4}-\d{2}-\d{2}$/)

  const withdrawn = await app.inject({ method: 'POST', url: '/return/withdraw', payload: { confirmed: true }, headers: { cookie: second.cookie, 'x-csrf-token': second.csrfToken } })
  t.equal(withdrawn.statusCode, 200)
  ended = Date.now()
  t.same((await allTimestamps()).filter(({ at }) => at.getTime() >= started - 200), [], 'nor after the withdrawal')
  t.equal(logs.lines.length, linesBefore, 'not one log line was written while they acted')
  t.notMatch(logs.text(), reporter.caseId)
})

t.test('the logs say only, once the day is over, how many requests of each kind there were', async (t) => {
  app.anonymousRequests.rollOver(new Date(ended + 86_400_000))
  const written = logs.entries().slice(linesBefore)
  t.equal(written.length, 1)
  t.match(written[0], { msg: /anonymous requests of the day/, day: new Date(started).toISOString().slice(0, 10) })
  t.notMatch(JSON.stringify(written), reporter.caseId)
})

t.test('after the withdrawal nothing of the case can be found in the files, even with the service key and the code', async (t) => {
  await app.reclaimer.run()
  const envelope = base64url.decode(submitted.envelope, 'envelope')
  const structure = parseEnvelope(envelope)
  const traces: [string, Uint8Array][] = [
    ['the disclosure as the browser sealed it', envelope.subarray(0, 200)],
    ['the follow-up message as sealed', base64url.decode(message.envelope, 'envelope').subarray(0, 200)],
    ['the evidence file as uploaded', file.encrypted.subarray(0, 200)],
    ['the lookup value the code gives', reporter.keys.lookupId],
    ["the case's auth public key", reporter.keys.auth.publicKey],
    ["the case's reply public key", reporter.keys.reply.publicKey],
    ['the canary', new TextEncoder().encode(CANARY)],
    ...structure.recipients.map((recipient, index): [string, Uint8Array] => [`sealed content key ${index + 1}`, recipient.sealedKey]),
  ]
  t.ok(traces.length >= 8)
  const contains = (haystack: Buffer, needle: Uint8Array) => haystack.includes(Buffer.from(needle)) || haystack.includes(Buffer.from(b64(needle)))
  if (testDatabase.kind === 'embedded') {
    const files: string[] = []
    const walk = (folder: string) => {
      for (const entry of readdirSync(folder)) {
        const path = join(folder, entry)
        if (statSync(path).isDirectory()) walk(path)
        else files.push(path)
      }
    }
    walk(app.config.dataDir)
    t.ok(files.length > 50, 'the whole data directory, write-ahead log included')
    for (const path of files) {
      const bytes = readFileSync(path)
      for (const [what, trace] of traces) if (contains(bytes, trace)) t.fail(`${what} found in ${path}`)
    }
  } else {
    // As the server's superuser, straight from the table files.
    const owner = new pg.Client({ connectionString: testDatabase.ownerUrl })
    await owner.connect()
    t.teardown(() => owner.end())
    for (const table of ['cases', 'case_keys', 'case_messages', 'case_evidence', 'case_records', 'case_sessions']) {
      const path = (await owner.query<{ path: string }>('SELECT pg_relation_filepath($1) AS path', [table])).rows[0]!.path
      const bytes = (await owner.query<{ bytes: Buffer }>('SELECT pg_read_binary_file($1) AS bytes', [path])).rows[0]!.bytes
      for (const [what, trace] of traces) if (contains(bytes, trace)) t.fail(`${what} found in ${table}'s file`)
      t.equal(Number((await owner.query(`SELECT count(*) AS n FROM ${table} WHERE ${table === 'cases' ? 'id' : 'case_id'} = $1`, [reporter.caseId])).rows[0].n), 0, `no row of the case in ${table}`)
    }
  }
  t.equal((await db.selectFrom('case_keys').select('case_id').where('case_id', '=', reporter.caseId).execute()).length, 0, "the case's key is destroyed")
  t.pass(`searched for ${traces.length} traces`)
})

t.test("the case's own key is gone from its table's file once the space is reclaimed", async (t) => {
  const other = await newReporter()
  t.equal((await submit(app, await disclosureBody(other, servicePublic(service.keys)))).statusCode, 201)
  const wrapped = (await db.selectFrom('case_keys').select('wrapped').where('case_id', '=', other.caseId).executeTakeFirstOrThrow()).wrapped
  const session = await openCase(app, other.keys)
  t.equal((await app.inject({ method: 'POST', url: '/return/withdraw', payload: { confirmed: true }, headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken } })).statusCode, 200)
  await app.reclaimer.run()
  const keyFile = async (): Promise<Buffer> => {
    if (testDatabase.kind === 'embedded') {
      const path = (await sql<{ path: string }>`SELECT pg_relation_filepath('case_keys') AS path`.execute(db)).rows[0]!.path
      return readFileSync(join(app.config.dataDir, 'pgdata', path))
    }
    const owner = new pg.Client({ connectionString: testDatabase.ownerUrl })
    await owner.connect()
    try {
      const path = (await owner.query<{ path: string }>("SELECT pg_relation_filepath('case_keys') AS path")).rows[0]!.path
      return (await owner.query<{ bytes: Buffer }>('SELECT pg_read_binary_file($1) AS bytes', [path])).rows[0]!.bytes
    } finally {
      await owner.end()
    }
  }
  t.notOk((await keyFile()).includes(wrapped), "the sealed case key is not in case_keys' file")
})
