import t, { type Test } from 'tap'
import { sql, type Kysely } from 'kysely'
import pg from 'pg'
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { recordAudit } from '../../server/audit/audit.ts'
import { seedService } from '../../scripts/lib/staff-fixtures.ts'
import { MIGRATIONS_FOLDER } from '../../server/db/migrate.ts'
import { auditEntryHash, GENESIS_HASH, verifyAuditChain } from '../../server/audit/verify.ts'
import type { Schema } from '../../server/db/schema.ts'
import { buildTestApp, TEST_SECRET, type TestApp } from '../helpers/app.ts'
import { disclosureBody, newReporter, servicePublic, submit } from '../helpers/reporter.ts'

const staff = { type: 'staff', id: 'staff-7' } as const

/** The migrations recorded at start: every one from the audit log's own (0002) on. */
const RECORDED_MIGRATIONS = readdirSync(MIGRATIONS_FOLDER)
  .filter((file) => file.endsWith('.ts'))
  .map((file) => file.replace(/\.ts$/, ''))
  .filter((name) => name >= '20261122_0002_audit_log')
  .sort()

async function withEntries(t: Test, count = 5, anonymous = true): Promise<TestApp> {
  const built = await buildTestApp(t)
  for (let i = 0; i < count; i++) {
    await recordAudit(built.database.db, { actor: staff, action: 'case.opened', object: { type: 'case', id: `case-${i}` } })
  }
  if (!anonymous) return built
  // Two anonymous actions, which go to their own chain.
  await recordAudit(built.database.db, { actor: { type: 'case', id: 'case-a' }, action: 'case.submitted', object: { type: 'case', id: 'case-a' } })
  await recordAudit(built.database.db, { actor: { type: 'case', id: 'case-a' }, action: 'case.opened_by_reporter', object: { type: 'case', id: 'case-a' } })
  return built
}

/** As the owner, with the append-only triggers off: what an insider with full rights could do. */
async function tamper(built: TestApp, statement: (db: Kysely<any>) => Promise<unknown>): Promise<void> {
  await built.database.asOwner((db) =>
    db.transaction().execute(async (trx) => {
      await sql`ALTER TABLE audit_log DISABLE TRIGGER USER`.execute(trx)
      await statement(trx)
      await sql`ALTER TABLE audit_log ENABLE TRIGGER USER`.execute(trx)
    }),
  )
}

t.test('entries form a contiguous chain, each committing to the one before', async (t) => {
  const { database } = await withEntries(t)
  const rows = await database.db.selectFrom('audit_log').selectAll().orderBy('seq').execute()
  t.equal(rows.length, RECORDED_MIGRATIONS.length + 5, 'the migrations from the audit log on were recorded, then the five entries')
  t.match(
    rows.slice(0, RECORDED_MIGRATIONS.length),
    RECORDED_MIGRATIONS.map((name) => ({ actor_type: 'system', action: 'system.migration_applied', object_type: 'migration', object_id: name })),
  )
  let prev: Buffer = GENESIS_HASH
  rows.forEach((row, index) => {
    t.equal(row.seq, index + 1)
    t.ok(row.prev_hash.equals(prev), `entry ${row.seq} links to the one before`)
    t.ok(row.hash.equals(auditEntryHash(prev, row)), `entry ${row.seq} hash matches its fields`)
    prev = row.hash
  })
  t.same(await verifyAuditChain(database.db, 2), { ok: true, entries: rows.length, head: { seq: rows.length, hash: prev.toString('hex') }, breaks: [] })
})

t.test('concurrent writers never fork the chain', async (t) => {
  const { database } = await withEntries(t, 0)
  await Promise.all(
    Array.from({ length: 30 }, (_, i) =>
      database.db.transaction().execute((trx) => recordAudit(trx, { actor: staff, action: 'case.status_changed', object: { type: 'case', id: String(i) } })),
    ),
  )
  t.match(await verifyAuditChain(database.db), { ok: true })
})

t.test('the database assigns the chain fields; a writer cannot forge them', async (t) => {
  const { database } = await withEntries(t, 1)
  await database.db
    .insertInto('audit_log')
    .values({ seq: 999, hash: Buffer.alloc(32, 1), prev_hash: Buffer.alloc(32, 2), occurred_at: new Date(0), actor_type: 'staff', actor_id: 'x', action: 'case.opened', object_type: null, object_id: null } as never)
    .execute()
  t.match(await verifyAuditChain(database.db), { ok: true })
  const last = await database.db.selectFrom('audit_log').selectAll().orderBy('seq', 'desc').executeTakeFirstOrThrow()
  t.not(last.seq, 999)
  t.not(last.occurred_at.getTime(), 0)
})

t.test('entries record who, what and which record; bad actions are refused', async (t) => {
  const { database } = await withEntries(t, 0)
  await t.rejects(recordAudit(database.db, { actor: staff, action: 'Opened Case!' }), /dotted lower-case/)
  await t.rejects(sql`INSERT INTO audit_log (actor_type, action) VALUES ('staff', 'no dots')`.execute(database.db), /check constraint/)
  await t.rejects(sql`INSERT INTO audit_log (actor_type, action) VALUES ('intruder', 'case.opened')`.execute(database.db), /check constraint/)
})

t.test('verification finds an altered entry', async (t) => {
  const built = await withEntries(t)
  await tamper(built, (db) => sql`UPDATE audit_log SET actor_id = 'someone-else' WHERE seq = 5`.execute(db))
  t.same((await verifyAuditChain(built.database.db)).breaks, [{ seq: 5, reason: 'entry 5 does not match its hash: it was altered' }])
})

t.test('verification finds an entry altered with its hash recomputed (the next link breaks)', async (t) => {
  const built = await withEntries(t)
  const row = await built.database.db.selectFrom('audit_log').selectAll().where('seq', '=', 5).executeTakeFirstOrThrow()
  const forged = auditEntryHash(row.prev_hash, { ...row, actor_id: 'someone-else' })
  await tamper(built, (db) => sql`UPDATE audit_log SET actor_id = 'someone-else', hash = ${forged} WHERE seq = 5`.execute(db))
  t.same((await verifyAuditChain(built.database.db)).breaks, [
    { seq: 6, reason: 'entry 6 does not link to entry 5: an entry before it was altered or replaced' },
  ])
})

t.test('verification finds a removed entry', async (t) => {
  const built = await withEntries(t)
  await tamper(built, (db) => sql`DELETE FROM audit_log WHERE seq = 6`.execute(db))
  t.same((await verifyAuditChain(built.database.db)).breaks, [{ seq: 6, reason: 'entry 6 is missing: entries were removed' }])
})

t.test('verification carries on past a break and reports every one', async (t) => {
  const built = await withEntries(t)
  await tamper(built, async (db) => {
    await sql`UPDATE audit_log SET object_id = 'case-x' WHERE seq = 3`.execute(db)
    await sql`DELETE FROM audit_log WHERE seq IN (5, 6)`.execute(db)
  })
  const result = await verifyAuditChain(built.database.db)
  t.equal(result.ok, false)
  t.same(result.breaks, [
    { seq: 3, reason: 'entry 3 does not match its hash: it was altered' },
    { seq: 5, reason: 'entries 5 to 6 are missing: entries were removed' },
  ])
})

t.test('verification finds an entry slipped in out of sequence, even before the first', async (t) => {
  const built = await withEntries(t, 1)
  await tamper(built, async (db) => {
    await sql`ALTER TABLE audit_log DROP CONSTRAINT audit_log_seq_check`.execute(db)
    await sql`INSERT INTO audit_log VALUES (-99, now(), 'staff', 'idva-3', 'case.destroyed', 'case', 'c9', ${Buffer.alloc(32)}, ${Buffer.alloc(32)})`.execute(db)
  })
  const result = await verifyAuditChain(built.database.db)
  t.equal(result.ok, false)
  t.match(result.breaks[0], { seq: -99, reason: /out of sequence/ })
})

t.test("anonymous actions have their own chain: the day only, never between timed staff entries", async (t) => {
  const built = await withEntries(t, 2)
  const db = built.database.db
  const anonymous = await db.selectFrom('case_audit_log').selectAll().orderBy('seq').execute()
  t.same(anonymous.map((row) => [row.seq, row.action]), [[1, 'case.submitted'], [2, 'case.opened_by_reporter']])
  for (const row of anonymous) t.match(row.occurred_on, /^\d{4}-\d{2}-\d{2}$/, 'a day, not a time')
  t.same(
    Object.keys(anonymous[0]!).sort(),
    ['action', 'actor_id', 'actor_type', 'hash', 'object_id', 'object_type', 'occurred_on', 'prev_hash', 'seq'],
    'no column that could hold a time',
  )
  t.equal((await db.selectFrom('audit_log').select('seq').where('actor_type', '=', 'case').execute()).length, 0, 'nothing of theirs in the timed chain')
  await t.rejects(sql`INSERT INTO audit_log (actor_type, actor_id, action) VALUES ('case', 'c1', 'case.submitted')`.execute(db), /check constraint/, 'the timed chain refuses them')
  t.match(await verifyAuditChain(db, 1_000, 'case'), { ok: true, entries: 2 })
  // Tampering is found, as in the staff chain.
  await built.database.asOwner((owner) =>
    owner.transaction().execute(async (trx) => {
      await sql`ALTER TABLE case_audit_log DISABLE TRIGGER USER`.execute(trx)
      await sql`UPDATE case_audit_log SET occurred_on = occurred_on - 1 WHERE seq = 1`.execute(trx)
      await sql`ALTER TABLE case_audit_log ENABLE TRIGGER USER`.execute(trx)
    }),
  )
  t.same((await verifyAuditChain(db, 1_000, 'case')).breaks, [{ seq: 1, reason: 'entry 1 does not match its hash: it was altered' }])
  await asApplicationRole(built, async (app) => {
    for (const query of [sql`UPDATE case_audit_log SET actor_id = 'x'`, sql`DELETE FROM case_audit_log`, sql`TRUNCATE case_audit_log`]) {
      await t.rejects(app.transaction().execute((trx) => query.execute(trx)), { message: /permission denied|must be (the )?owner/ })
    }
  })
})

t.test('times are kept to the millisecond the hash commits to', async (t) => {
  const built = await withEntries(t, 1)
  await tamper(built, (db) => sql`UPDATE audit_log SET occurred_at = occurred_at + interval '900 microseconds' WHERE seq = 3`.execute(db))
  t.match((await verifyAuditChain(built.database.db)).breaks, [{ seq: 3, reason: /does not match its hash/ }])
})

t.test('even the owner cannot change the log while its triggers stand', async (t) => {
  const built = await withEntries(t)
  await built.database.asOwner(async (db) => {
    await t.rejects(sql`UPDATE audit_log SET actor_id = 'x' WHERE seq = 1`.execute(db), /append-only: UPDATE is not allowed/)
    await t.rejects(sql`DELETE FROM audit_log WHERE seq = 1`.execute(db), /append-only: DELETE is not allowed/)
    await t.rejects(sql`TRUNCATE audit_log`.execute(db), /append-only: TRUNCATE is not allowed/)
  })
  t.match(await verifyAuditChain(built.database.db), { ok: true })
})

/**
 * The application's role. On PostgreSQL the app already connects as a login role in
 * safe_disclosure_app (see test/helpers/database.ts), so this is its own connection; the embedded
 * database has one user, so there the same role is taken with SET ROLE.
 */
async function asApplicationRole<T>(built: TestApp, work: (db: Kysely<Schema>) => Promise<T>): Promise<T> {
  if (built.testDatabase.kind === 'postgres') {
    const role = await sql<{ role: string; owner: string }>`SELECT current_user AS role, (SELECT tableowner FROM pg_tables WHERE tablename = 'audit_log') AS owner`.execute(built.database.db)
    if (role.rows[0]?.role === role.rows[0]?.owner) throw new Error('the test app must not connect as the owner')
    return work(built.database.db)
  }
  return built.database.db.connection().execute(async (db) => {
    await sql`SET ROLE safe_disclosure_app`.execute(db)
    try {
      return await work(db)
    } finally {
      await sql`RESET ROLE`.execute(db)
    }
  })
}

t.test("the application's database role cannot UPDATE, DELETE or TRUNCATE the audit log", async (t) => {
  const built = await withEntries(t)
  await asApplicationRole(built, async (db) => {
    for (const [statement, query] of [
      ['UPDATE', sql`UPDATE audit_log SET actor_id = 'x' WHERE seq = 1`],
      ['DELETE', sql`DELETE FROM audit_log WHERE seq = 1`],
      ['TRUNCATE', sql`TRUNCATE audit_log`],
      ['DISABLE TRIGGER', sql`ALTER TABLE audit_log DISABLE TRIGGER USER`],
      ['DROP TRIGGER', sql`DROP TRIGGER audit_log_no_change ON audit_log`],
      ['DROP TABLE', sql`DROP TABLE audit_log`],
    ] as const) {
      await t.rejects(
        db.transaction().execute((trx) => query.execute(trx)),
        { message: /permission denied|must be (the )?owner/ },
        `${statement} is refused by the database's privileges`,
      )
    }
    t.ok(await recordAudit(db, { actor: staff, action: 'case.opened' }), 'but it can append')
    const count = await db.selectFrom('audit_log').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
    t.ok(Number(count.n) > 0, 'and read')
  })
  t.match(await verifyAuditChain(built.database.db), { ok: true })
})

t.test('npm run audit:verify reports an intact chain, then the first broken link', async (t) => {
  const built = await withEntries(t)
  const env = { ...process.env, ...built.testDatabase.env, SERVER_SECRET: TEST_SECRET, LOG_LEVEL: 'warn' }
  if (built.testDatabase.kind === 'embedded') await built.database.close() // one process at a time
  const run = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'scripts/audit-verify.ts', ...args], { env, encoding: 'utf8', timeout: 60_000 })

  const intact = run()
  t.equal(intact.status, 0, intact.stderr)
  const head = /\(staff and system\) intact: \d+ entries, head (\d+:[0-9a-f]{64})/.exec(intact.stdout)?.[1]
  const caseHead = /\(anonymous actions, by the day\) intact: \d+ entries, head (\d+:[0-9a-f]{64})/.exec(intact.stdout)?.[1]
  t.match(intact.stdout, /^Audit log \(staff and system\) intact: \d+ entries, head \d+:[0-9a-f]{64}\nAudit log \(anonymous actions, by the day\) intact: \d+ entries, head \d+:[0-9a-f]{64}\n$/)
  t.equal(run('--expect', head ?? '', '--expect-case', caseHead ?? '').status, 0, 'the recorded heads are still there')
  t.equal(run('--expect', 'nonsense').status, 2, 'bad usage exits 2')
  t.equal(run('--expect-case', `999:${'0'.repeat(64)}`).status, 1, 'a head the anonymous chain never had')

  // Tamper directly as the owner, as an insider would.
  const ownerUrl = built.testDatabase.ownerUrl
  if (ownerUrl !== undefined) {
    const owner = new pg.Client({ connectionString: ownerUrl })
    await owner.connect()
    await owner.query('ALTER TABLE audit_log DISABLE TRIGGER USER')
    await owner.query("UPDATE audit_log SET object_id = 'case-x' WHERE seq = 4")
    await owner.end()
  } else {
    const { PGlite } = await import('@electric-sql/pglite')
    const pglite = await PGlite.create(`${built.testDatabase.env.DATA_DIR}/pgdata`)
    await pglite.exec("ALTER TABLE audit_log DISABLE TRIGGER USER; UPDATE audit_log SET object_id = 'case-x' WHERE seq = 4")
    await pglite.close()
  }
  const broken = run()
  t.equal(broken.status, 1)
  t.equal(
    broken.stdout,
    `Audit log (staff and system) BROKEN at entry 4: entry 4 does not match its hash: it was altered. 1 problem(s) in ${RECORDED_MIGRATIONS.length + 5} entries:\n` +
      '  - entry 4 does not match its hash: it was altered\n' +
      'Audit log (anonymous actions, by the day) intact: 2 entries, head ' + (caseHead ?? '') + '\n',
  )
  t.notMatch(broken.stderr, /\bat .+:\d+:\d+/, 'no stack trace')
})

t.test('200 submissions at once leave one intact chain, which npm run audit:verify accepts', async (t) => {
  const built = await buildTestApp(t, { env: { CASES_PER_HOUR: '10000', PROOF_OF_WORK_BITS: '0' } })
  await seedService(built.database.db, { keys: built.serviceKeys })
  const service = servicePublic(built.serviceKeys)
  const bodies = await Promise.all(Array.from({ length: 200 }, async () => disclosureBody(await newReporter(), service)))
  const answers = await Promise.all(bodies.map((body) => submit(built.app, body)))
  t.same([...new Set(answers.map((answer) => answer.statusCode))], [201], 'every one stored')
  const entries = await built.database.db.selectFrom('case_audit_log').select(['seq', 'action']).where('action', '=', 'case.submitted').execute()
  t.equal(entries.length, 200, 'one entry each')
  if (built.testDatabase.kind === 'embedded') await built.database.close() // one process at a time
  const verify = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/audit-verify.ts'], {
    env: { ...process.env, ...built.testDatabase.env, SERVER_SECRET: TEST_SECRET, LOG_LEVEL: 'warn' },
    encoding: 'utf8',
    timeout: 60_000,
  })
  t.equal(verify.status, 0, verify.stderr)
  t.match(verify.stdout, /\(anonymous actions, by the day\) intact: (\d+) entries/)
  t.ok(Number(/\(anonymous actions, by the day\) intact: (\d+) entries/.exec(verify.stdout)?.[1]) >= 200)
})

t.test('a temporary table named audit_log cannot divert the chain', async (t) => {
  const built = await withEntries(t, 2)
  await asApplicationRole(built, (db) =>
    db.connection().execute(async (connection) => {
      await sql`CREATE TEMPORARY TABLE audit_log (seq bigint, hash bytea)`.execute(connection)
      await sql`INSERT INTO pg_temp.audit_log VALUES (1000, ${Buffer.alloc(32, 7)})`.execute(connection)
      await sql`SET search_path = pg_temp, public`.execute(connection)
      await sql`INSERT INTO public.audit_log (actor_type, actor_id, action) VALUES ('staff', 'idva-3', 'case.closed')`.execute(connection)
      await sql`DISCARD TEMP`.execute(connection)
      await sql`RESET search_path`.execute(connection)
    }),
  )
  const result = await verifyAuditChain(built.database.db)
  t.same(result.breaks, [], 'the chain is intact')
  t.equal(result.head?.seq, RECORDED_MIGRATIONS.length + 3, 'the entry took the next real position')
})

t.test("a rollback of the anonymous chain's migration refuses while it records activity", async (t) => {
  const built = await withEntries(t, 1)
  const { migrateDown } = await import('../../server/db/migrate.ts')
  await built.database.asOwner(async (db) => {
    for (const name of RECORDED_MIGRATIONS.filter((name) => name > '20261202_0007_case_audit_log').reverse()) t.equal(await migrateDown(db), name)
    await t.rejects(migrateDown(db), /the case audit log records 2 actions and is not dropped by a rollback/)
  })
})

t.test('a rollback of the audit log migration refuses while it records activity', async (t) => {
  const built = await withEntries(t, 1, false)
  const { migrateDown } = await import('../../server/db/migrate.ts')
  await built.database.asOwner(async (db) => {
    // Every later migration reverts; the audit log's own refuses.
    for (const name of [...RECORDED_MIGRATIONS].reverse().slice(0, -1)) t.equal(await migrateDown(db), name)
    await t.rejects(migrateDown(db), /records 1 actions besides migrations and is not dropped by a rollback/)
  })
  t.match(await verifyAuditChain(built.database.db), { ok: true })
})
