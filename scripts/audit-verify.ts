/**
 * npm run audit:verify [-- --expect SEQ:HASH] [--expect-case SEQ:HASH]
 *
 * Checks both audit chains (staff and system actions, with their times; anonymous actions through
 * a case, by the day), recomputing every hash independently of the database, and reports every
 * broken link. Prints each chain's head (last entry and its hash): record them somewhere the
 * database's administrators cannot change (a ticket, a signed email), and pass them back later with
 * --expect (staff chain) and --expect-case (anonymous chain) to prove no entries were removed from
 * the end since.
 *
 * Exit codes: 0 intact, 1 broken (or the database could not be read), 2 bad usage.
 */
import { sql } from 'kysely'
import { parseArgs } from 'node:util'
import { CHAIN_TABLES, MAX_BREAKS, verifyAuditChain, type AuditChain } from '../server/audit/verify.ts'
import { fail, withDatabase } from './cli.ts'

type Head = { seq: number; hash: string }

function head(value: string | undefined, option: string): Head | undefined {
  if (value === undefined) return undefined
  const match = /^(\d+):([0-9a-f]{64})$/i.exec(value)
  if (match === null) throw new Error(`${option} takes SEQ:HASH, as printed by an earlier run`)
  return { seq: Number(match[1]), hash: match[2]!.toLowerCase() }
}

let expected: Record<AuditChain, Head | undefined> = { staff: undefined, case: undefined }
try {
  const { values } = parseArgs({ options: { expect: { type: 'string' }, 'expect-case': { type: 'string' } } })
  expected = { staff: head(values.expect, '--expect'), case: head(values['expect-case'], '--expect-case') }
} catch (error) {
  fail(`audit:verify: ${(error as Error).message}`, 2)
}

const NAMES: Record<AuditChain, string> = { staff: 'Audit log (staff and system)', case: 'Audit log (anonymous actions, by the day)' }

await withDatabase(async (database) => {
  const table = await sql<{ exists: boolean }>`SELECT to_regclass('audit_log') IS NOT NULL AS exists`.execute(database.db)
  if (table.rows[0]?.exists !== true) {
    process.stderr.write('There is no audit log in this database yet: start the portal (or run npm run migrate) first.\n')
    return 1
  }
  let broken = false
  for (const chain of ['staff', 'case'] as const) {
    const result = await verifyAuditChain(database.db, 1_000, chain)
    const [first] = result.breaks
    if (first !== undefined) {
      const more = result.breaks.length === MAX_BREAKS ? ` (the first ${MAX_BREAKS} shown)` : ''
      process.stdout.write(
        `${NAMES[chain]} BROKEN at entry ${first.seq}: ${first.reason}. ${result.breaks.length} problem(s) in ${result.entries} entries${more}:\n` +
          result.breaks.map((problem) => `  - ${problem.reason}\n`).join(''),
      )
      broken = true
      continue
    }
    const expect = expected[chain]
    if (expect !== undefined) {
      const anchored = await sql<{ hash: Buffer }>`SELECT hash FROM ${sql.table(CHAIN_TABLES[chain])} WHERE seq = ${expect.seq}`.execute(database.db)
      const found = anchored.rows[0]
      if (found === undefined || found.hash.toString('hex') !== expect.hash) {
        process.stdout.write(
          `${NAMES[chain]} BROKEN: entry ${expect.seq} ${found === undefined ? 'is missing' : 'has a different hash'}: the log has been cut back or rewritten since that head was recorded.\n`,
        )
        broken = true
        continue
      }
    }
    const last = result.head === null ? 'no entries yet' : `head ${result.head.seq}:${result.head.hash}`
    process.stdout.write(`${NAMES[chain]} intact: ${result.entries} entries, ${last}\n`)
  }
  return broken ? 1 : 0
})
