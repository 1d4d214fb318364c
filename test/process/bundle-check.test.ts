import t from 'tap'
import { execFile } from 'node:child_process'
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
