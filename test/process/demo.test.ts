import t from 'tap'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { base64url } from '../../crypto/bytes.ts'
import { deriveStaffSecrets } from '../../crypto/staff-keys.ts'
import type { DemoLogin } from '../../scripts/lib/demo-logins.ts'

/**
 * npm run demo, as a newcomer runs it: it refuses a real database, prepares its own, prints the
 * logins, and serves a portal with a DEMO banner where those logins work.
 */

const baseEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', HOST: '127.0.0.1', PORT: '0' }

t.test('with DATABASE_URL set it refuses, and touches nothing', async (t) => {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/demo.ts'], { env: { ...baseEnv, DATABASE_URL: 'postgres://127.0.0.1:1/real' }, encoding: 'utf8', timeout: 60_000 })
  t.equal(result.status, 2)
  t.match(result.stderr, /^npm run demo uses its own embedded database and never a real one: unset DATABASE_URL/)
})

t.test('prepares a demo and serves it; its logins work', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'safe-disclosure-demo-'))
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', '--dir', dir], { env: { ...baseEnv, LOG_LEVEL: 'info', DATA_DIR: '/nonexistent/real-data' }, stdio: ['ignore', 'pipe', 'pipe'] })
  // The demo's embedded database writes its files as it shuts down: wait for the process to end
  // before removing its folder, or the removal races those writes (ENOTEMPTY).
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))])
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    }
    rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 })
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setInterval(() => {
      const match = /"port":(\d+),"database":"embedded","msg":"portal listening/.exec(output)
      if (match !== null) {
        clearInterval(timer)
        resolve(Number(match[1]))
      }
    }, 100)
    child.on('exit', (code) => {
      clearInterval(timer)
      reject(new Error(`demo exited with ${code}:\n${output}`))
    })
  })
  for (const username of ['demo.lead', 'demo.idva', 'demo.criminal', 'demo.misconduct', 'demo.admin']) t.match(output, new RegExp(`\\n  ${username.replace('.', '\\.')} `), `prints ${username}`)
  t.match(output, /npm run demo:code -- demo\.lead/)
  t.match(output, /3 made-up disclosures wait in the IDVA queue/)
  t.match(output, /\n  [a-z]+( [a-z]+){8}\n/, 'with a case code to try /return')
  t.notMatch(output, /has not been set up|No portal administrator|First run:/, 'no first-run links: everyone exists')
  t.notOk(existsSync(join(dir, 'first-run-links.txt')), 'and no first-run links file')
  t.equal(statSync(join(dir, 'demo-logins.json')).mode & 0o777, 0o600)

  const origin = `http://127.0.0.1:${port}`
  const page = await (await fetch(`${origin}/staff/login`)).text()
  t.match(page, /class="demo-banner"/, 'a DEMO banner')
  t.match(await (await fetch(`${origin}/`)).text(), /class="demo-banner"/, 'on the public pages too')

  const code = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/demo-code.ts', 'demo.idva', '--dir', dir], { encoding: 'utf8' })
  t.equal(code.status, 0, code.stderr)
  t.match(code.stdout, /^\d{6} {2}\(for \d+ more seconds/)

  const login = (JSON.parse(readFileSync(join(dir, 'demo-logins.json'), 'utf8')) as DemoLogin[]).find((entry) => entry.username === 'demo.idva')!
  const params = (await (await fetch(`${origin}/staff/login/params`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: login.username }) })).json()) as { salt: string; opsLimit: number; memLimit: number }
  const secrets = await deriveStaffSecrets(login.passphrase, { salt: base64url.decode(params.salt, 'salt'), opsLimit: params.opsLimit, memLimit: params.memLimit })
  const signedIn = await fetch(`${origin}/staff/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: login.username, verifier: base64url.encode(secrets.authVerifier), code: code.stdout.slice(0, 6) }),
  })
  t.equal(signedIn.status, 200, 'the printed passphrase and the current code sign in')
  const cookie = signedIn.headers.get('set-cookie')!.split(';')[0]!
  const keys = (await (await fetch(`${origin}/staff/keys`, { headers: { cookie } })).json()) as { group: { grant: unknown } }
  t.ok(keys.group.grant, 'the demo IDVA already has the service key')
})
