import { Worker } from 'node:worker_threads'

/**
 * A fixed number of worker threads for work that would otherwise hold the event loop (an Argon2id
 * check takes 40-80 ms of one core, during which the process answers nobody else), with a bounded
 * queue in front of them.
 *
 * - Workers start when work first needs them (a portal that nobody signs in to starts none), and
 *   each runs one task at a time. An idle worker does not keep the process alive.
 * - At most `maxQueued` tasks wait for a worker; beyond that `run` refuses at once with
 *   PoolBusyError, saying how long the queue takes to clear, so a flood costs the flood a refusal
 *   rather than everyone a backlog with no end.
 * - A worker that dies fails its task (PoolTaskError) and is replaced by the next task.
 * - `close` lets the tasks already accepted finish, refuses new ones, then ends every worker.
 *
 * The worker file is TypeScript: Node 20 does not apply `--import tsx` to worker threads, so each
 * worker starts from a one-line module that registers tsx in that thread and then imports the file.
 */

/** Refused because the queue is full; try again in `retryAfterSeconds`. */
export class PoolBusyError extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super('every worker is busy and the queue is full')
    this.name = 'PoolBusyError'
  }
}

/** The pool is closing (or closed) and takes no more work. */
export class PoolClosedError extends Error {
  constructor() {
    super('the worker pool is closed')
    this.name = 'PoolClosedError'
  }
}

/** The task failed in its worker (it threw, or the worker died). The message never holds task data. */
export class PoolTaskError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'PoolTaskError'
  }
}

/** What a worker answers for one task. */
export type TaskReply = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: string }

export interface PoolOptions {
  /** The worker's module (a file: URL); it answers each { task, input } message with one TaskReply. */
  readonly file: URL
  /** How many workers at most (at least 1). */
  readonly size: number
  /** How many tasks may wait for a worker (0: none wait). */
  readonly maxQueued: number
}

interface Task {
  readonly task: string
  readonly input: unknown
  readonly resolve: (value: unknown) => void
  readonly reject: (error: Error) => void
}

interface Slot {
  readonly worker: Worker
  current: Task | null
  startedAt: number
}

/** A first guess of a task's duration (an Argon2id check), until tasks have been timed. */
const FIRST_ESTIMATE_MS = 80

export class WorkerPool {
  readonly #options: PoolOptions
  readonly #entry: URL
  readonly #slots = new Set<Slot>()
  readonly #queue: Task[] = []
  #meanMs = FIRST_ESTIMATE_MS
  #closing: Promise<void> | null = null
  #drained: (() => void) | null = null

  constructor(options: PoolOptions) {
    if (!Number.isInteger(options.size) || options.size < 1) throw new RangeError('a worker pool needs at least one worker')
    if (!Number.isInteger(options.maxQueued) || options.maxQueued < 0) throw new RangeError('maxQueued must be a whole number')
    this.#options = options
    // A TypeScript task file (tests, scripts) is loaded through tsx; the compiled server's as it is.
    if (options.file.pathname.endsWith('.ts')) {
      const register = import.meta.resolve('tsx/esm/api')
      const code = `const { register } = await import(${JSON.stringify(register)}); register(); await import(${JSON.stringify(options.file.href)})`
      this.#entry = new URL(`data:text/javascript,${encodeURIComponent(code)}`)
    } else {
      this.#entry = options.file
    }
  }

  /** Workers started and alive, tasks running, tasks waiting. */
  get state(): { readonly workers: number; readonly running: number; readonly queued: number } {
    let running = 0
    for (const slot of this.#slots) if (slot.current !== null) running++
    return { workers: this.#slots.size, running, queued: this.#queue.length }
  }

  /** Runs `task` with `input` (structured-cloned) in a worker. Rejects with PoolBusyError, PoolClosedError or PoolTaskError. */
  run<T>(task: string, input: unknown): Promise<T> {
    if (this.#closing !== null) return Promise.reject(new PoolClosedError())
    const slot = this.#freeSlot()
    if (slot === undefined && this.#queue.length >= this.#options.maxQueued) return Promise.reject(new PoolBusyError(this.#secondsToClear()))
    return new Promise<T>((resolve, reject) => {
      const entry: Task = { task, input, resolve: resolve as (value: unknown) => void, reject }
      if (slot === undefined) this.#queue.push(entry)
      else this.#give(slot, entry)
    })
  }

  /** Finishes the tasks already accepted, refuses new ones, and ends every worker. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#queue.length > 0 || this.state.running > 0) await new Promise<void>((resolve) => (this.#drained = resolve))
      await Promise.all([...this.#slots].map((slot) => slot.worker.terminate()))
      this.#slots.clear()
    })()
    return this.#closing
  }

  /** Seconds until the tasks ahead of a new one are done, at the mean duration so far (at least 1). */
  #secondsToClear(): number {
    const ahead = this.#queue.length + this.state.running
    return Math.max(1, Math.ceil((ahead * this.#meanMs) / this.#options.size / 1000))
  }

  #freeSlot(): Slot | undefined {
    for (const slot of this.#slots) if (slot.current === null) return slot
    return this.#slots.size < this.#options.size ? this.#start() : undefined
  }

  #start(): Slot {
    const worker = new Worker(this.#entry)
    const slot: Slot = { worker, current: null, startedAt: 0 }
    this.#slots.add(slot)
    worker.on('message', (reply: TaskReply) => {
      const task = slot.current
      if (task === null) return
      const took = performance.now() - slot.startedAt
      this.#meanMs = this.#meanMs * 0.8 + took * 0.2
      slot.current = null
      if (reply.ok) task.resolve(reply.value)
      else task.reject(new PoolTaskError(reply.error))
      this.#next(slot)
    })
    const lost = (why: string) => {
      if (!this.#slots.delete(slot)) return
      slot.current?.reject(new PoolTaskError(why))
      slot.current = null
      // The tasks waiting for it go to a new worker.
      const queued = this.#queue.shift()
      if (queued !== undefined) {
        const replacement = this.#freeSlot()
        if (replacement === undefined) this.#queue.unshift(queued)
        else this.#give(replacement, queued)
      }
      this.#checkDrained()
    }
    worker.on('error', (error) => lost(`a worker failed: ${error.name}`))
    worker.on('exit', (code) => lost(`a worker stopped (exit code ${code})`))
    return slot
  }

  #give(slot: Slot, task: Task): void {
    slot.current = task
    slot.startedAt = performance.now()
    slot.worker.ref()
    slot.worker.postMessage({ task: task.task, input: task.input })
  }

  #next(slot: Slot): void {
    const queued = this.#queue.shift()
    if (queued !== undefined) return this.#give(slot, queued)
    // Idle: it does not keep the process alive on its own.
    slot.worker.unref()
    this.#checkDrained()
  }

  #checkDrained(): void {
    if (this.#drained !== null && this.#queue.length === 0 && this.state.running === 0) {
      this.#drained()
      this.#drained = null
    }
  }
}
