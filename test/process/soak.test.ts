import t from 'tap'
import { spawn } from 'node:child_process'

/**
 * The soak, short (issue 19, point 7): `npm run bench:soak` for twelve seconds on the suite's
 * database (embedded, or a new database on the PostgreSQL server of DATABASE_URL), with its mixed
 * load of pages, submissions (some with evidence), returns and staff reads. Every answer is the one
 * expected, the server writes no error line, and it stops cleanly. The memory slope needs minutes
 * to mean anything: the ten-minute run is `npm run bench:soak`, and README gives its figures.
 */

interface Summary {
  database: string
  requests: Record<string, { count: number }>
  total: number
  errors: number
  errorSamples: unknown[]
  serverErrorLines: unknown[]
  stoppedCleanly: boolean
}

function soak(): Promise<{ code: number | null; summary: Summary | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/bench-soak.ts', '--minutes', '0.2', '--clients', '3', '--json'], {
      env: { ...process.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('error', reject)
    child.on('close', (code) => {
      let summary: Summary | null = null
      try {
        summary = JSON.parse(stdout) as Summary
      } catch {
        summary = null
      }
      resolve({ code, summary, stderr })
    })
  })
}

t.test('twelve seconds of mixed load: every kind of visit served, no error, a clean stop', async (t) => {
  const { code, summary, stderr } = await soak()
  if (summary === null) return t.fail(`no summary from bench:soak (exit ${code}): ${stderr.slice(-2000)}`)
  t.equal(summary.errors, 0, `no error (${JSON.stringify(summary.errorSamples).slice(0, 1000)})`)
  t.same(summary.serverErrorLines, [], 'no error line in the server log')
  t.ok(summary.stoppedCleanly, 'the server stopped cleanly')
  for (const kind of ['page', 'static', 'submit', 'upload', 'return: sign-in', 'return: thread', 'staff: queue', 'staff: case']) {
    t.ok((summary.requests[kind]?.count ?? 0) > 0, `${kind}: ${summary.requests[kind]?.count ?? 0} served`)
  }
  t.ok(summary.total > 100, `${summary.total} requests in all`)
  t.equal(code, 0, 'bench:soak exits 0')
})
