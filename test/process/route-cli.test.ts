import t, { type Test } from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { route } from '../../server/routing/index.ts'
import { EXAMPLE_POLICY_PATH, loadPolicyFile } from '../../server/routing/policy-file.ts'

/** The routing CLI exactly as specified: npm run --silent route -- --policy FILE < facts.json */

const dir = mkdtempSync(join(tmpdir(), 'safe-disclosure-route-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

const facts = {
  reporter: { homeBorough: 'Camden', workBorough: 'Westminster', force: 'met' },
  incidentBoroughs: ['Camden'],
  suspect: { policeEmployee: true, force: 'met', workBorough: 'Islington', rank: 'sergeant' },
  allegation: { criminal: true },
  consent: { criminal: true, misconduct: true },
}

function cli(args: string[], input: string, env: Record<string, string> = {}) {
  const result = spawnSync('npm', ['run', '--silent', 'route', '--', ...args], {
    input,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, ...env },
  })
  return { status: result.status, stdout: result.stdout, stderr: result.stderr.replace(/^npm warn .*\n/gm, '') }
}

function refused(t: Test, result: ReturnType<typeof cli>, message: RegExp): void {
  t.equal(result.status, 2, 'exit code 2')
  t.equal(result.stdout, '', 'nothing on standard output')
  t.equal(result.stderr.trim().split('\n').length, 1, 'one line on standard error')
  t.match(result.stderr, message)
  t.notMatch(result.stderr, /\n\s+at /, 'no stack trace')
}

t.test('prints the decision as JSON and exits 0', async (t) => {
  const result = cli(['--policy', EXAMPLE_POLICY_PATH], JSON.stringify(facts))
  t.equal(result.status, 0, result.stderr)
  const decision = JSON.parse(result.stdout) as unknown
  t.same(decision, route(facts, loadPolicyFile(EXAMPLE_POLICY_PATH)), 'the same as the library function')
  t.match(decision, { policyVersion: 'met-2026-11-example', criminal: { unit: 'met-na-safeguarding', rules: ['R2', 'R3', 'R4'] } })
})

t.test('without --policy, the configured policy (ROUTING_POLICY, else the example)', async (t) => {
  t.match(JSON.parse(cli([], JSON.stringify(facts)).stdout), { policyVersion: 'met-2026-11-example' })
  const own = JSON.parse(readFileSync(EXAMPLE_POLICY_PATH, 'utf8')) as Record<string, unknown>
  own.version = 'met-2027-01'
  own.example = false
  writeFileSync(join(dir, 'policy.json'), JSON.stringify(own))
  t.match(JSON.parse(cli([], JSON.stringify(facts), { ROUTING_POLICY: join(dir, 'policy.json') }).stdout), { policyVersion: 'met-2027-01' })
})

t.test('invalid facts or policy: exit 2, one line, no stack trace', async (t) => {
  refused(t, cli(['--policy', EXAMPLE_POLICY_PATH], '{"reporter": '), /^route: the facts on standard input are not valid JSON/)
  refused(t, cli(['--policy', EXAMPLE_POLICY_PATH], JSON.stringify({ ...facts, suspect: { policeEmployee: true, rank: 'sargent' } })), /^route: facts\.suspect\.rank must be one of the policy's ranks/)
  refused(t, cli(['--policy', EXAMPLE_POLICY_PATH], JSON.stringify({ ...facts, consent: undefined })), /^route: facts\.consent is required/)
  refused(t, cli(['--policy', join(dir, 'missing.json')], JSON.stringify(facts)), /^route: cannot read the routing policy .*missing\.json: ENOENT/)
  writeFileSync(join(dir, 'not-json.json'), '{ "version": ')
  refused(t, cli(['--policy', join(dir, 'not-json.json')], JSON.stringify(facts)), /is not valid JSON/)
  const shared = JSON.parse(readFileSync(EXAMPLE_POLICY_PATH, 'utf8')) as { units: { misconduct: string } }
  shared.units.misconduct = 'met-cn-safeguarding'
  writeFileSync(join(dir, 'shared.json'), JSON.stringify(shared))
  refused(t, cli(['--policy', join(dir, 'shared.json')], JSON.stringify(facts)), /R10 keeps the criminal and misconduct tracks in separate units/)
  refused(t, cli(['--bogus'], JSON.stringify(facts)), /^route: Unknown option '--bogus'/)
})

t.test('the server refuses to start on a bad policy, with one line', async (t) => {
  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ version: 'x' }))
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'server/server.ts'], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { PATH: process.env.PATH ?? '', ROUTING_POLICY: join(dir, 'bad.json'), PORT: '0', DATA_DIR: join(dir, 'data') },
  })
  t.equal(result.status, 1)
  t.match(result.stderr, /^safe-disclosure: ROUTING_POLICY: the routing policy .*bad\.json is not valid: policy\.force is required\n$/)
})
