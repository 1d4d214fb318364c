import t from 'tap'
import { installFakeDocument } from './fake-dom.ts'
import type { PuzzleJob, PuzzleReply } from '../../../client/puzzle-worker.ts'

/**
 * The page's proof of work (client/reporter/puzzle.ts): a page that opened while the portal could
 * not hand out a challenge (a database outage, a busy moment) is not stuck. Pressing Send asks
 * again, so the person never has to reload and lose what they wrote.
 */

installFakeDocument({ 'meta[name="sd-puzzle-worker"]': { content: '/static/puzzle-worker.js' } })

/** A worker that answers any job with a fixed nonce. */
class FakeWorker {
  onmessage: ((event: MessageEvent<PuzzleReply>) => void) | null = null
  onerror: (() => void) | null = null
  postMessage(_job: PuzzleJob): void {
    queueMicrotask(() => this.onmessage?.({ data: { nonce: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]) } } as MessageEvent<PuzzleReply>))
  }
  terminate(): void {}
}
;(globalThis as { Worker?: unknown }).Worker = FakeWorker

const answers: (() => Response)[] = []
let asked = 0
globalThis.fetch = (async () => {
  asked += 1
  const next = answers.shift()
  if (next === undefined) throw new TypeError('no answer prepared')
  return next()
}) as typeof fetch

const challenge = Buffer.alloc(38, 7).toString('base64url')
const unavailable = () => new Response(JSON.stringify({ statusCode: 503, message: 'The service is not available at the moment.' }), { status: 503, headers: { 'content-type': 'application/json', 'retry-after': '5' } })
const ready = () => new Response(JSON.stringify({ challenge, bits: 4 }), { status: 200, headers: { 'content-type': 'application/json' } })

const { PuzzleRun } = await import('../../../client/reporter/puzzle.ts')

t.test('a challenge that could not be fetched is fetched again when the case is sent', async (t) => {
  answers.push(unavailable, ready)
  const run = new PuzzleRun('3f1c2a9e-0000-4000-8000-000000000001')
  await t.rejects(run.answer(), 'the first attempt failed (the page says so when Send is pressed)')
  t.same(await run.answer(), { challenge, nonce: 'AQIDBAUGBwg' }, 'pressing Send again gets a challenge and solves it')
  t.equal(asked, 2)
  t.same(await run.answer(), { challenge, nonce: 'AQIDBAUGBwg' }, 'and keeps the answer: no further request')
  t.equal(asked, 2)
})

t.test('renew asks for a new challenge even after a success', async (t) => {
  answers.push(ready)
  asked = 0
  const run = new PuzzleRun('3f1c2a9e-0000-4000-8000-000000000002')
  await run.answer()
  answers.push(ready)
  await run.renew()
  t.equal(asked, 2)
})
