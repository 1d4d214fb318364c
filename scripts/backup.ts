/**
 * npm run backup -- --out DIR [--keys-out DIR]
 *
 * Writes a backup of the configured database: the data (every table but the key tables) into DIR,
 * and the key store (each case's and referral's sealed data key) into --keys-out, by default
 * DIR/keys. Keep the two apart, and keep the key store's backups for days, not months: once a case is
 * destroyed and the key-store backups taken while it existed are gone, the data backups hold
 * nothing readable of it (README, "Backups"). Embedded database: stop the portal first.
 * PostgreSQL: run as a role row-level security does not bind (BYPASSRLS), with pg_dump installed.
 *
 * Exit codes: 0 written, 1 it could not be, 2 bad usage.
 */
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { StartupError } from '../server/errors.ts'
import { createLogger } from '../server/logger.ts'
import { takeBackup } from '../server/backup/backup.ts'
import { fail, scriptConfig } from './cli.ts'

let out: string
let keysOut: string
try {
  const { values } = parseArgs({ options: { out: { type: 'string' }, 'keys-out': { type: 'string' } } })
  if (values.out === undefined) throw new Error('--out DIR is required: the folder for the backup')
  out = resolve(values.out)
  keysOut = resolve(values['keys-out'] ?? join(values.out, 'keys'))
} catch (error) {
  fail(`backup: ${(error as Error).message}`, 2)
}

const config = scriptConfig()
const logger = createLogger('warn', process.stderr)
try {
  const result = await takeBackup(config, logger, out, keysOut)
  process.stdout.write(`Backup written (${result.tables} tables).\n  data:      ${result.dataFile}\n  key store: ${result.keysFile}\nKeep the key store apart from the data, and only for days.\n`)
  process.exit(0)
} catch (error) {
  fail(error instanceof StartupError ? error.message : `backup failed: ${(error as Error).message.split('\n')[0]}`, 1)
}
