import t from 'tap'
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { createTestDatabase } from '../helpers/database.ts'
import { checkReceipt, portalEnvironment, seedPortalDatabase, servicePublic, startPortal, submissionLoad, watchResponses, type PortalProcess } from '../helpers/portal-process.ts'

/**
 * kill -9 of the portal while reporters are submitting (some with evidence), then a restart, on
 * the database the suite runs on (embedded, or PostgreSQL with DATABASE_URL): every submission
 * answered 201 is there and opens at /return with its code, exactly as sent; the embedded data
 * folder opens again without help; and the socket folder the killed process could not remove is
 * removed at the next start, while those of live instances are left alone.
 */

const socketFolders = (folder: string) => readdirSync(folder).filter((name) => name.startsWith('safe-disclosure-db-'))

t.test('kill -9 under load loses nothing acknowledged, and the restart is clean', async (t) => {
  const testDatabase = await createTestDatabase(t)
  const serviceKeys = await seedPortalDatabase(testDatabase.env)
  // The portal's own temporary directory, so its socket folders are the only ones in it.
  const temporary = mkdtempSync(join(tmpdir(), 'safe-disclosure-kill-tmp-'))
  t.teardown(() => rmSync(temporary, { recursive: true, force: true }))
  const env = { ...(await portalEnvironment(t, testDatabase.env, serviceKeys)), TMPDIR: temporary }
  const seen = watchResponses(t)

  let portal: PortalProcess = await startPortal(t, env)
  const first = portal
  const load = submissionLoad({ origin: () => portal.origin, service: servicePublic(serviceKeys), concurrency: 6, limit: 200, evidenceEvery: 3 })
  await load.untilAcknowledged(25)
  portal.child.kill('SIGKILL')
  await portal.exited
  const acknowledgedBeforeKill = load.acknowledged().length

  if (testDatabase.kind === 'embedded') {
    const left = socketFolders(temporary)
    t.same(left.length, 1, 'the killed process left its socket folder behind')
    t.match(left[0], new RegExp(`^safe-disclosure-db-${first.pid}-`), 'named with its process id')
  }
  // Folders a restart must not touch: one of a process that is alive (this test's), and one whose
  // process id is unknown here but whose socket answers (an instance in another container).
  const livePid = join(temporary, `safe-disclosure-db-${process.pid}-Alive1`)
  mkdirSync(livePid)
  const deadPid = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout
  const answering = join(temporary, `safe-disclosure-db-${deadPid}-Other1`)
  mkdirSync(answering)
  const listener = createServer((socket) => socket.destroy())
  await new Promise<void>((resolve) => listener.listen(join(answering, '.s.PGSQL.5432'), resolve))
  t.teardown(() => new Promise<void>((resolve) => listener.close(() => resolve())))

  portal = await startPortal(t, env)
  const restarted = portal
  t.ok(restarted.logEntries().every((entry) => (entry.level as number) < 50), 'the restart logged no error: the data opened cleanly')
  t.notMatch(restarted.output(), /database migrations applied/, 'nothing to migrate: the schema and its data are as they were')
  const health = await fetch(`${restarted.origin}/healthz`)
  t.equal(health.status, 200, '/healthz answers 200 after the restart')
  if (testDatabase.kind === 'embedded') {
    const folders = socketFolders(temporary)
    t.notOk(folders.some((name) => name.startsWith(`safe-disclosure-db-${first.pid}-`)), "the killed process's socket folder was removed at start")
    t.ok(folders.some((name) => name.startsWith(`safe-disclosure-db-${restarted.pid}-`)), 'the new process has its own')
    t.match(restarted.output(), /"removed":1,"msg":"removed socket folders left in the temporary directory/, 'and says how many it removed')
  }
  t.ok(socketFolders(temporary).includes(`safe-disclosure-db-${process.pid}-Alive1`), 'a live process\'s folder is left alone')
  t.ok(socketFolders(temporary).includes(`safe-disclosure-db-${deadPid}-Other1`), 'and so is one whose socket answers')

  // The reporters carry on against the restarted process.
  await load.untilAcknowledged(10)
  await load.stop()

  const acknowledged = load.acknowledged()
  t.ok(acknowledgedBeforeKill >= 25 && acknowledged.length >= acknowledgedBeforeKill + 10, `${acknowledgedBeforeKill} acknowledged before the kill, ${acknowledged.length} in all, of ${load.submissions.length} sent`)
  t.ok(acknowledged.filter((submission) => submission.evidence.length > 0).length >= 5, 'some of them carried evidence')
  const problems: string[] = []
  for (const submission of acknowledged) {
    const problem = await checkReceipt(restarted.origin, submission)
    if (problem !== null) problems.push(`${submission.reporter.caseId}: ${problem}`)
  }
  t.same(problems, [], `every one of the ${acknowledged.length} acknowledged submissions is there, opens at /return with its code, and holds what was sent`)

  const answered = load.submissions.filter((submission) => submission.status !== null)
  t.same(answered.filter((submission) => submission.status !== 201).map((submission) => submission.status), [], 'every submission that was answered was accepted')
  t.same(seen.filter((response) => response.status >= 500), [], 'no response was a 5xx')

  restarted.child.kill('SIGTERM')
  t.equal(await restarted.exited, 0, 'and it stops cleanly')
})
