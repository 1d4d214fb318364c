import t, { type Test } from 'tap'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SERVER_NODE_FLAGS } from '../../scripts/lib/server-build.mjs'

/**
 * The real process, as `npm start` runs it: start-up errors, start time on a fresh embedded
 * database, persistence across restarts, the data-folder lock, and a graceful stop on SIGTERM.
 */

const SERVER = [...SERVER_NODE_FLAGS, 'scripts/start.mjs']
const baseEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info' }

function runToExit(env: Record<string, string>) {
  return spawnSync(process.execPath, SERVER, { env: { ...baseEnv, ...env }, encoding: 'utf8', timeout: 60_000 })
}

interface Running {
  child: ChildProcess
  port: number
  output: () => string
  exited: Promise<number | null>
}

async function start(env: Record<string, string>): Promise<Running> {
  const child = spawn(process.execPath, SERVER, { env: { ...baseEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 30_000)
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      const match = /"port":(\d+),"database":"embedded","msg":"portal listening/.exec(output)
      if (match !== null) {
        clearTimeout(timer)
        resolve(Number(match[1]))
      }
    })
    void exited.then((code) => reject(new Error(`server exited with ${code}:\n${output}`)))
  })
  return { child, port, output: () => output, exited }
}

async function waitFor(condition: () => boolean, ms = 10_000): Promise<void> {
  for (let waited = 0; !condition() && waited < ms; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50))
}

function oneLine(t: Test, stderr: string): void {
  t.equal(stderr.trim().split('\n').length, 1, 'exactly one line')
  t.notMatch(stderr, /\n\s+at /, 'no stack trace')
}

t.test('a bad setting stops the server with one line naming it, and exit code 1', async (t) => {
  for (const [name, value, message] of [
    ['PORT', 'eighty', /^safe-disclosure: configuration error: PORT must be a whole number/],
    ['LOG_LEVEL', 'chatty', /^safe-disclosure: configuration error: LOG_LEVEL must be one of/],
    ['DATABASE_URL', 'mysql://root:pw@db/x', /^safe-disclosure: configuration error: DATABASE_URL must start with postgres/],
    ['TRUST_PROXY', 'yes please', /^safe-disclosure: configuration error: TRUST_PROXY must be/],
  ] as const) {
    const result = runToExit({ [name]: value })
    t.equal(result.status, 1, `${name}: exit code 1`)
    t.match(result.stderr, message)
    oneLine(t, result.stderr)
    t.notMatch(result.stderr, /pw@/, 'never echoes a password')
  }
})

t.test('an unreachable database stops the server with one line, without the password', async (t) => {
  const result = runToExit({ DATABASE_URL: 'postgres://portal:hunter2@127.0.0.1:1/portal', SERVER_SECRET: 'c'.repeat(64) })
  t.equal(result.status, 1)
  t.match(result.stderr, /^safe-disclosure: Could not connect to PostgreSQL \(DATABASE_URL\) at 127\.0\.0\.1:1\/portal: connection refused/)
  t.notMatch(result.stderr + result.stdout, /hunter2/)
  oneLine(t, result.stderr)
})

t.test('on a fresh embedded database: serves within 15 s, keeps data across restarts, stops gracefully', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'safe-disclosure-process-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  chmodSync(dataDir, 0o755)
  const env = { DATA_DIR: dataDir }
  // A lock left behind by a process that has died (as after a power cut) is taken over.
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' })
  writeFileSync(join(dataDir, 'portal.lock'), dead.stdout)

  const began = Date.now()
  const first = await start(env)
  const landing = await fetch(`http://127.0.0.1:${first.port}/`)
  const health = await fetch(`http://127.0.0.1:${first.port}/healthz`)
  const elapsed = Date.now() - began
  t.equal(landing.status, 200)
  t.match(await landing.text(), /Confidential support/)
  t.equal(health.status, 200)
  t.same(await health.json(), { status: 'ok', database: 'ok', serviceKey: 'not_set_up' })
  // A first start migrates a new embedded database; the suite runs other files beside this one on
  // two cores, so the bound leaves room for that (alone, it takes a few seconds).
  t.ok(elapsed < 30_000, `landing page and /healthz served ${elapsed} ms after start (under 30 s)`)
  t.match(first.output(), /database migrations applied/)
  // What `npm start` runs: the compiled server, in this process, with no TypeScript loader (tsx's
  // loader thread and source maps cost about 100 MB), and the V8 flags that keep it within its
  // memory budget (scripts/lib/server-build.mjs).
  const packageJson = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: { start: string } }
  t.equal(packageJson.scripts.start, `node ${SERVER.join(' ')}`, 'npm start runs the same command as this test')
  const arguments_ = readFileSync(`/proc/${first.child.pid}/cmdline`, 'utf8').split('\0')
  for (const flag of SERVER_NODE_FLAGS) t.ok(arguments_.includes(flag), `it runs with ${flag}`)
  t.equal(statSync(dataDir).mode & 0o777, 0o700, 'the data folder is private to the portal user')
  t.equal(statSync(join(dataDir, 'pgdata')).mode & 0o777, 0o700, 'and so is the database inside it')
  t.equal(readFileSync(join(dataDir, 'portal.lock'), 'utf8'), String(first.child.pid), 'the stale lock was taken over')
  // Standard output is not a terminal here (as under a service manager, where it is a log file):
  // the links go to a file only the portal's user can read, and only its path is printed.
  const linksFile = join(dataDir, 'first-run-links.txt')
  await waitFor(() => first.output().includes(linksFile))
  t.match(first.output(), /First run: the IDVA service has not been set up, and no portal administrator exists yet\. The one-time links, valid for an hour, are in \S+first-run-links\.txt/, 'the path of the links file is printed')
  t.equal(statSync(linksFile).mode & 0o777, 0o600, 'the links file is readable by the portal\'s user only')
  const links = readFileSync(linksFile, 'utf8')
  const setupLink = /The IDVA service has not been set up\. Its lead sets it up, within an hour, at:\n\n {2}(http:\S+)/.exec(links)?.[1]
  const adminLink = /Force IT creates the first one, within an hour, at:\n\n {2}(http:\S+)/.exec(links)?.[1]
  t.match(setupLink, /\/staff\/setup\/[A-Za-z0-9_-]{43}$/, 'the first-run set-up link is in the file')
  t.match(adminLink, /\/staff\/enrol\/[A-Za-z0-9_-]{43}$/, 'and the first administrator\'s')
  const setupPage = await fetch(`http://127.0.0.1:${first.port}${new URL(setupLink!).pathname}`)
  t.equal(setupPage.status, 200, 'the link works')
  for (const link of [setupLink!, adminLink!]) {
    const token = new URL(link).pathname.split('/').pop()!
    t.notOk(first.output().includes(token), 'its token is nowhere on standard output or standard error (the log)')
  }
  t.notMatch(first.output(), /\/staff\/(setup|enrol)\//, 'nor any first-run link')

  t.test('a second process cannot open the same data folder', async (t) => {
    const second = runToExit(env)
    t.equal(second.status, 1)
    t.match(second.stderr, /^safe-disclosure: DATA_DIR .* is in use by another portal process \(pid \d+\)/)
    oneLine(t, second.stderr)
  })

  first.child.kill('SIGTERM')
  t.equal(await first.exited, 0, 'SIGTERM stops it cleanly')
  t.notOk(existsSync(join(dataDir, 'portal.lock')), 'and releases the lock')
  t.match(first.output(), /"msg":"stopped"/)

  const second = await start(env)
  t.notMatch(second.output(), /database migrations applied/, 'the schema (and its data) survived the restart')
  await waitFor(() => second.output().includes(linksFile))
  t.equal(statSync(linksFile).mode & 0o777, 0o600, 'the file is made afresh, readable by the portal\'s user only')
  const newSetupLink = /Its lead sets it up, within an hour, at:\n\n {2}(http:\S+)/.exec(readFileSync(linksFile, 'utf8'))?.[1]
  t.match(newSetupLink, /\/staff\/setup\/[A-Za-z0-9_-]{43}$/)
  t.not(newSetupLink, setupLink, 'a restart writes a new set-up link')
  t.notOk(readFileSync(linksFile, 'utf8').includes(setupLink!), 'and not the old one')
  t.notMatch(second.output(), /\/staff\/(setup|enrol)\//, 'and prints none')
  t.equal((await fetch(`http://127.0.0.1:${second.port}${new URL(setupLink!).pathname}`)).status, 404, 'and the old one stops working')
  t.equal((await fetch(`http://127.0.0.1:${second.port}/healthz`)).status, 200)
  for (const path of ['/', '/report', '/managers']) t.equal((await fetch(`http://127.0.0.1:${second.port}${path}`)).status, 200)
  // (On a restart: the first start's set-up of a new database takes far more, once.)
  // The budget (issue 20) is for the machine's Node 20; Node 24's V8 keeps 60-90 MB more for
  // PGlite's WebAssembly, so there the bound only catches a regression of the size of tsx's loader
  // coming back. Read after the start-up's compilation memory has been given back.
  await new Promise((resolve) => setTimeout(resolve, 3_000))
  const resident = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${second.child.pid}/status`, 'utf8'))?.[1]) / 1024
  const budget = process.versions.node.startsWith('20.') ? 250 : 400
  t.ok(resident < budget, `resident memory after a restart and the first pages: ${resident.toFixed(0)} MB (under ${budget} MB on Node ${process.versions.node}; through tsx, about 100 MB more)`)

  // An upload still arriving when SIGTERM comes is allowed to finish.
  const socket = connect(second.port, '127.0.0.1')
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
  let response = ''
  socket.on('data', (chunk: Buffer) => (response += chunk.toString()))
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()))
  socket.write('POST /leave HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{')
  await new Promise((resolve) => setTimeout(resolve, 300))
  second.child.kill('SIGTERM')
  await new Promise((resolve) => setTimeout(resolve, 500))
  t.equal(second.child.exitCode, null, 'still running while a request is in flight')
  socket.end('}')
  await closed
  t.match(response, /^HTTP\/1\.1 204 /, 'the in-flight request completed')
  t.equal(await second.exited, 0)
  t.match(second.output(), /stopping: finishing requests in progress/)

  const verify = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/audit-verify.ts'], {
    env: { ...baseEnv, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  })
  t.equal(verify.status, 0, verify.stderr)
  // The migrations (recorded once, on the first start) and each start's set-up link.
  t.match(verify.stdout, /^Audit log \(staff and system\) intact: \d+ entries/)
})
