import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { availableParallelism } from 'node:os'
import { loadConfig } from '../../server/config.ts'
import { PoolBusyError, PoolClosedError, PoolTaskError, WorkerPool } from '../../server/workers/pool.ts'

/**
 * The worker pool behind app.heavyWork: a bounded queue that refuses at once when full, workers
 * replaced when they die, and a close that finishes what it accepted and leaves no thread behind.
 * test/integration/heavy-work.test.ts tries it through the app.
 */

const file = new URL('../fixtures/pool-tasks.ts', import.meta.url)

t.test('beyond its workers and its queue, the pool refuses at once, saying when to try again', async (t) => {
  const pool = new WorkerPool({ file, size: 1, maxQueued: 2 })
  t.teardown(() => pool.close())
  const accepted = [pool.run<number>('wait', 300), pool.run<number>('wait', 10), pool.run<number>('wait', 20)]
  t.same(pool.state, { workers: 1, running: 1, queued: 2 })
  const refused = await pool.run('wait', 1).then(
    () => null,
    (error: unknown) => error,
  )
  t.ok(refused instanceof PoolBusyError, 'the fourth is refused')
  t.ok((refused as PoolBusyError).retryAfterSeconds >= 1, 'with a time to try again')
  t.same(await Promise.all(accepted), [300, 10, 20], 'the accepted ones all finish, in order')
  t.same(pool.state, { workers: 1, running: 0, queued: 0 })
  t.equal(await pool.run('wait', 5), 5, 'and the queue takes work again')
})

t.test('a task that fails, or a worker that dies, fails that task only; a new worker takes the next', async (t) => {
  const pool = new WorkerPool({ file, size: 1, maxQueued: 5 })
  t.teardown(() => pool.close())
  await t.rejects(pool.run('fail', 0), new PoolTaskError('Error: it failed'))
  const dying = pool.run('die', 0)
  const after = pool.run<number>('wait', 7)
  await t.rejects(dying, PoolTaskError, 'the task whose worker died')
  t.equal(await after, 7, 'the task waiting behind it runs on a new worker')
  t.equal(pool.state.workers, 1)
})

t.test('close finishes what was accepted, refuses what comes after, and ends every worker', async (t) => {
  const pool = new WorkerPool({ file, size: 2, maxQueued: 4 })
  const running = [pool.run<number>('wait', 200), pool.run<number>('wait', 150), pool.run<number>('wait', 50)]
  t.equal(pool.state.workers, 2)
  const closed = pool.close()
  await t.rejects(pool.run('wait', 1), PoolClosedError, 'nothing new once closing')
  t.same(await Promise.all(running), [200, 150, 50], 'what was accepted finishes')
  await closed
  t.same(pool.state, { workers: 0, running: 0, queued: 0 }, 'no worker left')
  await pool.close()
})

t.test('an idle pool does not keep the process alive, and a pool needs a worker', async (t) => {
  // A process that runs one task and then forgets the pool ends by itself.
  const code = `import { WorkerPool } from ${JSON.stringify(new URL('../../server/workers/pool.ts', import.meta.url).href)}
    const pool = new WorkerPool({ file: new URL(${JSON.stringify(file.href)}), size: 1, maxQueued: 0 })
    console.log(await pool.run('wait', 1))`
  const started = Date.now()
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', code], { timeout: 90_000 })
  t.equal(stdout.trim(), '1', 'the task ran, and the process ended without closing the pool')
  t.ok(Date.now() - started < 90_000)
  t.throws(() => new WorkerPool({ file, size: 0, maxQueued: 1 }), RangeError)
})

t.test('WORKER_THREADS and WORK_QUEUE_LIMIT: one thread per core and 25 waiting tasks each, by default', async (t) => {
  const defaults = loadConfig({}, '/srv/portal')
  t.equal(defaults.workerThreads, Math.min(64, availableParallelism()))
  t.equal(defaults.workQueueLimit, 25 * defaults.workerThreads)
  const set = loadConfig({ WORKER_THREADS: '3', WORK_QUEUE_LIMIT: '10' }, '/srv/portal')
  t.same([set.workerThreads, set.workQueueLimit], [3, 10])
  t.throws(() => loadConfig({ WORKER_THREADS: '0' }, '/srv/portal'), /WORKER_THREADS must be a whole number from 1 to 64/)
  t.throws(() => loadConfig({ WORK_QUEUE_LIMIT: 'lots' }, '/srv/portal'), /WORK_QUEUE_LIMIT/)
})

t.test('the compiled server (npm start) runs its heavy tasks from its own compiled file, without tsx', async (t) => {
  const { buildServer, SERVER_OUT } = await import('../../scripts/lib/server-build.mjs')
  await buildServer()
  const pool = new WorkerPool({ file: new URL(`file://${SERVER_OUT}/heavy-tasks.mjs`), size: 1, maxQueued: 1 })
  t.teardown(() => pool.close())
  t.match(await pool.run<string>('qrSvg', { text: 'a test' }), /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/, 'a QR code drawn in a compiled worker')
  const hash = await pool.run<string>('hashVerifier', { verifier: new Uint8Array(32).fill(7) })
  t.ok(await pool.run<boolean>('checkVerifier', { hash, verifier: new Uint8Array(32).fill(7) }), 'and an Argon2id hash made and checked there')
})
