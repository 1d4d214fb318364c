import { parseArgs } from 'node:util'
import { base32Decode, stepAt, TOTP_STEP_SECONDS, totpCode } from '../../server/features/staff/totp.ts'

/**
 * The demo's logins, kept in data-demo/demo-logins.json (mode 0600). Only the demo writes such a
 * file: a real portal never keeps a passphrase or a second-factor key in the clear.
 */

export const DEFAULT_DIR = 'data-demo'
export const LOGINS_FILE = 'demo-logins.json'

/** The demo's folder (--dir <folder>, or data-demo) and other arguments. Exits on a bad option. */
export function demoArguments(args: string[] = process.argv.slice(2)): { dir: string; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args, options: { dir: { type: 'string' } }, allowPositionals: true })
    return { dir: values.dir ?? DEFAULT_DIR, positionals }
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`)
    process.exit(2)
  }
}

export interface DemoLogin {
  readonly username: string
  readonly role: string
  readonly team: string
  readonly passphrase: string
  /** Base32, as an authenticator app takes it. */
  readonly totpKey: string
}

export function currentDemoCode(login: DemoLogin, now = Date.now()): { code: string; secondsLeft: number } {
  const step = stepAt(now)
  return { code: totpCode(base32Decode(login.totpKey), step), secondsLeft: (step + 1) * TOTP_STEP_SECONDS - Math.floor(now / 1000) }
}
