import fp from 'fastify-plugin'
import { COMPILED, compiledFile } from '../compiled.ts'
import { HttpError } from '../errors.ts'
import type { heavyTasks, HeavyTaskName } from './heavy-tasks.ts'
import { PoolBusyError, PoolClosedError, WorkerPool } from './pool.ts'

/**
 * `app.heavyWork`: the server's CPU-heavy steps, run in a pool of worker threads
 * (WORKER_THREADS, by default one per core) so that the event loop keeps answering everyone else.
 * When every worker is busy and WORK_QUEUE_LIMIT tasks already wait, the request is refused with
 * 503 and Retry-After (the time the queue takes to clear) instead of joining an endless queue.
 * The pool is closed with the app.
 */

/**
 * A view's bytes in a buffer of their own: a small Buffer is a view into a shared 8 KiB pool, and
 * passing the view to a worker would copy the whole pool with it.
 */
function exactCopy(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes)
}

type Input<Name extends HeavyTaskName> = Parameters<(typeof heavyTasks)[Name]>[0]
type Output<Name extends HeavyTaskName> = Awaited<ReturnType<(typeof heavyTasks)[Name]>>

export class HeavyWork {
  readonly #pool: WorkerPool

  constructor(size: number, maxQueued: number) {
    this.#pool = new WorkerPool({ file: COMPILED ? compiledFile('heavy-tasks.mjs') : new URL('./heavy-tasks.ts', import.meta.url), size, maxQueued })
  }

  /** Argon2id hash of a sign-in verifier, to store (server/security/server-keys.ts). */
  hashVerifier(verifier: Uint8Array): Promise<string> {
    return this.#run('hashVerifier', { verifier: exactCopy(verifier) })
  }

  /** Checks a verifier against its stored hash; with no hash, against a decoy, taking as long. */
  checkVerifier(hash: string | null, verifier: Uint8Array): Promise<boolean> {
    return this.#run('checkVerifier', { hash, verifier: exactCopy(verifier) })
  }

  /** A QR code of `text` as an SVG document. */
  qrSvg(text: string): Promise<string> {
    return this.#run('qrSvg', { text })
  }

  /** Workers started, tasks running and waiting. */
  get state() {
    return this.#pool.state
  }

  close(): Promise<void> {
    return this.#pool.close()
  }

  async #run<Name extends HeavyTaskName>(task: Name, input: Input<Name>): Promise<Output<Name>> {
    try {
      return await this.#pool.run<Output<Name>>(task, input)
    } catch (error) {
      if (error instanceof PoolBusyError) {
        throw new HttpError(503, 'The portal is very busy just now. Please wait a few seconds and try again.', { 'retry-after': String(error.retryAfterSeconds) })
      }
      if (error instanceof PoolClosedError) {
        throw new HttpError(503, 'The portal is restarting. Please try again in a moment.', { 'retry-after': '5' })
      }
      throw error
    }
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /** CPU-heavy steps, off the event loop (server/workers/heavy-work.ts). */
    heavyWork: HeavyWork
  }
}

export default fp(
  async function heavyWork(app) {
    const work = new HeavyWork(app.config.workerThreads, app.config.workQueueLimit)
    app.decorate('heavyWork', work)
    app.addHook('onClose', async () => work.close())
  },
  { name: 'heavy-work', dependencies: ['app-context'] },
)
