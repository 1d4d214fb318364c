/**
 * npm run audit:verify [-- --expect SEQ:HASH]
 *
 * Checks the whole audit chain, recomputing every hash independently of the database, and reports
 * the first broken link. Prints the head (last entry and its hash): record it somewhere the
 * database's administrators cannot change (a ticket, a signed email), and pass it back later with
 * --expect to prove no entries were removed from the end since.
 *
 * Exit codes: 0 intact, 1 broken (or the database could not be read), 2 bad usage.
 */
import { sql } from 'kysely'
import { parseArgs } from 'node:util'
import { MAX_BREAKS, verifyAuditChain } from '../server/audit/verify.ts'
import { fail, withDatabase } from './cli.ts'

let expect: { seq: number; hash: string } | undefined
try {
  const { values } = parseArgs({ options: { expect: { type: 'string' } } })
  if (values.expect !== undefined) {
    const match = /^(\d+):([0-9a-f]{64})$/i.exec(values.expect)
    if (match === null) throw new Error('--expect takes SEQ:HASH, as printed by an earlier run')
    expect = { seq: Number(match[1]), hash: match[2]!.toLowerCase() }
  }
} catch (error) {
  fail(`audit:verify: ${(error as Error).message}`, 2)
}

await withDatabase(async (database) => {
  const table = await sql<{ exists: boolean }>`SELECT to_regclass('audit_log') IS NOT NULL AS exists`.execute(database.db)
  if (table.rows[0]?.exists !== true) {
    process.stderr.write('There is no audit log in this database yet: start the portal (or run npm run migrate) first.\n')
    return 1
  }
  const result = await verifyAuditChain(database.db)
  const [first] = result.breaks
  if (first !== undefined) {
    const more = result.breaks.length === MAX_BREAKS ? ` (the first ${MAX_BREAKS} shown)` : ''
    process.stdout.write(
      `Audit log BROKEN at entry ${first.seq}: ${first.reason}. ${result.breaks.length} problem(s) in ${result.entries} entries${more}:\n` +
        result.breaks.map((problem) => `  - ${problem.reason}\n`).join(''),
    )
    return 1
  }
  if (expect !== undefined) {
    const anchored = await database.db.selectFrom('audit_log').select('hash').where('seq', '=', expect.seq).executeTakeFirst()
    if (anchored === undefined || anchored.hash.toString('hex') !== expect.hash) {
      process.stdout.write(
        `Audit log BROKEN: entry ${expect.seq} ${anchored === undefined ? 'is missing' : 'has a different hash'}: the log has been cut back or rewritten since that head was recorded.\n`,
      )
      return 1
    }
  }
  const head = result.head === null ? 'no entries yet' : `head ${result.head.seq}:${result.head.hash}`
  process.stdout.write(`Audit log intact: ${result.entries} entries, ${head}\n`)
  return 0
})
