/**
 * npm run restore -- --from BACKUP [--keys FILE]
 *
 * Loads a backup (its .json file, or the folder holding it) into the configured database, which
 * must be empty: a new DATA_DIR (embedded) or a new PostgreSQL database. Then verifies both audit
 * chains and runs retention, so nothing past its day comes back, before saying it is ready. Without
 * --keys (the key store taken with it), the cases come back sealed and nothing they held can be read.
 *
 * Exit codes: 0 restored and verified, 1 it could not be (do not serve it), 2 bad usage.
 */
import { parseArgs } from 'node:util'
import { resolve } from 'node:path'
import { StartupError } from '../server/errors.ts'
import { createLogger } from '../server/logger.ts'
import { restoreBackup } from '../server/backup/backup.ts'
import { fail, scriptConfig } from './cli.ts'

let from: string
let keys: string | null
try {
  const { values } = parseArgs({ options: { from: { type: 'string' }, keys: { type: 'string' } } })
  if (values.from === undefined) throw new Error('--from BACKUP is required: the backup\'s .json file, or its folder')
  from = values.from
  keys = values.keys === undefined ? null : resolve(values.keys)
} catch (error) {
  fail(`restore: ${(error as Error).message}`, 2)
}

const config = scriptConfig()
const logger = createLogger('warn', process.stderr)
try {
  const result = await restoreBackup(config, logger, from, keys)
  const destroyed = Object.values(result.retention.destroyed).reduce((sum, n) => sum + n, 0)
  process.stdout.write(
    `Restored and verified.\n  audit log: ${result.auditEntries.staff} staff and system entries, ${result.auditEntries.case} anonymous entries, both chains whole\n  key store: ${result.keysRestored ? 'restored' : 'NOT restored: the cases cannot be opened'}\n  retention: ${destroyed} case(s) past their day destroyed, ${result.retention.referralPackages} package(s) removed\n`,
  )
  process.exit(0)
} catch (error) {
  fail(error instanceof StartupError ? error.message : `restore failed: ${(error as Error).message.split('\n')[0]}`, 1)
}
