import { randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Config } from './config.ts'
import { StartupError } from './errors.ts'

/**
 * With the embedded database and no SERVER_SECRET, the secret is generated once and kept beside the
 * database (DATA_DIR/server-secret, mode 0600), so sealed second-factor secrets survive a restart.
 * It is never in the database itself, nor in a log.
 */
export function withPersistentSecret(config: Config): Config {
  if (!config.serverSecretGenerated || config.databaseUrl !== null) return config
  const path = join(config.dataDir, 'server-secret')
  let secret: Buffer
  try {
    secret = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64')
    if (secret.length < 32) throw new StartupError(`${path} does not hold a valid secret (32 bytes, base64); remove it only if no account exists yet`)
  } catch (error) {
    if (error instanceof StartupError) throw error
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new StartupError(`${path} cannot be read: ${(error as Error).message}`)
    secret = randomBytes(32)
    writeFileSync(path, `${secret.toString('base64')}\n`, { mode: 0o600, flag: 'wx' })
  }
  return Object.freeze({ ...config, serverSecret: secret, serverSecretGenerated: false })
}
