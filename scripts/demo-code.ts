/**
 * npm run demo:code -- <user name> [--dir <folder>]: the current second-factor code of a demo
 * login (npm run demo).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fail } from './cli.ts'
import { currentDemoCode, demoArguments, LOGINS_FILE, type DemoLogin } from './lib/demo-logins.ts'

const { dir, positionals } = demoArguments()
const username = positionals[0]
let logins: DemoLogin[]
try {
  logins = JSON.parse(readFileSync(join(dir, LOGINS_FILE), 'utf8')) as DemoLogin[]
} catch {
  fail('No demo logins yet: run npm run demo first.', 1)
}
const login = logins.find((candidate) => candidate.username === username)
if (login === undefined) fail(`Usage: npm run demo:code -- <user name>, one of: ${logins.map((candidate) => candidate.username).join(', ')}`, 2)
const { code, secondsLeft } = currentDemoCode(login)
process.stdout.write(`${code}  (for ${secondsLeft} more seconds; each code works once, so after signing in with it, wait for the next)\n`)
