import { ConfigError, loadConfig, type Config } from '../server/config.ts'
import { openDatabase, type Database } from '../server/db/database.ts'
import { StartupError } from '../server/errors.ts'
import { createLogger, type Logger } from '../server/logger.ts'
import { withPersistentSecret } from '../server/server-secret.ts'

/**
 * Shared start for operator scripts: the same configuration and database as the server, one-line
 * errors, and exit codes (0 done, 1 the check failed or the work could not be done, 2 bad usage).
 */
export async function withDatabase(work: (database: Database, config: Config, logger: Logger) => Promise<number>): Promise<never> {
  const config = loadOrFail()
  // Logs go to standard error, so standard output carries only the script's answer.
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, process.stderr)
  let database: Database
  try {
    database = await openDatabase(config, logger)
  } catch (error) {
    if (error instanceof StartupError) fail(error.message, 1)
    throw error
  }
  let code: number
  try {
    code = await work(database, config, logger)
  } catch (error) {
    await database.close()
    if (error instanceof StartupError) fail(error.message, 1)
    fail((error as Error).message.split('\n')[0] ?? 'failed', 1)
  }
  await database.close()
  process.exit(code)
}

/**
 * The configuration for a script that opens the database itself (backup, restore): as the server
 * reads it, with the embedded database's persistent secret; a bad value exits 2 with one line.
 */
export function scriptConfig(): Config {
  const config = loadOrFail()
  return config.databaseUrl === null ? withPersistentSecret(config) : config
}

/** The configuration from the environment; a bad value exits 2 with one line naming it. */
function loadOrFail(): Config {
  try {
    return loadConfig(process.env)
  } catch (error) {
    if (error instanceof ConfigError) fail(`configuration error: ${error.message}`, 2)
    throw error
  }
}

export function fail(message: string, code: number): never {
  process.stderr.write(`${message}\n`)
  process.exit(code)
}
