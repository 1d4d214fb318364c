import t, { type Test } from 'tap'
import { execFile } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import { readManifest } from '../../server/bundle.ts'
import { baseUrl, buildTestApp } from '../helpers/app.ts'

/** npm run bundle:hash and npm run bundle:check against a running portal. */

/** Asynchronous, so the portal under test (in this same process) can answer meanwhile. */
const run = (script: string, ...args: string[]) =>
  new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile('npm', ['run', '--silent', script, '--', ...args], { encoding: 'utf8', timeout: 120_000 }, (error, stdout, stderr) =>
      resolve({ status: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr: stderr.replace(/^npm warn .*\n/gm, '') }),
    )
  })

t.test('bundle:hash prints the hash of the bundle and of each file', async (t) => {
  const manifest = readManifest()
  const printed = await run('bundle:hash')
  t.equal(printed.status, 0, printed.stderr)
  const lines = printed.stdout.trim().split('\n')
  t.equal(lines[0], `${manifest?.bundleHash}  bundle`)
  t.equal(lines.length, 1 + (manifest?.files.length ?? 0))
})

t.test('bundle:check confirms what a running portal serves, and notices a difference', async (t) => {
  const { app } = await buildTestApp(t, { listen: true })
  const url = baseUrl(app)
  const manifest = readManifest()
  const ok = await run('bundle:check', url)
  t.equal(ok.status, 0, ok.stderr + ok.stdout)
  t.match(ok.stdout, `serves bundle ${manifest?.bundleHash}`)
  t.equal((await run('bundle:check', url, '--expect', manifest?.bundleHash ?? '')).status, 0, 'matches the published hash')
  const other = await run('bundle:check', url, '--expect', 'f'.repeat(64))
  t.equal(other.status, 1, 'a different published hash is reported')
  t.match(other.stdout, /does NOT serve this bundle/)
  const unreachable = await run('bundle:check', 'http://127.0.0.1:9')
  t.equal(unreachable.status, 2)
  t.match(unreachable.stderr, /could not reach/)
  t.equal((await run('bundle:check')).status, 2, 'no address: usage')
})

/**
 * A portal that has been tampered with: a proxy in front of the real one that changes what it
 * serves in one way. bundle:check must notice every one of them.
 */
async function tamperedPortal(t: Test, upstream: string, change: (path: string, body: Buffer) => Buffer): Promise<string> {
  const server: Server = createServer(async (request, response) => {
    const path = request.url ?? '/'
    const answer = await fetch(new URL(path, upstream), { headers: { accept: 'text/html' } })
    const body = change(path, Buffer.from(await answer.arrayBuffer()))
    response.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'text/plain' })
    response.end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`
}

t.test('bundle:check notices a tampered portal', async (t) => {
  const { app } = await buildTestApp(t, { listen: true })
  const upstream = baseUrl(app)
  const appFile = app.pageContext.assets.app
  const page = (transform: (html: string) => string) => (path: string, body: Buffer) =>
    path === '/' || path.startsWith('/bundle-check') ? Buffer.from(transform(body.toString('utf8'))) : body
  const cases: [string, (path: string, body: Buffer) => Buffer, RegExp][] = [
    ['a changed bundle file', (path, body) => (path === appFile ? Buffer.concat([body, Buffer.from(';fetch("/steal")')]) : body), /app-.*\.js differs/],
    ['an extra script from another path', page((html) => html.replace('</head>', '<script src="/assets/keylogger.js"></script></head>')), /loads \/assets\/keylogger\.js, which is not part of this bundle/],
    ["a script in single quotes from another host", page((html) => html.replace('</head>', "<script src='https://evil.example/x.js'></script></head>")), /loads https:\/\/evil\.example\/x\.js/],
    ['an inline script', page((html) => html.replace('</body>', '<script>new Image().src="/x?"+document.body.innerText</script></body>')), /has an inline script/],
    ['another worker', page((html) => html.replace(/name="sd-evidence-worker" content="[^"]+"/, 'name="sd-evidence-worker" content="/static/worker-evil.js"')), /loads \/static\/worker-evil\.js/],
  ]
  for (const [name, change, problem] of cases) {
    const result = await run('bundle:check', await tamperedPortal(t, upstream, change))
    t.equal(result.status, 1, `${name}: reported`)
    t.match(result.stdout, problem, name)
  }
  const untouched = await run('bundle:check', await tamperedPortal(t, upstream, (_path, body) => body))
  t.equal(untouched.status, 0, 'a faithful proxy passes')
})
