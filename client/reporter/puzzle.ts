/**
 * The proof of work for a new case, started as soon as the page can encrypt, so it is done long
 * before the person presses Send: a challenge from GET /report/puzzle, solved in the puzzle worker
 * (client/puzzle-worker.ts, whose address is in <meta name="sd-puzzle-worker">) for this page's
 * case id. The answer is kept until the case is sent; if the server says it has expired (a page
 * left open for more than a day), `renew()` starts again, and so does `answer()` after a failure.
 */
import type { PuzzleJob, PuzzleReply } from '../puzzle-worker.ts'
import { base64url } from '../../crypto/bytes.ts'
import { getJson } from './common.ts'

export interface PuzzleAnswer {
  readonly challenge: string
  readonly nonce: string
}

export class PuzzleRun {
  #answer!: Promise<PuzzleAnswer>
  /** The last attempt failed (no challenge: the portal was busy or unreachable, say). */
  #failed = false

  constructor(private readonly caseId: string) {
    this.#start()
  }

  /**
   * The solution, waiting for the worker if it is still working. If getting ready failed (the page
   * opened while the portal could not answer), it starts again now, so pressing Send again works
   * without reloading the page and losing what was written.
   */
  answer(): Promise<PuzzleAnswer> {
    return this.#failed ? this.#start() : this.#answer
  }

  /** Starts again with a new challenge (the old one expired or the server no longer accepts it). */
  renew(): Promise<PuzzleAnswer> {
    return this.#start()
  }

  #start(): Promise<PuzzleAnswer> {
    this.#failed = false
    const answer = this.#solve()
    this.#answer = answer
    // Kept until asked for; a failure now is reported when the case is sent, and tried again then.
    answer.catch(() => {
      if (this.#answer === answer) this.#failed = true
    })
    return answer
  }

  async #solve(): Promise<PuzzleAnswer> {
    const { challenge, bits } = await getJson<{ challenge: string; bits: number }>('/report/puzzle')
    const url = document.querySelector<HTMLMetaElement>('meta[name="sd-puzzle-worker"]')?.content
    if (url === undefined || url === '') throw new Error('This page cannot get ready to send. Reload it and try again.')
    const worker = new Worker(url, { type: 'module' })
    try {
      const reply = await new Promise<PuzzleReply>((resolve, reject) => {
        worker.onmessage = (event: MessageEvent<PuzzleReply>) => resolve(event.data)
        worker.onerror = () => reject(new Error('This page could not get ready to send. Reload it and try again.'))
        const job: PuzzleJob = { challenge: base64url.decode(challenge, 'challenge'), caseId: this.caseId, bits }
        worker.postMessage(job)
      })
      if ('error' in reply) throw new Error('This page could not get ready to send. Reload it and try again.')
      return { challenge, nonce: base64url.encode(reply.nonce) }
    } finally {
      worker.terminate()
    }
  }
}
